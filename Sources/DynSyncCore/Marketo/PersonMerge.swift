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
  /// them one by one gives: each run's ids sorted into the shards they fall in, then each shard filled, on every core.
  public init(entries: [[Entry]], adding persons: MarketoDataset) {
    // Runs of the table itself: a list of its rows made first was a copy of each, on one core.
    let held = concurrentMap(persons.rows.runs(of: 4_096)) { run in
      run.map { PersonRegistry.entry(key: $0.key, row: $0.value) }
    }
    // An outline's entries are one list of hundreds of thousands: cut into runs, in order, so that every core sorts.
    let runs = entries.flatMap { $0.runs(of: 65_536) } + held.map { $0[...] }
    let sorted = concurrentMap(runs) { run in
      var shards = [[Placed]](repeating: [], count: PersonRegistry.shardCount)
      var next: Int64 = 1
      for entry in run {
        guard let person = MarketoDataset.number(of: entry.key) else { continue }
        next = max(next, person + 1)
        if let id = entry.microsoftID { shards[PersonRegistry.shard(of: id)].append((id, person, false)) }
        if let lead = entry.originatingLead { shards[PersonRegistry.shard(of: lead)].append((lead, person, true)) }
      }
      return (shards: shards, next: next)
    }
    let filled = concurrentMap(Array(0..<PersonRegistry.shardCount)) { shard in
      var persons = [GUID: Int64](minimumCapacity: sorted.reduce(0) { $0 + $1.shards[shard].count })
      var takenOver = Set<GUID>()
      for run in sorted {
        for placed in run.shards[shard] {
          persons[placed.id] = placed.person
          if placed.isLead { takenOver.insert(placed.id) }
        }
      }
      return (persons: persons, takenOver: takenOver)
    }
    self.init()
    shards = filled.map(\.persons)
    takenOverLeads = filled.reduce(into: Set<GUID>()) { $0.formUnion($1.takenOver) }
    nextPersonID = sorted.map(\.next).max() ?? 1
  }

  /// An id of a person row, the person's, and whether it is the lead the person was taken over from.
  private typealias Placed = (id: GUID, person: Int64, isLead: Bool)

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
    guard let id = MarketoDataset.number(of: entry.key) else { return }
    nextPersonID = max(nextPersonID, id + 1)
    if let microsoftID = entry.microsoftID { self[microsoftID] = id }
    if let lead = entry.originatingLead {
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
    var built = concurrentMap(planned.runs(of: MarketoMerge.rowsARun)) { run in
      var row = shared.layout.emptyRow()
      var members = MappedMembers()
      return run.map { person in
        (
          key: String(person.personID),
          row: merge.personRow(
            person.record, personID: person.personID, takenLead: person.takenLead, previous: previous,
            shared: shared, unchangedAccounts: unchangedAccounts, filling: &row, members: &members)
        )
      }
    }
    // Tens of thousands of small arrays: taken apart on the other core while this one goes on, not before it does.
    MemoryFreedAside.free(consume shared)
    for run in built.indices {
      for place in built[run].indices {
        // Moved, not copied: a copy counted a reference on each row just made on another core, a cold line each.
        var row = MarketoRow()
        swap(&row, &built[run][place].row)
        current[built[run][place].key] = row
      }
    }

    let persons = carryOver(
      previous, current: consume current,
      isPresent: { GUID($0).map { leads[$0] != nil || contacts[$0] != nil } ?? false },
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
  /// person (a user owns hundreds) and the company fields of each account a contact names (an account has several),
  /// each by its place in the rows' layout.
  struct SharedPersonFields: Sendable {
    let layout: PersonRowLayout
    let ownerFieldsByUser: [GUID: [PlacedValue]]
    let companyFieldsByAccount: [GUID: [PlacedValue]]
    let teams: [GUID: Record]
  }

  /// A value of a person row, by the place of its name in the layout (`PersonRowLayout`).
  typealias PlacedValue = (place: Int, value: FieldValue)

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
    let layout = PersonRowLayout(merge)
    return SharedPersonFields(
      layout: layout,
      ownerFieldsByUser: MarketoMerge.fields(of: owners, in: users) { user, _ in
        layout.placed(merge.ownerFields(ofUser: user))
      },
      companyFieldsByAccount: MarketoMerge.fields(of: companies, in: accounts) { [places = layout.companyPlaces] in
        merge.companyFields($0, places, members: &$1)
      },
      teams: teams)
  }

  /// `fields` of each record of `ids` (every one in `records`), made on every core, with the mapped members of the
  /// records made before on the same core.
  private static func fields(
    of ids: Set<GUID>, in records: [GUID: Record], _ fields: @Sendable (Record, inout MappedMembers) -> [PlacedValue]
  ) -> [GUID: [PlacedValue]] {
    let ids = Array(ids)
    let made = concurrentMap(ids.runs(of: rowsARun)) { run in
      var members = MappedMembers()
      return run.map { id in records[id].map { fields($0, &members) } ?? [] }
    }
    return Dictionary(uniqueKeysWithValues: zip(ids, made.joined()))
  }

  /// The row of a contact's or lead's person: its mapped columns, those dynsync keeps of its own, its owner's, and
  /// for a contact the lead it took over and its account's company fields, each laid over the ones before.
  ///
  /// A row of no value (`PersonRowLayout.emptyRow()`) is filled here and left empty again: one for many rows, not a
  /// row of a hundred places made for each.
  func personRow(
    _ record: Record, personID: Int64, takenLead: String?, previous: MarketoDataset, shared: SharedPersonFields,
    unchangedAccounts: Set<GUID>, filling row: inout [FieldValue?], members: inout MappedMembers
  ) -> MarketoRow {
    let layout = shared.layout
    let isContact = record.entity == "contact"
    let places = isContact ? layout.contactPlaces : layout.leadPlaces
    let columns = isContact ? layout.contactColumns : layout.leadColumns
    MarketoValues.forEachMapped(record, columns, members: &members) { place, isChoiceValue, value in
      row[isChoiceValue ? places[place].choiceValue : places[place].name] = value
    }
    row[layout.personID] = .integer(personID)
    row[layout.microsoftType] = .string(isContact ? "Contact" : "Lead")
    row[layout.microsoftID] = .string(record.id.description)
    row[layout.microsoftIsDeleted] = .boolean(false)
    row[layout.syncing] = .boolean(true)
    if let created = record.fields["createdon"], !created.isNull { row[layout.microsoftCreatedDate] = created }
    if let owner = MarketoValues.lookupID(record, "ownerid") {
      if MarketoMerge.isTeam(owner, teams: shared.teams) {
        row[layout.ownerTeamID] = .string(owner.id.description)
      } else if let fields = shared.ownerFieldsByUser[owner.id] {
        for (place, value) in fields { row[place] = value }
      } else {
        row[layout.ownerID] = .string(owner.id.description)
      }
    }
    guard isContact else { return layout.row(emptying: &row) }
    if let takenLead { row[layout.originatingLeadID] = .string(takenLead) }
    if let company = MarketoValues.lookupID(record, "parentcustomerid"),
      let fields = shared.companyFieldsByAccount[company.id]
    {
      let before = previous.rows[String(personID)]
      if unchangedAccounts.contains(company.id), let before,
        before[MarketoField.externalCompanyID] == .string(company.id.description)
      {
        // The account did not change: company fields stay as Marketo has them (local edits included).
        for (place, _) in fields { row[place] = before[layout.names[place]] }
      } else {
        for (place, value) in fields { row[place] = value }
      }
    }
    return layout.row(emptying: &row)
  }

  /// The owner fields of a person a user owns: the user's id, and the user's columns of `userOwnerColumns` it has.
  func ownerFields(ofUser user: Record) -> MarketoRow {
    var fields: MarketoRow = [MarketoField.ownerID: .string(user.id.description)]
    for (marketo, dynamics) in MarketoMerge.userOwnerColumns where !user[dynamics].isNull {
      fields[marketo] = user[dynamics]
    }
    return fields
  }

  /// The Marketo fields of a person's owner that its user fills, and the user's column each comes from.
  static let userOwnerColumns = [
    ("leadOwnerFirstName", "firstname"), ("leadOwnerLastName", "lastname"),
    ("leadOwnerEmailAddress", "internalemailaddress"), ("leadOwnerJobTitle", "jobtitle"),
    ("leadOwnerPhone", "address1_telephone1"),
  ]

  /// The company fields a contact's person shows, from its account, by place in `layout`: the account's mapped
  /// columns in the mapping's order (of two giving one name, the later is laid last), then its id.
  ///
  /// Placed as they are mapped, not mapped into a row and then placed by name: an account of a changed person is
  /// placed for each run, tens of thousands of them.
  func companyFields(_ account: Record, _ places: PersonRowLayout.CompanyPlaces, members: inout MappedMembers)
    -> [PlacedValue]
  {
    var placed: [PlacedValue] = []
    placed.reserveCapacity(account.fields.count + 4)
    MarketoValues.forEachMapped(account, places.columns, members: &members) { place, isChoiceValue, value in
      placed.append((isChoiceValue ? places.mapped[place].choiceValue : places.mapped[place].name, value))
    }
    placed.append((places.accountID, .string(account.id.description)))
    return placed
  }

  /// Whether a record's owner is a team: the lookup says so, or, when it names no table, the id is a team's.
  static func isTeam(_ owner: Lookup, teams: [GUID: Record]) -> Bool {
    owner.entity == "team" || (owner.entity == nil && teams[owner.id] != nil)
  }
}

