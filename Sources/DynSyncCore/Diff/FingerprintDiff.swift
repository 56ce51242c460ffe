/// The rows a fingerprint diff must decode on each side, and the rows it settled without decoding.
public struct DiffCandidates: Sendable {
  /// Per table, rows of the previous export that are deleted or changed.
  public var previous: [String: [IndexedRow]] = [:]
  /// Per table, rows of the current export that are created or changed.
  public var current: [String: [IndexedRow]] = [:]
  /// Per table, rows exported byte for byte the same: unchanged without a look at their columns.
  public var unchanged: [String: Int] = [:]

  public init() {}
}

extension Differ {
  /// Pairs the rows of two indexed full exports by id.
  ///
  /// Rows with equal fingerprints are unchanged; every other row is a candidate, to be decoded and compared column by
  /// column. Every row of the tables in `decodingEveryRow` is a candidate (their bytes do not decode the same way in
  /// both exports).
  public static func candidates(
    previous: SnapshotIndex, current: SnapshotIndex, decodingEveryRow: Set<String> = []
  ) -> DiffCandidates {
    var result = DiffCandidates()
    for (entity, now) in current.tables {
      let trustsFingerprints = !decodingEveryRow.contains(entity)
      let before = previous.tables[entity] ?? []
      var changedBefore: [IndexedRow] = []
      var changedNow: [IndexedRow] = []
      var unchanged = 0
      forEachSortedPairing(
        before.count, now.count, same: { before[$0].id == now[$1].id }, precedes: { before[$0].id < now[$1].id },
        each: { pairing in
          switch pairing {
          case .first(let left): changedBefore.append(before[left])
          case .second(let right): changedNow.append(now[right])
          case .both(let left, let right):
            if trustsFingerprints, before[left].fingerprint == now[right].fingerprint {
              unchanged += 1
            } else {
              changedBefore.append(before[left])
              changedNow.append(now[right])
            }
          }
        })
      result.previous[entity] = changedBefore
      result.current[entity] = changedNow
      result.unchanged[entity] = unchanged
    }
    return result
  }

  /// The changes between two full exports given as indexes, the same as `diff(previous:current:)`
  /// of the whole snapshots, having decoded only the candidate rows, a step of ids at a time.
  ///
  /// `decodingEveryRow` names tables whose rows are decoded even where their bytes are the same (see
  /// `candidates`). `decode` reads the given rows of the previous and of the current export again (they come in
  /// file order, all of the one table named); it runs on another thread, a step ahead, while the
  /// step before is compared. `consume` sees each step's changes, in id order within each table
  /// and tables in name order, and may write them out: only two steps' rows (about `rowsPerStep`
  /// on each side) are ever held, however large the tables. The tables returned hold their
  /// counts, not their changes.
  public static func diff(
    previous: SnapshotIndex, current: SnapshotIndex, options: DiffOptions = DiffOptions(), rowsPerStep: Int = 5_000,
    decodingEveryRow: Set<String> = [],
    decode:
      @escaping @Sendable (_ entity: String, _ previous: [IndexedRow], _ current: [IndexedRow]) throws -> (
        previous: [ReadEvent], current: [ReadEvent]
      ),
    consume: (_ entity: String, _ changes: [RecordChange]) throws -> Void = { _, _ in }
  ) throws -> SnapshotDiff {
    let candidates = candidates(previous: previous, current: current, decodingEveryRow: decodingEveryRow)
    let entities = current.tables.keys.sorted()
    let work = entities.flatMap { entity in
      steps(candidates.previous[entity] ?? [], candidates.current[entity] ?? [], rowsPerStep: rowsPerStep).map {
        (entity: entity, previous: $0.previous, current: $0.current)
      }
    }
    /// A step's rows read again, as the two reduced snapshots they make.
    @Sendable func reduced(_ step: Int) throws -> (before: Snapshot, after: Snapshot) {
      let (entity, before, after) = work[step]
      func located(_ rows: ArraySlice<IndexedRow>) -> [IndexedRow] { rows.sorted { $0.location < $1.location } }
      let decoded = try decode(entity, located(before), located(after))
      return (
        reducedSnapshot(of: previous, entity, events: decoded.previous),
        reducedSnapshot(of: current, entity, events: decoded.current)
      )
    }

    let indexRejects = rejectedIDs(in: current.rejects)
    var counts: [String: ChangeCounts] = [:]
    var rejected = indexRejects
    var next = work.isEmpty ? nil : Prefetch { try reduced(0) }
    for (step, item) in work.enumerated() {
      guard let (before, after) = try next?.value() else { break }
      next = step + 1 < work.count ? Prefetch { try reduced(step + 1) } : nil
      let entity = item.entity
      guard
        let table = diff(previous: before, current: after, options: options).tables.first(where: {
          $0.entity == entity
        })
      else { continue }
      counts[entity, default: ChangeCounts()].add(table.counts)
      rejected[entity, default: []].formUnion(rejectedIDs(in: after.rejects)[entity] ?? [])
      if !table.changes.isEmpty { try consume(entity, table.changes) }
    }
    return SnapshotDiff(
      tables: entities.compactMap { entity in
        guard var tableCounts = counts[entity] else { return nil }
        tableCounts.unchanged += candidates.unchanged[entity] ?? 0
        // Rejects of the index count in every step; a row is counted once.
        tableCounts.rejected = rejected[entity]?.count ?? 0
        return TableDiff(entity: entity, changes: [], counts: tableCounts)
      })
  }

