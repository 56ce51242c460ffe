import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// Types a value from its text alone, for formats that carry no schema (Web API JSON strings and
/// numbers, undecorated FetchXML columns), so that both read a column the same way.
enum ValueInference {
  /// A GUID, a date, a date and time, a multi-select, or else a plain string.
  static func string(_ text: String, field: String, label: String?) -> FieldValue {
    text.withUTF8Bytes { string(utf8: $0, field: field, label: label) { text } }
  }

  /// `string(_:field:label:)` of the text of these bytes, read where they lie: the text is made (`text`) only for a
  /// value that stays text, not for the ids, dates and instants read from a row's bytes.
  static func string(
    utf8 bytes: UnsafeBufferPointer<UInt8>, field: String, label: String?, text: () -> String
  ) -> FieldValue {
    if bytes.count == 36, let guid = GUID(utf8: UnsafeRawBufferPointer(bytes)) { return .guid(guid) }
    if bytes.count == 10, let date = CalendarDate(bytes) { return .date(date) }
    if bytes.count >= 16, bytes.count <= 35, let instant = Timestamp(isoUTF8: bytes) {
      return DataverseCatalog.isDateOnly(field) ? .date(instant.utcDate) : .dateTime(instant)
    }
    let text = text()
    // Multi-select choices are the one string column Dataverse formats with labels.
    if label != nil || ValueInference.containsComma(bytes), let choices = multiSelect(text) {
      return .multiSelect(choices)
    }
    return .string(text)
  }

  /// An integer (or a choice, see `DataverseCatalog.isOptionSet`) when whole and within 64 bits,
  /// else an exact decimal; `nil` when the text is not a number.
  static func number(_ text: String, field: String, label: String?) -> FieldValue? {
    text.withUTF8Bytes { number(utf8: $0, field: field, label: label) { text } }
  }

  /// `number(_:field:label:)` of the text of these bytes, read where they lie: the text is made (`text`) only for a
  /// decimal.
  static func number(
    utf8 bytes: UnsafeBufferPointer<UInt8>, field: String, label: String?, text: () -> String
  ) -> FieldValue? {
    let isWhole = !bytes.contains(where: {
      $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
    })
    // Read as `Int64(_:)` reads text.
    if isWhole, let integer = StateTag.wholeNumber(bytes) {
      return DataverseCatalog.isOptionSet(field: field, label: label) ? .optionSet(integer) : .integer(integer)
    }
    return ExactDecimal(text()).map(FieldValue.decimal)
  }

  private static func containsComma(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = bytes.baseAddress else { return false }
    return memchr(base, Int32(UInt8(ascii: ",")), bytes.count) != nil
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

  /// Whether the text of these bytes surely reads as an `Int64`.
  ///
  /// An optional minus and up to 18 digits are always within 64 bits. `false` says nothing: the text may still be
  /// one.
  static func isSurelyInteger(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    let digits = bytes.first == UInt8(ascii: "-") ? UnsafeBufferPointer(rebasing: bytes.dropFirst()) : bytes
    return (1...18).contains(digits.count) && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
  }

  /// `1`/`0` as FetchXML writes Two Options, `True`/`False` (in any case) as CMT does.
  static func boolean(_ text: String) -> Bool? { text.withUTF8Bytes { boolean(utf8: $0) } }

  /// `boolean(_:)` of the text of these bytes, read in place.
  ///
  /// The indexers vouch for millions of flags. Only ASCII letters are folded: no other character lowercases to one
  /// of these words' letters.
  static func boolean(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
    func matches(_ word: StaticString) -> Bool {
      guard bytes.count == word.utf8CodeUnitCount else { return false }
      for index in 0..<bytes.count where bytes[index] | 0x20 != word.utf8Start[index] { return false }
      return true
    }
    if bytes.count == 1 {
      return bytes[0] == UInt8(ascii: "1") ? true : bytes[0] == UInt8(ascii: "0") ? false : nil
    }
    return matches("true") ? true : matches("false") ? false : nil
  }
}

/// Why a value could not be read as its column's type.
struct ValueMismatch: Error {
  var reason: String
}
