import DynSyncArtifacts
import DynSyncReaders
import Foundation

/// An export laid over a workspace's state: what changed, and the state it leaves.
struct AppliedExport {
  /// The changes, echoes of dynsync's own writes still in.
  var diff: SnapshotDiff
  /// The org after the export.
  var dynamics: Snapshot
  var fingerprints: StateFingerprints
  var rejects: [InputError]
  var inputs: ExportInputs
  /// Tables the export holds whole: only those lose records by leaving them out.
  var fullTables: Set<String>
  /// The records that changed, in lists of a table each, when they are known without comparing every record.
  var changes: [[(before: Record?, after: Record?)]]?
  /// Per table, the only records whose state lines can differ from the state's, when they are known (see
  /// `StateDelta`); `nil` when every record must be compared.
  var touched: [String: Set<GUID>]?
  /// For a state held in part: the previous records it did not hold that were read (those of the rows that differ,
  /// and of the rows gone), by table, for the state before to hold them too.
  var previousRead: [String: [GUID: Record]] = [:]
  /// For a state held in part: the lookups of the records `dynamics` does not hold (`MergeScope`).
  var links = RecordLinks()
  /// For a state held in part: by table, the records the export named (read again, or gone), whose lines in the
  /// state before stand for nothing any more.
  var replaced: [String: Set<GUID>] = [:]
}

extension SyncJob {
  /// The export read whole, every row decoded and held: works for every input.
  ///
  /// - Parameters:
  ///   - previous: the state of the batch before; it takes the previous records read, or every record when the
  ///     export holds a table of `unread` whole.
  ///   - unread: for a state held in part, where its other records lie; set to `nil` once they are all read.
  ///   - progress: told of the files read.
  /// - Returns: the export laid over the state, and what changed.
  /// - Throws: the export's errors, or `InputError` for a state record that cannot be read.
  func applyInFull(
    to previous: inout WorkspaceState, unread: inout DynamicsStateInPart?, progress: some ProgressObserver
  ) throws -> AppliedExport {
    let export = try loadSnapshot(from: exports, options: readOptions, progress: progress, faults: faults)
    try IncompleteExport.check(export, export: "given")
    // A change-tracking table needs only the previous records it names; a table exported whole needs them all.
    if let held = unread, export.tables.values.contains(where: { $0.kind == .full && held.unread[$0.entity] != nil }) {
      previous.dynamics = try held.whole(previous.dynamics)
      unread = nil
    }
    // The only records a table can have changed: those a change-tracking table names, any of one exported whole.
    var touched: [String: Set<GUID>] = [:]
    for (entity, table) in export.tables {
      touched[entity] =
        table.kind == .delta
        ? Set(table.records.keys).union(table.deletions.keys)
        : Set(table.records.keys).union(previous.dynamics.tables[entity]?.records.keys ?? [:].keys)
    }
    var previousRead: [String: [GUID: Record]] = [:]
    var replaced: [String: Set<GUID>] = [:]
    if let unread {
      let named = export.tables.keys.filter { unread.unread[$0] != nil }.map { ($0, touched[$0] ?? []) }
      replaced = Dictionary(uniqueKeysWithValues: named)
      for (entity, records) in try unread.records(named: replaced) {
        var byID = [GUID: Record](minimumCapacity: records.count)
        // The table taken out once and sized once: found by name for each record, and grown as it filled, it took
        // tens of milliseconds on one core.
        var table = previous.dynamics.tables.removeValue(forKey: entity)
        let room = (table?.records.count ?? 0) + records.count
        table?.records.reserveCapacity(room)
        for record in records {
          byID[record.id] = record
          table?.records[record.id] = record
        }
        if let table { previous.dynamics.tables[entity] = table }
        if !byID.isEmpty { previousRead[entity] = byID }
      }
    }
    var dynamics = previous.dynamics.applying(export)
    dynamics.rejects = []
    dynamics.files = []
    var fingerprints = previous.fingerprints
    // A change-tracking table leaves the records it does not name as the export before left them, and their
    // fingerprints with them; the others were read without fingerprints. A table on each core: each is a look at
    // every fingerprint of the table, hundreds of thousands.
    let exported = Array(export.tables)
    let earlier = previous.fingerprints
    let kept = concurrentMap(exported, costs: exported.map { earlier.tables[$0.key]?.approximateCount ?? 0 }) {
      entity, table in
      guard table.kind == .delta, var kept = earlier.tables[entity] else { return StateFingerprints.Table?.none }
      kept.removeRows(of: (Array(table.records.keys) + Array(table.deletions.keys)).sorted())
      return kept
    }
    for ((entity, _), kept) in zip(exported, kept) { fingerprints.tables[entity] = kept }
    var diff = Differ.diff(previous: previous.dynamics, current: export, laid: dynamics, options: options)
    if let unread {
      // The records of a change-tracking table it does not name are unchanged, read or not.
      for position in diff.tables.indices {
        let entity = diff.tables[position].entity
        guard export.tables[entity]?.kind == .delta else { continue }
        diff.tables[position].counts.unchanged +=
          unread.count(of: entity, held: [:]) - (previousRead[entity]?.count ?? 0)
      }
    }
    let applied = AppliedExport(
      diff: diff, dynamics: dynamics, fingerprints: fingerprints, rejects: export.rejects,
      inputs: ExportInputs(try BatchContents.inputs(of: export.files)),
      fullTables: Set(export.tables.values.filter { $0.kind == .full }.map(\.entity)),
      changes: MergeScope.changesByTable(from: previous.dynamics, to: dynamics, among: touched, diff: diff),
      touched: touched,
      previousRead: previousRead, links: unread?.links(without: replaced) ?? RecordLinks(), replaced: replaced)
    MemoryFreedAside.free(consume export)
    return applied
  }

