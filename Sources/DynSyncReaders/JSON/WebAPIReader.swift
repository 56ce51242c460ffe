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
    var scan = JSONObjectScan()
    var shapes = RecentRowKeys<Void>()

    func hand(_ event: ReadEvent) throws {
      summary.count(event)
      try emit(event)
    }
    func hand(_ raw: RawJSONRecord, with decoder: inout WebAPIRecordDecoder) throws { try hand(decoder.decode(raw)) }

    let page = try walk(
      lexer,
      context: { context in
        var fresh = WebAPIRecordDecoder(path: path, context: context)
        for raw in pending { try hand(raw, with: &fresh) }
        pending.removeAll()
        decoder = fresh
      },
      row: {
        // A row the quick scan vouches for is read from the members it found, as the rows an index pass leaves are
        // read again; any other row token by token, which reports a problem precisely.
        let raw: RawJSONRecord
        if let object = try lexer.captureObject(&scan) {
          if var current = decoder {
            let event = try current.decode(
              scanned: object.bytes, by: scan, shapes: &shapes, offset: object.offset, line: object.line,
              column: object.column)
            decoder = current
            return try hand(event)
          }
          raw = try RawJSONRecord(
            scanned: object.bytes, by: scan, shapes: &shapes, path: path, offset: object.offset, line: object.line,
            column: object.column)
        } else {
          raw = try RawJSONRecord.read(from: lexer)
        }
        if var current = decoder {
          try hand(raw, with: &current)
          decoder = current
        } else {
          pending.append(raw)
        }
      })
    let entity = try settledEntity(of: decoder)
    page.describe(in: &summary)
    summary.note(entity: entity)
    return summary
  }

  /// Indexes the file: every row's id and fingerprint.
  ///
  /// Only the rows a quick look at their bytes cannot vouch for are decoded. `observer` sees
  /// every byte of the file once, in order (to digest it in the same pass).
  ///
  /// It returns the summary a full read gives and the page's `@odata.context`, which
  /// `decode(_:context:entity:)` needs; it throws `IndexUnavailable` when the file holds anything
  /// only a full read handles as it should (a malformed document, rows before the context,
  /// deletions, UTF-16).
  public func index(
    file number: Int, observingBytes observer: ((UnsafeRawBufferPointer) -> Void)? = nil,
    _ emit: (IndexEvent) throws -> Void
  ) throws -> (ExportFileSummary, String) {
    let lexer = try JSONLexer(path: path, observer: observer)
    var summary = ExportFileSummary(path: path, format: .webAPI)
    var indexer: WebAPIRowIndexer?
    var contextText = ""
    var scan = JSONObjectScan()
    let page = try walk(
      lexer,
      context: { context in
        guard !context.isDelta else {
          throw IndexUnavailable(path: path, reason: "a change-tracking page is laid over rows, not indexed")
        }
        contextText = context.url
        indexer = WebAPIRowIndexer(decoder: WebAPIRecordDecoder(path: path, context: context), file: number)
      },
      row: {
        guard var current = indexer else { throw IndexUnavailable(path: path, reason: "rows before @odata.context") }
        guard let object = try lexer.captureObject(&scan) else {
          throw IndexUnavailable(path: path, reason: "a row a quick scan cannot vouch for")
        }
        let event = try current.index(object, members: scan.members)
        summary.count(event)
        try emit(event)
        indexer = current
      })
    let entity = try settledEntity(of: indexer?.decoder)
    page.describe(in: &summary)
    summary.note(entity: entity)
    return (summary, contextText)
  }

  /// Reads the given rows of the file again, each on its own, as a full read would hand them on;
  /// `context` is the page's `@odata.context` as `index` returned it, `entity` the table the
  /// file's rows belong to.
  public func decode(_ rows: [IndexedRow], context: String, entity: String?) throws -> [ReadEvent] {
    guard let context = ODataContext(context) else {
      throw InputError(file: path, reason: "\"@odata.context\" is not an OData context URL")
    }
    let file = try FileBytes(path: path)
    var decoder = WebAPIRecordDecoder(path: path, context: context, entity: entity)
    var scan = JSONObjectScan()
    var shapes = RecentRowKeys<Void>()
    var events: [ReadEvent] = []
    events.reserveCapacity(rows.count)
    try file.readEach(rows, place: \.place) { bytes, row in
      guard scan.scan(bytes) == bytes.count,
        Fingerprint(of: bytes, seed: WebAPIRowIndexer.fingerprintSeed) == row.fingerprint
      else {
        throw IndexUnavailable(path: path, reason: "the file changed while it was read")
      }
      events.append(
        try decoder.decode(
          scanned: bytes, by: scan, shapes: &shapes, offset: Int(row.location.offset), line: Int(row.location.line),
          column: Int(row.location.column)))
    }
    return events
  }

  /// The table of the rows, once the whole file is read.
  private func settledEntity(of decoder: WebAPIRecordDecoder?) throws -> String {
    guard let decoder else {
      throw InputError(
        file: path, line: 1,
        reason: "no \"@odata.context\": cannot tell which table the rows belong to")
    }
    return decoder.table
  }

  /// Walks the response object, handing on its context and leaving each row of `value` to `row`.
  private func walk(_ lexer: JSONLexer, context: (ODataContext) throws -> Void, row: () throws -> Void) throws
    -> PageLinks
  {
    var page = PageLinks()
    var sawValue = false
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
        guard case .string(let text) = try lexer.readScalar(), let parsed = ODataContext(text) else {
          throw lexer.error("\"@odata.context\" is not an OData context URL (…/$metadata#<entityset>)", line: line)
        }
        if parsed.isDelta { page.kind = .delta }
        try context(parsed)
      case "value":
        sawValue = true
        try lexer.expect(UInt8(ascii: "["), "an array for \"value\"")
        if try lexer.peekToken() == UInt8(ascii: "]") {
          lexer.advance()
          break
        }
        repeat {
          try row()
        } while try lexer.nextSeparator(closing: UInt8(ascii: "]"), "the \"value\" array")
      case "@odata.nextLink":
        if case .string = try lexer.readScalar() { page.hasNextPage = true }
      case "@odata.deltaLink":
        // The initial change-tracking response carries a delta link too, but holds every row:
        // only a `…/$delta` context makes a page a delta.
        if case .string(let link) = try lexer.readScalar() { page.deltaLink = link }
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
    return page
  }
}

