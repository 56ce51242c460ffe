import DynSync
import DynSyncReaders
import Testing

@Suite("Configuration Migration tool reader")
struct CMTReaderTests {
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
    #expect(account["ownerid"] == .lookup(Lookup(entity: "systemuser", id: guid("5a5a5a5a-0001-0000-0000-000000000001"))))
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
