import DynSyncCore

/// Reads a FetchXML result document: `<resultset morerecords= paging-cookie=>` with one `<result>`
/// per row and one element per non-null column, decorated with `name=`, `formattedvalue=`,
/// `type=`, `dsc=`, `date=`/`time=`.
///
/// The result names no table: the table comes from `entity` when given, else the paging
/// cookie's id column, else the undecorated `<xxxid>` GUID column of the first row.
public struct FetchXMLReader: Sendable {
  public let path: String
  public let entity: String?

  public init(path: String, entity: String? = nil) {
    self.path = path
    self.entity = entity
  }

  public func read(_ emit: (ReadEvent) throws -> Void) throws -> ExportFileSummary {
    var summary = ExportFileSummary(path: path, format: .fetchXML)
    var entity = self.entity
    try withoutActuallyEscaping(emit) { emit in
      let rows = FetchXMLRowCollector(path: path) { attributes in
        FetchXMLReader.describePage(
          moreRecords: attributes["morerecords"], pagingCookie: attributes["paging-cookie"], in: &summary,
          entity: &entity)
      } row: { row in
        let event = try FetchXMLReader.event(of: row, entity: &entity)
        summary.count(event)
        try emit(event)
      }
      try XMLSAXParser.parse(file: path, handler: rows)
      guard rows.sawRoot else { throw InputError(file: path, reason: "no <resultset> element: empty or not XML") }
    }
    if let entity { summary.note(entity: entity) }
    return summary
  }

  /// What the `<resultset>` says of the page: whether more pages follow, and (in its paging
  /// cookie) the table, when nothing named it before.
  static func describePage(
    moreRecords: String?, pagingCookie: String?, in summary: inout ExportFileSummary, entity: inout String?
  ) {
    let more = moreRecords?.lowercased()
    summary.hasNextPage = more == "1" || more == "true"
    if entity == nil, let pagingCookie { entity = FetchXMLReader.entity(fromPagingCookie: pagingCookie) }
  }

  /// The row as a record or reject of `entity`; when no table is known yet, the row settles it.
  static func event(of row: FetchXMLRow, entity: inout String?) throws -> ReadEvent {
    guard let resolved = entity ?? row.guessedEntity else {
      throw InputError(
        at: row.position,
        reason:
          "cannot tell which table this result is of: no paging cookie and no <xxxid> column; pass the table name (--entity)"
      )
    }
    entity = resolved
    return row.decode(entity: resolved)
  }

  /// `<cookie page="1"><accountid last="{…}" first="{…}" /></cookie>` → `account`.
  static func entity(fromPagingCookie cookie: String) -> String? {
    var rest = Substring(cookie)
    while let open = rest.firstIndex(of: "<") {
      rest = rest[rest.index(after: open)...]
      let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
      if name.hasSuffix("id"), name.count > 2 { return String(name.dropLast(2)) }
    }
    return nil
  }
}

/// One `<result>` as read: each column's text and decorations, in order.
///
/// Rows are made in one place, `FetchXMLRowCollector`, whether a file is read in full or rows are
/// read again from their bytes.
struct FetchXMLRow {
  struct Column {
    var name: String
    var text: String
    var attributes: XMLAttributes
  }

  var position: SourcePosition
  var columns: [Column]

  /// The table whose primary id column (`<xxxid>`, a GUID with no lookup decorations) the row has.
  var guessedEntity: String? {
    columns.first {
      $0.name.hasSuffix("id") && $0.name.count > 2 && $0.attributes["type"] == nil
        && $0.attributes["dsc"] == nil && GUID($0.text) != nil
    }.map { String($0.name.dropLast(2)) }
  }

  func decode(entity: String) -> ReadEvent {
    let primaryKey = DataverseCatalog.primaryIDField(of: entity)
    func reject(_ reason: String, id: String? = nil) -> ReadEvent {
      .reject(InputError(at: position, entity: entity, recordID: id, reason: reason))
    }
    guard let idColumn = columns.first(where: { $0.name == primaryKey }) else {
      return reject("row has no primary id column <\(primaryKey)>")
    }
    guard let id = GUID(idColumn.text.trimmingCharacters) else {
      return reject("primary id <\(primaryKey)> is not a GUID: \"\(idColumn.text)\"")
    }
    var fields = Fields()
    fields.reserveCapacity(columns.count)
    var labels = Labels()
    for column in columns where column.name != primaryKey {
      // Every column read so far is in `fields`.
      guard fields[column.name] == nil else {
        return reject("column <\(column.name)> appears twice in the row", id: id.description)
      }
      switch FetchXMLRow.value(of: column) {
      case .success(let typed):
        fields[column.name] = typed.value
        if let label = typed.label { labels[column.name] = label }
      case .failure(let reason):
        return reject(reason.reason, id: id.description)
      }
    }
    var version: Int64?
    if case .integer(let number) = fields["versionnumber"] { version = number }
    var recordID = id
    if DataverseCatalog.isIntersect(entity), let association = DataverseCatalog.association(of: entity, fields: fields)
    {
      (recordID, fields) = association
      labels = [:]
      version = nil
    }
    return .record(
      Record(entity: entity, id: recordID, fields: fields, labels: labels, version: version, origin: position))
  }

