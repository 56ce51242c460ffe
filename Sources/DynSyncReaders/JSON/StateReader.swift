import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// Reads the workspace's state files (tagged NDJSON, written by `StateCodec`) with the same byte
/// tokenizer as Web API exports: one line at a time, no document, no Foundation objects.
public enum StateReader {
  /// Reads a file of state records (`state/dynamics/<table>.ndjson`); a removal line is refused as corrupt.
  public static func records(in path: String, _ body: (Record) throws -> Void) throws {
    try records(in: path, removals: false) { _, record in
      // Without removals every line is a record.
      if let record { try body(record) }
    }
  }

  /// Reads an overlay of state records (`state/dynamics/<table>.overlay.ndjson`): each line's id, and its record, or
  /// `nil` for a removal line (`"removed":true`).
  public static func overlayRecords(in path: String, _ body: (GUID, Record?) throws -> Void) throws {
    try records(in: path, removals: true, body)
  }

  private static func records(in path: String, removals: Bool, _ body: (GUID, Record?) throws -> Void) throws {
    let lexer = try JSONLexer(path: path)
    var lineNames = RecentNames()
    var fieldNames = RecentNames()
    var labelNames = RecentNames()
    while try lexer.peekToken() != nil {
      let position = SourcePosition(file: path, line: lexer.line)
      var entity: String?
      var id: GUID?
      // Sized as the line before, which mostly names the same columns: one allocation for the row.
      var fields = Fields(minimumCapacity: fieldNames.count)
      var labels: [String: String] = [:]
      var version: Int64?
      var isRemoval = false
      try object(lexer, names: &lineNames) { key in
        switch key {
        case "entity": entity = try lexer.readString()
        case "id": id = try lexer.readString { GUID(utf8: UnsafeRawBufferPointer($0)) }
        case "version": version = try lexer.readString(parsing: StateTag.wholeNumber)
        case "fields": try object(lexer, names: &fieldNames) { name in fields[name] = try tagged(lexer) }
        case "labels": try object(lexer, names: &labelNames) { name in labels[name] = try lexer.readString() }
        case "removed": isRemoval = try removal(lexer)
        default: try lexer.skipValue()
        }
      }
      guard let entity, let id else {
        throw InputError(at: position, reason: "corrupt state line: expected entity and id")
      }
      if isRemoval {
        guard removals else {
          throw InputError(at: position, reason: "corrupt state line: a removal outside an overlay")
        }
        try body(id, nil)
      } else {
        try body(id, Record(entity: entity, id: id, fields: fields, labels: labels, version: version, origin: position))
      }
    }
  }

  /// Reads a file of Marketo rows (`state/marketo/<dataset>.ndjson`); a removal line is refused as corrupt.
  public static func marketoRows(in path: String, _ body: (String, MarketoRow) throws -> Void) throws {
    try marketoRows(in: path, removals: false) { key, row in
      if let row { try body(key, row) }
    }
  }

  /// Reads an overlay of Marketo rows: each line's key, and its row, or `nil` for a removal line.
  public static func overlayMarketoRows(in path: String, _ body: (String, MarketoRow?) throws -> Void) throws {
    try marketoRows(in: path, removals: true, body)
  }

  private static func marketoRows(in path: String, removals: Bool, _ body: (String, MarketoRow?) throws -> Void)
    throws
  {
    let lexer = try JSONLexer(path: path)
    var names = MarketoRowNames()
    while try lexer.peekToken() != nil { try marketoRow(lexer, path: path, removals: removals, names: &names, body) }
  }

  /// The names of a Marketo state line before, shared with the next.
  struct MarketoRowNames {
    var line = RecentNames()
    var fields = RecentNames()
  }

  /// Reads the line at the lexer's position.
  private static func marketoRow(
    _ lexer: JSONLexer, path: String, removals: Bool, names: inout MarketoRowNames,
    _ body: (String, MarketoRow?) throws -> Void
  ) throws {
    let line = lexer.line
    var key: String?
    var row = MarketoRow(minimumCapacity: names.fields.count)
    var isRemoval = false
    try object(lexer, names: &names.line) { name in
      switch name {
      case "key": key = try lexer.readString()
      case "row": try object(lexer, names: &names.fields) { field in row[field] = try tagged(lexer) }
      case "removed": isRemoval = try removal(lexer)
      default: try lexer.skipValue()
      }
    }
    guard let key else { throw InputError(file: path, line: line, reason: "corrupt state line: expected key") }
    if isRemoval {
      guard removals else {
        throw InputError(file: path, line: line, reason: "corrupt state line: a removal outside an overlay")
      }
      try body(key, nil)
    } else {
      try body(key, row)
    }
  }

