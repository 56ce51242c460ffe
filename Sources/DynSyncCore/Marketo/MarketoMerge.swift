/// Builds the Marketo-side datasets from the current Dynamics state, as Marketo's Dynamics sync
/// would: the "map/merge" step.
///
/// `dynamics` is the whole current state of the org (every table full); `previous` is what the
/// last run produced (empty for the initial sync). The rules, with the undocumented choices, are
/// in `docs/sync-rules.md`:
/// - the sync filter `new_synctomkto`: absent, empty or Yes syncs; No does not. A row that synced
///   before and turns No stays, frozen, with `msftSyncing = false`;
/// - a row deleted in Dynamics stays, frozen, with `msftIsDeleted = true`;
/// - a contact qualified from a synced lead takes over the lead's person (same id);
/// - person ids are assigned once and kept; account changes flow to every person of the account.
public struct MarketoMerge: Sendable {
  public var mapping: FieldMapping {
    didSet { columnsByEntity = MarketoMerge.columns(of: mapping) }
  }
  /// The mapping's field lists made ready once, for the million records a merge maps.
  private var columnsByEntity: [String: MappedColumns]

  public init(mapping: FieldMapping = .standard) {
    self.mapping = mapping
    columnsByEntity = MarketoMerge.columns(of: mapping)
  }

  private static func columns(of mapping: FieldMapping) -> [String: MappedColumns] {
    mapping.entities.mapValues(MappedColumns.init)
  }

  /// The mapped columns of a table, ready for `MarketoValues.mapped`.
  func columns(of entity: String) -> MappedColumns {
    columnsByEntity[entity] ?? MappedColumns(mapping.fields(of: entity))
  }

  /// The Marketo-side datasets for the org as it stands in `dynamics`.
  ///
  /// - Parameters:
  ///   - dynamics: the org's whole current state, every table full.
  ///   - previous: what the last run produced (empty for the initial sync).
  ///   - unchangedAccounts: accounts this run did not change: persons of these keep the company
  ///     fields they had, so a company field edited on the Marketo side stays until the account
  ///     changes in Dynamics. Empty (the default) takes every account as changed.
  ///   - scope: the rows to build again, when `previous` was built from the org as it was before this run with the
  ///     same mapping; every other row stays as `previous` has it. `nil` (the default) builds every row.
  ///   - registry: the person ids of every previous person, when `previous` holds only the rows the scope reaches
  ///     (`MergeScope.previousRowIDs`); the merged datasets then hold those rows, built again or as they were, and
  ///     the new ones. `nil` (the default) takes the registry from `previous`, which then holds every row.
  /// - Returns: the merged datasets, which are also the next run's `previous`.
  public func merge(
    dynamics: Snapshot, previous: MarketoDatasets, unchangedAccounts: Set<GUID> = [], scope: MergeScope? = nil,
    registry: PersonRegistry? = nil
  ) -> MarketoDatasets {
    let accounts = dynamics.tables["account"]?.records ?? [:]
    let users = dynamics.tables["systemuser"]?.records ?? [:]
    let teams = dynamics.tables["team"]?.records ?? [:]
    let rebuilt = RebuiltRows(scope)
    let merge = self

    // The persons on one side, the datasets that read no person id on the other.
    let (people, others) = concurrently {
      merge.persons(
        dynamics, previous: previous.persons, accounts: accounts, users: users, teams: teams,
        unchangedAccounts: unchangedAccounts, registry: registry, rebuilt: rebuilt)
    } _: {
      var others = MarketoDatasets()
      others.salesUsers = merge.carryOver(
        previous.salesUsers,
        current: merge.rows(
          of: rebuilt.records(of: users), entity: "systemuser", key: MarketoField.externalSalesPersonID),
        isPresent: { GUID($0).map { users[$0] != nil } ?? false }, filtered: [], rebuilds: rebuilt.ownRow)
      others.teams = merge.teamRows(dynamics, previous: previous.teams, rebuilt: rebuilt)
      let (companies, filteredCompanies) = merge.filteredRows(
        of: rebuilt.records(of: accounts), entity: "account", key: MarketoField.externalCompanyID)
      others.companies = merge.carryOver(
        previous.companies, current: companies, isPresent: { GUID($0).map { accounts[$0] != nil } ?? false },
        filtered: filteredCompanies, rebuilds: rebuilt.ownRow)
      others.opportunities = merge.opportunities(
        dynamics, previous: previous.opportunities, accounts: accounts, rebuilt: rebuilt)
      return others
    }
    var result = others
    result.persons = people.persons
    let registry = people.registry
    (result.opportunityRoles, result.customObjects) = concurrently {
      merge.roles(dynamics, previous: previous.opportunityRoles, persons: registry, rebuilt: rebuilt)
    } _: {
      merge.customObjects(dynamics, previous: previous.customObjects, persons: registry, rebuilt: rebuilt)
    }
    return result
  }

