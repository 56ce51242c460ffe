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
  /// Pairs the rows of two indexed full exports by id: rows with equal fingerprints are unchanged;
  /// every other row is a candidate, to be decoded and compared column by column.
  public static func candidates(previous: SnapshotIndex, current: SnapshotIndex) -> DiffCandidates {
    var result = DiffCandidates()
    for (entity, now) in current.tables {
      let before = previous.tables[entity] ?? []
      var changedBefore: [IndexedRow] = []
      var changedNow: [IndexedRow] = []
      var unchanged = 0
      var left = 0
      var right = 0
      while left < before.count || right < now.count {
        if right == now.count || (left < before.count && before[left].id < now[right].id) {
          changedBefore.append(before[left])
          left += 1
        } else if left == before.count || now[right].id < before[left].id {
          changedNow.append(now[right])
          right += 1
        } else {
          if before[left].fingerprint == now[right].fingerprint {
            unchanged += 1
          } else {
            changedBefore.append(before[left])
            changedNow.append(now[right])
          }
          left += 1
          right += 1
        }
      }
      result.previous[entity] = changedBefore
      result.current[entity] = changedNow
      result.unchanged[entity] = unchanged
    }
    return result
  }

  /// The changes between two full exports given as indexes, the same as `diff(previous:current:)`
  /// of the whole snapshots, having decoded only the candidate rows, one table at a time.
  ///
  /// `decode` reads the given rows of the previous and of the current export again (they come in
  /// file order, all of the one table named). `consume` sees each table's changes as soon as they are known,
  /// and may write them out and drop them, so that only one table's rows are held at once.
  public static func diff(
    previous: SnapshotIndex, current: SnapshotIndex, options: DiffOptions = DiffOptions(),
    decode: (_ entity: String, _ previous: [IndexedRow], _ current: [IndexedRow]) throws -> (
      previous: [ReadEvent], current: [ReadEvent]
    ),
    consume: (inout TableDiff) throws -> Void = { _ in }
  ) rethrows -> SnapshotDiff {
    let candidates = candidates(previous: previous, current: current)
    func located(_ rows: [IndexedRow]?) -> [IndexedRow] {
      (rows ?? []).sorted { $0.location < $1.location }
    }
    func snapshot(of export: SnapshotIndex, _ entity: String, events: [ReadEvent]) -> Snapshot {
      var builder = SnapshotBuilder()
      for event in events { builder.add(event) }
      var reduced = builder.build()
      if reduced.tables[entity] == nil, export.tables[entity] != nil {
        reduced.tables[entity] = Snapshot.Table(entity: entity, kind: .full)
      }
      reduced.rejects = export.rejects + reduced.rejects
      return reduced
    }
    var tables: [TableDiff] = []
    for entity in current.tables.keys.sorted() {
      let decoded = try decode(entity, located(candidates.previous[entity]), located(candidates.current[entity]))
      let before = snapshot(of: previous, entity, events: decoded.previous)
      let after = snapshot(of: current, entity, events: decoded.current)
      guard
        var table = diff(previous: before, current: after, options: options).tables.first(where: { $0.entity == entity }
        )
      else { continue }
      table.counts.unchanged += candidates.unchanged[entity] ?? 0
      try consume(&table)
      tables.append(table)
    }
    return SnapshotDiff(tables: tables)
  }
}
