import DynSyncArtifacts
import DynSyncCore
import Foundation

/// A full export that would delete too large a share of a table: most likely a truncated export.
public struct MassDeleteRefused: UserFacingError, Sendable {
  public struct Table: Sendable {
    public var entity: String
    public var deleted: Int
    public var before: Int
  }

  public var tables: [Table]
  public var threshold: Double

  public var description: String {
    let lines = tables.map {
      "  \($0.entity): \($0.deleted) of \($0.before) records (\(Int((Double($0.deleted) / Double($0.before) * 100).rounded()))%) would be deleted"
    }
    return "the export is missing more than \(Int(threshold * 100))% of some tables; is it truncated?\n"
      + lines.joined(separator: "\n")
      + "\nNothing was written. If these deletions are real, run again with --allow-mass-delete."
  }
}

/// What `dynsync sync` does: apply an export onto the workspace's state and write the next batch.
///
/// The first run is the initial sync (everything is created); each later run diffs the export
/// against the state the last batch left. A run that changes nothing writes no batch.
public struct SyncJob: Sendable {
  public var workspace: Workspace
  public var exports: [String]
  public var options: DiffOptions
  public var readOptions: ReadOptions
  public var mapping: FieldMapping
  /// The share of a table a full export may lack before the run is refused.
  public var massDeleteThreshold: Double
  public var allowMassDelete: Bool
  /// How many of the newest batches keep their state (at least 1).
  public var keptStates: Int
  public var faults: FaultPlan

  public init(
    workspace: Workspace, exports: [String], options: DiffOptions = DiffOptions(),
    readOptions: ReadOptions = ReadOptions(), mapping: FieldMapping = .standard, massDeleteThreshold: Double = 0.2,
    allowMassDelete: Bool = false, keptStates: Int = 2, faults: FaultPlan = FaultPlan()
  ) {
    self.workspace = workspace
    self.exports = exports
    self.options = options
    self.readOptions = readOptions
    self.mapping = mapping
    self.massDeleteThreshold = massDeleteThreshold
    self.allowMassDelete = allowMassDelete
    self.keptStates = keptStates
    self.faults = faults
  }

  public enum Outcome: Sendable {
    /// A batch was written.
    case batch(number: Int, path: String, diff: SnapshotDiff, manifest: Manifest)
    /// The export changes nothing since the latest batch.
    case unchanged(latest: Int)
  }

  public func run(progress: some ProgressObserver = SilentProgress()) throws -> Outcome {
    let started = Date()
    let (latest, previous) = try workspace.latestState()
    let export = try loadSnapshot(from: exports, options: readOptions, progress: progress, faults: faults)
    guard export.isComplete else {
      throw IncompleteExport(export: "given", problems: export.failedFiles.map(\.description) + export.problems)
    }
    let diff = Differ.diff(previous: previous.dynamics, current: export, options: options)
    if !allowMassDelete { try guardMassDeletion(diff, previous: previous.dynamics, export: export) }

    var dynamics = previous.dynamics.applying(export)
    dynamics.rejects = []
    dynamics.files = []
    let marketo = MarketoMerge(mapping: mapping).merge(dynamics: dynamics, previous: previous.marketo)
    if let latest, !diff.hasChanges, marketo == previous.marketo { return .unchanged(latest: latest) }

    let number = (latest ?? 0) + 1
    let contents = BatchContents(
      command: "sync", batchNumber: number, previousBatch: latest, options: options, diff: diff,
      previousRejects: [], currentRejects: export.rejects, inputs: ["current": try BatchContents.inputs(of: export)],
      marketoImports: marketo.changed(since: previous.marketo), state: WorkspaceState(dynamics: dynamics, marketo: marketo))
    let writer = try BatchWriter(target: workspace.batchFolder(number), faults: faults)
    let manifest = try contents.write(to: writer, started: started)
    try writer.commit()
    try workspace.pruneStates(keeping: keptStates)
    return .batch(number: number, path: writer.target, diff: diff, manifest: manifest)
  }

  func guardMassDeletion(_ diff: SnapshotDiff, previous: Snapshot, export: Snapshot) throws {
    var refused: [MassDeleteRefused.Table] = []
    for table in diff.tables where export.tables[table.entity]?.kind == .full {
      let before = previous.tables[table.entity]?.records.count ?? 0
      guard before > 0, Double(table.counts.deleted) / Double(before) > massDeleteThreshold else { continue }
      refused.append(MassDeleteRefused.Table(entity: table.entity, deleted: table.counts.deleted, before: before))
    }
    if !refused.isEmpty { throw MassDeleteRefused(tables: refused, threshold: massDeleteThreshold) }
  }
}
