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
  public var mapping: FieldMapping

  public init(mapping: FieldMapping = .standard) {
    self.mapping = mapping
  }

  /// The Marketo-side datasets for the org as it stands in `dynamics`.
  ///
  /// - Parameters:
  ///   - dynamics: the org's whole current state, every table full.
  ///   - previous: what the last run produced (empty for the initial sync).
  ///   - unchangedAccounts: accounts this run did not change: persons of these keep the company
  ///     fields they had, so a company field edited on the Marketo side stays until the account
  ///     changes in Dynamics. Empty (the default) takes every account as changed.
  /// - Returns: the merged datasets, which are also the next run's `previous`.
  public func merge(dynamics: Snapshot, previous: MarketoDatasets, unchangedAccounts: Set<GUID> = []) -> MarketoDatasets
  {
    var result = MarketoDatasets()
    let accounts = dynamics.tables["account"]?.records ?? [:]
    let users = dynamics.tables["systemuser"]?.records ?? [:]
    let teams = dynamics.tables["team"]?.records ?? [:]

    result.salesUsers = carryOver(
      previous.salesUsers, current: rows(of: users, entity: "systemuser", key: MarketoField.externalSalesPersonID),
      present: Set(users.keys.map(\.description)), filtered: [])
    result.teams = teamRows(dynamics, previous: previous.teams)
    let (companies, filteredCompanies) = filteredRows(
      of: accounts, entity: "account", key: MarketoField.externalCompanyID)
    result.companies = carryOver(
      previous.companies, current: companies, present: Set(accounts.keys.map(\.description)),
      filtered: filteredCompanies)
    result.persons = persons(
      dynamics, previous: previous.persons, accounts: accounts, users: users, teams: teams,
      unchangedAccounts: unchangedAccounts)
    let personByDynamicsID = PersonRegistry(result.persons).personByDynamicsID
    result.opportunities = opportunities(dynamics, previous: previous.opportunities, accounts: accounts)
    result.opportunityRoles = roles(dynamics, previous: previous.opportunityRoles, persons: personByDynamicsID)
    result.customObjects = customObjects(dynamics, previous: previous.customObjects, persons: personByDynamicsID)
    return result
  }

  // MARK: - Rows of one-way tables

  /// Mapped rows of the records that pass the sync filter, keyed by Dynamics id, and the ids of
  /// those that do not.
  func filteredRows(of records: [GUID: Record], entity: String, key: String) -> ([String: MarketoRow], Set<String>) {
    var rows: [String: MarketoRow] = [:]
    var filtered = Set<String>()
    for (id, record) in records {
      guard MarketoValues.passesFilter(record) else {
        filtered.insert(id.description)
        continue
      }
      rows[id.description] = row(for: record, entity: entity, key: key)
    }
    return (rows, filtered)
  }

  func rows(of records: [GUID: Record], entity: String, key: String) -> [String: MarketoRow] {
    var rows: [String: MarketoRow] = [:]
    for (id, record) in records { rows[id.description] = row(for: record, entity: entity, key: key) }
    return rows
  }

  func row(for record: Record, entity: String, key: String) -> MarketoRow {
    var row = MarketoValues.mapped(record, mapping.fields(of: entity))
    row[key] = .string(record.id.description)
    row[MarketoField.microsoftIsDeleted] = .boolean(false)
    row[MarketoField.syncing] = .boolean(true)
    if let created = record.fields["createdon"], !created.isNull { row[MarketoField.microsoftCreatedDate] = created }
    return row
  }

  /// The current rows, plus every earlier row that is not current: frozen, flagged deleted when
  /// its record is gone from Dynamics and not syncing when the filter turned it away.
  func carryOver(
    _ previous: MarketoDataset, current: [String: MarketoRow], present: Set<String>, filtered: Set<String>
  ) -> MarketoDataset {
    var rows = current
    for (key, old) in previous.rows where rows[key] == nil {
      var frozen = old
      let dynamicsID = MarketoMerge.dynamicsID(of: old) ?? key
      if !present.contains(dynamicsID) {
        frozen[MarketoField.microsoftIsDeleted] = .boolean(true)
      } else if filtered.contains(dynamicsID) {
        frozen[MarketoField.syncing] = .boolean(false)
      }
      rows[key] = frozen
    }
    return MarketoDataset(rows: rows)
  }

  /// The Dynamics id a row stands for, whatever dataset it is in.
  static func dynamicsID(of row: MarketoRow) -> String? {
    for key in [
      MarketoField.recordID, MarketoField.microsoftID, MarketoField.externalCompanyID,
      MarketoField.externalOpportunityID, MarketoField.externalSalesPersonID, MarketoField.teamID,
    ] {
      if case .string(let id) = row[key] { return id }
    }
    return nil
  }

  func teamRows(_ dynamics: Snapshot, previous: MarketoDataset) -> MarketoDataset {
    let teams = dynamics.tables["team"]?.records ?? [:]
    var current = rows(of: teams, entity: "team", key: MarketoField.teamID)
    var members: [String: [String]] = [:]
    for membership in (dynamics.tables["teammembership"]?.records ?? [:]).values {
      guard let team = guidText(membership["teamid"]), let user = guidText(membership["systemuserid"]) else { continue }
      members[team, default: []].append(user)
    }
    for (team, users) in members where current[team] != nil {
      current[team]?["memberIds"] = .string(users.sorted().joined(separator: ";"))
    }
    return carryOver(previous, current: current, present: Set(teams.keys.map(\.description)), filtered: [])
  }

  func guidText(_ value: FieldValue) -> String? {
    switch value {
    case .guid(let id): return id.description
    case .lookup(let lookup): return lookup.id.description
    default: return nil
    }
  }
}
