import DynSyncCore
import Testing

@Suite("Two sorted lists walked side by side")
struct SortedPairingTests {
  @Test(
    "Every key of either list is handed on once, in key order, with its place in each list that holds it",
    arguments: 1...30)
  func againstSets(seed: UInt64) {
    var random = SeededGenerator(seed: seed)
    // Small keys, so that the lists share some, and either may be empty or run out first.
    let first = Set((0..<Int.random(in: 0...12, using: &random)).map { _ in Int.random(in: 0..<20, using: &random) })
      .sorted()
    let second = Set((0..<Int.random(in: 0...12, using: &random)).map { _ in Int.random(in: 0..<20, using: &random) })
      .sorted()
    var walked: [SortedPairing] = []
    forEachSortedPairing(
      first.count, second.count, same: { first[$0] == second[$1] }, precedes: { first[$0] < second[$1] },
      each: { walked.append($0) })
    let expected = Set(first).union(second).sorted().map { key -> SortedPairing in
      switch (first.firstIndex(of: key), second.firstIndex(of: key)) {
      case (let mine?, let theirs?): .both(mine, theirs)
      case (let mine?, nil): .first(mine)
      case (nil, let theirs?): .second(theirs)
      case (nil, nil): fatalError("a key of neither list")
      }
    }
    #expect(walked == expected, "\(first) and \(second)")
  }

  @Test("A walk stops at the first error its body throws")
  func throwing() {
    struct Stop: Error {}
    var seen = 0
    #expect(throws: Stop.self) {
      let stopAtTheSecond: (SortedPairing) throws -> Void = { _ in
        seen += 1
        if seen == 2 { throw Stop() }
      }
      try forEachSortedPairing(3, 3, same: { $0 == $1 }, precedes: { $0 < $1 }, each: stopAtTheSecond)
    }
    #expect(seen == 2)
  }
}
