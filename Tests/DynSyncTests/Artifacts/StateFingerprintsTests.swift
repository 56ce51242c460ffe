import DynSyncCore
import Foundation
import Testing

@testable import DynSyncArtifacts

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

  /// A base and an overlay of random rows (the overlay changing, adding and removing some), the rows they lay down
  /// together, and the ids looked for: the rows', the removed ones' and some of none.
  static func files(
    seed: UInt64
  ) -> (base: String, overlay: String, baseRows: [GUID: Fingerprint], rows: [GUID: Fingerprint], ids: [GUID]) {
    var generator = SeededGenerator(seed: seed)
    func id() -> GUID {
      GUID(high: .random(in: 0...2_000, using: &generator), low: .random(in: 0...3, using: &generator))
    }
    func fingerprint() -> Fingerprint {
      Fingerprint(
        high: .random(in: 0...UInt64.max, using: &generator), low: .random(in: 0...UInt64.max, using: &generator))
    }
    var base: [GUID: Fingerprint] = [:]
    for _ in 0..<Int.random(in: 0...600, using: &generator) { base[id()] = fingerprint() }
    var overlay: [GUID: Fingerprint?] = [:]
    for _ in 0..<Int.random(in: 0...80, using: &generator) {
      let changed = Bool.random(using: &generator) ? base.keys.randomElement(using: &generator) ?? id() : id()
      overlay[changed] = Bool.random(using: &generator) ? fingerprint() : Fingerprint?.none
    }
    var rows = base
    for (changed, fingerprint) in overlay { rows[changed] = fingerprint }
    let ids = Array(base.keys) + Array(overlay.keys) + (0..<50).map { _ in id() }
    let baseText =
      StateFingerprints.contextLine("webapi")
      + base.keys.sorted().map { StateFingerprints.line(id: $0, base[$0]) }.joined()
    let overlayText = overlay.keys.sorted().map { StateFingerprints.line(id: $0, overlay[$0] ?? nil) }.joined()
    return (baseText, overlayText, base, rows, ids)
  }

  @Test(
    "a table read back from its file holds the rows the base and overlay lay down, before and after removals",
    arguments: 0..<12)
  func readBackLazily(seed: UInt64) throws {
    let folder = try TemporaryFolder()
    let (base, overlay, _, rows, ids) = Self.files(seed: seed)
    let path = try folder.write("contact.txt", base)
    if !overlay.isEmpty { try folder.write("contact.overlay.txt", overlay) }
    let earlier = try #require(StateFingerprints.table(at: path)).table
    let expected = rows.keys.sorted().map { (id: $0, fingerprint: rows[$0]!) }
    #expect(earlier.rows.map(\.id) == expected.map(\.id))
    #expect(earlier.rows.map(\.fingerprint) == expected.map(\.fingerprint))
    for id in ids { #expect(earlier.fingerprint(of: id) == rows[id], "\(id)") }

    var generator = SeededGenerator(seed: seed &+ 1_000)
    let removed = Set(ids.filter { _ in Int.random(in: 0..<4, using: &generator) == 0 })
    var later = earlier
    later.removeRows(of: removed.sorted())
    #expect(later.rows.map(\.id) == expected.map(\.id).filter { !removed.contains($0) })
    for id in ids { #expect(later.fingerprint(of: id) == (removed.contains(id) ? nil : rows[id]), "\(id)") }
    // As the walk of the rows made whole finds them.
    let walked = StateFingerprints.Table(context: "webapi", rows: earlier.rows).changedIDs(
      to: StateFingerprints.Table(context: "webapi", rows: later.rows))
    #expect(earlier.changedIDs(to: later) == walked)
    #expect(walked == Set(removed.filter { rows[$0] != nil }.map(\.description)))
  }

  @Test("a damaged line of a base makes rows absent, never another row's fingerprint")
  func damagedBase() throws {
    let folder = try TemporaryFolder()
    let (base, _, rows, _, ids) = Self.files(seed: 7)
    var bytes = Array(base.utf8)
    let context = try #require(bytes.firstIndex(of: UInt8(ascii: "\n"))) + 1
    // Hex digits of the id of the middle line made into letters that are none.
    let middle = context + (bytes.count - context) / StateFingerprints.lineLength / 2 * StateFingerprints.lineLength
    for offset in 3..<9 { bytes[middle + offset] = UInt8(ascii: "x") }
    let path = folder.path + "/contact.txt"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let table = try #require(StateFingerprints.table(at: path)).table
    for id in ids {
      let found = table.fingerprint(of: id)
      #expect(found == nil || found == rows[id], "\(id)")
    }
    #expect(table.rows.count == rows.count - 1)
    #expect(table.rows.allSatisfy { rows[$0.id] == $0.fingerprint })
  }

  @Test("lines of a base out of order still read back as rows sorted by id, each with its own fingerprint")
  func baseOutOfOrder() throws {
    let folder = try TemporaryFolder()
    let (base, _, rows, _, ids) = Self.files(seed: 11)
    var lines = base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    // The context line stays first; the first and last row lines trade places.
    try #require(lines.count > 4)
    lines.swapAt(1, lines.count - 2)
    let path = try folder.write("contact.txt", lines.joined(separator: "\n"))
    let table = try #require(StateFingerprints.table(at: path)).table
    #expect(table.rows.map(\.id) == rows.keys.sorted())
    #expect(table.rows.allSatisfy { rows[$0.id] == $0.fingerprint })
    for id in ids {
      let found = table.fingerprint(of: id)
      #expect(found == nil || found == rows[id], "\(id)")
    }
  }
}
