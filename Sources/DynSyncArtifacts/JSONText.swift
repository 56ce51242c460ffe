import DynSyncCore

/// Writes JSON text by hand, byte for byte the same for the same values: keys sorted, no
/// insignificant white space, decimals exactly as exported.
public enum JSONText {
  /// A JSON string literal.
  public static func string(_ text: String) -> String {
    var json = JSONBytes()
    json.appendString(text)
    return json.text
  }

  /// An object from already-encoded member values, keys in sorted order.
  public static func object(_ members: [(String, String)]) -> String {
    var json = JSONBytes()
    json.appendObject(members) { json, value in json.appendRaw(value) }
    return json.text
  }

  public static func array(_ elements: [String]) -> String {
    "[" + elements.joined(separator: ",") + "]"
  }

  /// A typed value: numbers as numbers (decimals as exported), dates as ISO 8601 strings, lookups
  /// as `{"entity":…,"id":…}`, multi-selects as arrays of choice values.
  public static func value(_ value: FieldValue) -> String {
    var json = JSONBytes()
    json.appendValue(value)
    return json.text
  }

  /// A record image: its columns, with formatted labels under `@labels` when there are any.
  public static func image(_ record: Record) -> String {
    var json = JSONBytes()
    json.appendImage(record)
    return json.text
  }

  /// A decimal as a JSON number: the exported text when it is valid JSON, else its canonical form.
  static func decimal(_ number: ExactDecimal) -> String {
    let written = number.written
    if isJSONNumber(written) { return written }
    return number.plainText
  }

  static func isJSONNumber(_ text: String) -> Bool {
    var bytes = Array(text.utf8)[...]
    if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
    guard let first = bytes.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { return false }
    if first == UInt8(ascii: "0"), bytes.count > 1, bytes.dropFirst().first.map({ $0 >= 48 && $0 <= 57 }) == true {
      return false
    }
    var sawPoint = false
    var previous: UInt8 = first
    for byte in bytes.dropFirst() {
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): break
      case UInt8(ascii: ".") where !sawPoint: sawPoint = true
      default: return false
      }
      previous = byte
    }
    return previous != UInt8(ascii: ".")
  }
}

/// The names of a kind of row as an object's members open (`"name":`), one after another, for rows named alike.
private final class SpelledNames {
  /// Rows of a file (persons, contacts and leads, accounts) come in a few shapes, their optional columns set or not.
  static let kept = 4

  let names: [String]
  /// Each name's spelling, one after another, and a word more, so that a spelling is copied a word at a time.
  let spelled: UnsafeMutableRawPointer
  /// Where each name's spelling starts in `spelled`, and after them where the last one ends.
  let starts: UnsafeMutablePointer<Int>
  /// The place among the names where a record image's "@labels" sorts (`JSONBytes.appendImage`).
  let labelsPlace: Int

  init(names: [String], spelling: borrowing JSONBytes, ends: [Int]) {
    self.names = names
    starts = .allocate(capacity: ends.count + 1)
    starts.initialize(to: 0)
    (starts + 1).initialize(from: ends, count: ends.count)
    labelsPlace = names.firstIndex { "@labels" < $0 } ?? names.count
    spelled = .allocate(byteCount: spelling.count + 8, alignment: 8)
    spelled.initializeMemory(as: UInt8.self, repeating: 0, count: spelling.count + 8)
    spelling.withUnsafeBytes { bytes in
      if let source = bytes.baseAddress { spelled.copyMemory(from: source, byteCount: bytes.count) }
    }
  }

  deinit {
    spelled.deallocate()
    starts.deallocate()
  }
}

/// JSON text built as bytes, the way `JSONText` writes it, without a string per value.
///
/// The bytes are written through a pointer into room made ahead: a line is hundreds of appends, and an array would
/// check at each that its buffer is unique and has room. Not copyable, so that no two values share the bytes.
public struct JSONBytes: ~Copyable {
  private var base: UnsafeMutablePointer<UInt8>
  private var capacity: Int
  /// How many bytes are written.
  public private(set) var count = 0
  /// The names of the last few kinds of row written (`appendObject(_:_:)`), most recent first.
  private var shapes: [SpelledNames] = []

  public init() { self.init(capacity: 256) }

  /// Room for a line of about `columns` members made ready, so that a line of a thousand bytes is not copied into
  /// ever larger buffers while it is made: most of a batch's bytes are such lines.
  public init(columns: Int) {
    self.init(capacity: 64 + 48 * columns)
  }