/// What a response says of itself besides its rows.
private struct PageLinks {
  var kind = ExportKind.full
  var hasNextPage = false
  var deltaLink: String?

  func describe(in summary: inout ExportFileSummary) {
    summary.kind = kind
    summary.hasNextPage = hasNextPage
    summary.deltaLink = deltaLink
  }
}

/// The `@odata.context` URL of a response or of a delta entry.
struct ODataContext: Sendable, Equatable {
  var url: String
  var entitySet: String
  var isDelta: Bool
  var isDeletedEntity: Bool

  /// Parses `…/$metadata#accounts(name,revenue)/$delta`, `…#accounts/$deletedEntity` and the like.
  ///
  /// By bytes: the marks looked for are ASCII, and a change-tracking page has a context on every deleted row.
  init?(_ url: String) {
    let bytes = url.utf8
    guard let hash = bytes.firstIndex(of: UInt8(ascii: "#")) else { return nil }
    let fragment = bytes[bytes.index(after: hash)...]
    let name = fragment.prefix { $0 != UInt8(ascii: "(") && $0 != UInt8(ascii: "/") }
    guard !name.isEmpty else { return nil }
    self.url = url
    entitySet = String(decoding: name, as: UTF8.self)
    isDelta = fragment.suffix("/$delta".utf8.count).elementsEqual("/$delta".utf8)
    isDeletedEntity = fragment.suffix("/$deletedEntity".utf8.count).elementsEqual("/$deletedEntity".utf8)
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
