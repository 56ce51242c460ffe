import DynSyncArtifacts
import DynSyncCore
import Foundation

/// Everything one batch folder holds, and how it is written: change sets, Marketo import files,
/// rejects, the state (for workspace batches) and, last, the manifest.
struct BatchContents {
  var command: String
  var batchNumber: Int?
  var previousBatch: Int?
  var options: DiffOptions
  var diff: SnapshotDiff
  var previousRejects: [InputError]
  var currentRejects: [InputError]
  /// The files read, by export: listed in the manifest, written last, so that digests left for later have the rest
  /// of the run to be worked out in.
  var inputs: [String: ExportInputs]
  /// Rows to import into Marketo: new or changed since the previous run.
  var marketoImports: MarketoDatasets?
  var state: WorkspaceState?
  /// The state of the batch before, which `state` is laid over; `nil` writes `state` whole.
  var stateUpdate: StateUpdate?
  var marketoRejects: [InputError] = []
  var outbound: [OutboundWrite] = []
  var conflicts: [Conflict] = []
  var twoWay: Manifest.TwoWay?
  /// The change sets, when they were written table by table as the diff went; `nil` writes them
  /// from `diff`.
  var changesWritten: [Manifest.Artifact]?

  func write(to writer: BatchWriter, started: Date) throws -> Manifest {
    var artifacts = try changesWritten ?? BatchContents.writeChanges(of: diff.tables, to: writer)
    // The import files rest on the datasets' differences, the state's files on the state: beside a state laid over
    // the batch before, the import files are written on a thread of their own while the state's are, filling the
    // gaps each leaves in the cores (`ThreadedWork`); the manifest lists the files in one order whichever finishes
    // first. Else they are written first, as before (beside an initial sync's state they only add to the peak).
    var importsWriting: ThreadedWork<[Manifest.Artifact], OutputError>?
    if let marketoImports {
      if stateUpdate != nil {
        importsWriting = ThreadedWork { () throws(OutputError) in try MarketoFiles.write(marketoImports, to: writer) }
      } else {
        artifacts += try MarketoFiles.write(marketoImports, to: writer)
      }
    }
    var others = try OutboundFiles.write(outbound, to: writer)
    if twoWay != nil {
      others.append(
        try writer.writeLines("conflicts.ndjson") { emit throws(OutputError) in
          for conflict in conflicts { try emit(BatchLines.conflict(conflict)) }
        })
    }
    let rejects =
      BatchLines.sortedRejects(previousRejects).map { ($0, "previous") }
      + BatchLines.sortedRejects(currentRejects).map { ($0, "current") }
      + BatchLines.sortedRejects(marketoRejects).map { ($0, "marketo") }
    others.append(
      try writer.writeLines("rejects.ndjson") { emit throws(OutputError) in
        for (error, export) in rejects { try emit(BatchLines.reject(error, export: export)) }
      })
    if let state { others += try Workspace.write(state, over: stateUpdate, to: writer) }
    artifacts += try importsWriting?.value() ?? []
    artifacts += others
    let finished = Date()
    var manifest = Manifest(
      tool: Manifest.Tool(version: DynSyncVersion.current), command: command, options: options,
      inputs: try inputs.mapValues { try $0.listed() },
      diff: diff, artifacts: artifacts,
      run: Manifest.Run(
        startedAt: RunClock.text(started), finishedAt: RunClock.text(finished),
        durationSeconds: (finished.timeIntervalSince(started) * 1000).rounded() / 1000))
    manifest.batch = batchNumber
    manifest.previousBatch = previousBatch
    manifest.twoWay = twoWay
    try writer.write("manifest.json", try JSONOutput.encode(manifest) + "\n")
    return manifest
  }

  /// Writes `changes/<table>.ndjson` of each table that has changes, in order.
  static func writeChanges(of tables: [TableDiff], to writer: BatchWriter) throws(OutputError)
    -> [Manifest.Artifact]
  {
    var written: [Manifest.Artifact] = []
    for table in tables {
      if let artifact = try writeChanges(of: table, to: writer) { written.append(artifact) }
    }
    return written
  }

  /// Writes `changes/<table>.ndjson`, when the table has changes.
  static func writeChanges(of table: TableDiff, to writer: BatchWriter) throws(OutputError) -> Manifest.Artifact? {
    guard !table.changes.isEmpty else { return nil }
    let file = try writer.openFile(changesPath(of: table.entity))
    try writeChanges(table.changes, to: file)
    return try file.finish()
  }

  static func changesPath(of entity: String) -> String { "changes/\(BatchWriter.safeFileName(entity)).ndjson" }

  /// Writes change lines, made on every core.
  static func writeChanges(_ changes: [RecordChange], to file: LinesFile) throws(OutputError) {
    try file.write(linesOf: changes) { change, json in BatchLines.appendChange(change, to: &json) }
  }

  /// The files' manifest entries, each file digested on a core of its own: a change-tracking export is dozens of
  /// pages, read whole once more for this.
  static func inputs(of files: [ExportFileSummary]) throws -> [Manifest.Input] {
    try concurrentMap(files, costs: files.map { Workspace.fileSize($0.path) }) { file in
      Manifest.Input(file: file, sha256: try FileDigest.sha256(ofFile: file.path))
    }
  }
}
