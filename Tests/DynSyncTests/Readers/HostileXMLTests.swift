import DynSync
import DynSyncReaders
import Foundation
import Testing

@Suite("Hostile XML is refused")
struct HostileXMLTests {
  @Test(
    "DTDs are refused before parsing: no external file, no network, no entity expansion",
    arguments: ["xxe.xml", "billion-laughs.xml", "external-dtd.xml"])
  func refused(name: String) throws {
    let path = FixturePath.readers("hostile/" + name)
    #expect {
      _ = try readEvents(path)
    } throws: { error in
      let error = try #require(error as? InputError)
      return error.file == path && error.line == 2 && error.reason.contains("DOCTYPE")
        && error.reason.contains("refused")
    }
    let snapshot = try loadSnapshot(from: [path])
    #expect(snapshot.tables.values.allSatisfy { $0.records.isEmpty })
    let report = try JSONOutput.encode(InspectionReport(snapshot: snapshot))
    #expect(!report.contains("root:x:0:0"), "nothing of /etc/passwd appears in any output")
    #expect(!report.contains("lollollol"))
  }

  @Test("an entity reference without a DTD is refused, not expanded")
  func bareEntityReference() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      "x.xml",
      "<resultset><result><accountid>{AAAA0001-0001-EF11-8409-000D3A8F1A01}</accountid><name>&secret;</name></result></resultset>"
    )
    #expect(throws: InputError.self) { _ = try readEvents(path) }
  }
}
