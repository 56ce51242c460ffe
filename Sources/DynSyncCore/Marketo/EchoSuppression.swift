/// Keeps dynsync's own writes to Dynamics from coming back as Dynamics changes.
///
/// Each run remembers what it wrote (`pending`: record id → the columns and values written).
/// When a later export shows a column changed to exactly that value, the change is dynsync's
/// echo: it is taken out of the change set, so it neither shows as a Dynamics change nor takes
/// part in conflicts. A written column that Dynamics changed to something else is forgotten; one
/// not seen yet stays pending.
public enum EchoSuppression {
  public struct Outcome: Sendable {
    public var diff: SnapshotDiff
    public var pending: [GUID: Record]
    /// Column changes recognised as echoes.
    public var echoes: Int
  }

  public static func apply(_ diff: SnapshotDiff, pending: [GUID: Record]) -> Outcome {
    var remaining = pending
    var echoes = 0
    var tables: [TableDiff] = []
    for var table in diff.tables {
      // A table none of whose changes is a pending write's is kept as it is: its changes (tens of thousands) not
      // each copied into a new list.
      guard !remaining.isEmpty, table.changes.indices.contains(where: { remaining[table.changes[$0].id] != nil })
      else {
        tables.append(table)
        continue
      }
      var kept: [RecordChange] = []
      for var change in table.changes {
        guard let written = remaining[change.id] else {
          kept.append(change)
          continue
        }
        switch change.operation {
        case .update:
          change.changed.removeAll { fieldChange in
            guard let value = written.fields[fieldChange.field] else { return false }
            remaining[change.id]?.fields[fieldChange.field] = nil
            guard value == fieldChange.new else { return false }
            echoes += 1
            table.counts.fieldChanges[fieldChange.field, default: 1] -= 1
            if table.counts.fieldChanges[fieldChange.field] == 0 { table.counts.fieldChanges[fieldChange.field] = nil }
            return true
          }
          if change.changed.isEmpty {
            table.counts.updated -= 1
            table.counts.unchanged += 1
          } else {
            kept.append(change)
          }
        case .create:
          // A lead dynsync created, arriving with the columns it was given.
          if let after = change.after, written.fields.allSatisfy({ after[$0.key] == $0.value }) {
            echoes += written.fields.count
            remaining[change.id]?.fields = [:]
            table.counts.created -= 1
            table.counts.unchanged += 1
          } else {
            kept.append(change)
          }
        case .delete:
          remaining[change.id]?.fields = [:]
          kept.append(change)
        }
        if remaining[change.id]?.fields.isEmpty == true { remaining[change.id] = nil }
      }
      table.changes = kept
      tables.append(table)
    }
    return Outcome(diff: SnapshotDiff(tables: tables), pending: remaining, echoes: echoes)
  }

  /// The pending writes after this run: what was still pending, and what this run writes.
  public static func remembering(_ writes: [OutboundWrite], in pending: [GUID: Record]) -> [GUID: Record] {
    var result = pending
    for write in writes {
      var record =
        result[write.id] ?? Record(entity: write.entity, id: write.id, origin: SourcePosition(file: "outbound"))
      record.fields.merge(write.fields) { $1 }
      result[write.id] = record
    }
    return result
  }
}
