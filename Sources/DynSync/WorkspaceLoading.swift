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
    let dynamicsFolder = folder + "/dynamics"
    let marketoFolder = folder + "/marketo"
    var files = try Workspace.files(in: dynamicsFolder, ending: ".ndjson").map {
      StateFile.records(dynamicsFolder + "/" + $0)
    }
    for (name, _) in MarketoDatasets().inLoadOrder {
      let path = marketoFolder + "/" + name + ".ndjson"
      if FileManager.default.fileExists(atPath: path) { files.append(.dataset(name, path)) }
    }
    for file in try Workspace.files(in: marketoFolder + "/customObjects", ending: ".ndjson") {
      files.append(
        .dataset("customObjects/" + file.dropLast(".ndjson".count), marketoFolder + "/customObjects/" + file))
    }
    if FileManager.default.fileExists(atPath: pendingWritesFile(of: batch)) {
      files.append(.pendingWrites(pendingWritesFile(of: batch)))
    }

    // Each file read on its own core; what they hold put together in file order.
    var builder = SnapshotBuilder()
    var marketo = MarketoDatasets()
    var pending: [GUID: Record] = [:]
    for (file, contents) in zip(files, try concurrentMap(files) { try $0.read() }) {
      switch (file, contents) {
      case (.records, .records(let records)):
        for record in records { builder.add(.record(record)) }
      case (.dataset(let name, _), .dataset(let dataset)):
        marketo[dataset: name] = dataset
      case (.pendingWrites, .records(let records)):
        for record in records { pending[record.id] = record }
      default:
        preconditionFailure("a state file read as another kind")
      }
    }
    // Settings that cannot be read only cost this run the shortcut: every row is built again.
    let merge = (try? Data(contentsOf: URL(fileURLWithPath: mergeSettingsFile(of: batch)))).flatMap {
      try? JSONDecoder().decode(MergeSettings.self, from: $0)
    }
    let dynamics = builder.build()
    var fingerprints = StateFingerprints()
    for entity in dynamics.entityNames {
      // A file that does not read back only costs the next run its shortcut: the table's rows are all decoded.
      fingerprints.tables[entity] = StateFingerprints.table(
        at: batchFolder(batch) + "/" + StateFingerprints.path(of: entity))
    }
    return WorkspaceState(
      dynamics: dynamics, marketo: marketo, pendingWrites: pending, merge: merge, fingerprints: fingerprints)
  }

  /// One file of a batch's state, and what it holds.
  private enum StateFile: Sendable {
    case records(String)
    case dataset(String, String)
    case pendingWrites(String)

    enum Contents: Sendable {
      case records([Record])
      case dataset(MarketoDataset)
    }

    func read() throws -> Contents {
      switch self {
      case .records(let path), .pendingWrites(let path):
        var records: [Record] = []
        try StateReader.records(in: path) { records.append($0) }
        return .records(records)
      case .dataset(_, let path):
        return .dataset(try Workspace.dataset(at: path))
      }
    }
  }

  static func dataset(at path: String) throws -> MarketoDataset {
    var dataset = MarketoDataset()
    try StateReader.marketoRows(in: path) { key, row in dataset.rows[key] = row }
    return dataset
  }
}
