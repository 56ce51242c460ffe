import DynSync
import DynSyncCore
import DynSyncReaders
import Foundation
import Testing

@Suite("Marketo state read in part")
struct MarketoStateInPartTests {
  @Test("a run that reads only the Marketo rows its changes reach writes the batch of one that reads them all")
  func sameBatchAsWholeRead() throws {
    let folder = try TemporaryFolder()
    let mutations: [OrgGenerator.Mutation?] = [
      nil, .init(), .init(creates: 0.02, updates: 0.08, deletes: 0.03),
      .init(creates: 0.2, updates: 0.3, deletes: 0.05),
      .init(creates: 0.01, updates: 0.02, deletes: 0.01), nil,
    ]
    var exports = try mutations.enumerated().map { position, mutation in
      let path = folder.path + "/export-\(position)"
      try GeneratedExport(generator: OrgGenerator(records: 1_500, seed: 9, mutation: mutation), format: .webAPI)
        .write(to: path)
      return path
    }
    exports.append("")
    let inPart = Workspace(root: folder.path + "/in-part")
    let whole = Workspace(root: folder.path + "/whole")
    var runsInPart = 0
    for run in exports.indices {
      if run == exports.count - 1 {
        // A change-tracking page, read in full, changing one contact.
        let contact = try #require(inPart.latestState().state.dynamics.tables["contact"]?.records.keys.min())
        exports[run] = try folder.write(
          "delta/contacts.json",
          #"{"@odata.context":"https://x/api/data/v9.2/$metadata#contacts/$delta","value":[{"jobtitle":"Chief Buyer","contactid":""#
            + contact.description + #""}]}"#)
      }
      let steps = ProgressRecorder()
      // Going from one mutation to the next drops the rows the one before created.
      var partJob = SyncJob(workspace: inPart, exports: [exports[run]], allowMassDelete: true, keptStates: 8)
      // Parts of a few lines: every file is read on both cores, in many parts.
      partJob.marketoStatePartSize = 4_096
      _ = try partJob.run(progress: steps)
      var wholeJob = SyncJob(workspace: whole, exports: [exports[run]], allowMassDelete: true, keptStates: 8)
      wholeJob.readsMarketoStateWhole = true
      _ = try wholeJob.run()
      if steps.steps.contains(where: { $0.hasSuffix("Marketo rows the changes reach") && $0.hasPrefix("read the ") }) {
        runsInPart += 1
      }
      let batch = run + 1
      let expected = try batchText(whole.batchFolder(batch))
      let actual = try batchText(inPart.batchFolder(batch))
      #expect(expected.keys.sorted() == actual.keys.sorted(), "batch \(batch)")
      for (path, text) in expected where actual[path] != text {
        Issue.record("batch \(batch): \(path) differs")
      }
    }
    // Every run after the first reads in part; the run of many changes writes files whole again.
    #expect(runsInPart == exports.count - 1)
  }

  /// A file of Marketo state lines, one row per key, in key order.
  static func stateFile(_ folder: TemporaryFolder, _ lines: [String]) throws -> String {
    try folder.write("persons.ndjson", lines.map { $0 + "\n" }.joined())
  }

  static func line(_ key: Int, id: String, extra: String = "") -> String {
    #"{"key":"\#(key)","row":{"email":["s","p\#(key)@example.com"],\#(extra)"msftId":["s","\#(id)"]}}"#
  }

  /// Lines of every shape a row takes: escapes, lists, a column written null, values holding brackets and commas.
  static func variedLines() -> [String] {
    ids.enumerated().map { key, id in
      switch key % 5 {
      case 0: line(key + 1, id: id.description, extra: #""note":["s","a \"quoted\" \\ line"],"#)
      case 1: line(key + 1, id: id.description, extra: #""tags":["m",["1","2"]],"msftLeadId":null,"#)
      case 2: #"{"key":"\#(key + 1)","row":{"msftId":null,"title":["s","[a],{b}"]}}"#
      case 3: line(key + 1, id: id.description, extra: #""owner":["l","systemuser","\#(id)"],"#)
      default: line(key + 1, id: id.description)
      }
    }
  }

  static let ids = (0..<40).map { GUID(high: 7, low: UInt64($0)) }

  @Test("a file read in parts hands on each row once: the rows picked decoded, the others where they lie")
  func partsAndLinesReadLater() throws {
    let folder = try TemporaryFolder()
    let lines = Self.variedLines()
    let path = try Self.stateFile(folder, lines)
    var whole: [String: MarketoRow] = [:]
    try StateReader.marketoRows(in: path) { key, row in whole[key] = row }
    let picked = Set(Self.ids.enumerated().filter { $0.offset % 4 == 1 }.map(\.element.description))
    let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    for partSize in [size, 700, 97] {
      var decoded: [String: MarketoRow] = [:]
      var outlined: [StateReader.MarketoLine] = []
      var lineBreaks = 0
      var start = 0
      let bytes = try #require(FileManager.default.contents(atPath: path))
      while start < size {
        // Each part ends after a line break.
        var end = min(start + partSize, size)
        while end < size, bytes[end - 1] != UInt8(ascii: "\n") { end += 1 }
        let part = try #require(
          try StateReader.marketoRows(
            in: path, range: start..<end, columns: [MarketoField.microsoftID, MarketoField.originatingLeadID],
            decodes: { _, values in
              if case .string(let id) = values[0] { return picked.contains(id) }
              return false
            },
            decoded: { key, row in decoded[key] = row },
            outlined: { line, values in
              var line = line
              line.line += lineBreaks
              outlined.append(line)
              #expect(values[0] == whole[line.key]?[MarketoField.microsoftID] ?? .null)
              #expect(values[1] == whole[line.key]?[MarketoField.originatingLeadID] ?? .null)
            }))
        lineBreaks += part.lineBreaks
        start = end
      }
      #expect(lineBreaks == lines.count)
      #expect(Set(decoded.keys).isDisjoint(with: outlined.map(\.key)))
      #expect(decoded.count + outlined.count == lines.count)
      #expect(
        decoded.values.allSatisfy { row in picked.contains(MarketoValues.text(row[MarketoField.microsoftID] ?? .null)) }
      )
      for (key, row) in decoded { #expect(whole[key] == row) }
      #expect(outlined.map(\.line) == outlined.map { Int($0.key) ?? 0 })
      var readLater: [String: MarketoRow] = [:]
      try StateReader.marketoRows(in: path, at: outlined) { key, row in readLater[key] = row }
      #expect(readLater.count == outlined.count)
      for (key, row) in readLater { #expect(whole[key] == row) }
    }
  }

  @Test(
    "a file the outline cannot vouch for is left to the whole read",
    arguments: [
      // A column name written with an escape could be one of the columns looked for.
      #"{"key":"3","row":{"msft\u0049d":["s","x"]}}"#,
      // Keys out of their written order.
      #"{"key":"1","row":{}}"#,
      // A removal outside an overlay.
      #"{"key":"3","removed":true}"#,
      // Not one object.
      #"{"key":"3","row":{"a":["s","x"]}"#,
      // A row that is not an object.
      #"{"key":"3","row":["s","x"]}"#,
      // No key.
      #"{"row":{}}"#,
    ])
  func refusals(_ third: String) throws {
    let folder = try TemporaryFolder()
    let path = try Self.stateFile(folder, [Self.line(1, id: "a"), Self.line(2, id: "b"), third])
    let outline = try StateReader.marketoRows(
      in: path, columns: [MarketoField.microsoftID], decodes: { _, _ in false }, decoded: { _, _ in },
      outlined: { _, _ in })
    #expect(outline == nil)
  }
}
