/// Every row of one export, per table, checked for duplicates: the "normalize" step's result.
public struct Snapshot: Sendable {
  /// One table's rows in the export.
  public struct Table: Sendable {
    public var entity: String
    public var kind: ExportKind
    public var records: [GUID: Record]
    public var deletions: [GUID: Deletion]

    public init(entity: String, kind: ExportKind) {
      self.entity = entity
      self.kind = kind
      self.records = [:]
      self.deletions = [:]
    }
  }

  public var tables: [String: Table] = [:]
  /// Records that were skipped, with where and why.
  public var rejects: [InputError] = []
  public var files: [ExportFileSummary] = []
  /// Files that could not be read to the end (malformed, refused, unreadable); what was read of
  /// them before the error is kept, but the export is incomplete.
  public var failedFiles: [InputError] = []
  /// Problems with the export as a whole (an incomplete set of pages, failed files), which make
  /// inferring deletions by absence unsafe.
  public var problems: [String] = []

  /// Whether every file was read and every paged table is complete.
  public var isComplete: Bool { failedFiles.isEmpty && problems.isEmpty }

  public init() {}

  /// Table names in a stable order.
  public var entityNames: [String] { tables.keys.sorted() }

  /// Makes room in each table held for the records about to be added to it, at once: a table of many records grown
  /// one doubling at a time is rehashed again and again.
  ///
  /// - Parameter counts: by table, how many records are about to be added.
  public mutating func reserveRecords(adding counts: [String: Int]) {
    for (entity, count) in counts {
      guard let held = tables[entity]?.records.count else { continue }
      tables[entity]?.records.reserveCapacity(held + count)
    }
  }
}

/// Gathers the events of every file of one export into a `Snapshot`.
///
/// A second row with an id already seen is rejected with both positions, never silently
/// overwriting the first: a duplicate means the export is wrong, and the user must hear of it.
public struct SnapshotBuilder: Sendable {
  public private(set) var snapshot = Snapshot()
  /// By table, the room its records take when the table is first made.
  private var recordsToReserve: [String: Int] = [:]

  public init() {}

  /// Makes room for `count` records of `entity`, when they are known to be coming: a table grown one doubling at a
  /// time is rehashed again and again.
  public mutating func reserveRecords(_ count: Int, of entity: String) {
    if let held = snapshot.tables[entity]?.records.count {
      snapshot.tables[entity]?.records.reserveCapacity(held + count)
    } else {
      recordsToReserve[entity] = count
    }
  }

  public mutating func add(_ event: ReadEvent) {
    switch event {
    case .record(let record):
      var table = takeTable(of: record.entity)
      add(record, to: &table)
      snapshot.tables[record.entity] = table
    case .deletion(let deletion):
      let entity = deletion.entity
      if snapshot.tables[entity] == nil { snapshot.tables[entity] = Snapshot.Table(entity: entity, kind: .delta) }
      // A row changed and then deleted within one delta is deleted.
      snapshot.tables[entity]?.records[deletion.id] = nil
      snapshot.tables[entity]?.deletions[deletion.id] = deletion
    case .reject(let error):
      snapshot.rejects.append(error)
    }
  }

  /// Adds the events in order, as `add(_:)` does one at a time, moving each out of `events`: a run of records of one
  /// table is added to the table taken out once for the run, rather than the table found by its name three times a
  /// record (a tenth of a second on one core for the 72,000 rows of a change-tracking delta of a million-record org).
  public mutating func add(_ events: inout [ReadEvent]) {
    // Reversed, so that the events are taken from the end, each moved out rather than copied; reversed through the
    // buffer, whose swaps move the events, where the array's own swaps copy each one twice.
    events.withUnsafeMutableBufferPointer { $0.reverse() }
    while let event = events.popLast() {
      guard case .record(let record) = event else {
        add(event)
        continue
      }
      let entity = record.entity
      var table = takeTable(of: entity)
      add(record, to: &table)
      while let next = events.popLast() {
        guard case .record(let nextRecord) = next, nextRecord.entity == entity else {
          events.append(next)
          break
        }
        add(nextRecord, to: &table)
      }
      snapshot.tables[entity] = table
    }
  }

  /// Adds the records in order, as `add(_:)` does one at a time, a run of one table at a time as `add(_: inout)` adds
  /// events (a state file's records are all of its table).
  public mutating func add(_ records: [Record]) {
    var events = records.map(ReadEvent.record)
    add(&events)
  }

