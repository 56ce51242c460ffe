/// A point in time, normalised to UTC so that the same instant written with different offsets
/// (FetchXML writes the user's offset, the Web API `Z`) is one value.
///
/// Sixteen bytes: a value is as large as its largest kind, and rows are arrays of values held by the hundred thousand.
/// The fraction of a second is a word of 19 decimal places (`fractionWord`), whose order, equality and hash are the
/// fraction's, its digits written back without trailing zeros as they were read; a fraction of more digits than that
/// is kept as text by number (`NumberedTexts.longFractions`), the word then above every fraction of 19 places.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// Seconds since 1970-01-01T00:00:00Z.
  public let epochSeconds: Int64
  /// The fraction of a second times 10^19, below `Timestamp.placeValue`; or `longFraction` plus the number of a
  /// longer fraction's digits.
  private let fractionWord: UInt64

  /// 10^19: the first word that is no fraction of 19 places.
  private static let placeValue: UInt64 = 10_000_000_000_000_000_000
  private static let places = 19
  /// Words from here hold the number of a fraction of more than 19 digits.
  private static let longFraction: UInt64 = placeValue

  public init(epochSeconds: Int64, fraction: String = "") {
    self.epochSeconds = epochSeconds
    fractionWord = fraction.withUTF8Bytes { Timestamp.fractionWord(digits: $0) }
  }

  /// The word of a fraction's digits (trailing zeros or not); digits that are not all ASCII digits, or more than 19
  /// of them, are kept as text.
  private static func fractionWord(digits: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var count = digits.count
    while count > 0, digits[count - 1] == UInt8(ascii: "0") { count -= 1 }
    let significant = UnsafeBufferPointer(rebasing: digits[0..<count])
    guard count <= places, significant.allSatisfy(isDigit) else {
      let text = String(decoding: significant, as: UTF8.self)
      return longFraction + UInt64(NumberedTexts.longFractions.number(of: text))
    }
    // Most instants read are whole seconds.
    guard count > 0 else { return 0 }
    var word: UInt64 = 0
    for digit in significant { word = word &* 10 &+ UInt64(digit - UInt8(ascii: "0")) }
    for _ in count..<places { word &*= 10 }
    return word
  }

  /// Fractional second digits without trailing zeros (`""` for a whole second).
  public var fraction: String {
    String(unsafeUninitializedCapacity: fractionByteLimit) { buffer in
      guard let start = buffer.baseAddress else { return 0 }
      return writeFraction(to: start)
    }
  }

  /// Whether the fraction is digits alone, as every fraction read from an instant's text is.
  public var fractionIsDigits: Bool {
    fractionWord < Timestamp.longFraction || longFractionText.utf8.allSatisfy(Timestamp.isDigit)
  }

  /// The most bytes `writeFraction(to:)` takes.
  private var fractionByteLimit: Int {
    fractionWord < Timestamp.longFraction ? Timestamp.places : longFractionText.utf8.count
  }

  /// A fraction of more than 19 digits, as read.
  private var longFractionText: String {
    NumberedTexts.longFractions.name(of: NumberedTexts.Number(fractionWord - Timestamp.longFraction)) ?? ""
  }

  /// Writes the fraction's digits from `start` (none for a whole second).
  ///
  /// - Returns: how many bytes were written.
  private func writeFraction(to start: UnsafeMutablePointer<UInt8>) -> Int {
    guard fractionWord < Timestamp.longFraction else {
      var count = 0
      for byte in longFractionText.utf8 {
        start[count] = byte
        count += 1
      }
      return count
    }
    var rest = fractionWord
    var count = 0
    for place in (0..<Timestamp.places).reversed() {
      let digit = UInt8(rest % 10)
      rest /= 10
      if count == 0, digit == 0 { continue }
      if count == 0 { count = place + 1 }
      start[place] = UInt8(ascii: "0") + digit
    }
    return count
  }

  /// Parses ISO 8601 `yyyy-MM-ddTHH:mm[:ss[.f…]][Z|±HH:mm]`; no zone means UTC, as CMT and
  /// time-zone-independent columns write it.
  @inlinable
  public init?(iso text: some StringProtocol) {
    guard let parsed = text.withUTF8Bytes({ Timestamp(isoUTF8: $0) }) else { return nil }
    self = parsed
  }

  /// Parses the UTF-8 bytes of an ISO 8601 date and time, as `init?(iso:)` parses text, in place:
  /// the readers check and parse millions of these, and a copy of each cost more than the parse.
  public init?(isoUTF8 bytes: UnsafeBufferPointer<UInt8>) {
    guard let parts = Timestamp.isoParts(bytes) else { return nil }
    epochSeconds = Int64(parts.date.daysSinceEpoch) * 86_400 + Int64(parts.secondsOfDay - parts.offsetSeconds)
    fractionWord = Timestamp.fractionWord(digits: UnsafeBufferPointer(rebasing: bytes[parts.fraction]))
  }

  /// Whether `init?(isoUTF8:)` takes these bytes, without making the value: the indexers vouch for
  /// millions of instants they never keep.
  public static func isISO(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool { isoParts(bytes) != nil }

  /// An ISO 8601 date and time read from its bytes: the one grammar of `init?(isoUTF8:)` and `isISO(utf8:)`.
  private struct ISOParts {
    var date: CalendarDate
    var secondsOfDay: Int
    /// Where the fractional second's digits lie in the bytes (empty for none).
    var fraction: Range<Int>
    var offsetSeconds: Int
  }

  private static func isoParts(_ bytes: UnsafeBufferPointer<UInt8>) -> ISOParts? {
    guard bytes.count >= 16, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " ") else {
      return nil
    }
    guard let date = CalendarDate(UnsafeBufferPointer(rebasing: bytes[0..<10])),
      let hour = Timestamp.number(bytes, 11, 2), bytes[13] == UInt8(ascii: ":"),
      let minute = Timestamp.number(bytes, 14, 2), hour < 24, minute < 60
    else { return nil }
    var index = 16
    var second = 0
    var fraction = 0..<0
    if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
      guard let parsed = Timestamp.number(bytes, index + 1, 2), parsed < 61 else { return nil }
      second = parsed
      index += 3
      if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
        index += 1
        let start = index
        while index < bytes.count, Timestamp.isDigit(bytes[index]) { index += 1 }
        guard index > start else { return nil }
        fraction = start..<index
      }
    }
    var offsetSeconds = 0
    if index < bytes.count {
      switch bytes[index] {
      case UInt8(ascii: "Z"), UInt8(ascii: "z"):
        index += 1
      case UInt8(ascii: "+"), UInt8(ascii: "-"):
        let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
        guard let offsetHour = Timestamp.number(bytes, index + 1, 2) else { return nil }
        var offsetMinute = 0
        if index + 3 < bytes.count, bytes[index + 3] == UInt8(ascii: ":") {
          guard let parsed = Timestamp.number(bytes, index + 4, 2) else { return nil }
          offsetMinute = parsed
          index += 6
        } else if let parsed = Timestamp.number(bytes, index + 3, 2) {
          offsetMinute = parsed
          index += 5
        } else {
          index += 3
        }
        offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
      default:
        return nil
      }
    }
    guard index == bytes.count else { return nil }
    return ISOParts(
      date: date, secondsOfDay: hour * 3600 + minute * 60 + second, fraction: fraction, offsetSeconds: offsetSeconds)
  }

  /// `yyyy-MM-ddTHH:mm:ss[.f…]Z`, the form every output uses.
  public var description: String {
    String(unsafeUninitializedCapacity: descriptionByteLimit) { buffer in
      guard let start = buffer.baseAddress else { return 0 }
      return writeDescription(to: start)
    }
  }

  /// The most bytes `description` can take: a year of up to twelve digits and a sign (as far as 64-bit seconds
  /// reach), the rest of the date and the time, the fraction's digits.
  public var descriptionByteLimit: Int { 32 + fractionByteLimit }

  /// Writes the bytes of `description` from `start`, which has room for `descriptionByteLimit` of them, with no
  /// string made: outputs hold millions of these.
  ///
  /// - Returns: how many bytes were written.
  public func writeDescription(to start: UnsafeMutablePointer<UInt8>) -> Int {
    let days = Int(epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400)
    let secondsOfDay = Int(epochSeconds - Int64(days) * 86_400)
    let date = CalendarDate(daysSinceEpoch: days)
    var index = 0
    // Written digit by digit.
    func digits(_ value: Int, _ width: Int, then separator: UInt8) {
      var place = index + width - 1
      var rest = value
      while place >= index {
        start[place] = UInt8(ascii: "0") + UInt8(rest % 10)
        rest /= 10
        place -= 1
      }
      start[index + width] = separator
      index += width + 1
    }
    if (0...9999).contains(date.year) {
      digits(date.year, 4, then: UInt8(ascii: "-"))
      digits(date.month, 2, then: UInt8(ascii: "-"))
      digits(date.day, 2, then: UInt8(ascii: "T"))
    } else {
      for byte in date.description.utf8 {
        start[index] = byte
        index += 1
      }
      start[index] = UInt8(ascii: "T")
      index += 1
    }
    digits(secondsOfDay / 3600, 2, then: UInt8(ascii: ":"))
    digits(secondsOfDay / 60 % 60, 2, then: UInt8(ascii: ":"))
    guard fractionWord != 0 else {
      digits(secondsOfDay % 60, 2, then: UInt8(ascii: "Z"))
      return index
    }
    digits(secondsOfDay % 60, 2, then: UInt8(ascii: "."))
    index += writeFraction(to: start + index)
    start[index] = UInt8(ascii: "Z")
    return index + 1
  }

  /// The calendar day of this instant in UTC.
  public var utcDate: CalendarDate {
    let days = Int(epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400)
    return CalendarDate(daysSinceEpoch: days)
  }

  public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
    guard lhs.epochSeconds == rhs.epochSeconds else { return lhs.epochSeconds < rhs.epochSeconds }
    // Digits compared in order are fractions compared; the word of 19 places orders them alike.
    guard lhs.fractionWord >= longFraction || rhs.fractionWord >= longFraction else {
      return lhs.fractionWord < rhs.fractionWord
    }
    return lhs.fraction < rhs.fraction
  }

  static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

  // Inlined where a date or time is read: seven calls an instant cost more than reading its digits.
  @inline(__always)
  static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
    guard start + count <= bytes.count else { return nil }
    var value = 0
    for index in start..<start + count {
      let byte = bytes[index]
      guard isDigit(byte) else { return nil }
      value = value * 10 + Int(byte - UInt8(ascii: "0"))
    }
    return value
  }

  static func pad(_ value: Int, width: Int = 2) -> String { String(value, zeroPaddedTo: width) }
}

