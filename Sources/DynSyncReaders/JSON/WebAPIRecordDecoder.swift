import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// Turns the members of one Web API row into a canonical record, a deletion, or a reject.
///
/// The Web API carries no column types, so types come from the value's JSON form, the column's
/// naming (`_x_value` lookups), its annotations (formatted labels, lookup targets) and the
/// catalog of standard columns.
struct WebAPIRecordDecoder: Sendable {
  static let formattedValue: StaticString = "OData.Community.Display.V1.FormattedValue"
  static let lookupLogicalName: StaticString = "Microsoft.Dynamics.CRM.lookuplogicalname"

  let path: String
  let context: ODataContext
  /// The table's logical name, settled by the first row that shows its primary id column.
  private(set) var entity: String?

  /// The table the page stands for: the one its rows settled, else the likeliest for its entity set name (a page of
  /// deletions alone, or of no rows, shows no primary id column).
  var table: String { entity ?? DataverseCatalog.entityCandidates(forSetName: context.entitySet)[0] }

  /// `entity` is the table, when a read of the whole file already settled it.
  init(path: String, context: ODataContext, entity: String? = nil) {
    self.path = path
    self.context = context
    self.entity = entity
  }

  mutating func decode(_ raw: RawJSONRecord) -> ReadEvent {
    let position = SourcePosition(file: path, line: raw.line, column: raw.column)
    if let deletion = deletion(in: raw, at: position) { return deletion }
    let entity = resolveEntity(seeing: raw)
    let primaryKey = DataverseCatalog.primaryIDField(of: entity)

    func reject(_ reason: String, id: String? = nil) -> ReadEvent {
      .reject(InputError(at: position, entity: entity, recordID: id, reason: reason))
    }

    guard let idMember = raw.members.first(where: { $0.name == primaryKey }) else {
      return reject("row has no primary id column \"\(primaryKey)\"")
    }
    guard case .string(let idText) = idMember.value, let id = GUID(idText) else {
      return reject("primary id \"\(primaryKey)\" is not a GUID")
    }
    if let duplicate = raw.duplicateKey {
      return reject("the key \"\(duplicate)\" appears twice in the row", id: id.description)
    }

    var etagVersion: Int64?
    // Where each key's "@" is, if it has one: annotations are looked at first, then the columns.
    let annotationMarks = raw.members.map { WebAPIRecordDecoder.annotationMark(in: $0.name) }
    // A row has a few annotations, looked for by every column: lists searched from the end (the last of a column's
    // annotations counts), where tables hashed the column's name for every look.
    var labelList: [(column: String, text: String)] = []
    var lookupTargetList: [(column: String, text: String)] = []
    for index in raw.members.indices {
      guard let at = annotationMarks[index], case .string(let text) = raw.members[index].value else { continue }
      var name = raw.members[index].name
      if at == 0 {
        if name == "@odata.etag" { etagVersion = WebAPIRecordDecoder.etagVersion(text) }
        continue
      }
      name.withUTF8 { name in
        // Both annotations are ASCII, which no other text equals as a string.
        let annotation = UnsafeBufferPointer(rebasing: name[(at + 1)...])
        let isLabel = annotation.equals(WebAPIRecordDecoder.formattedValue)
        guard isLabel || annotation.equals(WebAPIRecordDecoder.lookupLogicalName) else { return }
        let column = WebAPIRecordDecoder.columnName(
          String(decoding: UnsafeBufferPointer(rebasing: name[..<at]), as: UTF8.self))
        if isLabel { labelList.append((column, text)) } else { lookupTargetList.append((column, text)) }
      }
    }
    func annotation(of column: String, in list: [(column: String, text: String)]) -> String? {
      list.last(where: { $0.column == column })?.text
    }

    var fields = Fields()
    fields.reserveCapacity(raw.members.count)
    var version: Int64?
    for index in raw.members.indices where annotationMarks[index] == nil {
      let member = raw.members[index]
      guard member.name != primaryKey else { continue }
      let column = WebAPIRecordDecoder.columnName(member.name)
      let isLookup = column != member.name
      switch member.value {
      case .nested:
        // Expanded navigation properties belong to other tables; the row's own columns are kept.
        continue
      case .null:
        fields[column] = .null
      case .bool(let flag):
        fields[column] = .boolean(flag)
      case .string(let text):
        if isLookup {
          guard let target = GUID(text) else {
            return reject("lookup \"\(member.name)\" is not a GUID: \"\(text)\"", id: id.description)
          }
          fields[column] = .lookup(Lookup(entity: annotation(of: column, in: lookupTargetList), id: target))
        } else {
          fields[column] = ValueInference.string(text, field: column, label: annotation(of: column, in: labelList))
        }
      case .number(let text):
        guard !isLookup else {
          return reject("lookup \"\(member.name)\" is a number, not a GUID", id: id.description)
        }
        guard let value = ValueInference.number(text, field: column, label: annotation(of: column, in: labelList))
        else {
          return reject("\"\(column)\" is not a number Dataverse can hold: \(text)", id: id.description)
        }
        fields[column] = value
        if column == "versionnumber", case .integer(let number) = value { version = number }
      }
    }
    var labels = Labels(minimumCapacity: labelList.count)
    for (column, text) in labelList { labels[column] = text }
    var recordID = id
    if DataverseCatalog.isIntersect(entity), let association = DataverseCatalog.association(of: entity, fields: fields)
    {
      (recordID, fields) = association
      labels = [:]
      version = nil
      etagVersion = nil
    }
    return .record(
      Record(
        entity: entity, id: recordID, fields: fields, labels: labels, version: version ?? etagVersion,
        origin: position))
  }

