import DynSync
import DynSyncCore
import DynSyncReaders
import Foundation
import Testing

/// What a run of `diff` left: its batch's text, or its error.
private enum DiffOutcome: Equatable {
  case batch([String: String])
  case failed(String)

  var batch: [String: String]? { if case .batch(let files) = self { files } else { nil } }
}

/// Runs `diff` indexed and in full; returns both outcomes and whether the indexed run had to fall back.
///
/// The indexed run is made twice, the second reading rows again two at a time, each a piece of
/// work of its own: its outcome is the first's, or a failure saying that it differs.
private func bothWays(previous: [String], current: [String], in folder: TemporaryFolder) throws
  -> (indexed: DiffOutcome, full: DiffOutcome, fellBack: Bool)
{
  func run(
    _ readInFull: Bool, _ name: String, _ progress: some ProgressObserver, rowsPerStep: Int = 5_000,
    rowsPerPiece: Int = 1_024
  ) -> DiffOutcome {
    var job = DiffJob(previous: previous, current: current, output: folder.path + "/" + name)
    job.readInFull = readInFull
    job.rowsDecodedPerStep = rowsPerStep
    job.rowsReadAgainPerPiece = rowsPerPiece
    do {
      _ = try job.run(progress: progress)
      return .batch((try? batchText(folder.path + "/" + name)) ?? [:])
    } catch {
      return .failed("\(error)")
    }
  }
  let recorder = ProgressRecorder()
  let indexed = run(false, "indexed", recorder)
  let stepped = run(false, "stepped", SilentProgress(), rowsPerStep: 2, rowsPerPiece: 1)
  let full = run(true, "full", SilentProgress())
  return (stepped == indexed ? indexed : .failed("two rows at a time gave another outcome"), full, recorder.fellBack)
}

private func page(_ set: String, _ rows: [String], next: Bool = false) -> String {
  "{\"@odata.context\":\"https://org.crm.dynamics.com/api/data/v9.2/$metadata#\(set)\",\"value\":[\n"
    + rows.joined(separator: ",\n") + "\n]"
    + (next ? ",\"@odata.nextLink\":\"https://org.crm.dynamics.com/api/data/v9.2/\(set)?$skiptoken=2\"" : "") + "}"
}

private func resultset(_ rows: [String], entity: String? = "contact", declaration: String = "") -> String {
  let cookie = entity.map {
    " paging-cookie=\"&lt;cookie page=&quot;1&quot;&gt;&lt;\($0)id last=&quot;{0}&quot; /&gt;&lt;/cookie&gt;\""
  }
  return declaration + "<resultset morerecords=\"0\"\(cookie ?? "")>\n" + rows.joined(separator: "\n")
    + "\n</resultset>\n"
}

private func result(_ number: Int, _ extra: String = "", name: String = "Ada") -> String {
  let id = String(format: "{%08X-0000-4000-8000-000000000000}", number)
  return "<result><contactid>\(id)</contactid><firstname>\(name)</firstname>\(extra)</result>"
}

private let cmtSchema = """
  <entities>
    <entity name="contact" primaryidfield="contactid">
      <fields>
        <field name="contactid" type="guid" primaryKey="true" />
        <field name="firstname" type="string" />
        <field name="numberofemployees" type="number" />
        <field name="revenue" type="money" />
        <field name="donotemail" type="bool" />
        <field name="birthdate" type="datetime" />
        <field name="modifiedon" type="datetime" />
        <field name="parentcustomerid" type="entityreference" lookupType="account" />
        <field name="new_interests" type="optionsetvaluecollection" />
        <field name="statecode" type="state" />
      </fields>
    </entity>
  </entities>
  """

private func cmtData(_ records: [String], entity: String = "contact") -> String {
  "<entities>\n  <entity name=\"\(entity)\">\n    <records>\n" + records.joined(separator: "\n")
    + "\n    </records>\n    <m2mrelationships />\n  </entity>\n</entities>\n"
}

private func cmtRecord(_ number: Int, _ extra: String = "", name: String = "Ada") -> String {
  let id = String(format: "%08x-0000-4000-8000-000000000000", number)
  return
    "<record id=\"\(id)\"><field name=\"contactid\" value=\"\(id)\" /><field name=\"firstname\" value=\"\(name)\" />"
    + extra + "</record>"
}