/// A calendar day with no time zone (Dataverse DateOnly columns such as `birthdate`).
///
/// Ten bytes, for the reason an instant is sixteen (`Timestamp`).
public struct CalendarDate: Hashable, Comparable, Sendable, CustomStringConvertible {
  private let storedYear: Int64
  private let storedMonth: UInt8
  private let storedDay: UInt8

  public var year: Int { Int(storedYear) }
  public var month: Int { Int(storedMonth) }
  public var day: Int { Int(storedDay) }

  /// Parses exactly `yyyy-MM-dd`.
  @inlinable
  public init?(_ text: some StringProtocol) {
    guard let parsed = text.withUTF8Bytes({ CalendarDate($0) }) else { return nil }
    self = parsed
  }

  /// Parses the UTF-8 bytes of exactly `yyyy-MM-dd`.
  public init?(_ bytes: ArraySlice<UInt8>) {
    guard let parsed = bytes.withUnsafeBufferPointer({ CalendarDate($0) }) else { return nil }
    self = parsed
  }

  /// Parses the UTF-8 bytes of exactly `yyyy-MM-dd` in place.
  public init?(_ bytes: UnsafeBufferPointer<UInt8>) {
    guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
      let year = Timestamp.number(bytes, 0, 4), let month = Timestamp.number(bytes, 5, 2),
      let day = Timestamp.number(bytes, 8, 2), (1...12).contains(month),
      day >= 1, day <= CalendarDate.daysIn(month: month, year: year)
    else { return nil }
    storedYear = Int64(year)
    storedMonth = UInt8(month)
    storedDay = UInt8(day)
  }

