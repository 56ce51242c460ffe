import DynSyncArtifacts
import DynSyncCore
import DynSyncReaders
import Foundation

extension Workspace {
  /// The state the latest batch left, or an empty state before the first run.
  public func latestState() throws -> (batch: Int?, state: WorkspaceState) {
    guard let latest = try batchNumbers().last else { return (nil, WorkspaceState()) }
    return (latest, try state(of: latest))
  }

  /// The state a batch left, read back from its `state/` folder: each base with its overlay laid over it.
  public func state(of batch: Int) throws -> WorkspaceState {
    let (state, marketo, _) = try stateDeferringMarketo(of: batch)
    return try marketo.readWhole(into: state)
  }

  /// The latest state but its Marketo datasets, and their files, to be read once a run knows which rows it needs.
  ///
  /// - Parameter dynamicsPartSize: when given, the tables of `MergeScope.partialTables` are read only in outline, in
  ///   parts of about this many bytes on every core: the state holds the lines of their bases and overlays not
  ///   written plainly, and the records not read are where `DynamicsStateInPart` says.
  /// - Returns: the latest batch's number (`nil` before the first), its state, its Marketo files, and where the
  ///   Dynamics records not read lie (`nil` when every record was read).
  /// - Throws: `InputError` for a state that cannot be read.
  func latestStateDeferringMarketo(dynamicsPartSize: Int? = nil) throws -> (
    batch: Int?, state: WorkspaceState, marketo: MarketoStateFiles, dynamicsInPart: DynamicsStateInPart?
  ) {
    guard let latest = try batchNumbers().last else {
      return (nil, WorkspaceState(), MarketoStateFiles(folder: "", files: [], artifacts: [:]), nil)
    }
    let (state, marketo, inPart) = try stateDeferringMarketo(of: latest, dynamicsPartSize: dynamicsPartSize)
    return (latest, state, marketo, inPart)
  }

