import DynSyncArtifacts
import DynSyncCore
import DynSyncReaders
import Foundation

extension Workspace {
  /// The state the latest batch left, or an empty state before the first run.
  public func latestState() throws -> (batch: Int?, state: WorkspaceState) {
    guard let latest = try batchNumbers().last else { return (nil, WorkspaceState()) }
    return (latest, try state(of: latest))
  }

  /// The state a batch left, read back from its `state/` folder.
  public func state(of batch: Int) throws -> WorkspaceState {
    let folder = batchFolder(batch) + "/state"
    var builder = SnapshotBuilder()
    let dynamicsFolder = folder + "/dynamics"
    for file in try Workspace.files(in: dynamicsFolder, ending: ".ndjson") {
      try StateReader.records(in: dynamicsFolder + "/" + file) { builder.add(.record($0)) }
    }
    let dynamics = builder.build()
    var marketo = MarketoDatasets()
    let marketoFolder = folder + "/marketo"
    for (name, _) in MarketoDatasets().inLoadOrder {
      let path = marketoFolder + "/" + name + ".ndjson"
      guard FileManager.default.fileExists(atPath: path) else { continue }
      marketo[dataset: name] = try Workspace.dataset(at: path)
    }
    for file in try Workspace.files(in: marketoFolder + "/customObjects", ending: ".ndjson") {
      let name = String(file.dropLast(".ndjson".count))
      marketo.customObjects[name] = try Workspace.dataset(at: marketoFolder + "/customObjects/" + file)
    }
    var pending: [GUID: Record] = [:]
    if FileManager.default.fileExists(atPath: pendingWritesFile(of: batch)) {
      try StateReader.records(in: pendingWritesFile(of: batch)) { pending[$0.id] = $0 }
    }
    return WorkspaceState(dynamics: dynamics, marketo: marketo, pendingWrites: pending)
  }

  static func dataset(at path: String) throws -> MarketoDataset {
    var dataset = MarketoDataset()
    try StateReader.marketoRows(in: path) { key, row in dataset.rows[key] = row }
    return dataset
  }
}
