import DynSyncCore

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
    var lineNames = RecentNames()
    var fieldNames = RecentNames()
    while try lexer.peekToken() != nil {
      let line = lexer.line
      var key: String?
      var row = MarketoRow(minimumCapacity: fieldNames.count)
      var isRemoval = false
      try object(lexer, names: &lineNames) { name in
        switch name {
        case "key": key = try lexer.readString()
        case "row": try object(lexer, names: &fieldNames) { field in row[field] = try tagged(lexer) }
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