  /// The byte offset of the first "@" in a key, if any.
  static func annotationMark(in name: String) -> Int? {
    var name = name
    return name.withUTF8 { bytes in
      guard let base = bytes.baseAddress, let found = memchr(base, Int32(UInt8(ascii: "@")), bytes.count) else {
        return nil
      }
      return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }
  }

  /// The version in an `@odata.etag` such as `W/"2874124"`: its digits, as a number.
  static func etagVersion(_ etag: String) -> Int64? {
    guard etag.utf8.allSatisfy({ $0 < 0x80 }) else { return Int64(etag.filter(\.isNumber)) }
    var version: Int64?
    for byte in etag.utf8 where (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
      let (shifted, overflow) = (version ?? 0).multipliedReportingOverflow(by: 10)
      let (sum, carry) = shifted.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
      guard !overflow, !carry else { return nil }
      version = sum
    }
    return version
  }

  /// `_parentcustomerid_value` → `parentcustomerid`; other names unchanged.
  static func columnName(_ name: String) -> String {
    // Most names do not start with "_", and logical names are ASCII: settle those without
    // Character work.
    guard name.utf8.first == UInt8(ascii: "_") else { return name }
    var ascii = name
    if let column = ascii.withUTF8({ bytes -> String?? in
      guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
      guard bytes.count > 7, bytes.suffix(6).elementsEqual("_value".utf8) else { return .some(nil) }
      return String(decoding: UnsafeBufferPointer(rebasing: bytes[1..<bytes.count - 6]), as: UTF8.self)
    }) {
      return column ?? name
    }
    guard name.hasPrefix("_"), name.hasSuffix("_value"), name.count > 7 else { return name }
    return String(name.dropFirst().dropLast(6))
  }

  private mutating func resolveEntity(seeing raw: RawJSONRecord) -> String {
    if let entity { return entity }
    let candidates = DataverseCatalog.entityCandidates(forSetName: context.entitySet)
    let names = Set(raw.members.map(\.name))
    let chosen =
      candidates.first { names.contains(DataverseCatalog.primaryIDField(of: $0)) } ?? candidates[0]
    if names.contains(DataverseCatalog.primaryIDField(of: chosen)) { entity = chosen }
    return chosen
  }

  private mutating func deletion(in raw: RawJSONRecord, at position: SourcePosition) -> ReadEvent? {
    // Most rows are no deletion: settle those without looking at every member's name thrice, or copying any member.
    guard
      raw.members.indices.contains(where: {
        raw.members[$0].name.utf8.count == 14 && raw.members[$0].name == "@odata.context"
      })
    else { return nil }
    var entryContext: ODataContext?
    var idText: String?
    var reason = "deleted"
    for member in raw.members {
      switch (member.name, member.value) {
      case ("@odata.context", .string(let text)): entryContext = ODataContext(text)
      case ("id", .string(let text)): idText = text
      case ("reason", .string(let text)): reason = text
      default: break
      }
    }
    guard let entryContext, entryContext.isDeletedEntity else { return nil }
    let entity =
      entryContext.entitySet == context.entitySet
      ? table : DataverseCatalog.entityCandidates(forSetName: entryContext.entitySet)[0]
    guard let idText, let id = GUID(idText) else {
      return .reject(
        InputError(at: position, entity: entity, recordID: idText, reason: "$deletedEntity entry without a GUID \"id\"")
      )
    }
    // An association is kept by its two ends (`DataverseCatalog.association`), which a deletion does not name: let go
    // unseen, the membership would stay.
    guard !DataverseCatalog.isIntersect(entity) else {
      return .reject(
        InputError(
          at: position, entity: entity, recordID: idText,
          reason:
            "a $deletedEntity entry of the intersect table \(entity) names the intersect row, not the two records "
            + "it joins, so it cannot be applied; export \(entity) whole (its full rows) to sync removed associations"))
    }
    return .deletion(Deletion(entity: entity, id: id, reason: reason, origin: position))
  }
}