private func contact(_ number: Int, _ extra: String = "", name: String = "Ada") -> String {
  let id = String(format: "%08x-0000-4000-8000-000000000000", number)
  return "{\"@odata.etag\":\"W/\\\"\(number)\\\"\",\"contactid\":\"\(id)\",\"firstname\":\"\(name)\"\(extra)}"
}

/// Diffs `previous/` against `current/` of `folder` both ways: the indexed run must not fall
/// back, must give the full read's batch, and its rejects must say each of `reasons`.
private func expectIndexedAsFull(in folder: TemporaryFolder, rejectsSaying reasons: [String]) throws {
  let outcome = try bothWays(previous: [folder.path + "/previous"], current: [folder.path + "/current"], in: folder)
  #expect(!outcome.fellBack)
  #expect(outcome.indexed == outcome.full)
  let rejects = try #require(outcome.indexed.batch?["rejects.ndjson"])
  for reason in reasons { #expect(rejects.range(of: reason) != nil, "no reject says \(reason)") }
}

@Suite("Indexed diff")
struct IndexedDiffTests {
  @Test("rows that differ only in bytes, shapes, escapes, rejects and duplicates give the full read's batch")
  func tricky() throws {
    let folder = try TemporaryFolder()
    let lookup =
      ",\"_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname\":\"account\""
      + ",\"_parentcustomerid_value\":\"aaaaaaaa-0000-4000-8000-000000000001\""
    let before = [
      contact(1), contact(2, lookup), contact(3, ",\"note\":\"line\\nbreak \\u00e9\""),
      contact(4, ",\"revenue\":1.5e3"),
      contact(5, ",\"city\":\"Zürich\""), contact(6), contact(7, ",\"emailaddress1\":null"),
      contact(8, ",\"_ownerid_value\":\"not-a-guid\""), contact(9, ",\"a\":1,\"a\":2"),
      "{\"contactid\":\"nonsense\"}", contact(10, ",\"n\":{\"nested\":[1,{\"x\":true}]}"),
      contact(11, ",\"multi\":\"1,2\",\"multi@OData.Community.Display.V1.FormattedValue\":\"A; B\""),
      contact(12, ",\"esc\\u0061ped\":\"key\""),
    ]
    var after = before
    after[0] = contact(1, name: "Ada (edited)")
    after[1] = contact(2, lookup.replacingOccurrences(of: "0001\"", with: "0002\""))
    after[2] = contact(3, ",\"note\":\"line\\nbreak \\u00e9\"")  // the same bytes
    after[3] = contact(4, ",\"revenue\":1500")  // the same amount, written otherwise
    after[5] = "{\n  \"contactid\": \"00000006-0000-4000-8000-000000000000\",\n  \"firstname\": \"Ada\"\n}"
    after[6] = contact(7)  // null and absent are the same
    after.remove(at: 4)  // deleted
    after.append(contact(13, ",\"city\":\"Zürich\""))  // created
    after.append(contact(1, name: "second copy"))  // a duplicate id
    try folder.write("previous/contacts_1.json", page("contacts", Array(before[0..<7]), next: true))
    try folder.write("previous/contacts_2.json", page("contacts", Array(before[7...])))
    try folder.write("current/contacts.json", page("contacts", after))
    try expectIndexedAsFull(in: folder, rejectsSaying: ["duplicate id", "appears twice"])
  }

  @Test(
    "FetchXML rows that differ only in bytes, decorations, layout, rejects and duplicates give the full read's batch")
  func trickyFetchXML() throws {
    let folder = try TemporaryFolder()
    let owner = "<ownerid name=\"Sam\" dsc=\"0\" type=\"systemuser\">{5A5A5A5A-0001-0000-0000-000000000001}</ownerid>"
    let before = [
      result(1), result(2, owner), result(3, "<note>a &amp; b <![CDATA[<c>]]> &#233;</note>"),
      result(4, "<revenue formattedvalue=\"$1,500\">1500.00</revenue>"),
      result(5, "<address1_city>Zürich</address1_city>"),
      result(6, "<createdon date=\"3/4/2025\" time=\"10:02 AM\">2025-03-04T10:02:40-08:00</createdon>"),
      result(7, "<birthdate date=\"1950-03-03\">1950-03-03T00:00:00</birthdate>"),
      result(8, "<ownerid name=\"x\" type=\"systemuser\">not-a-guid</ownerid>"),
      result(9, "<a>1</a><a>2</a>"), "<result><contactid>nonsense</contactid></result>",
      result(10, "<donotemail name=\"Allow\">maybe</donotemail>"),
      result(11, "<statecode name=\"Active\">0</statecode><donotemail name=\"No\">0</donotemail>"),
      result(12, "<modifiedon>yesterday</modifiedon>"), result(13, "<revenue formattedvalue=\"x\">12e</revenue>"),
      "<result>\n  <contactid>\n    {0000000E-0000-4000-8000-000000000000}\n  </contactid>\n</result>",
      result(15, "<empty/><spaces>   </spaces>"), "<result><firstname>no id</firstname></result>",
      // Values at the edges of what their decorations take, each read by its bytes or by the decoder.
      result(
        17, "<revenue formattedvalue=\"x\">1e5</revenue><numberofemployees formattedvalue=\"x\">.5</numberofemployees>"),
      result(
        18, "<revenue formattedvalue=\"x\">+5.</revenue><budget formattedvalue=\"x\">9223372036854775808</budget>"),
      result(19, "<revenue formattedvalue=\"x\">1,500</revenue>"),
      result(20, "<donotemail name=\"No\">FALSE</donotemail><statecode name=\"Active\">true</statecode>"),
      result(21, "<statecode name=\"Active\">+1</statecode><statuscode name=\"x\">99999999999999999999</statuscode>"),
      result(22, "<statecode name=\"Active\">True</statecode>"),
      result(23, "<createdon date=\"\" time=\"\">2025-06-28 19:06:20.5</createdon>"),
      result(24, "<createdon date=\"\" time=\"\">2025-06-28T19:06:20.Z</createdon>"),
      result(25, "<birthdate date=\"\">2024-02-29</birthdate>"),
      // Shapes: a column twice far into a row, then a shorter row without it; one name in two spellings.
      result(26, "<a>1</a><b>2</b><c>3</c><a>4</a>"), result(27, "<a>1</a><b>2</b><c>3</c>"),
      result(28, "<caf\u{E9}>1</caf\u{E9}><b>2</b><cafe\u{301}>3</cafe\u{301}>"),
      // A column twice, then a row that repeats it too and ends otherwise.
      result(29, "<a>1</a><b>2</b><a>3</a><c>4</c>"), result(30, "<a>1</a><b>2</b><a>3</a><d>4</d>"),
    ]
    var after = before
    after[0] = result(1, name: "Ada (edited)")
    after[1] = result(2, owner.replacingOccurrences(of: "0001}", with: "0002}"))
    after[3] = result(4, "<revenue formattedvalue=\"$1,500.00\">1500</revenue>")  // the same amount, written otherwise
    after[5] =
      "<!-- reformatted -->\n<result>\n  <contactid>{00000006-0000-4000-8000-000000000000}</contactid>\n"
      + "  <firstname>Ada</firstname>\n  <createdon date=\"\" time=\"\">2025-03-04T18:02:40Z</createdon>\n</result>"
    after[6] = result(7, "<birthdate date=\"1950-03-04\">1950-03-04T00:00:00</birthdate>")
    after.remove(at: 4)  // deleted
    after.append(result(16, "<address1_city>Zürich</address1_city>"))  // created
    after.append(result(1, name: "second copy"))  // a duplicate id
    try folder.write("previous/contacts_1.xml", resultset(Array(before[0..<8]), entity: nil))
    try folder.write(
      "previous/contacts_2.xml",
      resultset(Array(before[8...]), declaration: "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"))
    try folder.write("current/contacts.xml", resultset(after))
    try expectIndexedAsFull(in: folder, rejectsSaying: ["duplicate id", "appears twice", "is not a GUID"])
  }

  @Test(
    "a FetchXML file only a full read handles is read in full, with the full read's outcome",
    arguments: [
      "<!DOCTYPE resultset [<!ENTITY x \"y\">]>\n", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n",
      "nested", "entity", "truncated", "other element",
    ])
  func fetchXMLFallsBack(variant: String) throws {
    let folder = try TemporaryFolder()
    try folder.write("previous/contacts.xml", resultset([result(1), result(2)]))
    let rows = [result(1, name: "Ada (edited)"), result(2)]
    let text: String
    switch variant {
    case "nested": text = resultset(rows + [result(3, "<note><b>bold</b></note>")])
    case "entity": text = resultset(rows + [result(3, "<note>&unknown;</note>")])
    case "truncated": text = String(resultset(rows).dropLast(20))
    case "other element": text = resultset(rows + ["<other/>"])
    default: text = resultset(rows, declaration: variant)
    }
    try folder.write("current/contacts.xml", text)
    let outcome = try bothWays(
      previous: [folder.path + "/previous"], current: [folder.path + "/current"], in: folder)
    #expect(outcome.fellBack)
    #expect(outcome.indexed == outcome.full)
  }

  @Test(
    "CMT records that differ only in bytes, layout, values that do not fit, and duplicates give the full read's batch")
  func trickyCMT() throws {
    let folder = try TemporaryFolder()
    func field(_ name: String, _ value: String) -> String { "<field name=\"\(name)\" value=\"\(value)\" />" }
    let before = [
      cmtRecord(1), cmtRecord(2, field("parentcustomerid", "aaaaaaaa-0000-4000-8000-000000000001")),
      cmtRecord(3, field("revenue", "1500.0000000000")), cmtRecord(4, field("numberofemployees", "many")),
      cmtRecord(5, field("birthdate", "1988-04-05T00:00:00.0000000")), cmtRecord(6, field("donotemail", "perhaps")),
      cmtRecord(7, field("modifiedon", "2025-06-28T19:06:20.0000000Z")), cmtRecord(8, field("modifiedon", "soon")),
      cmtRecord(9, field("new_interests", "[-1,2,8,-1]")), cmtRecord(10, field("new_interests", "[x]")),
      cmtRecord(11, field("unknowncolumn", "1")), cmtRecord(12, field("firstname", "twice")),
      "<record id=\"0000000d-0000-4000-8000-000000000000\">"
        + field("contactid", "0000000e-0000-4000-8000-000000000000")
        + "</record>",
      "<record id=\"nonsense\">" + field("contactid", "nonsense") + "</record>",
      "<record>" + field("firstname", "x") + "</record>",
      cmtRecord(15, "<field value=\"no name\" />"), cmtRecord(16, field("statecode", "") + field("revenue", "")),
      cmtRecord(17, field("firstname", "&lt;Ada &amp; Bob&gt;")),
      // Numbers, ids and instants at the edges of what their types take.
      cmtRecord(19, field("numberofemployees", "9223372036854775807")),
      cmtRecord(20, field("numberofemployees", "9223372036854775808")),
      cmtRecord(21, field("numberofemployees", "+5") + field("statecode", "-1")),
      cmtRecord(22, field("parentcustomerid", "{AAAAAAAA-0000-4000-8000-000000000003}")),
      cmtRecord(23, field("modifiedon", "2025-06-28T21:06:20+02:00") + field("birthdate", "1988-04-05")),
      cmtRecord(24, field("statecode", "１")), cmtRecord(25, field("numberofemployees", "-")),
      cmtRecord(26, field("modifiedon", "2025-02-30T10:00:00Z")),
      cmtRecord(27, field("revenue", "1e5") + field("donotemail", "TRUE")),
      cmtRecord(28, field("revenue", ".5") + field("donotemail", "fAlSe")),
      cmtRecord(29, field("revenue", "+5.") + field("donotemail", "0")),
      cmtRecord(30, field("revenue", "1e") + field("donotemail", "yes")),
      cmtRecord(31, field("revenue", "1e1234567890")), cmtRecord(32, field("revenue", "1.2.3")),
      cmtRecord(33, field("modifiedon", "2025-06-28 19:06:20.5")),
      cmtRecord(34, field("modifiedon", "2025-06-28T19:06:20.Z")),
      cmtRecord(35, field("modifiedon", "2024-02-29T23:59:60Z")),
    ]
    var after = before
    after[0] = cmtRecord(1, name: "Ada (edited)")
    after[1] = cmtRecord(2, field("parentcustomerid", "aaaaaaaa-0000-4000-8000-000000000002"))
    after[2] = cmtRecord(3, field("revenue", "1500"))  // the same amount, written otherwise
    after[4] =
      "<record id=\"00000005-0000-4000-8000-000000000000\">\n  "
      + field("contactid", "00000005-0000-4000-8000-000000000000") + "\n  " + field("firstname", "Ada") + "\n  "
      + field("birthdate", "1988-04-06T00:00:00.0000000") + "\n</record>"
    // Record 23's instant, written in another zone: the same value.
    let zoned = try #require(before.firstIndex { $0.hasPrefix("<record id=\"00000017-") })
    after[zoned] = cmtRecord(23, field("modifiedon", "2025-06-28T19:06:20Z") + field("birthdate", "1988-04-05"))
    after.remove(at: 6)  // deleted
    after.append(cmtRecord(18, field("donotemail", "True")))  // created
    after.append(cmtRecord(1, name: "second copy"))  // a duplicate id
    try folder.write("previous/data_schema.xml", cmtSchema)
    try folder.write("previous/data.xml", cmtData(before))
    try folder.write("current/data_schema.xml", cmtSchema)
    try folder.write("current/data.xml", cmtData(after))
    try expectIndexedAsFull(
      in: folder, rejectsSaying: ["duplicate id", "appears twice", "does not fit its schema type"])
  }

  @Test("a row longer than the bytes the index pass holds at once is indexed whole, in each XML format")
  func longRows() throws {
    // The pass reads 256 KB at a time and holds twice that before it grows: this row spans several reads.
    let note = String(repeating: "long text &amp; more, ", count: 40_000)
    let xml = try TemporaryFolder()
    try xml.write("previous/contacts.xml", resultset([result(1), result(2, "<note>\(note)</note>"), result(3)]))
    try xml.write(
      "current/contacts.xml",
      resultset([result(1), result(2, "<note>\(note) (edited)</note>"), result(3, name: "Ada (edited)")]))
    let cmt = try TemporaryFolder()
    try cmt.write("previous/data_schema.xml", cmtSchema)
    try cmt.write("current/data_schema.xml", cmtSchema)
    try cmt.write("previous/data.xml", cmtData([cmtRecord(1, name: note), cmtRecord(2), cmtRecord(3)]))
    try cmt.write(
      "current/data.xml", cmtData([cmtRecord(1, name: note + " (edited)"), cmtRecord(2), cmtRecord(3, name: "Bo")]))
    for folder in [xml, cmt] {
      let outcome = try bothWays(previous: [folder.path + "/previous"], current: [folder.path + "/current"], in: folder)
      #expect(!outcome.fellBack)
      #expect(outcome.indexed == outcome.full)
      #expect(outcome.indexed.batch?["changes/contact.ndjson"]?.split(separator: "\n").count == 2)
    }
  }

  @Test("CMT rows exported byte for byte as before are compared again when their schema types them otherwise")
  func cmtSchemaChange() throws {
    let folder = try TemporaryFolder()
    let records = [cmtRecord(1, "<field name=\"numberofemployees\" value=\"42\" />"), cmtRecord(2)]
    try folder.write("previous/data_schema.xml", cmtSchema)
    try folder.write("previous/data.xml", cmtData(records))
    let retyped = cmtSchema.replacingOccurrences(
      of: "name=\"numberofemployees\" type=\"number\"", with: "name=\"numberofemployees\" type=\"string\"")
    #expect(retyped != cmtSchema)
    try folder.write("current/data_schema.xml", retyped)
    try folder.write("current/data.xml", cmtData(records))
    let outcome = try bothWays(previous: [folder.path + "/previous"], current: [folder.path + "/current"], in: folder)
    #expect(!outcome.fellBack)
    #expect(outcome.indexed == outcome.full)
    #expect(outcome.full.batch?["changes/contact.ndjson"]?.contains("numberofemployees") == true)
  }

  @Test(
    "a CMT file only a full read handles is read in full, with the full read's outcome",
    arguments: ["self-closing", "relationship", "unknown table", "record outside", "truncated"])
  func cmtFallsBack(variant: String) throws {
    let folder = try TemporaryFolder()
    try folder.write("previous/data_schema.xml", cmtSchema)
    try folder.write("previous/data.xml", cmtData([cmtRecord(1), cmtRecord(2)]))
    let records = [cmtRecord(1, name: "Ada (edited)"), cmtRecord(2)]
    let text: String
    switch variant {
    case "self-closing": text = cmtData(records + ["<record id=\"00000003-0000-4000-8000-000000000000\" />"])
    case "relationship":
      text = cmtData(records).replacingOccurrences(
        of: "<m2mrelationships />",
        with: "<m2mrelationships><m2mrelationship sourceid=\"00000001-0000-4000-8000-000000000000\" "
          + "targetentityname=\"systemuser\" m2mrelationshipname=\"x\"><targetids><targetid>"
          + "00000002-0000-4000-8000-000000000000</targetid></targetids></m2mrelationship></m2mrelationships>")
    case "unknown table": text = cmtData(records, entity: "lead")
    case "record outside": text = "<entities>" + cmtRecord(3) + "</entities>"
    default: text = String(cmtData(records).dropLast(30))
    }
    try folder.write("current/data_schema.xml", cmtSchema)
    try folder.write("current/data.xml", text)
    let outcome = try bothWays(
      previous: [folder.path + "/previous"], current: [folder.path + "/current"], in: folder)
    #expect(outcome.fellBack == (variant != "unknown table"))
    #expect(outcome.indexed == outcome.full)
  }

  @Test(
    "CMT team memberships are indexed at their relationship's bytes, and give the full read's batch: added, removed, rejected, the same bytes elsewhere"
  )
  func cmtRelationships() throws {
    let folder = try TemporaryFolder()
    let schema = """
      <entities>
        <entity name="team" primaryidfield="teamid">
          <fields>
            <field name="teamid" type="guid" primaryKey="true" />
            <field name="name" type="string" />
          </fields>
          <relationships>
            <relationship name="teammembership_association" manyToMany="true" relatedEntityName="teammembership" m2mTargetEntity="systemuser" m2mTargetEntityPrimaryKey="systemuserid" />
          </relationships>
        </entity>
      </entities>
      """
    func team(_ number: Int) -> String {
      let id = String(format: "%08x-0000-4000-8000-000000000000", number)
      return
        "<record id=\"\(id)\"><field name=\"teamid\" value=\"\(id)\" /><field name=\"name\" value=\"T\(number)\" /></record>"
    }
    func members(of number: Int, _ targets: [String]) -> String {
      let id = String(format: "%08x-0000-4000-8000-000000000000", number)
      return "<m2mrelationship sourceid=\"\(id)\" targetentityname=\"systemuser\" "
        + "targetentitynameidfield=\"systemuserid\" m2mrelationshipname=\"teammembership_association\">\n"
        + "<targetids>\n" + targets.map { "<targetid>\($0)</targetid>\n" }.joined() + "</targetids></m2mrelationship>"
    }
    func data(_ relationships: [String], comment: String = "") -> String {
      "<entities>\n  <entity name=\"team\">\n    <records>\n" + [team(1), team(2), team(3)].joined(separator: "\n")
        + "\n    </records>\n" + comment + "    <m2mrelationships>\n" + relationships.joined(separator: "\n")
        + "\n    </m2mrelationships>\n  </entity>\n</entities>\n"
    }
    let user = { (number: Int) in String(format: "5a5a5a5a-%04x-0000-0000-000000000000", number) }
    try folder.write("previous/data_schema.xml", schema)
    try folder.write(
      "previous/data.xml",
      data([members(of: 1, [user(1), user(2)]), members(of: 2, [user(3)]), members(of: 3, [user(4), user(5)])]))
    try folder.write("current/data_schema.xml", schema)
    // Team 1 loses a member and gains one; team 2's relationship is the same bytes, lines further down; team 3's
    // has a target that is no id, and one written with white space and a comment around it.
    try folder.write(
      "current/data.xml",
      data(
        [
          members(of: 1, [user(1), user(6)]), members(of: 2, [user(3)]),
          members(of: 3, [user(4), "not-an-id", "\n  <!-- kept -->" + user(5) + "  "]),
        ], comment: "    <!-- a comment\n over two lines -->\n"))
    let outcome = try bothWays(previous: [folder.path + "/previous"], current: [folder.path + "/current"], in: folder)
    #expect(!outcome.fellBack)
    #expect(outcome.indexed == outcome.full)
    let batch = try #require(outcome.indexed.batch)
    let memberships = try #require(batch["changes/teammembership.ndjson"])
    #expect(memberships.split(separator: "\n").count == 2, "one membership added, one removed: \(memberships)")
    #expect(batch["rejects.ndjson"]?.contains("<targetid> is not a GUID") == true)
  }

  @Test(
    "a generated org and its next export give the full read's batch",
    arguments: ExportFormat.allCases.filter { $0 != .marketoChanges })
  func generated(format: ExportFormat) throws {
    let folder = try TemporaryFolder()
    try GeneratedExport(generator: OrgGenerator(records: 1500, seed: 7), format: format)
      .write(to: folder.path + "/previous")
    try GeneratedExport(generator: OrgGenerator(records: 1500, seed: 7, mutation: .init()), format: format)
      .write(to: folder.path + "/current")
    let outcome = try bothWays(
      previous: [folder.path + "/previous"], current: [folder.path + "/current"], in: folder)
    #expect(!outcome.fellBack)
    #expect(outcome.indexed.batch != nil)
    #expect(outcome.indexed == outcome.full)
  }

  @Test(
    "a malformed, truncated, delta or non-JSON export is read in full, with the full read's outcome",
    arguments: [
      "Tests/Corpus/truncated-json-in-string", "Tests/Corpus/truncated-json-in-number",
      "Tests/Corpus/truncated-json-no-close", "Tests/Corpus/truncated-json-after-row", "Tests/Corpus/invalid-utf8",
      "Tests/Corpus/malformed-number", "Tests/Corpus/utf16-bom", "Fixtures/readers/webapi/accounts_delta.json",
      "Tests/Corpus/truncated-fetchxml", "Tests/Corpus/truncated-cmt",
    ])
  func fallsBack(input: String) throws {
    let folder = try TemporaryFolder()
    let outcome = try bothWays(
      previous: [FixturePath.readers("webapi/accounts_page1.json"), FixturePath.readers("webapi/accounts_page2.json")],
      current: [FixturePath.root + "/" + input], in: folder)
    #expect(outcome.fellBack)
    #expect(outcome.indexed == outcome.full)
  }

  @Test("a row whose bytes changed after indexing is not decoded as if it were the row indexed")
  func changedUnderfoot() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write("contacts.json", page("contacts", [contact(1), contact(2)]))
    let reader = WebAPIReader(path: path)
    var rows: [IndexedRow] = []
    let (_, context) = try reader.index(file: 0) { event in
      if case .row(_, let row) = event { rows.append(row) }
    }
    #expect(rows.count == 2)
    #expect(try reader.decode(rows, context: context, entity: "contact").count == 2)
    // The same length, so the row is still where the index says it is.
    try folder.write("contacts.json", page("contacts", [contact(1), contact(2, name: "Bob")]))
    #expect(throws: IndexUnavailable.self) { try reader.decode(rows, context: context, entity: "contact") }
    // Shorter: the second row is no longer there at all.
    try folder.write("contacts.json", page("contacts", [contact(1)]))
    let ended = #expect(throws: InputError.self) { try reader.decode(rows, context: context, entity: "contact") }
    #expect(ended?.description.contains("the file ended at byte") == true, "\(String(describing: ended))")

    let xmlPath = try folder.write("contacts.xml", resultset([result(1), result(2)]))
    let xmlReader = FetchXMLReader(path: xmlPath)
    var xmlRows: [IndexedRow] = []
    _ = try xmlReader.index(file: 0) { event in
      if case .row(_, let row) = event { xmlRows.append(row) }
    }
    #expect(xmlRows.count == 2)
    #expect(try xmlReader.decode(xmlRows, entity: "contact").count == 2)
    try folder.write("contacts.xml", resultset([result(1), result(2, name: "Bob")]))
    #expect(throws: IndexUnavailable.self) { try xmlReader.decode(xmlRows, entity: "contact") }
  }
}
