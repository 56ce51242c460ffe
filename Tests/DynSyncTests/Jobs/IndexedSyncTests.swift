import DynSync
import DynSyncCore
import Foundation
import Testing

@Suite("sync with the export indexed")
struct IndexedSyncTests {
  /// Four exports of a generated org, each changed from the one before; the last is the first again, so that rows
  /// changed in between go back to the bytes they had.
  static func exports(_ format: ExportFormat, in folder: TemporaryFolder) throws -> [String] {
    let mutations: [OrgGenerator.Mutation?] = [nil, .init(), .init(creates: 0.03, updates: 0.1, deletes: 0.02), nil]
    return try mutations.enumerated().map { position, mutation in
      let path = folder.path + "/export-\(position)"
      try GeneratedExport(generator: OrgGenerator(records: 800, seed: 11, mutation: mutation), format: format)
        .write(to: path)
      return path
    }
  }

  /// Syncs the exports in order into a new workspace, each run indexed or read in full as `inFull` says, the export of
  /// an indexed run indexed in parts of `indexPartSize` where it can be cut, and its rows read again in pieces of
  /// `rowsPerPiece`, the digests of files unchanged for `laterDigestAge` worked out after the index pass.
  static func sync(
    _ exports: [String], into workspace: String, inFull: [Bool], indexPartSize: Int? = nil, rowsPerPiece: Int = 1_024,
    laterDigestAge: Duration? = nil, progress: some ProgressObserver
  ) throws -> [[String: String]] {
    try zip(exports, inFull).map { export, inFull in
      var job = SyncJob(workspace: Workspace(root: workspace), exports: [export])
      job.readInFull = inFull
      job.readOptions.indexPartSize = indexPartSize
      if let laterDigestAge { job.readOptions.laterDigestAge = laterDigestAge }
      job.rowsReadAgainPerPiece = rowsPerPiece
      guard case .batch(_, let path, _, _) = try job.run(progress: progress) else {
        Issue.record("a run wrote no batch")
        return [:]
      }
      // Only an indexed run writes the rows' fingerprints.
      return try batchText(path, leavingOut: "state/fingerprints/")
    }
  }

  @Test(
    "a generated org synced four times gives the batches reading every export in full gives",
    arguments: ExportFormat.allCases.filter { $0 != .marketoChanges })
  func generated(format: ExportFormat) throws {
    let folder = try TemporaryFolder()
    let exports = try Self.exports(format, in: folder)
    let recorder = ProgressRecorder()
    let indexed = try Self.sync(
      exports, into: folder.path + "/indexed", inFull: [false, false, false, false], progress: recorder)
    #expect(!recorder.fellBack)
    let full = try Self.sync(
      exports, into: folder.path + "/full", inFull: [true, true, true, true], progress: SilentProgress())
    // A CMT export indexed in parts of 4 KB, and rows read again in pieces of seven, each a piece of work of its own:
    // every row is indexed and read again, once.
    let pieces = try Self.sync(
      exports, into: folder.path + "/pieces", inFull: [false, false, false, false], indexPartSize: 4_096,
      rowsPerPiece: 7, progress: SilentProgress())
    // Every file digested after the index pass (the exports are too fresh for a sync to leave them for later).
    let digestedLater = try Self.sync(
      exports, into: folder.path + "/later", inFull: [false, false, false, false], laterDigestAge: .zero,
      progress: SilentProgress())
    // A run in full leaves no fingerprints: the next indexed run reads every row again, with the same outcome.
    let mixed = try Self.sync(
      exports, into: folder.path + "/mixed", inFull: [false, true, false, false], progress: SilentProgress())
    func differing(_ batch: [String: String], _ expected: [String: String]) -> [String] {
      Set(batch.keys).union(expected.keys).filter { batch[$0] != expected[$0] }.sorted()
    }
    for run in 0..<4 {
      #expect(differing(indexed[run], full[run]).isEmpty, "run \(run + 1) indexed")
      #expect(differing(mixed[run], full[run]).isEmpty, "run \(run + 1) mixed")
      #expect(differing(pieces[run], full[run]).isEmpty, "run \(run + 1) in pieces")
      #expect(differing(digestedLater[run], full[run]).isEmpty, "run \(run + 1) digested later")
    }
    #expect(indexed[1]["state/merge.json"] != nil && indexed[1].count > 10)
  }

