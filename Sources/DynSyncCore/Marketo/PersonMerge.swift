/// Person ids dynsync has assigned, found again from the previous persons dataset.
///
/// A run that holds only some of the previous persons builds it from every person's key and ids, read without the
/// rest of the row.
public struct PersonRegistry: Sendable {
  /// Lead or contact id → person id; a contact that took over its lead's person shares it.
  ///
  /// In shards by id, so that a registry of a million persons is filled on every core (`init(entries:adding:)`).
  fileprivate var shards: [[GUID: Int64]]
  /// Leads whose person a contact has taken over.
  var takenOverLeads = Set<GUID>()
  var nextPersonID: Int64 = 1

  /// One person row's key and the ids its `msftId` and `msftLeadId` name (`FieldValue.namedID`).
  public typealias Entry = (key: String, microsoftID: GUID?, originatingLead: GUID?)

  private static let shardCount = 8

  /// The room a shard makes for a registry of `persons`: its share, and a little over for ids that spread unevenly.
  private static func shardCapacity(for persons: Int) -> Int { persons / shardCount + persons / 64 }

  private static func shard(of id: GUID) -> Int {
    // The top bits of a multiplied word: ids alike in their low bits still spread.
    Int(truncatingIfNeeded: ((id.high ^ id.low) &* 0x9E37_79B9_7F4A_7C15) >> 61)
  }

  /// A registry of no person, for `minimumCapacity` persons to be added.
  public init(minimumCapacity: Int = 0) {
    // Sized once: growing a table of a million ids hashes every id again at each doubling.
    shards = (0..<PersonRegistry.shardCount).map { _ in
      [GUID: Int64](minimumCapacity: PersonRegistry.shardCapacity(for: minimumCapacity))
    }
  }

  public init(_ persons: MarketoDataset) {
    self.init(minimumCapacity: persons.rows.count)
    add(persons)
  }

  /// The registry of the persons of `entries` (runs of rows, in order), then of the rows of `persons`, as adding
  /// them one by one gives; a shard on each core.
  public init(entries: [[Entry]], adding persons: MarketoDataset) {
    let count = entries.map(\.count).reduce(0, +) + persons.rows.count
    // The held rows' ids, found once for every shard.
    let rows = Array(persons.rows)
    let held = concurrentMap(rows.runs(of: 4_096)) { run in
      run.map { PersonRegistry.entry(key: $0.key, row: $0.value) }
    }
    let shards = concurrentMap(Array(0..<PersonRegistry.shardCount)) { shard in
      var registry = PersonRegistry()
      registry.shards[shard].reserveCapacity(PersonRegistry.shardCapacity(for: count))
      for run in entries {
        for entry in run { registry.add(entry, onlyIn: shard) }
      }
      for run in held {
        for entry in run { registry.add(entry, onlyIn: shard) }
      }
      return registry
    }
    self.init()
    for (index, part) in shards.enumerated() {
      self.shards[index] = part.shards[index]
      takenOverLeads.formUnion(part.takenOverLeads)
      nextPersonID = max(nextPersonID, part.nextPersonID)
    }
  }

  /// The person of a lead or contact.
  subscript(dynamicsID: GUID) -> Int64? {
    get { shards[PersonRegistry.shard(of: dynamicsID)][dynamicsID] }
    set { shards[PersonRegistry.shard(of: dynamicsID)][dynamicsID] = newValue }
  }

  /// Adds every person row of `persons`.
  public mutating func add(_ persons: MarketoDataset) {
    for (key, row) in persons.rows { add(PersonRegistry.entry(key: key, row: row)) }
  }

  private static func entry(key: String, row: MarketoRow) -> Entry {
    (key, row[MarketoField.microsoftID]?.namedID, row[MarketoField.originatingLeadID]?.namedID)
  }

  private mutating func add(_ entry: Entry) {
    guard let id = Int64(entry.key) else { return }
    nextPersonID = max(nextPersonID, id + 1)
    if let microsoftID = entry.microsoftID { self[microsoftID] = id }
    if let lead = entry.originatingLead {
      self[lead] = id
      takenOverLeads.insert(lead)
    }
  }

  /// Adds the ids of a person row that fall in `shard`; the first shard also takes every row's key into the next
  /// person id.
  private mutating func add(_ entry: Entry, onlyIn shard: Int) {
    let ownsID = entry.microsoftID.map { PersonRegistry.shard(of: $0) == shard } ?? false
    let ownsLead = entry.originatingLead.map { PersonRegistry.shard(of: $0) == shard } ?? false
    guard shard == 0 || ownsID || ownsLead, let id = Int64(entry.key) else { return }
    nextPersonID = max(nextPersonID, id + 1)
    if ownsID, let microsoftID = entry.microsoftID { self[microsoftID] = id }
    if ownsLead, let lead = entry.originatingLead {
      self[lead] = id
      takenOverLeads.insert(lead)
    }
  }

  mutating func assign(_ dynamicsID: GUID) -> Int64 {
    if let id = self[dynamicsID] { return id }
    let id = nextPersonID
    nextPersonID += 1
    self[dynamicsID] = id
    return id
  }
}

