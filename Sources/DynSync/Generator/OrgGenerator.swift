import DynSyncCore

/// A synthetic Dynamics org, deterministic for a seed.
///
/// Users, teams and their memberships, accounts, contacts, leads, opportunities and a custom table,
/// about 20 columns a row, with lookups that resolve and choices with labels.
///
/// Every row is computed from its table and index alone, so an org of millions is written one row
/// at a time, and the next export (`mutated`) changes a chosen share of rows the same way every
/// time: creates, updates of 1–3 columns, deletes.
public struct OrgGenerator: Sendable {
  public struct Mutation: Sendable, Equatable {
    public var creates: Double
    public var updates: Double
    public var deletes: Double

    public init(creates: Double = 0.01, updates: Double = 0.05, deletes: Double = 0.01) {
      self.creates = creates
      self.updates = updates
      self.deletes = deletes
    }
  }

  /// A table of the org and how many rows it has.
  public struct Table: Sendable {
    public var entity: String
    public var setName: String
    public var count: Int
  }

  public var seed: UInt64
  public var tables: [Table]
  public var mutation: Mutation?

  /// An org of about `records` rows, split over the tables as in a typical CRM.
  public init(records: Int, seed: UInt64, mutation: Mutation? = nil) {
    self.seed = seed
    self.mutation = mutation
    func share(_ fraction: Double, minimum: Int) -> Int { max(minimum, Int(Double(records) * fraction)) }
    let teams = share(0.0005, minimum: 2)
    tables = [
      Table(entity: "systemuser", setName: "systemusers", count: share(0.002, minimum: 5)),
      Table(entity: "team", setName: "teams", count: teams),
      Table(entity: OrgGenerator.membership, setName: "teammemberships", count: teams * OrgGenerator.membersPerTeam),
      Table(entity: "account", setName: "accounts", count: share(0.15, minimum: 3)),
      Table(entity: "contact", setName: "contacts", count: share(0.35, minimum: 3)),
      Table(entity: "lead", setName: "leads", count: share(0.35, minimum: 3)),
      Table(entity: "opportunity", setName: "opportunities", count: share(0.1, minimum: 2)),
      Table(entity: "cr123_project", setName: "cr123_projects", count: share(0.05, minimum: 2)),
    ]
  }

  func count(_ entity: String) -> Int { tables.first { $0.entity == entity }?.count ?? 0 }

  /// What the mutation did to a row since the export before.
  public enum Change: Sendable {
    case unchanged(Record)
    case updated(Record)
    case created(Record)
    case deleted(GUID)
  }

  /// The rows of a table in the export, in id order, created rows last.
  public func rows(of table: Table, _ body: (Record) throws -> Void) rethrows {
    try changes(of: table) { change in
      switch change {
      case .unchanged(let record), .updated(let record), .created(let record): try body(record)
      case .deleted: break
      }
    }
  }

  /// Every row of the table before and after the mutation, in id order, created rows last: what became of each.
  public func changes(of table: Table, _ body: (Change) throws -> Void) rethrows {
    let created = mutation.map { Int((Double(table.count) * $0.creates).rounded()) } ?? 0
    for index in 0..<(table.count + created) {
      var random = Random(seed: seed, entity: table.entity, index: index)
      if let mutation, index < table.count, random.unit("delete") < mutation.deletes {
        try body(.deleted(id(table.entity, index)))
        continue
      }
      var record = row(table.entity, index, &random)
      if index >= table.count {
        try body(.created(record))
      } else if let mutation, random.unit("update") < mutation.updates {
        mutate(&record, &random)
        try body(.updated(record))
      } else {
        try body(.unchanged(record))
      }
    }
  }

  /// The id of row `index` of `entity`.
  public func id(_ entity: String, _ index: Int) -> GUID {
    GUID(naming: "generated|\(seed)|\(entity)|\(index)")
  }

