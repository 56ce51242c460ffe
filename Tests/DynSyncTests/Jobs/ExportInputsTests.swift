import DynSyncArtifacts
import DynSyncCore
import Foundation
import Testing

@testable import DynSync

@Suite("An export's files digested after the index pass")
struct ExportInputsTests {
  /// The files as an index pass leaves them when it leaves their digests for later: no digest yet, and what `stat`
  /// said of each.
  static func leftForLater(_ paths: [String]) throws -> (
    inputs: [Manifest.Input], later: [(place: Int, identity: FileIdentity)]
  ) {
    let inputs = paths.map { Manifest.Input(file: ExportFileSummary(path: $0, format: .webAPI), sha256: "") }
    let later = try paths.indices.map { place in (place, try #require(FileIdentity(path: paths[place]))) }
    return (inputs, later)
  }

  @Test("files left for later are digested as they would have been while indexed, whatever their size")
  func digests() throws {
    let folder = try TemporaryFolder()
    // Empty, small, a block exactly, and three blocks and a bit: the digest reads a block of 1 MB at a time.
    let sizes = [0, 5, 1 << 20, 3 << 20 + 17]
    let paths = try sizes.enumerated().map { number, size in
      let path = folder.path + "/page\(number).json"
      try Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ number) }).write(to: URL(fileURLWithPath: path))
      return path
    }
    var (inputs, later) = try Self.leftForLater(paths)
    // A file digested while indexed keeps its digest.
    inputs[1].sha256 = "digested while indexed"
    later.remove(at: 1)
    let listed = try ExportInputs(inputs, later: later).listed()
    #expect(listed.map(\.file.path) == paths)
    #expect(listed[1].sha256 == "digested while indexed")
    for place in [0, 2, 3] {
      #expect(listed[place].sha256 == (try FileDigest.sha256(ofFile: paths[place])), "\(sizes[place]) bytes")
    }
  }

  @Test("a file changed or replaced after it was indexed fails the run, naming it")
  func changed() throws {
    let folder = try TemporaryFolder()
    let unchanged = try folder.write("unchanged.json", "{}")
    let appended = try folder.write("appended.json", "{\"value\":[]}")
    let replaced = try folder.write("replaced.json", "{\"value\":[]}")
    for (changedPath, change) in [
      (appended, { try folder.write("appended.json", "{\"value\":[{}]}") }),
      (
        replaced,
        {
          let other = try folder.write("other.json", "{\"value\":[]}")
          guard rename(other, replaced) == 0 else { throw CocoaError(.fileWriteUnknown) }
          return replaced
        }
      ),
    ] as [(String, () throws -> String)] {
      let (inputs, later) = try Self.leftForLater([unchanged, changedPath])
      _ = try change()
      let error = #expect(throws: InputError.self) { try ExportInputs(inputs, later: later).listed() }
      #expect(error?.file == changedPath)
      #expect(error?.reason.contains("changed after it was read") == true)
    }
    // A file gone since.
    let gone = try folder.write("gone.json", "{}")
    let (inputs, later) = try Self.leftForLater([gone])
    try FileManager.default.removeItem(atPath: gone)
    #expect(throws: InputError.self) { try ExportInputs(inputs, later: later).listed() }
  }

  @Test("a list never asked for stops its thread and lets go of its files")
  func neverAsked() throws {
    let folder = try TemporaryFolder()
    let path = folder.path + "/large.json"
    try Data(count: 8 << 20).write(to: URL(fileURLWithPath: path))
    let (inputs, later) = try Self.leftForLater(Array(repeating: path, count: 20))
    for _ in 0..<5 { _ = ExportInputs(inputs, later: later) }
  }

  /// Appends a line end to one file of an export once it is indexed, as a writer still at work on the export would.
  private final class AppendingOnceIndexed: ProgressObserver, @unchecked Sendable {
    let target: String
    init(target: String) { self.target = target }

    func readingFile(_ path: String, format: ExportFormat) {}
    func readRecords(_ counts: [String: Int], inFile path: String, elapsed: Duration) {
      guard path == target, let handle = FileHandle(forWritingAtPath: path) else { return }
      handle.seekToEndOfFile()
      handle.write(Data("\n".utf8))
      handle.closeFile()
    }
    func readingInFull(because reason: String) {}
    func finished(_ step: String, elapsed: Duration) {}
  }

  @Test("a sync whose export changes after it was indexed stops before its batch, naming the file")
  func changedDuringSync() throws {
    let folder = try TemporaryFolder()
    let exports = try IndexedSyncTests.exports(.webAPI, in: folder)
    let workspace = Workspace(root: folder.path + "/ws")
    _ = try SyncJob(workspace: workspace, exports: [exports[0]]).run()
    let page = try #require(try Workspace.files(in: exports[1], ending: ".json").first.map { exports[1] + "/" + $0 })
    var job = SyncJob(workspace: workspace, exports: [exports[1]])
    job.readOptions.laterDigestAge = .zero
    let error = #expect(throws: InputError.self) { try job.run(progress: AppendingOnceIndexed(target: page)) }
    #expect(error?.file == page)
    #expect(error?.reason.contains("changed after it was read") == true)
    #expect(try workspace.batchNumbers() == [1])
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: folder.path + "/ws/batches").filter { $0.hasPrefix(".") }
        .isEmpty)
    // The same export, left alone, makes its batch.
    guard case .batch(let number, _, _, _) = try job.run() else {
      Issue.record("no batch")
      return
    }
    #expect(number == 2)
  }

  @Test("only a file unchanged for the age asked is left for later")
  func age() throws {
    let folder = try TemporaryFolder()
    let identity = try #require(FileIdentity(path: try folder.write("fresh.json", "{}")))
    #expect(identity.isUnchanged(for: .zero))
    #expect(!identity.isUnchanged(for: .seconds(60)))
  }
}
