@_exported import DynSyncArtifacts
import DynSyncCore
import DynSyncReaders
import Foundation

/// An export that cannot be compared safely: files not read to the end, or pages missing.
public struct IncompleteExport: UserFacingError, Sendable {
  public var export: String
  public var problems: [String]

  public var description: String {
    "the \(export) export is incomplete, so absent records cannot be taken as deleted:\n"
      + problems.map { "  " + $0 }.joined(separator: "\n")
  }

  /// Refuses `snapshot` when a file was not read to the end or a paged table lacks pages.
  static func check(_ snapshot: Snapshot, export: String) throws {
    guard !snapshot.isComplete else { return }
    throw IncompleteExport(export: export, problems: snapshot.failedFiles.map(\.description) + snapshot.problems)
  }
}

/// What `dynsync diff` does: read both exports, compare them, write one batch folder.
public struct DiffJob: Sendable {
  public var previous: [String]
  public var current: [String]
  public var output: String
  public var options: DiffOptions
  public var readOptions: ReadOptions
  /// Replace an existing batch folder at `output`.
  public var replacing: Bool
  /// Also write Marketo import files (`marketo/`): the rows the current export adds or changes on
  /// the Marketo side, merged with this mapping.
  public var marketoMapping: FieldMapping?
  public var faults: FaultPlan
  /// Decode and hold every row of both exports instead of indexing them; the outcome is the same.
  public var readInFull = false
  /// How many rows of each export an indexed run reads again and holds at once (the same outcome
  /// whatever it is; fewer hold less).
  public var rowsDecodedPerStep = 5_000
  /// How many rows of one file are read again as one piece of work, spread over the cores with the others.
  public var rowsReadAgainPerPiece = DynSync.rowsReadAgainPerPiece

  public init(
    previous: [String], current: [String], output: String, options: DiffOptions = DiffOptions(),
    readOptions: ReadOptions = ReadOptions(), replacing: Bool = false, marketoMapping: FieldMapping? = nil,
    faults: FaultPlan = FaultPlan()
  ) {
    self.previous = previous
    self.current = current
    self.output = output
    self.options = options
    self.readOptions = readOptions
    self.readOptions.foldersLeftOut.append(output)
    self.replacing = replacing
    self.marketoMapping = marketoMapping
    self.faults = faults
  }

  /// The outcome of a run: the differences and the manifest written with them.
  public struct Outcome: Sendable {
    /// The counts per table; the changes themselves are in the batch (an indexed run writes
    /// each table's as soon as it is compared, and holds them no longer).
    public var diff: SnapshotDiff
    public var manifest: Manifest
    public var batch: String
  }

  public func run(progress: some ProgressObserver = SilentProgress()) throws -> Outcome {
    let started = Date()
    var writer = try BatchWriter(target: output, replacing: replacing, faults: faults)
    var compared: Comparison
    do {
      guard !readInFull else { throw IndexUnavailable(path: "", reason: "asked for") }
      compared = try compareIndexed(writingChangesTo: writer, progress: progress)
    } catch let error as OutputError {
      throw error
    } catch {
      progress.readingInFull(because: "\(error)")
      // A fresh staging folder: the one given up goes with its writer.
      writer = try BatchWriter(target: output, replacing: replacing, faults: faults)
      compared = try compareInFull(progress: progress)
    }
    let clock = ContinuousClock()
    let writing = clock.now
    var contents = BatchContents(
      command: "diff", options: options, diff: compared.diff, previousRejects: compared.previous.rejects,
      currentRejects: compared.current.rejects,
      inputs: ["previous": ExportInputs(compared.previous.inputs), "current": ExportInputs(compared.current.inputs)],
      marketoImports: compared.marketoImports)
    contents.changesWritten = compared.changesWritten
    let manifest = try contents.write(to: writer, started: started)
    try writer.commit()
    progress.finished("wrote the batch", elapsed: writing.duration(to: clock.now))
    return Outcome(diff: compared.diff, manifest: manifest, batch: writer.target)
  }

  /// The differences, and what the batch says of each export.
  private struct Comparison {
    var diff: SnapshotDiff
    var previous: (rejects: [InputError], inputs: [Manifest.Input])
    var current: (rejects: [InputError], inputs: [Manifest.Input])
    var marketoImports: MarketoDatasets?
    /// The change sets already written, table by table; their changes are gone from `diff`.
    var changesWritten: [Manifest.Artifact]?
  }

