import DynSyncCore

/// Reads the workspace's state files (tagged NDJSON, written by `StateCodec`) with the same byte
/// tokenizer as Web API exports: one line at a time, no document, no Foundation objects.
public enum StateReader {
  /// Reads a file of state records (`state/dynamics/<table>.ndjson`).
  public static func records(in path: String, _ body: (Record) throws -> Void) throws {
    let lexer = try JSONLexer(path: path)
    while try lexer.peekToken() != nil {
      let position = SourcePosition(file: path, line: lexer.line)
      var entity: String?
      var id: GUID?
      var fields: [String: FieldValue] = [:]
      var labels: [String: String] = [:]
      var version: Int64?
      try object(lexer) { key in
        switch key {
        case "entity": entity = try lexer.readString()
        case "id": id = GUID(try lexer.readString())
        case "version": version = Int64(try lexer.readString())
        case "fields": try object(lexer) { name in fields[name] = try tagged(lexer) }
        case "labels": try object(lexer) { name in labels[name] = try lexer.readString() }
        default: try lexer.skipValue()
        }
      }
      guard let entity, let id else {
        throw InputError(at: position, reason: "corrupt state line: expected entity and id")
      }
      try body(Record(entity: entity, id: id, fields: fields, labels: labels, version: version, origin: position))
    }
  }

  /// Reads a file of Marketo rows (`state/marketo/<dataset>.ndjson`).
  public static func marketoRows(in path: String, _ body: (String, MarketoRow) throws -> Void) throws {
    let lexer = try JSONLexer(path: path)
    while try lexer.peekToken() != nil {
      let line = lexer.line
      var key: String?
      var row: MarketoRow = [:]
      try object(lexer) { name in
        switch name {
        case "key": key = try lexer.readString()
        case "row": try object(lexer) { field in row[field] = try tagged(lexer) }
        default: try lexer.skipValue()
        }
      }
      guard let key else { throw InputError(file: path, line: line, reason: "corrupt state line: expected key") }
      try body(key, row)
    }
  }

  /// Walks one object, handing each member's key to `member`, which must read the value.
  static func object(_ lexer: JSONLexer, _ member: (String) throws -> Void) throws {
    try lexer.expect(UInt8(ascii: "{"), "'{'")
    if try lexer.peekToken() == UInt8(ascii: "}") {
      lexer.advance()
      return
    }
    repeat {
      let key = try lexer.readString()
      try lexer.expect(UInt8(ascii: ":"), "':'")
      try member(key)
    } while try lexer.nextSeparator(closing: UInt8(ascii: "}"), "an object")
  }

  /// A tagged value: `null` or `["tag", …]` (see `StateTag`).
  static func tagged(_ lexer: JSONLexer) throws -> FieldValue {
    if try lexer.peekToken() == UInt8(ascii: "n") {
      _ = try lexer.readLiteral()
      return .null
    }
    try lexer.expect(UInt8(ascii: "["), "a tagged value")
    let tagText = try lexer.readString()
    try lexer.expect(UInt8(ascii: ","), "','")
    guard let tag = StateTag(rawValue: tagText) else { throw lexer.error("unknown state tag \"\(tagText)\"") }
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
          guard let choice = Int64(try lexer.readString()) else { throw lexer.error("a choice is not an integer") }
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
      value = GUID(try lexer.readString()).map { .lookup(Lookup(entity: target, id: $0)) }
    default:
      value = StateTag.decode(tag, try lexer.readString())
    }
    try lexer.expect(UInt8(ascii: "]"), "']'")
    guard let value else { throw lexer.error("a \(tagText) value that does not read back") }
    return value
  }
}
