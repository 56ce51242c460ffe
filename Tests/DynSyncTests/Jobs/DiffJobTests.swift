import DynSync
import Foundation
import Testing

@Suite("dynsync diff on files")
struct DiffJobTests {
  static let previous = [FixturePath.sample("contoso/01-initial/webapi")]
  static let current = [FixturePath.sample("contoso/02-next/webapi")]

  /// Every file of a batch folder, by relative path, with the manifest's run section blanked.
  static func contents(of batch: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    let enumerator = try #require(FileManager.default.enumerator(atPath: batch))
    while let relative = enumerator.nextObject() as? String {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: batch + "/" + relative, isDirectory: &isDirectory),
        !isDirectory.boolValue
      else { continue }
      var data = try Data(contentsOf: URL(fileURLWithPath: batch + "/" + relative))
      if relative == "manifest.json" {
        var manifest = try JSONDecoder().decode(Manifest.self, from: data)
        manifest.run = Manifest.Run(startedAt: "", finishedAt: "", durationSeconds: 0)
        data = Data(try JSONOutput.encode(manifest).utf8)
      }
      files[relative] = data
    }
    return files
  }

  @Test("the sample org's second export diffs to the changes made in it")
  func sampleChanges() throws {
    let folder = try TemporaryFolder()
    let outcome = try DiffJob(previous: Self.previous, current: Self.current, output: folder.path + "/batch").run()
    let counts = Dictionary(uniqueKeysWithValues: outcome.diff.tables.map { ($0.entity, $0.counts) })
    #expect(counts["account"]?.created == 3)
    #expect(counts["account"]?.updated == 2)
    #expect(counts["contact"]?.deleted == 1)
    #expect(counts["contact"]?.fieldChanges["jobtitle"] == 5)
    #expect(counts["lead"]?.deleted == 2)
    #expect(counts["teammembership"]?.created == 1)
    #expect(counts["systemuser"]?.changes == 0)
    let lines = try String(contentsOfFile: folder.path + "/batch/changes/account.ndjson", encoding: .utf8)
      .split(separator: "\n")
    #expect(lines.count == 5)
    let ids = try lines.map { line in
      let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      return try #require(object["id"] as? String)
    }
    #expect(ids == ids.sorted(), "changes are sorted by id")
    #expect(lines[0].hasPrefix("{\"after\":"), "keys are sorted")
    #expect(outcome.manifest.inputs["current"]?.count == 9)
    #expect(outcome.manifest.inputs["current"]?.allSatisfy { $0.sha256.count == 64 } == true)
  }

  @Test("the same inputs give byte-identical artifacts outside manifest.run")
  func deterministic() throws {
    let folder = try TemporaryFolder()
    let first = try DiffJob(previous: Self.previous, current: Self.current, output: folder.path + "/one").run()
    let second = try DiffJob(previous: Self.previous, current: Self.current, output: folder.path + "/two").run()
    #expect(first.manifest.artifacts == second.manifest.artifacts)
    let one = try Self.contents(of: first.batch)
    let two = try Self.contents(of: second.batch)
    #expect(one.keys.sorted() == two.keys.sorted())
    #expect(one.count == 8)
    for (path, data) in one { #expect(two[path] == data, "\(path) differs between runs") }
  }

  @Test("an incomplete export is refused rather than read as mass deletion")
  func incompleteRefused() throws {
    let folder = try TemporaryFolder()
    let firstPageOnly = [
      FixturePath.sample("contoso/02-next/webapi/accounts_page1.json"),
      FixturePath.sample("contoso/02-next/webapi/contacts.json"),
    ]
    #expect {
      _ = try DiffJob(previous: Self.previous, current: firstPageOnly, output: folder.path + "/batch").run()
    } throws: { error in
      (error as? IncompleteExport)?.description.contains("last page is missing") == true
    }
    #expect(!FileManager.default.fileExists(atPath: folder.path + "/batch"))
  }

  @Test(
    "a run killed midway leaves no batch; rerunning gives the same batch",
    arguments: ["crash-after-files:1", "crash-after-files:3", "crash-before-commit"])
  func killedMidway(fault: String) throws {
    let folder = try TemporaryFolder()
    let batch = folder.path + "/batch"
    let arguments =
      ["diff", "--quiet", "--previous"] + Self.previous + ["--current"] + Self.current + ["--out", batch]
    let crashed = try runDynsync(arguments, environment: ["DYNSYNC_FAULT": fault])
    #expect(crashed == 137)
    #expect(!FileManager.default.fileExists(atPath: batch), "nothing that looks like a batch")
    #expect(try runDynsync(arguments) == 1, "differences found")
    let clean = try DiffJob(previous: Self.previous, current: Self.current, output: folder.path + "/clean").run()
    #expect(try Self.contents(of: batch) == Self.contents(of: clean.batch))
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["batch", "clean"])
  }

  @Test("a batch folder inside the newer export is not read as part of it when the diff runs again")
  func batchInsideExport() throws {
    let folder = try TemporaryFolder()
    let current = folder.path + "/current"
    try FileManager.default.copyItem(atPath: Self.current[0], toPath: current)
    let first = try DiffJob(previous: Self.previous, current: [current], output: current + "/batch").run()
    let again = try DiffJob(previous: Self.previous, current: [current], output: current + "/batch", replacing: true)
      .run()
    #expect(again.diff.totals == first.diff.totals)
    #expect(try Self.contents(of: current + "/batch") == Self.contents(of: first.batch))
  }

  @Test("a batch folder named by one letter, relative to the working directory", arguments: ["b", "c/"])
  func oneLetterFolder(out: String) throws {
    let folder = try TemporaryFolder()
    let arguments = ["diff", "--quiet", "--previous"] + Self.previous + ["--current"] + Self.current + ["--out", out]
    let result = try runProgram(dynsyncExecutable(), arguments, in: folder.path)
    #expect(result.status == 1, "differences found: \(result.errors)")
    let clean = try DiffJob(previous: Self.previous, current: Self.current, output: folder.path + "/clean").run()
    #expect(try Self.contents(of: folder.path + "/" + out) == Self.contents(of: clean.batch))
  }
}

