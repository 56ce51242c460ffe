/// The machine-readable summary `dynsync diff --json` prints: counts per table and in total.
public struct DiffSummary: Sendable, Codable, Equatable {
  public var batch: String
  public var entities: [String: ChangeCounts]
  public var totals: ChangeCounts
  public var rejects: Int
  public var hasChanges: Bool

  public init(outcome: DiffJob.Outcome) {
    batch = outcome.batch
    entities = outcome.manifest.entities
    totals = outcome.manifest.totals
    rejects = outcome.manifest.artifacts.first { $0.path == "rejects.ndjson" }?.lines ?? 0
    hasChanges = outcome.diff.hasChanges
  }
}
