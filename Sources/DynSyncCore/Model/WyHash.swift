/// The mixing of wyhash, with which the keys looked up for every record (`GUID`, `ColumnName`) are hashed into sets
/// and dictionaries instead of with SipHash.
enum WyHash {
  /// wyhash's first secrets: odd, with as many bits set as clear.
  static let secrets: (UInt64, UInt64, UInt64) = (0xa076_1d64_78bd_642f, 0xe703_7ed1_a0b4_28db, 0x8ebc_6af0_9c88_c6e3)

  /// The full 128-bit product of two words.
  @inline(__always)
  static func multiply(_ left: UInt64, _ right: UInt64) -> (high: UInt64, low: UInt64) {
    let product = left.multipliedFullWidth(by: right)
    return (product.high, product.low)
  }

  /// The product of two words folded to one: the halves of their 128-bit product combined.
  @inline(__always)
  static func mix(_ left: UInt64, _ right: UInt64) -> UInt64 {
    let product = multiply(left, right)
    return product.high ^ product.low
  }
}
