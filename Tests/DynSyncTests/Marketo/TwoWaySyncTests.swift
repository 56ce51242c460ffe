import DynSyncArtifacts
import DynSyncReaders
import Foundation
import Testing

@testable import DynSyncCore

@Suite("Two-way sync pieces")
struct TwoWaySyncTests {
  let lead = GUID(high: 0x1D, low: 1)

  func updateDiff(_ changes: [FieldChange]) -> SnapshotDiff {
    var counts = ChangeCounts()
    counts.updated = 1
    for change in changes { counts.fieldChanges[change.field] = 1 }
    let change = RecordChange(operation: .update, entity: "lead", id: lead, before: nil, after: nil, changed: changes)
    return SnapshotDiff(tables: [TableDiff(entity: "lead", changes: [change], counts: counts)])
  }

  @Test("an echo is taken out of the change set; a real change beside it stays")
  func echoes() {
    let pending = [
      lead: Record(
        entity: "lead", id: lead, fields: ["jobtitle": .string("VP"), "fax": .string("1")],
        origin: SourcePosition(file: "x"))
    ]
    let mixed = EchoSuppression.apply(
      updateDiff([
        FieldChange(field: "jobtitle", old: .string("CFO"), new: .string("VP")),
        FieldChange(field: "lastname", old: .string("A"), new: .string("B")),
      ]), pending: pending)
    #expect(mixed.echoes == 1)
    #expect(mixed.diff.tables[0].changes[0].changed.map(\.field) == ["lastname"])
    #expect(mixed.pending[lead]?.fields == ["fax": .string("1")], "a write not seen yet stays pending")

    let onlyEcho = EchoSuppression.apply(
      updateDiff([FieldChange(field: "jobtitle", old: .string("CFO"), new: .string("VP"))]), pending: pending)
    #expect(!onlyEcho.diff.hasChanges)
    #expect(onlyEcho.diff.tables[0].counts.updated == 0 && onlyEcho.diff.tables[0].counts.unchanged == 1)

    let superseded = EchoSuppression.apply(
      updateDiff([FieldChange(field: "jobtitle", old: .string("CFO"), new: .string("CEO"))]), pending: pending)
    #expect(superseded.diff.hasChanges, "Dynamics changed it to something else: a real change")
    #expect(superseded.pending[lead]?.fields["jobtitle"] == nil)
  }

  @Test("more than 1,000 writes go into several $batch bodies of at most 1,000 requests")
  func batchSplit() throws {
    let writes = (1...1_001).map {
      OutboundWrite(
        method: .update, entity: "contact", id: GUID(high: 2, low: UInt64($0)), personID: Int64($0),
        fields: ["jobtitle": .string("x")])
    }
    let folder = try TemporaryFolder()
    let writer = try BatchWriter(target: folder.path + "/batch")
    let paths = try OutboundFiles.write(writes, to: writer).map(\.path)
    #expect(
      paths == [
        "outbound/dynamics/contacts.ndjson", "outbound/dynamics/batch.http", "outbound/dynamics/batch-002.http",
      ])
    try writer.commit()
    let first = try String(contentsOfFile: folder.path + "/batch/outbound/dynamics/batch.http", encoding: .utf8)
    #expect(first.components(separatedBy: "Content-ID: ").count - 1 == 1_000)
    #expect(first.hasPrefix("--batch_dynsync_001\r\nContent-Type: multipart/mixed; boundary=changeset_dynsync_001\r\n"))
    #expect(first.hasSuffix("--changeset_dynsync_001--\r\n--batch_dynsync_001--\r\n"))
  }

  @Test("a create names the new lead's id; a lookup is written as @odata.bind, a choice as its value")
  func bodies() {
    let create = OutboundWrite(
      method: .create, entity: "lead", id: lead, personID: 7, fields: ["lastname": .string("Park")])
    #expect(OutboundFiles.path(create) == "leads")
    let update = OutboundWrite(
      method: .update, entity: "contact", id: GUID(high: 2, low: 1), personID: 8,
      fields: [
        "parentcustomerid": .lookup(Lookup(entity: "account", id: GUID(high: 3, low: 1))),
        "leadsourcecode": .optionSet(8),
      ])
    let body = OutboundFiles.batchBody([create, update], part: 1)
    #expect(body.contains("POST /api/data/v9.2/leads HTTP/1.1"))
    #expect(body.contains(#"{"lastname":"Park","leadid":"00000000-0000-001d-0000-000000000001"}"#))
    #expect(body.contains("PATCH /api/data/v9.2/contacts(00000000-0000-0002-0000-000000000001) HTTP/1.1"))
    #expect(
      body.contains(
        #"{"leadsourcecode":8,"parentcustomerid@odata.bind":"/accounts(00000000-0000-0003-0000-000000000001)"}"#))
  }

  @Test("a Marketo changes file reads as CSV or NDJSON, with its rows' lines")
  func changesFiles() throws {
    let folder = try TemporaryFolder()
    let csv = try folder.write(
      "changes.csv", "id,updatedAt,title\r\n1,2025-12-02T10:00:00Z,\"Head, Analytics\"\r\n2,,CFO,extra\r\n")
    let (edits, rejects) = try MarketoChangesReader.read(csv)
    #expect(edits.count == 1)
    #expect(edits[0].values["title"] == "Head, Analytics")
    #expect(edits[0].updatedAt?.description == "2025-12-02T10:00:00Z")
    #expect(rejects.first?.line == 3 && rejects.first?.reason.contains("4 cells") == true)
    let ndjson = try folder.write(
      "changes.ndjson", "{\"id\":1,\"title\":\"VP\",\"unsubscribed\":true}\n{\"title\":\"no id\"}\n")
    let (rows, problems) = try MarketoChangesReader.read(ndjson)
    #expect(rows.first?.values == ["id": "1", "title": "VP", "unsubscribed": "true"])
    #expect(problems.first?.line == 2)
    #expect(throws: InputError.self) { _ = try MarketoChangesReader.read(try folder.write("bad.csv", "title\nx\n")) }
  }
}
