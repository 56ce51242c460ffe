/// A decimal number kept exactly as the export wrote it, never through binary floating point.
///
/// Equality is numeric: `20000.0000`, `20000.0` and `2E4` are the same amount, which is what a
/// re-export of an unchanged money column looks like.
public struct ExactDecimal: Hashable, Sendable, CustomStringConvertible {
  /// The text as written in the export, used when the value is written out again.
  ///
  /// It is all a value holds: its amount is read from it when compared. A million records hold millions of values,
  /// and a `FieldValue` is as large as its largest case; the parsed parts beside the text made every value of every
  /// kind 56 bytes instead of 40.
  public let written: String

  /// Parses JSON number grammar, also accepting a leading `+` and a bare leading `.` as XML exports write them.
  public init?(_ text: String) {
    guard text.withUTF8Bytes({ ExactDecimal.isNumber(utf8: $0) }) else { return nil }
    self.written = text
  }

  /// Whether `init?` takes the text of these bytes, without making the value: the indexers vouch for millions of
  /// amounts they never keep.
  public static func isNumber(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool { scan(bytes) != nil }

  /// Sign, significant digits without leading or trailing zeros, and the power of ten of the last digit.
  private struct Parts: Hashable {
    var isNegative: Bool
    var significand: String
    var exponent: Int
  }

  /// Read from the text each time it is asked for: ask once per use.
  private var parts: Parts {
    // `init?` accepted the text, so it parses.
    ExactDecimal.parts(of: written) ?? Parts(isNegative: false, significand: "0", exponent: 0)
  }

  /// A number's bytes as the grammar reads them: the one grammar of `init?`, `isNumber(utf8:)` and `parts`.
  private struct Scanned {
    var isNegative: Bool
    /// The digits and the point, if any, between the sign and the exponent.
    var mantissa: Range<Int>
    var fractionDigits: Int
    /// The exponent as written (0 without one).
    var exponent: Int
  }

  private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Scanned? {
    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    var index = 0
    var negative = false
    if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
      negative = bytes[index] == UInt8(ascii: "-")
      index += 1
    }
    let mantissaStart = index
    var fractionDigits = 0
    var sawDigit = false
    var sawPoint = false
    while index < bytes.count {
      let byte = bytes[index]
      if isDigit(byte) {
        sawDigit = true
        if sawPoint { fractionDigits += 1 }
      } else if byte == UInt8(ascii: "."), !sawPoint {
        sawPoint = true
      } else {
        break
      }
      index += 1
    }
    guard sawDigit else { return nil }
    let mantissa = mantissaStart..<index
    var exponent = 0
    if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
      index += 1
      var exponentNegative = false
      if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
        exponentNegative = bytes[index] == UInt8(ascii: "-")
        index += 1
      }
      guard index < bytes.count, bytes.count - index <= 9 else { return nil }
      while index < bytes.count {
        guard isDigit(bytes[index]) else { return nil }
        exponent = exponent * 10 + Int(bytes[index] - UInt8(ascii: "0"))
        index += 1
      }
      if exponentNegative { exponent = -exponent }
    }
    guard index == bytes.count else { return nil }
    return Scanned(isNegative: negative, mantissa: mantissa, fractionDigits: fractionDigits, exponent: exponent)
  }

  private static func parts(of text: String) -> Parts? {
    text.withUTF8Bytes { bytes in
      guard let scanned = scan(bytes) else { return nil }
      let digits = bytes[scanned.mantissa].filter { $0 != UInt8(ascii: ".") }
      var exponent = scanned.exponent - scanned.fractionDigits
      // Canonical form: strip leading zeros, move trailing zeros into the exponent.
      var start = 0
      while start < digits.count - 1, digits[start] == UInt8(ascii: "0") { start += 1 }
      var end = digits.count
      while end > start + 1, digits[end - 1] == UInt8(ascii: "0") {
        end -= 1
        exponent += 1
      }
      let significant = String(decoding: digits[start..<end], as: UTF8.self)
      if significant == "0" { return Parts(isNegative: false, significand: "0", exponent: 0) }
      return Parts(isNegative: scanned.isNegative, significand: significant, exponent: exponent)
    }
  }

  /// The value as a whole number when it is one and fits in 64 bits.
  public var integerValue: Int64? {
    let parts = self.parts
    let (isNegative, significand, exponent) = (parts.isNegative, parts.significand, parts.exponent)
    guard exponent >= 0, significand.count + exponent <= 19 else { return nil }
    guard let magnitude = Int64(significand + String(repeating: "0", count: exponent)) else { return nil }
    return isNegative ? -magnitude : magnitude
  }

  /// A text that is equal for equal amounts and different for different ones.
  public var canonical: String {
    let parts = self.parts
    let (isNegative, significand, exponent) = (parts.isNegative, parts.significand, parts.exponent)
    return (isNegative ? "-" : "") + significand + "e" + String(exponent)
  }

  /// Plain positional notation (`-12.5`, `20000`), whatever notation the export used.
  public var plainText: String {
    let parts = self.parts
    let (isNegative, significand, exponent) = (parts.isNegative, parts.significand, parts.exponent)
    let sign = isNegative ? "-" : ""
    if exponent >= 0 { return sign + significand + String(repeating: "0", count: exponent) }
    let digits = Array(significand)
    let point = digits.count + exponent
    if point > 0 { return sign + String(digits[..<point]) + "." + String(digits[point...]) }
    return sign + "0." + String(repeating: "0", count: -point) + significand
  }

  /// The bytes of `plainText` handed to `body` with no string made, for an amount written whole.
  ///
  /// An amount written with a fraction of zeros or none (`54981645.0000`, `-12`) is its sign and whole digits, as
  /// written. `nil`, and `body` not called, for any other form, whose text `plainText` works out.
  public func withPlainWholeDigits<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result? {
    written.withUTF8Bytes { bytes -> Result? in
      var index = bytes.first == UInt8(ascii: "-") ? 1 : 0
      // A first digit of 1-9: leading zeros, and an amount of zero, are left to `plainText`.
      guard index < bytes.count, (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(bytes[index]) else { return nil }
      while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
      let end = index
      if index < bytes.count {
        guard bytes[index] == UInt8(ascii: "."), bytes[(index + 1)...].allSatisfy({ $0 == UInt8(ascii: "0") }) else {
          return nil
        }
      }
      return body(UnsafeBufferPointer(rebasing: bytes[..<end]))
    }
  }

  public var description: String { written }

  public static func == (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
    lhs.written == rhs.written || lhs.parts == rhs.parts
  }

  public func hash(into hasher: inout Hasher) { hasher.combine(parts) }
}
