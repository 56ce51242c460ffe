import DynSyncArtifacts
import DynSyncCore
import Foundation

/// Writes a generated org as an export in one of the formats dynsync reads, a page (or file) of
/// at most 5,000 rows at a time, as Dataverse pages its responses.
public struct GeneratedExport: Sendable {
  public static let pageSize = 5_000
  static let organization = "https://generated.crm.dynamics.com/api/data/v9.2/"

  public var generator: OrgGenerator
  public var format: ExportFormat
  /// Writes a mutated org as Web API change-tracking pages: the rows created or updated, and a `$deletedEntity` entry
  /// for each row deleted (memberships, rows of an intersect table, are written whole).
  public var delta: Bool

  public init(generator: OrgGenerator, format: ExportFormat, delta: Bool = false) {
    self.generator = generator
    self.format = format
    self.delta = delta
  }

  /// Writes the export into `folder` (created if missing) and returns the number of rows written.
  @discardableResult
  public func write(to folder: String) throws -> Int {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    // Pages of another org left beside the new ones would be read as part of it.
    guard try FileManager.default.contentsOfDirectory(atPath: folder).allSatisfy({ $0.hasPrefix(".") }) else {
      throw OutputError(path: folder, reason: "already holds files; an export is generated into a new or empty folder")
    }
    if delta, format != .webAPI || generator.mutation == nil {
      throw OutputError(path: folder, reason: "a change-tracking delta is written of a mutated org, as Web API pages")
    }
    switch format {
    case .webAPI, .fetchXML: return try writePages(to: folder)
    case .configurationMigration: return try writeCMT(to: folder)
    case .marketoChanges: throw InputError(file: folder, reason: "dynsync generates Dynamics exports only")
    }
  }

  /// An entry of a page: a row, or in a change-tracking page the id of a row deleted.
  private enum Entry {
    case row(Record)
    case deletion(GUID)
  }

  private func writePages(to folder: String) throws -> Int {
    var total = 0
    for table in generator.tables {
      let asDelta = delta && table.entity != OrgGenerator.membership
      var page: [Entry] = []
      var number = 0
      func flush(last: Bool) throws {
        number += 1
        let name =
          "\(folder)/\(table.setName)_page\(String(number, zeroPaddedTo: 4)).\(format == .webAPI ? "json" : "xml")"
        let file = try OutputFile(path: name)
        if format == .webAPI {
          try writeWebAPIPage(page, table: table, delta: asDelta, last: last, to: file)
        } else {
          try writeFetchXMLPage(
            page.compactMap { if case .row(let record) = $0 { record } else { nil } }, table: table, last: last,
            to: file)
        }
        try file.close()
        total += page.count
        page.removeAll(keepingCapacity: true)
      }
      func add(_ entry: Entry) throws {
        if page.count == GeneratedExport.pageSize { try flush(last: false) }
        page.append(entry)
      }
      if asDelta {
        // Rows created or updated first, then the deletions, as change tracking lists them.
        var deleted: [GUID] = []
        try generator.changes(of: table) { change in
          switch change {
          case .unchanged: break
          case .updated(let record), .created(let record): try add(.row(record))
          case .deleted(let id): deleted.append(id)
          }
        }
        for id in deleted { try add(.deletion(id)) }
      } else {
        try generator.rows(of: table) { try add(.row($0)) }
      }
      try flush(last: true)
    }
    return total
  }

  // MARK: Web API JSON

  private func writeWebAPIPage(
    _ entries: [Entry], table: OrgGenerator.Table, delta: Bool, last: Bool, to file: OutputFile
  ) throws {
    let context = GeneratedExport.organization + "$metadata#" + table.setName
    try file.write("{\"@odata.context\":\(JSONText.string(context + (delta ? "/$delta" : ""))),\"value\":[\n")
    for (index, entry) in entries.enumerated() {
      switch entry {
      case .row(let record): try file.write(webAPIRow(record, table: table))
      case .deletion(let id):
        try file.write(
          "{\"@odata.context\":\(JSONText.string(context + "/$deletedEntity")),\"id\":\"\(id)\",\"reason\":\"deleted\"}"
        )
      }
      try file.write(index < entries.count - 1 ? ",\n" : "\n")
    }
    let link =
      !last
      ? ",\"@odata.nextLink\":\(JSONText.string(GeneratedExport.organization + table.setName + "?$skiptoken=next"))"
      : delta
        ? ",\"@odata.deltaLink\":\(JSONText.string(GeneratedExport.organization + table.setName + "?$deltatoken=next"))"
        : ""
    try file.write("]\(link)}\n")
  }

