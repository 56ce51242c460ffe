extension MarketoMerge {
  /// Tables that are custom: a publisher prefix (`cr123_project`), and not an association.
  static func isCustomTable(_ entity: String) -> Bool {
    guard let underscore = entity.firstIndex(of: "_"), underscore != entity.startIndex else { return false }
    return true
  }

  /// Custom objects: rows of custom tables linked to a lead, contact or account.
  ///
  /// The link is direct, or through one other custom row (two levels deep, as Marketo supports). A row with no such link
  /// is not synced.
  func customObjects(
    _ dynamics: Snapshot, previous: [String: MarketoDataset], persons: PersonRegistry, rebuilt: RebuiltRows
  ) -> [String: MarketoDataset] {
    let accounts = dynamics.tables["account"]?.records ?? [:]
    var customRecords: [GUID: Record] = [:]
    for (entity, table) in dynamics.tables where MarketoMerge.isCustomTable(entity) {
      // The first table is shared, not copied: most orgs have one custom table, of many rows.
      if customRecords.isEmpty {
        customRecords = table.records
      } else {
        customRecords.merge(table.records) { first, _ in first }
      }
    }

    /// The person or company a row reaches, and the lookup path taken.
    func link(of record: Record, depth: Int) -> (MarketoRow, String)? {
      for field in record.fields.keys.sorted() {
        guard let lookup = MarketoValues.lookupID(record, field) else { continue }
        if let personID = persons[lookup.id], lookup.entity != "account" {
          return (["leadId": .integer(personID)], field)
        }
        if accounts[lookup.id] != nil {
          return ([MarketoField.externalCompanyID: .string(lookup.id.description)], field)
        }
        if depth < 2, let parent = customRecords[lookup.id], parent.id != record.id,
          let (fields, path) = link(of: parent, depth: depth + 1)
        {
          return (fields, field + ">" + path)
        }
      }
      return nil
    }

    var result: [String: MarketoDataset] = [:]
    let tables = Set(previous.keys).union(dynamics.tables.keys.filter(MarketoMerge.isCustomTable))
    for entity in tables.sorted() {
      let records = dynamics.tables[entity]?.records ?? [:]
      let mapped = mapping.entities[entity].map { _ in columns(of: entity) }
      var current: [String: MarketoRow] = [:]
      var filtered = Set<String>()
      var members = MappedMembers()
      for record in rebuilt.records(of: records) {
        guard MarketoValues.passesFilter(record) else {
          filtered.insert(record.id.description)
          continue
        }
        guard let (linkFields, path) = link(of: record, depth: 1) else { continue }
        // A table the mapping does not name is synced column for column, under the Dynamics names.
        var row =
          mapped.map { MarketoValues.mapped(record, $0, members: &members) }
          ?? MarketoValues.mappedUnderOwnNames(record)
        row.merge(linkFields) { $1 }
        row[MarketoField.recordID] = .string(record.id.description)
        row["msftLinkPath"] = .string(path)
        row[MarketoField.microsoftIsDeleted] = .boolean(false)
        row[MarketoField.syncing] = .boolean(true)
        current[record.id.description] = row
      }
      result[entity] = carryOver(
        previous[entity] ?? MarketoDataset(), current: current,
        isPresent: { GUID($0).map { records[$0] != nil } ?? false }, filtered: filtered,
        rebuilds: rebuilt.ownRow)
    }
    // A table with rows before keeps them (frozen when gone); one held in part may hold none of them.
    return result.filter { !$0.value.rows.isEmpty || previous[$0.key] != nil }
  }
}