  /// Room for `capacity` bytes made ready.
  public init(capacity: Int) {
    self.capacity = max(capacity, 16)
    base = .allocate(capacity: self.capacity)
  }

  deinit { base.deallocate() }

  /// Makes room for `capacity` bytes in all.
  public mutating func reserveCapacity(_ capacity: Int) {
    if capacity > self.capacity { grow(to: capacity) }
  }

  /// The bytes written, copied out.
  public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

  /// Runs `body` on the bytes written; they are valid only during the call.
  public func withUnsafeBytes<Result, Failure: Error>(
    _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
  ) throws(Failure) -> Result {
    try body(UnsafeRawBufferPointer(start: base, count: count))
  }

  public var text: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

  /// Where the next `needed` bytes go, room made for them: the caller writes them and adds them to `count`.
  @inline(__always)
  private mutating func room(_ needed: Int) -> UnsafeMutablePointer<UInt8> {
    if capacity - count < needed { grow(to: Swift.max(count + needed, capacity * 2)) }
    return base + count
  }

  private mutating func grow(to newCapacity: Int) {
    let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
    larger.initialize(from: base, count: count)
    base.deallocate()
    base = larger
    capacity = newCapacity
  }

  /// Text that is already JSON.
  public mutating func appendRaw(_ json: String) { json.withUTF8Bytes { appendUTF8($0) } }

  /// JSON syntax spelled in the source (`,"id":`), copied with no string looked at.
  @inline(__always)
  public mutating func appendSyntax(_ literal: StaticString) {
    let length = literal.utf8CodeUnitCount
    let start = room(length)
    // Byte by byte: a few bytes, where a call to copy them costs more than the copy.
    for index in 0..<length { start[index] = literal.utf8Start[index] }
    count += length
  }

  /// One byte of JSON syntax (a bracket, a comma, a quote), with no string looked at.
  @inline(__always)
  public mutating func appendASCII(_ byte: UInt8) {
    room(1).pointee = byte
    count += 1
  }

  /// Bytes of text as they are (text already in the form it is written in).
  public mutating func appendUTF8(_ text: UnsafeBufferPointer<UInt8>) {
    guard let source = text.baseAddress else { return }
    room(text.count).update(from: source, count: text.count)
    count += text.count
  }

  /// A JSON string literal.
  public mutating func appendString(_ text: String) {
    // Most values need no escaping: check the bytes once and copy them as they are.
    let plain = text.withUTF8Bytes { utf8 in
      guard !JSONBytes.mayNeedEscaping(utf8) else { return false }
      let start = room(utf8.count + 2)
      start[0] = UInt8(ascii: "\"")
      if let source = utf8.baseAddress { (start + 1).update(from: source, count: utf8.count) }
      start[utf8.count + 1] = UInt8(ascii: "\"")
      count += utf8.count + 2
      return true
    }
    if !plain { appendEscaped(text) }
  }

