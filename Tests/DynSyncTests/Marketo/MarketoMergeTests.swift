import DynSyncCore
import Testing

/// A small org built in memory: ids are readable (`lead 1` → `00000000-0000-0000-0001-000000000001`).
struct Org {
  var records: [Record] = []

  static func id(_ kind: Int, _ number: Int) -> GUID { GUID(high: UInt64(kind), low: UInt64(number)) }
  static let leadKind = 1, contactKind = 2, accountKind = 3, userKind = 4, teamKind = 5, opportunityKind = 6
  static let projectKind = 7, taskKind = 8

  @discardableResult
  mutating func add(_ entity: String, _ id: GUID, _ fields: Fields, labels: Labels = [:])
    -> GUID
  {
    records.removeAll { $0.id == id }
    records.append(Record(entity: entity, id: id, fields: fields, labels: labels, origin: SourcePosition(file: "org")))
    return id
  }

  mutating func remove(_ id: GUID) { records.removeAll { $0.id == id } }

  mutating func update(_ id: GUID, _ fields: Fields) {
    guard let index = records.firstIndex(where: { $0.id == id }) else { return }
    records[index].fields.merge(fields) { $1 }
  }

  var snapshot: Snapshot {
    var builder = SnapshotBuilder()
    for record in records { builder.add(.record(record)) }
    return builder.build()
  }

  func merge(after previous: MarketoDatasets = MarketoDatasets()) -> MarketoDatasets {
    MarketoMerge().merge(dynamics: snapshot, previous: previous)
  }
}

func lookup(_ entity: String, _ id: GUID) -> FieldValue { .lookup(Lookup(entity: entity, id: id)) }

extension MarketoDatasets {
  /// The person standing for a Dynamics lead or contact.
  func person(for id: GUID) -> MarketoRow? {
    persons.rows.values.first { $0["msftId"] == .string(id.description) }
  }
}

@Suite("Marketo merge rules")
struct MarketoMergeTests {
  let lead1 = Org.id(Org.leadKind, 1)
  let contact1 = Org.id(Org.contactKind, 1)
  let account1 = Org.id(Org.accountKind, 1)

  @Test(
    "the sync filter: absent, empty or Yes syncs; only No keeps a record out",
    arguments: [
      (FieldValue?.none, true), (.some(.null), true), (.some(.boolean(true)), true), (.some(.boolean(false)), false),
    ])
  func filterStates(filter: FieldValue?, synced: Bool) {
    var org = Org()
    var fields: Fields = ["lastname": .string("Ruiz")]
    if let filter { fields["new_synctomkto"] = filter }
    org.add("contact", contact1, fields)
    #expect((org.merge().person(for: contact1) != nil) == synced)
  }

  @Test("Yes → No keeps the person, frozen and marked not syncing; No → Yes updates it again")
  func filterTransitions() throws {
    var org = Org()
    org.add("contact", contact1, ["lastname": .string("Ruiz"), "new_synctomkto": .boolean(true)])
    let first = org.merge()
    let id = try #require(first.person(for: contact1)?["id"])

    org.update(contact1, ["lastname": .string("Ruiz-Diaz"), "new_synctomkto": .boolean(false)])
    let second = org.merge(after: first)
    let frozen = try #require(second.person(for: contact1))
    #expect(frozen["id"] == id)
    #expect(frozen["lastName"] == .string("Ruiz"), "frozen: the change while not syncing is not taken")
    #expect(frozen["msftSyncing"] == .boolean(false))

    org.update(contact1, ["new_synctomkto": .boolean(true)])
    let third = org.merge(after: second)
    let resumed = try #require(third.person(for: contact1))
    #expect(resumed["id"] == id)
    #expect(resumed["lastName"] == .string("Ruiz-Diaz"))
    #expect(resumed["msftSyncing"] == .boolean(true))
  }

