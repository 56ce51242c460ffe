import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// Reads the workspace's state files (tagged NDJSON, written by `StateCodec`) with the same byte
/// tokenizer as Web API exports: one line at a time, no document, no Foundation objects.
public enum StateReader {
  /// Reads a file of state records (`state/dynamics/<table>.ndjson`); a removal or patch line is refused as corrupt.
  public static func records(in path: String, _ body: (Record) throws -> Void) throws {
    try records(in: path, overlay: false) { _, _, entry, _ in
      // Outside an overlay every line is a record.
      if case .record(let record) = entry { try body(record) }
    }
  }

  /// Reads an overlay of state records (`state/dynamics/<table>.overlay.ndjson`): each line's id and table, what it
  /// says of the record (`RecordOverlayEntry`), and where in the file the line lies (without its line break) when it
  /// is a record or patch written as dynsync writes it (`nil` for any other).
  public static func overlayRecords(
    in path: String, _ body: (GUID, _ entity: String, RecordOverlayEntry, _ line: Range<Int>?) throws -> Void
  ) throws {
    try records(in: path, overlay: true, body)
  }

  private static func records(
    in path: String, overlay: Bool,
    _ body: (GUID, _ entity: String, RecordOverlayEntry, _ line: Range<Int>?) throws -> Void
  ) throws {
    let lexer = try JSONLexer(path: path)
    var names = RecordNames()
    while try lexer.peekToken() != nil {
      // A line as written is read from its bytes; any other, by the lexer.
      let plain = try lexer.readLine { captured in
        let origin = SourcePosition(file: path, line: captured.line)
        let read =
          overlay
          ? PlainStateLine.recordEntry(captured.bytes, names: &names, origin: origin)
          : PlainStateLine.record(captured.bytes, names: &names, origin: origin).map {
            (id: $0.id, entity: $0.entity, entry: RecordOverlayEntry.record($0))
          }
        return read.map { ($0, captured.offset..<captured.offset + captured.bytes.count) }
      }
      if let (read, line) = plain {
        try body(read.id, read.entity, read.entry, line)
      } else {
        try record(lexer, path: path, overlay: overlay, names: &names) { id, entity, entry in
          try body(id, entity, entry, nil)
        }
      }
    }
  }

  /// The names of a record's state line before, shared with the next.
  struct RecordNames {
    var line = RecentNames()
    var fields = RecentNames()
    var labels = RecentNames()
    /// A patch's, apart: its few columns are not a record's.
    var patch = RecentNames()
    var tables = NumberedTexts.Recent()
  }

  /// Reads the record line at the lexer's position; outside an overlay, a removal or a patch is refused.
  static func record(
    _ lexer: JSONLexer, path: String, overlay: Bool, names: inout RecordNames,
    _ body: (GUID, _ entity: String, RecordOverlayEntry) throws -> Void
  ) throws {
    let position = SourcePosition(file: path, line: lexer.line)
    var entity: String?
    var id: GUID?
    // Sized as the line before, which mostly names the same columns: one allocation for the row.
    var fields: Fields?
    var labels = Labels(minimumCapacity: names.labels.count)
    var hasLabels = false
    var version: Int64?
    var set: Fields?
    var unset: [String]?
    var isRemoval = false
    try object(lexer, names: &names.line) { key in
      switch key {
      case "entity": entity = try lexer.readString()
      case "id": id = try lexer.readString { GUID(utf8: UnsafeRawBufferPointer($0)) }
      case "version": version = try lexer.readString(parsing: StateTag.wholeNumber)
      case "fields":
        var read = Fields(minimumCapacity: names.fields.count)
        try object(lexer, names: &names.fields) { name in read[name] = try tagged(lexer) }
        fields = read
      case "labels":
        hasLabels = true
        try object(lexer, names: &names.labels) { name in labels[name] = try lexer.readString() }
      case "set":
        var read = Fields()
        try object(lexer, names: &names.patch) { name in read[name] = try tagged(lexer) }
        set = read
      case "unset": unset = try stringList(lexer)
      case "removed": isRemoval = try removal(lexer)
      default: try lexer.skipValue()
      }
    }
    guard let entity, let id else {
      throw InputError(at: position, reason: "corrupt state line: expected entity and id")
    }
    let isPatch = set != nil || unset != nil
    guard [isRemoval, isPatch, fields != nil].filter({ $0 }).count <= 1 else {
      throw InputError(at: position, reason: "corrupt state line: a record, a patch or a removal, not two")
    }
    guard overlay || !(isRemoval || isPatch) else {
      let kind = isRemoval ? "a removal" : "a patch"
      throw InputError(at: position, reason: "corrupt state line: \(kind) outside an overlay")
    }
    if isRemoval {
      try body(id, entity, .removed)
    } else if isPatch {
      let patch = FieldsPatch(set: set ?? Fields(), unset: unset ?? [])
      try body(id, entity, .patch(RecordPatch(fields: patch, labels: hasLabels ? labels : nil, version: version)))
    } else {
      let record = Record(
        entity: entity, id: id, fields: fields ?? Fields(), labels: labels, version: version, origin: position)
      try body(id, entity, .record(record))
    }
  }

  /// Reads a file of Marketo rows (`state/marketo/<dataset>.ndjson`); a removal or patch line is refused as corrupt.
  public static func marketoRows(in path: String, _ body: (String, MarketoRow) throws -> Void) throws {
    try marketoRows(in: path, overlay: false) { key, entry, _ in
      if case .row(let row) = entry { try body(key, row) }
    }
  }

