import DynSyncCore
import Foundation
import Testing

@testable import DynSyncArtifacts

@Suite("Import-ready Marketo files")
struct MarketoFilesTests {
  func persons(_ count: Int, padding: Int) -> MarketoDatasets {
    var datasets = MarketoDatasets()
    for id in 1...count {
      datasets.persons.rows[String(id)] = [
        "id": .integer(Int64(id)), "email": .string("p\(id)@example.com"),
        "personNotes": .string(String(repeating: "x", count: padding)),
      ]
    }
    return datasets
  }

  func csvFiles(in folder: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder + "/marketo").filter { $0.hasSuffix(".csv") }.sorted()
  }

  @Test("CSV files split by bytes at the 10 MB boundary, each under it, each with the header, no row lost")
  func splitAtTenMegabytes() throws {
    let folder = try TemporaryFolder()
    let writer = try BatchWriter(target: folder.path + "/batch")
    // Rows of about 1,030 bytes: 10,050 of them make about 10.35 MB, just over the limit.
    let datasets = persons(10_050, padding: 1_000)
    let artifacts = try MarketoFiles.write(datasets, to: writer)
    try writer.commit()
    let files = try csvFiles(in: folder.path + "/batch")
    #expect(files == ["persons-001.csv", "persons-002.csv"])
    var ids: [Int] = []
    for file in files {
      let path = folder.path + "/batch/marketo/" + file
      let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
      #expect(size <= MarketoFiles.csvByteLimit)
      let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\r\n")
      #expect(lines.first == "id,email,personNotes")
      ids += lines.dropFirst().compactMap { Int($0.prefix { $0 != "," }) }
    }
    #expect(ids == Array(1...10_050), "every row once, in id order")
    #expect(artifacts.filter { $0.path.hasSuffix(".csv") }.map(\.lines).reduce(0, +) == 10_050 + 2)
  }

  @Test("a dataset without rows writes no file")
  func emptyDatasets() throws {
    let folder = try TemporaryFolder()
    let writer = try BatchWriter(target: folder.path + "/batch")
    #expect(try MarketoFiles.write(MarketoDatasets(), to: writer).isEmpty)
  }

  @Test("a file just under the limit is not split")
  func justUnder() throws {
    let folder = try TemporaryFolder()
    let writer = try BatchWriter(target: folder.path + "/batch")
    _ = try MarketoFiles.write(persons(3, padding: 10), to: writer, csvByteLimit: 1_000)
    try writer.commit()
    #expect(try csvFiles(in: folder.path + "/batch") == ["persons-001.csv"])
  }

  @Test("cells are quoted as RFC 4180 wants; values are written as Marketo reads them")
  func cells() throws {
    var datasets = MarketoDatasets()
    datasets.persons.rows["1"] = [
      "id": .integer(1), "company": .string("Smith, \"Jones\" & Co"), "personNotes": .string("line\nbreak"),
      "annualRevenue": .decimal(try #require(ExactDecimal("2E4"))), "unsubscribed": .boolean(false),
      "dateOfBirth": .date(try #require(CalendarDate("1988-04-05"))), "fax": .null,
      // Edge spaces, a carriage return, a quote that a combining mark joins, letters beyond ASCII.
      "firstName": .string(" Ana"), "lastName": .string("Müller "), "state": .string("a\rb"),
      "title": .string("\"\u{301}x"),
      // Whole numbers written from their digits, the smallest too.
      "numberOfEmployees": .integer(-42), "leadScore": .optionSet(Int64.min),
      // Instants, ids and flags written straight into the line, as `MarketoValues.text` spells them.
      "msftCreatedDate": .dateTime(try #require(Timestamp(iso: "2025-03-04T18:02:44.05Z"))),
      "msftModifiedDate": .dateTime(try #require(Timestamp(iso: "1999-12-31T23:59:59Z"))),
      "msftId": .guid(GUID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)),
      "msftOwnerId": .lookup(Lookup(entity: "systemuser", id: GUID(high: 1, low: 2))), "msftSyncing": .boolean(true),
    ]
    let folder = try TemporaryFolder()
    let writer = try BatchWriter(target: folder.path + "/batch")
    _ = try MarketoFiles.write(datasets, to: writer)
    try writer.commit()
    let text = try String(contentsOfFile: folder.path + "/batch/marketo/persons-001.csv", encoding: .utf8)
    #expect(
      text == "id,annualRevenue,company,dateOfBirth,fax,firstName,lastName,leadScore,msftCreatedDate,msftId,"
        + "msftModifiedDate,msftOwnerId,msftSyncing,numberOfEmployees,personNotes,state,title,unsubscribed\r\n"
        + "1,20000,\"Smith, \"\"Jones\"\" & Co\",1988-04-05,,\" Ana\",\"Müller \",-9223372036854775808,"
        + "2025-03-04T18:02:44.05Z,01234567-89ab-cdef-fedc-ba9876543210,1999-12-31T23:59:59Z,"
        + "00000000-0000-0001-0000-000000000002,true,-42,"
        + "\"line\nbreak\",\"a\rb\",\"\"\"\u{301}x\",false\r\n")
    // Each cell as the values' text makes it.
    let row = try #require(datasets.persons.rows["1"])
    let header = text.split(separator: "\r\n").first.map { $0.split(separator: ",").map(String.init) } ?? []
    #expect(
      text.hasSuffix(MarketoFiles.csvLine(row.values(of: header).map { $0.map(MarketoValues.text) ?? "" })))
  }

  @Test("a cell is quoted wherever its comma, quote or line break lies, and left bare with none")
  func quotingAtEveryPlace() {
    for length in 1...20 {
      for place in 0..<length {
        for special in [",", "\"", "\n", "\r", "é", "+", "-", "\u{0C}", "\u{2C}\u{301}"] {
          var characters = Array(repeating: "a", count: length)
          characters[place] = special
          let text = characters.joined()
          var line = JSONBytes()
          MarketoFiles.appendCell(text: text, to: &line)
          let quoted = text.unicodeScalars.contains { ",\"\n\r".unicodeScalars.contains($0) }
          let expected = quoted ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
          #expect(line.text == expected, "\(length) bytes, \(special.debugDescription) at \(place)")
        }
      }
    }
  }

  @Test("datasets are written in Marketo's load order")
  func loadOrder() throws {
    let folder = try TemporaryFolder()
    let writer = try BatchWriter(target: folder.path + "/batch")
    var datasets = persons(1, padding: 1)
    for name in ["salesUsers", "teams", "companies", "opportunities", "opportunityRoles"] {
      datasets[dataset: name] = MarketoDataset(rows: ["x": ["msftRecordId": .string("x")]])
    }
    datasets.customObjects["cr123_project"] = MarketoDataset(rows: ["x": ["msftRecordId": .string("x")]])
    let paths = try MarketoFiles.write(datasets, to: writer).map(\.path)
    #expect(
      paths == [
        "marketo/salesUsers.ndjson", "marketo/teams.ndjson", "marketo/companies.ndjson", "marketo/persons-001.csv",
        "marketo/opportunities.ndjson", "marketo/opportunityRoles.ndjson",
        "marketo/custom-objects/cr123_project-001.csv",
      ])
  }
}