  @Test("an opportunity turned No stays, not syncing; one deleted stays, flagged deleted (each beside its company id)")
  func opportunityFilterAndDelete() throws {
    var org = Org()
    org.add("account", account1, ["name": .string("Litware")])
    let turnedNo = org.add(
      "opportunity", Org.id(Org.opportunityKind, 1), ["name": .string("A"), "customerid": lookup("account", account1)])
    let deleted = org.add(
      "opportunity", Org.id(Org.opportunityKind, 2), ["name": .string("B"), "customerid": lookup("account", account1)])
    let first = org.merge()
    org.update(turnedNo, ["new_synctomkto": .boolean(false)])
    org.remove(deleted)
    let second = org.merge(after: first)
    let frozen = try #require(second.opportunities.rows[turnedNo.description])
    #expect(frozen["msftSyncing"] == .boolean(false) && frozen["msftIsDeleted"] == .boolean(false))
    let gone = try #require(second.opportunities.rows[deleted.description])
    #expect(gone["msftSyncing"] == .boolean(true) && gone["msftIsDeleted"] == .boolean(true))
  }

  @Test("No → Yes on a record never synced creates its person")
  func filterNoToYes() {
    var org = Org()
    org.add("lead", lead1, ["lastname": .string("Okafor"), "new_synctomkto": .boolean(false)])
    let first = org.merge()
    #expect(first.persons.rows.isEmpty)
    org.update(lead1, ["new_synctomkto": .boolean(true)])
    #expect(org.merge(after: first).person(for: lead1)?["msftType"] == .string("Lead"))
  }

  @Test("a delete in Dynamics flags the person deleted and keeps it")
  func deleteFlag() throws {
    var org = Org()
    org.add("lead", lead1, ["lastname": .string("Okafor")])
    let first = org.merge()
    org.remove(lead1)
    let second = org.merge(after: first)
    let person = try #require(second.person(for: lead1))
    #expect(person["msftIsDeleted"] == .boolean(true))
    #expect(person["lastName"] == .string("Okafor"))
    #expect(person["id"] == first.person(for: lead1)?["id"])
  }

  /// Lead filter / contact filter → what Marketo holds after qualification (rules doc, item 45).
  @Test(
    "qualification, in all four filter combinations",
    arguments: [(true, true), (false, true), (true, false), (false, false)])
  func qualification(leadSyncs: Bool, contactSyncs: Bool) throws {
    var org = Org()
    org.add(
      "lead", lead1, ["lastname": .string("Ruiz"), "new_synctomkto": .boolean(leadSyncs), "statecode": .optionSet(0)])
    let before = org.merge()
    let leadPerson = before.person(for: lead1)
    #expect((leadPerson != nil) == leadSyncs)

    org.update(lead1, ["statecode": .optionSet(1), "statuscode": .optionSet(3)])
    org.add(
      "contact", contact1,
      [
        "lastname": .string("Ruiz"), "originatingleadid": lookup("lead", lead1),
        "new_synctomkto": .boolean(contactSyncs),
      ])
    let after = org.merge(after: before)
    switch (leadSyncs, contactSyncs) {
    case (true, true):
      let person = try #require(after.person(for: contact1))
      #expect(person["id"] == leadPerson?["id"], "the contact takes over the lead's person")
      #expect(person["msftType"] == .string("Contact"))
      #expect(person["msftLeadId"] == .string(lead1.description))
      #expect(after.persons.rows.count == 1)
    case (false, true):
      let person = try #require(after.person(for: contact1))
      #expect(person["msftType"] == .string("Contact"))
      #expect(after.persons.rows.count == 1, "a new contact person")
    case (true, false):
      #expect(after.person(for: contact1) == nil)
      #expect(after.person(for: lead1)?["leadStatusValue"] == .integer(1), "the lead's person is updated")
    case (false, false):
      #expect(after.persons.rows.isEmpty)
    }
  }