  private func stateDeferringMarketo(of batch: Int, dynamicsPartSize: Int? = nil) throws -> (
    WorkspaceState, MarketoStateFiles, DynamicsStateInPart?
  ) {
    let folder = batchFolder(batch)
    let manifestPath = folder + "/manifest.json"
    let manifestData = try? Data(contentsOf: URL(fileURLWithPath: manifestPath))
    try Workspace.requireKnownFormat(manifestData, at: manifestPath)
    let dynamicsFolder = "state/dynamics"
    let marketoFolder = "state/marketo"
    func bases(in relativeFolder: String) throws -> [String] {
      try Workspace.files(in: folder + "/" + relativeFolder, ending: ".ndjson").filter { !StateLayers.isOverlay($0) }
    }
    var files = try bases(in: dynamicsFolder).map { StateFile.records(dynamicsFolder + "/" + $0) }
    var datasets: [(name: String, path: String)] = []
    for (name, _) in MarketoDatasets().inLoadOrder {
      let path = Workspace.datasetPath(of: name)
      if FileManager.default.fileExists(atPath: folder + "/" + path) { datasets.append((name, path)) }
    }
    for file in try bases(in: marketoFolder + "/customObjects") {
      datasets.append(("customObjects/" + file.dropLast(".ndjson".count), marketoFolder + "/customObjects/" + file))
    }
    if FileManager.default.fileExists(atPath: pendingWritesFile(of: batch)) {
      files.append(.pendingWrites(WorkspaceState.pendingWritesFile))
    }

    let manifest = manifestData.flatMap { try? JSONDecoder().decode(Manifest.self, from: $0) }
    var artifacts: [String: Manifest.Artifact] = [:]
    for artifact in manifest?.artifacts ?? [] { artifacts[artifact.path] = artifact }

    var builder = SnapshotBuilder()
    var read: [String: StateFileShape] = [:]
    var unread: [String: DynamicsStateInPart.UnreadRecords] = [:]
    func add(_ records: [Record], of path: String, shape: StateFileShape) {
      if let entity = records.first?.entity { builder.reserveRecords(records.count, of: entity) }
      builder.add(records)
      read[path] = shape
    }
    /// Reads a base of a table read in part from its text, in parts on every core; `nil` when it cannot be read so.
    func readInParts(_ entity: String, partSize: Int) throws -> OutlinedRecordsFile? {
      let path = Workspace.recordsPath(of: entity)
      guard let file = try OutlinedRecordsFile.read(entity: entity, path: path, in: folder, partSize: partSize) else {
        return nil
      }
      add(file.records, of: path, shape: file.shape)
      unread[entity] = file.unread
      return file
    }
    if let dynamicsPartSize {
      for entity in MergeScope.partialTables.keys.sorted() {
        let path = Workspace.recordsPath(of: entity)
        guard let position = files.firstIndex(where: { $0.path == path }) else { continue }
        // A base with an outline is read from it, beside the files read whole; the others in parts, first.
        if let base = artifacts[path], artifacts[StateOutline.path(of: path)] != nil {
          files[position] = .outlined(entity: entity, base: base)
        } else if try readInParts(entity, partSize: dynamicsPartSize) != nil {
          files.remove(at: position)
        }
      }
    }

    // Each file read on its own core, the largest first; what they hold put together in file order.
    var pending: [GUID: Record] = [:]
    let everyContents = try concurrentMap(files, costs: files.map { $0.cost(in: folder) }) { try $0.read(in: folder) }
    for (file, contents) in zip(files, everyContents) {
      switch file {
      case .records(let path): add(contents.records, of: path, shape: contents.shape)
      case .outlined(let entity, _):
        if let outlined = contents.outlined {
          add(outlined.records, of: file.path, shape: outlined.shape)
          unread[entity] = outlined.unread
        } else if let dynamicsPartSize, try readInParts(entity, partSize: dynamicsPartSize) != nil {
          continue
        } else {
          let whole = try StateFile.records(file.path).read(in: folder)
          add(whole.records, of: file.path, shape: whole.shape)
        }
      case .pendingWrites: for record in contents.records { pending[record.id] = record }
      }
    }
    let inPart = dynamicsPartSize.map { _ in DynamicsStateInPart(folder: folder, unread: unread) }
    // The outline of a base read whole goes on with it, if it matches it.
    for (entity, lookups) in MergeScope.partialTables {
      let path = Workspace.recordsPath(of: entity)
      guard let base = artifacts[path], read[path]?.outlined == false, inPart?.unread[entity] == nil else { continue }
      read[path]?.outlined = StateOutline.matches(
        at: folder + "/" + StateOutline.path(of: path), base: base, baseSize: Workspace.fileSize(folder + "/" + path),
        key: GUID.self, columns: lookups)
    }
    // Settings that cannot be read only cost this run the shortcut: every row is built again.
    let merge = (try? Data(contentsOf: URL(fileURLWithPath: mergeSettingsFile(of: batch)))).flatMap {
      try? JSONDecoder().decode(MergeSettings.self, from: $0)
    }
    var dynamics = builder.build()
    // A table whose records are all not read is there as it would be read whole.
    for (entity, file) in inPart?.unread ?? [:] where dynamics.tables[entity] == nil && file.count > 0 {
      dynamics.tables[entity] = Snapshot.Table(entity: entity, kind: .full)
    }
    var fingerprints = StateFingerprints()
    let entities = dynamics.entityNames
    let fingerprintPaths = entities.map(StateFingerprints.path(of:))
    // A file that does not read back only costs the next run its shortcut: the table's rows are all decoded.
    let fingerprintTables = concurrentMap(
      fingerprintPaths, costs: fingerprintPaths.map { Workspace.stateFileSize(of: $0, in: folder) }
    ) { StateFingerprints.table(at: folder + "/" + $0) }
    for (entity, (path, readBack)) in zip(entities, zip(fingerprintPaths, fingerprintTables)) {
      guard let readBack else { continue }
      fingerprints.tables[entity] = readBack.table
      read[path] = StateFileShape(baseLines: readBack.baseLines, overlayKeys: readBack.overlayKeys)
    }
    let state = WorkspaceState(
      dynamics: dynamics, pendingWrites: pending, merge: merge, fingerprints: fingerprints,
      layers: StateLayers(folder: folder, files: Workspace.layers(of: artifacts, read: read)))
    return (state, MarketoStateFiles(folder: folder, files: datasets, artifacts: artifacts), inPart)
  }

  /// How many lines a part of a state file may hold, at the shortest lines its rows are written in (a few hundred
  /// bytes): what the arrays of a part's lines reserve.
  ///
  /// Fresh memory costs a page fault per page touched, and an array grown by doubling touches about twice what it
  /// ends with; room reserved and never touched costs nothing.
  ///
  /// - Parameter part: a part of a state file.
  /// - Returns: the number of lines to make room for.
  static func linesToReserve(in part: Range<Int>) -> Int { part.count / 256 }

