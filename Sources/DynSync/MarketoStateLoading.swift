import DynSyncArtifacts
import DynSyncCore
import DynSyncReaders
import Foundation

/// The Marketo datasets of a state, read once a run knows which of their rows it needs: whole, or only the rows its
/// changes reach.
///
/// A run whose changes reach a tenth of the org needs a tenth of the previous rows: the merge reads no other
/// (`MergeScope.previousRowIDs`), and the state is written as overlays holding only rows that changed. The rest are
/// only outlined (each line's key and ids read, where it lies noted), and read at last only for a file written whole.
struct MarketoStateFiles: Sendable {
  /// The batch folder.
  var folder: String
  /// Each dataset's name (as `MarketoDatasets.inLoadOrder` gives it) and the path of its base in the batch.
  var files: [(name: String, path: String)]
  /// The batch's manifest entries by path, which vouch for the files the next batch builds on.
  var artifacts: [String: Manifest.Artifact]

  /// `state` with every Marketo row read, and the layers of their files.
  func readWhole(into state: WorkspaceState) throws -> WorkspaceState {
    let contents = try concurrentMap(files, costs: sizes) { file in try readWhole(file.path) }
    return laid(contents.map { ($0.dataset, $0.shape) }, into: state)
  }

  /// `state` with the Marketo rows that name one of `ids` (as their key or in `MarketoMerge.rowIDFields`) and the rows
  /// of an overlay but those it patches and may leave unread (`Overlay.baseLine(of:)`); the registry of every person;
  /// and where the rows not read lie.
  func read(reaching ids: Set<GUID>, into state: WorkspaceState, partSize: Int) throws -> MarketoStateInPart {
    let ids = ScreenedIDSet(ids)
    let overlays = try overlayRows(partSize: partSize)
    // Bases with an outline that matches them are read from it, in runs of lines on every core; the others in parts.
    var outlined = fromOutlines(laid: overlays, reaching: ids)
    try readRows(into: &outlined, patching: overlays.map { $0?.entries ?? [:] })
    // Bases in parts of a few tens of megabytes, on every core: the persons alone are most of the bytes.
    var parts: [(file: Int, range: Range<Int>)] = []
    for (index, file) in files.enumerated() where outlined[index] == nil {
      for range in try Workspace.lineParts(of: folder + "/" + file.path, size: partSize) {
        parts.append((index, range))
      }
    }
    var partsOfFile = [[PartContents]](repeating: [], count: files.count)
    // Each part moved to its file's list, held there alone: its lines are then renumbered in place, not copied.
    for (part, contents) in zip(
      parts,
      try concurrentMap(parts, costs: parts.map(\.range.count)) { part in
        try outline(files[part.file], range: part.range, laid: overlays[part.file] ?? Overlay(), reaching: ids)
      })
    {
      partsOfFile[part.file].append(contents)
    }
    var contents: [FileContents] = []
    var unread: [String: MarketoStateInPart.Unread] = [:]
    var registry = PersonRegistry()
    for (index, file) in files.enumerated() {
      let isPersons = file.name == "persons"
      if let outline = outlined[index] {
        var whole = FileContents(dataset: MarketoDataset(rows: outline.held), shape: outline.shape)
        if let overlay = overlays[index] {
          try whole.lay(overlay, of: folder + "/" + file.path, patchedLines: outline.patchedLines)
        }
        if isPersons { registry = PersonRegistry(entries: outline.registry, adding: whole.dataset) }
        let lines = outline.unread.filter { !$0.isEmpty }
        if !lines.isEmpty { unread[file.name] = (file.path, lines, overlays[index]?.entries ?? [:]) }
        contents.append(whole)
        continue
      }
      var read: [PartContents] = []
      swap(&read, &partsOfFile[index])
      guard let whole = try laidTogether(&read, overlay: overlays[index], of: file.path) else {
        let whole = try readWhole(file.path)
        if isPersons { registry = PersonRegistry(whole.dataset) }
        contents.append(whole)
        continue
      }
      if isPersons { registry = PersonRegistry(entries: read.map(\.registry), adding: whole.dataset) }
      let lines = read.map(\.unread).filter { !$0.isEmpty }
      if !lines.isEmpty { unread[file.name] = (file.path, lines, overlays[index]?.entries ?? [:]) }
      read = []
      contents.append(whole)
    }
    return MarketoStateInPart(
      state: laid(contents.map { ($0.dataset, $0.shape) }, into: state), registry: registry, folder: folder,
      unread: unread)
  }

