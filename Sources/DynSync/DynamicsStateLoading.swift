import DynSyncArtifacts
import DynSyncCore
import DynSyncReaders
import Foundation

/// The records of the state's tables of `MergeScope.partialTables` that a run has not read: where each lies, and its
/// lookups.
///
/// An incremental run needs few records of those tables: the previous records of the export rows that differ, those
/// of the rows gone, and those the merge reads (`MergeScope.holdRecordsRead`); every scan over the whole table looks
/// only at lookups (`RecordLinks`), and the state is written as overlays holding only records that changed. So a base
/// is only outlined (each line's id and lookups read, where it lies noted), its records read when they are asked
/// for, and all of them only for a file written whole.
struct DynamicsStateInPart: Sendable {
  /// The batch folder.
  var folder: String
  /// By table: its base's path, its lines not read, in id order, and their lookups, in the same order.
  var unread: [String: UnreadRecords]

  struct UnreadRecords: Sendable {
    var path: String
    var lines: [StateReader.RecordLine]
    /// The lookups of the lines not read, the base's and the overlay's.
    var links: RecordLinks.Table
    /// The overlay's lines not read, in id order (none of an id the base's lines have): an overlay's records are
    /// outlined as the base's are, since most of them are not needed either.
    var overlay: (path: String, lines: [StateReader.RecordLine]) = ("", [])
    /// The overlay's patch lines of records of `lines`, in id order: read with their base's lines
    /// (`StateReader.OverlayMark.patchLine`).
    var patches: [StateReader.RecordLine] = []

    /// How many lines are not read.
    var count: Int { lines.count + overlay.lines.count }

    /// The lines of those of `ids` (sorted, each once) not read, in order, by file.
    func lines(of ids: [GUID]) -> [LinesToRead] {
      let found = [
        LinesToRead(
          path: path, lines: Self.lines(of: ids, in: lines), patchPath: overlay.path,
          patches: Self.lines(of: ids, in: patches))
      ]
      return overlay.lines.isEmpty
        ? found : found + [LinesToRead(path: overlay.path, lines: Self.lines(of: ids, in: overlay.lines))]
    }

    /// The lines of `ids` among `lines`: looked up one by one when they are few, else found by walking both lists
    /// side by side.
    private static func lines(of ids: [GUID], in lines: [StateReader.RecordLine]) -> [StateReader.RecordLine] {
      guard ids.count * 16 > lines.count else {
        return ids.compactMap { id in lines.placeInSorted(of: id, by: \.key).map { lines[$0] } }
      }
      var found: [StateReader.RecordLine] = []
      forEachSortedPairing(
        ids.count, lines.count, same: { ids[$0] == lines[$1].key }, precedes: { ids[$0] < lines[$1].key },
        each: { if case .both(_, let line) = $0 { found.append(lines[line]) } })
      return found
    }

    /// Whether the line of `id` was not read.
    func contains(_ id: GUID) -> Bool {
      lines.placeInSorted(of: id, by: \.key) != nil || overlay.lines.placeInSorted(of: id, by: \.key) != nil
    }

    /// The ids of the lines not read, sorted.
    var ids: [GUID] {
      guard !overlay.lines.isEmpty else { return lines.map(\.key) }
      var ids: [GUID] = []
      ids.reserveCapacity(count)
      let (base, laid) = (lines, overlay.lines)
      forEachSortedPairing(
        base.count, laid.count, same: { base[$0].key == laid[$1].key }, precedes: { base[$0].key < laid[$1].key },
        each: {
          switch $0 {
          case .first(let line), .both(let line, _): ids.append(base[line].key)
          case .second(let line): ids.append(laid[line].key)
          }
        })
      return ids
    }
  }

