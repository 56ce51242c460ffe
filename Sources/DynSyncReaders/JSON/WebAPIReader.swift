import DynSyncCore

/// Reads one Dataverse Web API (OData v4) JSON response: a collection page, or a change-tracking
/// (delta) page with `$deletedEntity` entries.
///
/// The file is tokenized as it is read, and each row of `value` is handed on as soon as it ends.
public struct WebAPIReader: Sendable {
  public let path: String

  public init(path: String) {
    self.path = path
  }

  /// Reads the file, calling `emit` for every record, deletion and reject in file order.
  /// - Throws: `InputError` when the document itself is malformed; records already handed on stay valid.
  public func read(_ emit: (ReadEvent) throws -> Void) throws -> ExportFileSummary {
    let lexer = try JSONLexer(path: path)
    var summary = ExportFileSummary(path: path, format: .webAPI)
    var decoder: WebAPIRecordDecoder?
    var pending: [RawJSONRecord] = []
    var sawValue = false

    func hand(_ raw: RawJSONRecord, with decoder: inout WebAPIRecordDecoder) throws {
      let event = decoder.decode(raw)
      summary.count(event)
      try emit(event)
    }

    try lexer.skipByteOrderMark()
    try lexer.expect(UInt8(ascii: "{"), "a JSON object (a Web API response starts with '{')")
    if try lexer.peekToken() == UInt8(ascii: "}") {
      throw lexer.error("empty JSON object: not a Web API response (no \"value\" array)")
    }
    repeat {
      let key = try lexer.readString()
      try lexer.expect(UInt8(ascii: ":"), "':' after \"\(key)\"")
      switch key {
      case "@odata.context":
        let line = lexer.line
        guard case .string(let text) = try lexer.readScalar(), let context = ODataContext(text) else {
          throw lexer.error("\"@odata.context\" is not an OData context URL (…/$metadata#<entityset>)", line: line)
        }
        if context.isDelta { summary.kind = .delta }
        var fresh = WebAPIRecordDecoder(path: path, context: context)
        for raw in pending { try hand(raw, with: &fresh) }
        pending.removeAll()
        decoder = fresh
      case "value":
        sawValue = true
        try lexer.expect(UInt8(ascii: "["), "an array for \"value\"")
        if try lexer.peekToken() == UInt8(ascii: "]") {
          lexer.advance()
          break
        }
        repeat {
          let raw = try RawJSONRecord.read(from: lexer)
          if var current = decoder {
            try hand(raw, with: &current)
            decoder = current
          } else {
            pending.append(raw)
          }
        } while try lexer.nextSeparator(closing: UInt8(ascii: "]"), "the \"value\" array")
      case "@odata.nextLink":
        if case .string = try lexer.readScalar() { summary.hasNextPage = true }
      case "@odata.deltaLink":
        // The initial change-tracking response carries a delta link too, but holds every row:
        // only a `…/$delta` context makes a page a delta.
        if case .string(let link) = try lexer.readScalar() { summary.deltaLink = link }
      default:
        try lexer.skipValue()
      }
    } while try lexer.nextSeparator(closing: UInt8(ascii: "}"), "the response object")
    if let trailing = try lexer.peekToken() {
      throw lexer.error("unexpected \(JSONLexer.describe(trailing)) after the end of the response object")
    }
    guard sawValue else {
      throw InputError(file: path, line: 1, reason: "no \"value\" array: not a Web API collection response")
    }
    guard let decoder else {
      throw InputError(
        file: path, line: 1,
        reason: "no \"@odata.context\": cannot tell which table the rows belong to")
    }
    summary.note(entity: decoder.entity ?? decoder.context.entitySet)
    return summary
  }
}

/// The `@odata.context` URL of a response or of a delta entry.
struct ODataContext: Sendable, Equatable {
  var entitySet: String
  var isDelta: Bool
  var isDeletedEntity: Bool

  /// Parses `…/$metadata#accounts(name,revenue)/$delta`, `…#accounts/$deletedEntity` and the like.
  init?(_ url: String) {
    guard let hash = url.firstIndex(of: "#") else { return nil }
    let fragment = url[url.index(after: hash)...]
    let name = fragment.prefix { $0 != "(" && $0 != "/" }
    guard !name.isEmpty else { return nil }
    entitySet = String(name)
    isDelta = fragment.hasSuffix("/$delta")
    isDeletedEntity = fragment.hasSuffix("/$deletedEntity")
  }
}

/// One object of `value`, as read: its members in order, with where it started.
struct RawJSONRecord: Sendable {
  var line: Int
  var column: Int
  var members: [(name: String, value: JSONScalar)]
  var duplicateKey: String?

  static func read(from lexer: JSONLexer) throws(InputError) -> RawJSONRecord {
    guard let next = try lexer.peekToken() else {
      throw lexer.error("unexpected end of file in the \"value\" array: the file is truncated")
    }
    guard next == UInt8(ascii: "{") else {
      throw lexer.error("expected a row object in \"value\", found \(JSONLexer.describe(next))")
    }
    var raw = RawJSONRecord(line: lexer.line, column: lexer.column, members: [])
    lexer.advance()
    if try lexer.peekToken() == UInt8(ascii: "}") {
      lexer.advance()
      return raw
    }
    var names = Set<String>()
    repeat {
      let name = try lexer.readString()
      try lexer.expect(UInt8(ascii: ":"), "':' after \"\(name)\"")
      let value = try lexer.readScalar()
      if !names.insert(name).inserted, raw.duplicateKey == nil { raw.duplicateKey = name }
      raw.members.append((name, value))
    } while try lexer.nextSeparator(closing: UInt8(ascii: "}"), "a row object")
    return raw
  }
}
