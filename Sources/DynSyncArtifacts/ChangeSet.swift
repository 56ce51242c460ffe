import DynSyncCore

/// The NDJSON lines of a batch: one JSON object per line, keys sorted.
public enum BatchLines {
  /// Appends the line of a change to `json`, as a batch's lines are made: a Debezium-like envelope with `op` (c/u/d),
  /// `entity`, `id`, the full `before` and `after` images, and `changed` (column → [old, new]) for updates.
  public static func appendChange(_ change: RecordChange, to json: inout JSONBytes) {
    // Members written in their sorted order: after, before, changed, entity, id, op.
    json.appendSyntax("{\"after\":")
    if let after = change.after { json.appendImage(after) } else { json.appendSyntax("null") }
    json.appendSyntax(",\"before\":")
    if let before = change.before { json.appendImage(before) } else { json.appendSyntax("null") }
    json.appendSyntax(",\"changed\":")
    json.appendObject(change.changed.map { ($0.field, $0) }) { json, change in
      json.appendSyntax("[")
      json.appendValue(change.old)
      json.appendSyntax(",")
      json.appendValue(change.new)
      json.appendSyntax("]")
    }
    json.appendSyntax(",\"entity\":")
    json.appendString(change.entity)
    json.appendSyntax(",\"id\":")
    json.appendID(change.id)
    json.appendSyntax(",\"op\":")
    json.appendString(change.operation.rawValue)
    json.appendSyntax("}\n")
  }

  /// A skipped record: which export, where, which record, and why.
  public static func reject(_ error: InputError, export: String) -> String {
    JSONText.object([
      ("export", JSONText.string(export)),
      ("file", JSONText.string(error.file)),
      ("line", error.line.map { String($0) } ?? "null"),
      ("column", error.column.map { String($0) } ?? "null"),
      ("entity", error.entity.map(JSONText.string) ?? "null"),
      ("id", error.recordID.map(JSONText.string) ?? "null"),
      ("reason", JSONText.string(error.reason)),
      ("message", JSONText.string(error.description)),
    ]) + "\n"
  }

  /// Rejects in a stable order: by file, line, column, then id.
  public static func sortedRejects(_ rejects: [InputError]) -> [InputError] {
    rejects.sorted {
      ($0.file, $0.line ?? 0, $0.column ?? 0, $0.recordID ?? "", $0.reason)
        < ($1.file, $1.line ?? 0, $1.column ?? 0, $1.recordID ?? "", $1.reason)
    }
  }
}
