import DynSync
import DynSyncArtifacts
import DynSyncCore
import DynSyncReaders
import Foundation
import Testing

@Suite("Outlines of the state's bases")
struct StateOutlineTests {
  /// A base of `records` and its outline, written as a batch writes them: the base's entry and the folder.
  static func outlined(_ records: [Record], in folder: TemporaryFolder) throws -> (
    base: Manifest.Artifact, path: String
  ) {
    let writer = try BatchWriter(target: folder.path + "/batch")
    let file = try writer.openFile("contact.ndjson")
    var outline = StateOutline.Builder(lookups: StateInPartTests.lookups, lines: records.count)
    for record in records {
      let line = StateCodec.line(record)
      outline.add(record, line: line)
      try file.write(line)
    }
    let base = try file.finish()
    try writer.write(StateOutline.path(of: "contact.ndjson"), bytes: outline.bytes(for: base))
    try writer.commit()
    return (base, folder.path + "/batch")
  }

  static func size(of path: String) throws -> Int {
    try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
  }

  @Test("an outline gives every line of its base where it lies, its id and lookups, and which lines have an escape")
  func linesAsTheBaseHasThem() throws {
    let folder = try TemporaryFolder()
    let records = StateInPartTests.variedRecords()
    let (base, batch) = try Self.outlined(records, in: folder)
    let basePath = batch + "/contact.ndjson"
    var whole: [GUID: Record] = [:]
    try StateReader.records(in: basePath) { whole[$0.id] = $0 }
    var lines: [StateReader.RecordLine] = []
    var escaped: [GUID] = []
    let read = StateOutline.read(
      at: batch + "/contact.outline", base: base, baseSize: try Self.size(of: basePath),
      lookups: StateInPartTests.lookups
    ) { line, targets in
      lines.append(
        StateReader.RecordLine(key: line.id, offset: line.offset, length: line.length, line: line.number, column: 1))
      if line.isEscaped { escaped.append(line.id) }
      #expect(
        Array(targets)
          == StateInPartTests.lookups.map { field in
            if case .lookup(let lookup) = whole[line.id]?[field] { return lookup.id }
            return nil
          })
    }
    #expect(read)
    #expect(lines.map(\.key) == records.map(\.id))
    // The lines the text's outline decodes, those with an escape.
    #expect(escaped == records.enumerated().filter { $0.offset % 6 == 0 }.map(\.element.id))
    // Each line reads back where the outline says it lies, with its line number.
    var readBack: [Record] = []
    try StateReader.records(in: basePath, at: lines) { readBack.append($0) }
    #expect(readBack.map(\.id) == records.map(\.id))
    for record in readBack {
      #expect(whole[record.id] == record)
      #expect(whole[record.id]?.origin == record.origin)
    }
  }

  @Test(
    "an outline of another base, of other lookups, cut short or out of order is not used",
    arguments: ["another digest", "another size", "other lookups", "cut short", "out of order", "a longer line"])
  func mismatchesRefused(_ mismatch: String) throws {
    let folder = try TemporaryFolder()
    let records = StateInPartTests.variedRecords()
    let (base, batch) = try Self.outlined(records, in: folder)
    let outlinePath = batch + "/contact.outline"
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: outlinePath)))
    var baseSize = try Self.size(of: batch + "/contact.ndjson")
    var lookups = StateInPartTests.lookups
    var digest = base
    let entries = bytes.count - records.count * (24 + 16 * lookups.count)
    switch mismatch {
    case "another digest":
      digest = try JSONDecoder().decode(
        Manifest.Artifact.self,
        from: Data(
          #"{"path":"contact.ndjson","sha256":"\#(String(repeating: "0", count: 64))","lines":\#(base.lines)}"#.utf8))
    case "another size": baseSize += 1
    case "other lookups": lookups.swapAt(0, 1)
    case "cut short": bytes.removeLast()
    case "out of order":
      // The first two lines' ids swapped.
      let first = Array(bytes[entries..<entries + 16])
      let second = entries + 24 + 16 * lookups.count
      bytes.replaceSubrange(entries..<entries + 16, with: bytes[second..<second + 16])
      bytes.replaceSubrange(second..<second + 16, with: first)
    default:
      // The first line's length one more: the lines no longer add up to the base.
      bytes[entries + 16] &+= 1
    }
    try Data(bytes).write(to: URL(fileURLWithPath: outlinePath))
    var handed = 0
    let read = StateOutline.read(at: outlinePath, base: digest, baseSize: baseSize, lookups: lookups) { _, _ in
      handed += 1
    }
    #expect(!read)
    let headOnly = ["another digest", "another size", "other lookups", "cut short"].contains(mismatch)
    #expect(StateOutline.matches(at: outlinePath, base: digest, baseSize: baseSize, lookups: lookups) == !headOnly)
  }

  /// The exports of a small org, one after another.
  static func exports(in folder: TemporaryFolder) throws -> [String] {
    let mutations: [OrgGenerator.Mutation?] = [nil, .init(), .init(creates: 0.03, updates: 0.1, deletes: 0.02)]
    return try mutations.enumerated().map { position, mutation in
      let path = folder.path + "/export-\(position)"
      try GeneratedExport(generator: OrgGenerator(records: 900, seed: 5, mutation: mutation), format: .webAPI)
        .write(to: path)
      return path
    }
  }

  static let contactOutline = "state/dynamics/contact.outline"

  @Test("a base's outline goes where the base goes, whether the run read the base from it or whole")
  func outlineGoesWithItsBase() throws {
    let folder = try TemporaryFolder()
    let exports = try Self.exports(in: folder)
    for readsWhole in [false, true] {
      let workspace = Workspace(root: folder.path + "/ws-\(readsWhole)")
      for export in exports.prefix(2) {
        var job = SyncJob(workspace: workspace, exports: [export])
        job.readsDynamicsStateWhole = readsWhole
        _ = try job.run()
      }
      let first = workspace.batchFolder(1) + "/" + Self.contactOutline
      let second = workspace.batchFolder(2) + "/" + Self.contactOutline
      func inode(_ path: String) throws -> Int? {
        try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
      }
      #expect(try inode(first) == inode(second), "read whole: \(readsWhole)")
      #expect(try batchText(workspace.batchFolder(2))["manifest.json"]?.contains(Self.contactOutline) == true)
    }
  }

  @Test("an outline that does not match its base costs the next run its shortcut, not its outcome")
  func brokenOutline() throws {
    let folder = try TemporaryFolder()
    let exports = try Self.exports(in: folder)
    let intact = Workspace(root: folder.path + "/intact")
    let broken = Workspace(root: folder.path + "/broken")
    for (run, export) in exports.enumerated() {
      for workspace in [intact, broken] { _ = try SyncJob(workspace: workspace, exports: [export]).run() }
      guard run == 0 else { continue }
      // The first line's length one more: the outline's lines no longer add up to the base.
      let path = broken.batchFolder(1) + "/" + Self.contactOutline
      var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
      let contacts = try #require(intact.latestState().state.dynamics.tables["contact"]).records.count
      let entry = bytes.count - contacts * 72
      bytes[entry + 16] &+= 1
      try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
    // The broken outline is not carried on, and the runs after it write the batches of the intact workspace.
    #expect(!FileManager.default.fileExists(atPath: broken.batchFolder(2) + "/" + Self.contactOutline))
    for batch in 2...3 {
      let expected = try batchText(intact.batchFolder(batch), leavingOut: Self.contactOutline)
      let actual = try batchText(broken.batchFolder(batch), leavingOut: Self.contactOutline)
      let differing = Set(expected.keys).union(actual.keys).filter { expected[$0] != actual[$0] }.sorted()
      #expect(differing.isEmpty, "batch \(batch): \(differing)")
    }
  }
}
