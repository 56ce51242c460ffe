#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension StringProtocol {
  /// Runs `body` on the text's UTF-8 bytes: in place when the text is stored contiguously (native
  /// strings and their substrings, all there is in practice), else on a copy.
  ///
  /// - Parameter body: Reads the bytes; they are valid only during the call.
  /// - Returns: What `body` returns.
  /// - Throws: What `body` throws.
  // Inlinable so that a reader in another module gets it specialized: called generically, each call looked up the
  // metadata of its result type in the runtime's tables, about a tenth of reading a state.
  @inlinable
  public func withUTF8Bytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
    if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
    return try Array(utf8).withUnsafeBufferPointer(body)
  }
}

extension UnsafeBufferPointer<UInt8> {
  /// Whether these are the bytes of `literal`: one `memcmp`, where a comparison with a string's `utf8` goes byte by
  /// byte through the string's view.
  @inlinable
  public func equals(_ literal: StaticString) -> Bool {
    guard count == literal.utf8CodeUnitCount, let base = baseAddress else { return count == literal.utf8CodeUnitCount }
    return memcmp(base, literal.utf8Start, count) == 0
  }
}

/// Bytes looked at eight at a time, as one word (the first byte the lowest): for scans of the bytes of a line.
public enum ByteWord {
  /// The eight bytes at `offset`.
  @inlinable
  public static func load(_ base: UnsafeRawPointer, at offset: Int) -> UInt64 {
    UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
  }

  /// The high bit set at the first byte of `word` below `bound` (at most 0x80); zero when there is none.
  ///
  /// A byte below the bound sets its high bit in `word - bound…` where it is clear in `~word`. Only the first such
  /// byte is sure: a borrow out of it can set the bit of the byte after it too.
  @inlinable
  public static func bytes(below bound: UInt8, in word: UInt64) -> UInt64 {
    (word &- 0x0101_0101_0101_0101 &* UInt64(bound)) & ~word & 0x8080_8080_8080_8080
  }

  /// The high bit set at the first byte of `word` that is `byte`, as `bytes(below:in:)` finds it: such a byte is a
  /// zero byte of `word ^ byte…`.
  @inlinable
  public static func bytes(equalTo byte: UInt8, in word: UInt64) -> UInt64 {
    bytes(below: 1, in: word ^ (0x0101_0101_0101_0101 &* UInt64(byte)))
  }
}

/// UTF-8 read strictly, as the XML and JSON grammars dynsync checks take it: no overlong forms, no surrogates, nothing
/// past U+10FFFF.
public enum StrictUTF8 {
  /// The length of the sequence `lead` starts, and the bytes its second byte may be (each one after is a
  /// continuation byte); `nil` for a byte that starts no sequence of two or more.
  @inlinable
  public static func sequence(startingWith lead: UInt8) -> (length: Int, second: ClosedRange<UInt8>)? {
    switch lead {
    case 0xC2...0xDF: (2, 0x80...0xBF)
    case 0xE0: (3, 0xA0...0xBF)
    case 0xE1...0xEC, 0xEE, 0xEF: (3, 0x80...0xBF)
    case 0xED: (3, 0x80...0x9F)
    case 0xF0: (4, 0x90...0xBF)
    case 0xF1...0xF3: (4, 0x80...0xBF)
    case 0xF4: (4, 0x80...0x8F)
    default: nil
    }
  }
}

/// ASCII digits read as the numbers they stand for.
public enum ASCIIDigit {
  /// The value of a hexadecimal digit, in either case (a decimal digit is one whose value is below 10); `nil` for any
  /// other byte.
  @inlinable
  public static func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}

extension UnsafeRawBufferPointer {
  /// Whether every byte is ASCII: text that is valid UTF-8 with no look at its sequences.
  @inlinable
  public var isASCII: Bool {
    var combined: UInt8 = 0
    for byte in self { combined |= byte }
    return combined < 0x80
  }

  /// Whether these bytes are `other`'s, compared in line a word at a time: a column name is a dozen or two bytes,
  /// which a call to `memcmp` costs more than.
  @inlinable @inline(__always)
  public func hasSameBytes(as other: UnsafeRawBufferPointer) -> Bool {
    guard count == other.count else { return false }
    guard let left = baseAddress, let right = other.baseAddress else { return true }
    // As `firstDifference` reads them, with no need to order the words.
    func half(_ base: UnsafeRawPointer, _ offset: Int) -> UInt32 {
      base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }
    if count >= 8 {
      var offset = 0
      while offset + 8 < count {
        if ByteWord.load(left, at: offset) != ByteWord.load(right, at: offset) { return false }
        offset += 8
      }
      return ByteWord.load(left, at: count - 8) == ByteWord.load(right, at: count - 8)
    }
    if count >= 4 { return half(left, 0) == half(right, 0) && half(left, count - 4) == half(right, count - 4) }
    for offset in 0..<count
    where left.load(fromByteOffset: offset, as: UInt8.self) != right.load(fromByteOffset: offset, as: UInt8.self) {
      return false
    }
    return true
  }

  /// Whether these bytes sort before `other`'s, as `memcmp` orders them (a prefix first), compared in line.
  @inlinable
  public func precedes(_ other: UnsafeRawBufferPointer) -> Bool {
    let common = Swift.min(count, other.count)
    if common > 0, let left = baseAddress, let right = other.baseAddress,
      let (mine, theirs) = UnsafeRawBufferPointer.firstDifference(left, right, count: common)
    {
      return mine < theirs
    }
    return count < other.count
  }

  /// The first words of `count` bytes at `left` and `right` that differ, as numbers that order as the bytes do
  /// (the first byte the most significant); `nil` when the bytes are the same.
  ///
  /// Eight bytes at a time, the last eight (or four) read where they end, overlapping bytes already found equal,
  /// so that no byte is compared alone but in a string of under four.
  @inlinable
  static func firstDifference(_ left: UnsafeRawPointer, _ right: UnsafeRawPointer, count: Int) -> (UInt64, UInt64)? {
    func word(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 { ByteWord.load(base, at: offset).byteSwapped }
    func half(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
      UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)).byteSwapped)
    }
    if count >= 8 {
      var offset = 0
      while offset + 8 < count {
        let mine = word(left, offset)
        let theirs = word(right, offset)
        if mine != theirs { return (mine, theirs) }
        offset += 8
      }
      let mine = word(left, count - 8)
      let theirs = word(right, count - 8)
      return mine != theirs ? (mine, theirs) : nil
    }
    if count >= 4 {
      let mine = half(left, 0) << 32 | half(left, count - 4)
      let theirs = half(right, 0) << 32 | half(right, count - 4)
      return mine != theirs ? (mine, theirs) : nil
    }
    var mine: UInt64 = 0
    var theirs: UInt64 = 0
    for offset in 0..<count {
      mine = mine << 8 | UInt64(left.load(fromByteOffset: offset, as: UInt8.self))
      theirs = theirs << 8 | UInt64(right.load(fromByteOffset: offset, as: UInt8.self))
    }
    return mine != theirs ? (mine, theirs) : nil
  }

  /// How many line feeds the bytes hold (found with `memchr`, a line at a time).
  public var lineFeeds: Int {
    guard var cursor = baseAddress else { return 0 }
    let end = cursor + count
    var found = 0
    while cursor < end, let next = memchr(cursor, Int32(UInt8(ascii: "\n")), end - cursor) {
      found += 1
      cursor = UnsafeRawPointer(next) + 1
    }
    return found
  }
}
