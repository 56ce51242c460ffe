import DynSyncCore
import DynSyncReaders
import Foundation
import Testing

@testable import DynSync

private let schema = """
  <entities>
    <entity name="account" primaryidfield="accountid">
      <fields>
        <field name="accountid" type="guid" primaryKey="true" />
        <field name="name" type="string" />
        <field name="revenue" type="money" />
      </fields>
    </entity>
    <entity name="lead" primaryidfield="leadid">
      <fields><field name="leadid" type="guid" primaryKey="true" /><field name="subject" type="string" /></fields>
    </entity>
    <entity name="contact" primaryidfield="contactid">
      <fields>
        <field name="contactid" type="guid" primaryKey="true" />
        <field name="firstname" type="string" />
        <field name="numberofemployees" type="number" />
      </fields>
    </entity>
  </entities>
  """

/// A data.xml of three tables (the second empty), with records the schema rejects, comments that hold what a cut
/// looks for, and CRLF line ends in the last table.
private func craftedData() -> String {
  func id(_ number: Int) -> String { String(format: "%08x-0000-4000-8000-000000000000", number) }
  func account(_ number: Int) -> String {
    "      <record id=\"\(id(number))\"><field name=\"accountid\" value=\"\(id(number))\" />"
      + "<field name=\"name\" value=\"Account &amp; \(number)\" />"
      + "<field name=\"revenue\" value=\"\(number % 7 == 0 ? "lots" : "\(number).50")\" /></record>\n"
  }
  func contact(_ number: Int) -> String {
    "      <record id=\"\(id(number))\"><field name=\"contactid\" value=\"\(id(number))\" />"
      + "<field name=\"firstname\" value=\"Ada \(number)\" />"
      + "<field name=\"numberofemployees\" value=\"\(number % 5 == 0 ? "many" : "\(number)")\" /></record>\r\n"
  }
  var text = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<entities date=\"2025-06-29\">\n"
  text += "  <entity name=\"account\" displayname=\"Account\">\n    <records>\n"
  for number in 1...60 {
    text += account(number)
    if number % 17 == 0 { text += "      <!-- <record id=\"x\"> <entity name=\"lead\"> -->\n" }
  }
  text += "    </records>\n    <m2mrelationships />\n  </entity>\n"
  text += "  <entity name=\"lead\" displayname=\"Lead\">\n    <records />\n    <m2mrelationships />\n  </entity>\n"
  text += "  <entity name=\"contact\" displayname=\"Contact\">\r\n    <records>\r\n"
  for number in 100...160 { text += contact(number) }
  text += "    </records>\r\n    <m2mrelationships />\r\n  </entity>\r\n</entities>\n"
  return text
}

private func exportFile(_ folder: TemporaryFolder, data: String) throws -> ExportFile {
  try folder.write("export/data_schema.xml", schema)
  try folder.write("export/data.xml", data)
  return try #require(ExportInput.files(at: [folder.path + "/export"]).first)
}

/// The crafted data.xml written as an export, its index read whole, and the part sizes it is cut at.
private struct CraftedExport {
  let folder: TemporaryFolder
  let file: ExportFile
  let whole: FileIndex
  let partSizes: StrideThrough<Int>

  init() throws {
    folder = try TemporaryFolder()
    let data = craftedData()
    file = try exportFile(folder, data: data)
    whole = try indexWhole(file, number: 0, options: ReadOptions(), progress: SilentProgress())
    partSizes = stride(from: 150, through: data.utf8.count, by: 61)
  }
}

@Suite("A file indexed in parts")
struct IndexPartsTests {
  @Test("a CMT data.xml indexed in parts of any size gives the index of the whole file, or declines")
  func crafted() throws {
    let crafted = try CraftedExport()
    #expect(crafted.whole.rejects.count > 10)
    var parted = 0
    for size in crafted.partSizes {
      let options = ReadOptions(indexPartSize: size)
      guard let parts = indexInParts(crafted.file, number: 0, options: options, progress: SilentProgress()) else {
        continue
      }
      parted += 1
      #expect(parts == crafted.whole, "parts of \(size) bytes")
    }
    // Most cuts fall among records; those that fall in a comment leave their parts unterminated.
    #expect(parted > 100)
  }

