import DynSyncCore
import Foundation

/// One file of a state as its batch holds it: a base, and the overlay laid over it.
///
/// Writing every record of the org again costs a run what the org holds, not what changed. A batch instead takes the
/// base of the state before it as it is (a hard link: no byte is copied) and writes an overlay beside it: the line of
/// every key changed since that base, or a removal line for a key gone. Reading a state lays the overlay over its
/// base. Once an overlay would hold more than a quarter of its base's keys, the file is written whole again, as a new
/// base without an overlay, so that reading a state never costs much more than reading one file.
public struct StateFileLayers: Sendable, Equatable {
  /// The base as the batch's manifest lists it (its line count is its key count).
  public var base: Manifest.Artifact
  public var overlay: Manifest.Artifact?
  /// The keys the overlay holds, as written (a record's id, a Marketo row's key).
  public var overlayKeys: Set<String>
  /// Where in the overlay the lines of keys read as dynsync writes them lie (without their line breaks), by key: the
  /// next overlay copies the line of a key that did not change since, where it wrote the line again from the row
  /// read from it (an overlay holds every key changed since its base, run after run).
  public var overlayLines: [String: Range<Int>]
  /// Of a Marketo dataset's file, what the overlay's line of each key says of it, by key: the next overlay's patch of
  /// a key patched (`MarketoOverlayEntry.patch`) is this patch followed by what changed since.
  public var overlayEntries: [String: MarketoOverlayEntry]
  /// The base's outline (`StateOutline`), where it has one that was found to match it: it goes where the base goes.
  public var outline: Manifest.Artifact?

  public init(
    base: Manifest.Artifact, overlay: Manifest.Artifact? = nil, overlayKeys: Set<String> = [],
    overlayLines: [String: Range<Int>] = [:], overlayEntries: [String: MarketoOverlayEntry] = [:],
    outline: Manifest.Artifact? = nil
  ) {
    self.base = base
    self.overlay = overlay
    self.overlayKeys = overlayKeys
    self.overlayLines = overlayLines
    self.overlayEntries = overlayEntries
    self.outline = outline
  }
}

/// The files of the state a batch left, which the next batch builds on.
public struct StateLayers: Sendable, Equatable {
  /// The batch folder they are in.
  public var folder: String
  /// By the path of the base in the batch (`state/dynamics/account.ndjson`).
  public var files: [String: StateFileLayers]

  public init(folder: String, files: [String: StateFileLayers] = [:]) {
    self.folder = folder
    self.files = files
  }

  private static let overlayMark = ".overlay"

  /// The overlay's path beside a base's, before its extension (`state/dynamics/account.overlay.ndjson`,
  /// `state/fingerprints/account.overlay.txt`).
  public static func overlayPath(of basePath: String) -> String {
    let name = basePath.lastIndex(of: "/").map { basePath.index(after: $0) } ?? basePath.startIndex
    guard let dot = basePath[name...].lastIndex(of: ".") else { return basePath + overlayMark }
    return String(basePath[..<dot]) + overlayMark + String(basePath[dot...])
  }

  /// Whether a file name is an overlay's; a table or dataset name never makes one (file names of names hold no dot).
  public static func isOverlay(_ name: String) -> Bool {
    guard let dot = name.lastIndex(of: ".") else { return false }
    return name[..<dot].hasSuffix(overlayMark)
  }

  /// The keys the next batch's overlay of a file holds: those of the overlay before it and those changed since; or
  /// `nil` when the file is written whole (no base to build on, changes not known, or an overlay grown past a
  /// quarter of its base).
  func overlayKeys(of path: String, changed: Set<String>?) -> Set<String>? {
    guard let file = files[path], let changed else { return nil }
    // The smaller laid into the larger: a union copies the set it starts from and hashes each key of the other into
    // it, a hundred thousand persons' keys into an empty set for the first overlay, grown a doubling at a time.
    let keys =
      file.overlayKeys.count >= changed.count ? file.overlayKeys.union(changed) : changed.union(file.overlayKeys)
    return keys.count * 4 <= file.base.lines ? keys : nil
  }
}