extension MarketoMerge {
  /// Persons from leads and contacts, and the registry of every person id once they are assigned.
  ///
  /// Contacts are settled first, so that a qualified contact can take over its lead's person;
  /// new ids are handed out in a stable order (contacts, then leads, each by Dynamics id).
  func persons(
    _ dynamics: Snapshot, previous: MarketoDataset, accounts: [GUID: Record], users: [GUID: Record],
    teams: [GUID: Record], unchangedAccounts: Set<GUID> = [], registry previousRegistry: PersonRegistry? = nil,
    rebuilt: RebuiltRows
  ) -> (persons: MarketoDataset, registry: PersonRegistry) {
    let leads = dynamics.tables["lead"]?.records ?? [:]
    let contacts = dynamics.tables["contact"]?.records ?? [:]
    var registry = previousRegistry ?? PersonRegistry(previous)
    let contactsBuilt = rebuilt.records(of: contacts).sorted(by: { $0.id < $1.id })
    let leadsBuilt = rebuilt.records(of: leads).sorted(by: { $0.id < $1.id })
    var current: [String: MarketoRow] = [:]
    current.reserveCapacity(contactsBuilt.count + leadsBuilt.count)
    var filtered = Set<String>()
    // Contacts first, then leads, each by id: the order ids are handed out in.
    var planned: [(record: Record, personID: Int64, takenLead: String?)] = []
    planned.reserveCapacity(contactsBuilt.count + leadsBuilt.count)

    for contact in contactsBuilt {
      let contactID = contact.id
      guard MarketoValues.passesFilter(contact) else {
        filtered.insert(contactID.description)
        continue
      }
      let existing = registry[contactID]
      var takenLead: String?
      if let existing, case .string(let lead) = previous.rows[String(existing)]?[MarketoField.originatingLeadID] {
        takenLead = lead
      } else if existing == nil, let lead = MarketoValues.lookupID(contact, "originatingleadid") {
        let leadID = lead.id
        // Qualification with both filters Yes: the contact continues the lead's person.
        if leadIsSynced(leadID, leads: leads, previous: previous, registry: registry),
          !registry.takenOverLeads.contains(leadID)
        {
          takenLead = leadID.description
          registry[contactID] = registry.assign(leadID)
          registry.takenOverLeads.insert(leadID)
        }
      }
      planned.append((contact, registry.assign(contactID), takenLead))
    }

    for lead in leadsBuilt {
      let leadID = lead.id
      guard !registry.takenOverLeads.contains(leadID) else { continue }
      guard MarketoValues.passesFilter(lead) else {
        filtered.insert(leadID.description)
        continue
      }
      planned.append((lead, registry.assign(leadID), nil))
    }

    // The ids are handed out above, in order; the rows, which read no id but their own, are made on every core.
    let merge = self
    let shared = sharedFields(of: planned, accounts: accounts, users: users, teams: teams)
    let built = concurrentMap(planned.runs(of: MarketoMerge.rowsARun)) { run in
      run.map { person in
        merge.personRow(
          person.record, personID: person.personID, takenLead: person.takenLead, previous: previous,
          shared: shared, unchangedAccounts: unchangedAccounts)
      }
    }
    for (person, row) in zip(planned, built.joined()) { current[String(person.personID)] = row }

    let persons = carryOver(
      previous, current: current, isPresent: { GUID($0).map { leads[$0] != nil || contacts[$0] != nil } ?? false },
      filtered: filtered, rebuilds: rebuilt.ownRow)
    // The registry built up here is the one the persons give, without another pass over every person.
    assert(previousRegistry != nil || registry.shards == PersonRegistry(persons).shards)
    return (persons, registry)
  }

  /// Whether a lead counts as synced for qualification: its record passes the filter now, or,
  /// when it is no longer exported, its person was syncing.
  func leadIsSynced(_ leadID: GUID, leads: [GUID: Record], previous: MarketoDataset, registry: PersonRegistry) -> Bool {
    if let lead = leads[leadID] { return MarketoValues.passesFilter(lead) }
    guard let personID = registry[leadID], let row = previous.rows[String(personID)] else {
      return false
    }
    return row[MarketoField.syncing] == .boolean(true)
  }

  /// Person rows made together on one core: enough that handing a run to a core is nothing beside it.
  static let rowsARun = 512

  /// What many person rows hold alike, made once rather than once a row: the owner fields of each user who owns a
  /// person (a user owns hundreds) and the company fields of each account a contact names (an account has several).
  struct SharedPersonFields: Sendable {
    let ownerFieldsByUser: [GUID: MarketoRow]
    let companyFieldsByAccount: [GUID: MarketoRow]
    let teams: [GUID: Record]
  }

