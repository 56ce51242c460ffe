/// What happened to one row between two exports.
public enum ChangeOperation: String, Sendable, Codable {
  case create = "c"
  case update = "u"
  case delete = "d"
}

/// One column's old and new value.
public struct FieldChange: Sendable, Equatable {
  public var field: String
  public var old: FieldValue
  public var new: FieldValue

  public init(field: String, old: FieldValue, new: FieldValue) {
    self.field = field
    self.old = old
    self.new = new
  }
}

/// One changed row: its images before and after, and the columns that changed.
public struct RecordChange: Sendable, Equatable {
  public var operation: ChangeOperation
  public var entity: String
  public var id: GUID
  public var before: Record?
  public var after: Record?
  /// Changed columns in name order; empty for creates and deletes.
  public var changed: [FieldChange]
}

/// Per-table outcome counts.
public struct ChangeCounts: Sendable, Equatable, Codable {
  public var created = 0
  public var updated = 0
  public var deleted = 0
  public var unchanged = 0
  /// Rows of the newer export that could not be read (their old version is kept as it was).
  public var rejected = 0
  /// Changes per column, over all updated rows.
  public var fieldChanges: [String: Int] = [:]

  public init() {}

  public var changes: Int { created + updated + deleted }
}

/// The changes of one table, sorted by id.
public struct TableDiff: Sendable, Equatable {
  public var entity: String
  public var changes: [RecordChange]
  public var counts: ChangeCounts
}

/// Everything that changed between two exports of one org.
public struct SnapshotDiff: Sendable, Equatable {
  /// Per table, in name order.
  public var tables: [TableDiff]

  public var hasChanges: Bool { tables.contains { $0.counts.changes > 0 } }

  public var totals: ChangeCounts {
    tables.reduce(into: ChangeCounts()) { total, table in
      total.created += table.counts.created
      total.updated += table.counts.updated
      total.deleted += table.counts.deleted
      total.unchanged += table.counts.unchanged
      total.rejected += table.counts.rejected
    }
  }
}

/// Compares two snapshots row by row, keyed by primary id: the "diff" step.
public enum Differ {
  /// The changes that turn `previous` into `current`.
  ///
  /// - A full table in `current` holds every row: a row of `previous` that is absent is deleted.
  /// - A delta table holds only changes: absent rows are unchanged, deletions are explicit, and a
  ///   delta row is laid over the previous row (columns it does not carry keep their values).
  /// - A table missing from `current` altogether was not exported this time: nothing of it changed.
  /// - A row of `current` that was rejected is neither updated nor deleted: its previous version
  ///   stands, so a bad row never turns into a deletion.
  ///
  /// `laid` is `previous.applying(current)`, when the caller holds it already: a delta row is then
  /// compared as the record it made there, not laid over the previous row a second time.
  public static func diff(
    previous: Snapshot, current: Snapshot, laid: Snapshot? = nil, options: DiffOptions = DiffOptions()
  ) -> SnapshotDiff {
    let rejectedIDs = rejectedIDs(in: current.rejects)
    let tables = current.tables.sorted { $0.key < $1.key }
    // A table on each core, the largest first.
    let diffs = concurrentMap(tables, costs: tables.map(\.value.records.count)) { entity, now in
      diff(
        entity: entity, previous: previous.tables[entity], current: now, laid: laid?.tables[entity]?.records,
        rejected: rejectedIDs[entity] ?? [], options: options)
    }
    return SnapshotDiff(tables: diffs)
  }

  /// The ids of rejected rows, per table, where the reject names them.
  static func rejectedIDs(in rejects: [InputError]) -> [String: Set<GUID>] {
    var ids: [String: Set<GUID>] = [:]
    for reject in rejects {
      guard let entity = reject.entity, let text = reject.recordID, let id = GUID(text) else { continue }
      ids[entity, default: []].insert(id)
    }
    return ids
  }

