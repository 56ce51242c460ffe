import DynSync
import DynSyncReaders
import Testing

@Suite("Web API JSON reader")
struct WebAPIReaderTests {
  @Test("a collection page yields typed canonical records, field by field")
  func collectionPage() throws {
    let (events, summary) = try readEvents(FixturePath.readers("webapi/accounts_page1.json"))
    #expect(summary.format == .webAPI)
    #expect(summary.kind == .full)
    #expect(summary.hasNextPage)
    let records = events.records
    try #require(records.count == 2)
    let litware = records[0]
    #expect(litware.entity == "account")
    #expect(litware.id.description == "aaaa0001-0001-ef11-8409-000d3a8f1a01")
    #expect(litware["name"] == .string("Litware, Inc. (sample)"))
    #expect(litware["revenue"] == decimal("20000"))
    guard case .decimal(let revenue) = litware["revenue"] else {
      Issue.record("revenue not decimal")
      return
    }
    #expect(revenue.written == "20000.0000")
    #expect(litware["industrycode"] == .optionSet(7))
    #expect(litware.labels["industrycode"] == "Consulting")
    #expect(litware["numberofemployees"] == .integer(250))
    guard case .integer = litware["numberofemployees"] else {
      Issue.record("employees not integer")
      return
    }
    #expect(litware["modifiedon"] == instant("2023-04-07T21:59:01Z"))
    #expect(
      litware["ownerid"] == .lookup(Lookup(entity: "systemuser", id: guid("5a5a5a5a-0001-0000-0000-000000000001"))))
    if case .lookup(let owner) = litware["ownerid"] { #expect(owner.entity == "systemuser") }
    #expect(litware.labels["ownerid"] == "Sam Admin")
    #expect(
      litware["transactioncurrencyid"] == .lookup(Lookup(entity: nil, id: guid("228f42f8-e646-e111-8eb7-78e7d162ced1")))
    )
    #expect(litware["creditonhold"] == .boolean(false))
    #expect(litware.version == 81_052_965)
    #expect(litware.fields["accountid"] == nil, "the primary id is the record id, not a column")
    #expect(litware.origin.line == 6)

    let fabrikam = records[1]
    #expect(fabrikam["name"] == .string("Fabrikam \"West\" étude"))
    #expect(fabrikam.fields["revenue"] == .null)
    if case .lookup(let owner) = fabrikam["ownerid"] { #expect(owner.entity == "team") }
  }

  @Test("pages linked by @odata.nextLink read as one table; a missing last page is a problem")
  func paging() throws {
    let both = try loadSnapshot(from: [
      FixturePath.readers("webapi/accounts_page1.json"), FixturePath.readers("webapi/accounts_page2.json"),
    ])
    #expect(both.tables["account"]?.records.count == 3)
    #expect(both.problems.isEmpty)
    #expect(both.isComplete)

    let first = try loadSnapshot(from: [FixturePath.readers("webapi/accounts_page1.json")])
    #expect(first.problems.count == 1)
    #expect(first.problems.first?.contains("last page is missing") == true)
    #expect(!first.isComplete)
  }

  @Test("a change-tracking page carries updates and $deletedEntity deletions")
  func delta() throws {
    let (events, summary) = try readEvents(FixturePath.readers("webapi/accounts_delta.json"))
    #expect(summary.kind == .delta)
    #expect(summary.deltaLink?.contains("$deltatoken=") == true)
    #expect(events.records.map(\.id) == [guid("aaaa0001-0001-ef11-8409-000d3a8f1a01")])
    let deletion = try #require(events.deletions.first)
    #expect(deletion.entity == "account")
    #expect(deletion.id == guid("aaaa0002-0001-ef11-8409-000d3a8f1a01"))
    #expect(deletion.reason == "deleted")
    let snapshot = try loadSnapshot(from: [FixturePath.readers("webapi/accounts_delta.json")])
    #expect(snapshot.tables["account"]?.kind == .delta)
  }

