import DynSyncCore
import Testing

@testable import DynSync

private func record(_ entity: String, _ id: UInt64, _ value: Int64) -> ReadEvent {
  .record(
    Record(
      entity: entity, id: GUID(high: 7, low: id), fields: ["n": .integer(value)],
      origin: SourcePosition(file: "t.json", line: Int(id), column: 1)))
}

private let reject = ReadEvent.reject(InputError(file: "t.json", reason: "bad row"))

@Suite("Records read again, by table")
struct DecodedRecordsTests {
  @Test("Steps noted from several tables give each table its records, a later step's record laid over an earlier one's")
  func byTable() {
    let steps: [(String, [ReadEvent])] = [
      ("account", [record("account", 1, 1), reject, record("account", 2, 2)]),
      ("contact", [record("contact", 3, 3)]),
      ("account", [record("account", 1, 10)]),
      ("lead", [reject]),
    ]
    let decoded = DecodedRecords()
    for (entity, events) in steps { decoded.add(events, of: entity) }
    let tables = decoded.records
    #expect(tables == DecodedRecords.byRecordTable(steps.map(\.1)))
    #expect(tables.keys.sorted() == ["account", "contact"])
    #expect(tables["account"]?[GUID(high: 7, low: 1)]?.fields["n"] == .integer(10))
  }

  @Test("A record of another table than the one its step was read for is kept in its own table")
  func strayRecord() {
    let steps: [(String, [ReadEvent])] = [
      ("account", [record("account", 1, 1), record("contact", 2, 2)]), ("contact", [record("contact", 3, 3)]),
    ]
    let decoded = DecodedRecords()
    for (entity, events) in steps { decoded.add(events, of: entity) }
    #expect(decoded.records == DecodedRecords.byRecordTable(steps.map(\.1)))
    #expect(decoded.records["contact"]?.count == 2)
  }
}