  /// The bases read from their outlines (`StateOutline`): where each line not read lies, the registry's columns of
  /// every person not read, and the lines to be read: of the rows that name one of `ids` (but those `laid` over) and
  /// of the rows `laid` patches that must be read now; `nil` for a base that has no outline that matches it.
  ///
  /// Each outline is checked a file on each core, then read in runs of lines on every core: the persons' outline
  /// alone is most of the lines.
  private func fromOutlines(laid: [Overlay?], reaching ids: ScreenedIDSet) -> [OutlinedFile?] {
    let outlineSizes = files.map { Workspace.fileSize(folder + "/" + StateOutline.path(of: $0.path)) }
    let outlines = concurrentMap(Array(files.indices), costs: outlineSizes) { index -> StateOutline.Runs<String>? in
      guard outlineSizes[index] > 0, let base = artifacts[files[index].path] else { return nil }
      return StateOutline.Runs(
        at: folder + "/" + StateOutline.path(of: files[index].path), base: base,
        baseSize: Workspace.fileSize(folder + "/" + files[index].path), columns: StateOutline.marketoColumns,
        linesPerRun: 65_536)
    }
    var runs: [(file: Int, run: Int, lines: Int)] = []
    for (index, outline) in outlines.enumerated() {
      guard let outline else { continue }
      for run in 0..<outline.count { runs.append((index, run, outline.lines(inRun: run))) }
    }
    let columns = StateOutline.marketoColumns
    let microsoftID = columns.firstIndex(of: MarketoField.microsoftID) ?? 0
    let originatingLead = columns.firstIndex(of: MarketoField.originatingLeadID) ?? 0
    var read = concurrentMap(runs, costs: runs.map(\.lines)) { run in
      let isPersons = files[run.file].name == "persons"
      let laid = laid[run.file] ?? Overlay()
      var outlined = OutlinedRun()
      outlined.unread.reserveCapacity(run.lines)
      if isPersons { outlined.registry.reserveCapacity(run.lines) }
      outlined.bounds = outlines[run.file]?.read(run: run.run) { line, rowIDs in
        let place = StateReader.MarketoLine(
          key: line.key, offset: line.offset, length: line.length, line: line.number, column: 1)
        if !laid.entries.isEmpty, let baseLine = laid.baseLine(of: line.key) {
          // A line an overlay's row or removal stands for is neither held nor read later.
          guard case .patched(let mustRead) = baseLine else { return }
          outlined.patchedLines += 1
          if mustRead || MergeScope.names(anyOf: rowIDs, ids) { return outlined.toRead.append(place) }
        } else if MergeScope.names(anyOf: rowIDs, ids) {
          return outlined.toRead.append(place)
        }
        outlined.unread.append(place)
        if isPersons { outlined.registry.append((line.key, rowIDs[microsoftID], rowIDs[originatingLead])) }
      }
      return outlined
    }
    var outlined = [OutlinedFile?](repeating: nil, count: files.count)
    for (index, outline) in outlines.enumerated() {
      guard let outline, let base = artifacts[files[index].path] else { continue }
      outlined[index] = OutlinedFile(shape: StateFileShape(baseLines: base.lines, outlined: true))
      outlined[index]?.unread.reserveCapacity(outline.count)
    }
    var bounds = [[(first: String, last: String)?]](repeating: [], count: files.count)
    for (position, run) in runs.enumerated() {
      bounds[run.file].append(read[position].bounds)
      outlined[run.file]?.patchedLines += read[position].patchedLines
      outlined[run.file]?.toRead.append(movingContentsOf: &read[position].toRead)
      // Moved, not copied: a run's lines are hundreds of thousands at a million persons.
      var lines: [StateReader.MarketoLine] = []
      swap(&lines, &read[position].unread)
      outlined[run.file]?.unread.append(lines)
      var registry: [PersonRegistry.Entry] = []
      swap(&registry, &read[position].registry)
      outlined[run.file]?.registry.append(registry)
    }
    for index in files.indices {
      guard var file = outlined[index] else { continue }
      guard StateOutline.Runs<String>.inOrder(bounds[index]) else {
        outlined[index] = nil
        continue
      }
      outlined[index] = nil
      // Room made once for the rows read and those the overlay lays: grown as it filled, the persons' table hashed
      // every key again at each doubling, on one core.
      file.held.reserveCapacity(file.toRead.count + (laid[index]?.entries.count ?? 0))
      outlined[index] = file
    }
    return outlined
  }

