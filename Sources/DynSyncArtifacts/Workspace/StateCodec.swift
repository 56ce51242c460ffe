import DynSyncCore
import Foundation

/// The lossless text form of state: every value tagged with its type, numbers as text, so that a
/// state read back is exactly the state written (a change file's plain JSON would lose whether
/// `7` was an integer or a choice, and decimals' written form).
///
/// `null` · `["s","text"]` · `["i","250"]` · `["d","20000.0000"]` · `["b",true]` ·
/// `["t","2025-03-04T18:02:44Z"]` · `["D","1988-04-05"]` · `["o","7"]` · `["m",["2","8"]]` ·
/// `["l","account","<guid>"]` (target `null` when unknown) · `["g","<guid>"]`
public enum StateCodec {
  public static func encode(_ value: FieldValue) -> String {
    func tagged(_ tag: String, _ text: String) -> String { "[\"\(tag)\"," + JSONText.string(text) + "]" }
    switch value {
    case .null: return "null"
    case .string(let text): return tagged("s", text)
    case .integer(let number): return tagged("i", String(number))
    case .decimal(let number): return tagged("d", number.written)
    case .boolean(let flag): return "[\"b\",\(flag)]"
    case .dateTime(let instant): return tagged("t", instant.description)
    case .date(let date): return tagged("D", date.description)
    case .optionSet(let choice): return tagged("o", String(choice))
    case .multiSelect(let choices): return "[\"m\"," + JSONText.array(choices.map { JSONText.string(String($0)) }) + "]"
    case .lookup(let lookup):
      return "[\"l\"," + (lookup.entity.map(JSONText.string) ?? "null") + "," + JSONText.string(lookup.id.description) + "]"
    case .guid(let id): return tagged("g", id.description)
    }
  }

  /// Decodes a value from its parsed JSON form; `nil` when it is not a tagged value.
  public static func decode(_ json: Any) -> FieldValue? {
    if json is NSNull { return .null }
    guard let array = json as? [Any], let tag = array.first as? String, array.count >= 2 else { return nil }
    let text = array[1] as? String
    switch tag {
    case "s": return text.map(FieldValue.string)
    case "i": return text.flatMap { Int64($0) }.map(FieldValue.integer)
    case "d": return text.flatMap(ExactDecimal.init).map(FieldValue.decimal)
    case "b": return (array[1] as? Bool).map(FieldValue.boolean)
    case "t": return text.flatMap { Timestamp(iso: $0) }.map(FieldValue.dateTime)
    case "D": return text.flatMap { CalendarDate($0) }.map(FieldValue.date)
    case "o": return text.flatMap { Int64($0) }.map(FieldValue.optionSet)
    case "m":
      guard let items = array[1] as? [String] else { return nil }
      let choices = items.compactMap { Int64($0) }
      return choices.count == items.count ? .multiSelect(choices) : nil
    case "l":
      guard array.count == 3, let idText = array[2] as? String, let id = GUID(idText) else { return nil }
      return .lookup(Lookup(entity: array[1] as? String, id: id))
    case "g": return text.flatMap { GUID($0) }.map(FieldValue.guid)
    default: return nil
    }
  }

  /// A record as one state line.
  public static func line(_ record: Record) -> String {
    var members: [(String, String)] = [
      ("entity", JSONText.string(record.entity)), ("id", JSONText.string(record.id.description)),
      ("fields", JSONText.object(record.fields.map { ($0.key, encode($0.value)) })),
    ]
    if !record.labels.isEmpty { members.append(("labels", JSONText.object(record.labels.map { ($0.key, JSONText.string($0.value)) }))) }
    if let version = record.version { members.append(("version", JSONText.string(String(version)))) }
    return JSONText.object(members) + "\n"
  }

  /// A record read back from a state line.
  public static func record(_ json: Any, at position: SourcePosition) throws -> Record {
    func bad(_ reason: String) -> InputError { InputError(at: position, reason: "corrupt state line: " + reason) }
    guard let object = json as? [String: Any], let entity = object["entity"] as? String,
      let idText = object["id"] as? String, let id = GUID(idText), let rawFields = object["fields"] as? [String: Any]
    else { throw bad("expected entity, id and fields") }
    var fields: [String: FieldValue] = [:]
    for (name, raw) in rawFields {
      guard let value = decode(raw) else { throw bad("column \"\(name)\" is not a tagged value") }
      fields[name] = value
    }
    return Record(
      entity: entity, id: id, fields: fields, labels: object["labels"] as? [String: String] ?? [:],
      version: (object["version"] as? String).flatMap { Int64($0) }, origin: position)
  }

  /// A Marketo row as one state line.
  public static func line(key: String, row: MarketoRow) -> String {
    JSONText.object([("key", JSONText.string(key)), ("row", JSONText.object(row.map { ($0.key, encode($0.value)) }))])
      + "\n"
  }

  public static func marketoRow(_ json: Any, at position: SourcePosition) throws -> (String, MarketoRow) {
    guard let object = json as? [String: Any], let key = object["key"] as? String,
      let rawRow = object["row"] as? [String: Any]
    else { throw InputError(at: position, reason: "corrupt state line: expected key and row") }
    var row: MarketoRow = [:]
    for (name, raw) in rawRow {
      guard let value = decode(raw) else {
        throw InputError(at: position, reason: "corrupt state line: field \"\(name)\" is not a tagged value")
      }
      row[name] = value
    }
    return (key, row)
  }
}
