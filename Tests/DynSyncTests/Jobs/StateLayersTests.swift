import DynSync
import DynSyncCore
import DynSyncReaders
import Foundation
import Testing

@Suite("state laid over the previous batch's")
struct StateLayersTests {
  /// Exports of one generated org: the first, one with a few changes, and one with many.
  static func exports(in folder: TemporaryFolder) throws -> [String] {
    let mutations: [OrgGenerator.Mutation?] = [nil, .init(), .init(creates: 0.2, updates: 0.3, deletes: 0.05)]
    return try mutations.enumerated().map { position, mutation in
      let path = folder.path + "/export-\(position)"
      try GeneratedExport(generator: OrgGenerator(records: 1_200, seed: 5, mutation: mutation), format: .webAPI)
        .write(to: path)
      return path
    }
  }

  /// The state a batch leaves as the lines a whole write gives each file, by table and dataset.
  static func stateLines(_ workspace: Workspace, _ batch: Int) throws -> [String: [String]] {
    let state = try workspace.state(of: batch)
    var lines: [String: [String]] = [:]
    for (entity, table) in state.dynamics.tables {
      lines[entity] = table.records.keys.sorted().compactMap { table.records[$0].map(StateCodec.line) }
    }
    for (name, dataset) in state.marketo.inLoadOrder {
      lines[name] = dataset.sortedKeys.compactMap { key in dataset.rows[key].map { StateCodec.line(key: key, row: $0) }
      }
    }
    lines["pending"] = state.pendingWrites.keys.sorted().compactMap { state.pendingWrites[$0].map(StateCodec.line) }
    return lines
  }

  /// Syncs an export of the generated org for each mutation into a workspace laid as overlays (`layered`) and one
  /// written whole (`whole`), `beforeRun` called before each run, and expects both to leave the same state.
  static func syncLayeredAndWhole(
    _ mutations: [OrgGenerator.Mutation?], in folder: TemporaryFolder, beforeRun: (Int) throws -> Void = { _ in }
  ) throws -> (layered: Workspace, whole: Workspace) {
    let layered = Workspace(root: folder.path + "/layered")
    let whole = Workspace(root: folder.path + "/whole")
    for (run, mutation) in mutations.enumerated() {
      let export = folder.path + "/export-\(run)"
      try GeneratedExport(generator: OrgGenerator(records: 1_200, seed: 5, mutation: mutation), format: .webAPI)
        .write(to: export)
      try beforeRun(run)
      _ = try SyncJob(workspace: layered, exports: [export], keptStates: 4).run()
      var job = SyncJob(workspace: whole, exports: [export], keptStates: 4)
      job.writesStateWhole = true
      _ = try job.run()
      #expect(try stateLines(layered, run + 1) == stateLines(whole, run + 1), "batch \(run + 1)")
    }
    return (layered, whole)
  }

  /// A workspace of the first of `exports(in:)` synced, and the exports.
  static func firstSync(in folder: TemporaryFolder) throws -> (Workspace, [String]) {
    let exports = try exports(in: folder)
    let workspace = Workspace(root: folder.path + "/ws")
    _ = try SyncJob(workspace: workspace, exports: [exports[0]]).run()
    return (workspace, exports)
  }

  static func inode(_ path: String) throws -> UInt64 {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return try #require((attributes[.systemFileNumber] as? NSNumber)?.uint64Value)
  }

  static let contacts = Workspace.recordsPath(of: "contact")

