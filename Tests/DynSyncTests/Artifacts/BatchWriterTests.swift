import DynSyncArtifacts
import DynSyncCore
import Foundation
import Testing

@Suite("Batch folders appear whole or not at all")
struct BatchWriterTests {
  func entries(_ folder: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
  }

  @Test("a committed batch holds every file; the staging folder is gone")
  func commit() throws {
    let folder = try TemporaryFolder()
    let target = folder.path + "/batch"
    let writer = try BatchWriter(target: target)
    let artifact = try writer.write("changes/account.ndjson", "{}\n{}\n")
    #expect(artifact.lines == 2)
    #expect(!FileManager.default.fileExists(atPath: target))
    try writer.commit()
    #expect(try entries(folder.path) == ["batch"])
    #expect(try String(contentsOfFile: target + "/changes/account.ndjson", encoding: .utf8) == "{}\n{}\n")
  }

  @Test("a file of many buffers reads back whole, and its digest and line count are of every byte written")
  func manyBuffers() throws {
    let folder = try TemporaryFolder()
    let target = folder.path + "/batch"
    let writer = try BatchWriter(target: target)
    // Lines of uneven lengths, so that buffers fill and are handed on mid-line, several times over.
    var expected = ""
    let file = try writer.openFile("state/persons.ndjson")
    for number in 0..<60_000 {
      let line = "{\"key\":\"\(number)\",\"row\":\"" + String(repeating: "x", count: number % 97) + "\"}\n"
      expected += line
      try file.write(line)
    }
    try file.write("")
    let artifact = try file.finish()
    try writer.commit()
    #expect(expected.utf8.count > 3 << 20)
    let written = try String(contentsOfFile: target + "/state/persons.ndjson", encoding: .utf8)
    #expect(written == expected)
    #expect(artifact.lines == 60_000)
    #expect(artifact.sha256 == FileDigest.sha256(of: expected))
    #expect(artifact.sha256 == (try FileDigest.sha256(ofFile: target + "/state/persons.ndjson")))
  }

  @Test("lines made in blocks keep item order, and each item's lines are where its block says, none or several")
  func blocksOfLines() throws {
    // An item makes no line, one, or two of uneven lengths; enough items for several blocks and windows.
    let items = Array(0..<37_123)
    @Sendable func lines(of item: Int) -> String {
      switch item % 3 {
      case 0: ""
      case 1: "\(item):" + String(repeating: "y", count: item % 1_301) + "\n"
      default: "\(item)a\n\(item)b\n"
      }
    }
    var next = 0
    var blocks = 0
    forEachBlockOfLines(of: items) { item, json in
      json.appendRaw(lines(of: item))
    } _: { block in
      blocks += 1
      block.withBytes { bytes in
        for place in block.ends.indices {
          let made = String(decoding: bytes[block.lines(of: place)], as: UTF8.self)
          #expect(made == lines(of: next), "item \(next)")
          next += 1
        }
        #expect(block.ends.last == bytes.count)
      }
    }
    #expect(next == items.count)
    #expect(blocks > 16, "more than a window of blocks")

    let folder = try TemporaryFolder()
    let writer = try BatchWriter(target: folder.path + "/batch")
    let file = try writer.openFile("changes/lines.ndjson")
    try file.write(linesOf: items, lines)
    let artifact = try file.finish()
    try writer.commit()
    let expected = items.map(lines).joined()
    #expect(try String(contentsOfFile: folder.path + "/batch/changes/lines.ndjson", encoding: .utf8) == expected)
    #expect(artifact.lines == expected.utf8.count { $0 == UInt8(ascii: "\n") })
  }

