import DynSync
import Foundation
import Testing

@Suite("dynsync sync on a workspace")
struct SyncJobTests {
  static let initial = [FixturePath.sample("contoso/01-initial/webapi")]
  static let next = [FixturePath.sample("contoso/02-next/webapi")]

  func sync(_ workspace: String, _ exports: [String], allowMassDelete: Bool = false) throws -> SyncJob.Outcome {
    try SyncJob(workspace: Workspace(root: workspace), exports: exports, allowMassDelete: allowMassDelete).run()
  }

  @Test("three exports in a row: the initial sync, an incremental one, the same export again")
  func threeRuns() throws {
    let folder = try TemporaryFolder()
    let workspace = folder.path + "/ws"

    guard case .batch(1, _, let first, let firstManifest) = try sync(workspace, Self.initial) else {
      Issue.record("the initial sync wrote no batch 1")
      return
    }
    #expect(first.totals.created == 274 && first.totals.updated == 0 && first.totals.deleted == 0)
    #expect(firstManifest.previousBatch == nil)
    let initialPersons = try String(
      contentsOfFile: workspace + "/batches/000001/marketo/persons-001.csv", encoding: .utf8)
    // 90 contacts less 6 with the filter No, 70 leads less 4.
    #expect(initialPersons.split(separator: "\r\n").count == 1 + 150, "every synced lead and contact is imported")

    guard case .batch(2, _, let second, let secondManifest) = try sync(workspace, Self.next) else {
      Issue.record("the incremental sync wrote no batch 2")
      return
    }
    #expect(secondManifest.previousBatch == 1)
    let counts = Dictionary(uniqueKeysWithValues: second.tables.map { ($0.entity, $0.counts) })
    #expect(counts["account"]?.created == 3 && counts["account"]?.updated == 2)
    #expect(counts["contact"]?.created == 1 && counts["contact"]?.updated == 7 && counts["contact"]?.deleted == 1)
    #expect(counts["lead"]?.deleted == 2)
    let persons = try String(contentsOfFile: workspace + "/batches/000002/marketo/persons-001.csv", encoding: .utf8)
      .split(separator: "\r\n")
    #expect(persons.count > 1 && persons.count < 40, "a later batch carries only the persons that changed")

    guard case .unchanged(latest: 2) = try sync(workspace, Self.next) else {
      Issue.record("the same export again wrote a batch")
      return
    }
    #expect(try Workspace(root: workspace).batchNumbers() == [1, 2])
  }

  @Test("a workspace inside the export folder is not read as part of the export", arguments: ["ws", "nested/ws"])
  func workspaceInsideExport(relative: String) throws {
    let folder = try TemporaryFolder()
    let export = folder.path + "/export"
    try FileManager.default.copyItem(atPath: Self.initial[0], toPath: export)
    // A hidden folder (as a batch being staged is) is no part of an export either.
    try FileManager.default.createDirectory(atPath: export + "/.partial", withIntermediateDirectories: false)
    try #"{"value":[]}"#.write(toFile: export + "/.partial/manifest.json", atomically: false, encoding: .utf8)
    let workspace = export + "/" + relative
    guard case .batch(1, _, let first, _) = try sync(workspace, [export]) else {
      Issue.record("the initial sync wrote no batch 1")
      return
    }
    #expect(first.totals.created == 274)
    guard case .unchanged(latest: 1) = try sync(workspace, [export]) else {
      Issue.record("the same export again, its workspace inside it, wrote a batch or failed")
      return
    }
  }

