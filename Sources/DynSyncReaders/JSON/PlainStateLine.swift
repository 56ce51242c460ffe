import DynSyncCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A state line read straight from its bytes, as `StateCodec` writes it: how `StateReader` reads most lines back.
///
/// Only a line exactly as written is read here: no backslash, no white space, the members in their written order,
/// column names in ASCII and ascending. Any other line (`nil`) is left to the JSON lexer, which reads every form and
/// reports what is wrong with a line precisely. A line read here gives what the lexer gives for it.
struct PlainStateLine {
  private let bytes: UnsafeRawBufferPointer
  private let base: UnsafeRawPointer
  private var index = 0

  init?(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, StateReader.isPlain(bytes) else { return nil }
    self.bytes = bytes
    self.base = base
  }

  /// The record of a record line as written; `nil` for a line left to the lexer.
  static func record(_ bytes: UnsafeRawBufferPointer, names: inout StateReader.RecordNames, origin: SourcePosition)
    -> Record?
  {
    var line = PlainStateLine(bytes)
    return line?.record(names: &names, origin: origin)
  }

  /// The key and row of a Marketo row line as written; `nil` for a line left to the lexer.
  static func marketoRow(_ bytes: UnsafeRawBufferPointer, names: inout StateReader.MarketoRowNames)
    -> (key: String, row: MarketoRow)?
  {
    var line = PlainStateLine(bytes)
    return line?.marketoRow(names: &names)
  }

  /// The key and what a Marketo overlay line as written says of it: a row, or with `patches` a patch
  /// (`{"key":…,"set":{…}[,"unset":[…]]}`); `nil` for a line left to the lexer (a removal among them).
  static func marketoEntry(_ bytes: UnsafeRawBufferPointer, names: inout StateReader.MarketoRowNames, patches: Bool)
    -> (key: String, entry: MarketoOverlayEntry)?
  {
    guard var line = PlainStateLine(bytes) else { return nil }
    if let read = line.marketoRow(names: &names) { return (read.key, .row(read.row)) }
    guard patches else { return nil }
    // From the start again: the line was found plain once.
    line.index = 0
    return line.marketoPatch(names: &names).map { ($0.key, .patch($0.patch)) }
  }

