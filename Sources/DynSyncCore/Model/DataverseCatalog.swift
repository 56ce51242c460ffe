/// What dynsync knows of the standard Dataverse tables, for formats that carry no schema.
///
/// The Web API and FetchXML results say little about column types; these facts decide the type of
/// the standard columns so that the same column reads the same way from every format.
public enum DataverseCatalog {
  /// Entity set names whose singular is not the plain `s`-less form.
  static let entityBySetName: [String: String] = [
    "opportunities": "opportunity",
    "transactioncurrencies": "transactioncurrency",
    "activityparties": "activityparty",
    "territories": "territory",
    "businessunits": "businessunit",
    "addresses": "address",
    "customeraddresses": "customeraddress",
    "statuses": "status",
  ]

  /// FetchXML `type=` object type codes of the tables dynsync syncs.
  static let entityByObjectTypeCode: [String: String] = [
    "1": "account", "2": "contact", "3": "opportunity", "4": "lead", "8": "systemuser", "9": "team",
    "10": "businessunit", "4500": "customeropportunityrole", "3234": "connection",
  ]

  /// Two Options columns of the standard tables (plus the sync filter).
  static let booleanFields: Set<String> = [
    "new_synctomkto", "donotemail", "donotbulkemail", "donotphone", "donotfax", "donotsendmm",
    "donotpostalmail", "donotbulkpostalmail", "creditonhold", "isdisabled", "isdefault",
    "isprivate", "merged", "followemail", "participatesinworkflow", "isautocreate",
  ]

  /// Choice columns of the standard tables whose names do not end in `code`.
  static let choiceFields: Set<String> = ["teamtype", "accessmode", "caltype"]

  /// DateOnly columns of the standard tables.
  static let dateOnlyFields: Set<String> = [
    "birthdate", "anniversary", "estimatedclosedate", "actualclosedate", "finaldecisiondate",
  ]

  /// Intersect tables of many-to-many relationships that exports also give as rows of their own.
  static let intersectEntities: Set<String> = ["teammembership"]

  public static func isIntersect(_ entity: String) -> Bool { intersectEntities.contains(entity) }

  /// A row of an intersect table as the association it stands for, when it names exactly two ends (ids or lookups).
  ///
  /// Its id is made from them (`associationID`) and its columns are only those two: the row's own id, version and
  /// labels are the intersect row's, not the membership's, so that every format gives the same association.
  public static func association(of entity: String, fields: Fields) -> (id: GUID, fields: Fields)? {
    let ends = fields.compactMap { field, value -> (field: String, id: GUID)? in
      switch value {
      case .guid(let end): return (field, end)
      case .lookup(let end): return (field, end.id)
      default: return nil
      }
    }
    guard ends.count == 2 else { return nil }
    return (associationID(entity, ends: ends), fields.filter { name, _ in ends.contains { $0.field == name } })
  }

  /// The id of an association row, from its two ends: the same in every format (CMT derives
  /// association rows from `<m2mrelationship>`, the Web API lists the intersect table's rows with
  /// ids of their own), so that a change of export format is not a change of membership.
  public static func associationID(_ entity: String, ends: [(field: String, id: GUID)]) -> GUID {
    let parts = ends.sorted { $0.field < $1.field }.map { "\($0.field)=\($0.id)" }
    return GUID(naming: ([entity] + parts).joined(separator: "|"))
  }

  /// The table a Web API entity set name stands for, with the candidate forms most likely first.
  public static func entityCandidates(forSetName setName: String) -> [String] {
    if let known = entityBySetName[setName] { return [known] }
    var candidates: [String] = []
    if setName.hasSuffix("ies") { candidates.append(String(setName.dropLast(3)) + "y") }
    if setName.hasSuffix("es") { candidates.append(String(setName.dropLast(2))) }
    if setName.hasSuffix("s") { candidates.append(String(setName.dropLast())) }
    candidates.append(setName)
    var seen = Set<String>()
    return candidates.filter { seen.insert($0).inserted }
  }

  /// The Web API entity set name of a table (`lead` → `leads`, `opportunity` → `opportunities`).
  public static func setName(of entity: String) -> String {
    if let known = entityBySetName.first(where: { $0.value == entity })?.key { return known }
    if entity.hasSuffix("y") { return String(entity.dropLast()) + "ies" }
    if entity.hasSuffix("s") || entity.hasSuffix("x") { return entity + "es" }
    return entity + "s"
  }

  /// The primary id column of a table: `<logicalname>id` for every table dynsync reads.
  public static func primaryIDField(of entity: String) -> String { entity + "id" }

  /// The table a FetchXML `type=` code names, when it is a code dynsync knows.
  public static func entity(forObjectTypeCode code: String) -> String? {
    entityByObjectTypeCode[code]
  }

  public static func isBoolean(_ field: String) -> Bool { booleanFields.contains(field) }

  public static func isDateOnly(_ field: String) -> Bool { dateOnlyFields.contains(field) }

  /// Whether an integer column is a choice: state and status always, `…code` columns by
  /// Dataverse naming, and any integer whose formatted label has no digits (a formatted number or
  /// amount always has some, a choice label such as "Consulting" has none).
  public static func isOptionSet(field: String, label: String?) -> Bool {
    if field.hasSuffix("code") || choiceFields.contains(field) { return true }
    guard let label, !label.isEmpty else { return false }
    return !label.contains(where: \.isNumber)
  }
}