  /// Reads an overlay of Marketo rows, or the lines of `range` of it (which starts a line; an error's line is then
  /// counted from there): each line's key, what it says of it (a row, a patch, a removal), and where in the file the
  /// line lies (without its line break) when it is a row or patch written as dynsync writes it (`nil` for any other).
  public static func overlayMarketoRows(
    in path: String, range: Range<Int>? = nil,
    _ body: (String, MarketoOverlayEntry, _ line: Range<Int>?) throws -> Void
  ) throws {
    try marketoRows(in: path, range: range, overlay: true, body)
  }

  private static func marketoRows(
    in path: String, range: Range<Int>? = nil, overlay: Bool,
    _ body: (String, MarketoOverlayEntry, _ line: Range<Int>?) throws -> Void
  ) throws {
    let lexer = try JSONLexer(path: path, range: range)
    var names = MarketoRowNames()
    while try lexer.peekToken() != nil {
      // A line as written is read from its bytes; any other, by the lexer.
      let plain = try lexer.readLine { captured in
        PlainStateLine.marketoEntry(captured.bytes, names: &names, patches: overlay).map {
          (key: $0.key, entry: $0.entry, line: captured.offset..<captured.offset + captured.bytes.count)
        }
      }
      if let plain {
        try body(plain.key, plain.entry, plain.line)
      } else {
        try marketoEntry(lexer, path: path, overlay: overlay, names: &names) { key, entry in try body(key, entry, nil) }
      }
    }
  }

  /// The names of a Marketo state line before, shared with the next.
  struct MarketoRowNames {
    var line = RecentNames()
    var fields = RecentNames()
    /// A patch's, apart: its few columns are not a row's.
    var patch = RecentNames()
    var tables = NumberedTexts.Recent()
  }

  /// Reads the Marketo row line at the lexer's position; outside an overlay, a removal or a patch is refused.
  static func marketoEntry(
    _ lexer: JSONLexer, path: String, overlay: Bool, names: inout MarketoRowNames,
    _ body: (String, MarketoOverlayEntry) throws -> Void
  ) throws {
    let line = lexer.line
    var key: String?
    var row: MarketoRow?
    var set: Fields?
    var unset: [String]?
    var isRemoval = false
    try object(lexer, names: &names.line) { name in
      switch name {
      case "key": key = try lexer.readString()
      case "row":
        var read = MarketoRow(minimumCapacity: names.fields.count)
        try object(lexer, names: &names.fields) { field in read[field] = try tagged(lexer) }
        row = read
      case "set":
        var read = Fields()
        try object(lexer, names: &names.patch) { field in read[field] = try tagged(lexer) }
        set = read
      case "unset": unset = try stringList(lexer)
      case "removed": isRemoval = try removal(lexer)
      default: try lexer.skipValue()
      }
    }
    guard let key else { throw InputError(file: path, line: line, reason: "corrupt state line: expected key") }
    let entry: MarketoOverlayEntry
    if isRemoval || set != nil || unset != nil {
      guard row == nil, !isRemoval || (set == nil && unset == nil) else {
        throw InputError(file: path, line: line, reason: "corrupt state line: a row, a patch or a removal, not two")
      }
      guard overlay else {
        let kind = isRemoval ? "a removal" : "a patch"
        throw InputError(file: path, line: line, reason: "corrupt state line: \(kind) outside an overlay")
      }
      entry = isRemoval ? .removed : .patch(FieldsPatch(set: set ?? Fields(), unset: unset ?? []))
    } else {
      entry = .row(row ?? MarketoRow())
    }
    try body(key, entry)
  }

  /// A list of strings, each once (a patch's names taken out).
  private static func stringList(_ lexer: JSONLexer) throws -> [String] {
    try lexer.expect(UInt8(ascii: "["), "a list of names")
    var strings: [String] = []
    if try lexer.peekToken() == UInt8(ascii: "]") {
      lexer.advance()
      return strings
    }
    repeat {
      strings.append(try lexer.readString())
    } while try lexer.nextSeparator(closing: UInt8(ascii: "]"), "a list of names")
    guard Set(strings).count == strings.count else { throw lexer.error("a name taken out twice") }
    return strings
  }

  /// Where a line of a state file lies, to be read later on its own: a Marketo row's by its key
  /// (`marketoRows(in:at:)`), a record's by its id (`records(in:at:)`).
  public struct StateLine<Key: Sendable>: Sendable {
    public var key: Key
    var offset: Int
    var length: Int
    /// Counted from the start of the part of the file read (`OutlinedPart.lineBreaks`).
    public var line: Int
    var column: Int

    /// Where the line lies in its file, without its line break.
    public var span: Range<Int> { offset..<offset + length }

    /// A line found without reading the file (`StateOutline`).
    public init(key: Key, offset: Int, length: Int, line: Int, column: Int) {
      self.key = key
      self.offset = offset
      self.length = length
      self.line = line
      self.column = column
    }
  }

  public typealias MarketoLine = StateLine<String>
  public typealias RecordLine = StateLine<GUID>

  /// A part of a state file read in outline: its first and last keys, as `StateLine` names them.
  public struct OutlinedPart<Key: Sendable>: Sendable {
    public var firstKey: Key?
    public var lastKey: Key?
    /// The line breaks in the part, which the lines of the part after it follow.
    public var lineBreaks: Int
  }

