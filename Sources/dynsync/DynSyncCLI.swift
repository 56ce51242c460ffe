import ArgumentParser
import DynSync

#if canImport(CMalloc)
import CMalloc
#endif

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

  static func main() {
    #if canImport(CMalloc)
    // glibc grows the heap of each thread's arena a few pages at a time, each step an mprotect call that takes the
    // process's memory map lock, on which the other threads' page faults wait: an incremental sync of a 1M-record org
    // made about 106,000 of them. Grown 64 MB at a time (address space set aside, not memory used), a few dozen.
    mallopt(M_TOP_PAD, 64 << 20)
    #endif
    main(nil)
  }
}
