import DynSync
import DynSyncCore
import DynSyncReaders
import Foundation
import Testing

/// Records whether a run fell back to reading the exports in full.
private final class FallbackRecorder: ProgressObserver, @unchecked Sendable {
  private let lock = NSLock()
  private var reasons: [String] = []

  func readingFile(_ path: String, format: ExportFormat) {}
  func readRecords(_ counts: [String: Int], inFile path: String, elapsed: Duration) {}
  func readingInFull(because reason: String) { lock.withLock { reasons.append(reason) } }

  var fellBack: Bool { lock.withLock { !reasons.isEmpty } }
}

/// The files of a batch folder and their text, the manifest without its wall-clock `run` section.
private func batchText(_ folder: String) throws -> [String: String] {
  var files: [String: String] = [:]
  for name in try FileManager.default.subpathsOfDirectory(atPath: folder).sorted() {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &isDirectory),
      !isDirectory.boolValue
    else { continue }
    let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
    files[name] = text.split(separator: "\n", omittingEmptySubsequences: false)
      .filter { !$0.contains("\"durationSeconds\"") && !$0.contains("\"finishedAt\"") && !$0.contains("\"startedAt\"") }
      .joined(separator: "\n")
  }
  return files
}

/// What a run of `diff` left: its batch's text, or its error.
private enum DiffOutcome: Equatable {
  case batch([String: String])
  case failed(String)

  var batch: [String: String]? { if case .batch(let files) = self { files } else { nil } }
}

/// Runs `diff` indexed and in full; returns both outcomes and whether the indexed run had to fall back.
private func bothWays(previous: [String], current: [String], in folder: TemporaryFolder) throws
  -> (indexed: DiffOutcome, full: DiffOutcome, fellBack: Bool)
{
  func run(_ readInFull: Bool, _ name: String, _ progress: some ProgressObserver) -> DiffOutcome {
    var job = DiffJob(previous: previous, current: current, output: folder.path + "/" + name)
    job.readInFull = readInFull
    do {
      _ = try job.run(progress: progress)
      return .batch((try? batchText(folder.path + "/" + name)) ?? [:])
    } catch {
      return .failed("\(error)")
    }
  }
  let recorder = FallbackRecorder()
  let indexed = run(false, "indexed", recorder)
  let full = run(true, "full", SilentProgress())
  return (indexed, full, recorder.fellBack)
}

private func page(_ set: String, _ rows: [String], next: Bool = false) -> String {
  "{\"@odata.context\":\"https://org.crm.dynamics.com/api/data/v9.2/$metadata#\(set)\",\"value\":[\n"
    + rows.joined(separator: ",\n") + "\n]"
    + (next ? ",\"@odata.nextLink\":\"https://org.crm.dynamics.com/api/data/v9.2/\(set)?$skiptoken=2\"" : "") + "}"
}

private func contact(_ number: Int, _ extra: String = "", name: String = "Ada") -> String {
  let id = String(format: "%08x-0000-4000-8000-000000000000", number)
  return "{\"@odata.etag\":\"W/\\\"\(number)\\\"\",\"contactid\":\"\(id)\",\"firstname\":\"\(name)\"\(extra)}"
}

