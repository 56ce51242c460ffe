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
    var outline = StateOutline.Builder<GUID>(columns: StateInPartTests.lookups, lines: records.count)
    for record in records {
      let line = StateCodec.line(record)
      line.withUTF8Bytes {
        outline.add(record.id, line: $0, ids: StateInPartTests.lookups.map { Self.lookupID(record, $0) })
      }
      try file.write(line)
    }
    let base = try file.finish()
    try writer.write(StateOutline.path(of: "contact.ndjson"), bytes: outline.bytes(for: base))
    try writer.commit()
    return (base, folder.path + "/batch")
  }

  static func lookupID(_ record: Record?, _ field: String) -> GUID? {
    if case .lookup(let lookup) = record?[field] { return lookup.id }
    return nil
  }

  /// Where the first line of an outline with these columns starts: past its magic, the base's digest, size and
  /// line count, the kind of key and the columns.
  static func firstLine(columns: [String]) -> Int {
    16 + 64 + 8 + 8 + 4 + 4 + columns.map { 4 + $0.utf8.count }.reduce(0, +)
  }

  /// Swaps the ids of an outline's first two lines (of id keys), which leaves them out of order.
  static func swapFirstTwoIDs(in bytes: inout [UInt8], columns: [String]) {
    let entries = firstLine(columns: columns)
    let first = Array(bytes[entries..<entries + 16])
    let flags = bytes[entries + 20..<entries + 24].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    let second = entries + 24 + 16 * (UInt32(littleEndian: flags) & ~(1 << 31)).nonzeroBitCount
    bytes.replaceSubrange(entries..<entries + 16, with: bytes[second..<second + 16])
    bytes.replaceSubrange(second..<second + 16, with: first)
  }

  /// A line of an outline and its ids as text, to compare two reads of it.
  static func text(_ line: StateOutline.Line<GUID>, _ ids: UnsafeBufferPointer<GUID?>) -> String {
    "\(line.key) \(line.offset) \(line.length) \(line.number) \(line.isEscaped) \(Array(ids))"
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
      columns: StateInPartTests.lookups
    ) { (line: StateOutline.Line<GUID>, targets) in
      lines.append(
        StateReader.RecordLine(key: line.key, offset: line.offset, length: line.length, line: line.number, column: 1))
      if line.isEscaped { escaped.append(line.key) }
      #expect(Array(targets) == StateInPartTests.lookups.map { Self.lookupID(whole[line.key], $0) })
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

  @Test("an outline of Marketo rows gives each line's key, where it lies, and the ids its row and key name")
  func marketoLines() throws {
    let folder = try TemporaryFolder()
    let path = try StateInPartTests.stateFile(folder, StateInPartTests.variedLines())
    var rows: [(key: String, row: MarketoRow)] = []
    try StateReader.marketoRows(in: path) { rows.append(($0, $1)) }
    let writer = try BatchWriter(target: folder.path + "/batch")
    let file = try writer.openFile("persons.ndjson")
    var outline = StateOutline.Builder<String>(columns: StateOutline.marketoColumns, lines: rows.count)
    func ids(_ key: String, _ row: MarketoRow) -> [GUID?] {
      MarketoMerge.rowIDFields.map { row[$0]?.namedID } + [GUID(key)]
    }
    for (key, row) in rows {
      let line = StateCodec.line(key: key, row: row)
      line.withUTF8Bytes { outline.add(key, line: $0, ids: ids(key, row)) }
      try file.write(line)
    }
    let base = try file.finish()
    try writer.write("persons.outline", bytes: outline.bytes(for: base))
    try writer.commit()
    var lines: [StateReader.MarketoLine] = []
    let read = StateOutline.read(
      at: folder.path + "/batch/persons.outline", base: base,
      baseSize: try Self.size(of: folder.path + "/batch/persons.ndjson"),
      columns: StateOutline.marketoColumns
    ) { (line: StateOutline.Line<String>, rowIDs) in
      lines.append(
        StateReader.MarketoLine(key: line.key, offset: line.offset, length: line.length, line: line.number, column: 1))
      #expect(Array(rowIDs) == rows.first { $0.key == line.key }.map { ids($0.key, $0.row) })
    }
    #expect(read)
    #expect(lines.map(\.key) == rows.map(\.key))
    #expect(rows.contains { ids($0.key, $0.row).contains { $0 != nil } })
    var readBack: [(String, MarketoRow)] = []
    try StateReader.marketoRows(in: folder.path + "/batch/persons.ndjson", at: lines) { readBack.append(($0, $1)) }
    #expect(readBack.map(\.0) == rows.map(\.key))
    #expect(readBack.map(\.1) == rows.map(\.row))
  }

  @Test("an outline read in runs gives every line as it does read at once, and runs out of order refuse it")
  func readInRuns() throws {
    let folder = try TemporaryFolder()
    let records = StateInPartTests.variedRecords()
    let (base, batch) = try Self.outlined(records, in: folder)
    let outlinePath = batch + "/contact.outline"
    let baseSize = try Self.size(of: batch + "/contact.ndjson")
    let lookups = StateInPartTests.lookups
    var atOnce: [String] = []
    #expect(
      StateOutline.read(at: outlinePath, base: base, baseSize: baseSize, columns: lookups) {
        (line: StateOutline.Line<GUID>, ids) in
        atOnce.append(Self.text(line, ids))
      })
    let runs = try #require(
      StateOutline.Runs<GUID>(at: outlinePath, base: base, baseSize: baseSize, columns: lookups, linesPerRun: 4))
    #expect(runs.count == (records.count + 3) / 4)
    #expect((0..<runs.count).map(runs.lines(inRun:)).reduce(0, +) == records.count)
    var inRuns: [String] = []
    // Read the last first, as cores may: each run knows where its lines start.
    var bounds = [(first: GUID, last: GUID)?](repeating: nil, count: runs.count)
    for run in (0..<runs.count).reversed() {
      var lines: [String] = []
      bounds[run] = runs.read(run: run) { line, ids in
        lines.append(Self.text(line, ids))
      }
      inRuns.insert(contentsOf: lines, at: 0)
    }
    #expect(inRuns == atOnce)
    #expect(StateOutline.Runs<GUID>.inOrder(bounds))
    #expect(!StateOutline.Runs<GUID>.inOrder(bounds.reversed()))
    #expect(!StateOutline.Runs<GUID>.inOrder(bounds + [nil]))
    // The first two lines' ids swapped, each line a run of its own: every run is in order, the runs are not.
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: outlinePath)))
    Self.swapFirstTwoIDs(in: &bytes, columns: lookups)
    try Data(bytes).write(to: URL(fileURLWithPath: outlinePath))
    let single = try #require(
      StateOutline.Runs<GUID>(at: outlinePath, base: base, baseSize: baseSize, columns: lookups, linesPerRun: 1))
    let singleBounds = (0..<single.count).map { single.read(run: $0) { _, _ in } }
    #expect(singleBounds.allSatisfy { $0 != nil })
    #expect(!StateOutline.Runs<GUID>.inOrder(singleBounds))
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
    let entries = Self.firstLine(columns: lookups)
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
      Self.swapFirstTwoIDs(in: &bytes, columns: lookups)
    default:
      // The first line's length one more: the lines no longer add up to the base.
      bytes[entries + 16] &+= 1
    }
    try Data(bytes).write(to: URL(fileURLWithPath: outlinePath))
    let read = StateOutline.read(at: outlinePath, base: digest, baseSize: baseSize, columns: lookups) {
      (_: StateOutline.Line<GUID>, _) in
    }
    #expect(!read)
    // Its head alone tells the first three, not the others.
    let head = ["another digest", "another size", "other lookups"].contains(mismatch)
    #expect(
      StateOutline.matches(at: outlinePath, base: digest, baseSize: baseSize, key: GUID.self, columns: lookups)
        == !head)
    #expect(
      !StateOutline.matches(
        at: outlinePath, base: digest, baseSize: baseSize, key: String.self, columns: lookups))
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
  static let personsOutline = "state/marketo/persons.outline"

  @Test("a base's outline goes where the base goes, whether the run read the base from it or whole")
  func outlineGoesWithItsBase() throws {
    let folder = try TemporaryFolder()
    let exports = try Self.exports(in: folder)
    for readsWhole in [false, true] {
      let workspace = Workspace(root: folder.path + "/ws-\(readsWhole)")
      for export in exports.prefix(2) {
        var job = SyncJob(workspace: workspace, exports: [export])
        job.readsDynamicsStateWhole = readsWhole
        job.readsMarketoStateWhole = readsWhole
        _ = try job.run()
      }
      func inode(_ path: String) throws -> Int? {
        try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
      }
      for outline in [Self.contactOutline, Self.personsOutline] {
        let first = workspace.batchFolder(1) + "/" + outline
        let second = workspace.batchFolder(2) + "/" + outline
        #expect(try inode(first) == inode(second), "\(outline), read whole: \(readsWhole)")
        #expect(try batchText(workspace.batchFolder(2))["manifest.json"]?.contains(outline) == true)
      }
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
      let entry = Self.firstLine(columns: MergeScope.partialTables["contact"] ?? [])
      bytes[entry + 16] &+= 1
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      // The persons' outline cut short by a byte.
      let persons = broken.batchFolder(1) + "/" + Self.personsOutline
      try Data(try Data(contentsOf: URL(fileURLWithPath: persons)).dropLast()).write(to: URL(fileURLWithPath: persons))
    }
    // The broken outlines are not carried on, and the runs after them write the batches of the intact workspace.
    for outline in [Self.contactOutline, Self.personsOutline] {
      #expect(FileManager.default.fileExists(atPath: intact.batchFolder(2) + "/" + outline))
      #expect(!FileManager.default.fileExists(atPath: broken.batchFolder(2) + "/" + outline))
    }
    for batch in 2...3 {
      let expected = try batchText(intact.batchFolder(batch), leavingOut: Self.contactOutline, Self.personsOutline)
      let actual = try batchText(broken.batchFolder(batch), leavingOut: Self.contactOutline, Self.personsOutline)
      let differing = Set(expected.keys).union(actual.keys).filter { expected[$0] != actual[$0] }.sorted()
      #expect(differing.isEmpty, "batch \(batch): \(differing)")
    }
  }
}
