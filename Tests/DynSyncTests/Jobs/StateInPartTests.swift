import DynSync
import DynSyncArtifacts
import DynSyncCore
import DynSyncReaders
import Foundation
import Testing

@Suite("State read in part")
struct StateInPartTests {
  @Test(
    "a run that reads only the records and rows its changes reach writes the batch of one that reads them all",
    arguments: [(dynamics: true, marketo: true), (dynamics: true, marketo: false), (dynamics: false, marketo: true)])
  func sameBatchAsWholeRead(inPart sides: (dynamics: Bool, marketo: Bool)) throws {
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
    // A change-tracking page, then a full export again: the tables the page changed have no fingerprints left, so
    // every row of theirs differs.
    let deltaRun = exports.count
    exports += ["", exports[2]]
    let inPart = Workspace(root: folder.path + "/in-part")
    let whole = Workspace(root: folder.path + "/whole")
    var runsInPart = 0
    var runsWhole: [Int] = []
    for run in exports.indices {
      if run == deltaRun {
        // A change-tracking page, read in full: one contact changed, one deleted, one created.
        let contacts = try #require(inPart.latestState().state.dynamics.tables["contact"]?.records.keys.sorted())
        let context = "https://x/api/data/v9.2/$metadata#contacts"
        exports[run] = try folder.write(
          "delta/contacts.json",
          #"{"@odata.context":"\#(context)/$delta","value":[{"jobtitle":"Chief Buyer","contactid":"\#(contacts[0])"},"#
            + #"{"@odata.context":"\#(context)/$deletedEntity","id":"\#(contacts[1])","reason":"deleted"},"#
            + #"{"firstname":"Nova","lastname":"New","contactid":"ffffffff-0000-0000-0000-000000000001"}]}"#)
      }
      let steps = ProgressRecorder()
      // Going from one mutation to the next drops the rows the one before created.
      var partJob = SyncJob(workspace: inPart, exports: [exports[run]], allowMassDelete: true, keptStates: 8)
      // Parts of a few lines: every file is read on both cores, in many parts.
      partJob.marketoStatePartSize = 4_096
      partJob.dynamicsStatePartSize = 4_096
      partJob.readsMarketoStateWhole = !sides.marketo
      partJob.readsDynamicsStateWhole = !sides.dynamics
      _ = try partJob.run(progress: steps)
      var wholeJob = SyncJob(workspace: whole, exports: [exports[run]], allowMassDelete: true, keptStates: 8)
      wholeJob.readsMarketoStateWhole = true
      wholeJob.readsDynamicsStateWhole = true
      _ = try wholeJob.run()
      let readInPart = [
        sides.marketo ? "Marketo rows the changes reach" : nil,
        sides.dynamics ? "Dynamics records the changes reach" : nil,
      ].compactMap { $0 }
      if readInPart.allSatisfy({ side in steps.steps.contains { $0.hasSuffix(side) && $0.hasPrefix("read the ") } }) {
        runsInPart += 1
      } else {
        runsWhole.append(run)
      }
      let batch = run + 1
      if run == deltaRun {
        let contacts = try inPart.latestState().state.dynamics.tables["contact"]?.records ?? [:]
        #expect(contacts[try #require(GUID("ffffffff-0000-0000-0000-000000000001"))] != nil)
        #expect(contacts.values.contains { $0["jobtitle"] == .string("Chief Buyer") })
      }
      let expected = try batchText(whole.batchFolder(batch))
      let actual = try batchText(inPart.batchFolder(batch))
      #expect(expected.keys.sorted() == actual.keys.sorted(), "batch \(batch)")
      for (path, text) in expected where actual[path] != text {
        Issue.record("batch \(batch): \(path) differs")
      }
    }
    // Every run after the first reads in part, the change-tracking page too; the run of many changes writes files
    // whole again.
    #expect(runsWhole == [0])
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
      case 3:
        line(
          key + 1, id: id.description, extra: #""msftLeadId":["s","lead \#(key)"],"owner":["l","systemuser","\#(id)"],"#
        )
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
            in: path, range: start..<end, idColumns: [MarketoField.microsoftID, MarketoField.originatingLeadID],
            decodes: { _, ids in ids[0].map { picked.contains($0.description) } ?? false },
            decoded: { key, row in decoded[key] = row },
            outlined: { line, ids in
              var line = line
              line.line += lineBreaks
              outlined.append(line)
              #expect(ids[0] == whole[line.key]?[MarketoField.microsoftID]?.namedID)
              #expect(ids[1] == whole[line.key]?[MarketoField.originatingLeadID]?.namedID)
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

  /// Records of every shape a state line takes: escapes, lookups with and without a table, a lookup column holding
  /// another type or null, lists, values holding brackets, braces and commas, labels, a line of 100 KB.
  static func variedRecords() -> [Record] {
    ids.sorted().enumerated().map { number, id in
      let target = GUID(high: 9, low: UInt64(number))
      var fields: Fields = ["fullname": .string("name \(number)")]
      var labels = Labels()
      switch number % 6 {
      case 0:
        fields["fullname"] = .string(#"a "quoted" \ name"#)
        fields["ownerid"] = .lookup(Lookup(entity: "systemuser", id: target))
      case 1:
        fields["ownerid"] = .lookup(Lookup(entity: nil, id: target))
        fields["parentcustomerid"] = .null
        fields["tags"] = .multiSelect([1, 2])
      case 2:
        fields["title"] = .string("[a],{b}")
        fields["parentcustomerid"] = .guid(target)
        // A line longer than the span lines are read back in.
        if number == 2 { fields["description"] = .string(String(repeating: "long text ", count: 10_000)) }
      case 3: fields = [:]
      case 4:
        fields["originatingleadid"] = .lookup(Lookup(entity: "lead", id: target))
        fields["ownerid"] = .lookup(Lookup(entity: "team", id: target))
        labels["ownerid"] = "A, B [c] {d}"
      default:
        fields["parentcustomerid"] = .lookup(Lookup(entity: "account", id: target))
        fields["émail"] = .string("x@example.com")
      }
      return Record(
        entity: "contact", id: id, fields: fields, labels: labels, version: Int64(number),
        origin: SourcePosition(file: ""))
    }
  }

  static let lookups = ["ownerid", "parentcustomerid", "originatingleadid"]

  @Test("a file of records read in parts hands on each record once: those written plainly outlined, the others decoded")
  func recordPartsAndLinesReadLater() throws {
    let folder = try TemporaryFolder()
    let records = Self.variedRecords()
    let path = try folder.write("contact.ndjson", records.map(StateCodec.line).joined())
    var whole: [GUID: Record] = [:]
    try StateReader.records(in: path) { whole[$0.id] = $0 }
    #expect(whole.count == records.count)
    let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    let bytes = try #require(FileManager.default.contents(atPath: path))
    for partSize in [size, 700, 97] {
      var decoded: [Record] = []
      var outlined: [StateReader.RecordLine] = []
      var lineBreaks = 0
      var start = 0
      while start < size {
        var end = min(start + partSize, size)
        while end < size, bytes[end - 1] != UInt8(ascii: "\n") { end += 1 }
        let part = try #require(
          try StateReader.records(
            in: path, range: start..<end, entity: "contact", lookups: Self.lookups,
            decoded: { record in
              var record = record
              record.origin.line = record.origin.line.map { $0 + lineBreaks }
              decoded.append(record)
            },
            outlined: { line, targets in
              var line = line
              line.line += lineBreaks
              outlined.append(line)
              let record = whole[line.key]
              #expect(
                targets
                  == Self.lookups.map { field in
                    if case .lookup(let lookup) = record?[field] { return lookup.id }
                    return nil
                  })
            }))
        lineBreaks += part.lineBreaks
        start = end
      }
      #expect(lineBreaks == records.count)
      // Only the lines with an escape are decoded.
      #expect(decoded.map(\.id) == records.enumerated().filter { $0.offset % 6 == 0 }.map(\.element.id))
      #expect(decoded.count + outlined.count == records.count)
      for record in decoded {
        #expect(whole[record.id] == record)
        #expect(whole[record.id]?.origin == record.origin)
      }
      var readLater: [Record] = []
      try StateReader.records(in: path, at: outlined) { readLater.append($0) }
      #expect(readLater.map(\.id) == outlined.map(\.key))
      for record in readLater {
        #expect(whole[record.id] == record)
        #expect(whole[record.id]?.origin == record.origin)
      }
    }
  }

  @Test(
    "a file of records the outline cannot vouch for is left to the whole read",
    arguments: [
      // Ids out of their written order.
      #"{"entity":"contact","fields":{},"id":"00000000-0000-0000-0000-000000000001"}"#,
      // A line of another table.
      #"{"entity":"lead","fields":{},"id":"00000000-0000-0000-0000-000000000009"}"#,
      // A removal outside an overlay.
      #"{"entity":"contact","id":"00000000-0000-0000-0000-000000000009","removed":true}"#,
    ])
  func recordRefusals(_ third: String) throws {
    let folder = try TemporaryFolder()
    let lines = [
      #"{"entity":"contact","fields":{},"id":"00000000-0000-0000-0000-000000000002"}"#,
      #"{"entity":"contact","fields":{"a":["s","x"]},"id":"00000000-0000-0000-0000-000000000003"}"#, third,
    ]
    let path = try folder.write("contact.ndjson", lines.map { $0 + "\n" }.joined())
    let outline = try StateReader.records(
      in: path, entity: "contact", lookups: Self.lookups, decoded: { _ in }, outlined: { _, _ in })
    #expect(outline == nil)
  }

  @Test("an overlay of records is outlined as a base is, its removal and patch lines handed on by their ids")
  func recordOverlayOutlined() throws {
    let folder = try TemporaryFolder()
    let id = (2...8).map { guid("00000000-0000-0000-0000-00000000000\($0)") }
    let lines = [
      #"{"entity":"contact","fields":{},"id":"\#(id[0])"}"#,
      #"{"entity":"contact","id":"\#(id[1])","removed":true}"#,
      #"{"entity":"contact","fields":{"a":["s","x\u0041"]},"id":"\#(id[2])"}"#,
      // A patch of no lookup is outlined; one of a lookup (set or taken out), or with an escape, is read.
      #"{"entity":"contact","id":"\#(id[3])","labels":{"statecode":"Active"},"set":{"a":["s","y"]},"unset":["b"],"version":"7"}"#,
      #"{"entity":"contact","id":"\#(id[4])","set":{"ownerid":["l","systemuser","\#(id[0])"]}}"#,
      #"{"entity":"contact","id":"\#(id[5])","set":{},"unset":["a","parentcustomerid"]}"#,
      #"{"entity":"contact","id":"\#(id[6])","set":{"a":["s","\u0041"]}}"#,
    ]
    let path = try folder.write("contact.overlay.ndjson", lines.map { $0 + "\n" }.joined())
    var outlined: [GUID] = []
    var decoded: [GUID] = []
    var removed: [GUID] = []
    var patchLines: [GUID] = []
    var patches: [GUID: RecordPatch] = [:]
    let outline = try StateReader.records(
      in: path, entity: "contact", lookups: Self.lookups, decoded: { decoded.append($0.id) },
      outlined: { line, _ in outlined.append(line.key) },
      overlaid: { id, mark in
        switch mark {
        case .removed: removed.append(id)
        case .patchLine(let line): patchLines.append(line.key)
        case .patch(let patch): patches[id] = patch
        }
      })
    #expect(outline != nil)
    #expect(outlined == [id[0]])
    #expect(removed == [id[1]])
    #expect(decoded == [id[2]])
    #expect(patchLines == [id[3]])
    #expect(
      patches == [
        id[4]: RecordPatch(fields: FieldsPatch(set: ["ownerid": .lookup(Lookup(entity: "systemuser", id: id[0]))])),
        id[5]: RecordPatch(fields: FieldsPatch(unset: ["parentcustomerid", "a"])),
        id[6]: RecordPatch(fields: FieldsPatch(set: ["a": .string("A")])),
      ])
    // The patch line outlined reads back as the lexer reads it.
    var lineRead: [GUID: RecordPatch] = [:]
    let patchLine = StateReader.RecordLine(
      key: id[3], offset: lines[..<3].map { $0.utf8.count + 1 }.reduce(0, +), length: lines[3].utf8.count, line: 4,
      column: 1)
    try StateReader.recordPatches(in: path, at: [patchLine]) { id, patch in lineRead[id] = patch }
    #expect(
      lineRead == [
        id[3]: RecordPatch(
          fields: FieldsPatch(set: ["a": .string("y")], unset: ["b"]), labels: ["statecode": "Active"], version: 7)
      ])
    // Where no removal or patch may be, the file is left to the whole read.
    #expect(
      try StateReader.records(
        in: path, entity: "contact", lookups: Self.lookups, decoded: { _ in }, outlined: { _, _ in }) == nil)
  }

  @Test("an overlay read in parts on every core gives an error naming its file and line, counted from its start")
  func corruptOverlayLineInParts() throws {
    let folder = try TemporaryFolder()
    let workspace = Workspace(root: folder.path + "/ws")
    var exports: [String] = []
    for (position, mutation) in [nil, OrgGenerator.Mutation()].enumerated() {
      let path = folder.path + "/export-\(position)"
      try GeneratedExport(generator: OrgGenerator(records: 1_500, seed: 9, mutation: mutation), format: .webAPI)
        .write(to: path)
      exports.append(path)
    }
    for export in exports { _ = try SyncJob(workspace: workspace, exports: [export], keptStates: 8).run() }
    let overlay = workspace.batchFolder(2) + "/" + StateLayers.overlayPath(of: Workspace.datasetPath(of: "persons"))
    var lines = try String(contentsOfFile: overlay, encoding: .utf8).split(separator: "\n").map(String.init)
    // Far enough in that parts of 1 kB start many lines before it; a line with a text value to break.
    let broken = try #require((lines.count * 3 / 4..<lines.count).first { lines[$0].contains(#"["s","#) })
    #expect(lines[..<broken].map(\.utf8.count).reduce(0, +) > 3 * 1_024)
    lines[broken] = lines[broken].replacingOccurrences(of: #"["s","#, with: #"["q","#)
    try (lines.joined(separator: "\n") + "\n").write(toFile: overlay, atomically: true, encoding: .utf8)
    var job = SyncJob(workspace: workspace, exports: [exports[0]], allowMassDelete: true, keptStates: 8)
    job.marketoStatePartSize = 1_024
    #expect {
      try job.run()
    } throws: { error in
      let error = error as? InputError
      return error?.file == overlay && error?.line == broken + 1
        && "\(error.map { "\($0)" } ?? "")".contains("state tag")
    }
  }

  @Test("a record line that is neither written plainly nor a record is an error naming its line")
  func corruptRecordLine() throws {
    let folder = try TemporaryFolder()
    let lines = [
      #"{"entity":"contact","fields":{},"id":"00000000-0000-0000-0000-000000000002"}"#,
      #"{"entity":"contact","fields":{"a":["q","x\"y"]},"id":"00000000-0000-0000-0000-000000000003"}"#,
    ]
    let path = try folder.write("contact.ndjson", lines.map { $0 + "\n" }.joined())
    #expect {
      try StateReader.records(in: path, entity: "contact", lookups: [], decoded: { _ in }, outlined: { _, _ in })
    } throws: { error in
      (error as? InputError)?.line == 2 && "\(error)".contains("unknown state tag")
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
      in: path, idColumns: [MarketoField.microsoftID], decodes: { _, _ in false }, decoded: { _, _ in },
      outlined: { _, _ in })
    #expect(outline == nil)
  }
}
