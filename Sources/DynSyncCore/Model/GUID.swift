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
  // Inlinable, as the parses of instants and dates are: called generically from another module, each call looked up
  // metadata in the runtime's tables, more than the parse itself.
  @inlinable
  public init?(_ text: some StringProtocol) {
    guard let parsed = text.withUTF8Bytes({ GUID(utf8: UnsafeRawBufferPointer($0)) }) else { return nil }
    self = parsed
  }

  /// Parses only the text `description` writes: lowercase `8-4-4-4-12`, no braces.
  ///
  /// Ids so written are in the order of their text.
  public init?(written text: String) {
    guard
      let parsed = text.withUTF8Bytes({ bytes -> GUID? in
        guard bytes.count == GUID.descriptionByteCount,
          !bytes.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "F")).contains($0) })
        else { return nil }
        return GUID(utf8: UnsafeRawBufferPointer(bytes))
      })
    else { return nil }
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
    // The 32 digits as four words of eight, the first digit in each word's lowest byte.
    func word(_ offset: Int) -> UInt64 {
      UInt64(littleEndian: text.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    func halves(_ first: Int, _ second: Int) -> UInt64 {
      UInt64(UInt32(littleEndian: text.loadUnaligned(fromByteOffset: first, as: UInt32.self)))
        | UInt64(UInt32(littleEndian: text.loadUnaligned(fromByteOffset: second, as: UInt32.self))) << 32
    }
    guard let first = GUID.hexWord(word(0)), let second = GUID.hexWord(halves(9, 14)),
      let third = GUID.hexWord(halves(19, 24)), let fourth = GUID.hexWord(word(28))
    else { return nil }
    let high = first << 32 | second
    let low = third << 32 | fourth
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
    String(unsafeUninitializedCapacity: GUID.descriptionByteCount) { buffer in
      guard let start = buffer.baseAddress else { return 0 }
      writeDescription(to: start)
      return GUID.descriptionByteCount
    }
  }

  /// The bytes of `description`: always 36.
  @inlinable public static var descriptionByteCount: Int { 36 }

  /// Writes the text form, lowercase `8-4-4-4-12`, into the 36 bytes from `start`, with no string made.
  public func writeDescription(to start: UnsafeMutablePointer<UInt8>) {
    // Eight digits a word: every id of every output line is written, and a digit at a time took hundreds of
    // instructions an id.
    let raw = UnsafeMutableRawPointer(start)
    let first = GUID.hexDigits(UInt32(truncatingIfNeeded: high >> 32))
    let second = GUID.hexDigits(UInt32(truncatingIfNeeded: high))
    let third = GUID.hexDigits(UInt32(truncatingIfNeeded: low >> 32))
    let fourth = GUID.hexDigits(UInt32(truncatingIfNeeded: low))
    raw.storeBytes(of: first.littleEndian, toByteOffset: 0, as: UInt64.self)
    raw.storeBytes(of: UInt32(truncatingIfNeeded: second).littleEndian, toByteOffset: 9, as: UInt32.self)
    raw.storeBytes(of: UInt32(truncatingIfNeeded: second >> 32).littleEndian, toByteOffset: 14, as: UInt32.self)
    raw.storeBytes(of: UInt32(truncatingIfNeeded: third).littleEndian, toByteOffset: 19, as: UInt32.self)
    raw.storeBytes(of: UInt32(truncatingIfNeeded: third >> 32).littleEndian, toByteOffset: 24, as: UInt32.self)
    raw.storeBytes(of: fourth.littleEndian, toByteOffset: 28, as: UInt64.self)
    start[8] = UInt8(ascii: "-")
    start[13] = UInt8(ascii: "-")
    start[18] = UInt8(ascii: "-")
    start[23] = UInt8(ascii: "-")
  }

  /// The eight lowercase hex digits of `value` as ASCII bytes of one word, the first digit in the lowest byte.
  static func hexDigits(_ value: UInt32) -> UInt64 {
    // Each nibble spread into a byte of its own (the lowest nibble in the lowest byte), then put in text order.
    var word = UInt64(value)
    word = (word | word << 16) & 0x0000_FFFF_0000_FFFF
    word = (word | word << 8) & 0x00FF_00FF_00FF_00FF
    word = ((word | word << 4) & 0x0F0F_0F0F_0F0F_0F0F).byteSwapped
    // "0"-"9" from 0x30, "a"-"f" 39 further on: a byte that is 10 or more carries into its 0x10 bit when 6 is added.
    let letters = ((word &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
    return word &+ 0x3030_3030_3030_3030 &+ letters &* 39
  }

  public static func < (lhs: GUID, rhs: GUID) -> Bool {
    (lhs.high, lhs.low) < (rhs.high, rhs.low)
  }

  /// What a set or dictionary files the id under: its two words multiplied together and folded,
  /// twice (as wyhash mixes 16 bytes), rather than SipHash's rounds over them.
  ///
  /// A run hashes millions of ids several times each, and SipHash was most of the hashing. The
  /// table's seed (random for each process) goes into both factors of the first product, so no id
  /// can be picked to make one of them zero.
  public func _rawHashValue(seed: Int) -> Int {
    let key = UInt64(UInt(bitPattern: seed))
    let mixed = WyHash.multiply(high ^ key ^ WyHash.secrets.1, low ^ key ^ WyHash.secrets.0)
    return Int(truncatingIfNeeded: WyHash.mix(mixed.high ^ WyHash.secrets.0 ^ 16, mixed.low ^ WyHash.secrets.1))
  }

  /// The value of the 16 hex digits at `offset` in `bytes`, in either case, the first the most significant.
  ///
  /// - Parameters:
  ///   - bytes: bytes that hold the 16 digits at `offset`.
  ///   - offset: where the digits start.
  /// - Returns: the value; `nil` when one of the bytes is not a hex digit.
  public static func hexNumber(in bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64? {
    func word(_ start: Int) -> UInt64 {
      UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start, as: UInt64.self))
    }
    guard let high = hexWord(word(offset)), let low = hexWord(word(offset + 8)) else { return nil }
    return high << 32 | low
  }

  /// The value of eight hex digits, in either case (the first in the word's lowest byte), or
  /// `nil` when one is not a hex digit.
  @inline(__always)
  static func hexWord(_ bytes: UInt64) -> UInt64? {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let high: UInt64 = 0x8080_8080_8080_8080
    guard bytes & high == 0 else { return nil }
    // Per byte, with every byte below 0x80 so that no sum carries into the next: 0x80 is set
    // where the byte is at least the bound.
    func atLeast(_ value: UInt64, _ bound: UInt8) -> UInt64 { (value &+ ones &* UInt64(0x80 - bound)) & high }
    let isDigit = atLeast(bytes, UInt8(ascii: "0")) & ~atLeast(bytes, UInt8(ascii: "9") + 1)
    // Setting 0x20 lowercases A–F and moves no other byte into a–f.
    let lowered = bytes | ones &* 0x20
    let isLetter = atLeast(lowered, UInt8(ascii: "a")) & ~atLeast(lowered, UInt8(ascii: "f") + 1)
    guard isDigit | isLetter == high else { return nil }
    // Digits and letters alike: the low four bits, plus 9 for a letter ('a' is 0x61).
    var nibbles = (bytes & (ones &* 0x0F)) &+ (isLetter >> 7) &* 9
    nibbles = (nibbles & 0x00FF_00FF_00FF_00FF) << 4 | (nibbles >> 8) & 0x00FF_00FF_00FF_00FF
    nibbles = (nibbles & 0x0000_00FF_0000_00FF) << 8 | (nibbles >> 16) & 0x0000_00FF_0000_00FF
    return (nibbles & 0x0000_0000_0000_FFFF) << 16 | (nibbles >> 32) & 0x0000_0000_0000_FFFF
  }
}
