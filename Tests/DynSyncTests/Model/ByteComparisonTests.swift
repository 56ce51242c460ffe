import DynSyncCore
import Testing

@Suite("Bytes compared in line")
struct ByteComparisonTests {
  /// Pairs of short byte strings from a small alphabet, so that equal strings, prefixes and a difference in any of
  /// the first, middle or last word are all common.
  static func pairs() -> [([UInt8], [UInt8])] {
    var random = SeededGenerator(seed: 20_261_207)
    let alphabet: [UInt8] = [0x00, 0x41, 0x5F, 0x61, 0x62, 0x7F, 0x80, 0xFF]
    func word() -> [UInt8] {
      (0..<Int.random(in: 0...20, using: &random)).map { _ in
        alphabet[Int.random(in: 0..<alphabet.count, using: &random)]
      }
    }
    return (0..<20_000).map { _ in
      let left = word()
      switch Int.random(in: 0..<3, using: &random) {
      case 0: return (left, left)
      case 1:
        var right = left
        if !right.isEmpty { right[Int.random(in: 0..<right.count, using: &random)] ^= 1 }
        return (left, right)
      default: return (left, word())
      }
    }
  }

  @Test("equality and order agree with the bytes' own, at every length and place of a difference")
  func agreesWithBytes() {
    for (left, right) in ByteComparisonTests.pairs() {
      left.withUnsafeBytes { mine in
        right.withUnsafeBytes { theirs in
          #expect(mine.hasSameBytes(as: theirs) == (left == right), "\(left) \(right)")
          #expect(mine.precedes(theirs) == left.lexicographicallyPrecedes(right), "\(left) \(right)")
        }
      }
    }
  }
}
