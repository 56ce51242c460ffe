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

@Suite("Building a snapshot")
struct SnapshotBuilderTests {
  @Test("a file's events added at once give the snapshot adding them one at a time gives", arguments: 0..<40)
  func eventsAtOnce(seed: UInt64) {
    var generator = SeededGenerator(seed: seed)
    let entities = ["account", "contact", "lead"]
    // Few ids, so that rows repeat (rejected as duplicates) and deletions meet rows before and after them.
    var events: [ReadEvent] = []
    for line in 0..<Int.random(in: 0...120, using: &generator) {
      let entity = entities[Int.random(in: 0..<entities.count, using: &generator)]
      let id = GUID(high: 0, low: .random(in: 0..<24, using: &generator))
      let origin = SourcePosition(file: "page.json", line: line + 1)
      switch Int.random(in: 0..<10, using: &generator) {
      case 0: events.append(.deletion(Deletion(entity: entity, id: id, reason: "deleted", origin: origin)))
      case 1: events.append(.reject(InputError(at: origin, entity: entity, recordID: nil, reason: "bad row")))
      default:
        events.append(.record(Record(entity: entity, id: id, fields: ["n": .integer(Int64(line))], origin: origin)))
      }
    }
    var oneByOne = SnapshotBuilder()
    for event in events { oneByOne.add(event) }
    var atOnce = SnapshotBuilder()
    var taken = events
    atOnce.add(&taken)
    #expect(taken.isEmpty)
    let expected = oneByOne.build()
    let actual = atOnce.build()
    #expect(actual.rejects == expected.rejects)
    #expect(Set(actual.tables.keys) == Set(expected.tables.keys))
    for (entity, table) in expected.tables {
      #expect(actual.tables[entity]?.records == table.records, "\(entity), seed \(seed)")
      #expect(actual.tables[entity]?.deletions == table.deletions, "\(entity), seed \(seed)")
    }
    // Records alone, as a state file's are added.
    let records = events.compactMap { event -> Record? in
      if case .record(let record) = event { return record }
      return nil
    }
    var recordsOneByOne = SnapshotBuilder()
    for record in records { recordsOneByOne.add(.record(record)) }
    var recordsAtOnce = SnapshotBuilder()
    recordsAtOnce.add(records)
    #expect(recordsAtOnce.build().rejects == recordsOneByOne.build().rejects)
    for (entity, table) in recordsOneByOne.build().tables {
      #expect(recordsAtOnce.build().tables[entity]?.records == table.records)
    }
  }
}