  private mutating func appendEscaped(_ text: String) {
    appendASCII(UInt8(ascii: "\""))
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": appendSyntax("\\\"")
      case "\\": appendSyntax("\\\\")
      case "\n": appendSyntax("\\n")
      case "\r": appendSyntax("\\r")
      case "\t": appendSyntax("\\t")
      case "\u{08}": appendSyntax("\\b")
      case "\u{0C}": appendSyntax("\\f")
      case "\u{2028}": appendSyntax("\\u2028")
      case "\u{2029}": appendSyntax("\\u2029")
      default:
        if scalar.value < 0x20 {
          let hex = String(scalar.value, radix: 16)
          appendRaw("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
        } else {
          appendRaw(String(scalar))
        }
      }
    }
    appendASCII(UInt8(ascii: "\""))
  }

  /// Whether UTF-8 bytes may need escaping in a JSON string: a control character, a quote, a backslash, or 0xE2,
  /// which starts U+2028 and U+2029 (and other characters, which the escaping then copies as they are).
  ///
  /// Eight bytes at a time (`ByteWord`).
  ///
  /// - Parameter utf8: the bytes of a string.
  /// - Returns: `false` when the bytes can be written as they are.
  static func mayNeedEscaping(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
    func holdsSpecial(_ word: UInt64) -> Bool {
      ByteWord.bytes(below: 0x20, in: word) | ByteWord.bytes(equalTo: UInt8(ascii: "\""), in: word)
        | ByteWord.bytes(equalTo: UInt8(ascii: "\\"), in: word) | ByteWord.bytes(equalTo: 0xE2, in: word) != 0
    }
    var index = 0
    if let base = utf8.baseAddress, utf8.count >= 8 {
      while index + 8 <= utf8.count {
        if holdsSpecial(ByteWord.load(base, at: index)) { return true }
        index += 8
      }
      // The last eight bytes, overlapping some already looked at, rather than a byte at a time.
      return index < utf8.count && holdsSpecial(ByteWord.load(base, at: utf8.count - 8))
    }
    while index < utf8.count {
      let byte = utf8[index]
      if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == 0xE2 { return true }
      index += 1
    }
    return false
  }

  public mutating func appendInteger(_ number: Int64) {
    // The magnitude as unsigned, so that Int64.min has one too; at most 19 digits and a sign.
    var magnitude = number.magnitude
    var digits = 1
    var rest = magnitude
    while rest >= 10 {
      rest /= 10
      digits += 1
    }
    let start = room(20)
    let sign = number < 0 ? 1 : 0
    if number < 0 { start[0] = UInt8(ascii: "-") }
    var place = sign + digits - 1
    repeat {
      start[place] = UInt8(ascii: "0") + UInt8(magnitude % 10)
      magnitude /= 10
      place -= 1
    } while magnitude > 0
    count += sign + digits
  }

  /// A typed value, as `JSONText.value` writes it.
  public mutating func appendValue(_ value: FieldValue) {
    switch value {
    case .null: appendSyntax("null")
    case .string(let text): appendString(text)
    case .integer(let number), .optionSet(let number): appendInteger(number)
    case .decimal(let number): appendRaw(JSONText.decimal(number))
    case .boolean(let flag): flag ? appendSyntax("true") : appendSyntax("false")
    case .dateTime(let instant): appendTimestamp(instant)
    case .date(let date): appendString(date.description)
    case .multiSelect(let choices):
      appendASCII(UInt8(ascii: "["))
      for (index, choice) in choices.enumerated() {
        if index > 0 { appendASCII(UInt8(ascii: ",")) }
        appendInteger(choice)
      }
      appendASCII(UInt8(ascii: "]"))
    case .lookup(let lookup):
      appendSyntax("{\"entity\":")
      if let entity = lookup.entity { appendString(entity) } else { appendSyntax("null") }
      appendSyntax(",\"id\":")
      appendID(lookup.id)
      appendASCII(UInt8(ascii: "}"))
    case .guid(let id): appendID(id)
    }
  }

  /// An object of `members`, keys in sorted order, each value written by `appendValue`.
  public mutating func appendObject<Value>(
    _ members: [(String, Value)], _ appendValue: (inout JSONBytes, Value) -> Void
  ) {
    appendASCII(UInt8(ascii: "{"))
    for (index, member) in members.sorted(by: { $0.0 < $1.0 }).enumerated() {
      if index > 0 { appendASCII(UInt8(ascii: ",")) }
      appendString(member.0)
      appendASCII(UInt8(ascii: ":"))
      appendValue(&self, member.1)
    }
    appendASCII(UInt8(ascii: "}"))
  }

  /// An object of `fields`, in their order, which is the order `appendObject` sorts keys in (`Fields` keeps its
  /// members sorted by name): no copy, no sort.
  ///
  /// Each name is copied as it was spelled for the last row named alike (`SpelledNames`): the rows of a file come in a
  /// handful of shapes, and a name written afresh was looked at for characters to escape and put between quotes, for
  /// every member of every line (about 3% of an incremental sync's instructions besides the SHA-256).
  public mutating func appendObject(_ fields: Fields, _ appendValue: (inout JSONBytes, FieldValue) -> Void) {
    let shape = spelledNames(of: fields)
    appendASCII(UInt8(ascii: "{"))
    var index = 0
    for (_, value) in fields {
      if index > 0 { appendASCII(UInt8(ascii: ",")) }
      appendSpelling(of: index, in: shape)
      index += 1
      appendValue(&self, value)
    }
    appendASCII(UInt8(ascii: "}"))
  }

  /// The spelling of the name at `place` among those of `shape`, copied a word at a time.
  ///
  /// A name is a few words, where a call to copy them cost more than the copy. The room made has a word to spare, for
  /// the last word's bytes past the name, written over by what comes next.
  @inline(__always)
  private mutating func appendSpelling(of place: Int, in shape: SpelledNames) {
    let start = shape.starts[place]
    let length = shape.starts[place + 1] - start
    let destination = UnsafeMutableRawPointer(room(length + 8))
    let source = UnsafeRawPointer(shape.spelled + start)
    var copied = 0
    while copied < length {
      destination.storeBytes(
        of: source.loadUnaligned(fromByteOffset: copied, as: UInt64.self), toByteOffset: copied, as: UInt64.self)
      copied += 8
    }
    count += length
  }

  private mutating func spelledNames(of fields: Fields) -> SpelledNames {
    if let known = shapes.firstIndex(where: { fields.hasNames($0.names) }) { return shapes[known] }
    var spelling = JSONBytes(capacity: 24 * fields.count)
    var ends: [Int] = []
    ends.reserveCapacity(fields.count)
    for name in fields.keys {
      spelling.appendString(name)
      spelling.appendASCII(UInt8(ascii: ":"))
      ends.append(spelling.count)
    }
    let shape = SpelledNames(names: Array(fields.keys), spelling: spelling, ends: ends)
    if shapes.count == SpelledNames.kept { shapes.removeLast() }
    shapes.insert(shape, at: 0)
    return shape
  }

  /// An object of a record's labels, in their order (`Labels` keeps them sorted by name, as `Fields` does).
  public mutating func appendObject(_ labels: Labels) {
    appendObject(sortedMembers: labels) { json, label in json.appendString(label) }
  }

  /// An object of members already in the order `appendObject` sorts keys in.
  private mutating func appendObject<Value>(
    sortedMembers members: some Sequence<(key: String, value: Value)>, _ appendValue: (inout JSONBytes, Value) -> Void
  ) {
    appendASCII(UInt8(ascii: "{"))
    var first = true
    for (key, value) in members {
      if !first { appendASCII(UInt8(ascii: ",")) }
      first = false
      appendString(key)
      appendASCII(UInt8(ascii: ":"))
      appendValue(&self, value)
    }
    appendASCII(UInt8(ascii: "}"))
  }

  /// An instant as a JSON string literal, written straight into the bytes as `Timestamp.description` spells it:
  /// digits and separators, nothing to escape (a fraction of anything but digits goes through `appendString`).
  public mutating func appendTimestamp(_ instant: Timestamp) {
    if !appendPlainTimestamp(instant, quoted: true) { appendString(instant.description) }
  }

  /// An instant as `Timestamp.description` spells it, written straight into the bytes, between quotes if `quoted`.
  ///
  /// Digits and separators, which neither JSON nor CSV escapes or quotes. `false`, and nothing written, for a
  /// fraction of anything but digits, which the caller writes as text.
  public mutating func appendPlainTimestamp(_ instant: Timestamp, quoted: Bool) -> Bool {
    guard instant.fractionIsDigits else { return false }
    let quotes = quoted ? 1 : 0
    let start = room(instant.descriptionByteLimit + 2)
    if quoted { start[0] = UInt8(ascii: "\"") }
    let written = instant.writeDescription(to: start + quotes)
    if quoted { start[written + 1] = UInt8(ascii: "\"") }
    count += written + 2 * quotes
    return true
  }

  /// An id as a JSON string literal (or, not `quoted`, a CSV cell), written straight into the bytes, as
  /// `GUID.description` spells it.
  public mutating func appendID(_ id: GUID, quoted: Bool = true) {
    let quotes = quoted ? 1 : 0
    let start = room(GUID.descriptionByteCount + 2)
    if quoted { start[0] = UInt8(ascii: "\"") }
    id.writeDescription(to: start + quotes)
    if quoted { start[GUID.descriptionByteCount + 1] = UInt8(ascii: "\"") }
    count += GUID.descriptionByteCount + 2 * quotes
  }

  /// A record image, as `JSONText.image` writes it: the columns in their order (by name), their names spelled as for
  /// the last row named alike (see `appendObject(_:_:)`), and the labels slotted in where "@labels" sorts.
  public mutating func appendImage(_ record: Record) {
    let shape = spelledNames(of: record.fields)
    let labelsPlace = record.labels.isEmpty ? -1 : shape.labelsPlace
    var first = true
    func appendLabels() {
      appendSyntax(first ? "\"@labels\":" : ",\"@labels\":")
      first = false
      appendObject(record.labels)
    }
    appendASCII(UInt8(ascii: "{"))
    var index = 0
    for (_, value) in record.fields {
      if index == labelsPlace { appendLabels() }
      if !first { appendASCII(UInt8(ascii: ",")) }
      first = false
      appendSpelling(of: index, in: shape)
      index += 1
      appendValue(value)
    }
    if index == labelsPlace { appendLabels() }
    appendASCII(UInt8(ascii: "}"))
  }
}
