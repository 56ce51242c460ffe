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
  ///   - current: the org after this run's export; a table of `partialTables` may hold only some of its records,
  ///     those `previous` does not hold being unchanged.
  ///   - links: the lookups of the records of `partialTables` that `current` does not hold (`RecordLinks`).
  public init(from previous: Snapshot, to current: Snapshot, links: RecordLinks = RecordLinks()) {
    self.init(
      changesByTable: MergeScope.changesByTable(from: previous, to: current), current: current, links: links)
  }

  /// The records that differ between two orgs (created: no `before`; deleted: no `after`): every record compared, or
  /// only those of `touched`, by table, where only they can differ.
  ///
  /// - Parameters:
  ///   - previous: the org as the last batch left it.
  ///   - current: the org after this run's export.
  ///   - touched: per table, the only records that can differ; `nil` compares every record.
  ///   - diff: the diff of the two orgs, when there is one: a record it lists as created, updated or deleted differs
  ///     without being compared again (its values differ, so it reads differently too); the others are compared
  ///     here, since a diff looks past what a scope must not (labels, columns the user ignores, a version unchanged).
  /// - Returns: each record that differs, before and after, in a list for each table.
  public static func changesByTable(
    from previous: Snapshot, to current: Snapshot, among touched: [String: Set<GUID>]? = nil,
    diff: SnapshotDiff? = nil
  ) -> [[(before: Record?, after: Record?)]] {
    let entities = Array(touched.map({ Set($0.keys) }) ?? Set(previous.tables.keys).union(current.tables.keys))
    let listed = Dictionary(
      (diff?.tables ?? []).map { ($0.entity, Set($0.changes.lazy.map(\.id))) }, uniquingKeysWith: { $0.union($1) })
    // A table on each core, the largest first.
    let costs = entities.map { touched?[$0]?.count ?? current.tables[$0]?.records.count ?? 0 }
    return concurrentMap(entities, costs: costs) { entity in
      var changes: [(before: Record?, after: Record?)] = []
      let before = previous.tables[entity]?.records ?? [:]
      let after = current.tables[entity]?.records ?? [:]
      let differs = listed[entity] ?? []
      func differ(_ id: GUID, _ record: Record) -> Bool {
        differs.contains(id) || !MergeScope.same(before[id], record)
      }
      guard let ids = touched?[entity] else {
        for (id, record) in after where differ(id, record) { changes.append((before[id], record)) }
        for (id, record) in before where after[id] == nil { changes.append((record, nil)) }
        return changes
      }
      for id in ids {
        if let record = after[id] {
          if differ(id, record) { changes.append((before[id], record)) }
        } else if let record = before[id] {
          changes.append((record, nil))
        }
      }
      return changes
    }
  }

  /// The scope of a run that changed these records (created: no `before`; deleted: no `after`) into `current`.
  ///
  /// - Parameters:
  ///   - changesByTable: the records changed, before and after, in lists as they were found (a table's each): not
  ///     joined into one, which copied every change on one core.
  ///   - current: the org after the run; a table of `partialTables` may hold only some of its records.
  ///   - links: the lookups of the records of `partialTables` that `current` does not hold (`RecordLinks`).
  public init(
    changesByTable: [[(before: Record?, after: Record?)]], current: Snapshot, links: RecordLinks = RecordLinks()
  ) {
    self.init()
    records.reserveCapacity(changesByTable.map(\.count).reduce(0, +))
    for changes in changesByTable {
      for (before, after) in changes {
        // Each side where it lies: a list of the two would copy both records of every change.
        if let before { MergeScope.add(before, to: &records) }
        if let after { MergeScope.add(after, to: &records) }
      }
    }
    addRecordsReaching(current, links: links)
  }

  /// Adds a changed record's id to the scope, and those of the records whose rows read it through it.
  private static func add(_ record: Record, to records: inout Set<GUID>) {
    records.insert(record.id)
    let forward: String? =
      switch record.entity {
      case "teammembership": "teamid"
      case "connection": "record1id"
      case "customeropportunityrole": "opportunityid"
      default: nil
      }
    guard let forward else { return }
    switch record[forward] {
    case .lookup(let target): records.insert(target.id)
    case .guid(let target): records.insert(target)
    default: break
    }
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
    let contacts = current.tables["contact"]?.records ?? [:]
    // Looked up on every core: a scope of a million-record org holds a couple of hundred thousand ids.
    let leads = concurrentMap(Array(records).runs(of: 16_384)) { run in
      run.compactMap { id in contacts[id].flatMap { MarketoValues.lookupID($0, "originatingleadid")?.id } }
    }
    var ids = records
    for run in leads { ids.formUnion(run) }
    return ids
  }

  /// Whether a previous row names one of `ids` (`previousRowIDs`), as its key or in one of `MarketoMerge.rowIDFields`.
  ///
  /// - Parameters:
  ///   - key: the row's key.
  ///   - rowIDs: the ids the row's values of `MarketoMerge.rowIDFields` name (`FieldValue.namedID`; any order).
  ///   - ids: the ids looked for.
  /// - Returns: `true` also where a value names an id in another spelling: more rows than needed are harmless.
  public static func row(key: String, rowIDs: [GUID?], names ids: ScreenedIDSet) -> Bool {
    if let id = GUID(key), ids.contains(id) { return true }
    return names(anyOf: rowIDs, ids)
  }

  /// Whether one of a row's ids (those of its key and of `MarketoMerge.rowIDFields`, any order) is one of `ids`:
  /// `row(key:rowIDs:names:)` with the key's id found before.
  @inlinable
  public static func names(anyOf rowIDs: some Sequence<GUID?>, _ ids: ScreenedIDSet) -> Bool {
    rowIDs.contains { $0.map(ids.contains) ?? false }
  }

  /// Whether a record reads as `earlier` did: the same values (nulls written or left out alike) and labels.
  public static func same(_ earlier: Record?, _ record: Record) -> Bool {
    guard let earlier else { return false }
    return earlier.labels == record.labels && (earlier.fields == record.fields || earlier == record)
  }

  /// The tables a merge in scope reads only by id, through lookups, with the lookups its scans look at in each: a run
  /// may hold only some of their records (`holdRecordsRead`) and the lookups of the others (`RecordLinks`).
  public static let partialTables: [String: [String]] = [
    "account": [], "contact": ["parentcustomerid", "ownerid", "originatingleadid"], "lead": ["ownerid"],
    "opportunity": ["customerid"],
  ]

  /// Adds to `current` every record of `partialTables` a merge with this scope reads.
  ///
  /// Those are the records in scope, and those they reach through their lookups, two steps on (an opportunity's
  /// customer contact's account, a custom row's parent row's account). The merge reads no other record of those
  /// tables.
  ///
  /// - Parameters:
  ///   - current: the org after the run, whose tables of `partialTables` may hold only some of their records.
  ///   - read: the records of `partialTables` with these ids that `current` does not hold (an id of none is left
  ///     out).
  public func holdRecordsRead(in current: inout Snapshot, reading read: (Set<GUID>) throws -> [Record]) rethrows {
    // Tables held in part first: most ids are of theirs.
    let tables = current.tables.keys.sorted {
      (MergeScope.partialTables[$0] != nil ? 0 : 1, $0) < (MergeScope.partialTables[$1] != nil ? 0 : 1, $1)
    }
    var wanted = records
    var asked = Set<GUID>()
    for step in 0..<3 {
      let ids = wanted.filter { asked.insert($0).inserted }
      // Only the ids the records of this step reach are gathered, for the next: the records held are not copied.
      let seen = step < 2 ? asked : nil
      let lookedUp = MergeScope.lookUp(ids, in: current, tables: tables, targetsNotIn: seen)
      var records = try read(lookedUp.missing)
      // The records come table by table: each run of one table's found once, by place (a record copied out of the
      // list for each look is a reference counted and let go of, tens of thousands on one core), then counted, and
      // moved into its table below.
      var tableRuns: [(entity: String, count: Int)] = []
      for index in records.indices {
        let entity = records[index].entity
        if let last = tableRuns.last, last.entity == entity {
          tableRuns[tableRuns.count - 1].count += 1
        } else {
          tableRuns.append((entity, 1))
        }
      }
      var adding: [String: Int] = [:]
      for run in tableRuns {
        adding[run.entity, default: 0] += run.count
        if current.tables[run.entity] == nil {
          current.tables[run.entity] = Snapshot.Table(entity: run.entity, kind: .full)
        }
      }
      current.reserveRecords(adding: adding)
      // The last step gathers no targets: nothing reads them.
      let targetsOfRead = seen.map { seen in
        concurrentMap(records.runs(of: 4_096)) { run in
          var targets: [GUID] = []
          for record in run { MergeScope.targets(of: record.fields, notIn: seen, into: &targets) }
          return targets
        }
      }
      // Each record moved into its table, not copied: tens of thousands of records, on one core. Each run of one
      // table's, taken from the end, goes into the table taken out once for the run, not found by its name for every
      // record.
      for run in tableRuns.reversed() {
        var table =
          current.tables.removeValue(forKey: run.entity) ?? Snapshot.Table(entity: run.entity, kind: .full)
        for _ in 0..<run.count {
          guard let record = records.popLast() else { break }
          table.records[record.id] = record
        }
        current.tables[run.entity] = table
      }
      guard let targetsOfRead else { break }
      wanted = Set(lookedUp.targets)
      wanted.formUnion(targetsOfRead.joined())
    }
  }

  /// The ids a record's lookups and id columns name that are not in `seen`, appended to `targets`.
  private static func targets(of fields: Fields, notIn seen: Set<GUID>, into targets: inout [GUID]) {
    for (_, value) in fields {
      switch value {
      case .lookup(let target): if !seen.contains(target.id) { targets.append(target.id) }
      case .guid(let target): if !seen.contains(target) { targets.append(target) }
      default: continue
      }
    }
  }

  /// Of `ids`, those whose records `current` does not hold (looked for in `tables` in order), and, unless `seen` is
  /// `nil`, the ids the records it holds name that are not in `seen`; in runs on every core.
  ///
  /// A function of its own, so that nothing holds on to `current` once it returns: tables the caller then adds to are
  /// not copied first.
  private static func lookUp(_ ids: Set<GUID>, in current: Snapshot, tables: [String], targetsNotIn seen: Set<GUID>?)
    -> (targets: [GUID], missing: Set<GUID>)
  {
    let held = tables.compactMap { current.tables[$0]?.records }
    let lookedUp = concurrentMap(Array(ids).runs(of: 4_096)) { run in
      var targets: [GUID] = []
      var missing: [GUID] = []
      for id in run {
        var place: (table: Int, index: [GUID: Record].Index)?
        for (table, records) in held.enumerated() where place == nil {
          place = records.index(forKey: id).map { (table, $0) }
        }
        guard let place else {
          missing.append(id)
          continue
        }
        if let seen { MergeScope.targets(of: held[place.table][place.index].value.fields, notIn: seen, into: &targets) }
      }
      return (targets: targets, missing: missing)
    }
    return (lookedUp.flatMap(\.targets), Set(lookedUp.lazy.flatMap(\.missing)))
  }

  /// The lookups each scan in `addRecordsReaching` looks at, by table.
  private static let scannedLookups: [String: [String]] = partialTables.merging([
    "connection": ["record2id"], "customeropportunityrole": ["customerid"],
  ]) { held, _ in held }

  /// Adds the records whose rows read a record already in scope: one lookup away, and two for opportunities (their
  /// customer contact's account) and custom rows (through another custom row).
  private mutating func addRecordsReaching(_ current: Snapshot, links: RecordLinks) {
    let changed = records
    @Sendable func lookups(_ entity: String, into scope: inout Set<GUID>, reaching targets: ScreenedIDSet) {
      let fields = MergeScope.scannedLookups[entity] ?? []
      let held = current.tables[entity]?.records ?? [:]
      for record in held.values {
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
      guard let outlined = links.tables[entity] else { return }
      let places = fields.map { field in
        guard let place = outlined.fields.firstIndex(of: field) else {
          preconditionFailure("the links of \(entity) lack \(field)")
        }
        return place
      }
      // A row the table holds too was scanned above; asked only of a row that reaches a target, which few do.
      for row in 0..<outlined.count {
        for place in places {
          guard let target = outlined.target(row: row, place: place), targets.contains(target),
            let id = outlined.id(ofRow: row), held[id] == nil
          else { continue }
          scope.insert(id)
        }
      }
    }
    @Sendable func customRows(into scope: inout Set<GUID>, reaching targets: ScreenedIDSet) {
      for (entity, table) in current.tables where MarketoMerge.isCustomTable(entity) {
        // Each value looked at where it lies: a lookup found again by its column's name was a search a column.
        for record in table.records.values
        where record.fields.contains(where: { member in
          if case .lookup(let target) = member.value { return targets.contains(target.id) }
          return false
        }) {
          scope.insert(record.id)
        }
      }
    }

    /// The records of `entities` (`nil`: the custom tables) whose lookups reach `targets`, a table on each core:
    /// each scan is a pass over every lookup of its table.
    func scans(of entities: [String?], reaching ids: Set<GUID>) -> Set<GUID> {
      let targets = ScreenedIDSet(ids)
      let costs = entities.map { entity in
        guard let entity else {
          return current.tables.filter { MarketoMerge.isCustomTable($0.key) }.values.map(\.records.count).reduce(0, +)
        }
        return (current.tables[entity]?.records.count ?? 0) + (links.tables[entity]?.count ?? 0)
      }
      let found = concurrentMap(entities, costs: costs) { entity in
        var scope = Set<GUID>()
        if let entity {
          lookups(entity, into: &scope, reaching: targets)
        } else {
          customRows(into: &scope, reaching: targets)
        }
        return scope
      }
      return found.reduce(into: Set<GUID>()) { $0.formUnion($1) }
    }

    let scanned = MergeScope.scannedLookups.filter { !$0.value.isEmpty }.keys.sorted()
    let reached = scans(of: scanned + [nil], reaching: changed)
    let secondStep = scans(of: ["opportunity", nil], reaching: reached)
    records.formUnion(reached)
    records.formUnion(secondStep)
  }
}

