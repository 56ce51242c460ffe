import ArgumentParser
import DynSync

struct FixturesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fixtures",
    abstract: "Keep regression fixtures of a sync: these exports must give these batches.",
    discussion: """
      A fixture case is a folder with:
        case.json      {"description": "…", "rule": "…", "ignoreFields": […], "mapping": {…}}
        01-initial/    the first export, in any format dynsync reads
        02-next/ …     the exports after it, synced in name order
        expected/      the batches they must give (without state/ and manifest.run),
                       and runs.txt: what each export gave (a batch, no changes, a refusal)

      Examples:
        dynsync fixtures verify Fixtures
        dynsync fixtures record Fixtures/filter-yes-to-no
      """,
    subcommands: [VerifyFixturesCommand.self, RecordFixturesCommand.self]
  )
}

struct VerifyFixturesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Run every case under the folders given and compare with expected/.",
    discussion: "Exit status: 0 when every case passes, 1 when one fails, 2 on error."
  )

  @Argument(help: "Fixture case folders, or folders holding cases.")
  var paths: [String]

  func run() throws {
    try reportingUserFacingErrors {
      var failed = 0
      var total = 0
      try forEachCase(in: paths) { fixture in
        total += 1
        let result = try FixtureRunner.verify(fixture)
        if result.passed {
          print("pass  \(fixture.name)")
        } else {
          failed += 1
          print("FAIL  \(fixture.name)")
          for difference in result.differences { print("      \(fixture.path)/\(difference)") }
        }
      }
      print("\(total - failed) passed, \(failed) failed")
      if failed > 0 { throw ExitCode(1) }
    }
  }
}

struct RecordFixturesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "record",
    abstract: "Run cases and write what they give as their expected/ (check it before committing).",
    discussion: "Example:\n  dynsync fixtures record Fixtures/filter-yes-to-no"
  )

  @Argument(help: "Fixture case folders, or folders holding cases.")
  var paths: [String]

  func run() throws {
    try reportingUserFacingErrors {
      try forEachCase(in: paths) { fixture in
        try FixtureRunner.record(fixture)
        print("recorded \(fixture.path)/expected")
      }
    }
  }
}

/// Every case under the folders given, one at a time (cases change the working folder).
func forEachCase(in paths: [String], _ body: (FixtureCase) throws -> Void) throws {
  for path in paths {
    for fixture in try FixtureCase.cases(under: path) { try body(fixture) }
  }
}
