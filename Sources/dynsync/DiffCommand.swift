import ArgumentParser
import DynSync

struct DiffCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract: "Compare two exports of an org and write the changes as a batch folder.",
    discussion: """
      Records are matched per table by primary id, and each changed record is \
      created, updated (with its changed columns, old → new) or deleted. A full \
      export holds every row, so a row it lacks was deleted; a change-tracking \
      (delta) export holds only changes, and its deletions are explicit. \
      Re-ordered rows, another page split, changed formatted labels or etags are \
      not changes; nor is 20000.0000 vs 20000.0, or a GUID in another case.

      The batch folder (--out) holds:
        changes/<table>.ndjson  one line per changed record:
                                op (c/u/d), entity, id, before, after, changed
        rejects.ndjson          unreadable records: file, line, id, reason
        manifest.json           inputs with SHA-256, counts per table and column
      It appears only once complete: an interrupted run leaves no batch.

      Examples:
        dynsync diff --previous exports/monday --current exports/tuesday \\
                     --out batches/tuesday
        dynsync diff --previous old/ --current new/ --out batch \\
                     --ignore-field modifiedon --ignore-field account.versionnumber

      Exit status: 0 no differences, 1 differences found (like diff), 2 error.
      """
  )

  @Option(name: .customLong("previous"), parsing: .upToNextOption, help: "The older export: files or folders.")
  var previous: [String]

  @Option(name: .customLong("current"), parsing: .upToNextOption, help: "The newer export: files or folders.")
  var current: [String]

  @Option(name: .customLong("out"), help: "The batch folder to create.")
  var output: String

  @Option(
    name: .customLong("compare-field"),
    help: "Compare only these columns of a table: TABLE.COLUMN, or COLUMN for every table (repeatable).")
  var comparedFields: [String] = []

  @Flag(help: "Also write the merged Marketo-side datasets of the current export under marketo/.")
  var marketo = false

  @Option(help: "A JSON field-mapping file laid over the built-in Dynamics → Marketo mapping (implies --marketo).")
  var mapping: String?

  @Flag(help: "Replace the batch folder if it exists: only a batch dynsync wrote, or an empty folder.")
  var force = false

  @Flag(help: "Print counts per table (created, updated, deleted, unchanged, rejected) on stdout.")
  var summary = false

  @Flag(help: "Print a machine-readable JSON summary (counts per table and in total) on stdout.")
  var json = false

  @OptionGroup var reading: ExportReadingOptions

  func run() throws {
    try reportingUserFacingErrors {
      let job = DiffJob(
        previous: previous, current: current, output: output,
        options: DiffOptions(ignoring: reading.ignoredFields, comparingOnly: comparedFields),
        readOptions: reading.readOptions, replacing: force,
        marketoMapping: marketo || mapping != nil ? try MappingFile.load(mapping) : nil,
        faults: FaultPlan.fromEnvironment())
      let outcome = try job.run(progress: reading.progress)
      if json {
        print(try JSONOutput.encode(DiffSummary(outcome: outcome)))
      } else {
        if summary { print(outcome.diff.summaryText, terminator: "") }
        let totals = outcome.diff.totals
        print(
          "\(totals.created) created, \(totals.updated) updated, \(totals.deleted) deleted, "
            + "\(totals.unchanged) unchanged, \(totals.rejected) rejected; batch written to \(outcome.batch)")
      }
      if outcome.diff.hasChanges { throw ExitCode(1) }
    }
  }
}
