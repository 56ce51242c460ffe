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
}