  /// The table of `entity` taken out of the snapshot (made, for a table not seen yet), to be changed in place and put
  /// back: changed where it lies in the snapshot's dictionary, it would be found again for every change.
  private mutating func takeTable(of entity: String) -> Snapshot.Table {
    if let table = snapshot.tables.removeValue(forKey: entity) { return table }
    var table = Snapshot.Table(entity: entity, kind: .full)
    table.records.reserveCapacity(recordsToReserve[entity] ?? 0)
    return table
  }

  private mutating func add(_ record: Record, to table: inout Snapshot.Table) {
    if let first = table.records[record.id] {
      snapshot.rejects.append(
        SnapshotBuilder.duplicateReject(entity: table.entity, id: record.id, at: record.origin, first: first.origin))
    } else if table.deletions[record.id] == nil {
      table.records[record.id] = record
    }
  }

  /// Notes a file whose document could not be read to the end.
  public mutating func fail(file error: InputError) {
    snapshot.failedFiles.append(error)
  }

  /// Records what a reader reported about a finished file, and the kind it turned out to be.
  public mutating func finish(file summary: ExportFileSummary) {
    snapshot.files.append(summary)
    for entity in summary.entities {
      if snapshot.tables[entity] == nil {
        snapshot.tables[entity] = Snapshot.Table(entity: entity, kind: summary.kind)
      } else if summary.kind == .delta {
        snapshot.tables[entity]?.kind = .delta
      }
    }
  }

  /// The snapshot, after checking that paged tables have their last page.
  public func build() -> Snapshot {
    var result = snapshot
    result.problems = SnapshotBuilder.problems(of: result.files)
    return result
  }

  /// The reject of a row whose id an earlier row of the same export already has.
  static func duplicateReject(entity: String, id: GUID, at position: SourcePosition, first: SourcePosition)
    -> InputError
  {
    InputError(
      at: position, entity: entity, recordID: id.description,
      reason: "duplicate id in one export (first at \(first)); the first row is kept")
  }

  /// What makes an export unsafe to infer deletions from: a paged table without its last page, or
  /// a table given as full and delta pages at once.
  static func problems(of files: [ExportFileSummary]) -> [String] {
    var problems: [String] = []
    var pagesByEntity: [String: [ExportFileSummary]] = [:]
    for file in files where file.format == .webAPI || file.format == .fetchXML {
      for entity in file.entities { pagesByEntity[entity, default: []].append(file) }
    }
    for (entity, pages) in pagesByEntity.sorted(by: { $0.key < $1.key })
    where pages.allSatisfy(\.hasNextPage) {
      let names = pages.map(\.path).joined(separator: ", ")
      problems.append(
        "\(entity): every page given (\(names)) says more records follow; the last page is missing, so absent records cannot be taken as deleted"
      )
    }
    var kindsByEntity: [String: Set<ExportKind>] = [:]
    for file in files {
      for entity in file.entities { kindsByEntity[entity, default: []].insert(file.kind) }
    }
    for (entity, kinds) in kindsByEntity.sorted(by: { $0.key < $1.key }) where kinds.count > 1 {
      problems.append(
        "\(entity): the export mixes full pages and change-tracking (delta) pages; give them as separate exports")
    }
    return problems
  }
}

extension Snapshot {
  /// The org's full state after `next`: a full table replaces this one's, a delta table is laid
  /// over it (rows overlaid, deletions removed), and tables `next` does not hold stay as they are.
  public func applying(_ next: Snapshot) -> Snapshot {
    var state = self
    state.rejects = next.rejects
    state.files = next.files
    state.failedFiles = next.failedFiles
    state.problems = next.problems
    // A table on each core, the largest first.
    let tables = Array(next.tables)
    let laid = concurrentMap(tables, costs: tables.map(\.value.records.count)) { entity, table in
      Snapshot.laying(table, over: self.tables[entity])
    }
    for ((entity, _), table) in zip(tables, laid) { state.tables[entity] = table }
    return state
  }

  /// `table` of the next export laid over the table before it (see `applying`).
  private static func laying(_ table: Table, over earlier: Table?) -> Table {
    switch table.kind {
    case .full:
      var replacement = table
      if let earlier = earlier?.records {
        for (id, row) in table.records {
          if let before = earlier[id] { replacement.records[id] = row.keepingLabels(from: before) }
        }
      }
      return replacement
    case .delta:
      var merged = earlier ?? Table(entity: table.entity, kind: .full)
      merged.kind = .full
      for (id, row) in table.records {
        merged.records[id] = merged.records[id].map { $0.overlaid(with: row) } ?? row
      }
      for id in table.deletions.keys { merged.records[id] = nil }
      merged.deletions = [:]
      return merged
    }
  }
}