  /// The rows of one step read again, as a snapshot of the export with the export's rejects.
  private static func reducedSnapshot(of export: SnapshotIndex, _ entity: String, events: consuming [ReadEvent])
    -> Snapshot
  {
    var builder = SnapshotBuilder()
    builder.reserveRecords(events.count, of: entity)
    builder.add(&events)
    var reduced = builder.build()
    if reduced.tables[entity] == nil, export.tables[entity] != nil {
      reduced.tables[entity] = Snapshot.Table(entity: entity, kind: .full)
    }
    reduced.rejects = export.rejects + reduced.rejects
    return reduced
  }

  /// Both tables' candidate rows (sorted by id) cut into steps of about `rowsPerStep` ids, an id
  /// never split between two steps; a table without candidates is one empty step.
  static func steps(_ previous: [IndexedRow], _ current: [IndexedRow], rowsPerStep: Int) -> [(
    previous: ArraySlice<IndexedRow>, current: ArraySlice<IndexedRow>
  )] {
    var steps: [(previous: ArraySlice<IndexedRow>, current: ArraySlice<IndexedRow>)] = []
    var left = 0
    var right = 0
    repeat {
      let (startLeft, startRight) = (left, right)
      var taken = 0
      while taken < max(rowsPerStep, 1), left < previous.count || right < current.count {
        if right == current.count || (left < previous.count && previous[left].id < current[right].id) {
          left += 1
        } else if left == previous.count || current[right].id < previous[left].id {
          right += 1
        } else {
          left += 1
          right += 1
        }
        taken += 1
      }
      steps.append((previous[startLeft..<left], current[startRight..<right]))
    } while left < previous.count || right < current.count
    return steps
  }
}

extension ChangeCounts {
  /// Adds another part's counts (rejects aside: a row rejected is counted once, by the caller).
  mutating func add(_ other: ChangeCounts) {
    created += other.created
    updated += other.updated
    deleted += other.deleted
    unchanged += other.unchanged
    fieldChanges.merge(other.fieldChanges, uniquingKeysWith: +)
  }
}

/// Work started on another thread, whose outcome `value()` waits for.
private struct Prefetch<Value: Sendable> {
  private let outcome: ThreadedValue<Result<Value, any Error>>

  init(_ work: @escaping @Sendable () throws -> Value) {
    outcome = ThreadedValue { Result { try work() } }
  }

  func value() throws -> Value { try outcome.value().get() }
}