  /// Every id of a table, sorted, once: those of the records held and those of the lines not read (a record read
  /// from one of those lines is both).
  func ids(of entity: String, held: [GUID: Record]) -> [GUID] {
    guard let file = unread[entity], file.count > 0 else { return held.keys.sorted() }
    let lines = file.ids
    let heldIDs = held.keys.sorted()
    var ids: [GUID] = []
    ids.reserveCapacity(heldIDs.count + lines.count)
    forEachSortedPairing(
      lines.count, heldIDs.count, same: { lines[$0] == heldIDs[$1] }, precedes: { lines[$0] < heldIDs[$1] },
      each: {
        switch $0 {
        case .first(let line), .both(let line, _): ids.append(lines[line])
        case .second(let held): ids.append(heldIDs[held])
        }
      })
    return ids
  }

  /// How many records a table has: those held, and those of the lines not read that are not held too.
  func count(of entity: String, held: [GUID: Record]) -> Int {
    guard let file = unread[entity] else { return held.count }
    return held.count + file.count - held.keys.lazy.filter { file.contains($0) }.count
  }

  /// Lines of one file to read, and the overlay's patch lines of their records, in id order.
  struct LinesToRead: Sendable {
    var path: String
    var lines: [StateReader.RecordLine]
    var patchPath = ""
    var patches: [StateReader.RecordLine] = []
  }

  /// The records not read with one of these ids, of the table (`nil`: of any), read from where they lie, in runs of
  /// lines on every core.
  func records(_ ids: some Sequence<GUID>, of entity: String? = nil) throws -> [Record] {
    let sortedIDs = ids.sorted()
    let files = unread.sorted(by: { $0.key < $1.key }).filter { entity == nil || $0.key == entity }.map(\.value)
    // A table on each core: finding the lines is a walk of hundreds of thousands of them.
    return try records(
      at: concurrentMap(files, costs: files.map(\.count)) { file in file.lines(of: sortedIDs) }.flatMap { $0 })
  }

  /// The records not read with one of the ids of each table, by table: every table's read at once, in runs of lines
  /// on every core, where one table after another left a core idle at the end of each.
  func records(named ids: [String: Set<GUID>]) throws -> [String: [Record]] {
    let files = ids.compactMap { entity, ids in unread[entity].map { (entity, $0, ids) } }.sorted { $0.0 < $1.0 }
    // A table on each core: each sorts its ids and walks its lines, hundreds of thousands.
    let lines = concurrentMap(files, costs: files.map(\.1.count)) { _, file, ids in file.lines(of: ids.sorted()) }
    var read = try recordsByFile(at: lines.flatMap { $0 })
    // Each table's files' records put together, in the order of its files.
    var byTable: [String: [Record]] = [:]
    var next = 0
    for (table, groups) in zip(files.map(\.0), lines) {
      var records: [Record] = []
      for _ in groups {
        records.append(movingContentsOf: &read[next])
        next += 1
      }
      byTable[table] = records
    }
    return byTable
  }

  /// The records of these lines, of these files, read in runs of lines on every core.
  private func records(at lines: [LinesToRead]) throws -> [Record] {
    var read = try recordsByFile(at: lines)
    // Sized once: a hundred thousand records copied at every doubling add up.
    var records: [Record] = []
    records.reserveCapacity(read.map(\.count).reduce(0, +))
    for file in read.indices { records.append(movingContentsOf: &read[file]) }
    return records
  }

