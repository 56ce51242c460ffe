import DynSyncArtifacts
import DynSyncCore
import Foundation

/// What `status` and `history` tell of a workspace, read from its batches' manifests and state.
public struct WorkspaceReport: Sendable {
  public struct Batch: Sendable, Codable {
    public var batch: Int
    public var finishedAt: String
    public var totals: ChangeCounts
    public var inputs: [String]
  }

  public struct Status: Sendable, Codable {
    public var workspace: String
    public var latestBatch: Int?
    public var batches: Int
    public var latest: Batch?
    /// Records per table in the latest state.
    public var stateRecords: [String: Int]
    public var persons: Int
    public var stateBytes: Int
  }

  public var workspace: Workspace
  public var batches: [Batch]
  public var status: Status

  public init(workspace: Workspace) throws {
    guard FileManager.default.fileExists(atPath: workspace.root) else {
      throw InputError(file: workspace.root, reason: "no such workspace")
    }
    self.workspace = workspace
    batches = try workspace.batchNumbers().map { number in
      let path = workspace.batchFolder(number) + "/manifest.json"
      guard let data = FileManager.default.contents(atPath: path) else {
        throw InputError(file: path, reason: "the batch has no manifest")
      }
      let manifest: Manifest
      do {
        manifest = try JSONDecoder().decode(Manifest.self, from: data)
      } catch {
        throw InputError(file: path, reason: "not a dynsync manifest")
      }
      return Batch(
        batch: number, finishedAt: manifest.run.finishedAt, totals: manifest.totals,
        inputs: (manifest.inputs["current"] ?? []).map(\.file.path))
    }
    let (latest, state) = try workspace.latestState()
    let stateBytes = latest.map { WorkspaceReport.bytes(under: workspace.batchFolder($0) + "/state") } ?? 0
    status = Status(
      workspace: workspace.root, latestBatch: latest, batches: batches.count, latest: batches.last,
      stateRecords: state.dynamics.tables.mapValues(\.records.count), persons: state.marketo.persons.rows.count,
      stateBytes: stateBytes)
  }

  public var statusText: String {
    guard let latest = status.latest else { return "\(workspace.root): no batch yet; run dynsync sync\n" }
    var lines = [
      "workspace \(workspace.root)",
      "latest batch \(Workspace.batchName(latest.batch)) (of \(status.batches)), finished \(latest.finishedAt)",
      "  " + WorkspaceReport.countsText(latest.totals),
      "state: \(status.stateRecords.values.reduce(0, +)) records in \(status.stateRecords.count) tables, \(status.persons) persons, \(status.stateBytes) bytes",
    ]
    for entity in status.stateRecords.keys.sorted() {
      lines.append("  \(entity.padding(toLength: 20)) \(status.stateRecords[entity] ?? 0)")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  public var historyText: String {
    guard !batches.isEmpty else { return "\(workspace.root): no batch yet\n" }
    return batches.map { batch in
      "\(Workspace.batchName(batch.batch))  \(batch.finishedAt)  \(WorkspaceReport.countsText(batch.totals))"
    }.joined(separator: "\n") + "\n"
  }

  static func countsText(_ counts: ChangeCounts) -> String {
    "\(counts.created) created, \(counts.updated) updated, \(counts.deleted) deleted, \(counts.unchanged) unchanged, \(counts.rejected) rejected"
  }

  static func bytes(under folder: String) -> Int {
    guard let enumerator = FileManager.default.enumerator(atPath: folder) else { return 0 }
    var total = 0
    while let relative = enumerator.nextObject() as? String {
      let attributes = try? FileManager.default.attributesOfItem(atPath: folder + "/" + relative)
      if attributes?[.type] as? FileAttributeType == .typeRegular { total += attributes?[.size] as? Int ?? 0 }
    }
    return total
  }
}