  @Test("a file whose parts decline is read whole, announced once, to the whole file's index")
  func declinedAnnouncedOnce() throws {
    let crafted = try CraftedExport()
    let file = crafted.file
    // A size whose cuts give parts that do not fit together (one falls in a comment).
    let declining = try #require(
      crafted.partSizes.first { size in
        let options = ReadOptions(indexPartSize: size)
        return (try? ExportInput.indexParts(of: file, size: size))?.count ?? 0 > 1
          && indexInParts(file, number: 0, options: options, progress: SilentProgress()) == nil
      })
    let progress = ProgressRecorder()
    let indexed = try loadIndexes(
      of: [[crafted.folder.path + "/export"]], options: ReadOptions(indexPartSize: declining), progress: progress)
    #expect(progress.files == [file.path])
    #expect(indexed.first?.index.files.first?.summary.records == crafted.whole.summary.records)
    #expect(
      indexed.first?.index.tables.values.map(\.count).reduce(0, +)
        == crafted.whole.rows.values.map(\.count).reduce(0, +))
  }

  @Test(
    "a generated CMT org indexed in parts gives the index of the whole file", arguments: [997, 4_096, 65_536])
  func generated(size: Int) throws {
    let folder = try TemporaryFolder()
    try GeneratedExport(generator: OrgGenerator(records: 400, seed: 5), format: .configurationMigration)
      .write(to: folder.path + "/export")
    let file = try #require(ExportInput.files(at: [folder.path + "/export"]).first)
    let whole = try indexWhole(file, number: 0, options: ReadOptions(), progress: SilentProgress())
    let parts = indexInParts(file, number: 0, options: ReadOptions(indexPartSize: size), progress: SilentProgress())
    #expect(parts == whole)
  }

  @Test(
    "a file with a many-to-many relationship its schema does not declare, which only a full read handles, is not indexed in parts"
  )
  func relationships() throws {
    let folder = try TemporaryFolder()
    let file = try exportFile(folder, data: dataWithRelationship("x"))
    for size in [200, 2_000, 5_000] {
      #expect(
        indexInParts(file, number: 0, options: ReadOptions(indexPartSize: size), progress: SilentProgress()) == nil)
    }
  }

  @Test(
    "a file with many-to-many relationships its schema declares, indexed in parts, gives the index of the whole file")
  func declaredRelationships() throws {
    let folder = try TemporaryFolder()
    // The relationship in the accounts' entity, the first of the schema.
    var declared = schema
    let accountFields = try #require(declared.range(of: "</fields>"))
    declared.insert(
      contentsOf: "<relationships><relationship name=\"accountleads_association\" manyToMany=\"true\" "
        + "relatedEntityName=\"accountleads\" m2mTargetEntity=\"lead\" m2mTargetEntityPrimaryKey=\"leadid\" />"
        + "</relationships>", at: accountFields.upperBound)
    try folder.write("export/data_schema.xml", declared)
    let data = dataWithRelationship("accountleads_association")
    try folder.write("export/data.xml", data)
    let file = try #require(ExportInput.files(at: [folder.path + "/export"]).first)
    let whole = try indexWhole(file, number: 0, options: ReadOptions(), progress: SilentProgress())
    #expect(whole.rows["accountleads"]?.count == 2)
    // A cut among the accounts after their comments guesses the table wrong, and those parts decline.
    var parted = 0
    for size in stride(from: 150, through: data.utf8.count, by: 61) {
      guard
        let parts = indexInParts(file, number: 0, options: ReadOptions(indexPartSize: size), progress: SilentProgress())
      else { continue }
      parted += 1
      #expect(parts == whole, "parts of \(size) bytes")
    }
    #expect(parted > 100)
  }
}

/// The crafted data.xml with a relationship named `name` among the accounts' relationships.
private func dataWithRelationship(_ name: String) -> String {
  craftedData().replacingOccurrences(
    of: "<m2mrelationships />\n  </entity>\n  <entity name=\"lead\"",
    with: "<m2mrelationships><m2mrelationship sourceid=\"00000001-0000-4000-8000-000000000000\" "
      + "targetentityname=\"lead\" m2mrelationshipname=\"\(name)\"><targetids><targetid>"
      + "00000002-0000-4000-8000-000000000000</targetid>\n<targetid>00000003-0000-4000-8000-000000000000</targetid>"
      + "</targetids></m2mrelationship></m2mrelationships>\n  </entity>\n  <entity name=\"lead\"")
}