  /// The records of these lines, of each of these files, their patches laid over them, read in runs of lines on
  /// every core.
  private func recordsByFile(at lines: [LinesToRead]) throws -> [[Record]] {
    var runs: [(file: Int, lines: LinesToRead)] = []
    for (file, group) in lines.enumerated() {
      // Each run takes the patches of the ids up to its last: both lists are in id order.
      var patch = 0
      for run in group.lines.runs(of: DynamicsStateInPart.linesARun) {
        let first = patch
        if let last = run.last?.key {
          while patch < group.patches.count, group.patches[patch].key <= last { patch += 1 }
        }
        runs.append(
          (
            file,
            LinesToRead(
              path: group.path, lines: Array(run), patchPath: group.patchPath,
              patches: Array(group.patches[first..<patch]))
          ))
      }
    }
    let folder = folder
    var read = try concurrentMap(runs) { run in
      var records: [Record] = []
      records.reserveCapacity(run.lines.lines.count)
      try StateReader.records(in: folder + "/" + run.lines.path, at: run.lines.lines) { records.append($0) }
      try DynamicsStateInPart.lay(run.lines.patches, in: folder + "/" + run.lines.patchPath, over: &records)
      return records
    }
    var files = [[Record]](repeating: [], count: lines.count)
    for (file, group) in lines.enumerated() { files[file].reserveCapacity(group.lines.count) }
    for (index, run) in runs.enumerated() { files[run.file].append(movingContentsOf: &read[index]) }
    return files
  }

  /// Lays the patches of these lines of an overlay over `records` (read from their base), each over its id's.
  ///
  /// - Throws: `InputError` for a patch whose record is not among them: the base does not hold it.
  static func lay(_ patchLines: [StateReader.RecordLine], in path: String, over records: inout [Record]) throws {
    guard !patchLines.isEmpty else { return }
    var patches: [GUID: RecordPatch] = [:]
    patches.reserveCapacity(patchLines.count)
    try StateReader.recordPatches(in: path, at: patchLines) { id, patch in patches[id] = patch }
    try lay(patches, over: &records, overlayPath: path)
  }

  /// Lays `patches` over `records`, each over its id's.
  ///
  /// - Throws: `InputError` for a patch whose record is not among them: the base does not hold it.
  static func lay(_ patches: [GUID: RecordPatch], over records: inout [Record], overlayPath: String) throws {
    var laid = 0
    for index in records.indices {
      guard let patch = patches[records[index].id] else { continue }
      records[index] = patch.applied(to: records[index])
      laid += 1
    }
    guard laid == patches.count else {
      let ids = Set(records.map(\.id))
      throw unpatched(overlayPath, id: patches.keys.sorted().first { !ids.contains($0) })
    }
  }

  /// The error for an overlay's patch of a record its base does not hold.
  static func unpatched(_ overlayPath: String, id: GUID?) -> InputError {
    InputError(
      file: overlayPath,
      reason: "corrupt state overlay: a patch of "
        + (id.map { "the record \($0), which" } ?? "a record which") + " its base does not hold")
  }

  /// Lines read together on one core: enough that opening the file is nothing beside them.
  private static let linesARun = 2_048

  /// The lookups of the records not read, but those of `touched` (read again from the export, or gone).
  func links(without touched: [String: Set<GUID>]) -> RecordLinks {
    // A table on each core: each is a look at every line's id.
    let entities = unread.keys.sorted()
    let unread = unread
    let tables = concurrentMap(entities, costs: entities.map { unread[$0]?.count ?? 0 }) { entity in
      unread[entity]?.links.removing(touched[entity] ?? [])
    }
    var links = RecordLinks()
    for (entity, table) in zip(entities, tables) { links.tables[entity] = table }
    return links
  }

  /// `table` with every record not read but those of `touched`, for a file written whole.
  func whole(_ table: Snapshot.Table, except touched: Set<GUID>) throws -> Snapshot.Table {
    guard let file = unread[table.entity] else { return table }
    var table = table
    table.records.reserveCapacity(table.records.count + file.count)
    let lines = [
      LinesToRead(
        path: file.path, lines: file.lines.filter { !touched.contains($0.key) }, patchPath: file.overlay.path,
        patches: file.patches.filter { !touched.contains($0.key) }),
      LinesToRead(path: file.overlay.path, lines: file.overlay.lines.filter { !touched.contains($0.key) }),
    ]
    for record in try records(at: lines) where table.records[record.id] == nil {
      table.records[record.id] = record
    }
    return table
  }