/// The keys whose state lines differ between two states, by file: what the newer state's overlays must hold.
public struct StateDelta: Sendable, Equatable {
  /// By the path of the file in the batch; a file not named is written whole.
  public var files: [String: Set<String>] = [:]

  public init(files: [String: Set<String>] = [:]) {
    self.files = files
  }

  /// The records and Marketo rows of `current` not written as `previous` writes them, or gone from it.
  ///
  /// - Parameters:
  ///   - previous: the state of the batch before.
  ///   - current: the state this batch leaves.
  ///   - touched: per table, the only records that can differ (rows read again from the export, records removed),
  ///     and no others in tables it does not name; `nil` compares every record.
  ///   - marketo: how `current`'s Marketo datasets differ from `previous`'s.
  public init(
    previous: WorkspaceState, current: WorkspaceState, touched: [String: Set<GUID>]?, marketo: MarketoDifferences
  ) {
    // A table on each core: leads and contacts are most of the work, and as large as each other.
    let entities = current.dynamics.entityNames
    let changedRecords = concurrentMap(
      entities, costs: entities.map { touched?[$0]?.count ?? current.dynamics.tables[$0]?.records.count ?? 0 }
    ) { entity in
      StateDelta.changedRecords(of: entity, previous: previous, current: current, touched: touched)
    }
    for (entity, changed) in zip(entities, changedRecords) { files[Workspace.recordsPath(of: entity)] = changed }
    for (name, keys) in marketo.changedKeys { files[Workspace.datasetPath(of: name)] = keys }
    let fingerprinted = current.fingerprints.tables.keys.sorted()
    let changedFingerprints = concurrentMap(
      fingerprinted, costs: fingerprinted.map { current.fingerprints.tables[$0]?.approximateCount ?? 0 }
    ) { entity -> Set<String>? in
      // Fingerprints taken in another context than the base's are written whole.
      guard let earlier = previous.fingerprints.tables[entity], let table = current.fingerprints.tables[entity],
        earlier.context == table.context
      else { return nil }
      return earlier.changedIDs(to: table)
    }
    for (entity, changed) in zip(fingerprinted, changedFingerprints) {
      if let changed { files[StateFingerprints.path(of: entity)] = changed }
    }
  }

  /// The ids of a table's records not written in `current` as in `previous`, or in only one of them.
  private static func changedRecords(
    of entity: String, previous: WorkspaceState, current: WorkspaceState, touched: [String: Set<GUID>]?
  ) -> Set<String> {
    let before = previous.dynamics.tables[entity]?.records ?? [:]
    let after = current.dynamics.tables[entity]?.records ?? [:]
    let candidates = touched.map { $0[entity] ?? [] } ?? Set(before.keys).union(after.keys)
    // Room for every candidate when only some are (a run's touched records mostly change): grown a doubling at a
    // time, the set hashed every id again at each.
    var changed = Set<String>(minimumCapacity: touched == nil ? 0 : candidates.count)
    for id in candidates {
      switch (before[id], after[id]) {
      case (nil, nil): continue
      case (let earlier?, let record?) where earlier.isIdentical(to: record): continue
      default: changed.insert(id.description)
      }
    }
    return changed
  }
}

/// The state a batch builds on, and what changed since it.
public struct StateUpdate: Sendable {
  public let layers: StateLayers
  public let delta: StateDelta
  /// The Marketo rows of the state before, as read (`patchBases(of:)`).
  private let previousMarketo: MarketoDatasets
  /// The Dynamics records of the state before that were read (`recordPatchBases(of:)`).
  private let previousDynamics: Snapshot
  /// The patch of a record overlay's line as dynsync writes it, `nil` for any other line (`recordPatchBases(of:)`).
  private let readRecordPatch: @Sendable (UnsafeRawBufferPointer) -> RecordPatch?
  /// By path, the keys of the new overlay: made once, since a union of a quarter of a million keys is not nothing.
  private let overlays: [String: Set<String>]

