import ArgumentParser
import DynSync

struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Show what an export holds: formats, tables, record counts, columns and rejects.",
    discussion: """
      Each PATH is an export file or a folder of them (read recursively, in name \
      order). The format of each file is recognised from its content:
        Web API JSON   a page with "@odata.context" and "value"; pages of one
                       table linked by @odata.nextLink read as one table, and
                       change-tracking pages carry deletions
        FetchXML       <resultset><result>…</result></resultset>
        CMT            data.xml, typed by the data_schema.xml beside it

      Examples:
        dynsync inspect Samples/contoso/01-initial/webapi
        dynsync inspect --json exports/contacts_page1.json exports/contacts_page2.json

      Exit status: 0 when every record was read, 1 when some were rejected or \
      the export is incomplete, 2 when an input cannot be read at all.
      """
  )

  @Argument(help: "Export files or folders.", completion: .file())
  var paths: [String]

  @Flag(help: "Print a machine-readable JSON summary instead of text.")
  var json = false

  @Option(help: "The table of FetchXML results that name none (e.g. account).")
  var entity: String?

  @Flag(help: "Print no progress on stderr.")
  var quiet = false

  func run() throws {
    try reportingUserFacingErrors {
      let snapshot = try loadSnapshot(
        from: paths, options: ReadOptions(fetchXMLEntity: entity), progress: StderrProgress(quiet: quiet))
      let report = InspectionReport(snapshot: snapshot)
      print(json ? try JSONOutput.encode(report) : report.text, terminator: json ? "\n" : "")
      if !report.rejects.isEmpty || !report.failedFiles.isEmpty || !report.problems.isEmpty { throw ExitCode(1) }
    }
  }
}
