import DynSyncCore

/// `manifest.json`: what a batch was made from and what it holds.
///
/// Everything but `run` depends only on the inputs and options, so two runs on the same inputs
/// write the same bytes outside `run`.
public struct Manifest: Sendable, Codable, Equatable {
  /// The format of the batch, raised with every change to its files that a dynsync before it would misread.
  ///
  /// 2: a Marketo dataset's overlay holds patches (`MarketoOverlayEntry.patch`), which a reader of format 1 took for
  /// rows with no columns. A batch of a later format than this dynsync's is refused, not misread.
  ///
  /// 3: the overlay of a table read in part holds patches of records (`RecordOverlayEntry.patch`), which a reader of
  /// format 2 took for records with no columns.
  public static let currentFormatVersion = 3

  public struct Tool: Sendable, Codable, Equatable {
    public var name: String
    public var version: String
  }

  /// An input file: what its reader reported, and its digest.
  public struct Input: Sendable, Codable, Equatable {
    public var file: ExportFileSummary
    public var sha256: String

    public init(file: ExportFileSummary, sha256: String) {
      self.file = file
      self.sha256 = sha256
    }
  }

  public struct Artifact: Sendable, Codable, Equatable {
    public var path: String
    public var sha256: String
    public var lines: Int
  }

  public struct Options: Sendable, Codable, Equatable {
    public var ignoredFields: [String: [String]]
    public var comparedFields: [String: [String]]
  }

  /// Wall-clock facts of the run; the one part that differs between identical runs.
  public struct Run: Sendable, Codable, Equatable {
    public var startedAt: String
    public var finishedAt: String
    public var durationSeconds: Double

    public init(startedAt: String, finishedAt: String, durationSeconds: Double) {
      self.startedAt = startedAt
      self.finishedAt = finishedAt
      self.durationSeconds = durationSeconds
    }
  }

  /// What went back to Dynamics in a run with Marketo-side changes.
  public struct TwoWay: Sendable, Codable, Equatable {
    public var edits: Int
    public var outbound: Int
    public var conflicts: Int
    public var rejected: Int
    /// Dynamics column changes recognised as dynsync's own earlier writes.
    public var echoes: Int

    public init(edits: Int, outbound: Int, conflicts: Int, rejected: Int, echoes: Int) {
      self.edits = edits
      self.outbound = outbound
      self.conflicts = conflicts
      self.rejected = rejected
      self.echoes = echoes
    }
  }

  public var formatVersion: Int
  public var tool: Tool
  public var command: String
  /// The workspace batch number, for `sync` batches.
  public var batch: Int?
  /// The batch whose state this one started from; none for the initial sync.
  public var previousBatch: Int?
  public var twoWay: TwoWay?
  public var options: Options
  /// Input files per export: `previous` and `current`.
  public var inputs: [String: [Input]]
  public var entities: [String: ChangeCounts]
  public var totals: ChangeCounts
  /// Files of the batch in the order they were written, with their digests.
  public var artifacts: [Artifact]
  public var run: Run

  public init(
    tool: Tool, command: String, options: DiffOptions, inputs: [String: [Input]], diff: SnapshotDiff,
    artifacts: [Artifact], run: Run
  ) {
    formatVersion = Manifest.currentFormatVersion
    self.tool = tool
    self.command = command
    self.options = Options(
      ignoredFields: options.ignoredFields.mapValues { $0.sorted() },
      comparedFields: options.comparedFields.mapValues { $0.sorted() })
    self.inputs = inputs
    entities = Dictionary(uniqueKeysWithValues: diff.tables.map { ($0.entity, $0.counts) })
    totals = diff.totals
    self.artifacts = artifacts
    self.run = run
  }
}

extension Manifest.Tool {
  public init(version: String) {
    self.init(name: "dynsync", version: version)
  }
}