/// Runs the built `dynsync` executable and returns its exit status.
func runDynsync(_ arguments: [String], environment: [String: String] = [:]) throws -> Int32 {
  try runDynsyncCapturing(arguments, environment: environment).status
}

/// Runs the built `dynsync` executable and returns its exit status and what it printed on stdout.
func runDynsyncCapturing(_ arguments: [String], environment: [String: String] = [:]) throws -> (
  status: Int32, output: String
) {
  let result = try runProgram(dynsyncExecutable(), arguments, environment: environment)
  return (result.status, result.output)
}

/// Runs a program and returns its exit status and what it printed on stdout and stderr.
func runProgram(
  _ executable: URL, _ arguments: [String], environment: [String: String] = [:], in directory: String? = nil
) throws -> (status: Int32, output: String, errors: String) {
  let process = Process()
  process.executableURL = executable
  process.arguments = arguments
  if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  let output = Pipe()
  let errors = Pipe()
  process.standardOutput = output
  process.standardError = errors
  try process.run()
  // stderr is drained on another thread so that neither pipe can fill up and stall the program.
  let errorData = LockedData()
  let drain = Thread { errorData.set(errors.fileHandleForReading.readDataToEndOfFile()) }
  drain.start()
  let data = output.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  while !errorData.isSet { usleep(1_000) }
  return (
    process.terminationStatus, String(decoding: data, as: UTF8.self), String(decoding: errorData.value, as: UTF8.self)
  )
}

/// Data handed from one thread to another.
final class LockedData: @unchecked Sendable {
  private let lock = NSLock()
  private var data: Data?

  func set(_ value: Data) { lock.withLock { data = value } }
  var isSet: Bool { lock.withLock { data != nil } }
  var value: Data { lock.withLock { data ?? Data() } }
}

/// The `dynsync` executable built beside the test bundle.
func dynsyncExecutable() -> URL {
  var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("dynsync").path), folder.path != "/" {
    folder.deleteLastPathComponent()
  }
  return folder.appendingPathComponent("dynsync")
}