  /// The export indexed, its rows' fingerprints compared with those the state keeps, and only the rows that differ
  /// decoded: `applyInFull`'s outcome without decoding or holding the rows that did not change.
  ///
  /// - Parameters:
  ///   - previous: the state of the batch before.
  ///   - unread: for a state held in part, where its other records lie; they are read as they are needed.
  ///   - progress: told of the steps' times.
  /// - Returns: the export laid over the state, and what changed.
  /// - Throws: `IndexUnavailable` (or the file's own error) for an export only a full read handles (a format without
  ///   an indexing reader, a delta, an incomplete or malformed export); the caller then applies it in full.
  func applyIndexed(
    to previous: WorkspaceState, unread: DynamicsStateInPart? = nil, progress: some ProgressObserver
  ) throws -> AppliedExport {
    guard !readInFull else { throw IndexUnavailable(path: "", reason: "asked for") }
    let clock = ContinuousClock()
    let started = clock.now
    guard let export = try loadIndexes(of: [exports], options: readOptions, progress: progress).first else {
      throw IndexUnavailable(path: "", reason: "no export")
    }
    guard export.index.isComplete else { throw IndexUnavailable(path: "", reason: "an incomplete export") }
    guard export.index.files.allSatisfy({ $0.summary.kind == .full }) else {
      throw IndexUnavailable(path: "", reason: "a delta export")
    }
    let rowCount = export.index.tables.values.map(\.count).reduce(0, +)
    try faults.check(afterRecords: rowCount)
    progress.finished("indexed \(rowCount) rows", elapsed: started.duration(to: clock.now))

    let contexts = try export.decodingContexts()
    let stateIndex = previous.dynamics.index(
      of: Array(export.index.tables.keys), fingerprints: previous.fingerprints, contexts: contexts, unread: unread)
    let stateRecords = previous.dynamics
    let decoded = DecodedRecords()
    let previousDecoded = DecodedRecords()
    var changesByTable: [String: [RecordChange]] = [:]
    let counted = try Differ.diff(previous: stateIndex, current: export.index, options: options) {
      entity, before, after in
      let records = stateRecords.tables[entity]?.records ?? [:]
      let events = try decodeRows(of: entity, [(after, export)], rowsPerPiece: rowsReadAgainPerPiece)[0]
      decoded.add(events, of: entity)
      var earlier = before.compactMap { records[$0.id] }
      if let unread, earlier.count < before.count {
        let read = try unread.records(before.lazy.map(\.id).filter { records[$0] == nil }, of: entity)
        previousDecoded.add(read.map(ReadEvent.record), of: entity)
        earlier += read
      }
      return (earlier.map(ReadEvent.record), events)
    } consume: { entity, changes in
      // A table's first changes taken as they are: appended to an empty list, each was copied.
      if changesByTable[entity] == nil { changesByTable[entity] = changes } else { changesByTable[entity]? += changes }
    }
    var diff = counted
    for position in diff.tables.indices {
      diff.tables[position].changes = changesByTable[diff.tables[position].entity] ?? []
    }

    // The state: rows exported as before keep their records; the others take theirs as a full read would.
    var dynamics = previous.dynamics
    dynamics.rejects = []
    dynamics.files = []
    dynamics.failedFiles = []
    dynamics.problems = []
    var fingerprints = previous.fingerprints
    var touched: [String: Set<GUID>] = [:]
    let fresh = decoded.records
    var previousRead = previousDecoded.records
    let readBefore = previousRead
    // A table on each core: each is a copy of its records, a walk of its rows, and its rows' fingerprints (a
    // million at 1M, which on one core left the other idle).
    let entities = export.index.tables.keys.sorted()
    let laidTables = try concurrentMap(entities, costs: entities.map { export.index.tables[$0]?.count ?? 0 }) {
      entity in
      let rows = export.index.tables[entity] ?? []
      let laid = try LaidTable(
        entity, rows: rows, read: fresh[entity] ?? [:], before: previous.dynamics.tables[entity]?.records ?? [:],
        readBefore: readBefore[entity] ?? [:], held: stateIndex.tables[entity] ?? [], unread: unread)
      return (
        laid, StateFingerprints.Table(context: contexts[entity] ?? "", rows: rows.map { ($0.id, $0.fingerprint) })
      )
    }
    for (entity, (laid, laidFingerprints)) in zip(entities, laidTables) {
      for earlier in laid.goneRead { previousRead[entity, default: [:]][earlier.id] = earlier }
      touched[entity] = laid.candidates
      dynamics.tables[entity] = laid.table
      fingerprints.tables[entity] = laidFingerprints
    }
    return AppliedExport(
      diff: diff, dynamics: dynamics, fingerprints: fingerprints, rejects: export.index.rejects, inputs: export.inputs,
      fullTables: Set(export.index.tables.keys), changes: laidTables.map(\.0.changes), touched: touched,
      previousRead: previousRead,
      links: unread?.links(without: touched) ?? RecordLinks(), replaced: touched)
  }
}