  /// `dynamics` with every record not read, for a run that needs them all.
  func whole(_ dynamics: Snapshot) throws -> Snapshot {
    var dynamics = dynamics
    for entity in unread.keys.sorted() {
      guard let table = dynamics.tables[entity] else { continue }
      dynamics.tables[entity] = try whole(table, except: [])
    }
    return dynamics
  }
}

/// One table's file of the state read in outline: the records held (decoded), how it was laid down, and the lines
/// not read.
struct OutlinedRecordsFile: Sendable {
  var records: [Record] = []
  var shape = StateFileShape(baseLines: 0)
  var unread: DynamicsStateInPart.UnreadRecords

  /// Reads a table's file of the state in parts of about `partSize` bytes, on every core; `nil` when it cannot be
  /// read so (see `StateReader.records(in:range:entity:lookups:decoded:outlined:)`), to be read whole.
  static func read(entity: String, path: String, in folder: String, partSize: Int) throws -> OutlinedRecordsFile? {
    try laidOver(entity: entity, path: path, in: folder) { lookups, overlaid in
      try fromText(
        entity: entity, path: path, in: folder, partSize: partSize, lookups: lookups, overlaid: overlaid)
    }
  }

  /// Reads a table's file of the state from its base's outline (`StateOutline`); `nil` when the base has none that
  /// matches `base`, to be read another way.
  static func fromOutline(entity: String, path: String, in folder: String, base: Manifest.Artifact) throws
    -> OutlinedRecordsFile?
  {
    try laidOver(entity: entity, path: path, in: folder) { lookups, overlaid in
      try fromOutline(path: path, in: folder, base: base, lookups: lookups, overlaid: overlaid)
    }
  }

  /// The base as `readBase` reads it (given the lookups to outline and the ids of the overlay's records and removals,
  /// which it leaves out), the overlay laid over it: its lines outlined as the base's are, those it cannot outline
  /// decoded, the records of its patches read where the patch was or their base's line was read.
  private static func laidOver(
    entity: String, path: String, in folder: String,
    readBase: (_ lookups: [String], _ overlaid: Set<GUID>) throws -> OutlinedRecordsFile?
  ) throws -> OutlinedRecordsFile? {
    let lookups = MergeScope.partialTables[entity] ?? []
    let overlay = try OutlinedOverlay.read(beside: path, in: folder, entity: entity, lookups: lookups)
    guard var file = try readBase(lookups, overlay?.replaced ?? []) else { return nil }
    if let overlay {
      let overlayPath = StateLayers.overlayPath(of: path)
      try file.lay(overlay, basePath: folder + "/" + path, overlayPath: folder + "/" + overlayPath)
      file.records += overlay.records
      file.unread.overlay = (overlayPath, overlay.lines)
      file.unread.links.append(overlay.lines.lazy.map(\.key), lookups: overlay.targets)
      file.shape.overlayKeys = Set(overlay.ids.map(\.description))
      file.shape.overlayLines = overlay.ranges
    }
    return file
  }

  /// Lays the overlay's patches over the base's records: a patch read (its line not written as dynsync writes it, or
  /// setting a lookup the base's line was outlined for) over its record read now; a patch's line over the record of
  /// a base's line decoded, read now; every other patch's line kept to be read with its base's line.
  ///
  /// - Throws: `InputError` for a patch whose record the base does not hold.
  private mutating func lay(_ overlay: OutlinedOverlay, basePath: String, overlayPath: String) throws {
    var patches = overlay.patches
    if !records.isEmpty, !overlay.patchLines.isEmpty {
      let held = Set(records.lazy.map(\.id))
      try StateReader.recordPatches(in: overlayPath, at: overlay.patchLines.filter { held.contains($0.key) }) {
        id, patch in patches[id] = patch
      }
    }
    if !overlay.patches.isEmpty {
      let patched = Set(overlay.patches.keys)
      let lines = unread.lines.filter { patched.contains($0.key) }
      try StateReader.records(in: basePath, at: lines) { records.append($0) }
      unread.lines.removeAll { patched.contains($0.key) }
      unread.links = unread.links.removing(patched)
    }
    try DynamicsStateInPart.lay(patches, over: &records, overlayPath: overlayPath)
    // Every other patch's record is among the lines not read, found as it is read.
    let held = Set(patches.keys)
    unread.patches = overlay.patchLines.filter { !held.contains($0.key) }
    for line in unread.patches where unread.lines.placeInSorted(of: line.key, by: \.key) == nil {
      throw DynamicsStateInPart.unpatched(overlayPath, id: line.key)
    }
  }

