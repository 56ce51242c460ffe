import DynSync
import DynSyncReaders
import Foundation
import Testing

@Suite("Bad input is reported with file, line and record")
struct BadInputTests {
  let context = #""@odata.context":"https://x/api/data/v9.2/$metadata#accounts""#

  @Test("malformed JSON stops the file with its position")
  func malformedJSON() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      "accounts.json",
      "{\(context),\n\"value\":[\n{\"name\":\"A\",\"accountid\":\"00000000-0000-0000-0000-000000000001\"},\n{\"name\" \"B\"}]}"
    )
    #expect {
      _ = try readEvents(path)
    } throws: { error in
      let error = try #require(error as? InputError)
      return error.file == path && error.line == 4 && error.column == 9
        && error.description.contains("expected ':'")
    }
    let snapshot = try loadSnapshot(from: [path])
    #expect(snapshot.failedFiles.count == 1)
    #expect(snapshot.tables["account"]?.records.count == 1, "rows before the error are kept")
    #expect(!snapshot.isComplete)
  }

  @Test("truncated JSON says where it ends")
  func truncatedJSON() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write("accounts.json", "{\(context),\"value\":[{\"name\":\"A")
    #expect {
      _ = try readEvents(path)
    } throws: { error in
      (error as? InputError)?.reason.contains("unterminated string") == true
    }
  }

  @Test("an unknown envelope is refused")
  func unknownEnvelope() throws {
    let folder = try TemporaryFolder()
    let noValue = try folder.write("x.json", #"{"@odata.context":"https://x/$metadata#accounts","rows":[]}"#)
    #expect {
      _ = try readEvents(noValue)
    } throws: { error in
      let error = try #require(error as? InputError)
      return error.file == noValue && error.line == 1 && error.reason.contains("no \"value\" array")
    }
    let noContext = try folder.write("y.json", #"{"value":[]}"#)
    #expect {
      _ = try readEvents(noContext)
    } throws: { error in
      let error = try #require(error as? InputError)
      return error.file == noContext && error.reason.contains("@odata.context")
    }
    let unknownXML = try folder.write("z.xml", "<rows><row/></rows>")
    #expect {
      _ = try ExportInput.files(at: [unknownXML])
    } throws: { error in
      let error = try #require(error as? InputError)
      return error.file == unknownXML && error.reason.contains("unknown XML export (root <rows>)")
    }
  }

  @Test("a record without its primary id is rejected and the rest is read")
  func missingPrimaryID() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      "accounts.json",
      "{\(context),\"value\":[\n{\"name\":\"No id\"},\n{\"name\":\"B\",\"accountid\":\"00000000-0000-0000-0000-000000000002\"}]}"
    )
    let (events, summary) = try readEvents(path)
    #expect(events.records.count == 1)
    let reject = try #require(events.rejects.first)
    #expect(reject.file == path)
    #expect(reject.line == 2)
    #expect(reject.entity == "account")
    #expect(reject.description.contains("no primary id column \"accountid\""))
    #expect(summary.rejects == 1)
  }

  @Test("a duplicate id in one export is rejected, naming both places, not last-wins")
  func duplicateID() throws {
    let folder = try TemporaryFolder()
    let first = try folder.write(
      "p1.json",
      "{\(context),\"value\":[\n{\"name\":\"First\",\"accountid\":\"abcd0000-0000-0000-0000-000000000003\"}]}")
    // The same id again, in upper case, on line 3 of another page.
    let second = try folder.write(
      "p2.json",
      "{\(context),\"value\":[\n\n{\"name\":\"Second\",\"accountid\":\"ABCD0000-0000-0000-0000-000000000003\"}]}")
    let snapshot = try loadSnapshot(from: [first, second])
    let record = try #require(snapshot.tables["account"]?.records[guid("abcd0000-0000-0000-0000-000000000003")])
    #expect(record["name"] == .string("First"))
    let reject = try #require(snapshot.rejects.first)
    #expect(reject.file == second)
    #expect(reject.line == 3)
    #expect(reject.recordID == "abcd0000-0000-0000-0000-000000000003")
    #expect(reject.description.contains("duplicate id") && reject.description.contains("\(first):2"))
  }

  @Test("a value that does not fit its declared type is rejected")
  func typeMismatch() throws {
    let folder = try TemporaryFolder()
    try folder.write(
      "data_schema.xml",
      """
      <entities><entity name="account" primaryidfield="accountid"><fields>
      <field name="accountid" type="guid" primaryKey="true"/><field name="numberofemployees" type="number"/>
      </fields></entity></entities>
      """)
    let data = try folder.write(
      "data.xml",
      """
      <entities>
        <entity name="account"><records>
          <record id="00000000-0000-0000-0000-000000000004"><field name="numberofemployees" value="many"/></record>
          <record id="00000000-0000-0000-0000-000000000005"><field name="numberofemployees" value="12"/></record>
          <record id="00000000-0000-0000-0000-000000000006"><field name="fax" value="555"/></record>
        </records></entity>
      </entities>
      """)
    let (events, _) = try readEvents(data)
    #expect(events.records.map(\.id) == [guid("00000000-0000-0000-0000-000000000005")])
    let rejects = events.rejects
    try #require(rejects.count == 2)
    #expect(rejects[0].line == 3)
    #expect(rejects[0].recordID == "00000000-0000-0000-0000-000000000004")
    #expect(rejects[0].description.contains("\"many\" of \"numberofemployees\" does not fit its schema type number"))
    #expect(rejects[1].description.contains("\"fax\" is not in"))

    let lookup = try folder.write(
      "accounts.json",
      "{\(context),\"value\":[{\"_ownerid_value\":\"nobody\",\"accountid\":\"00000000-0000-0000-0000-000000000007\"}]}")
    let reject = try #require(try readEvents(lookup).events.rejects.first)
    #expect(reject.description.contains("lookup \"_ownerid_value\" is not a GUID"))
    #expect(reject.recordID == "00000000-0000-0000-0000-000000000007")
  }

  @Test("malformed XML stops the file with its line")
  func malformedXML() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      "accounts.xml",
      "<resultset morerecords=\"0\">\n<result><accountid>{AAAA0001-0001-EF11-8409-000D3A8F1A01}</accountid>\n<name>A</nam></result></resultset>"
    )
    #expect {
      _ = try readEvents(path)
    } throws: { error in
      let error = try #require(error as? InputError)
      return error.line == 3 && error.reason.contains("malformed XML")
    }
  }

  @Test("a folder named as a file, an empty file and a missing file are refused clearly")
  func unreadable() throws {
    let folder = try TemporaryFolder()
    let empty = try folder.write("empty.json", "")
    #expect {
      _ = try ExportInput.files(at: [empty])
    } throws: { error in
      (error as? InputError)?.reason == "the file is empty"
    }
    #expect {
      _ = try ExportInput.files(at: [folder.path + "/missing.json"])
    } throws: { error in
      (error as? InputError)?.reason == "no such file or folder"
    }
    #expect {
      _ = try WebAPIReader(path: folder.path).read { _ in }
    } throws: { error in
      (error as? InputError)?.reason.contains("is a directory") == true
    }
  }
}