/// One table of the state with the export laid over it: the rows exported as before keep their records, the others
/// take theirs as a full read would.
private struct LaidTable: Sendable {
  var table: Snapshot.Table
  var changes: [(before: Record?, after: Record?)] = []
  /// The records that can differ from the state's: those read again, and those gone.
  var candidates: Set<GUID>
  /// The previous records of rows gone that the state did not hold, read to be taken out.
  var goneRead: [Record] = []

  /// Lays the rows of one table of the export over the state's records of it.
  ///
  /// - Parameters:
  ///   - entity: the table.
  ///   - rows: the export's rows of it, sorted by id.
  ///   - read: the records of the rows read again.
  ///   - before: the state's records of it.
  ///   - readBefore: the previous records read for the rows read again, which the state did not hold.
  ///   - held: the state's index of it (every record's id, sorted).
  ///   - unread: where the records the state does not hold lie, for a state held in part.
  /// - Throws: `IndexUnavailable` for a row neither read again nor in the state; `InputError` for a record of the
  ///   state that cannot be read.
  init(
    _ entity: String, rows: [IndexedRow], read: [GUID: Record], before: [GUID: Record], readBefore: [GUID: Record],
    held: [IndexedRow], unread: DynamicsStateInPart?
  ) throws {
    var table = Snapshot.Table(entity: entity, kind: .full)
    // The records before, those read again laid over them and those gone taken out: one copy of the table and a few
    // changes, not a table of a million records built again id by id.
    table.records = before
    table.records.merge(readBefore) { held, _ in held }
    var candidates = Set(read.keys)
    var changes: [(before: Record?, after: Record?)] = []
    // The export's rows and the state's records, both sorted by id, walked side by side: the records the export
    // no longer has are found without looking up every id.
    var goneUnread: [GUID] = []
    func remove(_ id: GUID) {
      if let earlier = table.records.removeValue(forKey: id) {
        changes.append((earlier, nil))
      } else if unread != nil {
        goneUnread.append(id)
      }
      candidates.insert(id)
    }
    try forEachSortedPairing(
      rows.count, held.count, same: { rows[$0].id == held[$1].id }, precedes: { rows[$0].id < held[$1].id },
      each: { pairing in
        switch pairing {
        case .first(let row):
          if read[rows[row].id] == nil {
            throw IndexUnavailable(path: "", reason: "a row neither read again nor in the state")
          }
        case .second(let gone): remove(held[gone].id)
        case .both: break
        }
      })
    if let unread, !goneUnread.isEmpty {
      goneRead = try unread.records(goneUnread, of: entity)
      changes += goneRead.map { ($0, nil) }
    }
    for (id, record) in read where rows.placeInSorted(of: id, by: \.id) != nil {
      // Not one of the records taken out above: those are of ids the export no longer has.
      let earlier = table.records[id]
      let kept = earlier.map { record.keepingLabels(from: $0) } ?? record
      table.records[id] = kept
      if !MergeScope.same(earlier, kept) { changes.append((earlier, kept)) }
    }
    self.table = table
    self.changes = changes
    self.candidates = candidates
  }
}