  private func webAPIRow(_ record: Record, table: OrgGenerator.Table) -> String {
    var members: [String] = ["\"@odata.etag\":\"W/\\\"\(record.version ?? versionOf(record))\\\"\""]
    for field in record.fields.keys.sorted() {
      guard let value = record.fields[field] else { continue }
      let label = record.labels[field]
      switch value {
      case .lookup(let lookup):
        if let label {
          members.append("\"_\(field)_value@OData.Community.Display.V1.FormattedValue\":\(JSONText.string(label))")
        }
        if let target = lookup.entity {
          members.append("\"_\(field)_value@Microsoft.Dynamics.CRM.lookuplogicalname\":\(JSONText.string(target))")
        }
        members.append("\"_\(field)_value\":\"\(lookup.id)\"")
      default:
        if let label {
          members.append("\"\(field)@OData.Community.Display.V1.FormattedValue\":\(JSONText.string(label))")
        }
        members.append("\"\(field)\":\(JSONText.value(value))")
      }
    }
    members.append("\"\(DataverseCatalog.primaryIDField(of: table.entity))\":\"\(record.id)\"")
    return "{" + members.joined(separator: ",") + "}"
  }

  // MARK: FetchXML

  private func writeFetchXMLPage(_ rows: [Record], table: OrgGenerator.Table, last: Bool, to file: OutputFile) throws {
    let key = DataverseCatalog.primaryIDField(of: table.entity)
    let cookie = xml(
      "<cookie page=\"1\"><\(key) last=\"{\(rows.last?.id.description.uppercased() ?? "")}\" /></cookie>")
    try file.write(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<resultset morerecords=\"\(last ? 0 : 1)\" paging-cookie=\"\(cookie)\">\n"
    )
    for record in rows {
      var line = "<result><\(key)>{\(record.id.description.uppercased())}</\(key)>"
      for field in record.fields.keys.sorted() {
        guard let value = record.fields[field] else { continue }
        let label = record.labels[field].map(xml) ?? ""
        switch value {
        case .lookup(let lookup):
          line +=
            "<\(field) name=\"\(label)\" dsc=\"0\" type=\"\(lookup.entity ?? "")\">{\(lookup.id.description.uppercased())}</\(field)>"
        case .optionSet(let choice): line += "<\(field) name=\"\(label)\">\(choice)</\(field)>"
        case .boolean(let flag): line += "<\(field) name=\"\(flag ? "Yes" : "No")\">\(flag ? 1 : 0)</\(field)>"
        case .integer(let number): line += "<\(field) formattedvalue=\"\(number)\">\(number)</\(field)>"
        case .decimal(let number):
          line += "<\(field) formattedvalue=\"\(number.plainText)\">\(number.written)</\(field)>"
        case .dateTime(let instant): line += "<\(field) date=\"\" time=\"\">\(instant)</\(field)>"
        case .date(let date): line += "<\(field) date=\"\(date)\">\(date)T00:00:00</\(field)>"
        default: line += "<\(field)>\(xml(MarketoValues.text(value)))</\(field)>"
        }
      }
      try file.write(line + "</result>\n")
    }
    try file.write("</resultset>\n")
  }

  // MARK: Configuration Migration tool

