import DynSyncCore

/// Reads a Configuration Migration tool `data.xml`, typing every value by its `data_schema.xml`.
///
/// Many-to-many relationships (`<m2mrelationships>`) become association rows of the intersect
/// table (e.g. `teammembership`), one per source–target pair, with a name-based id and a lookup
/// to each side, so that membership changes diff like any other row.
public struct CMTReader: Sendable {
  public let path: String
  public let schema: CMTSchema

  public init(path: String, schema: CMTSchema) {
    self.path = path
    self.schema = schema
  }

  public func read(_ emit: (ReadEvent) throws -> Void) throws -> ExportFileSummary {
    var summary = ExportFileSummary(path: path, format: .configurationMigration)
    try withoutActuallyEscaping(emit) { emit in
      func hand(_ event: ReadEvent) throws {
        summary.count(event)
        try emit(event)
      }
      let walk = CMTRecordCollector(
        path: path, entity: { summary.note(entity: $0) }, record: { try hand(decode($0)) },
        association: { for event in associations($0) { try hand(event) } })
      try XMLSAXParser.parse(file: path, handler: walk)
      guard walk.sawRoot else {
        throw InputError(file: path, reason: "no <entities> element: empty or not a CMT data.xml")
      }
    }
    return summary
  }

  struct PendingRecord {
    var entity: String
    var idText: String?
    var position: SourcePosition
    var fields: [XMLAttributes]
  }

  struct PendingAssociation {
    var sourceEntity: String
    var attributes: XMLAttributes
    var position: SourcePosition
    var targets: [(text: String, line: Int)]
  }

  func decode(_ pending: PendingRecord) -> ReadEvent {
    func reject(_ reason: String) -> ReadEvent {
      .reject(
        InputError(at: pending.position, entity: pending.entity, recordID: pending.idText, reason: reason))
    }
    guard let table = schema.entities[pending.entity] else {
      return reject("table \"\(pending.entity)\" is not described in \(schema.path)")
    }
    guard let idText = pending.idText else { return reject("<record> without id=") }
    guard let id = GUID(idText) else { return reject("record id is not a GUID") }
    var fields = Fields()
    fields.reserveCapacity(pending.fields.count)
    var labels = Labels()
    for attributes in pending.fields {
      guard let name = attributes["name"] else { return reject("<field> without name=") }
      guard let field = table.fields[name] else {
        return reject("column \"\(name)\" is not in \(schema.path) for table \"\(pending.entity)\"")
      }
      if name == table.primaryIDField {
        guard let value = attributes["value"], GUID(value) == id else {
          return reject("primary id column \"\(name)\" differs from the record id")
        }
        continue
      }
      guard fields[name] == nil else { return reject("column \"\(name)\" appears twice in the record") }
      switch CMTReader.value(attributes["value"], lookupEntity: attributes["lookupentity"], of: field) {
      case .success(let value):
        fields[name] = value
        if let label = attributes["lookupentityname"] { labels[name] = label }
      case .failure(let reason):
        return reject(reason.reason)
      }
    }
    var version: Int64?
    if case .integer(let number) = fields["versionnumber"] { version = number }
    return .record(
      Record(
        entity: pending.entity, id: id, fields: fields, labels: labels, version: version,
        origin: pending.position))
  }

