import DynSyncCore

/// Writes the lossless text form of state (read back by `StateReader`): every value tagged with
/// its type (`StateTag`), numbers as text, so that a state read back is exactly the state
/// written (a change file's plain JSON would lose whether `7` was an integer or a choice, and
/// decimals' written form).
///
/// `null` · `["s","text"]` · `["i","250"]` · `["d","20000.0000"]` · `["b",true]` ·
/// `["t","2025-03-04T18:02:44Z"]` · `["D","1988-04-05"]` · `["o","7"]` · `["m",["2","8"]]` ·
/// `["l","account","<guid>"]` (target `null` when unknown) · `["g","<guid>"]`
public enum StateCodec {
  public static func encode(_ value: FieldValue) -> String {
    func tagged(_ tag: StateTag, _ payload: String) -> String { "[\"\(tag.rawValue)\"," + payload + "]" }
    switch value {
    case .null: return "null"
    case .string(let text): return tagged(.string, JSONText.string(text))
    case .integer(let number): return tagged(.integer, "\"\(number)\"")
    case .decimal(let number): return tagged(.decimal, JSONText.string(number.written))
    case .boolean(let flag): return tagged(.boolean, flag ? "true" : "false")
    case .dateTime(let instant): return tagged(.dateTime, "\"\(instant)\"")
    case .date(let date): return tagged(.date, "\"\(date)\"")
    case .optionSet(let choice): return tagged(.optionSet, "\"\(choice)\"")
    case .multiSelect(let choices): return tagged(.multiSelect, JSONText.array(choices.map { "\"\($0)\"" }))
    case .lookup(let lookup):
      return tagged(.lookup, (lookup.entity.map(JSONText.string) ?? "null") + ",\"\(lookup.id)\"")
    case .guid(let id): return tagged(.guid, "\"\(id)\"")
    }
  }

  /// A record as one state line.
  public static func line(_ record: Record) -> String {
    var members: [(String, String)] = [
      ("entity", JSONText.string(record.entity)), ("id", JSONText.string(record.id.description)),
      ("fields", JSONText.object(record.fields.map { ($0.key, encode($0.value)) })),
    ]
    if !record.labels.isEmpty {
      members.append(("labels", JSONText.object(record.labels.map { ($0.key, JSONText.string($0.value)) })))
    }
    if let version = record.version { members.append(("version", JSONText.string(String(version)))) }
    return JSONText.object(members) + "\n"
  }

  /// A Marketo row as one state line.
  public static func line(key: String, row: MarketoRow) -> String {
    JSONText.object([("key", JSONText.string(key)), ("row", JSONText.object(row.map { ($0.key, encode($0.value)) }))])
      + "\n"
  }
}