  /// The day `days` after 1970-01-01 (before it when negative).
  public init(daysSinceEpoch days: Int) {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    storedYear = Int64(yoe + era * 400 + (month <= 2 ? 1 : 0))
    storedMonth = UInt8(month)
    storedDay = UInt8(day)
  }

  /// Days from 1970-01-01 (Howard Hinnant's days_from_civil).
  var daysSinceEpoch: Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

  public var description: String {
    guard (0...9999).contains(year) else {
      return Timestamp.pad(year, width: 4) + "-" + Timestamp.pad(month) + "-" + Timestamp.pad(day)
    }
    // Its ten bytes written in place: a string joined from padded parts took thousands of instructions, and a state
    // writes a date in many of its rows.
    return String(unsafeUninitializedCapacity: 10) { bytes in
      func digits(_ value: Int, at place: Int, width: Int) {
        var rest = value
        for offset in (0..<width).reversed() {
          bytes[place + offset] = UInt8(ascii: "0") + UInt8(rest % 10)
          rest /= 10
        }
      }
      digits(year, at: 0, width: 4)
      bytes[4] = UInt8(ascii: "-")
      digits(month, at: 5, width: 2)
      bytes[7] = UInt8(ascii: "-")
      digits(day, at: 8, width: 2)
      return 10
    }
  }

  public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
    (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
  }

  static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }
}

extension String {
  /// `value` in decimal, with leading zeros up to `width` digits (`007`, `000001`).
  public init(_ value: Int, zeroPaddedTo width: Int) {
    let text = String(value)
    self = text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
  }
}
