import DynSync
import Foundation
import Testing

@testable import DynSyncReaders

@Suite("Configuration Migration tool reader")
struct CMTReaderTests {
  @Test(
    "the types whose values are parsed, and only those, refuse a value that is not theirs",
    arguments: [
      "string", "memo", "number", "bigint", "int", "integer", "decimal", "money", "float", "double", "bool", "boolean",
      "datetime", "guid", "uniqueidentifier", "optionsetvalue", "state", "status", "picklist",
      "optionsetvaluecollection", "entityreference", "owner", "customer", "lookup", "partylist", "image",
    ])
  func typesThatTakeAnyValue(type: String) {
    let field = CMTSchema.Field(name: "column", type: type, lookupType: nil)
    let refused = (try? CMTReader.value("not a value", lookupEntity: nil, of: field).get()) == nil
    #expect(refused == !field.kind.takesAnyValue)
  }

  @Test(
    "a datetime is a date at midnight without a zone or in a DateOnly column, else an instant, whatever characters follow",
    arguments: [
      ("modifiedon", "2025-06-28T19:06:20Z", instant("2025-06-28T19:06:20Z")),
      ("modifiedon", "2025-06-28T00:00:00.0000000", day("2025-06-28")),
      ("modifiedon", "2025-06-28T21:06:20.5000+02:00", instant("2025-06-28T19:06:20.5Z")),
      ("birthdate", "1988-04-05T13:00:00Z", day("1988-04-05")),
      ("birthdate", "1988-04-05", day("1988-04-05")),
      ("modifiedon", "2025-06-28T00:00:00０", nil),
      ("birthdate", "1988-04-05T00:00:00０", day("1988-04-05")),
      ("birthdate", "１988-04-05", nil),
      ("modifiedon", "2025-02-30T10:00:00Z", nil),
    ] as [(String, String, FieldValue?)])
  func dateTimes(column: String, text: String, expected: FieldValue?) {
    let field = CMTSchema.Field(name: column, type: "datetime", lookupType: nil)
    #expect((try? CMTReader.value(text, lookupEntity: nil, of: field).get()) == expected)
  }

  @Test("data.xml is typed by data_schema.xml; strings are decoded exactly once more")
  func typedRecords() throws {
    let (events, summary) = try readEvents(FixturePath.readers("cmt"))
    #expect(summary.format == .configurationMigration)
    #expect(events.rejects.isEmpty)
    let records = events.records
    let account = try #require(records.first { $0.entity == "account" })
    #expect(account["name"] == .string(#"Root <""> ''é&&@ \ /"#))
    #expect(account["revenue"] == decimal("20000"))
    #expect(account["industrycode"] == .optionSet(7))
    #expect(account["numberofemployees"] == .integer(250))
    #expect(account["creditonhold"] == .boolean(false))
    #expect(account["createdon"] == instant("2025-06-28T19:06:20Z"))
    #expect(
      account["ownerid"] == .lookup(Lookup(entity: "systemuser", id: guid("5a5a5a5a-0001-0000-0000-000000000001"))))
    #expect(account.labels["ownerid"] == "Sam Admin")

    let contact = try #require(records.first { $0.entity == "contact" })
    if case .lookup(let company) = contact["parentcustomerid"] {
      #expect(company.entity == "account")
      #expect(company.id == account.id)
    } else {
      Issue.record("parentcustomerid is not a lookup")
    }
    #expect(contact.labels["parentcustomerid"] == #"Root <""> ''é&&@ \ /"#, "lookup names are not HTML-encoded")
    #expect(contact["birthdate"] == day("1988-04-05"))
    #expect(contact["new_interests"] == .multiSelect([2, 8, 9]))
  }

  @Test("many-to-many team membership becomes association rows of the intersect table")
  func manyToMany() throws {
    let records = try readEvents(FixturePath.readers("cmt")).events.records
    let memberships = records.filter { $0.entity == "teammembership" }
    try #require(memberships.count == 2)
    let team = guid("7e7e7e7e-0001-0000-0000-000000000001")
    #expect(memberships.allSatisfy { $0["teamid"] == .lookup(Lookup(entity: "team", id: team)) })
    #expect(
      Set(memberships.map { $0["systemuserid"] }) == [
        .lookup(Lookup(entity: "systemuser", id: guid("5a5a5a5a-0001-0000-0000-000000000001"))),
        .lookup(Lookup(entity: "systemuser", id: guid("5a5a5a5a-0001-0000-0000-000000000002"))),
      ])
    let again = try readEvents(FixturePath.readers("cmt")).events.records.filter { $0.entity == "teammembership" }
    #expect(again.map(\.id) == memberships.map(\.id), "association ids are stable across reads")
  }

  @Test("a data.zip package reads to the same records, with positions naming the package entry")
  func package() throws {
    let zip = FixturePath.readers("cmt-zip/data.zip")
    let (packed, summary) = try readEvents(zip)
    let loose = try readEvents(FixturePath.readers("cmt")).events.records
    #expect(summary.path == zip)
    #expect(packed.records == loose)
    #expect(packed.records.first?.origin.file == zip + "!data.xml")
    #expect(packed.records.first?.origin.line == loose.first?.origin.line)
  }

  @Test("a package without its schema is refused clearly")
  func packageWithoutSchema() throws {
    let folder = try TemporaryFolder()
    let path = folder.path + "/data.zip"
    // A stored (uncompressed) ZIP holding only data.xml.
    let data = Array("<entities/>".utf8)
    var zip: [UInt8] = []
    func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
    func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) } }
    let crc = crc32(data)
    let name = Array("data.xml".utf8)
    let local =
      [0x50, 0x4B, 0x03, 0x04] + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
      + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(name.count) + le16(0) + name + data
    let central =
      [0x50, 0x4B, 0x01, 0x02] + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0)
      + le32(crc) + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(name.count) + le16(0) + le16(0)
      + le16(0) + le16(0) + le32(0) + le32(0) + name
    zip =
      local + central + [0x50, 0x4B, 0x05, 0x06] + le16(0) + le16(0) + le16(1) + le16(1)
      + le32(UInt32(central.count)) + le32(UInt32(local.count)) + le16(0)
    try Data(zip).write(to: URL(fileURLWithPath: path))
    #expect {
      _ = try readEvents(path)
    } throws: { error in
      let error = try #require(error as? InputError)
      return error.file == path && error.reason == "the package has no data_schema.xml"
    }
  }

  func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
  }
}
