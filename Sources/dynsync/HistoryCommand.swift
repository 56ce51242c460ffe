import ArgumentParser
import DynSync

struct HistoryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "history",
    abstract: "List a workspace's batches with their counts.",
    discussion: """
      Example:
        dynsync history --workspace ws
      """
  )

  @OptionGroup var options: WorkspaceReportOptions

  func run() throws {
    try reportingUserFacingErrors {
      let report = try WorkspaceReport(workspace: Workspace(root: options.workspace))
      try options.print(json: report.batches, text: report.historyText)
    }
  }
}
