import DynSyncCore

extension CMTReader {
  static let fingerprintSeed: UInt64 = 0x636D_745F_7265_63  // "cmt_rec"

  /// Indexes the file: every `<record>`'s id, the fingerprint of its bytes and where they lie.
  ///
  /// The file goes once through `XMLByteScanner` (`scanning`) or libxml2's SAX parser; only records whose fields
  /// a look at their values cannot vouch for (a value that might not fit its schema type, a column the schema
  /// lacks, a column twice) are decoded. `observer` sees every byte of the file once, in order.
  ///
  /// It returns the summary a full read gives; it throws `XMLScanDeclined` for XML the scanner leaves to libxml2
  /// (the caller indexes the file again, not scanning), and `IndexUnavailable` for a file only a
  /// full read handles as it should (malformed, not UTF-8, a many-to-many relationship its schema
  /// does not place in its table, records that do not stand as elements of their own).
  public func index(
    file number: Int, scanning: Bool = true, observingBytes observer: ((UnsafeRawBufferPointer) -> Void)? = nil,
    _ emit: (IndexEvent) throws -> Void
  ) throws -> ExportFileSummary {
    let indexer = CMTRecordIndexer(reader: self, file: number, window: XMLRowWindow())
    try XMLIndexPass.run(path: path, observer: observer, indexer: indexer, scanning: scanning, emit: emit)
    guard indexer.sawRoot else { throw IndexUnavailable(path: path, reason: "no <entities>") }
    return indexer.summary
  }

  /// Reads the given records of the table `entity` again, each from its own bytes, as a full
  /// read would hand them on.
  public func decode(_ rows: [IndexedRow], entity: String) throws -> [ReadEvent] {
    guard !rows.isEmpty else { return [] }
    if schema.isIntersectEntity(entity) { return try associations(rows) }
    let spans = try XMLIndexPass.spans(of: rows, path: path, seed: CMTReader.fingerprintSeed)
    let pending = try pendingRecords(inSpans: spans, entity: entity)
    guard pending.count == rows.count else {
      throw IndexUnavailable(path: path, reason: "records read again do not match the records indexed")
    }
    return zip(pending, rows).map { record, indexed in
      var record = record
      record.position = SourcePosition(file: path, line: Int(indexed.location.line))
      return decode(record)
    }
  }

  /// The association rows again, each from the bytes of the `<m2mrelationship>` it was indexed at (rows of one
  /// relationship share them, which are read once).
  private func associations(_ rows: [IndexedRow]) throws -> [ReadEvent] {
    let file = try FileBytes(path: path)
    var read: [RowLocation: [Record]] = [:]
    return try rows.map { row in
      if read[row.location] == nil { read[row.location] = try associations(at: row, in: file) }
      guard let record = read[row.location]?.first(where: { $0.id == row.id }) else {
        throw IndexUnavailable(path: path, reason: "rows read again do not match the rows indexed")
      }
      return .record(record)
    }
  }

  /// The association records of the `<m2mrelationship>` at `row`'s place, placed on the file's lines.
  private func associations(at row: IndexedRow, in file: FileBytes) throws -> [Record] {
    let bytes = try file.read(at: Int(row.location.offset), count: Int(row.location.length))
    guard bytes.withUnsafeBytes({ Fingerprint(of: $0, seed: CMTReader.fingerprintSeed) }) == row.fingerprint else {
      throw IndexUnavailable(path: path, reason: "the file changed while it was read")
    }
    var relationships: [PendingAssociation] = []
    // The table is the schema's, as the index pass checked: the bytes do not name it.
    try XMLSAXParser.parse(
      utf8: Array("<entities><entity name=\"\"><m2mrelationships>".utf8) + bytes
        + Array("</m2mrelationships></entity></entities>".utf8), path: path
    ) {
      relationships = []
      return CMTRecordCollector(
        path: path, entity: { _ in },
        record: { _ in throw IndexUnavailable(path: path, reason: "a relationship read again holds a record") },
        association: { relationships.append($0) })
    }
    guard relationships.count == 1, var pending = relationships.first,
      let name = pending.attributes["m2mrelationshipname"], let source = schema.sourceEntity(ofRelationship: name)
    else { throw IndexUnavailable(path: path, reason: "a relationship that does not read again") }
    pending.sourceEntity = source
    let shift = Int(row.location.line) - (pending.position.line ?? 1)
    pending.position = SourcePosition(file: path, line: Int(row.location.line))
    pending.targets = pending.targets.map { ($0.text, $0.line + shift) }
    return associations(pending).compactMap { event in
      if case .record(let record) = event { record } else { nil }
    }
  }

