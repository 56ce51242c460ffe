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

  /// The state a batch left, read back from its `state/` folder: each base with its overlay laid over it.
  public func state(of batch: Int) throws -> WorkspaceState {
    let folder = batchFolder(batch)
    let dynamicsFolder = "state/dynamics"
    let marketoFolder = "state/marketo"
    func bases(in relativeFolder: String) throws -> [String] {
      try Workspace.files(in: folder + "/" + relativeFolder, ending: ".ndjson").filter { !StateLayers.isOverlay($0) }
    }
    var files = try bases(in: dynamicsFolder).map { StateFile.records(dynamicsFolder + "/" + $0) }
    for (name, _) in MarketoDatasets().inLoadOrder {
      let path = Workspace.datasetPath(of: name)
      if FileManager.default.fileExists(atPath: folder + "/" + path) { files.append(.dataset(name, path)) }
    }
    for file in try bases(in: marketoFolder + "/customObjects") {
      files.append(
        .dataset("customObjects/" + file.dropLast(".ndjson".count), marketoFolder + "/customObjects/" + file))
    }
    if FileManager.default.fileExists(atPath: pendingWritesFile(of: batch)) {
      files.append(.pendingWrites(WorkspaceState.pendingWritesFile))
    }

    // Each file read on its own core, the largest first; what they hold put together in file order.
    var builder = SnapshotBuilder()
    var marketo = MarketoDatasets()
    var pending: [GUID: Record] = [:]
    var read: [String: StateFile.Layers] = [:]
    let sizes = files.map { $0.size(in: folder) }
    let everyContents = try concurrentMap(files, costs: sizes) { try $0.read(in: folder) }
    for (file, contents) in zip(files, everyContents) {
      switch (file, contents) {
      case (.records(let path), .records(let records, let layers)):
        for record in records { builder.add(.record(record)) }
        read[path] = layers
      case (.dataset(let name, let path), .dataset(let dataset, let layers)):
        marketo[dataset: name] = dataset
        read[path] = layers
      case (.pendingWrites, .records(let records, _)):
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
      dynamics: dynamics, marketo: marketo, pendingWrites: pending, merge: merge, fingerprints: fingerprints,
      layers: Workspace.layers(of: folder, read: read))
  }

  /// The files of a state the next batch can build on: those read as the batch's manifest lists them.
  ///
  /// A file the manifest does not vouch for (no manifest, another line count) is written whole by the next batch,
  /// which costs it time, not correctness.
  private static func layers(of folder: String, read: [String: StateFile.Layers]) -> StateLayers {
    let manifest = (try? Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json"))).flatMap {
      try? JSONDecoder().decode(Manifest.self, from: $0)
    }
    var artifacts: [String: Manifest.Artifact] = [:]
    for artifact in manifest?.artifacts ?? [] { artifacts[artifact.path] = artifact }
    var layers = StateLayers(folder: folder)
    for (path, file) in read {
      guard let base = artifacts[path], base.lines == file.baseLines else { continue }
      let overlay = artifacts[StateLayers.overlayPath(of: path)]
      guard let keys = file.overlayKeys else {
        layers.files[path] = StateFileLayers(base: base)
        continue
      }
      guard let overlay, overlay.lines == keys.count else { continue }
      layers.files[path] = StateFileLayers(base: base, overlay: overlay, overlayKeys: keys)
    }
    return layers
  }

  /// One file of a batch's state (by its path in the batch), and what it holds.
  private enum StateFile: Sendable {
    case records(String)
    case dataset(String, String)
    case pendingWrites(String)

    /// How a file was laid down: its base's line count, and the keys of its overlay (`nil`: it has none).
    struct Layers: Sendable {
      var baseLines: Int
      var overlayKeys: Set<String>?
    }

    enum Contents: Sendable {
      case records([Record], Layers)
      case dataset(MarketoDataset, Layers)
    }

    /// The bytes of the file and its overlay: what reading it costs, roughly.
    func size(in folder: String) -> Int {
      let path =
        switch self {
        case .records(let path), .dataset(_, let path), .pendingWrites(let path): folder + "/" + path
        }
      return [path, StateLayers.overlayPath(of: path)].reduce(0) { total, file in
        total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
      }
    }

    func read(in folder: String) throws -> Contents {
      switch self {
      case .records(let path), .pendingWrites(let path):
        var records: [Record] = []
        try StateReader.records(in: folder + "/" + path) { records.append($0) }
        let overlay = folder + "/" + StateLayers.overlayPath(of: path)
        guard FileManager.default.fileExists(atPath: overlay) else {
          return .records(records, Layers(baseLines: records.count))
        }
        var laid: [GUID: Record?] = [:]
        try StateReader.overlayRecords(in: overlay) { id, record in laid[id] = .some(record) }
        let baseLines = records.count
        records.removeAll { laid[$0.id] != nil }
        records += laid.keys.sorted().compactMap { laid[$0] ?? nil }
        return .records(records, Layers(baseLines: baseLines, overlayKeys: Set(laid.keys.map(\.description))))
      case .dataset(_, let path):
        var dataset = MarketoDataset()
        try StateReader.marketoRows(in: folder + "/" + path) { key, row in dataset.rows[key] = row }
        let overlay = folder + "/" + StateLayers.overlayPath(of: path)
        guard FileManager.default.fileExists(atPath: overlay) else {
          return .dataset(dataset, Layers(baseLines: dataset.rows.count))
        }
        let baseLines = dataset.rows.count
        var keys = Set<String>()
        try StateReader.overlayMarketoRows(in: overlay) { key, row in
          keys.insert(key)
          dataset.rows[key] = row
        }
        return .dataset(dataset, Layers(baseLines: baseLines, overlayKeys: keys))
      }
    }
  }
}