  /// A base read from its outline, its rows to be read (`toRead`) not yet in `held`; the lines not read and the
  /// persons' registry entries a list for each run of the outline.
  private struct OutlinedFile: Sendable {
    var shape: StateFileShape
    var held: [String: MarketoRow] = [:]
    var toRead: [StateReader.MarketoLine] = []
    var unread: [[StateReader.MarketoLine]] = []
    var registry: [[PersonRegistry.Entry]] = []
    /// The base's lines the overlay patches, read or not.
    var patchedLines = 0
  }

  /// A run of an outline's lines read: its first and last keys (`nil` when out of order), and its share of
  /// `OutlinedFile`.
  private struct OutlinedRun: Sendable {
    var bounds: (first: String, last: String)?
    var toRead: [StateReader.MarketoLine] = []
    var unread: [StateReader.MarketoLine] = []
    var registry: [PersonRegistry.Entry] = []
    var patchedLines = 0
  }

  /// Reads the rows of the files read from their outlines that are to be read, in runs of lines on every core; a row
  /// `patching` (the overlays' lines, by file) patches is held with its patch laid over it.
  private func readRows(into outlined: inout [OutlinedFile?], patching: [[String: MarketoOverlayEntry]]) throws {
    var runs: [(file: Int, lines: ArraySlice<StateReader.MarketoLine>)] = []
    for (index, file) in outlined.enumerated() {
      for run in file?.toRead.runs(of: 2_048) ?? [] { runs.append((index, run)) }
    }
    let folder = folder
    let files = files
    var read = try concurrentMap(runs) { run in
      var rows: [(String, MarketoRow)] = []
      rows.reserveCapacity(run.lines.count)
      let patches = patching[run.file]
      try StateReader.marketoRows(in: folder + "/" + files[run.file].path, at: Array(run.lines)) { key, row in
        rows.append((key, MarketoStateFiles.patched(row, key: key, by: patches)))
      }
      return rows
    }
    for (index, run) in runs.enumerated() {
      // Moved, not copied: a copy counted a reference on each row just read on another core, a cold line each. The
      // file is taken out once for the run, not reached through the list and its optional for every row.
      var rows: [(String, MarketoRow)] = []
      swap(&rows, &read[index])
      guard var file = outlined[run.file] else { continue }
      outlined[run.file] = nil
      while let (key, row) = rows.popLast() { file.held[key] = row }
      outlined[run.file] = file
    }
  }

  private var sizes: [Int] { files.map { Workspace.stateFileSize(of: $0.path, in: folder) } }

  private func laid(_ contents: [(MarketoDataset, StateFileShape)], into state: WorkspaceState) -> WorkspaceState {
    var state = state
    var read: [String: StateFileShape] = [:]
    for (file, (dataset, shape)) in zip(files, contents) {
      state.marketo[dataset: file.name] = dataset
      read[file.path] = shape
    }
    state.layers?.files.merge(Workspace.layers(of: artifacts, read: read)) { _, marketo in marketo }
    return state
  }