  /// Where a line of a Marketo state file lies, to be read later on its own (`marketoRows(in:at:)`).
  public struct MarketoLine: Sendable {
    public var key: String
    var offset: Int
    var length: Int
    /// Counted from the start of the part of the file read (`OutlinedPart.lines`).
    public var line: Int
    var column: Int
  }

  /// A part of a Marketo state file read by `marketoRows(in:range:columns:decodes:decoded:outlined:)`.
  public struct OutlinedPart: Sendable {
    public var firstKey: String?
    public var lastKey: String?
    /// The line breaks in the part, which the lines of the part after it follow.
    public var lineBreaks: Int
  }

  /// Reads a file of Marketo rows (no removals), or a part of it, decoding only the rows `decodes` picks.
  ///
  /// `decodes` picks a row by its key and a few of its columns; the other lines are handed on as where they lie,
  /// having been looked at only for those: a line as `StateCodec` writes it, with no escape, from quote to quote, any
  /// other line by the JSON scan, which checks it. A part starts a line; lines are counted from its start, in what
  /// is handed on and in errors.
  ///
  /// - Parameters:
  ///   - path: the file.
  ///   - range: the part of the file to read; `nil`, the whole file.
  ///   - columns: the columns handed to `decodes` and `outlined`, in this order (`.null` for one a row lacks).
  ///   - decodes: whether a line's row is decoded, by its key and the values of `columns`.
  ///   - decoded: a decoded row, by its key.
  ///   - outlined: a line not decoded, and the values of `columns` in its row.
  /// - Returns: the part's first and last keys and its line breaks; `nil` when the file cannot be read this way (a
  ///   line that is not one well-formed object with a key, keys out of their written order, a removal): the caller
  ///   must then drop what it was handed and read the file whole, which reports any problem precisely.
  /// - Throws: `InputError` for a file that cannot be read, or a value in `columns` that is not a state value.
  public static func marketoRows(
    in path: String, range: Range<Int>? = nil, columns: [String], decodes: (String, [FieldValue]) -> Bool,
    decoded: (String, MarketoRow) throws -> Void, outlined: (MarketoLine, [FieldValue]) throws -> Void
  ) throws -> OutlinedPart? {
    let file = try JSONLexer(path: path, range: range)
    var firstKey: String?
    var lineScan = JSONObjectScan()
    lineScan.innerObjectKey = Array("row".utf8)
    var names = MarketoRowNames()
    var values = [FieldValue](repeating: .null, count: columns.count)
    let columnBytes = columns.map { Array($0.utf8) }
    var previousKey: String?
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
          case "removed": return nil
          default: continue
          }
        }
        for index in values.indices { values[index] = .null }
        if rowSpan != nil {
          for member in lineScan.innerMembers {
            // An escaped name could be one of the columns written another way.
            guard !member.keyEscaped else { return nil }
            let name = text(member.key)
            guard let index = columnBytes.firstIndex(where: { same($0, name) }) else { continue }
            values[index] = try plainTaggedString(text(member.value)) ?? tagged(lexer(over: member.value))
          }
        }
        return key
      }
      guard let key = try plainLineKey(bytes, columns: columnBytes, values: &values) ?? scannedKey(),
        previousKey.map({ MarketoDataset.keyPrecedes($0, key) }) ?? true
      else { return nil }
      previousKey = key
      if firstKey == nil { firstKey = key }
      if decodes(key, values) {
        try marketoRow(lexer(over: 0..<bytes.count), path: path, removals: false, names: &names) { key, row in
          if let row { try decoded(key, row) }
        }
      } else {
        try outlined(
          MarketoLine(
            key: key, offset: captured.offset, length: bytes.count, line: captured.line, column: captured.column),
          values)
      }
    }
    return OutlinedPart(firstKey: firstKey, lastKey: previousKey, lineBreaks: file.line - 1)
  }

  /// Reads the rows of lines outlined before, each where it lies.
  ///
  /// - Throws: `InputError` when a line does not read back as the row of its key (the file changed since).
  public static func marketoRows(
    in path: String, at lines: [MarketoLine], _ body: (String, MarketoRow) throws -> Void
  ) throws {
    let file = try FileBytes(path: path)
    var names = MarketoRowNames()
    for line in lines {
      let bytes = try file.read(at: line.offset, count: line.length)
      let lexer = bytes.withUnsafeBytes {
        JSONLexer(bytes: $0, path: path, offset: line.offset, line: line.line, column: line.column)
      }
      try marketoRow(lexer, path: path, removals: false, names: &names) { key, row in
        guard key == line.key, let row else {
          throw InputError(file: path, line: line.line, reason: "the state file changed while it was read")
        }
        try body(key, row)
      }
    }
  }

  private static let plainLineHead: [UInt8] = Array(#"{"key":""#.utf8)
  private static let plainRowHead: [UInt8] = Array(#"","row":{"#.utf8)
  private static let nullBytes: [UInt8] = Array("null".utf8)

  /// The key of a line as `StateCodec` writes it with no escape anywhere, the values of `columns` in its row set in
  /// `values`; `nil` for any other line, left to the JSON scan.
  ///
  /// Without a backslash every quote opens or closes a string, so the row's members are found from quote to quote,
  /// and their values from bracket to bracket, without looking at every byte. The rest of such a line is not checked;
  /// it is decoded, and so checked, when its row is read.
  private static func plainLineKey(_ bytes: UnsafeRawBufferPointer, columns: [[UInt8]], values: inout [FieldValue])
    -> String?
  {
    let head = plainLineHead
    let rowHead = plainRowHead
    let count = bytes.count
    guard count >= head.count + rowHead.count + 2, let base = bytes.baseAddress, bytes.starts(with: head),
      bytes[count - 1] == UInt8(ascii: "}"), bytes[count - 2] == UInt8(ascii: "}"),
      memchr(base, Int32(UInt8(ascii: "\\")), count) == nil
    else { return nil }
    /// The next quote from `start`, before the row's closing brace.
    func quote(from start: Int, before end: Int) -> Int? {
      guard start < end, let found = memchr(base + start, Int32(UInt8(ascii: "\"")), end - start) else { return nil }
      return UnsafeRawPointer(found) - base
    }
    let end = count - 2
    guard let keyEnd = quote(from: head.count, before: count), keyEnd + rowHead.count <= end,
      same(rowHead, UnsafeRawBufferPointer(rebasing: bytes[keyEnd..<keyEnd + rowHead.count]))
    else { return nil }
    for index in values.indices { values[index] = .null }
    var found = 0
    var index = keyEnd + rowHead.count
    while index < end {
      guard bytes[index] == UInt8(ascii: "\""), let close = quote(from: index + 1, before: end), close + 1 < end,
        bytes[close + 1] == UInt8(ascii: ":")
      else { return nil }
      let name = UnsafeRawBufferPointer(rebasing: bytes[index + 1..<close])
      let valueStart = close + 2
      var cursor = valueStart
      // The value, to the comma after it or the row's end; no object may be in it.
      var depth = 0
      while cursor < end {
        let byte = bytes[cursor]
        if byte == UInt8(ascii: "\"") {
          guard let close = quote(from: cursor + 1, before: end) else { return nil }
          cursor = close + 1
          continue
        }
        if byte == UInt8(ascii: "[") {
          depth += 1
        } else if byte == UInt8(ascii: "]") {
          guard depth > 0 else { return nil }
          depth -= 1
        } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") {
          return nil
        } else if byte == UInt8(ascii: ","), depth == 0 {
          break
        }
        cursor += 1
      }
      guard depth == 0 else { return nil }
      if let column = columns.firstIndex(where: { same($0, name) }) {
        // Each column once, written `["s","…"]` or `null`; anything else is left to the scan.
        guard found & (1 << column) == 0 else { return nil }
        found |= 1 << column
        let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<cursor])
        if let string = plainTaggedString(value) {
          values[column] = string
        } else if !same(nullBytes, value) {
          return nil
        }
      }
      // A comma must have a member after it.
      if cursor < end { guard cursor + 1 < end else { return nil } }
      index = cursor + 1
    }
    return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.count..<keyEnd]), as: UTF8.self)
  }

  private static func same(_ name: [UInt8], _ bytes: UnsafeRawBufferPointer) -> Bool {
    guard name.count == bytes.count else { return false }
    return name.withUnsafeBytes { $0.elementsEqual(bytes) }
  }

  private static let taggedStringHead: [UInt8] = Array(#"["s",""#.utf8)

  /// A string written as `["s","…"]` with no escape, as `tagged` reads it, or `nil` for any other value.
  private static func plainTaggedString(_ bytes: UnsafeRawBufferPointer) -> FieldValue? {
    let head = taggedStringHead
    guard bytes.count >= head.count + 2, bytes.starts(with: head), bytes[bytes.count - 2] == UInt8(ascii: "\""),
      bytes[bytes.count - 1] == UInt8(ascii: "]")
    else { return nil }
    let inner = UnsafeRawBufferPointer(rebasing: bytes[head.count..<bytes.count - 2])
    guard !inner.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return nil }
    return .string(String(decoding: inner, as: UTF8.self))
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

    /// How many names the object on the last line had (or the widest object before it).
    var count: Int { names.count }

    mutating func read(_ lexer: JSONLexer, at place: Int) throws -> String {
      guard place < names.count else {
        let name = try lexer.readString()
        names.append(name)
        return name
      }
      let name = try lexer.readString(reusing: names[place])
      names[place] = name
      return name
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
