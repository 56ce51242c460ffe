import DynSync
import Foundation
import Testing

@Suite("Outputs stay safe under hostile names and failing disks")
struct HostileOutputTests {
  @Test("a table named to climb out of the batch folder is written inside it, encoded")
  func traversalInTableName() throws {
    let folder = try TemporaryFolder()
    try folder.write(
      "export/data_schema.xml",
      #"<entities><entity name="../../evil" primaryidfield="evilid"><fields><field name="evilid" type="guid"/><field name="name" type="string"/></fields></entity></entities>"#
    )
    try folder.write(
      "export/data.xml",
      #"<entities><entity name="../../evil"><records><record id="aaaa0001-0001-ef11-8409-000d3a8f1a01"><field name="name" value="x"/></record></records></entity></entities>"#
    )
    guard
      case .batch(_, let path, _, _) = try SyncJob(
        workspace: Workspace(root: folder.path + "/ws"), exports: [folder.path + "/export"]
      ).run()
    else {
      Issue.record("no batch")
      return
    }
    let changes = try FileManager.default.contentsOfDirectory(atPath: path + "/changes")
    #expect(changes == ["%2E%2E%2F%2E%2E%2Fevil.ndjson"])
    #expect(!FileManager.default.fileExists(atPath: folder.path + "/evil.ndjson"))
    #expect(!FileManager.default.fileExists(atPath: folder.path + "/ws/evil.ndjson"))
  }

  @Test("a write error (file size limit, as on a full disk) leaves the previous batch and a clear message")
  func writeError() throws {
    let folder = try TemporaryFolder()
    let workspace = folder.path + "/ws"
    _ = try SyncJob(workspace: Workspace(root: workspace), exports: [FixturePath.sample("contoso/01-initial/webapi")])
      .run()
    // Files may not grow past 2 KB: the next batch writes only what changed, but its manifest is larger than that.
    let command =
      "trap '' XFSZ; ulimit -f 2; exec '\(dynsyncExecutable().path)' sync --quiet --workspace '\(workspace)' '\(FixturePath.sample("contoso/02-next/webapi"))'"
    let (status, _, message) = try runProgram(URL(fileURLWithPath: "/bin/bash"), ["-c", command])
    #expect(status == 2)
    #expect(message.hasPrefix("dynsync: error: "))
    #expect(message.contains("write failed: File too large"), "\(message)")
    #expect(try Workspace(root: workspace).batchNumbers() == [1])
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: workspace + "/batches").filter { $0.hasPrefix(".") }.isEmpty)
  }
}
