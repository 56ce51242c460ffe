import ArgumentParser
import DynSync

struct GenerateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "generate",
    abstract: "Write a synthetic Dynamics org as an export, for trying dynsync out and for benchmarks.",
    discussion: """
      The org has users, teams, accounts, contacts, leads, opportunities and a custom table \
      (cr123_project), about 20 columns a row, lookups that resolve and choices with labels. \
      The same --records and --seed always write the same files. With --mutate, the export is \
      the org's next export: --creates new rows, --updates rows with 1–3 columns changed, and \
      --deletes rows gone (shares of each table). With --delta as well, the next export is \
      Web API change tracking: only the rows created or updated, and a $deletedEntity entry \
      for each row deleted (team memberships, an intersect table, are written whole).

      Examples:
        dynsync generate --records 100000 --seed 1 --format webapi gen/monday
        dynsync generate --records 100000 --seed 1 --format webapi --mutate gen/tuesday
        dynsync diff --previous gen/monday --current gen/tuesday --out gen/batch
        dynsync generate --records 100000 --seed 1 --mutate --delta gen/tuesday-delta
        dynsync sync --workspace ws gen/monday && dynsync sync --workspace ws gen/tuesday-delta
      """
  )

  @Option(help: "About how many rows the org has, over all tables.")
  var records: Int

  @Option(help: "The seed: the same seed gives the same org.")
  var seed: UInt64 = 1

  @Option(help: "webapi, fetchxml or cmt.")
  var format: String = "webapi"

  @Flag(help: "Write the org's next export instead: with creates, updates and deletes.")
  var mutate = false

  @Flag(help: "With --mutate and --format webapi: write the changes alone, as change-tracking pages.")
  var delta = false

  @Option(help: "With --mutate: the share of new rows.")
  var creates: Double = 0.01

  @Option(help: "With --mutate: the share of rows with 1–3 columns changed.")
  var updates: Double = 0.05

  @Option(help: "With --mutate: the share of rows deleted.")
  var deletes: Double = 0.01

  @Argument(help: "The folder to write the export into: a new or empty one.")
  var output: String

  func validate() throws {
    guard records > 0 else { throw ValidationError("--records must be positive") }
    guard ExportFormat(rawValue: format).map({ $0 != .marketoChanges }) == true else {
      throw ValidationError("--format must be webapi, fetchxml or cmt")
    }
    if delta, !mutate || format != ExportFormat.webAPI.rawValue {
      throw ValidationError(
        "--delta writes the changes of --mutate as Web API change tracking: add --mutate, and --format webapi")
    }
    for share in [creates, updates, deletes] where !(0...1).contains(share) {
      throw ValidationError("--creates, --updates and --deletes are shares between 0 and 1")
    }
  }

  func run() throws {
    try reportingUserFacingErrors {
      let mutation = mutate ? OrgGenerator.Mutation(creates: creates, updates: updates, deletes: deletes) : nil
      let generator = OrgGenerator(records: records, seed: seed, mutation: mutation)
      guard let exportFormat = ExportFormat(rawValue: format) else { return }
      let written = try GeneratedExport(generator: generator, format: exportFormat, delta: delta).write(to: output)
      let kind = delta ? ", changes of the next export" : mutate ? ", mutated" : ""
      print("\(written) \(delta ? "entries" : "rows") written to \(output) (\(format)\(kind))")
    }
  }
}
