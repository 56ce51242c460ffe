import ArgumentParser
import DynSync

struct SyncCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sync",
    abstract: "Apply an export to a workspace and write the next batch: the initial sync, then only what changed.",
    discussion: """
      The workspace remembers the last synced state, so each run needs only the new export. \
      The first run is the initial sync: every record is created. Each later run compares the \
      export with the state the last batch left and writes batches/NNNNNN/ with:
        changes/<table>.ndjson  what changed in Dynamics
        marketo/                Marketo import files: the rows new or changed on the Marketo side
        outbound/dynamics/      writes for Dynamics from Marketo-side changes (--marketo-changes):
                                <entityset>.ndjson and batch.http, a Web API $batch body
        conflicts.ndjson        fields changed on both sides, both values and the winner
        rejects.ndjson          records and Marketo rows that could not be used
        state/                  the state this batch leaves (read by the next run)
        manifest.json           inputs, counts, the previous batch
      A batch appears whole or not at all, and the state advances with it: a run killed at any \
      point leaves the previous batch as the latest, and running again writes the same batch.
      An export that changes nothing writes no batch. Full exports replace a table's state; \
      change-tracking (delta) exports are laid over it.

      A full export that lacks more than 20% of a table's records (--mass-delete-threshold) is \
      refused as probably truncated, unless --allow-mass-delete is given.

      Leads and contacts sync both ways: --marketo-changes takes a Marketo lead export \
      (CSV or NDJSON with id, updatedAt and REST API field names) and writes what must go \
      back to Dynamics. Conflicts: Marketo wins for leads, Dynamics for contacts, unless the \
      mapping's "prefer" says otherwise.

      Examples:
        dynsync sync --workspace ws Samples/contoso/01-initial/webapi
        dynsync sync --workspace ws Samples/contoso/02-next/webapi
        dynsync sync --workspace ws --marketo-changes marketo-export.csv exports/week-3
        dynsync status --workspace ws

      Exit status: 0 batch written or nothing to do, 2 error.
      """
  )

  @Option(help: "The workspace folder (created on the first run).")
  var workspace: String

  @Argument(help: "The export: files or folders (none when only --marketo-changes is given).", completion: .file())
  var exports: [String] = []

  @Option(
    help:
      "A Marketo-side changes file (lead export CSV or NDJSON: id, updatedAt, REST API fields) to write back to Dynamics."
  )
  var marketoChanges: String?

  @Option(help: "A JSON field-mapping file laid over the built-in Dynamics → Marketo mapping.")
  var mapping: String?

  @Option(help: "The share (0–1) of a table a full export may lack before the run is refused.")
  var massDeleteThreshold: Double = 0.2

  @Flag(help: "Accept a full export that lacks many records: they are deleted.")
  var allowMassDelete = false

  @Option(help: "How many of the newest batches keep their state/ folder (only the latest is read).")
  var keepStates = 2

  @Flag(help: "Print a machine-readable JSON summary on stdout.")
  var json = false

  @OptionGroup var reading: ExportReadingOptions

  func validate() throws {
    guard (0...1).contains(massDeleteThreshold) else {
      throw ValidationError("--mass-delete-threshold must be between 0 and 1")
    }
    guard keepStates >= 1 else { throw ValidationError("--keep-states must be at least 1") }
    guard !exports.isEmpty || marketoChanges != nil else {
      throw ValidationError("give an export, a --marketo-changes file, or both")
    }
  }

  func run() throws {
    try reportingUserFacingErrors {
      let job = SyncJob(
        workspace: Workspace(root: workspace), exports: exports, marketoChanges: marketoChanges,
        options: DiffOptions(ignoring: reading.ignoredFields, comparingOnly: []),
        readOptions: reading.readOptions, mapping: try MappingFile.load(mapping),
        massDeleteThreshold: massDeleteThreshold, allowMassDelete: allowMassDelete, keptStates: keepStates,
        faults: FaultPlan.fromEnvironment())
      // The process ends after this one run: the memory it held goes back to the system then, at once.
      MemoryLeftToExit.enable()
      switch try job.run(progress: reading.progress) {
      case .unchanged(let latest):
        if json {
          print(try JSONOutput.encode(SyncSummary(batch: nil, latest: latest, totals: ChangeCounts(), entities: [:])))
        } else {
          print("no changes since batch \(Workspace.batchName(latest)); no batch written")
        }
      case .batch(let number, let path, let diff, let manifest):
        if json {
          print(
            try JSONOutput.encode(
              SyncSummary(batch: number, latest: number, totals: diff.totals, entities: manifest.entities)))
        } else {
          print(diff.summaryText, terminator: "")
          print("batch \(Workspace.batchName(number)) written to \(path)")
        }
      }
    }
  }
}

/// What `dynsync sync --json` prints.
struct SyncSummary: Codable {
  var batch: Int?
  var latest: Int
  var totals: ChangeCounts
  var entities: [String: ChangeCounts]
}