  static func value(of column: Column) -> Result<(value: FieldValue, label: String?), ValueMismatch> {
    let text = column.text.trimmingCharacters
    let attributes = column.attributes
    if text.isEmpty { return .success((.null, nil)) }
    if attributes["type"] != nil || attributes["dsc"] != nil {
      guard let id = GUID(text) else {
        return .failure(ValueMismatch(reason: "lookup <\(column.name)> is not a GUID: \"\(text)\""))
      }
      let type = attributes["type"]
      let target = type.flatMap { code in
        code.allSatisfy(\.isNumber) ? DataverseCatalog.entity(forObjectTypeCode: code) : code
      }
      return .success((.lookup(Lookup(entity: target, id: id)), attributes["name"]))
    }
    if attributes["date"] != nil || attributes["time"] != nil || column.name == "createdon"
      || column.name == "modifiedon"
    {
      if DataverseCatalog.isDateOnly(column.name), let date = CalendarDate(text.prefix(10)) {
        return .success((.date(date), attributes["date"]))
      }
      guard let instant = Timestamp(iso: text) else {
        return .failure(ValueMismatch(reason: "<\(column.name)> is not an ISO 8601 date and time: \"\(text)\""))
      }
      let label = [attributes["date"], attributes["time"]].compactMap { $0 }.joined(separator: " ")
      return .success((.dateTime(instant), label.isEmpty ? nil : label))
    }
    if let label = attributes["name"] {
      if DataverseCatalog.isBoolean(column.name) || text == "true" || text == "false" {
        guard let flag = ValueInference.boolean(text) else {
          return .failure(ValueMismatch(reason: "<\(column.name)> is not a boolean: \"\(text)\""))
        }
        return .success((.boolean(flag), label))
      }
      guard let choice = Int64(text) else {
        return .failure(ValueMismatch(reason: "<\(column.name)> is a choice but not an integer: \"\(text)\""))
      }
      return .success((.optionSet(choice), label))
    }
    if let label = attributes["formattedvalue"] {
      // `formattedvalue=` decorates numbers and amounts only; choices carry `name=`.
      guard let number = ValueInference.number(text, field: column.name, label: nil) else {
        return .failure(ValueMismatch(reason: "<\(column.name)> is not a number: \"\(text)\""))
      }
      return .success((number, label))
    }
    if column.name == "versionnumber", let number = Int64(text) { return .success((.integer(number), nil)) }
    if DataverseCatalog.isBoolean(column.name), let flag = ValueInference.boolean(text) {
      return .success((.boolean(flag), nil))
    }
    if let id = GUID(text) { return .success((.guid(id), nil)) }
    let inferred = ValueInference.string(column.text, field: column.name, label: nil)
    if case .multiSelect = inferred { return .success((.string(column.text), nil)) }
    return .success((inferred, nil))
  }

}

extension StringProtocol {
  /// The text without leading and trailing white space (XML pretty-printing adds it).
  var trimmingCharacters: String {
    // Most values start and end with a byte that is a character of its own and not white space
    // (an ASCII byte other than a space; no white space character joins a cluster before one):
    // those are kept as they are without walking their characters.
    let whole = String(self)
    if let first = whole.utf8.first, let last = whole.utf8.last, first < 0x80, last < 0x80,
      !Self.isASCIISpace(first), !Self.isASCIISpace(last)
    {
      return whole
    }
    var slice = Substring(whole)
    while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
    while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
    return String(slice)
  }

  private static func isASCIISpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
}

/// Follows the SAX events of a FetchXML result and makes each `<result>` a `FetchXMLRow`: the
/// root `<resultset>` is handed to `root`, each row to `row` as it ends.
///
/// Its state is unchecked for exclusive access: one parse on one thread calls it, one event at a
/// time.
final class FetchXMLRowCollector: XMLSAXHandler {
  let path: String
  private let root: (XMLAttributes) -> Void
  private let rowEnded: (FetchXMLRow) throws -> Void
  @exclusivity(unchecked) private(set) var sawRoot = false
  /// Unretained: the parser lives for the whole parse.
  private unowned(unsafe) var parser: (any XMLEventSource)?
  @exclusivity(unchecked) private var row: FetchXMLRow?
  @exclusivity(unchecked) private var column: (name: String, attributes: XMLAttributes)?
  private let text = ScratchBytes()

  init(path: String, root: @escaping (XMLAttributes) -> Void, row: @escaping (FetchXMLRow) throws -> Void) {
    self.path = path
    self.root = root
    self.rowEnded = row
  }

  func follow(_ parser: any XMLEventSource) { self.parser = parser }

  private var position: SourcePosition { SourcePosition(file: path, line: parser?.line ?? 0) }

  private func error(_ reason: String) -> InputError { InputError(at: position, reason: reason) }

  func startElement(_ name: UnsafeBufferPointer<UInt8>, attributes: XMLSAXParser.Attributes, depth: Int) throws {
    switch depth {
    case 0:
      guard name.equals("resultset") else {
        throw error("root element is <\(FetchXMLRowCollector.text(name))>, not <resultset>: not a FetchXML result")
      }
      sawRoot = true
      root(attributes.decoded())
    case 1:
      guard name.equals("result") else {
        throw error(
          "unexpected element <\(FetchXMLRowCollector.text(name))> where a <result> row was expected")
      }
      row = FetchXMLRow(position: position, columns: [])
    case 2:
      column = (FetchXMLRowCollector.text(name), attributes.decoded())
      text.removeAll()
    default:
      throw error("unexpected element <\(FetchXMLRowCollector.text(name))> inside a value")
    }
  }

  func characters(_ text: UnsafeBufferPointer<UInt8>, depth: Int) {
    guard depth == 3 else { return }
    self.text.append(text)
  }

  func endElement(_ name: UnsafePointer<UInt8>, depth: Int) throws {
    switch depth {
    case 2:
      guard let column else { return }
      row?.columns.append(
        FetchXMLRow.Column(
          name: column.name, text: String(decoding: text.bytes, as: UTF8.self), attributes: column.attributes))
      self.column = nil
    case 1:
      guard let row else { return }
      self.row = nil
      try rowEnded(row)
    default:
      return
    }
  }

  private static func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
}
