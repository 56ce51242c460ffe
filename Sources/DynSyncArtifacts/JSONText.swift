import DynSyncCore

/// Writes JSON text by hand, byte for byte the same for the same values: keys sorted, no
/// insignificant white space, decimals exactly as exported.
public enum JSONText {
  /// A JSON string literal.
  public static func string(_ text: String) -> String {
    // Most values need no escaping: check the bytes once and wrap them as they are.
    if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == 0xE2 }) {
      return "\"" + text + "\""
    }
    var out = "\""
    out.reserveCapacity(text.utf8.count + 2)
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      case "\u{2028}": out += "\\u2028"
      case "\u{2029}": out += "\\u2029"
      default:
        if scalar.value < 0x20 {
          let hex = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }

  /// An object from already-encoded member values, keys in sorted order.
  public static func object(_ members: [(String, String)]) -> String {
    "{" + members.sorted { $0.0 < $1.0 }.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
  }

  public static func array(_ elements: [String]) -> String {
    "[" + elements.joined(separator: ",") + "]"
  }

  /// A typed value: numbers as numbers (decimals as exported), dates as ISO 8601 strings, lookups
  /// as `{"entity":…,"id":…}`, multi-selects as arrays of choice values.
  public static func value(_ value: FieldValue) -> String {
    switch value {
    case .null: return "null"
    case .string(let text): return string(text)
    case .integer(let number), .optionSet(let number): return String(number)
    case .decimal(let number): return decimal(number)
    case .boolean(let flag): return flag ? "true" : "false"
    case .dateTime(let instant): return string(instant.description)
    case .date(let date): return string(date.description)
    case .multiSelect(let choices): return array(choices.map { String($0) })
    case .lookup(let lookup):
      return object([("entity", lookup.entity.map(string) ?? "null"), ("id", string(lookup.id.description))])
    case .guid(let id): return string(id.description)
    }
  }

  /// A record image: its columns, with formatted labels under `@labels` when there are any.
  public static func image(_ record: Record) -> String {
    var members = record.fields.map { ($0.key, value($0.value)) }
    if !record.labels.isEmpty {
      members.append(("@labels", object(record.labels.map { ($0.key, string($0.value)) })))
    }
    return object(members)
  }

  /// A decimal as a JSON number: the exported text when it is valid JSON, else its canonical form.
  static func decimal(_ number: ExactDecimal) -> String {
    let written = number.written
    if isJSONNumber(written) { return written }
    return number.plainText
  }

  static func isJSONNumber(_ text: String) -> Bool {
    var bytes = Array(text.utf8)[...]
    if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
    guard let first = bytes.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { return false }
    if first == UInt8(ascii: "0"), bytes.count > 1, bytes.dropFirst().first.map({ $0 >= 48 && $0 <= 57 }) == true {
      return false
    }
    var sawPoint = false
    var previous: UInt8 = first
    for byte in bytes.dropFirst() {
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): break
      case UInt8(ascii: ".") where !sawPoint: sawPoint = true
      default: return false
      }
      previous = byte
    }
    return previous != UInt8(ascii: ".")
  }
}
