import ArgumentParser
import DynSync

@main
struct DynSyncCLI: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dynsync",
    abstract: "Offline Marketo ↔ Microsoft Dynamics 365 sync on exported files.",
    discussion: """
      dynsync reads Dataverse exports (Web API JSON pages and change-tracking deltas, FetchXML \
      result XML, Configuration Migration tool data.xml + data_schema.xml or data.zip), compares \
      each export with the last record by record, and writes batches for import pipelines: \
      change sets, Marketo import files built by the sync's rules, writes back to Dynamics, \
      rejects and a manifest.

      Start with `dynsync inspect EXPORT` to see what an export holds, then \
      `dynsync sync --workspace WS EXPORT` for the initial sync and every export after it.
      """,
    version: DynSyncVersion.current,
    subcommands: [
      InspectCommand.self, DiffCommand.self, SyncCommand.self, StatusCommand.self, HistoryCommand.self,
      FixturesCommand.self, GenerateCommand.self,
    ]
  )
}