  /// - Parameters:
  ///   - layers: the files of the state before.
  ///   - delta: what changed since.
  ///   - previousMarketo: the Marketo rows of the state before, as read.
  ///   - previousDynamics: the Dynamics records of the state before that were read.
  ///   - readRecordPatch: the patch of a record overlay's line as dynsync writes it, `nil` for any other line; by
  ///     default none is read, and every record an overlay held is written whole.
  public init(
    layers: StateLayers, delta: StateDelta, previousMarketo: MarketoDatasets = MarketoDatasets(),
    previousDynamics: Snapshot = Snapshot(),
    readRecordPatch: @escaping @Sendable (UnsafeRawBufferPointer) -> RecordPatch? = { _ in nil }
  ) {
    self.layers = layers
    self.delta = delta
    self.previousMarketo = previousMarketo
    self.previousDynamics = previousDynamics
    self.readRecordPatch = readRecordPatch
    // A file on each core.
    let paths = layers.files.keys.sorted()
    let keys = concurrentMap(paths, costs: paths.map { delta.files[$0]?.count ?? 0 }) { path in
      layers.overlayKeys(of: path, changed: delta.files[path])
    }
    var overlays: [String: Set<String>] = [:]
    for (path, keys) in zip(paths, keys) { overlays[path] = keys }
    self.overlays = overlays
  }

  /// The keys the overlay of the file at `path` holds in the new batch, or `nil` when the file is written whole.
  public func overlayKeys(of path: String) -> Set<String>? { overlays[path] }

  /// What the new overlay's patch of a Marketo row is made from, by key.
  ///
  /// That is the row the state before held and the patch that made it of its base's (empty for a row the overlay
  /// before did not hold: its base's row); `nil` for a key written whole: new since the base (or the overlay before
  /// held its row whole), or not held.
  public func patchBases(of dataset: String) -> @Sendable (_ key: String) -> (row: MarketoRow, patch: FieldsPatch)? {
    guard let file = layers.files[Workspace.datasetPath(of: dataset)] else { return { _ in nil } }
    let previousRows = previousMarketo[dataset: dataset].rows
    return { key in
      guard let row = previousRows[key] else { return nil }
      if case .patch(let patch) = file.overlayEntries[key] { return (row, patch) }
      return file.overlayKeys.contains(key) ? nil : (row, FieldsPatch())
    }
  }

  /// What the new overlay's patch of a record is made from, by id: the record the state before held and the patch
  /// that made it of its base's record (empty for a record the overlay before did not hold).
  ///
  /// `nil` for a record written whole: of a table read whole (`MergeScope.partialTables` names those read in part,
  /// whose records' patches are read with their base's lines), new since the base, held whole by the overlay before
  /// (or its line not read as dynsync writes it), or not read.
  public func recordPatchBases(of entity: String) -> @Sendable (_ id: GUID) -> (record: Record, patch: RecordPatch)? {
    let path = Workspace.recordsPath(of: entity)
    guard MergeScope.partialTables[entity] != nil, let file = layers.files[path],
      let records = previousDynamics.tables[entity]?.records
    else { return { _ in nil } }
    let earlier =
      file.overlay == nil
      ? nil
      : try? Data(
        contentsOf: URL(fileURLWithPath: layers.folder + "/" + StateLayers.overlayPath(of: path)),
        options: .alwaysMapped)
    let readPatch = readRecordPatch
    return { id in
      guard let record = records[id] else { return nil }
      let key = id.description
      guard file.overlayKeys.contains(key) else { return (record, RecordPatch()) }
      guard let earlier, let place = file.overlayLines[key], place.upperBound <= earlier.count else { return nil }
      return earlier.withUnsafeBytes { bytes in readPatch(UnsafeRawBufferPointer(rebasing: bytes[place])) }.map {
        (record, $0)
      }
    }
  }
}