  @Test("a later run builds only the rows its changes reach, and gives what building every row gives")
  func scopedMerge() throws {
    let folder = try TemporaryFolder()
    let scoped = Workspace(root: folder.path + "/scoped")
    let full = Workspace(root: folder.path + "/full")
    for workspace in [scoped, full] { _ = try sync(workspace.root, Self.initial) }
    #expect(try scoped.latestState().state.merge == MergeSettings(mapping: .standard))
    // A state without its settings (as written before dynsync kept them) has every row built again.
    try FileManager.default.removeItem(atPath: full.mergeSettingsFile(of: 1))
    #expect(try full.latestState().state.merge == nil)
    for workspace in [scoped, full] { _ = try sync(workspace.root, Self.next) }
    let marketo = ["/marketo", "/state/marketo"]
    for path in marketo {
      #expect(
        try DiffJobTests.contents(of: scoped.batchFolder(2) + path)
          == DiffJobTests.contents(of: full.batchFolder(2) + path))
    }
  }

  @Test("another mapping builds every row again")
  func mappingChange() throws {
    let folder = try TemporaryFolder()
    let workspace = Workspace(root: folder.path + "/ws")
    _ = try sync(workspace.root, Self.initial)
    let renamed = FieldMapping.standard.overlaid(
      with: FieldMapping(entities: ["contact": [FieldMapping.Field(dynamics: "lastname", marketo: "surname")]]))
    _ = try SyncJob(workspace: workspace, exports: Self.next, mapping: renamed).run()
    let persons = try String(contentsOfFile: workspace.batchFolder(2) + "/marketo/persons-001.csv", encoding: .utf8)
    #expect(persons.split(separator: "\r\n").count > 80, "every contact's person changed")
    #expect(try workspace.latestState().state.merge == MergeSettings(mapping: renamed))
  }

  @Test("only the newest batches keep their state")
  func pruning() throws {
    let folder = try TemporaryFolder()
    let workspace = folder.path + "/ws"
    let delta = try folder.write(
      "delta/contacts.json",
      #"{"@odata.context":"https://x/api/data/v9.2/$metadata#contacts/$delta","value":[{"jobtitle":"Chief Buyer","contactid":"0000cccc-0000-0000-0000-000000000001"}]}"#
    )
    for exports in [Self.initial, Self.next, [delta]] {
      _ = try SyncJob(workspace: Workspace(root: workspace), exports: exports, keptStates: 2).run()
    }
    let batches = Workspace(root: workspace)
    #expect(try batches.batchNumbers() == [1, 2, 3])
    #expect(!FileManager.default.fileExists(atPath: batches.batchFolder(1) + "/state"))
    #expect(FileManager.default.fileExists(atPath: batches.batchFolder(1) + "/changes/account.ndjson"))
    #expect(FileManager.default.fileExists(atPath: batches.batchFolder(2) + "/state"))
    #expect(try batches.latestState().state.dynamics.tables["contact"]?.records.count == 90)
  }

  @Test("a delta export is laid over the state")
  func deltaExport() throws {
    let folder = try TemporaryFolder()
    let workspace = folder.path + "/ws"
    _ = try sync(workspace, Self.initial)
    let delta = try folder.write(
      "delta/contacts.json",
      """
      {"@odata.context":"https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#contacts/$delta",
       "@odata.deltaLink":"https://contoso.crm.dynamics.com/api/data/v9.2/contacts?$deltatoken=1",
       "value":[
        {"jobtitle":"Chief Buyer","contactid":"0000cccc-0000-0000-0000-000000000001"},
        {"@odata.context":"https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#contacts/$deletedEntity","id":"0000cccc-0000-0000-0000-000000000002","reason":"deleted"}
       ]}
      """)
    guard case .batch(2, _, let diff, _) = try sync(workspace, [delta]) else {
      Issue.record("the delta wrote no batch")
      return
    }
    let contact = try #require(diff.tables.first { $0.entity == "contact" })
    #expect(contact.counts.updated == 1 && contact.counts.deleted == 1 && contact.counts.created == 0)
    #expect(
      contact.changes.first { $0.operation == .update }?.after?["lastname"] == .string("Moreau"),
      "columns the delta lacks are kept")
    let state = try Workspace(root: workspace).latestState().state
    #expect(state.dynamics.tables["contact"]?.records.count == 89)
    #expect(state.dynamics.tables["account"]?.records.count == 40, "tables the delta does not hold stay")
    let deleted = try #require(
      state.marketo.persons.rows.values.first { $0["msftId"] == .string("0000cccc-0000-0000-0000-000000000002") })
    #expect(deleted["msftIsDeleted"] == .boolean(true))
  }

  @Test("a full export missing more than 20% of a table is refused unless allowed")
  func massDeleteGuard() throws {
    let folder = try TemporaryFolder()
    let workspace = folder.path + "/ws"
    _ = try sync(workspace, Self.initial)
    let truncated = try folder.write(
      "truncated/leads.json",
      #"{"@odata.context":"https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#leads","value":[{"lastname":"Only","leadid":"00001d2c-0000-0000-0000-000000000001"}]}"#
    )
    #expect {
      _ = try sync(workspace, [truncated])
    } throws: { error in
      let refused = try #require(error as? MassDeleteRefused)
      return refused.tables.map(\.entity) == ["lead"] && refused.description.contains("69 of 70 records")
        && refused.description.contains("--allow-mass-delete")
    }
    #expect(try Workspace(root: workspace).batchNumbers() == [1], "nothing was written")
    guard case .batch(2, _, let diff, _) = try sync(workspace, [truncated], allowMassDelete: true) else {
      Issue.record("the allowed run wrote no batch")
      return
    }
    #expect(diff.totals.deleted == 69)
  }

  @Test(
    "a sync killed at any point converges: the rerun writes the same batch as an uninterrupted run",
    arguments: [
      "crash-after-records:1", "crash-after-records:150", "crash-after-files:1", "crash-after-files:9",
      "crash-after-files:20", "crash-before-commit",
    ])
  func crashInjection(fault: String) throws {
    let folder = try TemporaryFolder()
    let clean = folder.path + "/clean"
    let crashed = folder.path + "/crashed"
    for workspace in [clean, crashed] { _ = try sync(workspace, Self.initial) }
    _ = try sync(clean, Self.next)

    let arguments = ["sync", "--quiet", "--workspace", crashed] + Self.next
    #expect(try runDynsync(arguments, environment: ["DYNSYNC_FAULT": fault]) == 137)
    #expect(try Workspace(root: crashed).batchNumbers() == [1], "the killed run left no batch")
    #expect(try runDynsync(arguments) == 0)
    #expect(try Workspace(root: crashed).batchNumbers() == [1, 2])
    #expect(
      try DiffJobTests.contents(of: crashed + "/batches/000002") == DiffJobTests.contents(of: clean + "/batches/000002")
    )
    let hidden = try FileManager.default.contentsOfDirectory(atPath: crashed + "/batches").filter { $0.hasPrefix(".") }
    #expect(hidden.isEmpty, "staging left by the killed run is swept")
  }

  @Test("status and history read the workspace")
  func statusAndHistory() throws {
    let folder = try TemporaryFolder()
    let workspace = folder.path + "/ws"
    _ = try sync(workspace, Self.initial)
    _ = try sync(workspace, Self.next)
    let report = try WorkspaceReport(workspace: Workspace(root: workspace))
    #expect(report.batches.map(\.batch) == [1, 2])
    #expect(report.status.latestBatch == 2)
    #expect(report.status.stateRecords["account"] == 43)
    #expect(report.status.persons == 151)
    #expect(report.statusText.contains("latest batch 000002 (of 2)"))
    #expect(report.historyText.split(separator: "\n").count == 2)
  }
}
