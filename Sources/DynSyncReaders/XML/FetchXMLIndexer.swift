import DynSyncCore

extension FetchXMLReader {
  static let fingerprintSeed: UInt64 = 0x6665_7463_6878_6D6C  // "fetchxml"

  /// Indexes the file: every `<result>`'s id, the fingerprint of its bytes and where they lie.
  ///
  /// The file goes once through `XMLByteScanner` (`scanning`) or libxml2's SAX parser; only rows whose columns a
  /// look at their text cannot vouch for (the first row, when no paging cookie names the table; a value that
  /// might not read as its type; a column twice) are decoded. `observer` sees every byte of the
  /// file once, in order.
  ///
  /// It returns the summary a full read gives; it throws `XMLScanDeclined` for XML the scanner leaves to libxml2
  /// (the caller indexes the file again, not scanning), and `IndexUnavailable` for a file only a
  /// full read handles as it should (malformed, not UTF-8, elements inside values).
  public func index(
    file number: Int, scanning: Bool = true, observingBytes observer: ((UnsafeRawBufferPointer) -> Void)? = nil,
    _ emit: (IndexEvent) throws -> Void
  ) throws -> ExportFileSummary {
    let indexer = FetchXMLRowIndexer(path: path, file: number, entity: entity)
    try XMLIndexPass.run(path: path, observer: observer, indexer: indexer, scanning: scanning, emit: emit)
    guard indexer.sawRoot else { throw IndexUnavailable(path: path, reason: "no <resultset>") }
    if let entity = indexer.entity { indexer.summary.note(entity: entity) }
    return indexer.summary
  }

  /// Reads the given rows of the file again, each from its own bytes, as a full read would hand
  /// them on; `entity` is the table the index settled for the file.
  public func decode(_ rows: [IndexedRow], entity: String) throws -> [ReadEvent] {
    guard !rows.isEmpty else { return [] }
    let spans = try XMLIndexPass.spans(of: rows, path: path, seed: FetchXMLReader.fingerprintSeed)
    let parsed = try FetchXMLRow.rows(inSpans: spans, path: path)
    guard parsed.count == rows.count else {
      throw IndexUnavailable(path: path, reason: "rows read again do not match the rows indexed")
    }
    return zip(parsed, rows).map { row, indexed in
      var row = row
      row.position = SourcePosition(file: path, line: Int(indexed.location.line))
      return row.decode(entity: entity)
    }
  }
}

extension FetchXMLRow {
  /// The `<result>` rows in `spans`, bytes cut from a FetchXML file, each a whole `<result>`
  /// element (their positions are those of the text given, not of the file).
  static func rows(inSpans spans: [UInt8], path: String) throws -> [FetchXMLRow] {
    var rows: [FetchXMLRow] = []
    try XMLSAXParser.parse(utf8: Array("<resultset>".utf8) + spans + Array("</resultset>".utf8), path: path) {
      rows = []
      return FetchXMLRowCollector(path: path, root: { _ in }, row: { rows.append($0) })
    }
    return rows
  }
}

/// Follows the SAX events of one FetchXML file and turns each `<result>` into an index event.
///
/// A row is vouched for (its id read from its text, nothing decoded) only when every rule by which
/// `FetchXMLRow.decode` rejects a row is seen not to apply; any other row is decoded from its bytes,
/// so the outcome for every row is the decoder's.
///
/// Its state is unchecked for exclusive access: one parse on one thread calls it, one event at a
/// time, and the checks cost a third of the pass.
final class FetchXMLRowIndexer: XMLRowIndexer {
  let path: String
  let file: Int
  /// The table: given, or named by the paging cookie, or settled by the first row.
  @exclusivity(unchecked) private(set) var entity: String?
  @exclusivity(unchecked) var summary: ExportFileSummary
  @exclusivity(unchecked) private(set) var sawRoot = false
  let window = XMLRowWindow()
  @exclusivity(unchecked) var events: [IndexEvent] = []
  /// Unretained: the parser lives for the whole pass, and a checked reference would cost a
  /// retain on each of the file's elements.
  private unowned(unsafe) var parser: (any XMLEventSource)?

