import DynSyncCore
import Testing

@Suite("Diff engine")
struct DifferTests {
  static let idA = guid("aaaa0001-0001-ef11-8409-000d3a8f1a01")
  static let idB = guid("aaaa0002-0001-ef11-8409-000d3a8f1a01")
  static let idC = guid("aaaa0003-0001-ef11-8409-000d3a8f1a01")

  func account(_ id: GUID, _ fields: Fields, labels: Labels = [:], version: Int64? = nil)
    -> Record
  {
    Record(
      entity: "account", id: id, fields: fields, labels: labels, version: version, origin: SourcePosition(file: "x"))
  }

  func snapshot(_ records: [Record], deletions: [GUID] = [], kind: ExportKind = .full, rejects: [InputError] = [])
    -> Snapshot
  {
    var builder = SnapshotBuilder()
    for record in records { builder.add(.record(record)) }
    for id in deletions {
      builder.add(.deletion(Deletion(entity: "account", id: id, reason: "deleted", origin: SourcePosition(file: "x"))))
    }
    for reject in rejects { builder.add(.reject(reject)) }
    builder.finish(file: ExportFileSummary(path: "x", format: .webAPI, kind: kind, entities: ["account"]))
    return builder.build()
  }

  @Test("a re-ordered export is no change")
  func reorderOnly() {
    let rows = [
      account(Self.idA, ["name": .string("A")]), account(Self.idB, ["name": .string("B")]),
      account(Self.idC, ["name": .string("C")]),
    ]
    let diff = Differ.diff(previous: snapshot(rows), current: snapshot(rows.reversed()))
    #expect(!diff.hasChanges)
    #expect(diff.totals.unchanged == 3)
  }

  @Test("a changed formatted label or etag alone is no change")
  func labelOnly() {
    let old = account(Self.idA, ["industrycode": .optionSet(7)], labels: ["industrycode": "Consulting"], version: 10)
    let new = account(Self.idA, ["industrycode": .optionSet(7)], labels: ["industrycode": "Beratung"], version: 11)
    let diff = Differ.diff(previous: snapshot([old]), current: snapshot([new]))
    #expect(!diff.hasChanges)
  }

  @Test("20000.0000 and 20000.0 are the same amount")
  func decimalScale() {
    let diff = Differ.diff(
      previous: snapshot([account(Self.idA, ["revenue": decimal("20000.0000")])]),
      current: snapshot([account(Self.idA, ["revenue": decimal("20000.0")])]))
    #expect(!diff.hasChanges)
  }

  @Test("a GUID written in another case is the same record")
  func guidCase() throws {
    let upper = try #require(GUID("AAAA0001-0001-EF11-8409-000D3A8F1A01"))
    let diff = Differ.diff(
      previous: snapshot([account(Self.idA, ["name": .string("A")])]),
      current: snapshot([account(upper, ["name": .string("A")])]))
    #expect(!diff.hasChanges)
    #expect(diff.totals.unchanged == 1)
  }

