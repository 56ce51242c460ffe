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
}
