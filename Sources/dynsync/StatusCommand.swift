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

  @Option(help: "The workspace folder.")
  var workspace: String

  @Flag(help: "Print machine-readable JSON.")
  var json = false

  func run() throws {
    try reportingUserFacingErrors {
      let report = try WorkspaceReport(workspace: Workspace(root: workspace))
      print(json ? try JSONOutput.encode(report.status) : report.statusText, terminator: json ? "\n" : "")
    }
  }
}

struct HistoryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "history",
    abstract: "List a workspace's batches with their counts.",
    discussion: """
      Example:
        dynsync history --workspace ws
      """
  )

  @Option(help: "The workspace folder.")
  var workspace: String

  @Flag(help: "Print machine-readable JSON.")
  var json = false

  func run() throws {
    try reportingUserFacingErrors {
      let report = try WorkspaceReport(workspace: Workspace(root: workspace))
      print(json ? try JSONOutput.encode(report.batches) : report.historyText, terminator: json ? "\n" : "")
    }
  }
}