  /// Walks the parts of a state file read in outline (`lineParts`) in order, as the one file they are: each part is
  /// handed on with the line breaks before it, and the error a part met is thrown with its line counted from the
  /// file's start.
  ///
  /// - Parameters:
  ///   - parts: the parts, in file order.
  ///   - outline: a part's outline; `nil` for one that could not be read so.
  ///   - error: the error a part met, if any.
  ///   - precedes: whether a key comes before another in the file's order.
  ///   - lay: takes in a part, given the line breaks of the parts before it.
  /// - Returns: `false` when a part could not be read in outline, or the parts' keys are not in order: the file must
  ///   then be read whole.
  /// - Throws: the first part's error, or what `lay` throws.
  static func layParts<Part, Key>(
    _ parts: inout [Part], outline: (Part) -> StateReader.OutlinedPart<Key>?, error: (Part) -> InputError?,
    precedes: (Key, Key) -> Bool, _ lay: (inout Part, _ lineBreaksBefore: Int) throws -> Void
  ) throws -> Bool {
    var lineBreaks = 0
    var lastKey: Key?
    for index in parts.indices {
      if var error = error(parts[index]) {
        error.line = error.line.map { $0 + lineBreaks }
        throw error
      }
      guard let part = outline(parts[index]) else { return false }
      if let lastKey, let first = part.firstKey, !precedes(lastKey, first) { return false }
      lastKey = part.lastKey ?? lastKey
      try lay(&parts[index], lineBreaks)
      lineBreaks += part.lineBreaks
    }
    return true
  }

  /// Ranges of a state file that each start a line, of about `size` bytes: the parts it is read in on every core.
  static func lineParts(of path: String, size: Int) throws -> [Range<Int>] {
    let length = fileSize(path)
    var starts = [0]
    let handle = FileHandle(forReadingAtPath: path)
    defer { try? handle?.close() }
    var next = max(size, 1)
    while next < length, let handle {
      try handle.seek(toOffset: UInt64(next))
      // A part starts after a line break; a line longer than the look ahead only makes its part longer.
      guard let bytes = try handle.read(upToCount: 1 << 16), let newline = bytes.firstIndex(of: UInt8(ascii: "\n"))
      else {
        next += 1 << 16
        continue
      }
      let start = next + (newline - bytes.startIndex) + 1
      if start < length { starts.append(start) }
      next = start + max(size, 1)
    }
    return zip(starts, starts.dropFirst() + [length]).map { $0..<$1 }.filter { !$0.isEmpty }
  }

  /// The bytes of a state file (by its path in the batch) and its overlay: what reading it costs, roughly.
  static func stateFileSize(of path: String, in folder: String) -> Int {
    fileSize(folder + "/" + path) + fileSize(folder + "/" + StateLayers.overlayPath(of: path))
  }

  /// A file's size, 0 for one missing.
  static func fileSize(_ path: String) -> Int {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
  }

  /// The files of a state the next batch can build on: those read as the batch's manifest lists them.
  ///
  /// A file the manifest does not vouch for (no manifest, another line count) is written whole by the next batch,
  /// which costs it time, not correctness.
  static func layers(of artifacts: [String: Manifest.Artifact], read: [String: StateFileShape]) -> [String:
    StateFileLayers]
  {
    var layers: [String: StateFileLayers] = [:]
    for (path, file) in read {
      guard let base = artifacts[path], base.lines == file.baseLines else { continue }
      let overlay = artifacts[StateLayers.overlayPath(of: path)]
      // Only an outline found to match its base goes on with it.
      let outline = file.outlined ? artifacts[StateOutline.path(of: path)] : nil
      guard let keys = file.overlayKeys else {
        layers[path] = StateFileLayers(base: base, outline: outline)
        continue
      }
      guard let overlay, overlay.lines == keys.count else { continue }
      layers[path] = StateFileLayers(
        base: base, overlay: overlay, overlayKeys: keys, overlayLines: file.overlayLines,
        overlayEntries: file.overlayEntries, outline: outline)
    }
    return layers
  }

  /// One file of a batch's state of records (by its path in the batch).
  private enum StateFile: Sendable {
    case records(String)
    /// A base to be read from its outline (`StateOutline`), as its entry in the batch's manifest lists it.
    case outlined(entity: String, base: Manifest.Artifact)
    case pendingWrites(String)

    var path: String {
      switch self {
      case .records(let path), .pendingWrites(let path): path
      case .outlined(_, let base): base.path
      }
    }

    /// What reading it costs, about: the bytes read, the outline's for a base read from it.
    func cost(in folder: String) -> Int {
      guard case .outlined = self else { return Workspace.stateFileSize(of: path, in: folder) }
      return Workspace.fileSize(folder + "/" + StateOutline.path(of: path))
        + Workspace.fileSize(folder + "/" + StateLayers.overlayPath(of: path))
    }

