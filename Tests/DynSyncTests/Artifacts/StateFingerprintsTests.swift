import DynSyncArtifacts
import DynSyncCore
import Testing

@Suite("fingerprints a state keeps")
struct StateFingerprintsTests {
  @Test("removing the rows of some ids keeps every other row, in order", arguments: 0..<20)
  func removeRows(seed: UInt64) {
    var generator = SeededGenerator(seed: seed)
    let rows = (0..<Int.random(in: 0...400, using: &generator)).map { _ in
      (
        id: GUID(high: .random(in: 0...1_000, using: &generator), low: 0),
        fingerprint: Fingerprint(high: .random(in: 0...UInt64.max, using: &generator), low: 1)
      )
    }
    var unique: [GUID: Fingerprint] = [:]
    for row in rows { unique[row.id] = row.fingerprint }
    let sorted = unique.keys.sorted().map { (id: $0, fingerprint: unique[$0]!) }
    // Ids of rows, and ids of none, before, among and after the rows.
    let ids = Set(
      (0..<Int.random(in: 0...300, using: &generator)).map { _ in
        GUID(high: .random(in: 0...1_100, using: &generator), low: 0)
      })
    var table = StateFingerprints.Table(context: "webapi", rows: sorted)
    table.removeRows(of: ids.sorted())
    let expected = sorted.filter { !ids.contains($0.id) }
    #expect(table.rows.map(\.id) == expected.map(\.id))
    #expect(table.rows.map(\.fingerprint) == expected.map(\.fingerprint))
  }
}