  static let firstNames = [
    "Ana", "Ben", "Chloe", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ivan", "Jade", "Kenji", "Lena",
  ]
  static let lastNames = [
    "Ruiz", "Okafor", "Nguyen", "Schmidt", "Kowalski", "Haddad", "Larsen", "Moreau", "Tanaka", "O'Brien",
  ]
  static let cities = ["Seattle", "Lyon", "Munich", "Osaka", "Austin", "Toronto", "Porto"]
  static let industries: [(Int64, String)] = [
    (1, "Accounting"), (7, "Consulting"), (16, "Financial"), (20, "Manufacturing"),
  ]
  static let sources: [(Int64, String)] = [(1, "Advertisement"), (6, "Seminar"), (7, "Trade Show"), (8, "Web")]

  /// How many users each team has (the org's next export adds a few more).
  static let membersPerTeam = 4
  /// The intersect table of team memberships.
  static let membership = "teammembership"

  /// Membership `index`, an intersect row whose ends are plain ids, as the Web API lists them.
  ///
  /// The first ones are team `index / membersPerTeam`'s; created ones are spread over the teams, each a user the team
  /// does not have yet.
  func membership(_ index: Int) -> Record {
    let teams = count("team")
    let existing = teams * OrgGenerator.membersPerTeam
    let (team, slot) =
      index < existing
      ? (index / OrgGenerator.membersPerTeam, index % OrgGenerator.membersPerTeam)
      : ((index - existing) % teams, OrgGenerator.membersPerTeam + (index - existing) / teams)
    let user = (team * 13 + slot) % count("systemuser")
    let fields: Fields = [
      "teamid": .guid(id("team", team)), "systemuserid": .guid(id("systemuser", user)),
      "versionnumber": .integer(1_000_000 + Int64(index) * 7),
    ]
    return Record(
      entity: OrgGenerator.membership, id: id(OrgGenerator.membership, index), fields: fields,
      origin: SourcePosition(file: "generated"))
  }