/// Every name a person row can hold, in name order, so that a row is built by place rather than by name.
///
/// A person row is its record's mapped columns, a few of dynsync's own, its owner's and its company's, each laid over
/// the ones before; a place found by name for each of those compared names dozens of times a row. Built by place, a
/// row is its filled places in order: the order `Fields` keeps its members in.
struct PersonRowLayout: Sendable {
  /// The names, in order: a name's place is its index.
  let names: [String]
  private let placeOfName: [String: Int]
  /// By place in the contact's and the lead's mapped columns: the places of the field's name and of its choice's
  /// integer (`MarketoValues.forEachMapped`).
  let contactPlaces: [(name: Int, choiceValue: Int)]
  let leadPlaces: [(name: Int, choiceValue: Int)]
  /// The contact's and the lead's mapped columns, found once for every row, not looked up by the table's name and
  /// copied (a reference counted on each of the mapping's lists) for each.
  let contactColumns: MappedColumns
  let leadColumns: MappedColumns
  /// Where a person's company fields go (`MarketoMerge.companyFields`).
  let companyPlaces: CompanyPlaces

  /// By place in the account's mapped columns, the places of the field's name and of its choice's integer; and the
  /// place of the account's id.
  struct CompanyPlaces: Sendable {
    /// The account's mapped columns.
    let columns: MappedColumns
    let mapped: [(name: Int, choiceValue: Int)]
    let accountID: Int
  }
  let personID: Int
  let microsoftType: Int
  let microsoftID: Int
  let microsoftIsDeleted: Int
  let syncing: Int
  let microsoftCreatedDate: Int
  let originatingLeadID: Int
  let ownerID: Int
  let ownerTeamID: Int