  @Test("a team owner leaves the owner fields empty and records the team; a user fills them")
  func owners() throws {
    var org = Org()
    let user = org.add(
      "systemuser", Org.id(Org.userKind, 1),
      [
        "firstname": .string("Sam"), "lastname": .string("Admin"),
        "internalemailaddress": .string("sam@contoso.example"),
      ])
    let team = org.add("team", Org.id(Org.teamKind, 1), ["name": .string("Sales")])
    org.add("lead", lead1, ["lastname": .string("A"), "ownerid": lookup("systemuser", user)])
    org.add("lead", Org.id(Org.leadKind, 2), ["lastname": .string("B"), "ownerid": lookup("team", team)])
    let datasets = org.merge()
    let userOwned = try #require(datasets.person(for: lead1))
    #expect(userOwned["leadOwnerEmailAddress"] == .string("sam@contoso.example"))
    #expect(userOwned["msftOwnerId"] == .string(user.description))
    let teamOwned = try #require(datasets.person(for: Org.id(Org.leadKind, 2)))
    #expect(teamOwned["leadOwnerEmailAddress"] == nil && teamOwned["leadOwnerFirstName"] == nil)
    #expect(teamOwned["msftOwnerTeamId"] == .string(team.description))
    #expect(datasets.salesUsers.rows[user.description]?["email"] == .string("sam@contoso.example"))
  }