/// The lookups of the records of `MergeScope.partialTables` a snapshot does not hold, by table: what a merge in scope
/// scans of every record (`MergeScope.init(changes:current:links:)`), without the records.
public struct RecordLinks: Sendable {
  /// One table's records not held: each id, and the record's lookup in each of `fields` (`nil`: none).
  public struct Table: Sendable {
    public let fields: [String]
    private var ids: [GUID] = []
    /// Row after row, `fields.count` a row.
    private var targets: [GUID?] = []
    /// Records whose rows are passed over.
    private var removed = Set<GUID>()

    public init(fields: [String]) {
      self.fields = fields
    }

    /// Rows, those of records removed among them.
    public var count: Int { ids.count }

    public mutating func reserveCapacity(_ count: Int) {
      ids.reserveCapacity(count)
      targets.reserveCapacity(count * fields.count)
    }

    /// Adds a record by its id and its lookups, in the order of `fields`.
    public mutating func append(_ id: GUID, _ lookups: [GUID?]) {
      lookups.withUnsafeBufferPointer { append(id, $0) }
    }

    /// Adds a record by its id and its lookups, in the order of `fields`, from where they lie: a million records
    /// are added so, without an array for each.
    public mutating func append(_ id: GUID, _ lookups: UnsafeBufferPointer<GUID?>) {
      precondition(lookups.count == fields.count, "a record's links are its table's fields")
      ids.append(id)
      for target in lookups { targets.append(target) }
    }

    /// Adds records by their ids and their lookups, `fields.count` a record, one record after another in `lookups`.
    public mutating func append(_ ids: some Collection<GUID>, lookups: [GUID?]) {
      precondition(lookups.count == ids.count * fields.count, "a record's links are its table's fields")
      self.ids.append(contentsOf: ids)
      targets.append(contentsOf: lookups)
    }

    /// Adds a record's id and lookups.
    public mutating func append(_ record: Record) {
      append(record.id, fields.map { MarketoValues.lookupID(record, $0)?.id })
    }

    func target(row: Int, place: Int) -> GUID? { targets[row * fields.count + place] }

    /// The table without the records of `ids`: their rows stay where they lie and are passed over (`id(ofRow:)`),
    /// rather than every other row copied out of a table of hundreds of thousands.
    public func removing(_ ids: Set<GUID>) -> Table {
      var table = self
      table.removed.formUnion(ids)
      return table
    }

    /// The id of a row's record; `nil` for a record removed (`removing`).
    func id(ofRow row: Int) -> GUID? {
      let id = ids[row]
      return removed.isEmpty || !removed.contains(id) ? id : nil
    }
  }

  public var tables: [String: Table]

  public init(tables: [String: Table] = [:]) {
    self.tables = tables
  }
}
