import ArgumentParser
import DynSync

@main
struct DynSyncCLI: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dynsync",
    abstract: "Offline Marketo ↔ Microsoft Dynamics 365 sync on exported files.",
    discussion: """
      dynsync reads Dataverse exports (Web API JSON pages and change-tracking deltas, FetchXML \
      result XML, Configuration Migration tool data.xml + data_schema.xml), compares snapshots \
      record by record, and writes batch artifacts for import pipelines.

      Start with `dynsync inspect EXPORT` to see what an export holds.
      """,
    version: DynSyncVersion.current,
    subcommands: [
      InspectCommand.self, DiffCommand.self, SyncCommand.self, StatusCommand.self, HistoryCommand.self,
      FixturesCommand.self, GenerateCommand.self,
    ]
  )
}