  /// The `<record>`s in `spans`, bytes cut from this file, each a whole `<record>` element of
  /// the table `entity` (their positions are those of the text given, not of the file).
  func pendingRecords(inSpans spans: [UInt8], entity: String) throws -> [PendingRecord] {
    let opening = "<entities><entity name=\"\(XMLText.escaped(entity))\"><records>"
    var records: [PendingRecord] = []
    try XMLSAXParser.parse(utf8: Array(opening.utf8) + spans + Array("</records></entity></entities>".utf8), path: path)
    {
      records = []
      return CMTRecordCollector(
        path: path, entity: { _ in }, record: { records.append($0) },
        association: { _ in throw IndexUnavailable(path: path, reason: "a record read again holds a relationship") })
    }
    return records
  }
}

/// Text as it stands in an XML attribute value.
enum XMLText {
  static func escaped(_ text: String) -> String {
    var result = ""
    for character in text {
      switch character {
      case "&": result += "&amp;"
      case "<": result += "&lt;"
      case "\"": result += "&quot;"
      default: result.append(character)
      }
    }
    return result
  }
}

/// Follows the SAX events of a CMT `data.xml` and turns each `<record>` into an index event.
///
/// A record is vouched for (its id read from its `id=`, nothing decoded) only when every rule by
/// which `CMTReader.decode` rejects a record is seen not to apply; any other record is decoded from
/// its bytes, so the outcome for every record is the decoder's.
///
/// Its state is unchecked for exclusive access: one parse on one thread calls it, one event at a
/// time, and the checks cost a third of the pass.
final class CMTRecordIndexer: XMLRowIndexer {
  let reader: CMTReader
  let file: Int
  @exclusivity(unchecked) var summary: ExportFileSummary
  @exclusivity(unchecked) private(set) var sawRoot = false
  let window: XMLRowWindow
  @exclusivity(unchecked) var events: [IndexEvent] = []
  /// Unretained: the parser lives for the whole pass, and a checked reference would cost a
  /// retain on each of the file's elements.
  private unowned(unsafe) var parser: (any XMLEventSource)?

  /// The table whose records are being read, and how the schema describes it.
  @exclusivity(unchecked) private var entity: String?
  @exclusivity(unchecked) private var table: CMTSchema.Entity?
  @exclusivity(unchecked) private var entityDepth = 0
  /// The table of the last `<entity>` begun, and where its end tag ended, once it has.
  @exclusivity(unchecked) private var lastEntity: String?
  @exclusivity(unchecked) private var lastEntityEnd: Int?

  // The record being read (kept as plain properties: this runs for every element of the file).
  @exclusivity(unchecked) private var inRecord = false
  @exclusivity(unchecked) private var recordDepth = 0
  @exclusivity(unchecked) private var recordStart = 0
  @exclusivity(unchecked) private var recordLine = 0
  @exclusivity(unchecked) private var recordID: GUID?
  @exclusivity(unchecked) private var recordFields = 0
  @exclusivity(unchecked) private var recordVouched = true

  /// The field names of the last records of the table, with how the schema types each.
  @exclusivity(unchecked) private var shape = XMLRowShape<FieldFacts>()

  // The many-to-many relationship being read, and the `<targetid>` whose text is being gathered.
  @exclusivity(unchecked) private var relationship: CMTReader.PendingAssociation?
  @exclusivity(unchecked) private var relationshipStart = 0
  @exclusivity(unchecked) private var relationshipDepth = 0
  @exclusivity(unchecked) private var targetDepth: Int?
  @exclusivity(unchecked) private var targetLine = 0
  private let targetText = ScratchBytes()

  /// The element and attribute names the pass looks for (this pass's own: see `XMLInternedName`).
  @exclusivity(unchecked) private var names = Names()

  private struct Names {
    var field = XMLInternedName("field")
    var record = XMLInternedName("record")
    var entity = XMLInternedName("entity")
    var name = XMLInternedName("name")
    var value = XMLInternedName("value")
    var id = XMLInternedName("id")
  }

  /// How the schema types a field name (plain values: they are looked at for every field).
  private struct FieldFacts {
    /// `nil` when the schema does not describe the column.
    var kind: CMTSchema.ValueKind?
    var isPrimaryID: Bool

    init(_ name: String, of table: CMTSchema.Entity?) {
      kind = table?.fields[name]?.kind
      isPrimaryID = name == table?.primaryIDField
    }
  }

