import DynSyncArtifacts
import DynSyncCore
import Foundation

/// Runs fixture cases: `record` writes what dynsync produces as the case's `expected/`, `verify`
/// compares what it produces with `expected/`.
///
/// Each case runs in a fresh temporary workspace, with the case folder as the working folder so
/// that paths in the outputs (`01-initial/contacts.json`) are the same on every machine. That
/// working folder is process-wide: run cases one at a time, as the `fixtures` command does.
public enum FixtureRunner {
  /// What `expected/runs.txt` records per export: a batch, no changes, or a refusal.
  static let runsFile = "runs.txt"

  public struct Result: Sendable {
    public var fixture: String
    public var differences: [String]
    public var passed: Bool { differences.isEmpty }
  }

  /// Runs `fixture` and writes its outputs as `expected/`, replacing what was there.
  public static func record(_ fixture: FixtureCase) throws {
    try produce(fixture) { produced in
      let expected = fixture.path + "/" + FixtureCase.expectedFolder
      try? FileManager.default.removeItem(atPath: expected)
      try FileManager.default.copyItem(atPath: produced, toPath: expected)
    }
  }

  /// Runs `fixture` and compares its outputs with `expected/`.
  public static func verify(_ fixture: FixtureCase) throws -> Result {
    let expected = fixture.path + "/" + FixtureCase.expectedFolder
    guard FileManager.default.fileExists(atPath: expected) else {
      return Result(
        fixture: fixture.name, differences: ["no expected/ folder: run `dynsync fixtures record \(fixture.path)`"])
    }
    var differences: [String] = []
    try produce(fixture) { produced in
      differences = BatchComparison.differences(expected: expected, actual: produced)
    }
    return Result(fixture: fixture.name, differences: differences.map { "expected/" + $0 })
  }

  /// Runs the case's exports in order and hands `body` a folder laid out like `expected/`.
  static func produce(_ fixture: FixtureCase, _ body: (String) throws -> Void) throws {
    let scratch = NSTemporaryDirectory() + "dynsync-fixture-" + UUID().uuidString.lowercased()
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let workspace = Workspace(root: scratch + "/workspace")
    let produced = scratch + "/produced"
    try FileManager.default.createDirectory(atPath: produced, withIntermediateDirectories: true)

    let definition = fixture.definition
    let mapping = definition.mapping.map { FieldMapping.standard.overlaid(with: $0) } ?? .standard
    let previousFolder = FileManager.default.currentDirectoryPath
    guard FileManager.default.changeCurrentDirectoryPath(fixture.path) else {
      throw InputError(file: fixture.path, reason: "cannot enter the case folder")
    }
    defer { _ = FileManager.default.changeCurrentDirectoryPath(previousFolder) }

    var runs: [String] = []
    for export in fixture.exports {
      let changes = FixtureCase.marketoChangesFiles.map { export + "/" + $0 }.first {
        FileManager.default.fileExists(atPath: $0)
      }
      let job = SyncJob(
        workspace: workspace, exports: [export], marketoChanges: changes,
        options: DiffOptions(ignoring: definition.ignoreFields ?? [], comparingOnly: []), mapping: mapping,
        massDeleteThreshold: definition.massDeleteThreshold ?? 0.2,
        allowMassDelete: definition.allowMassDelete ?? false,
        keptStates: .max)
      do {
        switch try job.run() {
        case .batch(let number, _, _, _): runs.append("\(export): batch \(Workspace.batchName(number))")
        case .unchanged: runs.append("\(export): no changes")
        }
      } catch let error as any UserFacingError {
        runs.append("\(export): refused: \(error.description.split(separator: "\n").first ?? "")")
      }
    }
    try Data((runs.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: produced + "/" + runsFile))
    for number in try workspace.batchNumbers() {
      let name = Workspace.batchName(number)
      for file in BatchComparison.files(under: workspace.batchFolder(number)) {
        let target = produced + "/" + name + "/" + file
        try FileManager.default.createDirectory(
          atPath: target.parentFolder, withIntermediateDirectories: true)
        var data = try Data(contentsOf: URL(fileURLWithPath: workspace.batchFolder(number) + "/" + file))
        if file == "manifest.json" { data = try withoutRunSection(data) }
        try data.write(to: URL(fileURLWithPath: target))
      }
    }
    try body(produced)
  }

  /// The manifest with its `run` section blanked: the one part that differs between runs.
  static func withoutRunSection(_ data: Data) throws -> Data {
    var manifest = try JSONDecoder().decode(Manifest.self, from: data)
    manifest.run = Manifest.Run(startedAt: "", finishedAt: "", durationSeconds: 0)
    return Data((try JSONOutput.encode(manifest) + "\n").utf8)
  }
}