  /// Which records and previous rows a merge builds again: all of them, or those of a scope.
  struct RebuiltRows {
    let scope: MergeScope?

    init(_ scope: MergeScope?) {
      self.scope = scope
    }

    /// The records of a table whose rows are built again, in no particular order.
    func records(of table: [GUID: Record]) -> [Record] {
      guard let scope else { return Array(table.values) }
      // The smaller side walked and the other asked: a table of a few thousand users or teams is not looked up for
      // every id of a scope of a couple of hundred thousand.
      if table.count < scope.records.count { return table.values.filter { scope.records.contains($0.id) } }
      return scope.records.compactMap { table[$0] }
    }

    /// Whether a record's row is built again.
    func contains(_ id: GUID) -> Bool { scope?.records.contains(id) ?? true }

    /// Whether the row of the record with this id (as text) is built again: an id in any spelling, as `isPresent`
    /// and the scope's own reading of rows (`MergeScope.row`) take it, where a set of the scope's ids as text was made
    /// and freed on one core for every run.
    func contains(key: String) -> Bool {
      guard let scope else { return true }
      return GUID(key).map(scope.records.contains) ?? false
    }

    /// Whether a previous row that stands for one record is built again.
    func ownRow(_ key: String, _ row: MarketoRow) -> Bool { contains(key: MarketoMerge.dynamicsID(of: row) ?? key) }
  }

  // MARK: - Rows of one-way tables

  /// Mapped rows of the records that pass the sync filter, keyed by Dynamics id, and the ids of
  /// those that do not.
  func filteredRows(of records: [Record], entity: String, key: String) -> ([String: MarketoRow], Set<String>) {
    var rows: [String: MarketoRow] = [:]
    rows.reserveCapacity(records.count)
    var filtered = Set<String>()
    var members = MappedMembers()
    let columns = columns(of: entity)
    for record in records {
      guard MarketoValues.passesFilter(record) else {
        filtered.insert(record.id.description)
        continue
      }
      rows[record.id.description] = row(for: record, columns, key: key, members: &members)
    }
    return (rows, filtered)
  }

  func rows(of records: [Record], entity: String, key: String) -> [String: MarketoRow] {
    var rows: [String: MarketoRow] = [:]
    rows.reserveCapacity(records.count)
    var members = MappedMembers()
    let columns = columns(of: entity)
    for record in records {
      rows[record.id.description] = row(for: record, columns, key: key, members: &members)
    }
    return rows
  }

  /// The row of a record of a one-way table, by its table's mapped `columns` (found once for its rows, not a lookup
  /// by the table's name and a copy counting references on the mapping's lists for each), each found among its
  /// members as the record's before (`MappedMembers`).
  func row(for record: Record, _ columns: MappedColumns, key: String, members: inout MappedMembers) -> MarketoRow {
    var row = MarketoValues.mapped(record, columns, members: &members)
    row[key] = .string(record.id.description)
    row[MarketoField.microsoftIsDeleted] = .boolean(false)
    row[MarketoField.syncing] = .boolean(true)
    if let created = record.fields["createdon"], !created.isNull { row[MarketoField.microsoftCreatedDate] = created }
    return row
  }