  init(reader: CMTReader, file: Int, window: XMLRowWindow) {
    self.reader = reader
    self.file = file
    self.window = window
    self.summary = ExportFileSummary(path: reader.path, format: .configurationMigration)
  }

  /// The table whose `<entity>` stood open where the file's bytes ended (before a part's lead-out).
  var entityOpenAtFileEnd: String? {
    guard let fileEnd = window.fileEnd else { return nil }
    return lastEntityEnd.map { $0 > fileEnd } ?? true ? lastEntity : nil
  }

  func follow(_ parser: any XMLEventSource) { self.parser = parser }

  private var path: String { reader.path }
  private var parserOffset: Int { parser?.byteOffset ?? 0 }

  func startElement(_ name: UnsafeBufferPointer<UInt8>, attributes: XMLSAXParser.Attributes, depth: Int) throws {
    guard targetDepth == nil else {
      throw IndexUnavailable(path: path, reason: "an element inside a <targetid>")
    }
    if names.field.matches(name) {
      if inRecord { try field(attributes) }
    } else if names.record.matches(name) {
      try startRecord(attributes, depth: depth)
    } else if names.entity.matches(name) {
      guard !inRecord, !isSelfClosing, let value = attributes.value(&names.name) else {
        throw IndexUnavailable(path: path, reason: "an <entity> a full read tells about")
      }
      let entity = String(decoding: value, as: UTF8.self)
      self.entity = entity
      lastEntity = entity
      lastEntityEnd = nil
      table = reader.schema.entities[entity]
      entityDepth = depth
      shape.reset()
      summary.note(entity: entity)
    } else if name.equals("m2mrelationship") {
      try startRelationship(attributes, depth: depth)
    } else if name.equals("targetid") {
      guard relationship != nil else {
        throw IndexUnavailable(path: path, reason: "a <targetid> outside a relationship")
      }
      targetDepth = depth
      targetLine = parser?.line ?? 0
      targetText.removeAll()
    } else if depth == 0 {
      guard name.equals("entities"), !isSelfClosing else {
        throw IndexUnavailable(path: path, reason: "not a CMT data.xml")
      }
      sawRoot = true
      window.release(upTo: parserOffset)
    }
  }

  func characters(_ text: UnsafeBufferPointer<UInt8>, depth: Int) {
    guard targetDepth != nil else { return }
    targetText.append(text)
  }

  func endElement(_ name: UnsafePointer<UInt8>, depth: Int) throws {
    if let targetDepth, depth == targetDepth {
      self.targetDepth = nil
      relationship?.targets.append(
        (String(decoding: targetText.bytes, as: UTF8.self).trimmingCharacters, targetLine))
    } else if relationship != nil, depth == relationshipDepth {
      try finishRelationship()
    } else if inRecord, depth == recordDepth {
      inRecord = false
      try finishRecord()
    } else if entity != nil, depth == entityDepth {
      entity = nil
      table = nil
      lastEntityEnd = parserOffset
    }
  }

  /// Whether the element just started is written `<x … />`: the parser then stands on its `/`.
  private var isSelfClosing: Bool { window.byte(at: parserOffset) == UInt8(ascii: "/") }

  // MARK: - Records

  private func startRecord(_ attributes: XMLSAXParser.Attributes, depth: Int) throws {
    guard !inRecord, relationship == nil, entity != nil, !isSelfClosing,
      let start = window.tagStart(before: parserOffset)
    else {
      throw IndexUnavailable(path: path, reason: "a <record> a full read tells about")
    }
    inRecord = true
    recordDepth = depth
    recordStart = start
    recordLine = parser?.line ?? 0
    recordID = attributes.value(&names.id).flatMap { GUID(utf8: UnsafeRawBufferPointer($0)) }
    recordFields = 0
    recordVouched = table != nil && recordID != nil
    window.release(upTo: start)
  }

  private func finishRecord() throws {
    guard let entity else { throw IndexUnavailable(path: path, reason: "a record outside an <entity>") }
    let (span, location, fingerprint) = try window.endRow(
      from: recordStart, to: parserOffset, file: file, line: recordLine, seed: CMTReader.fingerprintSeed, path: path)
    let event: IndexEvent
    if recordVouched, shape.isDistinct(count: recordFields), let recordID {
      event = .row(entity: entity, IndexedRow(id: recordID, fingerprint: fingerprint, location: location))
    } else {
      guard var pending = try reader.pendingRecords(inSpans: window.copy(of: span), entity: entity).first else {
        throw IndexUnavailable(path: path, reason: "a record that does not read again")
      }
      pending.position = SourcePosition(file: path, line: recordLine)
      guard let decoded = IndexEvent(decoded: reader.decode(pending), fingerprint: fingerprint, location: location)
      else { throw IndexUnavailable(path: path, reason: "a deletion in a CMT export") }
      event = decoded
    }
    summary.count(event)
    events.append(event)
  }