  /// The key and patch of a line `{"key":…,"set":{…}[,"unset":[…]]}`.
  private mutating func marketoPatch(names: inout StateReader.MarketoRowNames) -> (key: String, patch: FieldsPatch)? {
    guard take(#"{"key":"#), let key = string().flatMap(JSONLexer.text(of:)),
      let patch = columnsPatch(names: &names.patch, tables: &names.tables), take("}"), index == bytes.count
    else { return nil }
    return (key, patch)
  }

  /// The id and what a record overlay's line as written says of it: a record, or a patch
  /// (`{"entity":…,"id":…[,"labels":{…}],"set":{…}[,"unset":[…]][,"version":…]}`); `nil` for a line left to the
  /// lexer (a removal among them).
  static func recordEntry(
    _ bytes: UnsafeRawBufferPointer, names: inout StateReader.RecordNames, origin: SourcePosition
  ) -> (id: GUID, entity: String, entry: RecordOverlayEntry)? {
    guard var line = PlainStateLine(bytes) else { return nil }
    if let record = line.record(names: &names, origin: origin) { return (record.id, record.entity, .record(record)) }
    // From the start again: the line was found plain once.
    line.index = 0
    return line.recordPatch(names: &names)
  }

  /// The id and patch of a record patch line.
  private mutating func recordPatch(names: inout StateReader.RecordNames)
    -> (id: GUID, entity: String, entry: RecordOverlayEntry)?
  {
    guard take(#"{"entity":"#), let entity = string().flatMap(JSONLexer.text(of:)), take(#","id":"#),
      let id = string().flatMap(GUID.init(utf8:))
    else { return nil }
    var labels: Labels?
    if take(#","labels":"#) {
      guard let read = labelObject(names: &names.labels) else { return nil }
      labels = read
    }
    guard let fields = columnsPatch(names: &names.patch, tables: &names.tables) else { return nil }
    var version: Int64?
    if take(#","version":"#) {
      guard let text = string() else { return nil }
      version = StateTag.wholeNumber(text.assumingMemoryBound(to: UInt8.self))
    }
    guard take("}"), index == bytes.count else { return nil }
    return (id, entity, .patch(RecordPatch(fields: fields, labels: labels, version: version)))
  }

  /// A patch's columns: `,"set":{…}`, and `,"unset":[…]` when it takes names out.
  private mutating func columnsPatch(names: inout StateReader.RecentNames, tables: inout NumberedTexts.Recent)
    -> FieldsPatch?
  {
    guard take(#","set":"#), let set = taggedObject(names: &names, tables: &tables) else { return nil }
    var unset: [String] = []
    if take(#","unset":["#) {
      repeat {
        guard let name = string(), name.isASCII else { return nil }
        let text = String(decoding: name, as: UTF8.self)
        // Written in order, each name once.
        guard unset.last.map({ $0 < text }) ?? true else { return nil }
        unset.append(text)
      } while take(",")
      guard take("]") else { return nil }
    }
    return FieldsPatch(set: set, unset: unset)
  }

  /// The record of a line `{"entity":…,"fields":{…},"id":…[,"labels":{…}][,"version":…]}`.
  mutating func record(names: inout StateReader.RecordNames, origin: SourcePosition) -> Record? {
    guard take(#"{"entity":"#), let entity = string().flatMap(JSONLexer.text(of:)), take(#","fields":"#),
      let fields = taggedObject(names: &names.fields, tables: &names.tables), take(#","id":"#),
      let id = string().flatMap(GUID.init(utf8:))
    else { return nil }
    var labels = Labels()
    if take(#","labels":"#) {
      guard let read = labelObject(names: &names.labels) else { return nil }
      labels = read
    }
    var version: Int64?
    if take(#","version":"#) {
      guard let text = string() else { return nil }
      version = StateTag.wholeNumber(text.assumingMemoryBound(to: UInt8.self))
    }
    guard take("}"), index == bytes.count else { return nil }
    return Record(entity: entity, id: id, fields: fields, labels: labels, version: version, origin: origin)
  }

  /// The key and row of a line `{"key":…,"row":{…}}`.
  mutating func marketoRow(names: inout StateReader.MarketoRowNames) -> (key: String, row: MarketoRow)? {
    guard take(#"{"key":"#), let key = string().flatMap(JSONLexer.text(of:)), take(#","row":"#),
      let row = taggedObject(names: &names.fields, tables: &names.tables), take("}"), index == bytes.count
    else { return nil }
    return (key, row)
  }

  /// An object of tagged values.
  private mutating func taggedObject(names: inout StateReader.RecentNames, tables: inout NumberedTexts.Recent)
    -> Fields?
  {
    var members: [Fields.Element] = []
    members.reserveCapacity(names.count)
    guard
      objectMembers(
        names: &names,
        { line, name in
          guard let value = line.tagged(tables: &tables) else { return false }
          members.append((name, value))
          return true
        })
    else { return nil }
    return Fields(sortedMembers: members)
  }

  /// An object of strings (a record's labels).
  private mutating func labelObject(names: inout StateReader.RecentNames) -> Labels? {
    // Room for the labels of the line before: a table grown from empty is hashed again at each doubling.
    var labels = Labels(minimumCapacity: names.count)
    guard
      objectMembers(
        names: &names,
        { line, name in
          guard let label = line.string().flatMap(JSONLexer.text(of:)) else { return false }
          labels[name] = label
          return true
        })
    else { return nil }
    return labels
  }

  /// Walks an object whose names are ASCII and ascending, handing each name to `value`, which reads the member's value
  /// and returns `false` to give up.
  private mutating func objectMembers(
    names: inout StateReader.RecentNames, _ value: (inout PlainStateLine, consuming String) -> Bool
  ) -> Bool {
    guard take("{") else { return false }
    if take("}") { return true }
    var previous: UnsafeRawBufferPointer?
    // Whether the name before was taken as spelled at its place (`RecentNames.spelledAt`).
    var previousSpelled = false
    var place = 0
    repeat {
      let name: UnsafeRawBufferPointer
      let member: String
      if let spelled = names.spelledAt(index, in: bytes, place: place) {
        name = UnsafeRawBufferPointer(rebasing: bytes[index + 1..<index + 1 + spelled.count])
        guard (previousSpelled && spelled.followsInOrder) || (previous.map({ $0.precedes(name) }) ?? true) else {
          return false
        }
        index += spelled.count + 3
        member = names[place]
        previousSpelled = true
      } else {
        guard let read = string(), read.isASCII, previous.map({ $0.precedes(read) }) ?? true, take(":") else {
          return false
        }
        name = read
        member = names.name(read, at: place)
        previousSpelled = false
      }
      previous = name
      guard value(&self, member) else { return false }
      place += 1
    } while take(",")
    return take("}")
  }

  /// A tagged value (see `StateTag`), as `StateReader.tagged` reads it.
  private mutating func tagged(tables: inout NumberedTexts.Recent) -> FieldValue? {
    if take("null") { return .null }
    guard let tag = openingTag() else { return nil }
    let value: FieldValue?
    switch tag {
    case .boolean:
      value = take("true") ? .boolean(true) : take("false") ? .boolean(false) : nil
    case .multiSelect:
      guard take("[") else { return nil }
      var choices: [Int64] = []
      if !take("]") {
        repeat {
          guard let choice = string().flatMap({ StateTag.wholeNumber($0.assumingMemoryBound(to: UInt8.self)) })
          else { return nil }
          choices.append(choice)
        } while take(",")
        guard take("]") else { return nil }
      }
      value = .multiSelect(choices)
    case .lookup:
      var table: NumberedTexts.Number = 0
      if !take("null") {
        guard let name = string(), let number = tables.number(ofUTF8: name, JSONLexer.text(of:)) else { return nil }
        table = number
      }
      guard take(","), let id = string().flatMap(GUID.init(utf8:)) else { return nil }
      value = .lookup(Lookup(table: table, id: id))
    case .string:
      value = string().flatMap(JSONLexer.text(of:)).map(FieldValue.string)
    case .decimal:
      value = string().flatMap(JSONLexer.text(of:)).flatMap(ExactDecimal.init).map(FieldValue.decimal)
    case .integer, .optionSet, .dateTime, .date, .guid:
      value = string().flatMap { StateTag.decode(tag, utf8: $0.assumingMemoryBound(to: UInt8.self)) }
    }
    guard let value, take("]") else { return nil }
    return value
  }

  /// The tag of a tagged value's opening `["x",` at the cursor, taken: five bytes looked at where they lie, not a
  /// string read between two literals (a state line opens one a column).
  private mutating func openingTag() -> StateTag? {
    guard index + 5 <= bytes.count, bytes[index] == UInt8(ascii: "["), bytes[index + 1] == UInt8(ascii: "\""),
      bytes[index + 3] == UInt8(ascii: "\""), bytes[index + 4] == UInt8(ascii: ","),
      let tag = StateTag(letter: bytes[index + 2])
    else { return nil }
    index += 5
    return tag
  }

  /// The bytes of the string at the cursor, between its quotes; `nil` for no string, or one holding a control byte
  /// (a line with no backslash holds no escape).
  private mutating func string() -> UnsafeRawBufferPointer? {
    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
    let start = index + 1
    var cursor = start
    while cursor + 8 <= bytes.count {
      let word = ByteWord.load(base, at: cursor)
      let special = ByteWord.bytes(equalTo: UInt8(ascii: "\""), in: word) | ByteWord.bytes(below: 0x20, in: word)
      if special != 0 {
        cursor += special.trailingZeroBitCount / 8
        return closedString(from: start, at: cursor)
      }
      cursor += 8
    }
    while cursor < bytes.count, bytes[cursor] != UInt8(ascii: "\""), bytes[cursor] >= 0x20 { cursor += 1 }
    return closedString(from: start, at: cursor)
  }

  /// The string from `start` when the first quote or control byte after it, at `end`, is its closing quote.
  private mutating func closedString(from start: Int, at end: Int) -> UnsafeRawBufferPointer? {
    guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
    index = end + 1
    return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
  }

  /// Takes `literal` at the cursor.
  @inline(__always)
  private mutating func take(_ literal: StaticString) -> Bool {
    let count = literal.utf8CodeUnitCount
    guard index + count <= bytes.count else { return false }
    // One byte compared as it is, more through `equals`: a call of `memcmp` for one byte costs more than the byte.
    if count == 1 {
      guard bytes[index] == literal.utf8Start.pointee else { return false }
    } else {
      let ahead = UnsafeRawBufferPointer(rebasing: bytes[index..<index + count])
      guard ahead.assumingMemoryBound(to: UInt8.self).equals(literal) else { return false }
    }
    index += count
    return true
  }
}
