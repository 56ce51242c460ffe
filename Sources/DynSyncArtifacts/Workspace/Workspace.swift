import DynSyncCore
import Foundation

/// What dynsync remembers between runs: the org's last synced Dynamics state, and the
/// Marketo-side datasets built from it (person ids, frozen rows, deletion flags).
public struct WorkspaceState: Sendable {
  public var dynamics: Snapshot
  public var marketo: MarketoDatasets
  /// What dynsync wrote to Dynamics and has not yet seen come back (see `EchoSuppression`).
  public var pendingWrites: [GUID: Record]
  /// How `marketo` was built; `nil` for a state written before dynsync kept it.
  public var merge: MergeSettings?
  /// The fingerprints of the export rows `dynamics` was read from, where they are known.
  public var fingerprints: StateFingerprints
  /// The files the state was read from, for the next batch to build on; `nil` for a state not read from a batch.
  public var layers: StateLayers?

  public init(
    dynamics: Snapshot = Snapshot(), marketo: MarketoDatasets = MarketoDatasets(), pendingWrites: [GUID: Record] = [:],
    merge: MergeSettings? = nil, fingerprints: StateFingerprints = StateFingerprints(), layers: StateLayers? = nil
  ) {
    self.dynamics = dynamics
    self.marketo = marketo
    self.pendingWrites = pendingWrites
    self.merge = merge
    self.fingerprints = fingerprints
    self.layers = layers
  }

  public static let pendingWritesFile = "state/outbound-pending.ndjson"
  static let mergeSettingsFile = "state/merge.json"
}

/// What the Marketo datasets of a state were built with.
///
/// A run may build again only the rows its changes reach (`MergeScope`) when these are the settings it builds with
/// too; otherwise every row is built again.
public struct MergeSettings: Sendable, Equatable, Codable {
  /// The version of the merge rules: raised with every change to how a row is built from the org.
  public static let currentRules = 1

  public var rules: Int
  public var mapping: FieldMapping

  public init(rules: Int = MergeSettings.currentRules, mapping: FieldMapping) {
    self.rules = rules
    self.mapping = mapping
  }

  /// The settings as the state keeps them: sorted keys, so that the same settings are the same bytes.
  public var json: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    // A mapping is strings, booleans and enums: encoding it cannot fail.
    return (try? String(decoding: encoder.encode(self), as: UTF8.self)).map { $0 + "\n" } ?? ""
  }
}

/// A workspace folder: `batches/NNNNNN/`, one per run that changed something, each complete
/// batch carrying the state it leaves in `state/`.
///
/// Keeping the state inside the batch makes the state and the batch advance in one atomic
/// rename: a run that dies at any point leaves the previous batch as the latest, with its state,
/// and nothing else that looks complete.
public struct Workspace: Sendable {
  public let root: String

  public init(root: String) {
    self.root = (root as NSString).standardizingPath
  }

  public var batchesFolder: String { root + "/batches" }

  /// The file of the merge settings in a batch's state.
  public func mergeSettingsFile(of batch: Int) -> String {
    batchFolder(batch) + "/" + WorkspaceState.mergeSettingsFile
  }

  /// The file of pending writes in a batch's state.
  public func pendingWritesFile(of batch: Int) -> String { batchFolder(batch) + "/" + WorkspaceState.pendingWritesFile }

  public func batchFolder(_ number: Int) -> String { batchesFolder + "/" + Workspace.batchName(number) }

  public static func batchName(_ number: Int) -> String { String(number, zeroPaddedTo: 6) }

  /// Numbers of the complete batches, in order (staging folders are hidden and never counted).
  public func batchNumbers() throws -> [Int] {
    guard FileManager.default.fileExists(atPath: batchesFolder) else { return [] }
    let names = try FileManager.default.contentsOfDirectory(atPath: batchesFolder)
    return names.compactMap { name in name.count == 6 && name.allSatisfy(\.isNumber) ? Int(name) : nil }.sorted()
  }

  /// Removes the `state/` folder of every batch but the newest `keep` ones.
  ///
  /// Only the latest state is ever read; the ones before it are kept as a fallback, not as history (each batch keeps
  /// its change sets and import files). A folder is renamed aside before it is removed, so an
  /// interrupted removal never leaves a half state where a whole one is expected.
  public func pruneStates(keeping keep: Int) throws {
    let numbers = try batchNumbers()
    for number in numbers.dropLast(max(keep, 1)) {
      let state = batchFolder(number) + "/state"
      guard FileManager.default.fileExists(atPath: state) else { continue }
      let aside = batchFolder(number) + "/.state-pruned"
      try? FileManager.default.removeItem(atPath: aside)
      try FileManager.default.moveItem(atPath: state, toPath: aside)
      try FileManager.default.removeItem(atPath: aside)
    }
  }

  /// The file of a table's records in a batch.
  public static func recordsPath(of entity: String) -> String {
    "state/dynamics/\(BatchWriter.safeFileName(entity)).ndjson"
  }