  // MARK: - Many-to-many relationships

  /// Starts a `<m2mrelationship>`, whose association rows are indexed at its bytes.
  ///
  /// Each row has the fingerprint of them all: a target added or removed makes every row of the relationship one to
  /// compare again, and comparing finds the one that changed. The rows are read again from those bytes, which name
  /// no table: the schema must say which table the relationship is of, and say that it is this one.
  private func startRelationship(_ attributes: XMLSAXParser.Attributes, depth: Int) throws {
    guard !inRecord, relationship == nil, let entity, !isSelfClosing, let start = window.tagStart(before: parserOffset)
    else {
      throw IndexUnavailable(path: path, reason: "a <m2mrelationship> a full read tells about")
    }
    let attributes = attributes.decoded()
    guard let name = attributes["m2mrelationshipname"], reader.schema.sourceEntity(ofRelationship: name) == entity
    else {
      throw IndexUnavailable(path: path, reason: "a many-to-many relationship its schema does not place in its table")
    }
    relationship = CMTReader.PendingAssociation(
      sourceEntity: entity, attributes: attributes, position: SourcePosition(file: path, line: parser?.line ?? 0),
      targets: [])
    relationshipStart = start
    relationshipDepth = depth
    window.release(upTo: start)
  }

  private func finishRelationship() throws {
    guard let pending = relationship else { return }
    relationship = nil
    let (_, location, fingerprint) = try window.endRow(
      from: relationshipStart, to: parserOffset, file: file, line: pending.position.line ?? 0,
      seed: CMTReader.fingerprintSeed, path: path)
    for association in reader.associations(pending) {
      let event: IndexEvent
      if case .record(let record) = association {
        event = .row(entity: record.entity, IndexedRow(id: record.id, fingerprint: fingerprint, location: location))
      } else {
        event = .event(association)
      }
      summary.count(event)
      events.append(event)
    }
  }

  // MARK: - Fields

  private func field(_ attributes: XMLSAXParser.Attributes) throws {
    // A record left to the decoder needs no more looks: its shape is not used.
    guard recordVouched else { return }
    let (nameBytes, value) = attributes.values(&names.name, &names.value)
    guard let nameBytes else {
      recordVouched = false
      return
    }
    let name: Int
    if let place = shape.position(of: nameBytes, at: recordFields) {
      name = place
    } else {
      name = shape.learn(nameBytes, at: recordFields) { FieldFacts($0, of: table) }
    }
    recordFields += 1
    let facts = shape.facts(at: name)
    if facts.isPrimaryID {
      guard let value, let id = GUID(utf8: UnsafeRawBufferPointer(value)), id == recordID else {
        recordVouched = false
        return
      }
      return
    }
    guard let kind = facts.kind else {
      recordVouched = false
      return
    }
    guard !kind.takesAnyValue, let value, !value.isEmpty, !CMTRecordIndexer.surelyFits(value, kind) else { return }
    // The few values their bytes do not vouch for are left to the decoder's own rule.
    guard let field = table?.fields[shape[name].name],
      case .success = CMTReader.value(String(decoding: value, as: UTF8.self), lookupEntity: nil, of: field)
    else {
      recordVouched = false
      return
    }
  }

  /// Whether `CMTReader.value` surely takes `value` for a column of `kind`, seen from its bytes
  /// alone, by the rule it reads the value's text with; `false` leaves it to the decoder's rule.
  private static func surelyFits(_ value: UnsafeBufferPointer<UInt8>, _ kind: CMTSchema.ValueKind) -> Bool {
    switch kind {
    case .guid, .lookup:
      return GUID(utf8: UnsafeRawBufferPointer(value)) != nil
    case .integer, .choice:
      return ValueInference.isSurelyInteger(utf8: value)
    case .decimal:
      return ExactDecimal.isNumber(utf8: value)
    case .boolean:
      return ValueInference.boolean(utf8: value) != nil
    case .dateTime:
      // An instant reads as a date and time whether or not its column is DateOnly.
      return Timestamp.isISO(utf8: value)
    case .text, .choices, .verbatim:
      return false
    }
  }
}
