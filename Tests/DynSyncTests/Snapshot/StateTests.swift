import DynSyncCore
import Testing

@Suite("Applying an export onto the state")
struct StateTests {
  func table(_ kind: ExportKind, _ rows: [(GUID, String)], deleted: [GUID] = []) -> Snapshot {
    var builder = SnapshotBuilder()
    for (id, name) in rows {
      builder.add(
        .record(Record(entity: "account", id: id, fields: ["name": .string(name)], origin: SourcePosition(file: "x"))))
    }
    for id in deleted {
      builder.add(.deletion(Deletion(entity: "account", id: id, reason: "deleted", origin: SourcePosition(file: "x"))))
    }
    builder.finish(file: ExportFileSummary(path: "x", format: .webAPI, kind: kind, entities: ["account"]))
    return builder.build()
  }

  @Test("a full export replaces a table, a delta is laid over it, other tables stay")
  func applying() {
    let a = GUID(high: 1, low: 1)
    let b = GUID(high: 1, low: 2)
    let c = GUID(high: 1, low: 3)
    var state = table(.full, [(a, "A"), (b, "B")])
    state.tables["contact"] = Snapshot.Table(entity: "contact", kind: .full)
    let afterDelta = state.applying(table(.delta, [(c, "C"), (a, "A2")], deleted: [b]))
    #expect(afterDelta.tables["account"]?.kind == .full)
    #expect(afterDelta.tables["account"]?.records.keys.sorted() == [a, c])
    #expect(afterDelta.tables["account"]?.records[a]?["name"] == .string("A2"))
    #expect(afterDelta.tables["contact"] != nil)
    let afterFull = afterDelta.applying(table(.full, [(b, "B")]))
    #expect(afterFull.tables["account"]?.records.keys.sorted() == [b])
  }
}