  @Test("each batch reads back as the state written whole, and only the changes are written")
  func sameStateAsWhole() throws {
    let folder = try TemporaryFolder()
    var exports = try Self.exports(in: folder)
    let layered = Workspace(root: folder.path + "/layered")
    let whole = Workspace(root: folder.path + "/whole")
    exports.append("")
    for run in exports.indices {
      if run == 3 {
        // A change-tracking page changing one contact of the many-changes export, read in full.
        let contact = try #require(layered.state(of: 3).dynamics.tables["contact"]?.records.keys.min())
        exports[3] = try folder.write(
          "delta/contacts.json",
          #"{"@odata.context":"https://x/api/data/v9.2/$metadata#contacts/$delta","value":[{"jobtitle":"Chief Buyer","contactid":""#
            + contact.description + #""}]}"#)
      }
      _ = try SyncJob(workspace: layered, exports: [exports[run]], keptStates: 4).run()
      var job = SyncJob(workspace: whole, exports: [exports[run]], keptStates: 4)
      job.writesStateWhole = true
      _ = try job.run()
      let batch = run + 1
      #expect(try Self.stateLines(layered, batch) == Self.stateLines(whole, batch), "batch \(batch)")
      #expect(
        try batchText(layered.batchFolder(batch), leavingOut: "state/")
          == batchText(whole.batchFolder(batch), leavingOut: "state/"),
        "batch \(batch)")
    }
    let overlay = StateLayers.overlayPath(of: Self.contacts)
    func exists(_ batch: Int, _ path: String) -> Bool {
      FileManager.default.fileExists(atPath: layered.batchFolder(batch) + "/" + path)
    }
    // A few changes: the base is the first batch's own file, and an overlay holds the changes.
    #expect(!exists(1, overlay) && exists(2, overlay))
    #expect(
      try Self.inode(layered.batchFolder(2) + "/" + Self.contacts)
        == Self.inode(layered.batchFolder(1) + "/" + Self.contacts))
    let overlayLines = try String(contentsOfFile: layered.batchFolder(2) + "/" + overlay, encoding: .utf8)
      .split(separator: "\n")
    let baseLines = try String(contentsOfFile: layered.batchFolder(2) + "/" + Self.contacts, encoding: .utf8)
      .split(separator: "\n")
    #expect(!overlayLines.isEmpty && overlayLines.count * 4 <= baseLines.count)
    #expect(overlayLines.contains { $0.contains("\"removed\":true") })
    // Many changes: written whole again, a new base without an overlay.
    #expect(!exists(3, overlay))
    #expect(
      try Self.inode(layered.batchFolder(3) + "/" + Self.contacts)
        != Self.inode(layered.batchFolder(2) + "/" + Self.contacts))
    // One change, read in full: laid over the new base, one line.
    #expect(
      try String(contentsOfFile: layered.batchFolder(4) + "/" + overlay, encoding: .utf8).split(separator: "\n").count
        == 1)
    #expect(
      try Self.inode(layered.batchFolder(4) + "/" + Self.contacts)
        == Self.inode(layered.batchFolder(3) + "/" + Self.contacts))
  }

  @Test("the line of a key unchanged since the overlay before is copied from it, as it was written there")
  func unchangedOverlayLinesCopied() throws {
    let folder = try TemporaryFolder()
    // Each export a few more rows changed than the one before: the rows changed before stay in the overlay, unchanged.
    let mutations: [OrgGenerator.Mutation?] = [
      nil, .init(creates: 0.01, updates: 0.03, deletes: 0.01), .init(creates: 0.01, updates: 0.05, deletes: 0.01),
    ]
    let persons = StateLayers.overlayPath(of: Workspace.datasetPath(of: "persons"))
    let contacts = StateLayers.overlayPath(of: Self.contacts)
    let (layered, _) = try Self.syncLayeredAndWhole(mutations, in: folder) { run in
      guard run == 2 else { return }
      // Numbers of the overlays before written with a leading zero (person ids, row versions of contacts): the same
      // rows, read back alike, but not as a row is written again.
      for (path, number) in [(persons, #""id":["i",""#), (contacts, #""versionnumber":["i",""#)] {
        let file = Workspace(root: folder.path + "/layered").batchFolder(2) + "/" + path
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try text.replacingOccurrences(of: number, with: number + "0").write(
          toFile: file, atomically: true, encoding: .utf8)
      }
    }
    for (path, number) in [(persons, #""id":["i","0"#), (contacts, #""versionnumber":["i","0"#)] {
      let before = try String(contentsOfFile: layered.batchFolder(2) + "/" + path, encoding: .utf8)
        .split(separator: "\n")
      let after = try String(contentsOfFile: layered.batchFolder(3) + "/" + path, encoding: .utf8)
        .split(separator: "\n")
      let copied = after.filter { $0.contains(number) }
      // Rows that changed again are written anew; the others are the lines before, byte for byte.
      #expect(!copied.isEmpty && copied.count < after.count, "\(path)")
      #expect(Set(copied).isSubset(of: Set(before)), "\(path)")
    }
  }

  @Test("a Marketo row the base holds is written as its patch against the base's row, changed again or not")
  func marketoRowsPatched() throws {
    let folder = try TemporaryFolder()
    // Each export changes the rows the one before changed, and more: a person whose contact changed, then its
    // account, is patched twice, the second time with both changes.
    let mutations: [OrgGenerator.Mutation?] = [
      nil, .init(creates: 0.01, updates: 0.03, deletes: 0.01), .init(creates: 0.01, updates: 0.08, deletes: 0.01),
    ]
    let (workspace, whole) = try Self.syncLayeredAndWhole(mutations, in: folder)
    let base = Workspace.datasetPath(of: "persons")
    var baseRows: [String: MarketoRow] = [:]
    try StateReader.marketoRows(in: workspace.batchFolder(1) + "/" + base) { key, row in baseRows[key] = row }
    func overlay(_ batch: Int) throws -> [String: (entry: MarketoOverlayEntry, line: String)] {
      let path = workspace.batchFolder(batch) + "/" + StateLayers.overlayPath(of: base)
      let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
      var entries: [MarketoOverlayEntry] = []
      var keys: [String] = []
      try StateReader.overlayMarketoRows(in: path) { key, entry, _ in
        keys.append(key)
        entries.append(entry)
      }
      return Dictionary(uniqueKeysWithValues: zip(keys, zip(entries, lines).map { ($0, $1) }))
    }
    let second = try overlay(2)
    let third = try overlay(3)
    // The rows as a state written whole holds them, not as the patches read back give them.
    let persons = try whole.state(of: 3).marketo.persons.rows
    var patchedTwice = 0
    for (key, written) in third {
      switch written.entry {
      case .patch(let patch):
        let before = try #require(baseRows[key], "\(key)")
        let after = try #require(persons[key], "\(key)")
        #expect(patch.applied(to: before).isIdentical(to: after), "\(key)")
        #expect(written.line.utf8.count < StateCodec.line(key: key, row: before).utf8.count, "\(key)")
        if case .patch = second[key]?.entry, second[key]?.line != written.line { patchedTwice += 1 }
      case .row(let row):
        let after = try #require(persons[key], "\(key)")
        #expect(baseRows[key] == nil && row.isIdentical(to: after), "\(key)")
      case .removed:
        #expect(baseRows[key] != nil && persons[key] == nil, "\(key)")
      }
    }
    #expect(patchedTwice > 0)
    #expect(third.values.contains { if case .row = $0.entry { true } else { false } })
  }

  @Test(
    "a record of a table read in part is written as its patch against the base's record, but where it sets a lookup")
  func recordsPatched() throws {
    let folder = try TemporaryFolder()
    let mutations: [OrgGenerator.Mutation?] = [
      nil, .init(creates: 0.01, updates: 0.03, deletes: 0.01), .init(creates: 0.01, updates: 0.08, deletes: 0.01),
    ]
    let (layered, whole) = try Self.syncLayeredAndWhole(mutations, in: folder)
    var baseRecords: [GUID: Record] = [:]
    try StateReader.records(in: layered.batchFolder(1) + "/" + Self.contacts) { baseRecords[$0.id] = $0 }
    func overlay(_ batch: Int) throws -> [GUID: (entry: RecordOverlayEntry, line: String)] {
      let path = layered.batchFolder(batch) + "/" + StateLayers.overlayPath(of: Self.contacts)
      let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
      var read: [(GUID, RecordOverlayEntry)] = []
      try StateReader.overlayRecords(in: path) { id, _, entry, _ in read.append((id, entry)) }
      return Dictionary(uniqueKeysWithValues: zip(read, lines).map { ($0.0, ($0.1, $1)) })
    }
    // A change-tracking page: a contact the overlay patches moved to another account (a lookup), and another's job
    // title changed again.
    let third = try overlay(3)
    let patched = third.keys.sorted().filter { if case .patch = third[$0]?.entry { true } else { false } }
    let moved = try #require(patched.first)
    let retitled = try #require(patched.last)
    let account = try #require(
      baseRecords.values.compactMap { record -> GUID? in
        if case .lookup(let lookup) = record["parentcustomerid"] { return lookup.id }
        return nil
      }.max())
    let delta = try folder.write(
      "delta/contacts.json",
      #"{"@odata.context":"https://x/api/data/v9.2/$metadata#contacts/$delta","value":["#
        + #"{"contactid":"\#(moved)","_parentcustomerid_value":"\#(account)","#
        + #""_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"account"},"#
        + #"{"contactid":"\#(retitled)","jobtitle":"Chief Buyer"}]}"#)
    _ = try SyncJob(workspace: layered, exports: [delta], keptStates: 4).run()
    var job = SyncJob(workspace: whole, exports: [delta], keptStates: 4)
    job.writesStateWhole = true
    _ = try job.run()
    #expect(try Self.stateLines(layered, 4) == Self.stateLines(whole, 4))
    let fourth = try overlay(4)
    // The records as a state written whole holds them, not as the patches read back give them.
    let contacts = try #require(whole.state(of: 4).dynamics.tables["contact"]?.records)
    let lookups = try #require(MergeScope.partialTables["contact"])
    var patchedTwice = 0
    for (id, written) in fourth {
      switch written.entry {
      case .patch(let patch):
        let before = try #require(baseRecords[id], "\(id)")
        let after = try #require(contacts[id], "\(id)")
        #expect(patch.applied(to: before).isIdentical(to: after), "\(id)")
        #expect(!patch.fields.touches(anyOf: lookups), "\(id)")
        #expect(written.line.utf8.count * 2 < StateCodec.line(before).utf8.count, "\(id)")
        if case .patch = third[id]?.entry, third[id]?.line != written.line { patchedTwice += 1 }
      case .record(let record):
        let after = try #require(contacts[id], "\(id)")
        #expect(record.isIdentical(to: after), "\(id)")
        // A record new since the base, or one whose patch would set a lookup.
        if let before = baseRecords[id] {
          #expect(FieldsPatch(from: before.fields, to: after.fields).touches(anyOf: lookups), "\(id)")
        }
      case .removed:
        #expect(baseRecords[id] != nil && contacts[id] == nil, "\(id)")
      }
    }
    #expect(patchedTwice > 0)
    #expect(fourth[moved].map { if case .record = $0.entry { true } else { false } } == true)
    #expect(fourth[retitled].map { if case .patch = $0.entry { true } else { false } } == true)
    #expect(contacts[retitled]?["jobtitle"] == .string("Chief Buyer"))
  }

  @Test("a patch of a record whose base's line is not written plainly is laid over it as the state is read")
  func patchOverEscapedBaseLine() throws {
    let folder = try TemporaryFolder()
    let export = folder.path + "/export-0"
    try GeneratedExport(generator: OrgGenerator(records: 1_200, seed: 5), format: .webAPI).write(to: export)
    // A title with quotes: its line in the base holds escapes, so the base's line is decoded as the state is read.
    let page = export + "/contacts_page0001.json"
    let text = try String(contentsOfFile: page, encoding: .utf8)
    let title = try #require(text.range(of: #""jobtitle":"CFO""#))
    try text.replacingCharacters(in: title, with: #""jobtitle":"CFO \"acting\"""#)
      .write(toFile: page, atomically: true, encoding: .utf8)
    let layered = Workspace(root: folder.path + "/layered")
    let whole = Workspace(root: folder.path + "/whole")
    func sync(_ export: String, batch: Int) throws {
      _ = try SyncJob(workspace: layered, exports: [export], keptStates: 4).run()
      var job = SyncJob(workspace: whole, exports: [export], keptStates: 4)
      job.writesStateWhole = true
      _ = try job.run()
      #expect(try Self.stateLines(layered, batch) == Self.stateLines(whole, batch), "batch \(batch)")
    }
    try sync(export, batch: 1)
    let contacts = try #require(layered.state(of: 1).dynamics.tables["contact"]?.records.values)
    let quoted = try #require(contacts.first { $0["jobtitle"] == .string(#"CFO "acting""#) }).id
    // Its first name changed, then its last name: the second run reads the record with its patch, and patches it
    // again.
    for (run, change) in [#""firstname":"Bea""#, #""lastname":"Haddad-Ruiz""#].enumerated() {
      let delta = try folder.write(
        "delta-\(run)/contacts.json",
        #"{"@odata.context":"https://x/api/data/v9.2/$metadata#contacts/$delta","value":[{"contactid":"\#(quoted)",\#(change)}]}"#
      )
      try sync(delta, batch: run + 2)
      var entry: RecordOverlayEntry?
      try StateReader.overlayRecords(
        in: layered.batchFolder(run + 2) + "/" + StateLayers.overlayPath(of: Self.contacts)
      ) { id, _, read, _ in if id == quoted { entry = read } }
      guard case .patch(let patch) = entry else {
        Issue.record("batch \(run + 2): no patch of \(quoted)")
        continue
      }
      #expect(patch.fields.set["firstname"] == .string("Bea"))
    }
    let record = try #require(layered.state(of: 3).dynamics.tables["contact"]?.records[quoted])
    #expect(record["firstname"] == .string("Bea") && record["lastname"] == .string("Haddad-Ruiz"))
    #expect(record["jobtitle"] == .string(#"CFO "acting""#))
  }

  @Test("an overlay's patch of a record its base does not hold is an error naming the overlay and the record")
  func patchWithoutBase() throws {
    let folder = try TemporaryFolder()
    let (workspace, exports) = try Self.firstSync(in: folder)
    _ = try SyncJob(workspace: workspace, exports: [exports[1]]).run()
    let overlay = workspace.batchFolder(2) + "/" + StateLayers.overlayPath(of: Self.contacts)
    var lines = try String(contentsOfFile: overlay, encoding: .utf8).split(separator: "\n").map(String.init)
    let place = try #require(lines.firstIndex { $0.contains(#""set":"#) })
    // The patched id with its last digit changed: in order still, and no record of the base's.
    let id = String(lines[place].dropFirst(#"{"entity":"contact","id":""#.utf8.count).prefix(36))
    let stray = String(id.dropLast()) + (id.hasSuffix("0") ? "1" : "0")
    let base = try #require(workspace.state(of: 1).dynamics.tables["contact"]?.records)
    try #require(base[guid(stray)] == nil)
    lines[place] = lines[place].replacingOccurrences(of: id, with: stray)
    try (lines.joined(separator: "\n") + "\n").write(toFile: overlay, atomically: true, encoding: .utf8)
    for read in [
      { _ = try workspace.state(of: 2) }, { _ = try SyncJob(workspace: workspace, exports: [exports[2]]).run() },
    ] {
      let error = #expect(throws: InputError.self) { try read() }
      #expect(error?.file == overlay)
      #expect(error?.reason == "corrupt state overlay: a patch of the record \(stray), which its base does not hold")
    }
    #expect(try workspace.batchNumbers() == [1, 2])
  }

  @Test("a batch of a later format than this dynsync reads is refused, naming its manifest, and nothing is written")
  func laterFormatRefused() throws {
    let folder = try TemporaryFolder()
    let (workspace, exports) = try Self.firstSync(in: folder)
    let manifest = workspace.batchFolder(1) + "/manifest.json"
    let text = try String(contentsOfFile: manifest, encoding: .utf8)
    #expect(text.contains("\"formatVersion\" : \(Manifest.currentFormatVersion),"))
    try text.replacingOccurrences(
      of: "\"formatVersion\" : \(Manifest.currentFormatVersion),",
      with: "\"formatVersion\" : \(Manifest.currentFormatVersion + 1),"
    ).write(toFile: manifest, atomically: true, encoding: .utf8)
    let error = #expect(throws: InputError.self) { try SyncJob(workspace: workspace, exports: [exports[1]]).run() }
    #expect(error?.file == manifest && error?.reason.contains("newer dynsync") == true)
    #expect(try workspace.batchNumbers() == [1])
    #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.batchesFolder) == ["000001"])
  }

  @Test("a batch whose manifest does not vouch for its state files has the next batch write them whole")
  func unvouchedState() throws {
    let folder = try TemporaryFolder()
    let (workspace, exports) = try Self.firstSync(in: folder)
    try FileManager.default.removeItem(atPath: workspace.batchFolder(1) + "/manifest.json")
    #expect(try workspace.state(of: 1).layers?.files.isEmpty == true)
    _ = try SyncJob(workspace: workspace, exports: [exports[1]]).run()
    #expect(
      !FileManager.default.fileExists(
        atPath: workspace.batchFolder(2) + "/" + StateLayers.overlayPath(of: Self.contacts)))
    #expect(
      try Self.inode(workspace.batchFolder(2) + "/" + Self.contacts)
        != Self.inode(workspace.batchFolder(1) + "/" + Self.contacts))
  }

  @Test("column names read as the line before's are the names each line writes, moved, changed or escaped")
  func namesOfLinesBefore() throws {
    let folder = try TemporaryFolder()
    func line(_ number: Int, _ fields: String) -> String {
      #"{"entity":"contact","fields":{"# + fields + #"},"id":"0000aaaa-0000-0000-0000-00000000000"#
        + "\(number)\"}\n"
    }
    let path = try folder.write(
      "contact.ndjson",
      line(1, #""parentcustomerid":["s","a"],"originatingleadid":["s","b"]"#)
        + line(2, #""parentcustomerid":["s","c"],"originatingleadid":["s","d"]"#)
        + line(3, #""originatingleadid":["s","e"],"parentcustomerid":["s","f"]"#)
        + line(4, #""parentcustomer\u0069d":["s","g"],"originatingleadidx":["s","h"]"#)
        + line(5, #""parentcustomerix":["s","i"]"#) + line(6, #""parentcustomerid":["s","j"]"#))
    var fields: [Fields] = []
    try StateReader.records(in: path) { fields.append($0.fields) }
    #expect(
      fields == [
        ["parentcustomerid": .string("a"), "originatingleadid": .string("b")],
        ["parentcustomerid": .string("c"), "originatingleadid": .string("d")],
        ["originatingleadid": .string("e"), "parentcustomerid": .string("f")],
        ["parentcustomerid": .string("g"), "originatingleadidx": .string("h")],
        ["parentcustomerix": .string("i")], ["parentcustomerid": .string("j")],
      ])
  }

  @Test("a removal line is read only from an overlay")
  func removalOutsideOverlay() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      "account.ndjson", #"{"entity":"account","id":"0000aaaa-0000-0000-0000-000000000001","removed":true}"# + "\n")
    #expect(throws: InputError.self) { try StateReader.records(in: path) { _ in } }
    var removed: [GUID] = []
    try StateReader.overlayRecords(in: path) { id, _, entry, _ in if entry == .removed { removed.append(id) } }
    #expect(removed == [guid("0000aaaa-0000-0000-0000-000000000001")])
  }
}