  /// An overlay of a table read in part: its lines written as dynsync writes them outlined (where each lies, its id
  /// and lookups), the others decoded; the ids of every line, removals among them.
  private struct OutlinedOverlay {
    var records: [Record] = []
    var lines: [StateReader.RecordLine] = []
    /// `lookups.count` a line of `lines`.
    var targets: [GUID?] = []
    /// The ids of the records and removals, whose base's lines are passed over.
    var replaced = Set<GUID>()
    /// The patch lines outlined (`StateReader.OverlayMark.patchLine`), in id order.
    var patchLines: [StateReader.RecordLine] = []
    /// The patches read, by id.
    var patches: [GUID: RecordPatch] = [:]
    /// Where the lines outlined lie, by id (`StateFileLayers.overlayLines`).
    var ranges: [String: Range<Int>] = [:]

    /// The ids of every line: each line is a record, a removal or a patch, of an id no other line has.
    var ids: [GUID] { Array(replaced) + patchLines.map(\.key) + Array(patches.keys) }

    /// The overlay beside the base at `path`, `nil` where it has none; an overlay that cannot be outlined (ids out of
    /// their order, a line of another table) is decoded whole.
    static func read(beside path: String, in folder: String, entity: String, lookups: [String]) throws
      -> OutlinedOverlay?
    {
      let overlayPath = folder + "/" + StateLayers.overlayPath(of: path)
      guard FileManager.default.fileExists(atPath: overlayPath) else { return nil }
      var overlay = OutlinedOverlay()
      let outlined = try StateReader.records(
        in: overlayPath, entity: entity, lookups: lookups,
        decoded: { record in
          overlay.records.append(record)
          overlay.replaced.insert(record.id)
        },
        outlined: { line, targets in
          overlay.lines.append(line)
          overlay.targets += targets
          overlay.replaced.insert(line.key)
          overlay.ranges[line.key.description] = line.span
        },
        overlaid: { id, mark in
          switch mark {
          case .removed: overlay.replaced.insert(id)
          case .patch(let patch): overlay.patches[id] = patch
          case .patchLine(let line):
            overlay.patchLines.append(line)
            overlay.ranges[id.description] = line.span
          }
        })
      if outlined != nil { return overlay }
      guard let whole = try RecordOverlay.read(beside: path, in: folder, entity: entity) else { return nil }
      var decoded = OutlinedOverlay(records: whole.recordsInOrder, ranges: whole.lines)
      for (id, entry) in whole.entries {
        if case .patch(let patch) = entry { decoded.patches[id] = patch } else { decoded.replaced.insert(id) }
      }
      return decoded
    }
  }