  private func writeCMT(to folder: String) throws -> Int {
    var types: [String: [String: String]] = [:]
    let data = try OutputFile(path: folder + "/data.xml")
    try data.write(
      "<entities xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
    )
    var total = 0
    // Memberships are the teams' many-to-many relationship, written with the teams: one relationship a team, as the
    // tool writes them, members created later joining their team's.
    var members: [(team: GUID, users: [GUID])] = []
    var place: [GUID: Int] = [:]
    for table in generator.tables where table.entity == OrgGenerator.membership {
      generator.rows(of: table) { record in
        guard case .guid(let team) = record["teamid"], case .guid(let user) = record["systemuserid"] else { return }
        if let known = place[team] {
          members[known].users.append(user)
        } else {
          place[team] = members.count
          members.append((team, [user]))
        }
        total += 1
      }
    }
    for table in generator.tables where table.entity != OrgGenerator.membership {
      try data.write("  <entity name=\"\(table.entity)\" displayname=\"\(table.entity)\">\n    <records>\n")
      try generator.rows(of: table) { record in
        var line = "      <record id=\"\(record.id)\">"
        for field in record.fields.keys.sorted() {
          guard let value = record.fields[field], !value.isNull else { continue }
          types[table.entity, default: [:]][field] = GeneratedExport.cmtType(field, value)
          switch value {
          case .lookup(let lookup):
            line += "<field name=\"\(field)\" value=\"\(lookup.id)\" lookupentity=\"\(lookup.entity ?? "")\" />"
          case .string(let text):
            line += "<field name=\"\(field)\" value=\"\(xml(html(text)))\" />"
          default:
            line += "<field name=\"\(field)\" value=\"\(xml(GeneratedExport.cmtText(value)))\" />"
          }
        }
        try data.write(line + "</record>\n")
        total += 1
      }
      try data.write("    </records>\n")
      try data.write(table.entity == "team" ? GeneratedExport.relationships(members) : "    <m2mrelationships />\n")
      try data.write("  </entity>\n")
    }
    try data.write("</entities>\n")
    try data.close()
    let schema = try OutputFile(path: folder + "/data_schema.xml")
    try schema.write("<entities>\n")
    for table in generator.tables where table.entity != OrgGenerator.membership {
      let key = DataverseCatalog.primaryIDField(of: table.entity)
      try schema.write("  <entity name=\"\(table.entity)\" primaryidfield=\"\(key)\">\n    <fields>\n")
      try schema.write("      <field name=\"\(key)\" type=\"guid\" primaryKey=\"true\" />\n")
      for (field, type) in (types[table.entity] ?? [:]).sorted(by: { $0.key < $1.key }) {
        try schema.write("      <field name=\"\(field)\" type=\"\(type)\" />\n")
      }
      try schema.write("    </fields>\n")
      if table.entity == "team" {
        try schema.write(
          "    <relationships>\n      <relationship name=\"\(GeneratedExport.membershipRelationship)\" "
            + "manyToMany=\"true\" relatedEntityName=\"\(OrgGenerator.membership)\" m2mTargetEntity=\"systemuser\" "
            + "m2mTargetEntityPrimaryKey=\"systemuserid\" />\n    </relationships>\n")
      }
      try schema.write("  </entity>\n")
    }
    try schema.write("</entities>\n")
    try schema.close()
    return total
  }

  static let membershipRelationship = "teammembership_association"

  /// The teams' memberships as the Configuration Migration tool writes them: a `<m2mrelationship>` a team.
  static func relationships(_ members: [(team: GUID, users: [GUID])]) -> String {
    guard !members.isEmpty else { return "    <m2mrelationships />\n" }
    var text = "    <m2mrelationships>\n"
    for (team, users) in members {
      text += "      <m2mrelationship sourceid=\"\(team)\" targetentityname=\"systemuser\" "
      text += "targetentitynameidfield=\"systemuserid\" m2mrelationshipname=\"\(membershipRelationship)\">\n"
      text += "        <targetids>\n"
      for user in users { text += "          <targetid>\(user)</targetid>\n" }
      text += "        </targetids>\n      </m2mrelationship>\n"
    }
    return text + "    </m2mrelationships>\n"
  }

  static func cmtType(_ field: String, _ value: FieldValue) -> String {
    switch value {
    case .string: return "string"
    case .integer: return field == "versionnumber" ? "bigint" : "number"
    case .decimal: return "money"
    case .boolean: return "bool"
    case .dateTime, .date: return "datetime"
    case .optionSet: return field == "statecode" ? "state" : "optionsetvalue"
    case .multiSelect: return "optionsetvaluecollection"
    case .lookup: return field == "ownerid" ? "owner" : "entityreference"
    case .guid: return "guid"
    case .null: return "string"
    }
  }

  static func cmtText(_ value: FieldValue) -> String {
    switch value {
    case .boolean(let flag): return flag ? "True" : "False"
    case .dateTime(let instant):
      let text = instant.description
      return String(text.dropLast()) + (instant.fraction.isEmpty ? ".0000000Z" : "Z")
    case .date(let date): return "\(date)T00:00:00.0000000"
    case .decimal(let number): return number.written
    default: return MarketoValues.text(value)
    }
  }

  private func versionOf(_ record: Record) -> Int64 {
    if case .integer(let version) = record["versionnumber"] { return version }
    return 1
  }
}

func xml(_ text: String) -> String {
  var out = ""
  out.reserveCapacity(text.utf8.count)
  for character in text {
    switch character {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&apos;"
    default: out.append(character)
    }
  }
  return out
}

/// HTML-encodes a string as the Configuration Migration tool does before XML escaping.
func html(_ text: String) -> String { xml(text).replacingOccurrences(of: "&apos;", with: "&#39;") }