  /// The value of a `<field value= lookupentity=>` of a column typed `field`.
  static func value(_ text: String?, lookupEntity: String?, of field: CMTSchema.Field) -> Result<
    FieldValue, ValueMismatch
  > {
    guard let text, !text.isEmpty else { return .success(.null) }
    func mismatch() -> Result<FieldValue, ValueMismatch> {
      .failure(
        ValueMismatch(reason: "value \"\(text)\" of \"\(field.name)\" does not fit its schema type \(field.type)"))
    }
    switch field.kind {
    case .text:
      return .success(.string(HTMLEntities.decode(text)))
    case .integer:
      guard let number = Int64(text) else { return mismatch() }
      return .success(.integer(number))
    case .decimal:
      guard let number = ExactDecimal(text) else { return mismatch() }
      return .success(.decimal(number))
    case .boolean:
      guard let flag = ValueInference.boolean(text) else { return mismatch() }
      return .success(.boolean(flag))
    case .dateTime:
      return dateTime(text, of: field).map { .success($0) } ?? mismatch()
    case .guid:
      guard let id = GUID(text) else { return mismatch() }
      return .success(.guid(id))
    case .choice:
      guard let choice = Int64(text) else { return mismatch() }
      return .success(.optionSet(choice))
    case .choices:
      // Seen both as "1,2,3" and, with -1 sentinels at both ends, as "[-1,1,2,-1]".
      let inner = text.filter { $0 != "[" && $0 != "]" }
      guard let choices = ValueInference.multiSelect(inner) else { return mismatch() }
      return .success(.multiSelect(choices.filter { $0 != -1 }))
    case .lookup:
      guard let id = GUID(text) else { return mismatch() }
      let single = field.lookupType.flatMap { $0.utf8.contains(UInt8(ascii: "|")) ? nil : $0 }
      return .success(.lookup(Lookup(entity: lookupEntity ?? single, id: id)))
    case .verbatim:
      return .success(.string(text))
    }
  }

  /// A `datetime` value: a date for DateOnly columns, which are written at midnight with no zone;
  /// else an instant (UTC with `Z`).
  private static func dateTime(_ text: String, of field: CMTSchema.Field) -> FieldValue? {
    // Looked at byte by byte: a date is ten ASCII bytes, and no byte of a character beyond ASCII
    // is one of midnight's, so characters would tell nothing bytes do not.
    text.withUTF8Bytes { bytes in
      let isMidnightWithoutZone = bytes.dropFirst(10).allSatisfy {
        $0 == UInt8(ascii: "T") || $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".")
      }
      if DataverseCatalog.isDateOnly(field.name) || isMidnightWithoutZone,
        let date = CalendarDate(UnsafeBufferPointer(rebasing: bytes.prefix(10)))
      {
        return .date(date)
      }
      return Timestamp(isoUTF8: bytes).map(FieldValue.dateTime)
    }
  }

  func associations(_ pending: PendingAssociation) -> [ReadEvent] {
    let attributes = pending.attributes
    let relationshipName = attributes["m2mrelationshipname"] ?? ""
    let relationship = schema.entities[pending.sourceEntity]?.manyToMany[relationshipName]
    let entity = relationship?.intersectEntity ?? relationshipName
    func reject(_ reason: String, id: String? = nil, line: Int? = nil) -> ReadEvent {
      var position = pending.position
      if let line { position.line = line }
      return .reject(InputError(at: position, entity: entity, recordID: id, reason: reason))
    }
    guard !relationshipName.isEmpty, let targetEntity = attributes["targetentityname"] ?? relationship?.targetEntity
    else { return [reject("<m2mrelationship> without m2mrelationshipname= and targetentityname=")] }
    guard let sourceText = attributes["sourceid"], let source = GUID(sourceText) else {
      return [reject("<m2mrelationship> without a GUID sourceid=")]
    }
    let sourceKey =
      schema.entities[pending.sourceEntity]?.primaryIDField ?? DataverseCatalog.primaryIDField(of: pending.sourceEntity)
    var targetKey =
      attributes["targetentitynameidfield"] ?? relationship?.targetPrimaryKey
      ?? DataverseCatalog.primaryIDField(of: targetEntity)
    var sourceField = sourceKey
    if sourceKey == targetKey {
      sourceField = sourceKey + "one"
      targetKey += "two"
    }
    return pending.targets.map { target in
      guard let targetID = GUID(target.text) else {
        return reject("<targetid> is not a GUID: \"\(target.text)\"", line: target.line)
      }
      let id = DataverseCatalog.associationID(entity, ends: [(sourceField, source), (targetKey, targetID)])
      var position = pending.position
      position.line = target.line
      return .record(
        Record(
          entity: entity, id: id,
          fields: [
            sourceField: .lookup(Lookup(entity: pending.sourceEntity, id: source)),
            targetKey: .lookup(Lookup(entity: targetEntity, id: targetID)),
          ], origin: position))
    }
  }
}

