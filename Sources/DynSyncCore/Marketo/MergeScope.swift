/// The Marketo rows a run must build again, named by the Dynamics records they stand for.
///
/// A Marketo row reads its own record and a few others, always through lookups: a person its contact's account, its
/// owner and the lead it was qualified from; an opportunity its customer and that contact's account; an opportunity's
/// roles its connections, customer roles and those contacts' persons; a team its memberships; a custom row the
/// records its lookups reach, two levels deep. So when some records change, the rows to build again are theirs and
/// those of every record that reaches one of them through those lookups. Every other row is the previous run's row
/// as it stands, which is what building it again would give: `MarketoMerge` with a scope and without one give the
/// same datasets.
public struct MergeScope: Sendable, Equatable {
  /// Records whose rows are built again (of any table; ids are unique across an org).
  public var records: Set<GUID>

  public init(records: Set<GUID> = []) {
    self.records = records
  }

  /// The scope of a run that turns `previous` into `current`, every record compared.
  ///
  /// - Parameters:
  ///   - previous: the org as the last batch left it.
  ///   - current: the org after this run's export.
  public init(from previous: Snapshot, to current: Snapshot) {
    var changes: [(before: Record?, after: Record?)] = []
    for entity in Set(previous.tables.keys).union(current.tables.keys) {
      let before = previous.tables[entity]?.records ?? [:]
      let after = current.tables[entity]?.records ?? [:]
      for (id, record) in after where !MergeScope.same(before[id], record) { changes.append((before[id], record)) }
      for (id, record) in before where after[id] == nil { changes.append((record, nil)) }
    }
    self.init(changes: changes, current: current)
  }

  /// The scope of a run that changed these records (created: no `before`; deleted: no `after`) into `current`.
  public init(changes: [(before: Record?, after: Record?)], current: Snapshot) {
    self.init()
    for (before, after) in changes {
      for record in [before, after].compactMap({ $0 }) {
        records.insert(record.id)
        // Rows of the records a changed record reaches, read through it.
        let forward: [String] =
          switch record.entity {
          case "teammembership": ["teamid"]
          case "connection": ["record1id"]
          case "customeropportunityrole": ["opportunityid"]
          default: []
          }
        for field in forward {
          switch record[field] {
          case .lookup(let target): records.insert(target.id)
          case .guid(let target): records.insert(target)
          default: break
          }
        }
      }
    }
    addRecordsReaching(current)
  }

  /// The Dynamics ids by which a merge with this scope reads previous rows: its records, and the leads its contacts
  /// were qualified from.
  ///
  /// A merge looks at a previous row only when the row is built again, frozen, or read for a record in scope (its
  /// person, the person of its lead, its company fields), and each of those rows names one of these ids, as its key
  /// or in one of `MarketoMerge.rowIDFields`. So a merge given only the previous rows that name one of them, and the
  /// registry of every person, builds those rows as a merge given every row does, and leaves the others as they were.
  ///
  /// - Parameter current: the org after this run's export.
  /// - Returns: the ids, of any table.
  public func previousRowIDs(in current: Snapshot) -> Set<GUID> {
    var ids = records
    let contacts = current.tables["contact"]?.records ?? [:]
    for id in records {
      guard let contact = contacts[id], let lead = MarketoValues.lookupID(contact, "originatingleadid") else {
        continue
      }
      ids.insert(lead.id)
    }
    return ids
  }

  /// Whether a previous row names one of `ids` (`previousRowIDs`), as its key or in one of `MarketoMerge.rowIDFields`.
  ///
  /// - Parameters:
  ///   - key: the row's key.
  ///   - idValues: the row's values of `MarketoMerge.rowIDFields` (any order; `.null` for one it lacks).
  ///   - ids: the ids looked for.
  /// - Returns: `true` also where a value names an id in another spelling: more rows than needed are harmless.
  public static func row(key: String, idValues: [FieldValue], names ids: Set<GUID>) -> Bool {
    if let id = GUID(key), ids.contains(id) { return true }
    for value in idValues {
      switch value {
      case .string(let text): if let id = GUID(text), ids.contains(id) { return true }
      case .guid(let id): if ids.contains(id) { return true }
      default: continue
      }
    }
    return false
  }

  /// Whether a record reads as `earlier` did: the same values (nulls written or left out alike) and labels.
  public static func same(_ earlier: Record?, _ record: Record) -> Bool {
    guard let earlier else { return false }
    return earlier.labels == record.labels && (earlier.fields == record.fields || earlier == record)
  }

  /// Adds the records whose rows read a record already in scope: one lookup away, and two for opportunities (their
  /// customer contact's account) and custom rows (through another custom row).
  private mutating func addRecordsReaching(_ current: Snapshot) {
    let changed = records
    func lookups(_ entity: String, _ fields: [String], into scope: inout Set<GUID>, reaching targets: Set<GUID>) {
      for record in current.tables[entity]?.records.values ?? [:].values {
        for field in fields {
          guard let target = MarketoValues.lookupID(record, field), targets.contains(target.id) else { continue }
          // Stakeholder tables stand for their opportunity's roles.
          switch entity {
          case "connection": MarketoValues.lookupID(record, "record1id").map { _ = scope.insert($0.id) }
          case "customeropportunityrole":
            MarketoValues.lookupID(record, "opportunityid").map { _ = scope.insert($0.id) }
          default: scope.insert(record.id)
          }
        }
      }
    }
    func customRows(into scope: inout Set<GUID>, reaching targets: Set<GUID>) {
      for (entity, table) in current.tables where MarketoMerge.isCustomTable(entity) {
        for record in table.records.values
        where record.fields.keys.contains(where: { field in
          MarketoValues.lookupID(record, field).map { targets.contains($0.id) } ?? false
        }) {
          scope.insert(record.id)
        }
      }
    }

    var reached = Set<GUID>()
    lookups("contact", ["parentcustomerid", "ownerid", "originatingleadid"], into: &reached, reaching: changed)
    lookups("lead", ["ownerid"], into: &reached, reaching: changed)
    lookups("opportunity", ["customerid"], into: &reached, reaching: changed)
    lookups("connection", ["record2id"], into: &reached, reaching: changed)
    lookups("customeropportunityrole", ["customerid"], into: &reached, reaching: changed)
    customRows(into: &reached, reaching: changed)
    var secondStep = Set<GUID>()
    lookups("opportunity", ["customerid"], into: &secondStep, reaching: reached)
    customRows(into: &secondStep, reaching: reached)
    records.formUnion(reached)
    records.formUnion(secondStep)
  }
}