  /// One file read: its rows held, and how it was laid down.
  private struct FileContents: Sendable {
    var dataset: MarketoDataset
    var shape: StateFileShape

    /// Lays a file's overlay over the rows of its base: a row replaces the base's, a removal takes it out, and a patch
    /// is laid over it.
    ///
    /// With `patchedLines`, the base was read in part and the rows it patches were patched as they
    /// were read, on every core, or left unread (`Overlay.baseLine(of:)`): `patchedLines` is how many of the base's
    /// lines the overlay patches.
    ///
    /// - Throws: `InputError` for a patch of a key the base does not hold.
    mutating func lay(_ overlay: Overlay, of basePath: String, patchedLines: Int? = nil) throws {
      var patches = 0
      for (key, entry) in overlay.entries {
        switch entry {
        case .row(let row): dataset.rows[key] = row
        case .removed: dataset.rows[key] = nil
        case .patch(let patch):
          patches += 1
          guard patchedLines == nil else { continue }
          guard let base = dataset.rows[key] else { throw Self.unpatched(basePath, key: key) }
          dataset.rows[key] = patch.applied(to: base)
        }
      }
      if let patchedLines, patchedLines != patches { throw Self.unpatched(basePath, key: nil) }
      shape.overlayKeys = Set(overlay.entries.keys)
      shape.overlayLines = overlay.lines
      shape.overlayEntries = overlay.entries
    }

    private static func unpatched(_ basePath: String, key: String?) -> InputError {
      InputError(
        file: StateLayers.overlayPath(of: basePath),
        reason: "corrupt state overlay: a patch of "
          + (key.map { "the row \"\($0)\", which" } ?? "a row whose key") + " its base does not hold")
    }
  }

  private func readWhole(_ path: String) throws -> FileContents {
    var contents = FileContents(dataset: MarketoDataset(), shape: StateFileShape(baseLines: 0))
    try StateReader.marketoRows(in: folder + "/" + path) { key, row in contents.dataset.rows[key] = row }
    contents.shape.baseLines = contents.dataset.rows.count
    // Its outline goes on with it, if it matches it.
    if let base = artifacts[path] {
      contents.shape.outlined = StateOutline.matches(
        at: folder + "/" + StateOutline.path(of: path), base: base, baseSize: Workspace.fileSize(folder + "/" + path),
        key: String.self, columns: StateOutline.marketoColumns)
    }
    if let overlay = try overlayRows(of: path) {
      try contents.lay(overlay, of: folder + "/" + path)
    }
    return contents
  }

  /// The rows of each file's overlay, as `overlayRows(of:)` gives them, in parts of about `partSize` bytes on every
  /// core: an overlay holds every row changed since its base, and the persons' grows run after run until it holds a
  /// quarter of its base's rows (a hundred thousand after one delta of a million-record org).
  private func overlayRows(partSize: Int) throws -> [Overlay?] {
    let paths = files.map { folder + "/" + StateLayers.overlayPath(of: $0.path) }
    var overlays = [Overlay?](repeating: nil, count: files.count)
    var parts: [(file: Int, range: Range<Int>)] = []
    for (index, path) in paths.enumerated() where FileManager.default.fileExists(atPath: path) {
      overlays[index] = Overlay()
      for range in try Workspace.lineParts(of: path, size: partSize) { parts.append((index, range)) }
    }
    let read = concurrentMap(parts, costs: parts.map(\.range.count)) { part -> [OverlayLine]? in
      var rows: [OverlayLine] = []
      rows.reserveCapacity(Workspace.linesToReserve(in: part.range))
      do {
        try StateReader.overlayMarketoRows(in: paths[part.file], range: part.range) { key, entry, line in
          rows.append((key, entry, line))
        }
      } catch {
        return nil
      }
      return rows
    }
    for index in overlays.indices where overlays[index] != nil {
      let rowsOfParts = zip(parts, read).filter { $0.0.file == index }.map(\.1)
      // A part with a line it cannot read counted its lines from its own start: the file read whole names the line.
      guard rowsOfParts.allSatisfy({ $0 != nil }) else {
        overlays[index] = try overlayRows(of: files[index].path)
        continue
      }
      // In the file's order: a key written twice keeps its last row, as a read of the whole file does.
      var laid = Overlay(minimumCapacity: rowsOfParts.map { $0?.count ?? 0 }.reduce(0, +))
      for rows in rowsOfParts {
        for line in rows ?? [] { laid.add(line) }
      }
      overlays[index] = laid
    }
    return overlays
  }

