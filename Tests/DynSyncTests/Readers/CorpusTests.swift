import DynSync
import Foundation
import Testing

/// Broken and hostile inputs, each with the exact outcome expected (`Tests/Corpus/<case>/expected.txt`).
@Suite("Broken-input corpus")
struct CorpusTests {
  static let root = FixturePath.root + "/Tests/Corpus"

  static var cases: [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
  }

  /// What reading a folder gives, as text: failed files, rejects, and the tables read.
  static func outcome(of folder: String) -> String {
    var lines: [String] = []
    do {
      let snapshot = try loadSnapshot(from: [folder])
      lines += snapshot.failedFiles.map { "failed: \($0)" }
      lines += snapshot.rejects.map { "rejected: \($0)" }
      lines += snapshot.problems.map { "problem: \($0)" }
      lines += snapshot.entityNames.map { "read: \($0) \(snapshot.tables[$0]?.records.count ?? 0)" }
    } catch {
      lines.append("error: \(error)")
    }
    return lines.joined(separator: "\n").replacingOccurrences(of: root + "/", with: "") + "\n"
  }

  @Test("each corpus case gives exactly its expected outcome", arguments: cases)
  func corpusCase(name: String) throws {
    let folder = Self.root + "/" + name
    let actual = Self.outcome(of: folder)
    if ProcessInfo.processInfo.environment["DYNSYNC_RECORD_CORPUS"] != nil {
      try Data(actual.utf8).write(to: URL(fileURLWithPath: folder + "/expected.txt"))
    }
    let expected = try String(contentsOfFile: folder + "/expected.txt", encoding: .utf8)
    #expect(actual == expected)
  }

  @Test("UTF-16 with a byte order mark is read exactly, surrogate pairs included")
  func utf16() throws {
    let snapshot = try loadSnapshot(from: [Self.root + "/utf16-bom"])
    #expect(snapshot.tables["account"]?.records.values.first?["name"] == .string("Café 😀"))
  }

  @Test("numbers beyond Int64 and beyond double precision are kept exactly")
  func bigNumbers() throws {
    let record = try #require(
      try loadSnapshot(from: [Self.root + "/number-beyond-int64"]).tables["account"]?.records.values.first)
    guard case .decimal(let employees) = record["numberofemployees"], case .decimal(let revenue) = record["revenue"]
    else {
      Issue.record("not decimals")
      return
    }
    #expect(employees.written == "92233720368547758070")
    #expect(revenue.written == "0." + String(repeating: "0", count: 60) + "1")
  }

  @Test("a 10 MB string value is read whole")
  func hugeString() throws {
    let folder = try TemporaryFolder()
    let big = String(repeating: "x", count: 10 * 1024 * 1024)
    let path = try folder.write(
      "accounts.json",
      #"{"@odata.context":"https://x/api/data/v9.2/$metadata#accounts","value":[{"description":"\#(big)","accountid":"aaaa0001-0001-ef11-8409-000d3a8f1a01"}]}"#
    )
    let record = try #require(try loadSnapshot(from: [path]).tables["account"]?.records.values.first)
    #expect(record["description"] == .string(big))
  }

  @Test("deeply nested JSON is refused at the depth limit, without exhausting the stack")
  func deepNesting() throws {
    let folder = try TemporaryFolder()
    let depth = 200_000
    let path = try folder.write(
      "accounts.json",
      #"{"@odata.context":"https://x/api/data/v9.2/$metadata#accounts","value":[{"x":"#
        + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}]}")
    let snapshot = try loadSnapshot(from: [path])
    #expect(snapshot.failedFiles.first?.reason == "JSON nested deeper than 512 levels is refused")
    #expect(snapshot.failedFiles.first?.line == 1)
  }

  @Test("a file that cannot be read is refused with the system's reason")
  func unreadable() throws {
    // Every read of /proc/self/mem at offset 0 fails (EIO), even for root, whom permissions do not stop.
    let outcome = Self.outcome(of: "/proc/self/mem")
    #expect(outcome == "error: /proc/self/mem: read failed: Input/output error\n", "\(outcome)")
  }

  @Test("a folder given as a file, and a missing file, are refused clearly")
  func notFiles() throws {
    let folder = try TemporaryFolder()
    #expect(Self.outcome(of: folder.path + "/nothing.json").contains("no such file or folder"))
  }
}