  /// The file of a Marketo dataset (by the name `MarketoDatasets.inLoadOrder` gives it) in a batch.
  public static func datasetPath(of name: String) -> String {
    let customPrefix = "customObjects/"
    guard name.hasPrefix(customPrefix) else { return "state/marketo/" + name + ".ndjson" }
    return "state/marketo/customObjects/" + BatchWriter.safeFileName(String(name.dropFirst(customPrefix.count)))
      + ".ndjson"
  }

  /// Writes `state` into a batch being built, under `state/`.
  ///
  /// - Parameters:
  ///   - state: the state the batch leaves.
  ///   - update: the state of the batch before and what changed since; its files' bases are taken as they are and
  ///     only overlays written (see `StateFileLayers`). `nil` writes every file whole.
  ///   - writer: the batch being built.
  /// - Returns: the state files' entries for the manifest.
  /// - Throws: `OutputError` when a file cannot be written.
  public static func write(_ state: WorkspaceState, over update: StateUpdate? = nil, to writer: BatchWriter)
    throws(OutputError) -> [Manifest.Artifact]
  {
    // The Marketo datasets are written on a thread of their own while the Dynamics records and fingerprints are
    // written here: a file's blocks are written by one thread (the kernel's copy into fresh page-cache pages), which
    // the lines made for it on every core outran, so that one file at a time left a core idle for much of the step.
    // Each file is as it was; the manifest lists them in the order it did.
    let marketoWriting = ThreadedWork { () throws(OutputError) -> [Manifest.Artifact] in
      var files = StateFileWriting(writer: writer, update: update)
      for (name, dataset) in state.marketo.inLoadOrder {
        let path = datasetPath(of: name)
        let patchBase = update.map { $0.patchBases(of: name) }
        let laid = try files.layered(
          path, overlay: MarketoDataset.sorted, key: { $0 },
          line: { key, json in
            if let row = dataset.rows[key] {
              // A row the base holds is written as its patch: an account's change sets a few of each person's
              // columns.
              if let earlier = patchBase?(key) {
                let patch = earlier.patch.followed(by: FieldsPatch(from: earlier.row, to: row))
                StateCodec.appendPatchLine(key: key, patch: patch, to: &json)
              } else {
                StateCodec.appendLine(key: key, row: row, to: &json)
              }
            } else {
              json.appendRaw(StateCodec.removal(key: key))
            }
          })
        if !laid {
          let rows = dataset.sortedKeys.compactMap { key in dataset.rows[key].map { (key: key, row: $0) } }
          try files.outlined(
            path, rows, columns: StateOutline.marketoColumns,
            line: { row, json in StateCodec.appendLine(key: row.key, row: row.row, to: &json) },
            outline: { row in (row.key, MarketoMerge.rowIDFields.map { row.row[$0]?.namedID } + [GUID(row.key)]) })
        }
      }
      return files.artifacts
    }
    var files = StateFileWriting(writer: writer, update: update)
    for entity in state.dynamics.entityNames {
      guard let table = state.dynamics.tables[entity] else { continue }
      let path = recordsPath(of: entity)
      let patchBase = update.map { $0.recordPatchBases(of: entity) }
      let lookups = MergeScope.partialTables[entity] ?? []
      let laid = try files.layered(
        path, overlay: { keys in keys.compactMap(GUID.init).sorted() }, key: \.description,
        line: { id, json in
          if let record = table.records[id] {
            // A record the base holds is written as its patch, but where the patch sets a lookup: the next run reads
            // the base's line only for its lookups, and reads the patch with it only when it needs the record.
            if let earlier = patchBase?(id) {
              let fields = earlier.patch.fields.followed(
                by: FieldsPatch(from: earlier.record.fields, to: record.fields))
              if !fields.touches(anyOf: lookups) {
                // Labels as the record held them are the earlier patch's, or the base's where it held none.
                let labels = record.labels == earlier.record.labels ? earlier.patch.labels : record.labels
                let patch = RecordPatch(fields: fields, labels: labels, version: record.version)
                return StateCodec.appendPatchLine(patch, of: record, to: &json)
              }
            }
            StateCodec.appendLine(record, to: &json)
          } else {
            json.appendRaw(StateCodec.removal(entity: entity, id: id))
          }
        })
      guard !laid else { continue }
      let records = table.records.keys.sorted().compactMap { table.records[$0] }
      guard let lookups = MergeScope.partialTables[entity] else {
        try files.write(path, records) { record, json in StateCodec.appendLine(record, to: &json) }
        continue
      }
      try files.outlined(path, records, columns: lookups) { record, json in
        StateCodec.appendLine(record, to: &json)
      } outline: { record in
        (
          record.id,
          lookups.map { column in
            if case .lookup(let lookup) = record[column] { return lookup.id }
            return nil
          }
        )
      }
    }
    for entity in state.fingerprints.tables.keys.sorted() {
      guard let table = state.fingerprints.tables[entity] else { continue }
      let path = StateFingerprints.path(of: entity)
      let laid = try files.layered(
        path, overlay: { keys in keys.compactMap(GUID.init).sorted() }, key: \.description,
        line: { id, json in json.appendRaw(StateFingerprints.line(id: id, table.fingerprint(of: id))) })
      guard !laid else { continue }
      let file = try writer.openFile(path)
      try file.write(StateFingerprints.contextLine(table.context))
      try file.write(linesOf: table.rows, StateFingerprints.line)
      files.artifacts.append(try file.finish())
    }
    if let merge = state.merge {
      files.artifacts.append(try writer.write(WorkspaceState.mergeSettingsFile, merge.json))
    }
    if !state.pendingWrites.isEmpty {
      try files.write(
        WorkspaceState.pendingWritesFile, state.pendingWrites.keys.sorted().compactMap { state.pendingWrites[$0] }
      ) { record, json in StateCodec.appendLine(record, to: &json) }
    }
    return files.artifacts + (try marketoWriting.value())
  }

