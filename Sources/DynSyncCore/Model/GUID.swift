/// A Dataverse unique identifier, compared case-insensitively and written lowercase.
///
/// Stored as 128 bits so that millions of ids hash and sort without string work; the order is the
/// order of the lowercase text form, so sorted outputs read naturally.
public struct GUID: Hashable, Comparable, Sendable, CustomStringConvertible {
  public let high: UInt64
  public let low: UInt64

  public init(high: UInt64, low: UInt64) {
    self.high = high
    self.low = low
  }

  /// Parses `8-4-4-4-12` hex, in either case, optionally wrapped in braces as FetchXML writes it.
  public init?(_ text: some StringProtocol) {
    if let parsed = text.utf8.withContiguousStorageIfAvailable({ GUID(utf8: UnsafeRawBufferPointer($0)) }) {
      guard let parsed else { return nil }
      self = parsed
      return
    }
    var utf8 = Array(text.utf8)
    guard let parsed = utf8.withUnsafeMutableBytes({ GUID(utf8: UnsafeRawBufferPointer($0)) }) else { return nil }
    self = parsed
  }

  /// Parses the UTF-8 bytes of `8-4-4-4-12` hex, optionally in braces, without making a string.
  public init?(utf8 bytes: UnsafeRawBufferPointer) {
    var text = bytes
    if text.count == 38, text[0] == UInt8(ascii: "{"), text[37] == UInt8(ascii: "}") {
      text = UnsafeRawBufferPointer(rebasing: text[1..<37])
    }
    guard text.count == 36, text[8] == UInt8(ascii: "-"), text[13] == UInt8(ascii: "-"),
      text[18] == UInt8(ascii: "-"), text[23] == UInt8(ascii: "-")
    else { return nil }
    var high: UInt64 = 0
    var low: UInt64 = 0
    guard GUID.appendHex(text, 0..<8, to: &high), GUID.appendHex(text, 9..<13, to: &high),
      GUID.appendHex(text, 14..<18, to: &high), GUID.appendHex(text, 19..<23, to: &low),
      GUID.appendHex(text, 24..<36, to: &low)
    else { return nil }
    self.high = high
    self.low = low
  }

  /// A name-based id: the same name always gives the same id.
  ///
  /// For rows that have no id of their own in the export, such as many-to-many associations.
  /// Two 64-bit FNV-1a hashes, seeded apart.
  public init(naming name: String) {
    var high: UInt64 = 0xcbf2_9ce4_8422_2325
    var low: UInt64 = 0x6c62_272e_07bb_0142
    for byte in name.utf8 {
      high = (high ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
      low = (low ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
    self.high = high
    self.low = low
  }

  public var description: String {
    // Written often (every id of every output line): straight into a 36-byte buffer.
    String(unsafeUninitializedCapacity: 36) { buffer in
      let digits: StaticString = "0123456789abcdef"
      var index = 0
      for (word, shift) in [(high, 60), (high, 28), (low, 60), (low, 28)] as [(UInt64, Int)] {
        var bit = shift
        while bit >= shift - 28 {
          if index == 8 || index == 13 || index == 18 || index == 23 {
            buffer[index] = UInt8(ascii: "-")
            index += 1
          }
          buffer[index] = digits.utf8Start[Int((word >> UInt64(bit)) & 0xF)]
          index += 1
          bit -= 4
        }
      }
      return index
    }
  }

  public static func < (lhs: GUID, rhs: GUID) -> Bool {
    (lhs.high, lhs.low) < (rhs.high, rhs.low)
  }

  /// Shifts the hex digits at `positions` into `value`; `false` when one is not a hex digit.
  @inline(__always)
  private static func appendHex(_ text: UnsafeRawBufferPointer, _ positions: Range<Int>, to value: inout UInt64)
    -> Bool
  {
    for position in positions {
      let byte = text[position]
      let digit = byte &- UInt8(ascii: "0")
      // Setting 0x20 lowercases A–F and moves no other byte into a–f.
      let letter = (byte | 0x20) &- UInt8(ascii: "a")
      if digit < 10 {
        value = value << 4 | UInt64(digit)
      } else if letter < 6 {
        value = value << 4 | UInt64(letter + 10)
      } else {
        return false
      }
    }
    return true
  }
}