@Suite("Indexed diff")
struct IndexedDiffTests {
  @Test("rows that differ only in bytes, shapes, escapes, rejects and duplicates give the full read's batch")
  func tricky() throws {
    let folder = try TemporaryFolder()
    let lookup =
      ",\"_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname\":\"account\""
      + ",\"_parentcustomerid_value\":\"aaaaaaaa-0000-4000-8000-000000000001\""
    let before = [
      contact(1), contact(2, lookup), contact(3, ",\"note\":\"line\\nbreak \\u00e9\""),
      contact(4, ",\"revenue\":1.5e3"),
      contact(5, ",\"city\":\"Zürich\""), contact(6), contact(7, ",\"emailaddress1\":null"),
      contact(8, ",\"_ownerid_value\":\"not-a-guid\""), contact(9, ",\"a\":1,\"a\":2"),
      "{\"contactid\":\"nonsense\"}", contact(10, ",\"n\":{\"nested\":[1,{\"x\":true}]}"),
      contact(11, ",\"multi\":\"1,2\",\"multi@OData.Community.Display.V1.FormattedValue\":\"A; B\""),
      contact(12, ",\"esc\\u0061ped\":\"key\""),
    ]
    var after = before
    after[0] = contact(1, name: "Ada (edited)")
    after[1] = contact(2, lookup.replacingOccurrences(of: "0001\"", with: "0002\""))
    after[2] = contact(3, ",\"note\":\"line\\nbreak \\u00e9\"")  // the same bytes
    after[3] = contact(4, ",\"revenue\":1500")  // the same amount, written otherwise
    after[5] = "{\n  \"contactid\": \"00000006-0000-4000-8000-000000000000\",\n  \"firstname\": \"Ada\"\n}"
    after[6] = contact(7)  // null and absent are the same
    after.remove(at: 4)  // deleted
    after.append(contact(13, ",\"city\":\"Zürich\""))  // created
    after.append(contact(1, name: "second copy"))  // a duplicate id
    try folder.write("previous/contacts_1.json", page("contacts", Array(before[0..<7]), next: true))
    try folder.write("previous/contacts_2.json", page("contacts", Array(before[7...])))
    try folder.write("current/contacts.json", page("contacts", after))
    let outcome = try bothWays(
      previous: [folder.path + "/previous"], current: [folder.path + "/current"], in: folder)
    #expect(!outcome.fellBack)
    #expect(outcome.indexed == outcome.full)
    let rejects = try #require(outcome.indexed.batch?["rejects.ndjson"])
    #expect(rejects.range(of: "duplicate id") != nil)
    #expect(rejects.range(of: "appears twice") != nil)
  }

  @Test("a generated org and its next export give the full read's batch")
  func generated() throws {
    let folder = try TemporaryFolder()
    try GeneratedExport(generator: OrgGenerator(records: 1500, seed: 7), format: .webAPI)
      .write(to: folder.path + "/previous")
    try GeneratedExport(generator: OrgGenerator(records: 1500, seed: 7, mutation: .init()), format: .webAPI)
      .write(to: folder.path + "/current")
    let outcome = try bothWays(
      previous: [folder.path + "/previous"], current: [folder.path + "/current"], in: folder)
    #expect(!outcome.fellBack)
    #expect(outcome.indexed.batch != nil)
    #expect(outcome.indexed == outcome.full)
  }

  @Test(
    "a malformed, truncated, delta or non-JSON export is read in full, with the full read's outcome",
    arguments: [
      "Tests/Corpus/truncated-json-in-string", "Tests/Corpus/truncated-json-in-number",
      "Tests/Corpus/truncated-json-no-close", "Tests/Corpus/truncated-json-after-row", "Tests/Corpus/invalid-utf8",
      "Tests/Corpus/malformed-number", "Tests/Corpus/utf16-bom", "Fixtures/readers/webapi/accounts_delta.json",
      "Fixtures/readers/fetchxml",
    ])
  func fallsBack(input: String) throws {
    let folder = try TemporaryFolder()
    let outcome = try bothWays(
      previous: [FixturePath.readers("webapi/accounts_page1.json"), FixturePath.readers("webapi/accounts_page2.json")],
      current: [FixturePath.root + "/" + input], in: folder)
    #expect(outcome.fellBack)
    #expect(outcome.indexed == outcome.full)
  }

  @Test("a row whose bytes changed after indexing is not decoded as if it were the row indexed")
  func changedUnderfoot() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write("contacts.json", page("contacts", [contact(1), contact(2)]))
    let reader = WebAPIReader(path: path)
    var rows: [IndexedRow] = []
    let (_, context) = try reader.index(file: 0) { event in
      if case .row(_, let row) = event { rows.append(row) }
    }
    #expect(rows.count == 2)
    #expect(try reader.decode(rows, context: context, entity: "contact").count == 2)
    // The same length, so the row is still where the index says it is.
    try folder.write("contacts.json", page("contacts", [contact(1), contact(2, name: "Bob")]))
    #expect(throws: IndexUnavailable.self) { try reader.decode(rows, context: context, entity: "contact") }
  }
}