/// Follows the SAX events of a `data.xml`, handing on each table as it starts and each record and
/// many-to-many relationship as it ends: records are made in one place, whether a file is read in
/// full or records are read again from their bytes.
///
/// Its state is unchecked for exclusive access: one parse on one thread calls it, one event at a
/// time.
final class CMTRecordCollector: XMLSAXHandler {
  let path: String
  private let entityStarted: (String) -> Void
  private let recordEnded: (CMTReader.PendingRecord) throws -> Void
  private let associationEnded: (CMTReader.PendingAssociation) throws -> Void
  /// Whether the `<entities>` root was seen.
  @exclusivity(unchecked) private(set) var sawRoot = false
  /// Unretained: the parser lives for the whole parse.
  private unowned(unsafe) var parser: (any XMLEventSource)?
  @exclusivity(unchecked) private var entityName: String?
  @exclusivity(unchecked) private var pendingRecord: CMTReader.PendingRecord?
  @exclusivity(unchecked) private var pendingAssociation: CMTReader.PendingAssociation?
  /// The depth and line of the `<targetid>` whose text is being gathered.
  @exclusivity(unchecked) private var target: (depth: Int, line: Int)?
  private let text = ScratchBytes()

  init(
    path: String, entity: @escaping (String) -> Void, record: @escaping (CMTReader.PendingRecord) throws -> Void,
    association: @escaping (CMTReader.PendingAssociation) throws -> Void
  ) {
    self.path = path
    self.entityStarted = entity
    self.recordEnded = record
    self.associationEnded = association
  }

  func follow(_ parser: any XMLEventSource) { self.parser = parser }

  private var position: SourcePosition { SourcePosition(file: path, line: parser?.line ?? 0) }

  private func error(_ reason: String) -> InputError { InputError(at: position, reason: reason) }

  func startElement(_ name: UnsafeBufferPointer<UInt8>, attributes: XMLSAXParser.Attributes, depth: Int) throws {
    let name = String(decoding: name, as: UTF8.self)
    if target != nil { throw error("unexpected element <\(name)> inside a value") }
    switch name {
    case "entities" where !sawRoot:
      sawRoot = true
    case "entity":
      guard let entity = attributes.decoded()["name"] else { throw error("<entity> without name=") }
      entityName = entity
      entityStarted(entity)
    case "record":
      guard let entityName else { throw error("<record> outside an <entity>") }
      pendingRecord = CMTReader.PendingRecord(
        entity: entityName, idText: attributes.decoded()["id"], position: position, fields: [])
    case "field" where pendingRecord != nil:
      pendingRecord?.fields.append(attributes.decoded())
    case "m2mrelationship":
      guard let entityName else { throw error("<m2mrelationship> outside an <entity>") }
      pendingAssociation = CMTReader.PendingAssociation(
        sourceEntity: entityName, attributes: attributes.decoded(), position: position, targets: [])
    case "targetid" where pendingAssociation != nil:
      target = (depth, parser?.line ?? 0)
      text.removeAll()
    default:
      guard sawRoot else { throw error("root element is <\(name)>, not <entities>: not a CMT data.xml") }
    }
  }

  func characters(_ text: UnsafeBufferPointer<UInt8>, depth: Int) {
    guard target != nil else { return }
    self.text.append(text)
  }

  func endElement(_ name: UnsafePointer<UInt8>, depth: Int) throws {
    if let target {
      guard depth == target.depth else { return }
      self.target = nil
      pendingAssociation?.targets.append(
        (String(decoding: text.bytes, as: UTF8.self).trimmingCharacters, target.line))
      return
    }
    if XMLSAXParser.equals(name, "record") {
      if let pendingRecord { try recordEnded(pendingRecord) }
      pendingRecord = nil
    } else if XMLSAXParser.equals(name, "m2mrelationship") {
      if let pendingAssociation { try associationEnded(pendingAssociation) }
      pendingAssociation = nil
    } else if XMLSAXParser.equals(name, "entity") {
      entityName = nil
    }
  }
}