  @Test("an account change flows to every person of the account")
  func accountFlows() throws {
    var org = Org()
    org.add(
      "account", account1, ["name": .string("Litware"), "industrycode": .optionSet(7)],
      labels: ["industrycode": "Consulting"])
    for n in 1...3 {
      org.add(
        "contact", Org.id(Org.contactKind, n),
        ["lastname": .string("P\(n)"), "parentcustomerid": lookup("account", account1)])
    }
    let first = org.merge()
    #expect(
      first.persons.rows.values.allSatisfy {
        $0["company"] == .string("Litware") && $0["industry"] == .string("Consulting")
      })
    #expect(first.person(for: contact1)?["industryValue"] == .integer(7))
    org.update(account1, ["name": .string("Litware International")])
    let second = org.merge(after: first)
    #expect(second.persons.rows.count == 3)
    #expect(second.persons.rows.values.allSatisfy { $0["company"] == .string("Litware International") })
    #expect(second.companies.rows[account1.description]?["company"] == .string("Litware International"))
  }

  @Test("opportunities: a contact customer gets a role and the contact's company; an account customer no role")
  func opportunities() throws {
    var org = Org()
    org.add("account", account1, ["name": .string("Litware")])
    org.add("contact", contact1, ["lastname": .string("Ruiz"), "parentcustomerid": lookup("account", account1)])
    let stakeholder = org.add("contact", Org.id(Org.contactKind, 2), ["lastname": .string("Okafor")])
    let byContact = org.add(
      "opportunity", Org.id(Org.opportunityKind, 1),
      ["name": .string("A"), "customerid": lookup("contact", contact1), "statecode": .optionSet(1)])
    let byAccount = org.add(
      "opportunity", Org.id(Org.opportunityKind, 2),
      ["name": .string("B"), "customerid": lookup("account", account1), "statecode": .optionSet(0)])
    org.add(
      "connection", Org.id(9, 1),
      ["record1id": lookup("opportunity", byAccount), "record2id": lookup("contact", stakeholder)],
      labels: ["record2roleid": "Decision Maker"])
    let datasets = org.merge()
    let first = try #require(datasets.opportunities.rows[byContact.description])
    #expect(first["externalCompanyId"] == .string(account1.description))
    #expect(first["isWon"] == .boolean(true) && first["isClosed"] == .boolean(true))
    #expect(datasets.opportunities.rows[byAccount.description]?["externalCompanyId"] == .string(account1.description))
    let roles = datasets.opportunityRoles.rows.values
    #expect(roles.count == 2)
    let contactPerson = try #require(datasets.person(for: contact1)?["id"])
    #expect(
      roles.contains {
        $0["externalOpportunityId"] == .string(byContact.description) && $0["leadId"] == contactPerson
          && $0["role"] == .string("Potential Customer")
      })
    #expect(
      roles.contains {
        $0["externalOpportunityId"] == .string(byAccount.description) && $0["role"] == .string("Decision Maker")
      })
    #expect(
      !roles.contains {
        $0["externalOpportunityId"] == .string(byAccount.description) && $0["role"] == .string("Potential Customer")
      })
  }

  @Test("custom objects linked one and two levels deep; unlinked rows are not synced")
  func customObjects() throws {
    var org = Org()
    org.add("account", account1, ["name": .string("Litware")])
    let project = org.add(
      "cr123_project", Org.id(Org.projectKind, 1),
      ["cr123_name": .string("P"), "cr123_accountid": lookup("account", account1)])
    let task = org.add(
      "cr123_task", Org.id(Org.taskKind, 1),
      ["cr123_name": .string("T"), "cr123_projectid": lookup("cr123_project", project)])
    org.add("cr123_task", Org.id(Org.taskKind, 2), ["cr123_name": .string("orphan")])
    let datasets = org.merge()
    let projectRow = try #require(datasets.customObjects["cr123_project"]?.rows[project.description])
    #expect(projectRow["externalCompanyId"] == .string(account1.description))
    #expect(projectRow["msftLinkPath"] == .string("cr123_accountid"))
    let taskRow = try #require(datasets.customObjects["cr123_task"]?.rows[task.description])
    #expect(taskRow["externalCompanyId"] == .string(account1.description))
    #expect(taskRow["msftLinkPath"] == .string("cr123_projectid>cr123_accountid"))
    #expect(datasets.customObjects["cr123_task"]?.rows.count == 1)
  }

  @Test("person ids are assigned once, in a stable order, and kept across runs")
  func stableIDs() throws {
    var org = Org()
    for n in 1...3 { org.add("lead", Org.id(Org.leadKind, n), ["lastname": .string("L\(n)")]) }
    let first = org.merge()
    #expect(org.merge() == first, "the same state merges to the same datasets")
    org.add("lead", Org.id(Org.leadKind, 0), ["lastname": .string("New")])
    let second = org.merge(after: first)
    for n in 1...3 {
      #expect(second.person(for: Org.id(Org.leadKind, n))?["id"] == first.person(for: Org.id(Org.leadKind, n))?["id"])
    }
    #expect(second.person(for: Org.id(Org.leadKind, 0))?["id"] == .integer(4))
  }

  @Test("a person is found by its record's id however the id is spelled (capitals, braces), as ids compare")
  func idSpellings() throws {
    var org = Org()
    for n in 1...2 { org.add("lead", Org.id(Org.leadKind, n), ["lastname": .string("L\(n)")]) }
    var previous = org.merge()
    for (key, row) in previous.persons.rows {
      guard case .string(let id) = row["msftId"] else { continue }
      previous.persons.rows[key]?["msftId"] = .string(key == "1" ? id.uppercased() : "{" + id + "}")
    }
    let next = org.merge(after: previous)
    #expect(next.persons.rows.count == 2, "no second person for a record whose id is spelled another way")
    #expect(Set(next.persons.rows.keys) == ["1", "2"])
  }

  @Test("Row keys go numerically when they are all numbers, by text otherwise; one order for the same keys")
  func keyOrder() {
    let ids = ["10", "9", "07", "7", "-1", "100", "+7"]
    #expect(MarketoDataset.sorted(ids) == ["-1", "+7", "07", "7", "9", "10", "100"])
    #expect(MarketoDataset.sorted(ids.reversed()) == MarketoDataset.sorted(ids))
    let mixed = ["b", "10", "a", "9"]
    #expect(MarketoDataset.sorted(mixed) == mixed.sorted(by: MarketoDataset.keyPrecedes))
    let guids = ["7d8f2304-b35a-6d44-069d-3e2f043e1d91", "0002fdbf-fa26-f5d0-529f-4f8888725f11"]
    #expect(MarketoDataset.sorted(guids) == guids.sorted())
    let dataset = MarketoDataset(rows: Dictionary(uniqueKeysWithValues: ids.map { ($0, MarketoRow()) }))
    #expect(dataset.sortedKeys == MarketoDataset.sorted(ids))
  }
}
