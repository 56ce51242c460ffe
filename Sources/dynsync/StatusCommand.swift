import ArgumentParser
import DynSync

struct StatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show a workspace's latest batch, its counts, and the state it holds.",
    discussion: """
      Example:
        dynsync status --workspace ws
      """
  )

  @OptionGroup var options: WorkspaceReportOptions

  func run() throws {
    try reportingUserFacingErrors {
      let report = try WorkspaceReport(workspace: Workspace(root: options.workspace))
      try options.print(json: report.status, text: report.statusText)
    }
  }
}
