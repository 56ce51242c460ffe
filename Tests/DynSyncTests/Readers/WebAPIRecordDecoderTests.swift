import DynSyncArtifacts
import DynSyncCore
import Testing

@testable import DynSyncReaders

@Suite("Web API rows decoded by the plan of their names")
struct WebAPIRecordDecoderTests {
  /// The same event, compared as a record's state line, version and origin, or a reject's message.
  static func same(_ planned: ReadEvent, _ read: ReadEvent) -> Bool {
    switch (planned, read) {
    case (.record(let planned), .record(let read)):
      StateCodec.line(planned) == StateCodec.line(read) && planned.version == read.version
        && planned.origin == read.origin
    case (.reject(let planned), .reject(let read)): planned.description == read.description
    case (.deletion(let planned), .deletion(let read)): planned.id == read.id && planned.reason == read.reason
    default: false
    }
  }

  @Test("rows of repeating shapes give, by the plan of their names, what member by member gives", arguments: 1...12)
  func againstMemberByMember(seed: UInt64) throws {
    var random = SeededGenerator(seed: seed)
    let id = "aaaa0001-0001-ef11-8409-000d3a8f1a01"
    let label = "@OData.Community.Display.V1.FormattedValue"
    let target = "@Microsoft.Dynamics.CRM.lookuplogicalname"
    // Shapes that repeat: a column and its lookup spelling both, a label before and after its column, a label of a
    // column the row lacks, an annotation dynsync does not read, an etag, a version, the id twice, no id, a context.
    let shapes: [[String]] = [
      ["@odata.etag", "contactid", "fullname", "statecode", "statecode" + label, "versionnumber"],
      ["contactid", "_parentcustomerid_value" + target, "_parentcustomerid_value", "_parentcustomerid_value" + label],
      ["_ownerid_value", "contactid", "parentcustomerid", "_parentcustomerid_value", "createdon"],
      ["revenue" + label, "revenue", "contactid", "birthdate", "other@Some.Annotation", "industrycode" + label],
      ["fullname", "statecode", "@odata.etag", "@odata.etag", "contactid", "contactid"],
      ["fullname", "emailaddress1", "interests" + label, "interests"],
      ["@odata.context", "id", "reason", "contactid"],
      ["contactid", "a", "b", "c", "d", "e", "f", "statecode" + label],
      // Two labels of one column, and two tables of one lookup, under two spellings of its name: the last that is
      // text counts.
      ["contactid", "statecode", "statecode" + label, "_statecode_value" + label],
      ["contactid", "_parentcustomerid_value", "parentcustomerid" + target, "_parentcustomerid_value" + target],
    ]
    let strings = [
      id, "not an id", "2025-03-04T18:02:44Z", "2025-03-04", "1,3", "Active", "W/\"2874124\"", "",
      "$metadata#contacts/$deletedEntity",
    ]
    func value() -> JSONScalar {
      switch Int.random(in: 0..<10, using: &random) {
      case 0..<4: .string(strings.randomElement(using: &random)!)
      case 4..<6: .number(["12", "1.50", "-3", "x", "99999999999999999999"].randomElement(using: &random)!)
      case 6: .bool(Bool.random(using: &random))
      case 7, 8: .null
      default: .nested
      }
    }
    let context = try #require(ODataContext("https://org.crm.dynamics.com/api/data/v9.2/$metadata#contacts"))
    var planned = WebAPIRecordDecoder(path: "contacts.json", context: context)
    var records = 0
    for row in 0..<400 {
      let names = shapes.randomElement(using: &random)!
      var members: [(name: String, value: JSONScalar)] = []
      for name in names {
        // The id mostly a GUID, so that most rows are records; a name made again for each row.
        let scalar = name == "contactid" && Int.random(in: 0..<8, using: &random) > 0 ? .string(id) : value()
        members.append((String(decoding: Array(name.utf8), as: UTF8.self), scalar))
      }
      let duplicate = Dictionary(grouping: names, by: { $0 }).first { $0.value.count > 1 }?.key
      let raw = RawJSONRecord(line: row + 1, column: 3, members: members, duplicateKey: duplicate)
      // Both from the same state: the table settled by the rows before, or not yet.
      var memberByMember = planned
      let expected = memberByMember.decodeMemberByMember(raw)
      let event = planned.decode(raw)
      #expect(WebAPIRecordDecoderTests.same(event, expected), "\(members)")
      if case .record = event { records += 1 }
    }
    // Enough rows are records to say anything of the plans.
    #expect(records > 100)
  }
}
