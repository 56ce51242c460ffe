import DynSync
import Foundation
import Testing

@Suite("Regression fixtures")
struct FixturesTests {
  @Test("every case under Fixtures/ gives its expected batches")
  func verifyAll() throws {
    let (status, output) = try runDynsyncCapturing(["fixtures", "verify", FixturePath.root + "/Fixtures"])
    #expect(status == 0, "\(output)")
    let cases = try FixtureCase.cases(under: FixturePath.root + "/Fixtures")
    #expect(cases.count >= 20)
    #expect(output.contains("\(cases.count) passed, 0 failed"))
  }

  @Test("every rule of docs/sync-rules.md has a case named after it")
  func everyRuleHasACase() throws {
    let rules = try String(contentsOfFile: FixturePath.root + "/docs/sync-rules.md", encoding: .utf8)
      .split(separator: "\n").compactMap { line -> String? in
        guard line.hasPrefix("- **"), let end = line.dropFirst(4).range(of: "**") else { return nil }
        return String(line.dropFirst(4)[..<end.lowerBound])
      }
    #expect(rules.count >= 15)
    let cases = try FixtureCase.cases(under: FixturePath.root + "/Fixtures")
    for rule in rules {
      let matching = cases.filter { $0.definition.rule == rule }
      #expect(!matching.isEmpty, "no fixture case for the rule \"\(rule)\"")
      let slug = rule.lowercased().replacingOccurrences(of: " → ", with: "-to-").replacingOccurrences(
        of: " ", with: "-"
      )
      .replacingOccurrences(of: "de-duplication", with: "deduplication")
      #expect(matching.contains { $0.name.hasPrefix(slug) }, "the case for \"\(rule)\" is not named after it")
    }
  }

  @Test("a broken expectation fails, naming the case, the file, the record and the field")
  func brokenRule() throws {
    let folder = try TemporaryFolder()
    let broken = folder.path + "/filter-yes-to-no"
    try FileManager.default.copyItem(atPath: FixturePath.fixture("filter-yes-to-no"), toPath: broken)
    let persons = broken + "/expected/000002/marketo/persons-001.csv"
    let text = try String(contentsOfFile: persons, encoding: .utf8)
    #expect(text.contains(",false,Contact"))
    try Data(text.replacingOccurrences(of: ",false,Contact", with: ",true,Contact").utf8)
      .write(to: URL(fileURLWithPath: persons))

    let (status, output) = try runDynsyncCapturing(["fixtures", "verify", broken])
    #expect(status == 1)
    #expect(output.contains("FAIL  filter-yes-to-no"))
    #expect(
      output.contains(
        "expected/000002/marketo/persons-001.csv: record 1: field msftSyncing: expected \"true\" but got \"false\""),
      "\(output)")
    #expect(output.contains("0 passed, 1 failed"))
  }

  @Test("record writes what verify then accepts")
  func recordThenVerify() throws {
    let folder = try TemporaryFolder()
    let copy = folder.path + "/teams"
    try FileManager.default.copyItem(atPath: FixturePath.fixture("teams"), toPath: copy)
    try FileManager.default.removeItem(atPath: copy + "/expected")
    #expect(try runDynsync(["fixtures", "verify", copy]) == 1, "no expected/ yet")
    #expect(try runDynsync(["fixtures", "record", copy]) == 0)
    #expect(try runDynsync(["fixtures", "verify", copy]) == 0)
    let original = try DiffJobTests.contents(of: FixturePath.fixture("teams/expected"))
    #expect(try DiffJobTests.contents(of: copy + "/expected") == original, "recording is deterministic")
  }
}