  /// Reads a file of Marketo rows (no removals), or a part of it, decoding only the rows `decodes` picks.
  ///
  /// `decodes` picks a row by its key and the ids a few of its columns name; the other lines are handed on as where
  /// they lie, having been looked at only for those: a line as `StateCodec` writes it, with no escape, from quote to
  /// quote (an id read from its bytes, no string made), any other line by the JSON scan, which checks it. A part
  /// starts a line; lines are counted from its start, in what is handed on and in errors.
  ///
  /// - Parameters:
  ///   - path: the file.
  ///   - range: the part of the file to read; `nil`, the whole file.
  ///   - idColumns: the columns whose ids (`FieldValue.namedID`) are handed to `decodes` and `outlined`, in this
  ///     order (`nil` for a column a row lacks or that names no id).
  ///   - decodes: whether a line's row is decoded, by its key and the ids of `idColumns`.
  ///   - decoded: a decoded row, by its key.
  ///   - outlined: a line not decoded, and the ids of `idColumns` in its row.
  /// - Returns: the part's first and last keys and its line breaks; `nil` when the file cannot be read this way (a
  ///   line that is not one well-formed object with a key, keys out of their written order, a removal): the caller
  ///   must then drop what it was handed and read the file whole, which reports any problem precisely.
  /// - Throws: `InputError` for a file that cannot be read, or a value in `columns` that is not a state value.
  public static func marketoRows(
    in path: String, range: Range<Int>? = nil, idColumns: [String], decodes: (String, [GUID?]) -> Bool,
    decoded: (String, MarketoRow) throws -> Void, outlined: (MarketoLine, [GUID?]) throws -> Void
  ) throws -> OutlinedPart<String>? {
    let file = try JSONLexer(path: path, range: range)
    var firstKey: String?
    var lineScan = JSONObjectScan()
    lineScan.innerObjectKey = Array("row".utf8)
    var names = MarketoRowNames()
    var ids = [GUID?](repeating: nil, count: idColumns.count)
    let columnBytes = idColumns.map { Array($0.utf8) }
    var previousKey: MarketoDataset.KeyOrder?
    while try file.peekToken() != nil {
      guard let captured = try file.captureLine() else { return nil }
      let bytes = captured.bytes
      func text(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[range]) }
      /// A lexer on part of the line, reporting the positions a read of the file does.
      func lexer(over range: Range<Int>) -> JSONLexer {
        JSONLexer(
          bytes: text(range), path: path, offset: captured.offset + range.lowerBound, line: captured.line,
          column: captured.column + range.lowerBound)
      }
      /// The line's key, its columns' values set, read as JSON; `nil` for a line not read this way.
      func scannedKey() throws -> String? {
        guard let length = lineScan.scan(bytes),
          text(length..<bytes.count).allSatisfy({
            $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r")
          })
        else { return nil }
        var key: String?
        var rowSpan: Range<Int>?
        for member in lineScan.members {
          switch String(decoding: text(member.key), as: UTF8.self) {
          case _ where member.keyEscaped: return nil
          case "key":
            guard member.kind == .string, key == nil else { return nil }
            key =
              member.valueEscaped
              ? try lexer(over: member.value.lowerBound - 1..<member.value.upperBound + 1).readString()
              : String(decoding: text(member.value), as: UTF8.self)
          case "row":
            guard member.kind == .nested, rowSpan == nil, let row = lineScan.innerObject, row == member.value else {
              return nil
            }
            rowSpan = row
          case "removed", "set", "unset": return nil
          default: continue
          }
        }
        for index in ids.indices { ids[index] = nil }
        if rowSpan != nil {
          for member in lineScan.innerMembers {
            // An escaped name could be one of the columns written another way.
            guard !member.keyEscaped else { return nil }
            let name = text(member.key)
            guard let index = columnBytes.firstIndex(where: { same($0, name) }) else { continue }
            ids[index] = try plainTaggedID(text(member.value)) ?? tagged(lexer(over: member.value)).namedID
          }
        }
        return key
      }
      guard let key = try plainLineKey(bytes, idColumns: columnBytes, ids: &ids) ?? scannedKey() else { return nil }
      let order = MarketoDataset.KeyOrder(key)
      guard previousKey.map({ MarketoDataset.KeyOrder.precedes($0, order) }) ?? true else { return nil }
      previousKey = order
      if firstKey == nil { firstKey = key }
      if decodes(key, ids) {
        if let read = PlainStateLine.marketoRow(bytes, names: &names) {
          try decoded(read.key, read.row)
        } else {
          try marketoEntry(lexer(over: 0..<bytes.count), path: path, overlay: false, names: &names) { key, entry in
            if case .row(let row) = entry { try decoded(key, row) }
          }
        }
      } else {
        try outlined(
          MarketoLine(
            key: key, offset: captured.offset, length: bytes.count, line: captured.line, column: captured.column),
          ids)
      }
    }
    return OutlinedPart(firstKey: firstKey, lastKey: previousKey?.key, lineBreaks: file.line - 1)
  }

  /// Reads the rows of lines outlined before, each where it lies.
  ///
  /// - Throws: `InputError` when a line does not read back as the row of its key (the file changed since).
  public static func marketoRows(
    in path: String, at lines: [MarketoLine], _ body: (String, MarketoRow) throws -> Void
  ) throws {
    var names = MarketoRowNames()
    try readBack(lines, in: path) { bytes, line in
      if let read = PlainStateLine.marketoRow(bytes, names: &names) {
        guard read.key == line.key else { throw changed(path, line) }
        return try body(read.key, read.row)
      }
      try marketoEntry(lexer(over: bytes, of: line, in: path), path: path, overlay: false, names: &names) {
        key, entry in
        guard key == line.key, case .row(let row) = entry else { throw changed(path, line) }
        try body(key, row)
      }
    }
  }

  /// Reads each of `lines` where it lies, handing on its bytes.
  private static func readBack<Key>(
    _ lines: [StateLine<Key>], in path: String, _ read: (UnsafeRawBufferPointer, StateLine<Key>) throws -> Void
  ) throws {
    try FileBytes(path: path).readEach(lines, place: { ($0.offset, $0.length) }, read)
  }

  /// A lexer on the bytes of a line read back alone, which reports positions in the file.
  private static func lexer<Key>(over bytes: UnsafeRawBufferPointer, of line: StateLine<Key>, in path: String)
    -> JSONLexer
  {
    JSONLexer(bytes: bytes, path: path, offset: line.offset, line: line.line, column: line.column)
  }

  /// The error for a line that does not read back as what was outlined of it.
  private static func changed<Key>(_ path: String, _ line: StateLine<Key>) -> InputError {
    InputError(file: path, line: line.line, reason: "the state file changed while it was read")
  }

  /// What a line of an overlay other than a record says of its record (`records(in:range:entity:lookups:...)`).
  public enum OverlayMark: Sendable {
    case removed
    /// A patch written as dynsync writes it that sets and takes out none of the lookups read: where it lies, to be
    /// read with its base's record.
    case patchLine(RecordLine)
    /// Any other patch, read.
    case patch(RecordPatch)
  }

  /// Reads a file of state records, or a part of it, decoding only the lines it cannot outline.
  ///
  /// A line as `StateCodec` writes it, with no escape, is outlined from quote to quote: its id, its values of
  /// `lookups` and where it lies are handed on, and the rest of it is checked only when it is read (`records(in:at:)`).
  /// Any other line is decoded, which checks it. A part starts a line; lines are counted from its start, in what is
  /// handed on and in errors.
  ///
  /// - Parameters:
  ///   - path: the file.
  ///   - range: the part of the file to read; `nil`, the whole file.
  ///   - entity: the table the file is of.
  ///   - lookups: the columns whose lookup ids are handed to `outlined`, in this order (`nil` for a column a record
  ///     lacks or holds no lookup in).
  ///   - decoded: a line's record, decoded.
  ///   - outlined: a line not decoded, and the ids its `lookups` name.
  ///   - overlaid: for an overlay, the id of a removal or patch line and what it says (`OverlayMark`); `nil` refuses
  ///     both.
  /// - Returns: the part's first and last ids and its line breaks; `nil` when the file cannot be read this way (a
  ///   line of another table, ids out of their written order, a removal or patch where none may be): the caller must
  ///   then drop what it was handed and read the file whole, which reports any problem precisely.
  /// - Throws: `InputError` for a file that cannot be read, or a line that is neither outlined nor a record.
  public static func records(
    in path: String, range: Range<Int>? = nil, entity: String, lookups: [String], decoded: (Record) throws -> Void,
    outlined: (RecordLine, [GUID?]) throws -> Void, overlaid: ((GUID, OverlayMark) throws -> Void)? = nil
  ) throws -> OutlinedPart<GUID>? {
    let file = try JSONLexer(path: path, range: range)
    let head = Array(#"{"entity":""#.utf8) + Array(entity.utf8) + Array(#"","fields":{"#.utf8)
    let patchHead = Array(#"{"entity":""#.utf8) + Array(entity.utf8) + Array(#"","id":""#.utf8)
    let lookupBytes = lookups.map { Array($0.utf8) }
    var targets = [GUID?](repeating: nil, count: lookups.count)
    var names = RecordNames()
    var first: GUID?
    var previous: GUID?
    while try file.peekToken() != nil {
      guard let captured = try file.captureLine() else { return nil }
      let bytes = captured.bytes
      func line(of id: GUID) -> RecordLine {
        RecordLine(key: id, offset: captured.offset, length: bytes.count, line: captured.line, column: captured.column)
      }
      var id: GUID?
      var record: Record?
      var mark: OverlayMark?
      if let plain = plainRecordID(bytes, head: head, lookups: lookupBytes, targets: &targets) {
        id = plain
      } else if overlaid != nil, let plain = plainPatchID(bytes, head: patchHead, lookups: lookupBytes) {
        id = plain
        mark = .patchLine(line(of: plain))
      } else {
        let lexer = JSONLexer(
          bytes: bytes, path: path, offset: captured.offset, line: captured.line, column: captured.column)
        var readEntity = ""
        // Read as an overlay's line: a removal or patch where none may be leaves the file to the whole read.
        try StateReader.record(lexer, path: path, overlay: true, names: &names) { readID, table, entry in
          id = readID
          readEntity = table
          switch entry {
          case .record(let read): record = read
          case .patch(let patch): mark = .patch(patch)
          case .removed: mark = .removed
          }
        }
        guard readEntity == entity, mark == nil || overlaid != nil else { return nil }
      }
      guard let id, previous.map({ $0 < id }) ?? true else { return nil }
      if let record {
        try decoded(record)
      } else if let mark, let overlaid {
        try overlaid(id, mark)
      } else {
        try outlined(line(of: id), targets)
      }
      previous = id
      if first == nil { first = id }
    }
    return OutlinedPart(firstKey: first, lastKey: previous, lineBreaks: file.line - 1)
  }

  /// The id of a patch line as `StateCodec` writes it with no escape anywhere (it starts with `head`) whose patch
  /// sets and takes out none of `lookups`; `nil` for any other line, left to be decoded.
  ///
  /// Its columns are looked at only for their names; the line is decoded, and so checked, when it is read.
  private static func plainPatchID(_ bytes: UnsafeRawBufferPointer, head: [UInt8], lookups: [[UInt8]]) -> GUID? {
    let count = bytes.count
    guard count > head.count + 37, bytes.starts(with: head), bytes[count - 1] == UInt8(ascii: "}"), isPlain(bytes)
    else { return nil }
    let idStart = head.count
    guard bytes[idStart + 36] == UInt8(ascii: "\""),
      let id = GUID(utf8: UnsafeRawBufferPointer(rebasing: bytes[idStart..<idStart + 36]))
    else { return nil }
    var index = idStart + 37
    func take(_ literal: [UInt8]) -> Bool {
      guard index + literal.count <= count,
        same(literal, UnsafeRawBufferPointer(rebasing: bytes[index..<index + literal.count]))
      else { return false }
      index += literal.count
      return true
    }
    func isLookup(_ name: UnsafeRawBufferPointer) -> Bool { lookups.contains { same($0, name) } }
    if take(labelsMember) {
      guard let close = plainMembers(of: bytes, from: index, { _, _ in true }) else { return nil }
      index = close + 1
    }
    guard take(setMember), let close = plainMembers(of: bytes, from: index, { name, _ in !isLookup(name) }) else {
      return nil
    }
    index = close + 1
    if take(unsetMember) {
      // Names from quote to quote, none a lookup, to the list's end.
      repeat {
        guard index < count, bytes[index] == UInt8(ascii: "\""),
          let close = plainQuote(in: bytes, from: index + 1, before: count),
          !isLookup(UnsafeRawBufferPointer(rebasing: bytes[index + 1..<close]))
        else { return nil }
        index = close + 1
      } while take(comma)
      guard take(closingBracket) else { return nil }
    }
    // A row version, or the line's end.
    return take(versionMember) || index == count - 1 ? id : nil
  }

  private static let labelsMember: [UInt8] = Array(#","labels":{"#.utf8)
  private static let setMember: [UInt8] = Array(#","set":{"#.utf8)
  private static let unsetMember: [UInt8] = Array(#","unset":["#.utf8)
  private static let versionMember: [UInt8] = Array(#","version":""#.utf8)
  private static let comma: [UInt8] = [UInt8(ascii: ",")]
  private static let closingBracket: [UInt8] = [UInt8(ascii: "]")]

  /// Reads the records of lines outlined before, each where it lies.
  ///
  /// - Throws: `InputError` for a line that does not read back as the record of its id (the file changed since).
  public static func records(in path: String, at lines: [RecordLine], _ body: (Record) throws -> Void) throws {
    var names = RecordNames()
    try readBack(lines, in: path) { bytes, line in
      if let record = PlainStateLine.record(bytes, names: &names, origin: SourcePosition(file: path, line: line.line)) {
        guard record.id == line.key else { throw changed(path, line) }
        return try body(record)
      }
      try record(lexer(over: bytes, of: line, in: path), path: path, overlay: false, names: &names) { id, _, entry in
        guard id == line.key, case .record(let record) = entry else { throw changed(path, line) }
        try body(record)
      }
    }
  }

  /// Reads the patches of an overlay's lines outlined before (`OverlayMark.patchLine`), each where it lies.
  ///
  /// - Throws: `InputError` for a line that does not read back as a patch of its id (the file changed since).
  public static func recordPatches(
    in path: String, at lines: [RecordLine], _ body: (GUID, RecordPatch) throws -> Void
  ) throws {
    var names = RecordNames()
    try readBack(lines, in: path) { bytes, line in
      let origin = SourcePosition(file: path, line: line.line)
      if let read = PlainStateLine.recordEntry(bytes, names: &names, origin: origin) {
        guard read.id == line.key, case .patch(let patch) = read.entry else { throw changed(path, line) }
        return try body(read.id, patch)
      }
      try record(lexer(over: bytes, of: line, in: path), path: path, overlay: true, names: &names) { id, _, entry in
        guard id == line.key, case .patch(let patch) = entry else { throw changed(path, line) }
        try body(id, patch)
      }
    }
  }

  /// The patch of an overlay's line as dynsync writes it, `nil` for any other line: what the next overlay's patch of
  /// the record follows.
  public static func recordPatch(line bytes: UnsafeRawBufferPointer) -> RecordPatch? {
    var names = RecordNames()
    guard let read = PlainStateLine.recordEntry(bytes, names: &names, origin: SourcePosition(file: "")),
      case .patch(let patch) = read.entry
    else { return nil }
    return patch
  }

  private static let recordIDHead: [UInt8] = Array(#","id":""#.utf8)
  private static let lookupHead: [UInt8] = Array(#"["l","#.utf8)

  /// The id of a record line as `StateCodec` writes it with no escape anywhere (it starts with `head`), the ids its
  /// `lookups` name set in `targets`; `nil` for any other line, left to be decoded.
  private static func plainRecordID(
    _ bytes: UnsafeRawBufferPointer, head: [UInt8], lookups: [[UInt8]], targets: inout [GUID?]
  ) -> GUID? {
    let count = bytes.count
    guard count > head.count, bytes.starts(with: head), bytes[count - 1] == UInt8(ascii: "}"), isPlain(bytes) else {
      return nil
    }
    for index in targets.indices { targets[index] = nil }
    var found = 0
    guard
      let fieldsEnd = plainMembers(
        of: bytes, from: head.count,
        { name, value in
          guard let index = lookups.firstIndex(where: { same($0, name) }) else { return true }
          // Each column once, written `null`, as a tagged value or as a lookup the decoder would read alike.
          guard found & (1 << index) == 0, let target = plainLookup(value) else { return false }
          found |= 1 << index
          targets[index] = target
          return true
        })
    else { return nil }
    let idHead = recordIDHead
    let idStart = fieldsEnd + 1 + idHead.count
    guard idStart + 37 <= count,
      same(idHead, UnsafeRawBufferPointer(rebasing: bytes[fieldsEnd + 1..<idStart])),
      bytes[idStart + 36] == UInt8(ascii: "\"")
    else { return nil }
    return GUID(utf8: UnsafeRawBufferPointer(rebasing: bytes[idStart..<idStart + 36]))
  }

  /// The id a plain value (`isPlain`) names as a lookup, `.some(nil)` for `null` or a value of another tag; `nil` for
  /// a lookup not written as `StateCodec` writes one, left to the decoder.
  private static func plainLookup(_ value: UnsafeRawBufferPointer) -> GUID?? {
    if same(nullBytes, value) { return .some(nil) }
    guard value.starts(with: lookupHead) else {
      // Another tag: no lookup, whatever its value.
      return value.count > 2 && value[0] == UInt8(ascii: "[") && value[1] == UInt8(ascii: "\"") ? .some(nil) : nil
    }
    let count = value.count
    // `["l",null,"<id>"]` or `["l","<table>","<id>"]`, the id 36 bytes.
    guard count >= lookupHead.count + 36 + 4, value[count - 1] == UInt8(ascii: "]"),
      value[count - 2] == UInt8(ascii: "\""), value[count - 39] == UInt8(ascii: "\""),
      value[count - 40] == UInt8(ascii: ",")
    else { return nil }
    let target = UnsafeRawBufferPointer(rebasing: value[lookupHead.count..<count - 40])
    let isTable =
      same(nullBytes, target)
      || (target.count >= 2 && target[0] == UInt8(ascii: "\"") && target[target.count - 1] == UInt8(ascii: "\"")
        && !target.dropFirst().dropLast().contains(UInt8(ascii: "\"")))
    guard isTable, let id = GUID(utf8: UnsafeRawBufferPointer(rebasing: value[count - 38..<count - 2])) else {
      return nil
    }
    return .some(id)
  }

  private static let plainLineHead: [UInt8] = Array(#"{"key":""#.utf8)
  private static let plainRowHead: [UInt8] = Array(#"","row":{"#.utf8)
  private static let nullBytes: [UInt8] = Array("null".utf8)

  /// The key of a line as `StateCodec` writes it with no escape anywhere, the ids `idColumns` name in its row set in
  /// `ids`; `nil` for any other line, left to the JSON scan.
  ///
  /// The rest of such a line is not checked; it is decoded, and so checked, when its row is read.
  private static func plainLineKey(_ bytes: UnsafeRawBufferPointer, idColumns: [[UInt8]], ids: inout [GUID?])
    -> String?
  {
    let head = plainLineHead
    let rowHead = plainRowHead
    let count = bytes.count
    guard count >= head.count + rowHead.count + 2, bytes.starts(with: head), bytes[count - 1] == UInt8(ascii: "}"),
      isPlain(bytes), let keyEnd = plainQuote(in: bytes, from: head.count, before: count),
      keyEnd + rowHead.count <= count - 2,
      same(rowHead, UnsafeRawBufferPointer(rebasing: bytes[keyEnd..<keyEnd + rowHead.count]))
    else { return nil }
    for index in ids.indices { ids[index] = nil }
    var found = 0
    let rowEnd = plainMembers(of: bytes, from: keyEnd + rowHead.count) { name, value in
      guard let column = idColumns.firstIndex(where: { same($0, name) }) else { return true }
      // Each column once, written `["s","…"]` or `null`; anything else is left to the scan.
      guard found & (1 << column) == 0 else { return false }
      found |= 1 << column
      if let id = plainTaggedID(value) {
        ids[column] = id
        return true
      }
      return same(nullBytes, value)
    }
    guard rowEnd == count - 2 else { return nil }
    return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.count..<keyEnd]), as: UTF8.self)
  }

  /// Whether a line has no backslash: then every quote in it opens or closes a string, and its strings and members
  /// are found from quote to quote, without looking at every byte.
  static func isPlain(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let base = bytes.baseAddress else { return true }
    return memchr(base, Int32(UInt8(ascii: "\\")), bytes.count) == nil
  }

  /// The next quote of a plain line from `start`, before `end`.
  ///
  /// Eight bytes at a time in the line itself: most strings of a state line are a few bytes long, shorter than what
  /// a call of `memchr` costs to set up.
  static func plainQuote(in bytes: UnsafeRawBufferPointer, from start: Int, before end: Int) -> Int? {
    guard start < end, let base = bytes.baseAddress else { return nil }
    var index = start
    while index + 8 <= end {
      let quotes = ByteWord.bytes(equalTo: UInt8(ascii: "\""), in: ByteWord.load(base, at: index))
      if quotes != 0 { return index + quotes.trailingZeroBitCount / 8 }
      index += 8
    }
    while index < end {
      if bytes[index] == UInt8(ascii: "\"") { return index }
      index += 1
    }
    return nil
  }

  /// Walks the members of an object of a plain line (`isPlain`) whose values hold no object, from just after its
  /// opening brace, handing each member's name and value to `member`, which returns `false` to give up.
  ///
  /// - Returns: the place of the object's closing brace; `nil` for an object not written so, or given up.
  static func plainMembers(
    of bytes: UnsafeRawBufferPointer, from start: Int,
    _ member: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool
  ) -> Int? {
    let end = bytes.count
    var index = start
    if index < end, bytes[index] == UInt8(ascii: "}") { return index }
    while index < end {
      guard bytes[index] == UInt8(ascii: "\""), let close = plainQuote(in: bytes, from: index + 1, before: end),
        close + 1 < end, bytes[close + 1] == UInt8(ascii: ":")
      else { return nil }
      let valueStart = close + 2
      var cursor = valueStart
      // The value, to the comma after it or the object's end.
      var depth = 0
      scan: while cursor < end {
        switch bytes[cursor] {
        case UInt8(ascii: "\""):
          guard let close = plainQuote(in: bytes, from: cursor + 1, before: end) else { return nil }
          cursor = close
        case UInt8(ascii: "["): depth += 1
        case UInt8(ascii: "]"):
          guard depth > 0 else { return nil }
          depth -= 1
        case UInt8(ascii: "{"): return nil
        case UInt8(ascii: "}"):
          guard depth == 0 else { return nil }
          break scan
        case UInt8(ascii: ","): if depth == 0 { break scan }
        default: break
        }
        cursor += 1
      }
      guard cursor < end, cursor > valueStart,
        member(
          UnsafeRawBufferPointer(rebasing: bytes[index + 1..<close]),
          UnsafeRawBufferPointer(rebasing: bytes[valueStart..<cursor]))
      else { return nil }
      if bytes[cursor] == UInt8(ascii: "}") { return cursor }
      index = cursor + 1
    }
    return nil
  }

  private static func same(_ name: [UInt8], _ bytes: UnsafeRawBufferPointer) -> Bool {
    guard name.count == bytes.count else { return false }
    return name.withUnsafeBytes { $0.elementsEqual(bytes) }
  }

  private static let taggedStringHead: [UInt8] = Array(#"["s",""#.utf8)

  /// The id a string written `["s","…"]` with no escape names, read from its bytes as `FieldValue.namedID` reads it
  /// (`.some(nil)` for a string that names none); `nil` for any other value, left to `tagged`.
  private static func plainTaggedID(_ bytes: UnsafeRawBufferPointer) -> GUID?? {
    let head = taggedStringHead
    guard bytes.count >= head.count + 2, bytes.starts(with: head), bytes[bytes.count - 2] == UInt8(ascii: "\""),
      bytes[bytes.count - 1] == UInt8(ascii: "]")
    else { return nil }
    let inner = UnsafeRawBufferPointer(rebasing: bytes[head.count..<bytes.count - 2])
    guard !inner.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return nil }
    return .some(GUID(utf8: inner))
  }

  /// The value of a `removed` member: only `true` is written.
  private static func removal(_ lexer: JSONLexer) throws -> Bool {
    guard case .bool(true) = try lexer.readLiteral() else { throw lexer.error("expected \"removed\":true") }
    return true
  }

  /// Walks one object, handing each member's key to `member`, which must read the value; a key
  /// that is the one at the same place of this object on the line before is read as that string.
  static func object(_ lexer: JSONLexer, names: inout RecentNames, _ member: (String) throws -> Void) throws {
    try lexer.expect(UInt8(ascii: "{"), "'{'")
    if try lexer.peekToken() == UInt8(ascii: "}") {
      lexer.advance()
      return
    }
    var place = 0
    repeat {
      let key = try names.read(lexer, at: place)
      place += 1
      try lexer.expect(UInt8(ascii: ":"), "':'")
      try member(key)
    } while try lexer.nextSeparator(closing: UInt8(ascii: "}"), "an object")
  }

  /// The member names of an object on the last line, in order.
  ///
  /// The lines of a state file mostly name the same columns in the same order, and a name read as
  /// the string already held shares its storage: a million lines of names over 15 bytes were as
  /// many allocations each, and held memory is what reading the state costs most.
  struct RecentNames {
    private var names: [String] = []
    /// Each name's UTF-8 bytes, one after another, which a line's name is compared with where it lies: through the
    /// string, a name of 15 bytes or less was copied out of it first, and an array of each name's own was counted a
    /// reference at each look.
    private var spelled: [UInt8] = []
    private var places: [Place] = []

    private struct Place {
      /// Where the name's bytes lie in `spelled`.
      var start: Int
      var count: Int
      /// ASCII, with no quote, backslash or control byte: where a plain line spells it, quoted, its string ends
      /// where the spelling does (`spelledAt`).
      var isPlain: Bool
      /// Plain, after a plain name that sorts before it: a line that spells both in turn names them in order.
      var followsInOrder: Bool
    }

    /// How many names the object on the last line had (or the widest object before it).
    var count: Int { names.count }

    /// The name at `place`.
    subscript(place: Int) -> String { names[place] }

    /// The bytes of the name at `place`.
    private func withSpelling<Result>(at place: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
      let spelling = places[place]
      return spelled.withUnsafeBytes {
        body(UnsafeRawBufferPointer(rebasing: $0[spelling.start..<spelling.start + spelling.count]))
      }
    }

    /// The length of the name at `place` when a plain line spells it at `offset` as a member opens, `"name":`, and
    /// whether it sorts after the name before it when that one was spelled so too; `nil` when the line spells
    /// another name there, or when the name is not plain.
    ///
    /// Most members of a line are named as on the line before: the name is taken as it is spelled there, not read as
    /// a string first and then compared.
    func spelledAt(_ offset: Int, in line: UnsafeRawBufferPointer, place: Int) -> (count: Int, followsInOrder: Bool)? {
      guard place < places.count else { return nil }
      let spelling = places[place]
      let end = offset + 1 + spelling.count
      guard spelling.isPlain, end + 2 <= line.count, line[offset] == UInt8(ascii: "\""),
        line[end] == UInt8(ascii: "\""),
        line[end + 1] == UInt8(ascii: ":"),
        withSpelling(at: place, { UnsafeRawBufferPointer(rebasing: line[offset + 1..<end]).hasSameBytes(as: $0) })
      else { return nil }
      return (spelling.count, spelling.followsInOrder)
    }

    /// The name of these bytes, ASCII, at `place`, as `read(_:at:)` gives the name they spell.
    mutating func name(_ bytes: UnsafeRawBufferPointer, at place: Int) -> String {
      if place < names.count, withSpelling(at: place, { $0.hasSameBytes(as: bytes) }) { return names[place] }
      let name = String(decoding: bytes, as: UTF8.self)
      remember(name, spelled: Array(bytes), at: place)
      return name
    }

    mutating func read(_ lexer: JSONLexer, at place: Int) throws -> String {
      guard place < names.count else {
        let name = try lexer.readString()
        remember(name, spelled: Array(name.utf8), at: place)
        return name
      }
      let name = try lexer.readString(reusing: names[place])
      if name != names[place] { remember(name, spelled: Array(name.utf8), at: place) }
      return name
    }

    private mutating func remember(_ name: String, spelled spelling: [UInt8], at place: Int) {
      if place < names.count {
        names[place] = name
      } else {
        names.append(name)
        places.append(Place(start: 0, count: 0, isPlain: false, followsInOrder: false))
      }
      // A spelling replaced is left where it lies, the new one put after the others, until they are laid out again,
      // each but the new one copied from where it lay.
      if spelled.count > 1 << 16 {
        let earlier = spelled
        spelled.removeAll(keepingCapacity: true)
        for index in places.indices where index != place {
          let start = places[index].start
          places[index].start = spelled.count
          spelled += earlier[start..<start + places[index].count]
        }
      }
      places[place] = Place(
        start: spelled.count, count: spelling.count,
        isPlain: spelling.allSatisfy {
          $0 >= 0x20 && $0 < 0x80 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\")
        },
        followsInOrder: false)
      spelled += spelling
      places[place].followsInOrder = followsInOrder(at: place)
      if place + 1 < places.count { places[place + 1].followsInOrder = followsInOrder(at: place + 1) }
    }

    private func followsInOrder(at place: Int) -> Bool {
      guard place > 0, places[place].isPlain, places[place - 1].isPlain else { return false }
      return withSpelling(at: place - 1) { before in withSpelling(at: place) { before.precedes($0) } }
    }
  }

  /// A tagged value: `null` or `["tag", …]` (see `StateTag`).
  static func tagged(_ lexer: JSONLexer) throws -> FieldValue {
    if try lexer.peekToken() == UInt8(ascii: "n") {
      _ = try lexer.readLiteral()
      return .null
    }
    try lexer.expect(UInt8(ascii: "["), "a tagged value")
    // The tag as it is written, kept as text only when it is not one.
    let read = try lexer.readString { bytes in
      StateTag(utf8: bytes).map { (tag: $0, text: "") } ?? (tag: nil, text: String(decoding: bytes, as: UTF8.self))
    }
    try lexer.expect(UInt8(ascii: ","), "','")
    guard let tag = read?.tag else { throw lexer.error("unknown state tag \"\(read?.text ?? "")\"") }
    let value: FieldValue?
    switch tag {
    case .boolean:
      guard case .bool(let flag) = try lexer.readLiteral() else { throw lexer.error("expected true or false") }
      value = .boolean(flag)
    case .multiSelect:
      try lexer.expect(UInt8(ascii: "["), "a list of choices")
      var choices: [Int64] = []
      if try lexer.peekToken() == UInt8(ascii: "]") {
        lexer.advance()
      } else {
        repeat {
          guard let choice = try lexer.readString(parsing: StateTag.wholeNumber) else {
            throw lexer.error("a choice is not an integer")
          }
          choices.append(choice)
        } while try lexer.nextSeparator(closing: UInt8(ascii: "]"), "a list of choices")
      }
      value = .multiSelect(choices)
    case .lookup:
      let target: String?
      if try lexer.peekToken() == UInt8(ascii: "n") {
        _ = try lexer.readLiteral()
        target = nil
      } else {
        target = try lexer.readString()
      }
      try lexer.expect(UInt8(ascii: ","), "','")
      value = try lexer.readString { GUID(utf8: UnsafeRawBufferPointer($0)) }.map {
        .lookup(Lookup(entity: target, id: $0))
      }
    case .string:
      value = .string(try lexer.readString())
    case .decimal:
      // A decimal keeps the text it was written as.
      value = ExactDecimal(try lexer.readString()).map(FieldValue.decimal)
    case .integer, .optionSet, .dateTime, .date, .guid:
      value = try lexer.readString { StateTag.decode(tag, utf8: $0) }
    }
    try lexer.expect(UInt8(ascii: "]"), "']'")
    guard let value else { throw lexer.error("a \(tag.rawValue) value that does not read back") }
    return value
  }
}