  @Test("a failure midway leaves no batch folder; the staging folder is removed with the writer")
  func failMidway() throws {
    let folder = try TemporaryFolder()
    let target = folder.path + "/batch"
    let writer = try BatchWriter(target: target, faults: FaultPlan(afterFiles: 2))
    try writer.write("a.ndjson", "x\n")
    #expect {
      try writer.write("b.ndjson", "y\n")
    } throws: { error in
      (error as? OutputError)?.reason.contains("injected failure") == true
    }
    #expect(!FileManager.default.fileExists(atPath: target))
    withExtendedLifetime(writer) {}
    #expect(try entries(folder.path).count == 1, "only the hidden staging folder, until the writer is released")
    #expect(try entries(folder.path).allSatisfy { $0.hasPrefix(".batch.partial-") })
  }

  @Test("an existing batch is kept unless replacing, and replaced only once the new one is complete")
  func existingBatch() throws {
    let folder = try TemporaryFolder()
    let target = folder.path + "/batch"
    func manifest(_ run: Int) -> String { #"{"run":\#(run),"tool":{"name":"dynsync","version":"0"}}"# + "\n" }
    let first = try BatchWriter(target: target)
    try first.write("manifest.json", manifest(1))
    try first.commit()
    #expect(throws: OutputError.self) { _ = try BatchWriter(target: target) }
    let failing = try BatchWriter(target: target, replacing: true, faults: FaultPlan(beforeCommit: true))
    try failing.write("manifest.json", manifest(2))
    #expect(throws: OutputError.self) { try failing.commit() }
    #expect(try String(contentsOfFile: target + "/manifest.json", encoding: .utf8) == manifest(1))
    let replacing = try BatchWriter(target: target, replacing: true)
    try replacing.write("manifest.json", manifest(3))
    try replacing.commit()
    #expect(try String(contentsOfFile: target + "/manifest.json", encoding: .utf8) == manifest(3))
    #expect(try entries(folder.path).contains("batch"))
  }

  @Test("replacing takes only a batch of dynsync's or an empty folder, never a folder of other files or a file")
  func replacingOnlyBatches() throws {
    let folder = try TemporaryFolder()
    let documents = folder.path + "/documents"
    try FileManager.default.createDirectory(atPath: documents, withIntermediateDirectories: false)
    try "keep\n".write(toFile: documents + "/notes.txt", atomically: false, encoding: .utf8)
    try #"{"tool":{"name":"other"}}"#.write(toFile: documents + "/manifest.json", atomically: false, encoding: .utf8)
    #expect {
      _ = try BatchWriter(target: documents, replacing: true)
    } throws: { error in
      (error as? OutputError)?.reason.contains("not a batch of dynsync's") == true
    }
    #expect(try String(contentsOfFile: documents + "/notes.txt", encoding: .utf8) == "keep\n")
    let file = folder.path + "/report.csv"
    try "a,b\n".write(toFile: file, atomically: false, encoding: .utf8)
    #expect {
      _ = try BatchWriter(target: file, replacing: true)
    } throws: { error in
      (error as? OutputError)?.reason.contains("is a file") == true
    }
    #expect {
      _ = try BatchWriter(target: file + "/batches/000001")
    } throws: { error in
      (error as? OutputError).map { $0.path == file && $0.reason == "is a file, not a folder" } == true
    }
    let empty = folder.path + "/empty"
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
    let writer = try BatchWriter(target: empty, replacing: true)
    try writer.write("manifest.json", "{}\n")
    try writer.commit()
    #expect(try entries(empty) == ["manifest.json"])
  }

  @Test("a released writer that never committed removes its staging folder")
  func releasedWriter() throws {
    let folder = try TemporaryFolder()
    do {
      let writer = try BatchWriter(target: folder.path + "/batch")
      try writer.write("a.ndjson", "x\n")
    }
    #expect(try entries(folder.path).isEmpty)
  }

  @Test("paths from input never leave the batch folder")
  func pathSafety() throws {
    let folder = try TemporaryFolder()
    let writer = try BatchWriter(target: folder.path + "/batch")
    #expect(throws: OutputError.self) { try writer.write("../escape.ndjson", "x") }
    #expect(throws: OutputError.self) { try writer.write("/tmp/escape.ndjson", "x") }
    #expect(BatchWriter.safeFileName("account") == "account")
    #expect(BatchWriter.safeFileName("../../x") == "%2E%2E%2F%2E%2E%2Fx")
    #expect(!BatchWriter.safeFileName("a/b").contains("/"))
  }
}