  /// What the lines of a file's overlay say of their keys; `nil` for a file without one.
  private func overlayRows(of path: String) throws -> Overlay? {
    let overlay = folder + "/" + StateLayers.overlayPath(of: path)
    guard FileManager.default.fileExists(atPath: overlay) else { return nil }
    var laid = Overlay()
    try StateReader.overlayMarketoRows(in: overlay) { key, entry, line in laid.add((key, entry, line)) }
    return laid
  }

  /// `row`, read from its base's line, with the patch the overlay's lines (`entries`) hold for `key` laid over it, if
  /// they hold one.
  static func patched(_ row: MarketoRow, key: String, by entries: [String: MarketoOverlayEntry]) -> MarketoRow {
    guard !entries.isEmpty, case .patch(let patch) = entries[key] else { return row }
    var row = row
    patch.apply(to: &row)
    return row
  }

  /// A line of an overlay: its key, what it says of it and where it lies when written as dynsync writes it.
  private typealias OverlayLine = (key: String, entry: MarketoOverlayEntry, line: Range<Int>?)

  /// A file's overlay read: what its lines say of their keys, and where the lines written as dynsync writes them lie
  /// (`StateFileLayers.overlayLines`), by key.
  private struct Overlay: Sendable {
    var entries: [String: MarketoOverlayEntry] = [:]
    var lines: [String: Range<Int>] = [:]

    init(minimumCapacity: Int = 0) {
      entries.reserveCapacity(minimumCapacity)
      lines.reserveCapacity(minimumCapacity)
    }

    /// What the overlay does with the base's line of `key`: `nil` where it does not name it.
    ///
    /// A line it patches must be read now where the patch sets or takes out a column that names an id (which the
    /// scope and the registry otherwise take from the base's line), or where the overlay's line cannot be copied into
    /// the next overlay as it is (it was not read as dynsync writes it); any other is left unread as the base's other
    /// lines are, unless the run's changes reach it.
    func baseLine(of key: String) -> BaseLine? {
      guard let entry = entries[key] else { return nil }
      guard case .patch(let patch) = entry else { return .replaced }
      return .patched(mustRead: lines[key] == nil || patch.touches(anyOf: MarketoMerge.rowIDFields))
    }

    enum BaseLine {
      /// The overlay's row or removal stands for the line.
      case replaced
      case patched(mustRead: Bool)
    }

    /// Adds a line; of a key written twice, the last line stands.
    mutating func add(_ line: OverlayLine) {
      entries[line.key] = line.entry
      lines[line.key] = line.line
    }
  }

  /// One part of a base read: the rows that name one of the ids, where the others lie, the registry's columns of
  /// every person not laid over, and how many lines it had; or the error it met, with lines counted from its start.
  private struct PartContents: Sendable {
    var outline: StateReader.OutlinedPart<String>?
    var held: [String: MarketoRow] = [:]
    var unread: [StateReader.MarketoLine] = []
    var registry: [PersonRegistry.Entry] = []
    var lines = 0
    var patchedLines = 0
    var error: InputError?
  }

