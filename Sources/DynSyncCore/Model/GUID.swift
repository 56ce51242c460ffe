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
    guard text.count == 36 else { return nil }
    var high: UInt64 = 0
    var low: UInt64 = 0
    var nibbles = 0
    for index in 0..<36 {
      let byte = text[index]
      if index == 8 || index == 13 || index == 18 || index == 23 {
        guard byte == UInt8(ascii: "-") else { return nil }
        continue
      }
      guard let nibble = GUID.nibble(byte) else { return nil }
      if nibbles < 16 {
        high = high << 4 | UInt64(nibble)
      } else {
        low = low << 4 | UInt64(nibble)
      }
      nibbles += 1
    }
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

  private static func nibble(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
  }
}
