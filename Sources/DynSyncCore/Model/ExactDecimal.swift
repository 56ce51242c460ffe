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
    guard ExactDecimal.parts(of: text) != nil else { return nil }
    self.written = text
  }

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

  private static func parts(of text: String) -> Parts? {
    var bytes = Array(text.utf8)[...]
    var negative = false
    if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
      negative = first == UInt8(ascii: "-")
      bytes = bytes.dropFirst()
    }
    var digits: [UInt8] = []
    var fractionDigits = 0
    var sawDigit = false
    var sawPoint = false
    while let byte = bytes.first {
      if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
        digits.append(byte)
        sawDigit = true
        if sawPoint { fractionDigits += 1 }
      } else if byte == UInt8(ascii: "."), !sawPoint {
        sawPoint = true
      } else {
        break
      }
      bytes = bytes.dropFirst()
    }
    guard sawDigit else { return nil }
    var exponent = 0
    if let marker = bytes.first, marker == UInt8(ascii: "e") || marker == UInt8(ascii: "E") {
      bytes = bytes.dropFirst()
      var exponentNegative = false
      if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
        exponentNegative = sign == UInt8(ascii: "-")
        bytes = bytes.dropFirst()
      }
      guard !bytes.isEmpty, bytes.count <= 9 else { return nil }
      for byte in bytes {
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
        exponent = exponent * 10 + Int(byte - UInt8(ascii: "0"))
      }
      if exponentNegative { exponent = -exponent }
      bytes = []
    }
    guard bytes.isEmpty else { return nil }
    exponent -= fractionDigits
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
    return Parts(isNegative: negative, significand: significant, exponent: exponent)
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

  public var description: String { written }

  public static func == (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
    lhs.written == rhs.written || lhs.parts == rhs.parts
  }

  public func hash(into hasher: inout Hasher) { hasher.combine(parts) }
}