  /// The base read from its outline: the lines not read and their lookups as it gives them (but those of `laid`),
  /// the lines it cannot outline decoded; `nil` when it has no outline that matches `base`.
  private static func fromOutline(
    path: String, in folder: String, base: Manifest.Artifact, lookups: [String], overlaid: Set<GUID>
  ) throws -> OutlinedRecordsFile? {
    let basePath = folder + "/" + path
    var file = OutlinedRecordsFile(
      unread: DynamicsStateInPart.UnreadRecords(path: path, lines: [], links: RecordLinks.Table(fields: lookups)))
    file.unread.lines.reserveCapacity(base.lines)
    file.unread.links.reserveCapacity(base.lines)
    var escaped: [StateReader.RecordLine] = []
    let read = StateOutline.read(
      at: folder + "/" + StateOutline.path(of: path), base: base, baseSize: Workspace.fileSize(basePath),
      columns: lookups
    ) { (line: StateOutline.Line<GUID>, targets) in
      guard overlaid.isEmpty || !overlaid.contains(line.key) else { return }
      let recordLine = StateReader.RecordLine(
        key: line.key, offset: line.offset, length: line.length, line: line.number, column: 1)
      guard !line.isEscaped else { return escaped.append(recordLine) }
      file.unread.lines.append(recordLine)
      file.unread.links.append(line.key, targets)
    }
    guard read else { return nil }
    try StateReader.records(in: basePath, at: escaped) { file.records.append($0) }
    file.shape = StateFileShape(baseLines: base.lines, outlined: true)
    return file
  }

  /// The base read in parts on every core, each line outlined from its text.
  private static func fromText(
    entity: String, path: String, in folder: String, partSize: Int, lookups: [String], overlaid: Set<GUID>
  ) throws -> OutlinedRecordsFile? {
    let ranges = try Workspace.lineParts(of: folder + "/" + path, size: partSize)
    var parts = try concurrentMap(ranges, costs: ranges.map(\.count)) { range in
      try OutlinedPart.read(folder + "/" + path, range: range, entity: entity, lookups: lookups, overlaid: overlaid)
    }
    var file = OutlinedRecordsFile(
      unread: DynamicsStateInPart.UnreadRecords(path: path, lines: [], links: RecordLinks.Table(fields: lookups)))
    file.unread.links.reserveCapacity(parts.map(\.unread.count).reduce(0, +))
    file.unread.lines.reserveCapacity(parts.map(\.unread.count).reduce(0, +))
    let laidOut = try Workspace.layParts(&parts, outline: \.outline, error: \.error, precedes: <) { part, lineBreaks in
      file.records += part.held.map { record in
        var record = record
        record.origin.line = record.origin.line.map { $0 + lineBreaks }
        return record
      }
      for var line in part.unread {
        line.line += lineBreaks
        file.unread.lines.append(line)
      }
      file.unread.links.append(part.unread.lazy.map(\.key), lookups: part.targets)
      file.shape.baseLines += part.lines
    }
    return laidOut ? file : nil
  }

  /// One part of a base read: the records decoded, the lines not read and their lookups (neither of a record an
  /// overlay line stands for), and how many lines it had; or the error it met, with lines counted from its start.
  private struct OutlinedPart: Sendable {
    var outline: StateReader.OutlinedPart<GUID>?
    var held: [Record] = []
    var unread: [StateReader.RecordLine] = []
    /// `lookups.count` a line of `unread`.
    var targets: [GUID?] = []
    var lines = 0
    var error: InputError?

    static func read(
      _ path: String, range: Range<Int>, entity: String, lookups: [String], overlaid: Set<GUID>
    ) throws -> OutlinedPart {
      var part = OutlinedPart()
      let lines = Workspace.linesToReserve(in: range)
      part.unread.reserveCapacity(lines)
      part.targets.reserveCapacity(lines * lookups.count)
      do {
        part.outline = try StateReader.records(
          in: path, range: range, entity: entity, lookups: lookups,
          decoded: { record in
            part.lines += 1
            if overlaid.isEmpty || !overlaid.contains(record.id) { part.held.append(record) }
          },
          outlined: { line, targets in
            part.lines += 1
            guard overlaid.isEmpty || !overlaid.contains(line.key) else { return }
            part.unread.append(line)
            part.targets += targets
          })
      } catch let error as InputError {
        part.error = error
      }
      return part
    }
  }
}