  init(_ merge: MarketoMerge) {
    let mapped = ["contact", "lead", "account"].map { merge.columns(of: $0) }
    var every = Set(
      [
        MarketoField.personID, MarketoField.microsoftType, MarketoField.microsoftID, MarketoField.microsoftIsDeleted,
        MarketoField.syncing, MarketoField.microsoftCreatedDate, MarketoField.originatingLeadID,
        MarketoField.ownerID, MarketoField.ownerTeamID, MarketoField.externalCompanyID,
      ] + MarketoMerge.userOwnerColumns.map(\.0))
    for columns in mapped {
      for (field, names) in zip(columns.fields, columns.names) {
        every.insert(field.marketo)
        every.insert(names.choiceValue)
      }
    }
    names = every.sorted()
    var placeOfName: [String: Int] = [:]
    for (place, name) in names.enumerated() { placeOfName[name] = place }
    self.placeOfName = placeOfName
    func place(_ name: String) -> Int { PersonRowLayout.place(of: name, in: placeOfName) }
    func places(of columns: MappedColumns) -> [(name: Int, choiceValue: Int)] {
      zip(columns.fields, columns.names).map { field, names in (place(field.marketo), place(names.choiceValue)) }
    }
    contactPlaces = places(of: mapped[0])
    leadPlaces = places(of: mapped[1])
    contactColumns = mapped[0]
    leadColumns = mapped[1]
    personID = place(MarketoField.personID)
    microsoftType = place(MarketoField.microsoftType)
    microsoftID = place(MarketoField.microsoftID)
    microsoftIsDeleted = place(MarketoField.microsoftIsDeleted)
    syncing = place(MarketoField.syncing)
    microsoftCreatedDate = place(MarketoField.microsoftCreatedDate)
    originatingLeadID = place(MarketoField.originatingLeadID)
    ownerID = place(MarketoField.ownerID)
    ownerTeamID = place(MarketoField.ownerTeamID)
    companyPlaces = CompanyPlaces(
      columns: mapped[2], mapped: places(of: mapped[2]), accountID: place(MarketoField.externalCompanyID))
  }

  /// A row with no value, to fill by place.
  func emptyRow() -> [FieldValue?] { [FieldValue?](repeating: nil, count: names.count) }

  /// The row of the places filled, in name order; `values` is left with no value.
  func row(emptying values: inout [FieldValue?]) -> MarketoRow {
    // Room for exactly the places filled: a run holds a hundred thousand rows.
    var members: [MarketoRow.Element] = []
    var filled = 0
    for place in values.indices {
      if case .some = values[place] { filled += 1 }
    }
    members.reserveCapacity(filled)
    for place in values.indices {
      // Taken out, not copied and then let go: a reference counted twice less on each text of the row.
      guard let value = values[place].take() else { continue }
      members.append((names[place], value))
    }
    return MarketoRow(sortedMembers: members)
  }

  /// The members of `row` by the places of their names; every name a person row is given has one.
  func placed(_ row: MarketoRow) -> [MarketoMerge.PlacedValue] {
    row.map { name, value in (PersonRowLayout.place(of: name, in: placeOfName), value) }
  }

  private static func place(of name: String, in placeOfName: [String: Int]) -> Int {
    guard let place = placeOfName[name] else {
      preconditionFailure("\(name) is given to person rows but has no place in their layout")
    }
    return place
  }
}