  /// The current rows, plus every earlier row that is not current: frozen, flagged deleted when
  /// its record is gone from Dynamics and not syncing when the filter turned it away.
  ///
  /// An earlier row that `rebuilds` leaves out stays as it was.
  func carryOver(
    _ previous: MarketoDataset, current: consuming [String: MarketoRow], isPresent: (String) -> Bool,
    filtered: Set<String>, rebuilds: (_ key: String, _ row: MarketoRow) -> Bool
  ) -> MarketoDataset {
    // The rows built, and the earlier rows not built added to them: most earlier rows of a run are built again, and
    // a copy of every earlier row with the built ones laid over it hashed each of those twice, on one core.
    var carried: [(key: String, row: MarketoRow)] = []
    // By index: an earlier row is taken out only when it is carried, not copied out (a reference counted) for each.
    for index in previous.rows.indices {
      let key = previous.rows.keys[index]
      guard current[key] == nil else { continue }
      let old = previous.rows.values[index]
      carried.append((key, rebuilds(key, old) ? frozen(old, key: key, isPresent: isPresent, filtered: filtered) : old))
    }
    current.reserveCapacity(current.count + carried.count)
    for (key, row) in carried { current[key] = row }
    return MarketoDataset(rows: current)
  }

  /// An earlier row not built again, flagged deleted when its record is gone from Dynamics and not syncing when the
  /// filter turned it away; a row frozen already stays the very row it was.
  private func frozen(_ row: MarketoRow, key: String, isPresent: (String) -> Bool, filtered: Set<String>)
    -> MarketoRow
  {
    let dynamicsID = MarketoMerge.dynamicsID(of: row) ?? key
    let flag: (field: String, value: FieldValue)? =
      !isPresent(dynamicsID)
      ? (MarketoField.microsoftIsDeleted, .boolean(true))
      : filtered.contains(dynamicsID) ? (MarketoField.syncing, .boolean(false)) : nil
    guard let flag, !(row[flag.field].map { $0.isIdentical(to: flag.value) } ?? false) else { return row }
    var frozen = row
    frozen[flag.field] = flag.value
    return frozen
  }

  /// The Dynamics id a row stands for, whatever dataset it is in.
  static func dynamicsID(of row: MarketoRow) -> String? {
    for key in idFields {
      if case .string(let id) = row[key] { return id }
    }
    return nil
  }

  /// The columns in which a row names a Dynamics record it stands for or was built with: those `dynamicsID(of:)`
  /// looks at, and the lead a contact's person was qualified from.
  public static let rowIDFields = idFields + [MarketoField.originatingLeadID]

  /// The columns that hold a row's Dynamics id, in the order they are looked at.
  ///
  /// Kept once: every earlier row of a merge is looked at. The company id comes last:
  /// opportunities, persons and custom rows carry their company's id beside their own.
  private static let idFields = [
    MarketoField.recordID, MarketoField.microsoftID, MarketoField.externalOpportunityID,
    MarketoField.externalSalesPersonID, MarketoField.teamID, MarketoField.externalCompanyID,
  ]

  func teamRows(_ dynamics: Snapshot, previous: MarketoDataset, rebuilt: RebuiltRows) -> MarketoDataset {
    let teams = dynamics.tables["team"]?.records ?? [:]
    var current = rows(of: rebuilt.records(of: teams), entity: "team", key: MarketoField.teamID)
    var members: [String: [String]] = [:]
    for membership in (dynamics.tables["teammembership"]?.records ?? [:]).values {
      guard let team = guidText(membership["teamid"]), current[team] != nil,
        let user = guidText(membership["systemuserid"])
      else { continue }
      members[team, default: []].append(user)
    }
    for (team, users) in members {
      current[team]?["memberIds"] = .string(users.sorted().joined(separator: ";"))
    }
    return carryOver(
      previous, current: current, isPresent: { GUID($0).map { teams[$0] != nil } ?? false }, filtered: [],
      rebuilds: rebuilt.ownRow)
  }

  func guidText(_ value: FieldValue) -> String? {
    switch value {
    case .guid(let id): return id.description
    case .lookup(let lookup): return lookup.id.description
    default: return nil
    }
  }
}