  // The row being read (kept as plain properties: this runs for every element of the file).
  @exclusivity(unchecked) private var inRow = false
  @exclusivity(unchecked) private var rowStart = 0
  @exclusivity(unchecked) private var rowLine = 0
  @exclusivity(unchecked) private var rowPrimaryKey: String?
  @exclusivity(unchecked) private var rowColumns = 0
  @exclusivity(unchecked) private var rowID: GUID?
  @exclusivity(unchecked) private var rowVouched = true
  // The column being read.
  @exclusivity(unchecked) private var columnKind = ColumnKind.plain
  @exclusivity(unchecked) private var columnShapeIndex = 0
  private let columnText = ScratchBytes()

  /// The column names of the last rows, with what the rules need to know of each.
  @exclusivity(unchecked) private var shape = XMLRowShape<ColumnFacts>()

  /// What the rules need to know of a column name (plain values: they are looked at for every column).
  private struct ColumnFacts {
    var isPrimaryKey: Bool
    var isDateOnly: Bool
    var isBoolean: Bool
    var isStampColumn: Bool

    init(_ name: String, primaryKey: String?) {
      isPrimaryKey = name == primaryKey
      isDateOnly = DataverseCatalog.isDateOnly(name)
      isBoolean = DataverseCatalog.isBoolean(name)
      isStampColumn = name == "createdon" || name == "modifiedon"
    }
  }

  /// The rule of `FetchXMLRow.value(of:)` a column's attributes send it to.
  private enum ColumnKind {
    case primaryKey
    case lookup
    case dateTime
    case choice
    case formatted
    /// Read as whatever its text looks like: never rejected.
    case plain
  }