  @Test("after a change-tracking page, a full export gives the batch reading every export in full gives")
  func fullExportAfterDelta() throws {
    let folder = try TemporaryFolder()
    let exports = try Self.exports(.webAPI, in: folder)
    var batches: [Bool: [[String: String]]] = [:]
    for inFull in [false, true] {
      let workspace = Workspace(root: folder.path + (inFull ? "/full" : "/indexed"))
      var runs = [exports[0], exports[1], "", exports[1]]
      for run in runs.indices {
        if run == 2 {
          // One contact changed and one deleted: the export after it has them as they were.
          let contacts = try #require(workspace.latestState().state.dynamics.tables["contact"]?.records.keys.sorted())
          let context = "https://x/api/data/v9.2/$metadata#contacts"
          runs[run] = try folder.write(
            "delta/contacts.json",
            #"{"@odata.context":"\#(context)/$delta","value":[{"jobtitle":"Chief Buyer","contactid":"\#(contacts[0])"},"#
              + #"{"@odata.context":"\#(context)/$deletedEntity","id":"\#(contacts[1])","reason":"deleted"}]}"#)
        }
        var job = SyncJob(workspace: workspace, exports: [runs[run]])
        job.readInFull = inFull
        guard case .batch(_, let path, _, _) = try job.run() else {
          Issue.record("run \(run + 1) wrote no batch")
          continue
        }
        batches[inFull, default: []].append(try batchText(path, leavingOut: "state/fingerprints/"))
      }
      if !inFull {
        // The contacts the page did not name keep their fingerprints; those it named have none.
        let state = try workspace.state(of: 3)
        let kept = try #require(state.fingerprints.tables["contact"])
        let contacts = try #require(state.dynamics.tables["contact"]?.records.keys.sorted())
        #expect(kept.rows.count == contacts.count - 1)
      }
    }
    let indexed = try #require(batches[false])
    let full = try #require(batches[true])
    #expect(indexed.count == 4 && full.count == 4)
    for (run, (batch, expected)) in zip(indexed, full).enumerated() {
      let differing = Set(batch.keys).union(expected.keys).filter { batch[$0] != expected[$0] }.sorted()
      #expect(differing.isEmpty, "run \(run + 1): \(differing)")
    }
  }

  @Test("the fingerprints a state keeps read back as written")
  func fingerprintsRoundTrip() throws {
    let folder = try TemporaryFolder()
    let exports = try Self.exports(.webAPI, in: folder)
    _ = try Self.sync(
      Array(exports.prefix(1)), into: folder.path + "/ws", inFull: [false], progress: SilentProgress())
    let state = try Workspace(root: folder.path + "/ws").latestState().state
    let contacts = try #require(state.fingerprints.tables["contact"])
    #expect(contacts.rows.count == state.dynamics.tables["contact"]?.records.count)
    #expect(contacts.rows.map(\.id) == contacts.rows.map(\.id).sorted())
    #expect(contacts.context.hasPrefix("webapi "))
  }

  @Test("fingerprints laid as overlays over the base before read back as the fingerprints written whole")
  func fingerprintOverlays() throws {
    let folder = try TemporaryFolder()
    let exports = try Self.exports(.webAPI, in: folder)
    let workspace = Workspace(root: folder.path + "/ws")
    var overlays = 0
    for (run, export) in exports.enumerated() {
      guard case .batch(_, let path, _, _) = try SyncJob(workspace: workspace, exports: [export]).run() else {
        Issue.record("run \(run + 1) wrote no batch")
        continue
      }
      if FileManager.default.fileExists(atPath: path + "/state/fingerprints/contact.overlay.txt") { overlays += 1 }
      let alone = Workspace(root: folder.path + "/alone-\(run)")
      _ = try SyncJob(workspace: alone, exports: [export]).run()
      let laid = try workspace.latestState().state.fingerprints
      let whole = try alone.latestState().state.fingerprints
      #expect(!whole.tables.isEmpty)
      let differing = Set(laid.tables.keys).union(whole.tables.keys).filter { laid.tables[$0] != whole.tables[$0] }
      #expect(differing.isEmpty, "run \(run + 1): the fingerprints of \(differing.sorted()) differ")
    }
    #expect(overlays > 0, "no run laid an overlay")
  }

  @Test("a fingerprint overlay that does not read back costs the next run its shortcut, not its outcome")
  func brokenFingerprintOverlay() throws {
    let folder = try TemporaryFolder()
    let exports = try Self.exports(.webAPI, in: folder)
    let broken = Workspace(root: folder.path + "/broken")
    for export in exports.prefix(2) { _ = try SyncJob(workspace: broken, exports: [export]).run() }
    let overlay = broken.batchFolder(2) + "/state/fingerprints/contact.overlay.txt"
    #expect(FileManager.default.fileExists(atPath: overlay))
    try "not a fingerprint\n".write(toFile: overlay, atomically: false, encoding: .utf8)
    #expect(try broken.latestState().state.fingerprints.tables["contact"] == nil)
    guard case .batch(_, let path, _, _) = try SyncJob(workspace: broken, exports: [exports[2]]).run() else {
      Issue.record("the run after the broken overlay wrote no batch")
      return
    }
    let whole = try Self.sync(
      Array(exports.prefix(3)), into: folder.path + "/whole", inFull: [false, false, false], progress: SilentProgress())
    let batch = try batchText(path, leavingOut: "state/fingerprints/")
    let differing = Set(batch.keys).union(whole[2].keys).filter { batch[$0] != whole[2][$0] }.sorted()
    #expect(differing.isEmpty, "\(differing)")
    // The table's fingerprints are written whole again, a base for the runs after.
    #expect(!FileManager.default.fileExists(atPath: path + "/state/fingerprints/contact.overlay.txt"))
    #expect(try broken.latestState().state.fingerprints.tables["contact"]?.rows.isEmpty == false)
  }

  @Test("rows exported byte for byte as before are decoded again when the CMT schema that types them changed")
  func schemaChange() throws {
    let folder = try TemporaryFolder()
    func schema(_ employeesType: String) -> String {
      """
      <entities><entity name="contact" primaryidfield="contactid"><fields>
      <field name="contactid" type="guid" primaryKey="true" /><field name="lastname" type="string" />
      <field name="numberofemployees" type="\(employeesType)" />
      </fields></entity></entities>
      """
    }
    let data = """
      <entities><entity name="contact"><records>
      <record id="00000001-0000-4000-8000-000000000000"><field name="contactid" value="00000001-0000-4000-8000-000000000000" /><field name="lastname" value="Ruiz" /><field name="numberofemployees" value="42" /></record>
      </records><m2mrelationships /></entity></entities>
      """
    for (name, type) in [("first", "number"), ("second", "string")] {
      try folder.write(name + "/data_schema.xml", schema(type))
      try folder.write(name + "/data.xml", data)
    }
    let exports = [folder.path + "/first", folder.path + "/second"]
    let indexed = try Self.sync(
      exports, into: folder.path + "/indexed", inFull: [false, false], progress: SilentProgress())
    let full = try Self.sync(exports, into: folder.path + "/full", inFull: [true, true], progress: SilentProgress())
    #expect(indexed == full)
    #expect(indexed.last?["changes/contact.ndjson"]?.contains("numberofemployees") == true)
  }
}