  /// Both exports read whole, every row decoded and held: works for every input.
  private func compareInFull(progress: some ProgressObserver) throws -> Comparison {
    let before = try loadSnapshot(from: previous, options: readOptions, progress: progress)
    let after = try loadSnapshot(from: current, options: readOptions, progress: progress)
    try IncompleteExport.check(before, export: "previous")
    try IncompleteExport.check(after, export: "current")
    let diff = Differ.diff(previous: before, current: after, options: options)

    var marketoImports: MarketoDatasets?
    if let marketoMapping {
      // The Marketo side as it stood after the previous export, then after the current one.
      let merge = MarketoMerge(mapping: marketoMapping)
      let previousState = Snapshot().applying(before)
      let earlier = merge.merge(dynamics: previousState, previous: MarketoDatasets())
      marketoImports = merge.merge(dynamics: previousState.applying(after), previous: earlier).changed(since: earlier)
    }
    return Comparison(
      diff: diff, previous: (before.rejects, try BatchContents.inputs(of: before.files)),
      current: (after.rejects, try BatchContents.inputs(of: after.files)), marketoImports: marketoImports)
  }

  /// Both exports indexed (in parallel), and only the rows whose bytes differ decoded.
  ///
  /// The outcome is `compareInFull`'s in a fraction of the time and memory. Throws for anything it
  /// does not handle (a format without an indexing reader, a malformed or incomplete export,
  /// Marketo files), which `compareInFull` then handles.
  private func compareIndexed(writingChangesTo writer: BatchWriter, progress: some ProgressObserver) throws
    -> Comparison
  {
    guard marketoMapping == nil else {
      throw IndexUnavailable(path: "", reason: "Marketo files need every row of both exports")
    }
    let clock = ContinuousClock()
    var started = clock.now
    let exports = try loadIndexes(of: [previous, current], options: readOptions, progress: progress)
    for export in exports where !export.index.isComplete {
      throw IndexUnavailable(path: "", reason: "an incomplete export")
    }
    let rows = exports.map { $0.index.tables.values.map(\.count).reduce(0, +) }.reduce(0, +)
    progress.finished("indexed \(rows) rows", elapsed: started.duration(to: clock.now))
    let (before, after) = (exports[0], exports[1])
    // Rows of a table whose decoding context changed (another CMT schema, another page context) are all read again.
    let (contextsBefore, contextsAfter) = (try before.decodingContexts(), try after.decodingContexts())
    let retyped = Set(
      contextsAfter.filter { entity, context in contextsBefore[entity].map { $0 != context } ?? false }.keys)
    started = clock.now
    let decodedRows = RowCounter()
    var written: [Manifest.Artifact] = []
    // One table's change set at a time, written step by step as the diff goes.
    var changeSet: LinesFile?
    let diff = try Differ.diff(
      previous: before.index, current: after.index, options: options, rowsPerStep: rowsDecodedPerStep,
      decodingEveryRow: retyped
    ) {
      decodedRows.add($1.count + $2.count)
      let decoded = try decodeRows(of: $0, [($1, before), ($2, after)], rowsPerPiece: rowsReadAgainPerPiece)
      return (decoded[0], decoded[1])
    } consume: { entity, changes in
      let path = BatchContents.changesPath(of: entity)
      if let open = changeSet, open.relativePath != path {
        written.append(try open.finish())
        changeSet = nil
      }
      let file = try changeSet ?? writer.openFile(path)
      changeSet = file
      try BatchContents.writeChanges(changes, to: file)
    }
    if let changeSet { written.append(try changeSet.finish()) }
    progress.finished(
      "compared them, reading \(decodedRows.total) rows that differ in full, and wrote the changes",
      elapsed: started.duration(to: clock.now))
    return Comparison(
      diff: diff, previous: (before.index.rejects, try before.inputs.listed()),
      current: (after.index.rejects, try after.inputs.listed()),
      changesWritten: written)
  }
}

/// A count kept from more than one thread.
private final class RowCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0

  func add(_ rows: Int) { lock.withLock { count += rows } }
  var total: Int { lock.withLock { count } }
}

/// Wall-clock times as written in the manifest's `run` section.
enum RunClock {
  static func text(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: date)
  }
}

extension SnapshotDiff {
  /// Per-table counts as a person reads them.
  public var summaryText: String {
    let header = ["table", "created", "updated", "deleted", "unchanged", "rejected"]
    var rows = tables.map { table in
      [table.entity]
        + [
          table.counts.created, table.counts.updated, table.counts.deleted, table.counts.unchanged,
          table.counts.rejected,
        ].map { String($0) }
    }
    let total = totals
    rows.append(
      ["total"] + [total.created, total.updated, total.deleted, total.unchanged, total.rejected].map { String($0) })
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { index, cell in
        index == 0
          ? cell.padding(toLength: widths[index]) : String(repeating: " ", count: widths[index] - cell.count) + cell
      }.joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
  }
}