  /// The attributes `FetchXMLRow.value(of:)` looks at, as bits.
  private struct Decorations: OptionSet {
    let rawValue: UInt8
    static let type = Decorations(rawValue: 1)
    static let dsc = Decorations(rawValue: 2)
    static let date = Decorations(rawValue: 4)
    static let time = Decorations(rawValue: 8)
    static let name = Decorations(rawValue: 16)
    static let formattedValue = Decorations(rawValue: 32)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ attributes: XMLSAXParser.Attributes) {
      var found: Decorations = []
      attributes.forEachName { name in
        switch name.count {
        case 3 where name.equals("dsc"): found.insert(.dsc)
        case 4 where name.equals("type"): found.insert(.type)
        case 4 where name.equals("date"): found.insert(.date)
        case 4 where name.equals("time"): found.insert(.time)
        case 4 where name.equals("name"): found.insert(.name)
        case 14 where name.equals("formattedvalue"): found.insert(.formattedValue)
        default: break
        }
      }
      self = found
    }
  }

  init(path: String, file: Int, entity: String?) {
    self.path = path
    self.file = file
    self.entity = entity
    self.summary = ExportFileSummary(path: path, format: .fetchXML)
  }

  func follow(_ parser: any XMLEventSource) { self.parser = parser }

  private var parserOffset: Int { parser?.byteOffset ?? 0 }

  func startElement(_ name: UnsafeBufferPointer<UInt8>, attributes: XMLSAXParser.Attributes, depth: Int) throws {
    switch depth {
    case 2:
      guard inRow else { return }
      if let place = shape.position(of: name, at: rowColumns) {
        columnShapeIndex = place
      } else {
        columnShapeIndex = shape.learn(name, at: rowColumns) { ColumnFacts($0, primaryKey: rowPrimaryKey) }
      }
      rowColumns += 1
      columnKind = FetchXMLRowIndexer.kind(
        of: shape.facts(at: columnShapeIndex), decorations: attributes.count == 0 ? [] : Decorations(attributes))
      columnText.removeAll()
    case 1:
      guard name.equals("result") else {
        throw IndexUnavailable(path: path, reason: "an element other than <result> in the resultset")
      }
      guard let start = window.tagStart(before: parserOffset) else {
        throw IndexUnavailable(path: path, reason: "a row whose start cannot be found")
      }
      inRow = true
      rowStart = start
      rowLine = parser?.line ?? 0
      if rowPrimaryKey == nil, let entity {
        rowPrimaryKey = DataverseCatalog.primaryIDField(of: entity)
        // The names learned so far were learned without it.
        shape.reset()
      }
      rowColumns = 0
      rowID = nil
      rowVouched = true
      window.release(upTo: rowStart)
    case 0:
      guard name.equals("resultset") else {
        throw IndexUnavailable(path: path, reason: "not a resultset")
      }
      sawRoot = true
      let decorations = attributes.decoded()
      FetchXMLReader.describePage(
        moreRecords: decorations["morerecords"], pagingCookie: decorations["paging-cookie"], in: &summary,
        entity: &entity)
      window.release(upTo: parserOffset)
    default:
      throw IndexUnavailable(path: path, reason: "an element inside a value")
    }
  }

  func characters(_ text: UnsafeBufferPointer<UInt8>, depth: Int) {
    guard depth == 3, inRow, columnKind != .plain else { return }
    columnText.append(text)
  }

  func endElement(_ name: UnsafePointer<UInt8>, depth: Int) throws {
    switch depth {
    case 2:
      guard inRow, columnKind != .plain else { return }
      switch check(columnKind, shape.facts(at: columnShapeIndex)) {
      case .some(let id): if columnKind == .primaryKey { rowID = id }
      case .none: rowVouched = false
      }
    case 1:
      guard inRow else { return }
      inRow = false
      try finishRow()
    default:
      return
    }
  }

  // MARK: - Rows

  private func finishRow() throws {
    let (span, location, fingerprint) = try window.endRow(
      from: rowStart, to: parserOffset, file: file, line: rowLine, seed: FetchXMLReader.fingerprintSeed, path: path)
    let event: IndexEvent
    // An intersect table's row is the association of its two ends, whose id only its decoding makes.
    if let entity, !DataverseCatalog.isIntersect(entity), rowPrimaryKey != nil, rowVouched,
      shape.isDistinct(count: rowColumns), let rowID
    {
      event = .row(entity: entity, IndexedRow(id: rowID, fingerprint: fingerprint, location: location))
    } else {
      event = try decoded(window.copy(of: span), fingerprint: fingerprint, location: location)
    }
    summary.count(event)
    events.append(event)
  }

  /// A row the rules could not vouch for, decoded from its bytes.
  private func decoded(_ bytes: [UInt8], fingerprint: Fingerprint, location: RowLocation) throws -> IndexEvent {
    guard var row = try FetchXMLRow.rows(inSpans: bytes, path: path).first else {
      throw IndexUnavailable(path: path, reason: "a row that does not read again")
    }
    row.position = SourcePosition(file: path, line: Int(location.line))
    let decoded = try FetchXMLReader.event(of: row, entity: &entity)
    guard let event = IndexEvent(decoded: decoded, fingerprint: fingerprint, location: location) else {
      throw IndexUnavailable(path: path, reason: "a deletion in a FetchXML result")
    }
    return event
  }

  // MARK: - Columns

  private static func kind(of facts: ColumnFacts, decorations: Decorations) -> ColumnKind {
    if facts.isPrimaryKey { return .primaryKey }
    if !decorations.isDisjoint(with: [.type, .dsc]) { return .lookup }
    if !decorations.isDisjoint(with: [.date, .time]) || facts.isStampColumn { return .dateTime }
    if decorations.contains(.name) { return .choice }
    if decorations.contains(.formattedValue) { return .formatted }
    return .plain
  }

  /// `nil` when the column's text might be rejected; else the id it holds, for the primary key.
  private func check(_ kind: ColumnKind, _ facts: ColumnFacts) -> GUID?? {
    // Only ASCII white space is trimmed here; anything else leaves the row to the decoder.
    let all = columnText.bytes
    var start = 0
    var end = all.count
    guard all.allSatisfy({ $0 < 0x80 }) else { return nil }
    func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
    while start < end, isSpace(all[start]) { start += 1 }
    while end > start, isSpace(all[end - 1]) { end -= 1 }
    if start == end { return kind == .primaryKey ? nil : .some(nil) }
    let text = UnsafeBufferPointer(rebasing: all[start..<end])
    let fits: Bool
    switch kind {
    case .primaryKey:
      return GUID(utf8: UnsafeRawBufferPointer(text)).map { .some($0) }
    case .lookup:
      fits = GUID(utf8: UnsafeRawBufferPointer(text)) != nil
    case .dateTime:
      fits =
        (facts.isDateOnly && CalendarDate(UnsafeBufferPointer(rebasing: text.prefix(10))) != nil)
        || Timestamp.isISO(utf8: text)
    case .choice:
      if facts.isBoolean || text.equals("true") || text.equals("false") {
        fits = ValueInference.boolean(utf8: text) != nil
      } else {
        fits = ValueInference.isSurelyInteger(utf8: text) || Int64(String(decoding: text, as: UTF8.self)) != nil
      }
    case .formatted:
      // `ValueInference.number` reads a whole number within 64 bits as one, and any other text as a decimal.
      fits = ExactDecimal.isNumber(utf8: text)
    case .plain:
      fits = true
    }
    return fits ? .some(nil) : nil
  }
}
