import Foundation
import Testing

@testable import DynSync

@Suite("Synthetic orgs and the benchmark")
struct GeneratorTests {
  @Test("a generated org reads back in every format without a reject, the same in each")
  func formats() throws {
    let folder = try TemporaryFolder()
    let generator = OrgGenerator(records: 1_500, seed: 3)
    var snapshots: [Snapshot] = []
    for format in [ExportFormat.webAPI, .fetchXML, .configurationMigration] {
      let path = folder.path + "/" + format.rawValue
      try GeneratedExport(generator: generator, format: format).write(to: path)
      let snapshot = try loadSnapshot(from: [path])
      #expect(snapshot.isComplete && snapshot.rejects.isEmpty, "\(format)")
      snapshots.append(snapshot)
    }
    let reference = snapshots[0]
    #expect(reference.tables.values.map(\.records.count).reduce(0, +) >= 1_500)
    for snapshot in snapshots.dropFirst() {
      #expect(!Differ.diff(previous: reference, current: snapshot).hasChanges)
    }
  }

  @Test("the same seed writes the same bytes; a mutated export changes the shares asked for")
  func determinismAndMutation() throws {
    let folder = try TemporaryFolder()
    for name in ["a", "b"] {
      try GeneratedExport(generator: OrgGenerator(records: 2_000, seed: 9), format: .webAPI).write(
        to: folder.path + "/" + name)
    }
    #expect(try DiffJobTests.contents(of: folder.path + "/a") == DiffJobTests.contents(of: folder.path + "/b"))
    #expect {
      try GeneratedExport(generator: OrgGenerator(records: 100, seed: 1), format: .webAPI).write(to: folder.path + "/a")
    } throws: { error in
      (error as? OutputError)?.reason.contains("new or empty folder") == true
    }
    let mutated = OrgGenerator(records: 2_000, seed: 9, mutation: .init(creates: 0.02, updates: 0.1, deletes: 0.02))
    try GeneratedExport(generator: mutated, format: .webAPI).write(to: folder.path + "/next")
    let diff = Differ.diff(
      previous: try loadSnapshot(from: [folder.path + "/a"]), current: try loadSnapshot(from: [folder.path + "/next"]))
    let total = Double(diff.totals.unchanged + diff.totals.updated + diff.totals.deleted)
    #expect(abs(Double(diff.totals.created) / total - 0.02) < 0.01)
    #expect(abs(Double(diff.totals.updated) / total - 0.10) < 0.03)
    #expect(abs(Double(diff.totals.deleted) / total - 0.02) < 0.01)
  }

  @Test("the changes of a mutated org as change-tracking pages sync to the batch its full export gives")
  func delta() throws {
    let folder = try TemporaryFolder()
    let org = OrgGenerator(records: 3_000, seed: 5)
    let next = OrgGenerator(records: 3_000, seed: 5, mutation: .init(creates: 0.02, updates: 0.1, deletes: 0.02))
    try GeneratedExport(generator: org, format: .webAPI).write(to: folder.path + "/first")
    try GeneratedExport(generator: next, format: .webAPI).write(to: folder.path + "/full")
    try GeneratedExport(generator: next, format: .webAPI, delta: true).write(to: folder.path + "/delta")
    #expect(throws: OutputError.self) {
      try GeneratedExport(generator: org, format: .webAPI, delta: true).write(to: folder.path + "/unmutated")
    }
    let changes = try loadSnapshot(from: [folder.path + "/delta"])
    #expect(changes.tables["account"]?.kind == .delta)
    #expect(changes.tables[OrgGenerator.membership]?.kind == .full)
    var batches: [[String: String]] = []
    var counts: [[String: ChangeCounts]] = []
    for export in ["full", "delta"] {
      let workspace = Workspace(root: folder.path + "/workspace-" + export)
      _ = try SyncJob(workspace: workspace, exports: [folder.path + "/first"]).run()
      guard
        case .batch(_, let path, let diff, _) = try SyncJob(workspace: workspace, exports: [folder.path + "/" + export])
          .run()
      else {
        Issue.record("the \(export) export wrote no batch")
        continue
      }
      #expect(diff.totals.created > 0 && diff.totals.updated > 0 && diff.totals.deleted > 0)
      counts.append(Dictionary(uniqueKeysWithValues: diff.tables.map { ($0.entity, $0.counts) }))
      batches.append(try batchText(path, leavingOut: "state/fingerprints/"))
    }
    try #require(batches.count == 2)
    #expect(counts[0] == counts[1])
    for name in Set(batches[0].keys).union(batches[1].keys).sorted() where name != "manifest.json" {
      #expect(batches[0][name] == batches[1][name], "\(name)")
    }
  }

  @Test("a smoke run of the benchmark prints figures for diff and sync, and the targets met or missed")
  func benchmarkSmoke() throws {
    let folder = try TemporaryFolder()
    let (status, text, _) = try runProgram(
      URL(fileURLWithPath: "/bin/bash"), [FixturePath.root + "/Benchmarks/run.sh"],
      environment: [
        "DYNSYNC_BIN": dynsyncExecutable().path, "SIZES": "1000 3000", "FORMATS": "webapi cmt",
        "BENCH_DIR": folder.path, "TARGET_SIZE": "1000",
      ])
    #expect(status == 0, "\(text)")
    let lines = text.split(separator: "\n")
    #expect(
      lines.first?.split(separator: " ") == [
        "format", "records", "step", "wall_s", "cpu_s", "records/s", "MB/s", "peak_MB",
      ])
    // Six steps a size for Web API JSON, four for CMT, which has no change-tracking delta.
    for (format, steps) in [("webapi", 6), ("cmt", 4)] {
      let rows = lines.filter { $0.hasPrefix(format + " ") && !$0.contains(" against ") }
      #expect(rows.count == steps * 2)
      // Every figure of a row is a number, the CPU time one a step takes for sure.
      for row in rows {
        let fields = row.split(separator: " ")
        #expect(fields.count == 8, "\(row)")
        #expect(fields.dropFirst(3).allSatisfy { Double($0) != nil }, "\(row)")
        #expect(fields.count > 4 && (Double(fields[4]) ?? 0) > 0, "\(row)")
      }
      #expect(lines.contains { $0.hasPrefix("scaling \(format): diff of 3000 records takes") })
      #expect(lines.contains { $0.hasPrefix("scaling \(format): sync-incremental of 3000 records takes") })
    }
    #expect(lines.contains { $0.hasPrefix("scaling webapi: sync-delta of 3000 records takes") })
    #expect(!lines.contains { $0.hasPrefix("scaling cmt: sync-delta") })
    #expect(
      lines.filter { ($0.hasPrefix("webapi ") || $0.hasPrefix("cmt ")) && $0.contains(" diff-cached ") }.count == 4)
    #expect(lines.filter { $0.hasPrefix("diff-cached runs (") }.count == 4)
    #expect(lines.filter { $0.hasPrefix("webapi ") && $0.contains(" sync-delta ") }.count == 2)
    #expect(lines.filter { $0.hasPrefix("webapi ") && $0.contains(" sync-delta-next ") }.count == 2)
    #expect(lines.contains { $0.hasPrefix("cmt against webapi: diff of 3000 records takes") })
    // Each target once, at the size asked for, met or missed.
    #expect(lines.contains { $0.hasPrefix("targets at 1000 records of Web API JSON") })
    for target in [
      "diff wall", "diff peak RSS", "sync-incremental wall", "sync-delta wall", "diff of 3000 records against 1000",
      "cmt diff against webapi",
    ] {
      let found = lines.filter { $0.hasPrefix("target \(target): ") }
      #expect(found.count == 1, "\(target)")
      #expect(found.allSatisfy { $0.hasSuffix(" met") || $0.hasSuffix(" missed") }, "\(target)")
    }
    #expect(!lines.contains { $0.hasPrefix("target fetchxml") })
  }
}