extension Snapshot {
  /// The given tables as an index of the rows they were read from: each record's fingerprint where the state keeps
  /// it for the same decoding context, and one that matches no row where it does not.
  fileprivate func index(
    of entities: [String], fingerprints: StateFingerprints, contexts: [String: String], unread: DynamicsStateInPart?
  ) -> SnapshotIndex {
    // Equal to no row's: the row is decoded and compared.
    let unknown = Fingerprint(high: 0, low: 0)
    let held = entities.filter { tables[$0] != nil }
    let counts = held.map { entity in
      tables[entity].map { unread?.count(of: entity, held: $0.records) ?? $0.records.count } ?? 0
    }
    // A table on each core: a million rows in all, the largest tables hundreds of thousands.
    let indexed = concurrentMap(Array(zip(held, counts)), costs: counts) { entity, count in
      let records = tables[entity]?.records ?? [:]
      let known = fingerprints.tables[entity].flatMap { $0.context == contexts[entity] ? $0.rows : nil } ?? []
      var rows: [IndexedRow] = []
      rows.reserveCapacity(count)
      let ids = unread?.ids(of: entity, held: records) ?? records.keys.sorted()
      forEachSortedPairing(
        ids.count, known.count, same: { ids[$0] == known[$1].id }, precedes: { ids[$0] < known[$1].id },
        each: { pairing in
          let (position, fingerprint): (Int, Fingerprint)
          switch pairing {
          case .first(let id): (position, fingerprint) = (id, unknown)
          case .both(let id, let place): (position, fingerprint) = (id, known[place].fingerprint)
          case .second: return
          }
          rows.append(
            IndexedRow(
              id: ids[position], fingerprint: fingerprint,
              location: RowLocation(file: 0, offset: position, length: 0, line: 0, column: 0)))
        })
      return rows
    }
    var index = SnapshotIndex()
    for (entity, rows) in zip(held, indexed) { index.tables[entity] = rows }
    return index
  }
}

/// The records read again while a diff goes, from the threads that read them, by table and id.
///
/// Each step's rows are only noted as they come, with the table they were read for, and the tables made once every
/// step is in, each at its size: a table grown under the lock, one doubling at a time, held up every thread that read.
final class DecodedRecords: @unchecked Sendable {
  private let lock = NSLock()
  private var steps: [(entity: String, events: [ReadEvent])] = []

  /// Notes the events of rows read for `entity`'s table.
  func add(_ events: [ReadEvent], of entity: String) {
    lock.withLock { steps.append((entity, events)) }
  }

  /// The records of every step, by their table and id (a later step's record of an id laid over an earlier one's).
  var records: [String: [GUID: Record]] {
    let steps = lock.withLock { self.steps }
    var sizes: [String: Int] = [:]
    for step in steps { sizes[step.entity, default: 0] += step.events.count }
    // A table on each core, each walking only the steps read for it: a record copied out of every step for every
    // table counted references on each of its values once a table.
    let entities = sizes.keys.sorted()
    let costs = entities.map { sizes[$0] ?? 0 }
    let tables = concurrentMap(Array(zip(entities, costs)), costs: costs) { entity, size in
      var records = [GUID: Record](minimumCapacity: size)
      var strays = 0
      for step in steps where step.entity == entity {
        for case .record(let record) in step.events {
          if record.entity == entity { records[record.id] = record } else { strays += 1 }
        }
      }
      return (records, strays)
    }
    guard tables.allSatisfy({ $0.1 == 0 }) else { return DecodedRecords.byRecordTable(steps.map(\.events)) }
    return Dictionary(uniqueKeysWithValues: zip(entities, tables.map(\.0)).filter { !$0.1.isEmpty })
  }

  /// The records of `steps` by the table each names, wherever it was read: for steps that hold a record of a table
  /// other than the one they were read for.
  static func byRecordTable(_ steps: [[ReadEvent]]) -> [String: [GUID: Record]] {
    var tables: [String: [GUID: Record]] = [:]
    for events in steps {
      for case .record(let record) in events { tables[record.entity, default: [:]][record.id] = record }
    }
    return tables
  }
}
