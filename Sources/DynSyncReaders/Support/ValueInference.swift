import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// Types a value from its text alone, for formats that carry no schema (Web API JSON strings and
/// numbers, undecorated FetchXML columns), so that both read a column the same way.
enum ValueInference {
  /// A GUID, a date, a date and time, a multi-select, or else a plain string.
  static func string(_ text: String, field: String, label: String?) -> FieldValue {
    if text.utf8.count == 36, let guid = GUID(text) { return .guid(guid) }
    if text.utf8.count == 10, let date = CalendarDate(text) { return .date(date) }
    if text.utf8.count >= 16, text.utf8.count <= 35, let instant = Timestamp(iso: text) {
      return DataverseCatalog.isDateOnly(field) ? .date(instant.utcDate) : .dateTime(instant)
    }
    // Multi-select choices are the one string column Dataverse formats with labels.
    if label != nil || ValueInference.containsComma(text), let choices = multiSelect(text) {
      return .multiSelect(choices)
    }
    return .string(text)
  }

  /// An integer (or a choice, see `DataverseCatalog.isOptionSet`) when whole and within 64 bits,
  /// else an exact decimal; `nil` when the text is not a number.
  static func number(_ text: String, field: String, label: String?) -> FieldValue? {
    let isWhole = !text.utf8.contains(where: {
      $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
    })
    if isWhole, let integer = Int64(text) {
      return DataverseCatalog.isOptionSet(field: field, label: label) ? .optionSet(integer) : .integer(integer)
    }
    return ExactDecimal(text).map(FieldValue.decimal)
  }

  private static func containsComma(_ text: String) -> Bool {
    var text = text
    return text.withUTF8 { bytes in
      guard let base = bytes.baseAddress else { return false }
      return memchr(base, Int32(UInt8(ascii: ",")), bytes.count) != nil
    }
  }

  /// `"2,8,9"` → `[2, 8, 9]`, sorted and without repeats.
  static func multiSelect(_ text: some StringProtocol) -> [Int64]? {
    var values: [Int64] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      guard let value = Int64(part.trimmingCharacters) else { return nil }
      values.append(value)
    }
    return Array(Set(values)).sorted()
  }

  /// `1`/`0` as FetchXML writes Two Options, `True`/`False` as CMT does.
  static func boolean(_ text: String) -> Bool? {
    switch text.lowercased() {
    case "1", "true": return true
    case "0", "false": return false
    default: return nil
    }
  }
}

/// Why a value could not be read as its column's type.
struct ValueMismatch: Error {
  var reason: String
}
