/// A 128-bit hash of a row's bytes as exported: equal fingerprints mean the row was exported
/// byte for byte the same, so it cannot have changed.
///
/// Two 64-bit accumulators with different primes and seeds, each mixed per 8-byte word and
/// avalanched at the end (after xxHash64's round and finalizer). Not a cryptographic hash: it
/// guards against accidents, which is what a re-export of an org is.
public struct Fingerprint: Hashable, Sendable {
  public let high: UInt64
  public let low: UInt64

  private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
  private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
  private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
  private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63

  /// A fingerprint as kept in a workspace's state.
  public init(high: UInt64, low: UInt64) {
    self.high = high
    self.low = low
  }

  /// The fingerprint of `bytes`; `seed` keeps rows of different formats from ever matching.
  public init(of bytes: UnsafeRawBufferPointer, seed: UInt64) {
    var high = seed &+ Fingerprint.prime1
    var low = ~seed &+ Fingerprint.prime3
    let count = bytes.count
    var index = 0
    if let base = bytes.baseAddress {
      while index + 8 <= count {
        let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
        high = Fingerprint.round(high, word, Fingerprint.prime2, Fingerprint.prime1)
        low = Fingerprint.round(low, word, Fingerprint.prime4, Fingerprint.prime3)
        index += 8
      }
      var tail: UInt64 = 0
      var shift: UInt64 = 0
      while index < count {
        tail |= UInt64(base.load(fromByteOffset: index, as: UInt8.self)) << shift
        shift += 8
        index += 1
      }
      high = Fingerprint.round(high, tail, Fingerprint.prime2, Fingerprint.prime1)
      low = Fingerprint.round(low, tail, Fingerprint.prime4, Fingerprint.prime3)
    }
    self.high = Fingerprint.avalanche(high ^ UInt64(count))
    self.low = Fingerprint.avalanche(low &+ UInt64(count) &* Fingerprint.prime2)
  }

  @inline(__always)
  private static func round(_ accumulator: UInt64, _ word: UInt64, _ multiplier: UInt64, _ after: UInt64) -> UInt64 {
    let mixed = accumulator &+ word &* multiplier
    return ((mixed << 31) | (mixed >> 33)) &* after
  }

  @inline(__always)
  private static func avalanche(_ value: UInt64) -> UInt64 {
    var hash = value
    hash ^= hash >> 33
    hash = hash &* Fingerprint.prime2
    hash ^= hash >> 29
    hash = hash &* Fingerprint.prime3
    hash ^= hash >> 32
    return hash
  }
}