  public static func files(in folder: String, ending suffix: String) throws -> [String] {
    guard FileManager.default.fileExists(atPath: folder) else { return [] }
    return try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(suffix) }.sorted()
  }
}

/// The state's files written into a batch being built, one at a time, their lines made on every core in id (or key)
/// order, each appended where it is made; and their entries for the manifest.
private struct StateFileWriting {
  let writer: BatchWriter
  let update: StateUpdate?
  var artifacts: [Manifest.Artifact] = []

  /// Writes a file of a line for each item, in order.
  mutating func write<Item: Sendable>(
    _ path: String, _ items: [Item], _ line: @Sendable (Item, inout JSONBytes) -> Void
  ) throws(OutputError) {
    let file = try writer.openFile(path)
    try file.write(linesOf: items, appending: line)
    artifacts.append(try file.finish())
  }

  /// Writes a base the next run reads in part, with its outline (`StateOutline`): each item's key and ids, as
  /// `outline` gives them.
  mutating func outlined<Item: Sendable, Key: OutlineKey>(
    _ path: String, _ items: [Item], columns: [String], line: @Sendable (Item, inout JSONBytes) -> Void,
    outline: (Item) -> (Key, [GUID?])
  ) throws(OutputError) {
    let file = try writer.openFile(path)
    var builder = StateOutline.Builder<Key>(columns: columns, lines: items.count)
    var index = 0
    try forEachBlockOfLines(of: items, appending: line) { (block: LineBlock) throws(OutputError) in
      try block.withBytes { (bytes) throws(OutputError) in
        let lines = bytes.assumingMemoryBound(to: UInt8.self)
        for place in block.ends.indices {
          let (key, ids) = outline(items[index])
          builder.add(key, line: UnsafeBufferPointer(rebasing: lines[block.lines(of: place)]), ids: ids)
          index += 1
        }
        try file.write(lines: bytes)
      }
    }
    let base = try file.finish()
    artifacts.append(base)
    artifacts.append(try writer.write(StateOutline.path(of: path), bytes: builder.bytes(for: base)))
  }

  /// Lays the file at `path` over the base before it when it can, with a line for each of the overlay's keys, in
  /// order (a removal line for a key gone), made on every core; `false` when the file must be written whole.
  ///
  /// The line of a key that has not changed since the overlay before is copied from it where it was read as written
  /// (`StateFileLayers.overlayLines`): the same row, written the same way.
  mutating func layered<Item: Sendable>(
    _ path: String, overlay: (Set<String>) -> [Item], key: @escaping @Sendable (Item) -> String,
    line: @escaping @Sendable (Item, inout JSONBytes) -> Void
  ) throws(OutputError) -> Bool {
    guard let update, let file = update.layers.files[path], let keys = update.overlayKeys(of: path) else {
      return false
    }
    artifacts.append(try writer.link(path, from: update.layers.folder + "/" + path, as: file.base))
    if let outline = file.outline {
      artifacts.append(try writer.link(outline.path, from: update.layers.folder + "/" + outline.path, as: outline))
    }
    guard !keys.isEmpty else { return true }
    let overlayPath = StateLayers.overlayPath(of: path)
    let earlierPath = update.layers.folder + "/" + overlayPath
    if update.delta.files[path]?.isEmpty == true, let written = file.overlay {
      artifacts.append(try writer.link(overlayPath, from: earlierPath, as: written))
      return true
    }
    guard !file.overlayLines.isEmpty, file.overlay != nil,
      let earlier = try? Data(contentsOf: URL(fileURLWithPath: earlierPath), options: .alwaysMapped)
    else {
      try write(overlayPath, overlay(keys), line)
      return true
    }
    let lines = file.overlayLines
    let changed = update.delta.files[path] ?? []
    try write(overlayPath, overlay(keys)) { item, json in
      let itemKey = key(item)
      guard !changed.contains(itemKey), let place = lines[itemKey], place.upperBound <= earlier.count else {
        return line(item, &json)
      }
      earlier.withUnsafeBytes { bytes in
        json.appendUTF8(UnsafeBufferPointer(rebasing: bytes.assumingMemoryBound(to: UInt8.self)[place]))
      }
      json.appendASCII(UInt8(ascii: "\n"))
    }
    return true
  }
}
