import DynSyncArtifacts
import DynSyncCore
import DynSyncReaders
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
  /// A Marketo-side changes file (lead export CSV or NDJSON) to write back to Dynamics.
  public var marketoChanges: String?
  public var options: DiffOptions
  public var readOptions: ReadOptions
  public var mapping: FieldMapping
  /// The share of a table a full export may lack before the run is refused.
  public var massDeleteThreshold: Double
  public var allowMassDelete: Bool
  /// How many of the newest batches keep their state (at least 1).
  public var keptStates: Int
  public var faults: FaultPlan
  /// Reads the export whole even where it could be indexed (the way every export that cannot be is read).
  public var readInFull = false
  /// Writes every state file whole instead of laying overlays over the previous batch's files; the state read back
  /// is the same.
  public var writesStateWhole = false
  /// Reads every Marketo row of the state, also where the changes reach only some of them; the batch is the same.
  public var readsMarketoStateWhole = false
  /// The size of the parts a Marketo state file is read in, on every core, when only some of its rows are read.
  public var marketoStatePartSize = 32 << 20
  /// Reads every Dynamics record of the state, also where the run needs only some of them; the batch is the same.
  public var readsDynamicsStateWhole = false
  /// The size of the parts a Dynamics state file is read in, on every core, when only some of its records are read.
  public var dynamicsStatePartSize = 32 << 20
  /// How many rows of one export file are read again as one piece of work, spread over the cores with the others.
  public var rowsReadAgainPerPiece = DynSync.rowsReadAgainPerPiece

  public init(
    workspace: Workspace, exports: [String], marketoChanges: String? = nil, options: DiffOptions = DiffOptions(),
    readOptions: ReadOptions = ReadOptions(), mapping: FieldMapping = .standard, massDeleteThreshold: Double = 0.2,
    allowMassDelete: Bool = false, keptStates: Int = 2, faults: FaultPlan = FaultPlan()
  ) {
    self.workspace = workspace
    self.exports = exports
    self.marketoChanges = marketoChanges
    self.options = options
    self.readOptions = readOptions
    self.readOptions.foldersLeftOut.append(workspace.root)
    // The rest of a sync leaves the cores gaps for the digests (`ExportInputs`).
    self.readOptions.laterDigestAge = readOptions.laterDigestAge ?? .seconds(1)
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
    let clock = ContinuousClock()
    var step = clock.now
    /// Reports a step's time, and starts the next.
    func finished(_ name: String) {
      progress.finished(name, elapsed: step.duration(to: clock.now))
      step = clock.now
    }
    // Records of the Dynamics state the run does not need are only outlined where no Marketo-side edit or pending
    // write can reach them, and the state is written as overlays.
    let outlinesDynamics = marketoChanges == nil && !writesStateWhole && !readsDynamicsStateWhole && !readInFull
    var (latest, previous, marketoFiles, unread) = try workspace.latestStateDeferringMarketo(
      dynamicsPartSize: outlinesDynamics ? dynamicsStatePartSize : nil)
    let settings = MergeSettings(mapping: mapping)
    if let held = unread, !previous.pendingWrites.isEmpty || previous.merge != settings {
      previous.dynamics = try held.whole(previous.dynamics)
      unread = nil
    }
    finished(
      latest.map { "read the Dynamics state of batch \(Workspace.batchName($0))\(unread == nil ? "" : " in outline")" }
        ?? "found no batch before")
    var applied: AppliedExport
    do {
      applied = try applyIndexed(to: previous, unread: unread, progress: progress)
    } catch let error as OutputError {
      throw error
    } catch {
      progress.readingInFull(because: "\(error)")
      applied = try applyInFull(to: &previous, unread: &unread, progress: progress)
    }
    finished("laid the export over the state")
    let echo = EchoSuppression.apply(applied.diff, pending: previous.pendingWrites)
    let diff = echo.diff
    if !allowMassDelete {
      let tables = previous.dynamics.tables
      try guardMassDeletion(diff, fullTables: applied.fullTables) { entity in
        let held = tables[entity]?.records ?? [:]
        return unread?.count(of: entity, held: held) ?? held.count
      }
    }
    // A diff with changes makes a batch, whose change sets rest on the diff alone: after a batch, they are written on
    // a thread of their own while the rest is worked out (`ThreadedWork`), filling the gaps the steps leave in the
    // cores, into the batch's staging folder (taken away with its writer should the run stop before the commit). They
    // are the batch's first files, as they were when written after the rest: the files are finished in one order. An
    // initial sync's are the whole org, written after the rest as before: made beside the merge, they added to its
    // peak (+7% at 100k) and took no time off.
    let number = (latest ?? 0) + 1
    var earlyWriter: BatchWriter?
    var changesWriting: ThreadedWork<[Manifest.Artifact], OutputError>?
    if diff.hasChanges, latest != nil {
      let writer = try BatchWriter(target: workspace.batchFolder(number), faults: faults)
      let tables = diff.tables
      earlyWriter = writer
      changesWriting = ThreadedWork { () throws(OutputError) in try BatchContents.writeChanges(of: tables, to: writer) }
    }
    // Taken out, so that the records held next are added to the tables in place, not to copies of them.
    var dynamics = applied.dynamics
    applied.dynamics = Snapshot()
    var changedAccounts = Set<GUID>()
    var dynamicsChanges: [GUID: Set<String>] = [:]
    for table in diff.tables {
      for change in table.changes {
        if table.entity == "account" { changedAccounts.insert(change.id) }
        if change.operation == .update { dynamicsChanges[change.id] = Set(change.changed.map(\.field)) }
      }
    }
    let previousAccounts = previous.dynamics.tables["account"]?.records ?? [:]
    let unchangedAccounts = Set(unread?.ids(of: "account", held: previousAccounts) ?? Array(previousAccounts.keys))
      .subtracting(changedAccounts)
    var scope: MergeScope?
    if previous.merge == settings {
      scope =
        applied.changes.map { MergeScope(changesByTable: $0, current: dynamics, links: applied.links) }
        ?? MergeScope(from: previous.dynamics, to: dynamics, links: applied.links)
    }
    // The previous records read for the merge, unchanged: the state before holds them too (below).
    var readForMerge: [Record] = []
    if let unread {
      // Read in part only where the merge has a scope: settings that differ had the state read whole.
      guard let scope else { preconditionFailure("a state read in part, built without a scope") }
      // A record read again is held already; one gone is gone, though its line was not read.
      let replaced = Set(applied.replaced.values.joined())
      try scope.holdRecordsRead(in: &dynamics) { ids in
        let records = try unread.records(ids.subtracting(replaced))
        // Kept only where every record is compared (below): a copy counts a reference on each.
        if applied.touched == nil { readForMerge += records }
        return records
      }
      let held = MergeScope.partialTables.keys.map { dynamics.tables[$0]?.records.count ?? 0 }.reduce(0, +)
      finished("read the \(held) Dynamics records the changes reach")
    }
    // The rows a merge in scope reads are enough where the state is written as overlays and no Marketo-side edit or
    // pending write can reach another person.
    var marketoInPart: MarketoStateInPart?
    if let scope, marketoChanges == nil, previous.pendingWrites.isEmpty, !writesStateWhole, !readsMarketoStateWhole {
      let inPart = try marketoFiles.read(
        reaching: scope.previousRowIDs(in: dynamics), into: previous, partSize: marketoStatePartSize)
      marketoInPart = inPart
      previous = inPart.state
      let held = previous.marketo.inLoadOrder.map(\.dataset.rows.count).reduce(0, +)
      finished("read the \(held) Marketo rows the changes reach")
    } else {
      previous = try marketoFiles.readWhole(into: previous)
      finished("read every Marketo row of the state")
    }
    let merged = MarketoMerge(mapping: mapping).merge(
      dynamics: dynamics, previous: previous.marketo, unchangedAccounts: unchangedAccounts, scope: scope,
      registry: marketoInPart?.registry)
    finished(scope == nil ? "built every Marketo row" : "built the Marketo rows the changes reach")
    let (edits, editRejects) = try marketoChanges.map { try MarketoChangesReader.read($0) } ?? ([], [])
    let twoWay = TwoWaySync(mapping: mapping).apply(
      edits: edits, merged: merged, previous: previous.marketo, dynamics: dynamics, dynamicsChanges: dynamicsChanges,
      pendingWrites: echo.pending)
    let marketo = twoWay.marketo
    let pending = EchoSuppression.remembering(twoWay.outbound, in: echo.pending)
    let marketoRejects = editRejects + twoWay.rejects
    let marketoDifferences = marketo.differences(from: previous.marketo)
    defer {
      MemoryLeftToExit.keep(
        previous, applied, merged, twoWay, marketoDifferences, scope as Any, marketoInPart as Any, unread as Any,
        dynamicsChanges, readForMerge, unchangedAccounts)
    }
    // An echo alone changes nothing: its pending write is let go with the next batch.
    if let latest, !diff.hasChanges, marketoDifferences.isUnchanged, twoWay.outbound.isEmpty, twoWay.conflicts.isEmpty,
      marketoRejects.isEmpty
    {
      return .unchanged(latest: latest)
    }

    var state = WorkspaceState(
      dynamics: dynamics, marketo: marketo, pendingWrites: pending, merge: settings, fingerprints: applied.fingerprints)
    var contents = BatchContents(
      command: "sync", batchNumber: number, previousBatch: latest, options: options, diff: diff,
      previousRejects: [], currentRejects: applied.rejects, inputs: ["current": applied.inputs],
      marketoImports: marketoDifferences.imports, state: state)
    // The state before holds the previous records read, as the state after does: the overlays compare them. Those
    // read for the merge alone are never among the records touched, so they are only needed where every record is
    // compared.
    let readForMergeCompared = applied.touched == nil ? readForMerge : []
    var adding = applied.previousRead.mapValues(\.count)
    for record in readForMergeCompared { adding[record.entity, default: 0] += 1 }
    previous.dynamics.reserveRecords(adding: adding)
    for (entity, records) in applied.previousRead {
      previous.dynamics.tables[entity]?.records.merge(records) { held, _ in held }
    }
    for record in readForMergeCompared { previous.dynamics.tables[record.entity]?.records[record.id] = record }
    // The state's files are laid over the previous batch's: only what changed is written.
    if let layers = previous.layers, !writesStateWhole {
      contents.stateUpdate = StateUpdate(
        layers: layers,
        delta: StateDelta(previous: previous, current: state, touched: applied.touched, marketo: marketoDifferences),
        previousMarketo: previous.marketo, previousDynamics: previous.dynamics,
        readRecordPatch: StateReader.recordPatch(line:))
    }
    if let marketoInPart {
      // A dataset held in part and written whole again takes the rows not read as they were.
      for (name, dataset) in state.marketo.inLoadOrder
      where contents.stateUpdate?.overlayKeys(of: Workspace.datasetPath(of: name)) == nil {
        state.marketo[dataset: name] = try marketoInPart.whole(name, current: dataset)
      }
      contents.state = state
    }
    if let unread {
      // So does a table held in part, but for the records read again or gone.
      for entity in unread.unread.keys.sorted()
      where contents.stateUpdate?.overlayKeys(of: Workspace.recordsPath(of: entity)) == nil {
        guard let table = state.dynamics.tables[entity] else { continue }
        state.dynamics.tables[entity] = try unread.whole(table, except: applied.replaced[entity] ?? [])
      }
      contents.state = state
    }
    if let marketoChanges {
      contents.inputs["marketo"] = ExportInputs([
        Manifest.Input(
          file: ExportFileSummary(
            path: marketoChanges, format: .marketoChanges, records: edits.count, rejects: editRejects.count),
          sha256: try FileDigest.sha256(ofFile: marketoChanges))
      ])
    }
    if marketoChanges != nil || echo.echoes > 0 {
      contents.marketoRejects = marketoRejects
      contents.outbound = twoWay.outbound
      contents.conflicts = twoWay.conflicts
      contents.twoWay = Manifest.TwoWay(
        edits: edits.count, outbound: twoWay.outbound.count, conflicts: twoWay.conflicts.count,
        rejected: marketoRejects.count, echoes: echo.echoes)
    }
    defer { MemoryLeftToExit.keep(contents) }
    finished("compared the state with the one before")
    let writer = try earlyWriter ?? BatchWriter(target: workspace.batchFolder(number), faults: faults)
    contents.changesWritten = try changesWriting?.value()
    let manifest = try contents.write(to: writer, started: started)
    try writer.commit()
    finished("wrote the batch")
    try workspace.pruneStates(keeping: keptStates)
    return .batch(number: number, path: writer.target, diff: diff, manifest: manifest)
  }

  /// Refuses a diff that deletes more than the threshold's share of a table the export holds whole.
  ///
  /// - Parameters:
  ///   - diff: the changes.
  ///   - fullTables: the tables the export holds whole.
  ///   - count: how many records a table had before the run.
  /// - Throws: `MassDeleteRefused`.
  func guardMassDeletion(_ diff: SnapshotDiff, fullTables: Set<String>, before count: (String) -> Int) throws {
    var refused: [MassDeleteRefused.Table] = []
    for table in diff.tables where fullTables.contains(table.entity) {
      let before = count(table.entity)
      guard before > 0, Double(table.counts.deleted) / Double(before) > massDeleteThreshold else { continue }
      refused.append(MassDeleteRefused.Table(entity: table.entity, deleted: table.counts.deleted, before: before))
    }
    if !refused.isEmpty { throw MassDeleteRefused(tables: refused, threshold: massDeleteThreshold) }
  }
}