  /// The owner and company fields the person rows of `planned` read, their owners and accounts found on every core.
  func sharedFields(
    of planned: [(record: Record, personID: Int64, takenLead: String?)], accounts: [GUID: Record],
    users: [GUID: Record], teams: [GUID: Record]
  ) -> SharedPersonFields {
    let named = concurrentMap(planned.runs(of: 4_096)) { run in
      var owners = Set<GUID>()
      var companies = Set<GUID>()
      // By index: a record handed on where it lies, not copied out of its tuple first.
      for index in run.indices {
        if let owner = MarketoValues.lookupID(run[index].record, "ownerid"),
          !MarketoMerge.isTeam(owner, teams: teams), users[owner.id] != nil
        {
          owners.insert(owner.id)
        }
        if run[index].record.entity == "contact",
          let company = MarketoValues.lookupID(run[index].record, "parentcustomerid"), accounts[company.id] != nil
        {
          companies.insert(company.id)
        }
      }
      return (owners, companies)
    }
    let owners = named.reduce(into: Set<GUID>()) { $0.formUnion($1.0) }
    let companies = named.reduce(into: Set<GUID>()) { $0.formUnion($1.1) }
    let merge = self
    return SharedPersonFields(
      ownerFieldsByUser: MarketoMerge.fields(of: owners, in: users, merge.ownerFields(ofUser:)),
      companyFieldsByAccount: MarketoMerge.fields(of: companies, in: accounts, merge.companyFields), teams: teams)
  }

  /// `fields` of each record of `ids` (every one in `records`), made on every core.
  private static func fields(
    of ids: Set<GUID>, in records: [GUID: Record], _ fields: @Sendable (Record) -> MarketoRow
  ) -> [GUID: MarketoRow] {
    let ids = Array(ids)
    let made = concurrentMap(ids.runs(of: rowsARun)) { run in run.map { records[$0].map(fields) ?? MarketoRow() } }
    return Dictionary(uniqueKeysWithValues: zip(ids, made.joined()))
  }

  /// The row of a contact's or lead's person: its mapped columns, its owner's, and for a contact the lead it took
  /// over and its account's company fields.
  func personRow(
    _ record: Record, personID: Int64, takenLead: String?, previous: MarketoDataset, shared: SharedPersonFields,
    unchangedAccounts: Set<GUID>
  ) -> MarketoRow {
    guard record.entity == "contact" else {
      return personRow(record, type: "Lead", personID: personID, shared: shared)
    }
    var row = personRow(record, type: "Contact", personID: personID, shared: shared)
    if let takenLead { row[MarketoField.originatingLeadID] = .string(takenLead) }
    if let company = MarketoValues.lookupID(record, "parentcustomerid"),
      let fields = shared.companyFieldsByAccount[company.id]
    {
      let before = previous.rows[String(personID)]
      if unchangedAccounts.contains(company.id), let before,
        before[MarketoField.externalCompanyID] == .string(company.id.description)
      {
        // The account did not change: company fields stay as Marketo has them (local edits included).
        for name in fields.keys { row[name] = before[name] }
      } else {
        row.merge(fields) { _, company in company }
      }
    }
    return row
  }

  func personRow(_ record: Record, type: String, personID: Int64, shared: SharedPersonFields) -> MarketoRow {
    var row = MarketoValues.mapped(record, columns(of: record.entity))
    row[MarketoField.personID] = .integer(personID)
    row[MarketoField.microsoftType] = .string(type)
    row[MarketoField.microsoftID] = .string(record.id.description)
    row[MarketoField.microsoftIsDeleted] = .boolean(false)
    row[MarketoField.syncing] = .boolean(true)
    if let created = record.fields["createdon"], !created.isNull { row[MarketoField.microsoftCreatedDate] = created }
    row.merge(ownerFields(record, shared: shared)) { $1 }
    return row
  }

  /// Owner fields: filled from the owning user; a team owner leaves them empty and is recorded.
  func ownerFields(_ record: Record, shared: SharedPersonFields) -> MarketoRow {
    guard let owner = MarketoValues.lookupID(record, "ownerid") else { return [:] }
    if MarketoMerge.isTeam(owner, teams: shared.teams) {
      return [MarketoField.ownerTeamID: .string(owner.id.description)]
    }
    return shared.ownerFieldsByUser[owner.id] ?? [MarketoField.ownerID: .string(owner.id.description)]
  }

  /// Whether a record's owner is a team: the lookup says so, or, when it names no table, the id is a team's.
  static func isTeam(_ owner: Lookup, teams: [GUID: Record]) -> Bool {
    owner.entity == "team" || (owner.entity == nil && teams[owner.id] != nil)
  }

  /// The owner fields of a person a user owns.
  func ownerFields(ofUser user: Record) -> MarketoRow {
    let fields: MarketoRow = [
      MarketoField.ownerID: .string(user.id.description),
      "leadOwnerFirstName": user["firstname"],
      "leadOwnerLastName": user["lastname"],
      "leadOwnerEmailAddress": user["internalemailaddress"],
      "leadOwnerJobTitle": user["jobtitle"],
      "leadOwnerPhone": user["address1_telephone1"],
    ]
    return fields.filter { !$0.value.isNull }
  }

  /// The company fields a contact's person shows, from its account.
  func companyFields(_ account: Record) -> MarketoRow {
    var fields = MarketoValues.mapped(account, columns(of: "account"))
    fields[MarketoField.externalCompanyID] = .string(account.id.description)
    return fields
  }
}