  /// A change-tracking page of the entity set `setName` holding one `$deletedEntity` entry and nothing else.
  static func deletionAlone(of setName: String, in folder: TemporaryFolder) throws -> String {
    let metadata = "https://x/api/data/v9.2/$metadata#" + setName
    return try folder.write(
      setName + "_delta.json",
      #"{"@odata.context":"\#(metadata)/$delta","value":[{"@odata.context":"\#(metadata)/$deletedEntity","#
        + #""id":"aaaa0002-0001-ef11-8409-000d3a8f1a01","reason":"deleted"}],"#
        + #""@odata.deltaLink":"https://x/api/data/v9.2/\#(setName)?$deltatoken=1"}"#)
  }

  @Test("a change-tracking page of deletions alone names the table its set name stands for")
  func deltaOfDeletionsAlone() throws {
    let folder = try TemporaryFolder()
    let path = try Self.deletionAlone(of: "accounts", in: folder)
    let (events, summary) = try readEvents(path)
    #expect(summary.entities == ["account"])
    #expect(events.deletions.map(\.entity) == ["account"])
    let snapshot = try loadSnapshot(from: [path])
    #expect(Set(snapshot.tables.keys) == ["account"])
    #expect(snapshot.tables["account"]?.kind == .delta)
  }

  @Test("a $deletedEntity entry of an intersect table is rejected, not let go: it cannot name the association")
  func deltaDeletionOfAssociation() throws {
    let folder = try TemporaryFolder()
    let (events, _) = try readEvents(try Self.deletionAlone(of: "teammemberships", in: folder))
    #expect(events.deletions.isEmpty)
    let reject = try #require(events.rejects.first)
    #expect(reject.entity == "teammembership")
    #expect(reject.description.contains("export teammembership whole"))
  }

  @Test("the initial change-tracking response has a delta link but holds every row: a full export")
  func initialChangeTracking() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      "accounts.json",
      #"""
      {"@odata.context":"https://x/api/data/v9.0/$metadata#accounts(name,accountnumber,telephone1,fax)",
       "@odata.deltaLink":"https://x/api/data/v9.0/accounts?$select=name&$deltatoken=919042%2108%2f22%2f2017%2008%3a10%3a44",
       "value":[{"@odata.etag":"W/\"915244\"","name":"Monte Orton","accountnumber":null,"accountid":"60c4e274-0d87-e711-80e5-00155db19e6d"}]}
      """#)
    let (_, summary) = try readEvents(path)
    #expect(summary.kind == .full)
    #expect(summary.deltaLink?.contains("$deltatoken=") == true)
  }

  @Test("customer lookups, date-only, multi-select, booleans and nulls")
  func contactTypes() throws {
    let contact = try #require(try readEvents(FixturePath.readers("webapi/contacts.json")).events.records.first)
    #expect(contact.entity == "contact")
    #expect(contact["birthdate"] == day("1988-04-05"))
    #expect(contact["new_interests"] == .multiSelect([2, 8, 9]))
    #expect(contact.labels["new_interests"] == "Hiking; Skiing; Camping")
    #expect(contact["new_synctomkto"] == .boolean(true))
    #expect(contact["statecode"] == .optionSet(0))
    #expect(
      contact["parentcustomerid"]
        == .lookup(Lookup(entity: "account", id: guid("aaaa0001-0001-ef11-8409-000d3a8f1a01"))))
    #expect(contact.fields["originatingleadid"] == .null)
    #expect(contact["createdon"] == instant("2025-03-04T18:02:44Z"))
  }

  @Test("entity set names map to logical names, checked against the primary id column")
  func entitySets() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      "projects.json",
      #"{"@odata.context":"https://x/api/data/v9.2/$metadata#cr123_projects","value":[{"cr123_name":"P","cr123_projectid":"00000000-0000-0000-0000-0000000000a1"}]}"#
    )
    let record = try #require(try readEvents(path).events.records.first)
    #expect(record.entity == "cr123_project")
    let opportunities = try folder.write(
      "opps.json",
      #"{"value":[{"name":"Deal","opportunityid":"00000000-0000-0000-0000-0000000000b1"}],"@odata.context":"https://x/api/data/v9.2/$metadata#opportunities(name)"}"#
    )
    let deal = try #require(try readEvents(opportunities).events.records.first)
    #expect(deal.entity == "opportunity", "rows before @odata.context are held until it is known")
  }
}
