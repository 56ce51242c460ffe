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

  static let id = "aaaa0001-0001-ef11-8409-000d3a8f1a01"
  static let label = "@OData.Community.Display.V1.FormattedValue"
  static let target = "@Microsoft.Dynamics.CRM.lookuplogicalname"
  /// Two shapes both tests' rows take: an etag, a label and a version; a lookup with its table and label.
  static let sharedShapes = [
    ["@odata.etag", "contactid", "fullname", "statecode", "statecode" + label, "versionnumber"],
    ["contactid", "_parentcustomerid_value" + target, "_parentcustomerid_value", "_parentcustomerid_value" + label],
  ]

  @Test("rows of repeating shapes give, by the plan of their names, what member by member gives", arguments: 1...12)
  func againstMemberByMember(seed: UInt64) throws {
    var random = SeededGenerator(seed: seed)
    let (id, label, target) = (Self.id, Self.label, Self.target)
    // Shapes that repeat: a column and its lookup spelling both, a label before and after its column, a label of a
    // column the row lacks, an annotation dynsync does not read, an etag, a version, the id twice, no id, a context.
    let shapes: [[String]] =
      Self.sharedShapes + [
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

  @Test("rows read from their bytes where a scan found them give what member by member gives", arguments: 1...8)
  func scannedAgainstMemberByMember(seed: UInt64) throws {
    var random = SeededGenerator(seed: seed)
    let (id, label) = (Self.id, Self.label)
    // Shapes that repeat, one with a key twice (never a shape: read from its strings) and one with a context.
    let shapesOfNames: [[String]] =
      Self.sharedShapes + [
        ["_ownerid_value", "contactid", "createdon", "birthdate", "revenue", "interests" + label, "interests"],
        ["fullname", "statecode", "@odata.etag", "@odata.etag", "contactid", "contactid"],
        ["@odata.context", "id", "reason", "contactid"],
      ]
    // Texts that read as ids (in either case), dates, instants (one of a date-only column), choices and words; some
    // with an escape, whose bytes are not their text.
    let strings = [
      id, id.uppercased(), "not an id", "2025-03-04T18:02:44Z", "2025-03-04T18:02:44.120+02:00", "2025-03-04", "1,3",
      "Active", #"W/\"2874124\""#, "", #"caf\u00e9"#, "café", #"line\nbreak"#,
    ]
    let numbers = ["12", "1.50", "-3", "0", "99999999999999999999", "1e3", "-0.0"]
    func value() -> String {
      switch Int.random(in: 0..<10, using: &random) {
      case 0..<4: "\"" + strings[Int.random(in: 0..<strings.count, using: &random)] + "\""
      case 4..<6: numbers[Int.random(in: 0..<numbers.count, using: &random)]
      case 6: Bool.random(using: &random) ? "true" : "false"
      case 7, 8: "null"
      default: #"{"a":[1,"b"]}"#
      }
    }
    let context = try #require(ODataContext("https://org.crm.dynamics.com/api/data/v9.2/$metadata#contacts"))
    var decoder = WebAPIRecordDecoder(path: "contacts.json", context: context)
    var scan = JSONObjectScan()
    var shapes = RecentRowKeys<Void>()
    var records = 0
    for row in 0..<600 {
      let names = shapesOfNames[Int.random(in: 0..<shapesOfNames.count, using: &random)]
      let members = names.map { name in
        "\"\(name)\":" + (name == "contactid" && Int.random(in: 0..<8, using: &random) > 0 ? "\"\(id)\"" : value())
      }
      let bytes = Array(("{" + members.joined(separator: ",") + "}").utf8)
      try bytes.withUnsafeBytes { bytes in
        #expect(scan.scan(bytes) == bytes.count)
        // Both from the same state: the table settled by the rows before, or not yet.
        var memberByMember = decoder
        let lexer = JSONLexer(bytes: bytes, path: "contacts.json", offset: 0, line: row + 1, column: 3)
        let expected = memberByMember.decodeMemberByMember(try RawJSONRecord.read(from: lexer))
        let event = try decoder.decode(scanned: bytes, by: scan, shapes: &shapes, offset: 0, line: row + 1, column: 3)
        #expect(WebAPIRecordDecoderTests.same(event, expected), "\(String(decoding: bytes, as: UTF8.self))")
        if case .record = event { records += 1 }
      }
    }
    #expect(records > 150)
  }
}
