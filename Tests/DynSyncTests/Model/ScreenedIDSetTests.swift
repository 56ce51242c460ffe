import DynSyncCore
import Testing

@Suite("Screened id sets")
struct ScreenedIDSetTests {
  @Test("an id is found exactly where the set holds it: ids spread at random, and ids alike in all but a few bits")
  func sameAsTheSet() {
    var generator = SystemRandomNumberGenerator()
    let random = (0..<20_000).map { _ in GUID(high: generator.next(), low: generator.next()) }
    // Sequential ids, as some servers hand them out: one word counts, the other is fixed.
    let sequential = (0..<20_000).map { GUID(high: 0x0000_0001_0000_0001, low: UInt64($0) << 48 | 0x42) }
    for ids in [random, sequential, [], Array(random.prefix(1))] {
      let held = Set(ids.enumerated().filter { $0.offset % 3 == 0 }.map(\.element))
      let screened = ScreenedIDSet(held)
      let wrong = ids.filter { screened.contains($0) != held.contains($0) }
      #expect(wrong.isEmpty, "\(wrong.count) of \(ids.count) ids answered wrongly")
    }
  }
}