  @Test("updates carry each changed column, old and new; one side only is a change from or to null")
  func fieldLevel() throws {
    let old = account(Self.idA, ["name": .string("A"), "fax": .string("555"), "revenue": decimal("1.5")])
    let new = account(Self.idA, ["name": .string("A2"), "telephone1": .string("777"), "revenue": decimal("1.50")])
    let diff = Differ.diff(previous: snapshot([old]), current: snapshot([new]))
    let change = try #require(diff.tables.first?.changes.first)
    #expect(change.operation == .update)
    #expect(
      change.changed == [
        FieldChange(field: "fax", old: .string("555"), new: .null),
        FieldChange(field: "name", old: .string("A"), new: .string("A2")),
        FieldChange(field: "telephone1", old: .null, new: .string("777")),
      ])
    #expect(change.before == old && change.after == new)
    #expect(diff.tables.first?.counts.fieldChanges == ["fax": 1, "name": 1, "telephone1": 1])
  }

  @Test("a full export infers deletion by absence; creates are new ids")
  func fullExport() throws {
    let diff = Differ.diff(
      previous: snapshot([account(Self.idA, [:]), account(Self.idB, [:])]),
      current: snapshot([account(Self.idA, [:]), account(Self.idC, [:])]))
    let changes = try #require(diff.tables.first?.changes)
    #expect(changes.map(\.operation) == [.delete, .create])
    #expect(changes.map(\.id) == [Self.idB, Self.idC])
    #expect(changes[0].before?.id == Self.idB && changes[0].after == nil)
  }

  @Test("a delta row overlays the row before: its columns win, and a label stays only while its value does")
  func deltaRowOverlay() {
    let before = account(
      Self.idA, ["name": .string("A"), "fax": .string("1"), "industrycode": .optionSet(7), "statecode": .optionSet(0)],
      labels: ["industrycode": "Consulting", "statecode": "Active", "ownerid": "Ann"], version: 10)
    let delta = account(
      Self.idA, ["name": .string("A2"), "industrycode": .optionSet(8), "statecode": .optionSet(0), "ownerid": .null],
      labels: ["name": "shown"], version: 11)
    let laid = before.overlaid(with: delta)
    #expect(
      laid.fields == [
        "fax": .string("1"), "industrycode": .optionSet(8), "name": .string("A2"), "ownerid": .null,
        "statecode": .optionSet(0),
      ])
    // industrycode changed without a label: its old label would be wrong. statecode was carried unchanged, ownerid
    // stays null (absent before): their labels stay. The delta's own label comes in.
    #expect(laid.labels == ["name": "shown", "statecode": "Active", "ownerid": "Ann"])
    #expect(laid.version == 11)
    let relabelled = before.overlaid(
      with: account(Self.idA, ["industrycode": .optionSet(8)], labels: ["industrycode": "Retail"], version: 12))
    #expect(relabelled.labels == ["industrycode": "Retail", "statecode": "Active", "ownerid": "Ann"])
    #expect(relabelled.fields["name"] == .string("A"), "columns the delta row does not carry keep their values")
  }

  @Test("a delta applies onto the previous export: absent is unchanged, deletions are explicit, rows overlay")
  func deltaExport() throws {
    let previous = snapshot([
      account(Self.idA, ["name": .string("A"), "fax": .string("1")]), account(Self.idB, ["name": .string("B")]),
      account(Self.idC, ["name": .string("C")]),
    ])
    let delta = snapshot([account(Self.idA, ["name": .string("A2")])], deletions: [Self.idB], kind: .delta)
    let diff = Differ.diff(previous: previous, current: delta)
    let table = try #require(diff.tables.first)
    #expect(table.counts.updated == 1 && table.counts.deleted == 1 && table.counts.unchanged == 1)
    let update = try #require(table.changes.first { $0.operation == .update })
    #expect(update.changed == [FieldChange(field: "name", old: .string("A"), new: .string("A2"))])
    #expect(update.after?["fax"] == .string("1"), "columns the delta row does not carry keep their values")
    #expect(table.changes.first { $0.operation == .delete }?.id == Self.idB)
  }

  @Test("equal row versions settle 'unchanged'; ignored and compared columns narrow what counts")
  func versionsAndOptions() {
    let old = account(Self.idA, ["name": .string("A"), "modifiedon": instant("2025-01-01T00:00:00Z")], version: 5)
    let sameVersion = account(Self.idA, ["name": .string("B")], version: 5)
    #expect(!Differ.diff(previous: snapshot([old]), current: snapshot([sameVersion])).hasChanges)

    let touched = account(Self.idA, ["name": .string("A"), "modifiedon": instant("2025-02-01T00:00:00Z")], version: 6)
    #expect(Differ.diff(previous: snapshot([old]), current: snapshot([touched])).hasChanges)
    let ignoring = DiffOptions(ignoring: ["modifiedon"], comparingOnly: [])
    #expect(!Differ.diff(previous: snapshot([old]), current: snapshot([touched]), options: ignoring).hasChanges)
    let onlyName = DiffOptions(ignoring: [], comparingOnly: ["account.name"])
    let result = Differ.diff(previous: snapshot([old]), current: snapshot([touched]), options: onlyName)
    #expect(!result.hasChanges)
    #expect(onlyName.compares("modifiedon", of: "contact"), "compare-only for one table leaves others whole")
  }

  @Test("a rejected row is not taken as deleted, and a table left out of the export is untouched")
  func nothingLost() throws {
    let reject = InputError(file: "x", line: 3, entity: "account", recordID: Self.idB.description, reason: "bad")
    let diff = Differ.diff(
      previous: snapshot([account(Self.idA, [:]), account(Self.idB, [:])]),
      current: snapshot([account(Self.idA, [:])], rejects: [reject]))
    #expect(!diff.hasChanges)
    #expect(diff.tables.first?.counts.rejected == 1)

    var contacts = SnapshotBuilder()
    contacts.add(.record(Record(entity: "contact", id: Self.idC, origin: SourcePosition(file: "y"))))
    let leftOut = Differ.diff(previous: snapshot([account(Self.idA, [:])]), current: contacts.build())
    #expect(leftOut.tables.map(\.entity) == ["contact"])
    #expect(leftOut.totals.deleted == 0)
  }

  @Test("a duplicate id in one export is rejected, the first row kept, never last-wins")
  func duplicateRejected() throws {
    let first = account(Self.idA, ["name": .string("First")])
    let second = account(Self.idA, ["name": .string("Second")])
    let current = snapshot([first, second])
    #expect(current.rejects.count == 1)
    #expect(current.rejects.first?.reason.contains("duplicate id") == true)
    let diff = Differ.diff(previous: snapshot([first]), current: current)
    #expect(!diff.hasChanges)
  }
}