  static func diff(
    entity: String, previous: Snapshot.Table?, current: Snapshot.Table, laid: [GUID: Record]? = nil,
    rejected: Set<GUID>, options: DiffOptions
  ) -> TableDiff {
    let before = previous?.records ?? [:]
    var changes: [RecordChange] = []
    var counts = ChangeCounts()
    counts.rejected = rejected.count

    for (id, row) in current.records {
      guard let old = before[id] else {
        changes.append(RecordChange(operation: .create, entity: entity, id: id, before: nil, after: row, changed: []))
        counts.created += 1
        continue
      }
      let new = current.kind == .delta ? (laid?[id] ?? old.overlaid(with: row)) : row
      let changed = fieldChanges(from: old, to: new, options: options)
      if changed.isEmpty {
        counts.unchanged += 1
      } else {
        changes.append(
          RecordChange(operation: .update, entity: entity, id: id, before: old, after: new, changed: changed))
        counts.updated += 1
        for change in changed { counts.fieldChanges[change.field, default: 0] += 1 }
      }
    }

    switch current.kind {
    case .full:
      for (id, old) in before where current.records[id] == nil && !rejected.contains(id) {
        changes.append(RecordChange(operation: .delete, entity: entity, id: id, before: old, after: nil, changed: []))
        counts.deleted += 1
      }
    case .delta:
      for (id, _) in current.deletions {
        guard let old = before[id] else { continue }
        changes.append(RecordChange(operation: .delete, entity: entity, id: id, before: old, after: nil, changed: []))
        counts.deleted += 1
      }
      let touched = Set(current.records.keys).union(current.deletions.keys)
      counts.unchanged += before.keys.filter { !touched.contains($0) }.count
    }
    changes.sort { $0.id < $1.id }
    return TableDiff(entity: entity, changes: changes, counts: counts)
  }

  /// Changed columns between two versions of one row, in name order.
  ///
  /// Equal row versions settle it at once; otherwise every compared column is looked at, a column
  /// present on one side only being a change from or to null.
  public static func fieldChanges(from old: Record, to new: Record, options: DiffOptions = DiffOptions())
    -> [FieldChange]
  {
    if let oldVersion = old.version, oldVersion == new.version { return [] }
    let entity = new.entity
    // Both images' columns walked side by side in name order (each is sorted by name), a column one image lacks being
    // null there: one step a column, where a search of the new image for each old column compared names several
    // times, and the changes come in name order without a sort.
    return old.fields.members.withUnsafeBufferPointer { before in
      new.fields.members.withUnsafeBufferPointer { after in
        var changes: [FieldChange] = []
        forEachSortedPairing(
          before.count, after.count, same: { before[$0].key == after[$1].key },
          precedes: { before[$0].key < after[$1].key },
          each: { pairing in
            switch pairing {
            case .first(let left):
              if !before[left].value.isNull, options.compares(before[left].key, of: entity) {
                changes.append(FieldChange(field: before[left].key, old: before[left].value, new: .null))
              }
            case .second(let right):
              if !after[right].value.isNull, options.compares(after[right].key, of: entity) {
                changes.append(FieldChange(field: after[right].key, old: .null, new: after[right].value))
              }
            case .both(let left, let right):
              if before[left].value != after[right].value, options.compares(before[left].key, of: entity) {
                changes.append(FieldChange(field: before[left].key, old: before[left].value, new: after[right].value))
              }
            }
          })
        return changes
      }
    }
  }
}

extension Record {
  /// This row with the columns of `delta` laid over it (a change-tracking row carries only the
  /// selected columns; the others keep their values).
  ///
  /// A label stays where the delta row gives none and leaves its column's value as it was (not carried, or carried
  /// unchanged); a label of a value the delta row changed would name the old value.
  public func overlaid(with delta: Record) -> Record {
    var merged = self
    // One walk through the two sorted rows: a change-tracking row carries most columns, often every one.
    merged.fields.merge(delta.fields) { _, new in new }
    var labels = delta.labels
    for (field, label) in self.labels where labels[field] == nil {
      if delta.fields[field] == nil || delta[field] == self[field] { labels[field] = label }
    }
    merged.labels = labels
    merged.version = delta.version
    merged.origin = delta.origin
    return merged
  }

  /// This row with the labels of `earlier` kept for columns whose value did not change and that
  /// this export leaves unlabelled (a CMT export carries no choice labels; the label of an
  /// unchanged value is still right).
  public func keepingLabels(from earlier: Record) -> Record {
    var result = self
    for (field, label) in earlier.labels
    where result.labels[field] == nil && fields[field] != nil && self[field] == earlier[field] {
      result.labels[field] = label
    }
    return result
  }
}