    /// What the file holds; of a base whose outline does not match it, nothing (`StateFileContents.outlined` is
    /// `nil`): it is to be read another way.
    func read(in folder: String) throws -> StateFileContents {
      if case .outlined(let entity, let base) = self {
        return StateFileContents(
          records: [], shape: StateFileShape(baseLines: 0),
          outlined: try OutlinedRecordsFile.fromOutline(entity: entity, path: path, in: folder, base: base))
      }
      var records: [Record] = []
      try StateReader.records(in: folder + "/" + path) { records.append($0) }
      var shape = StateFileShape(baseLines: records.count)
      guard let overlay = try RecordOverlay.read(beside: path, in: folder, entity: records.first?.entity) else {
        return StateFileContents(records: records, shape: shape)
      }
      try overlay.lay(over: &records, overlayPath: folder + "/" + StateLayers.overlayPath(of: path))
      overlay.describe(in: &shape)
      return StateFileContents(records: records, shape: shape)
    }
  }

  /// A state file's records read and how it was laid down; of a base read from its outline, what that gave.
  private struct StateFileContents: Sendable {
    var records: [Record]
    var shape: StateFileShape
    var outlined: OutlinedRecordsFile?
  }
}

/// A table's overlay of records as read: what each line says of its id's record, and where the lines read as dynsync
/// writes them lie (`StateFileLayers.overlayLines`).
struct RecordOverlay: Sendable {
  var entries: [GUID: RecordOverlayEntry] = [:]
  var lines: [String: Range<Int>] = [:]

  /// The overlay beside the base at `path` (in the batch `folder`), of the table `entity` (`nil`: the base holds no
  /// record); `nil` when the base has none.
  ///
  /// - Throws: `InputError` for an overlay that cannot be read, or a patch of another table's record.
  static func read(beside path: String, in folder: String, entity: String?) throws -> RecordOverlay? {
    let overlayPath = folder + "/" + StateLayers.overlayPath(of: path)
    guard FileManager.default.fileExists(atPath: overlayPath) else { return nil }
    var overlay = RecordOverlay()
    try StateReader.overlayRecords(in: overlayPath) { id, table, entry, line in
      if case .patch = entry, table != entity {
        throw InputError(
          file: overlayPath, reason: "corrupt state overlay: a patch of the record \(id) of another table (\(table))")
      }
      overlay.entries[id] = entry
      overlay.lines[id.description] = line
    }
    return overlay
  }

  /// The records it holds whole, in id order.
  var recordsInOrder: [Record] {
    entries.keys.sorted().compactMap { id in
      if case .record(let record) = entries[id] { return record }
      return nil
    }
  }

  /// Lays the overlay over its base's `records`: a record it patches patched, one it holds or removes taken out, and
  /// the records it holds added in id order.
  ///
  /// - Throws: `InputError` for a patch of a record `records` does not hold.
  func lay(over records: inout [Record], overlayPath: String) throws {
    var patches: [GUID: RecordPatch] = [:]
    for (id, entry) in entries {
      if case .patch(let patch) = entry { patches[id] = patch }
    }
    records.removeAll { record in
      guard let entry = entries[record.id] else { return false }
      if case .patch = entry { return false }
      return true
    }
    try DynamicsStateInPart.lay(patches, over: &records, overlayPath: overlayPath)
    records += recordsInOrder
  }

  /// Notes in `shape` that the file has this overlay: its keys, and where their lines lie.
  func describe(in shape: inout StateFileShape) {
    shape.overlayKeys = Set(entries.keys.map(\.description))
    shape.overlayLines = lines
  }
}

/// How a state file was laid down: its base's line count, and the keys of its overlay (`nil`: it has none).
struct StateFileShape: Sendable {
  var baseLines: Int
  var overlayKeys: Set<String>?
  /// Where the overlay's lines written as dynsync writes them lie in it, by key (`StateFileLayers.overlayLines`).
  var overlayLines: [String: Range<Int>] = [:]
  /// What a Marketo dataset's overlay says of its keys (`StateFileLayers.overlayEntries`).
  var overlayEntries: [String: MarketoOverlayEntry] = [:]
  /// Whether the base's outline (`StateOutline`) matched it: read from it, or its head checked when the base was
  /// read whole.
  var outlined = false
}

extension Workspace {
  /// Refuses a batch whose manifest (`manifest`, read from `path`) names a later format than this dynsync reads
  /// (`Manifest.currentFormatVersion`).
  ///
  /// Its state files may hold lines this dynsync would misread. A batch whose manifest cannot be read or names no
  /// format is read as before (its files vouched for by nothing, written whole by the next batch).
  static func requireKnownFormat(_ manifest: Data?, at path: String) throws {
    struct Format: Decodable { var formatVersion: Int? }
    guard let manifest, let version = (try? JSONDecoder().decode(Format.self, from: manifest))?.formatVersion,
      version > Manifest.currentFormatVersion
    else { return }
    throw InputError(
      file: path,
      reason: "the batch was written by a newer dynsync (batch format \(version); this dynsync reads formats up to "
        + "\(Manifest.currentFormatVersion)): run that dynsync or a newer one (nothing was written)")
  }
}