  func row(_ entity: String, _ index: Int, _ random: inout Random) -> Record {
    if entity == OrgGenerator.membership { return membership(index) }
    var fields = Fields()
    var labels = Labels()
    func choice(_ field: String, _ options: [(Int64, String)]) {
      let option = options[random.int(options.count)]
      fields[field] = .optionSet(option.0)
      labels[field] = option.1
    }
    func lookup(_ field: String, _ target: String, label: String? = nil) {
      let total = count(target)
      guard total > 0 else { return }
      fields[field] = .lookup(Lookup(entity: target, id: id(target, random.int(total))))
      if let label { labels[field] = label }
    }
    let first = OrgGenerator.firstNames[random.int(OrgGenerator.firstNames.count)]
    let last = OrgGenerator.lastNames[random.int(OrgGenerator.lastNames.count)]
    let created = Timestamp(epochSeconds: 1_735_689_600 + Int64(random.int(300 * 86_400)))
    fields["createdon"] = .dateTime(created)
    fields["modifiedon"] = .dateTime(Timestamp(epochSeconds: created.epochSeconds + Int64(random.int(30 * 86_400))))
    fields["versionnumber"] = .integer(1_000_000 + Int64(index) * 7)
    if entity != "systemuser" && entity != "team" { lookup("ownerid", "systemuser", label: "\(first) Owner") }
    switch entity {
    case "systemuser":
      fields["firstname"] = .string(first)
      fields["lastname"] = .string(last)
      fields["fullname"] = .string("\(first) \(last)")
      fields["internalemailaddress"] = .string("user\(index)@contoso.example")
      fields["isdisabled"] = .boolean(random.unit("disabled") < 0.05)
    case "team":
      fields["name"] = .string("Team \(index)")
      fields["teamtype"] = .optionSet(0)
      labels["teamtype"] = "Owner"
    case "account":
      fields["name"] = .string("Company \(index) \(last) & Co")
      fields["accountnumber"] = .string("AC-\(100_000 + index)")
      choice("industrycode", OrgGenerator.industries)
      fields["numberofemployees"] = .integer(Int64(random.int(20_000)))
      fields["revenue"] = decimal("\(random.int(90_000_000)).0000")
      fields["websiteurl"] = .string("https://www.company\(index).example")
      fields["telephone1"] = .string("+1-555-\(1_000_000 + index)")
      fields["address1_city"] = .string(OrgGenerator.cities[random.int(OrgGenerator.cities.count)])
      fields["address1_country"] = .string("USA")
      fields["creditonhold"] = .boolean(random.unit("hold") < 0.1)
      choice("statecode", [(0, "Active")])
    case "contact", "lead":
      fields["firstname"] = .string(first)
      fields["lastname"] = .string(last)
      fields["fullname"] = .string("\(first) \(last)")
      fields["emailaddress1"] = .string("\(entity)\(index)@mail.example")
      fields["jobtitle"] = .string(["CFO", "Buyer", "Engineer", "IT Director", "Marketing Manager"][random.int(5)])
      fields["telephone1"] = .string("+1-555-\(2_000_000 + index)")
      fields["address1_city"] = .string(OrgGenerator.cities[random.int(OrgGenerator.cities.count)])
      fields["donotemail"] = .boolean(random.unit("donotemail") < 0.1)
      if random.unit("filter") < 0.05 { fields["new_synctomkto"] = .boolean(false) }
      if entity == "contact" {
        lookup("parentcustomerid", "account", label: "Company")
        fields["birthdate"] = .date(CalendarDate(daysSinceEpoch: -random.int(20_000) - 5_000))
        choice("statecode", [(0, "Active")])
      } else {
        fields["companyname"] = .string("Prospect \(index)")
        choice("leadsourcecode", OrgGenerator.sources)
        choice("leadqualitycode", [(1, "Hot"), (2, "Warm"), (3, "Cold")])
        choice("statecode", [(0, "Open")])
      }
    case "opportunity":
      fields["name"] = .string("Deal \(index)")
      fields["estimatedvalue"] = decimal("\(random.int(500_000)).0000")
      fields["closeprobability"] = .integer(Int64(random.int(101)))
      fields["estimatedclosedate"] = .date(CalendarDate(daysSinceEpoch: 20_500 + random.int(400)))
      lookup("customerid", random.unit("customer") < 0.3 ? "contact" : "account")
      choice("statecode", [(0, "Open"), (1, "Won"), (2, "Lost")])
    default:
      fields["cr123_name"] = .string("Project \(index)")
      fields["cr123_budget"] = decimal("\(random.int(100_000)).50")
      choice("cr123_phase", [(100_000_000, "Planning"), (100_000_001, "Delivery"), (100_000_002, "Closed")])
      lookup("cr123_accountid", "account", label: "Company")
    }
    return Record(
      entity: entity, id: id(entity, index), fields: fields, labels: labels, origin: SourcePosition(file: "generated"))
  }

  /// Changes 1–3 text or number columns and bumps the row version, as an edit in Dynamics would.
  func mutate(_ record: inout Record, _ random: inout Random) {
    let candidates = record.fields.keys.sorted().filter {
      switch record.fields[$0] {
      case .string?, .integer?: return $0 != "versionnumber"
      default: return false
      }
    }
    guard !candidates.isEmpty else { return }
    for _ in 0..<(1 + random.int(3)) {
      let field = candidates[random.int(candidates.count)]
      switch record.fields[field] {
      case .string(let text)?: record.fields[field] = .string(text + " (edited)")
      case .integer(let number)?: record.fields[field] = .integer(number + 1)
      default: break
      }
    }
    if case .integer(let version) = record.fields["versionnumber"] {
      record.fields["versionnumber"] = .integer(version + 1)
    }
  }

  func decimal(_ text: String) -> FieldValue { ExactDecimal(text).map(FieldValue.decimal) ?? .null }
}

/// SplitMix64, seeded from the org's seed, the table and the row: any row can be computed alone.
struct Random {
  var state: UInt64

  init(seed: UInt64, entity: String, index: Int) {
    let name = GUID(naming: "\(seed)|\(entity)|\(index)")
    state = name.high ^ name.low
  }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }

  /// A number in [0, 1) for a named decision; it does not advance the sequence, so adding a
  /// decision leaves every other value of the row as it was.
  func unit(_ decision: String) -> Double {
    var fork = Random(seed: state, entity: decision, index: 0)
    return Double(fork.next() >> 11) / Double(1 << 53)
  }
}
