import DynSyncCore
import Foundation

/// What dynsync remembers between runs: the org's last synced Dynamics state, and the
/// Marketo-side datasets built from it (person ids, frozen rows, deletion flags).
public struct WorkspaceState: Sendable {
  public var dynamics: Snapshot
  public var marketo: MarketoDatasets

  public init(dynamics: Snapshot = Snapshot(), marketo: MarketoDatasets = MarketoDatasets()) {
    self.dynamics = dynamics
    self.marketo = marketo
  }
}

/// A workspace folder: `batches/NNNNNN/`, one per run that changed something, each complete
/// batch carrying the state it leaves in `state/`.
///
/// Keeping the state inside the batch makes the state and the batch advance in one atomic
/// rename: a run that dies at any point leaves the previous batch as the latest, with its state,
/// and nothing else that looks complete.
public struct Workspace: Sendable {
  public let root: String

  public init(root: String) {
    self.root = (root as NSString).standardizingPath
  }

  public var batchesFolder: String { root + "/batches" }

  public func batchFolder(_ number: Int) -> String { batchesFolder + "/" + Workspace.batchName(number) }

  public static func batchName(_ number: Int) -> String {
    let text = String(number)
    return String(repeating: "0", count: max(0, 6 - text.count)) + text
  }

  /// Numbers of the complete batches, in order (staging folders are hidden and never counted).
  public func batchNumbers() throws -> [Int] {
    guard FileManager.default.fileExists(atPath: batchesFolder) else { return [] }
    let names = try FileManager.default.contentsOfDirectory(atPath: batchesFolder)
    return names.compactMap { name in name.count == 6 && name.allSatisfy(\.isNumber) ? Int(name) : nil }.sorted()
  }

  /// The state the latest batch left, or an empty state before the first run.
  public func latestState() throws -> (batch: Int?, state: WorkspaceState) {
    guard let latest = try batchNumbers().last else { return (nil, WorkspaceState()) }
    return (latest, try state(of: latest))
  }

  public func state(of batch: Int) throws -> WorkspaceState {
    let folder = batchFolder(batch) + "/state"
    var builder = SnapshotBuilder()
    let dynamicsFolder = folder + "/dynamics"
    for file in try Workspace.files(in: dynamicsFolder, ending: ".ndjson") {
      let path = dynamicsFolder + "/" + file
      try NDJSONLines.read(path) { json, line in
        builder.add(.record(try StateCodec.record(json, at: SourcePosition(file: path, line: line))))
      }
      let entity = String(file.dropLast(".ndjson".count))
      builder.finish(file: ExportFileSummary(path: path, format: .webAPI, entities: [entity]))
    }
    var dynamics = builder.build()
    dynamics.files = []
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
    return WorkspaceState(dynamics: dynamics, marketo: marketo)
  }

  /// Writes `state` into a batch being built, under `state/`.
  public static func write(_ state: WorkspaceState, to writer: BatchWriter) throws(OutputError) -> [Manifest.Artifact] {
    var artifacts: [Manifest.Artifact] = []
    for entity in state.dynamics.entityNames {
      guard let table = state.dynamics.tables[entity] else { continue }
      artifacts.append(
        try writer.writeLines("state/dynamics/\(BatchWriter.safeFileName(entity)).ndjson") { emit throws(OutputError) in
          for id in table.records.keys.sorted() {
            guard let record = table.records[id] else { continue }
            try emit(StateCodec.line(record))
          }
        })
    }
    for (name, dataset) in state.marketo.inLoadOrder {
      let path =
        name.hasPrefix("customObjects/")
        ? "state/marketo/customObjects/" + BatchWriter.safeFileName(String(name.dropFirst("customObjects/".count)))
        : "state/marketo/" + name
      artifacts.append(
        try writer.writeLines(path + ".ndjson") { emit throws(OutputError) in
          for key in dataset.sortedKeys {
            guard let row = dataset.rows[key] else { continue }
            try emit(StateCodec.line(key: key, row: row))
          }
        })
    }
    return artifacts
  }

  static func dataset(at path: String) throws -> MarketoDataset {
    var dataset = MarketoDataset()
    try NDJSONLines.read(path) { json, line in
      let (key, row) = try StateCodec.marketoRow(json, at: SourcePosition(file: path, line: line))
      dataset.rows[key] = row
    }
    return dataset
  }

  static func files(in folder: String, ending suffix: String) throws -> [String] {
    guard FileManager.default.fileExists(atPath: folder) else { return [] }
    return try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(suffix) }.sorted()
  }
}

extension MarketoDatasets {
  /// A dataset by the name `inLoadOrder` gives it.
  public subscript(dataset name: String) -> MarketoDataset {
    get {
      switch name {
      case "salesUsers": return salesUsers
      case "teams": return teams
      case "companies": return companies
      case "persons": return persons
      case "opportunities": return opportunities
      case "opportunityRoles": return opportunityRoles
      default: return customObjects[String(name.dropFirst("customObjects/".count))] ?? MarketoDataset()
      }
    }
    set {
      switch name {
      case "salesUsers": salesUsers = newValue
      case "teams": teams = newValue
      case "companies": companies = newValue
      case "persons": persons = newValue
      case "opportunities": opportunities = newValue
      case "opportunityRoles": opportunityRoles = newValue
      default: customObjects[String(name.dropFirst("customObjects/".count))] = newValue
      }
    }
  }
}

/// Reads an NDJSON file a chunk at a time, handing on each parsed line with its number.
enum NDJSONLines {
  static func read(_ path: String, _ body: (Any, Int) throws -> Void) throws {
    guard let file = FileHandle(forReadingAtPath: path) else {
      throw InputError(file: path, reason: "cannot open the state file")
    }
    defer { try? file.close() }
    var pending = Data()
    var line = 0
    func parse(_ bytes: Data) throws {
      line += 1
      guard !bytes.isEmpty else { return }
      do {
        try body(try JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed]), line)
      } catch let error as InputError {
        throw error
      } catch {
        throw InputError(file: path, line: line, reason: "corrupt state line: not JSON")
      }
    }
    while let chunk = try file.read(upToCount: 1 << 20), !chunk.isEmpty {
      pending.append(chunk)
      while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
        try parse(pending[pending.startIndex..<newline])
        pending = pending[pending.index(after: newline)...]
      }
      pending = Data(pending)
    }
    try parse(pending)
  }
}