  private func outline(
    _ file: (name: String, path: String), range: Range<Int>, laid: Overlay,
    reaching ids: ScreenedIDSet
  ) throws -> PartContents {
    let isPersons = file.name == "persons"
    let columns = MarketoMerge.rowIDFields
    // The registry's columns are among them.
    let microsoftID = columns.firstIndex(of: MarketoField.microsoftID) ?? 0
    let originatingLead = columns.firstIndex(of: MarketoField.originatingLeadID) ?? 0
    var part = PartContents()
    let lines = Workspace.linesToReserve(in: range)
    part.unread.reserveCapacity(lines)
    if isPersons { part.registry.reserveCapacity(lines) }
    do {
      part.outline = try StateReader.marketoRows(
        in: folder + "/" + file.path, range: range, idColumns: columns,
        decodes: { key, values in
          if !laid.entries.isEmpty, let baseLine = laid.baseLine(of: key) {
            guard case .patched(let mustRead) = baseLine else { return false }
            part.patchedLines += 1
            return mustRead || MergeScope.row(key: key, rowIDs: values, names: ids)
          }
          return MergeScope.row(key: key, rowIDs: values, names: ids)
        },
        decoded: { key, row in
          part.lines += 1
          part.held[key] = MarketoStateFiles.patched(row, key: key, by: laid.entries)
        },
        outlined: { line, values in
          part.lines += 1
          // A line an overlay's row or removal stands for is neither held nor read later.
          if !laid.entries.isEmpty, case .replaced = laid.baseLine(of: line.key) { return }
          part.unread.append(line)
          if isPersons { part.registry.append((line.key, values[microsoftID], values[originatingLead])) }
        })
    } catch let error as InputError {
      part.error = error
    }
    return part
  }

  /// A file's parts put together, their lines numbered from the file's start (in place), its overlay laid over them;
  /// `nil` when a part could not be read in part, or the parts' keys are not in order.
  private func laidTogether(_ parts: inout [PartContents], overlay: Overlay?, of path: String) throws
    -> FileContents?
  {
    var contents = FileContents(dataset: MarketoDataset(), shape: StateFileShape(baseLines: 0))
    contents.dataset.rows.reserveCapacity(parts.map(\.held.count).reduce(0, +))
    let laidOut = try Workspace.layParts(
      &parts, outline: \.outline, error: \.error, precedes: MarketoDataset.keyPrecedes
    ) { part, lineBreaks in
      contents.dataset.rows.merge(part.held) { _, later in later }
      part.held = [:]
      for index in part.unread.indices { part.unread[index].line += lineBreaks }
      contents.shape.baseLines += part.lines
    }
    guard laidOut else { return nil }
    if let overlay {
      try contents.lay(overlay, of: folder + "/" + path, patchedLines: parts.map(\.patchedLines).reduce(0, +))
    }
    return contents
  }
}

/// A state whose Marketo datasets hold only the rows a run's changes reach (and the overlays' rows but those patched
/// and left unread).
struct MarketoStateInPart: Sendable {
  var state: WorkspaceState
  /// Every previous person's id, also of the persons not held.
  var registry: PersonRegistry
  var folder: String
  /// By dataset name: its base's path, the lines of it not read (a list a part of the file), and the overlay's lines,
  /// whose patches lay over the lines not read.
  var unread: [String: Unread]

  typealias Unread = (path: String, lines: [[StateReader.MarketoLine]], overlay: [String: MarketoOverlayEntry])

  /// A dataset whole, for a file written whole: `current`, the dataset as the run leaves it built from the rows held,
  /// and every row not read, as it was.
  func whole(_ name: String, current: MarketoDataset) throws -> MarketoDataset {
    guard let (path, lines, overlay) = unread[name] else { return current }
    var rows = current.rows
    rows.reserveCapacity(rows.count + lines.map(\.count).reduce(0, +))
    for part in lines {
      try StateReader.marketoRows(in: folder + "/" + path, at: part) { key, row in
        if rows[key] == nil { rows[key] = MarketoStateFiles.patched(row, key: key, by: overlay) }
      }
    }
    return MarketoDataset(rows: rows)
  }
}
