import DynSyncCore
import Testing

@Suite("Dataset keys")
struct DatasetKeyTests {
  @Test("a key reads as the number Int64 reads it as, or as none where Int64 reads none")
  func numbersAsInt64ReadsThem() {
    var keys = [
      "", "+", "-", "0", "-0", "+7", "007", "12a", " 1", "1 ", "0x1", "1_000", "١٢", "9223372036854775807",
      "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "99999999999999999999", "--1", "+-1",
    ]
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<2_000 { keys.append(String(Int64.random(in: .min ... .max, using: &generator))) }
    for key in keys { #expect(MarketoDataset.number(of: key) == Int64(key), "\(key.debugDescription)") }
  }

  @Test("keys sort as numbers where both are, by text between two that spell one number or where one is no number")
  func order() {
    #expect(MarketoDataset.sorted(["10", "9", "007", "7", "-3", "+8"]) == ["-3", "007", "7", "+8", "9", "10"])
    #expect(MarketoDataset.sorted(["b", "10", "9", "a"]) == ["9", "10", "a", "b"])
    let many = (0..<5_000).map { String(($0 * 7_919) % 10_007) }
    #expect(MarketoDataset.sorted(many) == many.sorted { Int64($0)! < Int64($1)! })
  }

  @Test("ids as dynsync writes them sort as their text does, and so do keys with one id spelt otherwise among them")
  func idOrder() {
    var generator = SystemRandomNumberGenerator()
    let ids = (0..<3_000).map { _ in
      // Ids alike in their high word as well as apart, so that the order rests on both words.
      GUID(high: UInt64.random(in: 0...3, using: &generator) << 60, low: generator.next()).description
    }
    #expect(MarketoDataset.sorted(ids) == ids.sorted())
    for other in [ids[0].uppercased(), "{\(ids[1])}", "0", "key"] {
      let keys = ids + [other]
      #expect(MarketoDataset.sorted(keys) == keys.sorted(by: MarketoDataset.keyPrecedes), "\(other)")
    }
    // An id of hex letters as well as digits: one of digits alone (one in two thousand of the random ones) reads the
    // same upper-cased.
    let lettered = GUID(high: 0xABCD << 48 | generator.next() >> 16, low: generator.next()).description
    #expect(GUID(written: lettered) == GUID(lettered))
    #expect(GUID(written: lettered.uppercased()) == nil)
    #expect(GUID(written: "{\(lettered)}") == nil)
  }
}
