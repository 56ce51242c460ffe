import ArgumentParser
import DynSync

/// How exports are read, for every command that reads them.
struct ExportReadingOptions: ParsableArguments {
  @Option(help: "The table of FetchXML results that name none (e.g. account).")
  var entity: String?

  @Option(name: .customLong("ignore-field"), help: "A column never to compare: COLUMN or TABLE.COLUMN (repeatable).")
  var ignoredFields: [String] = []

  @Flag(help: "Print no progress on stderr.")
  var quiet = false

  var readOptions: ReadOptions { ReadOptions(fetchXMLEntity: entity) }
  var progress: StderrProgress { StderrProgress(quiet: quiet) }
}

/// The workspace a command looks at, and how it reports.
struct WorkspaceReportOptions: ParsableArguments {
  @Option(help: "The workspace folder.")
  var workspace: String

  @Flag(help: "Print machine-readable JSON.")
  var json = false

  /// Prints the JSON or the text form, as asked.
  func print(json value: some Encodable, text: String) throws {
    Swift.print(json ? try JSONOutput.encode(value) : text, terminator: json ? "\n" : "")
  }
}
