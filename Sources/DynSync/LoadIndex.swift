import DynSyncReaders
import Foundation

/// An export read as an index, with the files it came from, for reading rows of it again.
public struct IndexedExport: Sendable {
  public var index: SnapshotIndex
  public var files: [ExportFile]
  /// The files as the manifest lists them, digested while they were indexed or, some, after.
  public var inputs: ExportInputs

  /// Per table, what decoding its rows depends on besides their bytes.
  ///
  /// That is the formats and page contexts of the files that hold it, and a CMT export's schema. Rows are only known
  /// unchanged by their fingerprints in one context.
  func decodingContexts() throws -> [String: String] {
    var parts: [String: Set<String>] = [:]
    for (file, indexed) in zip(files, index.files) {
      var context = file.format.rawValue + " " + (indexed.readerContext ?? "")
      if let schema = file.schemaPath { context += " schema " + (try FileDigest.sha256(ofFile: schema)) }
      for entity in indexed.summary.entities { parts[entity, default: []].insert(context) }
    }
    return parts.mapValues { $0.sorted().joined(separator: "\n") }
  }

  /// The given rows (in file order) in runs of one file each.
  func fileRuns(of rows: [IndexedRow]) -> [(file: Int, rows: ArraySlice<IndexedRow>)] {
    var runs: [(file: Int, rows: ArraySlice<IndexedRow>)] = []
    var start = 0
    while start < rows.count {
      let file = rows[start].location.file
      var end = start
      while end < rows.count, rows[end].location.file == file { end += 1 }
      runs.append((Int(file), rows[start..<end]))
      start = end
    }
    return runs
  }
}

/// How many rows of one file are read again as one piece of work, by default.
///
/// An export of one large file (a CMT `data.xml`) is then read again on every core too, as one of many page files
/// is. A piece is a reader of its own; at this size that costs no instruction a diff would count.
let rowsReadAgainPerPiece = 1_024

/// Reads the given rows (of the table `entity`) of indexed exports again, as a full read hands them on, spreading
/// pieces of each file's rows (`rowsPerPiece` at most) over the processor's cores; one list of events per request, in
/// order.
func decodeRows(
  of entity: String, _ requests: [(rows: [IndexedRow], export: IndexedExport)],
  rowsPerPiece: Int = rowsReadAgainPerPiece
) throws -> [[ReadEvent]] {
  let runs = requests.map { request in
    request.export.fileRuns(of: request.rows).flatMap { run in
      run.rows.runs(of: rowsPerPiece).map { (file: run.file, rows: $0) }
    }
  }
  let work = runs.enumerated().flatMap { request, list in list.indices.map { (request: request, run: $0) } }
  let events = try concurrentMap(work) { item in
    let export = requests[item.request].export
    let (file, rows) = runs[item.request][item.run]
    return try ExportInput.decode(
      Array(rows), of: export.files[file], indexed: export.index.files[file], entity: entity)
  }
  var result = Array(repeating: [ReadEvent](), count: requests.count)
  for (item, decoded) in zip(work, events) { result[item.request] += decoded }
  return result
}

/// Indexes exports (files and folders, as `loadSnapshot` takes them), spreading their files over
/// the processor's cores.
///
/// - Throws: `IndexUnavailable` (or the file's own error) when a file is one only a full read
///   handles; the caller then reads the exports in full.
func loadIndexes(of exports: [[String]], options: ReadOptions, progress: some ProgressObserver) throws
  -> [IndexedExport]
{
  let files = try exports.map { try ExportInput.files(at: $0, leavingOut: options.foldersLeftOut) }
  let work = files.enumerated().flatMap { export, list in list.indices.map { (export: export, file: $0) } }
  let results = FileIndexResults(exports: work.map(\.export), builders: exports.count)
  // An export of one file is cut into parts where its format allows, indexed one on each core here, outside the
  // file-per-core loop below, in which work spread over the cores would run on one. The file is announced once,
  // whether it is then read in parts or, when they do not fit together, whole.
  if work.count == 1 {
    let file = files[work[0].export][work[0].file]
    progress.readingFile(file.path, format: file.format)
    let parted = indexInParts(file, number: work[0].file, options: options, progress: progress)
    results.store(
      parted.map { .success($0) }
        ?? Result {
          try indexWhole(file, number: work[0].file, options: options, progress: progress, announcing: false)
        },
      at: 0)
  } else {
    let workers = min(ProcessInfo.processInfo.activeProcessorCount, max(work.count, 1))
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
      while let next = results.claim() {
        let (export, number) = work[next]
        results.store(
          Result { try indexWhole(files[export][number], number: number, options: options, progress: progress) },
          at: next)
      }
    }
  }
  let built = try results.built()
  return built.indices.map { IndexedExport(index: built[$0].0, files: files[$0], inputs: built[$0].1) }
}

/// Runs an index pass, scanning XML (`XMLByteScanner`) where the options say so, and again with libxml2 on a decline.
///
/// A file the scan declines is indexed again from the start with libxml2 throughout, which then reads it or says
/// what is wrong. Each run of `index` gathers what it gives afresh.
private func scanningFirst<Indexed>(_ options: ReadOptions, _ index: (_ scanning: Bool) throws -> Indexed) throws
  -> Indexed
{
  do {
    return try index(options.scansXML)
  } catch is XMLScanDeclined {
    return try index(false)
  }
}

/// One file indexed whole, its SHA-256 worked out in the same pass or, where `options` say so, left for later;
/// `announcing` tells `progress` the file is read (`false` where the caller has).
func indexWhole(
  _ file: ExportFile, number: Int, options: ReadOptions, progress: some ProgressObserver, announcing: Bool = true
) throws -> FileIndex {
  if announcing { progress.readingFile(file.path, format: file.format) }
  let clock = ContinuousClock()
  let started = clock.now
  // Looked at before the file is read: a change after it shows when the file is read again for its digest.
  let digestLater = options.laterDigestAge.flatMap { age in
    FileIdentity(path: file.path).flatMap { $0.isUnchanged(for: age) ? $0 : nil }
  }
  let indexed = try scanningFirst(options) { scanning in
    var indexed = FileIndex()
    var digest = FileDigest.Streaming()
    let (summary, context) = try ExportInput.index(
      file, number: number, entity: options.fetchXMLEntity, scanning: scanning,
      observingBytes: digestLater == nil ? { digest.update($0) } : nil, { event in indexed.add(event) })
    indexed.finish(summary: summary, readerContext: context, sha256: digestLater == nil ? digest.hex() : "")
    indexed.digestLater = digestLater
    return indexed
  }
  let summary = indexed.summary
  progress.readRecords(
    ["rows": summary.records + summary.rejects], inFile: file.path, elapsed: started.duration(to: clock.now))
  return indexed
}

/// An export's one file indexed in parts, one on each core (`CMTIndexPart`), its SHA-256 worked out beside them;
/// `nil` when the file is not cut, or its parts do not fit together as the file's: it is then indexed whole, which
/// tells what is wrong, if anything is.
///
/// The caller tells `progress` the file is read. The parts give the index of the whole file: its rows, in file
/// order, with the file's places and lines, its rejects, and its summary.
func indexInParts(_ file: ExportFile, number: Int, options: ReadOptions, progress: some ProgressObserver) -> FileIndex?
{
  let cores = ProcessInfo.processInfo.activeProcessorCount
  guard let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size]) as? Int else { return nil }
  let partSize = options.indexPartSize ?? (cores > 1 && size >= 16 << 20 ? (size + cores - 1) / cores : size)
  guard let parts = try? ExportInput.indexParts(of: file, size: partSize), parts.count > 1 else { return nil }
  let clock = ContinuousClock()
  let started = clock.now
  let path = file.path
  let (indexed, sha256) = concurrently {
    concurrentMap(parts, costs: parts.map(\.range.count)) { part -> (FileIndex, CMTIndexedPart)? in
      try? scanningFirst(options) { scanning in
        var rows = FileIndex()
        let ended = try ExportInput.index(part, of: file, number: number, scanning: scanning) { rows.add($0) }
        return (rows, ended)
      }
    }
  } _: {
    try? FileDigest.sha256(ofFile: path)
  }
  // Each part must end among the records of the table the next one starts among.
  guard let sha256, indexed.allSatisfy({ $0 != nil }),
    zip(indexed.dropLast(), parts.dropFirst()).allSatisfy({ $0?.1.entityAtEnd == $1.entity })
  else { return nil }
  var whole = FileIndex()
  var summary = ExportFileSummary(path: file.path, format: file.format)
  var lines = 0
  for case (let rows, let ended)? in indexed {
    whole.append(part: rows, linesBefore: lines)
    lines += ended.newlines
    summary.records += ended.summary.records
    summary.deletions += ended.summary.deletions
    summary.rejects += ended.summary.rejects
    for entity in ended.summary.entities { summary.note(entity: entity) }
  }
  whole.finish(summary: summary, readerContext: nil, sha256: sha256)
  progress.readRecords(
    ["rows": summary.records + summary.rejects], inFile: file.path, elapsed: started.duration(to: clock.now))
  return whole
}

/// What indexing one file gave: its rows by table (tables in the order first met) and its rejects.
struct FileIndex: Sendable, Equatable {
  var entities: [String] = []
  var rows: [String: [IndexedRow]] = [:]
  var rejects: [InputError] = []
  var summary = ExportFileSummary(path: "", format: .webAPI)
  var readerContext: String?
  var sha256 = ""
  /// For a file whose SHA-256 is left for later, what `stat` said of it before it was indexed.
  var digestLater: FileIdentity?

  /// Ends the file's index: its rows sorted by id here, on this core, leave the builder sorted runs to merge.
  mutating func finish(summary: ExportFileSummary, readerContext: String?, sha256: String) {
    for entity in entities {
      rows[entity]?.sort { $0.id < $1.id }
    }
    self.summary = summary
    self.readerContext = readerContext
    self.sha256 = sha256
  }

  /// Adds the rows and rejects of the next part of the file, whose lines are counted from its first, `lines` lines
  /// into the file.
  mutating func append(part: FileIndex, linesBefore lines: Int) {
    for entity in part.entities {
      let shifted = (part.rows[entity] ?? []).map { row in
        var row = row
        row.location.line += Int32(lines)
        return row
      }
      if rows[entity] == nil { entities.append(entity) }
      rows[entity, default: []] += shifted
    }
    rejects += part.rejects.map { error in
      var error = error
      error.line = error.line.map { $0 + lines }
      return error
    }
  }

  mutating func add(_ event: IndexEvent) {
    switch event {
    case .row(let entity, let row):
      if rows[entity]?.append(row) == nil {
        entities.append(entity)
        rows[entity] = [row]
      }
    case .event(.reject(let error)):
      rejects.append(error)
    case .event(.record), .event(.deletion):
      preconditionFailure("indexing readers hand on rows and rejects only")
    }
  }
}

/// The files to index, handed out one at a time; their results go into the exports' builders in
/// file order as soon as every earlier file is in, so that at most a few files' events wait.
private final class FileIndexResults: @unchecked Sendable {
  private let lock = NSLock()
  private let exports: [Int]
  private var builders: [SnapshotIndexBuilder]
  private var inputs: [[Manifest.Input]]
  private var digestsLater: [[(place: Int, identity: FileIdentity)]]
  private var nextFile = 0
  private var nextToBuild = 0
  private var failure: (position: Int, error: any Error)?
  private var waiting: [Int: FileIndex] = [:]

  /// `exports` gives, for each file in work order, the export it belongs to.
  init(exports: [Int], builders: Int) {
    self.exports = exports
    self.builders = Array(repeating: SnapshotIndexBuilder(), count: builders)
    self.inputs = Array(repeating: [], count: builders)
    self.digestsLater = Array(repeating: [], count: builders)
  }

  /// The next file to index, or `nil` when none is left or one has failed (the rest would be wasted).
  func claim() -> Int? {
    lock.withLock {
      guard failure == nil, nextFile < exports.count else { return nil }
      defer { nextFile += 1 }
      return nextFile
    }
  }

  func store(_ result: Result<FileIndex, any Error>, at position: Int) {
    lock.withLock {
      switch result {
      case .failure(let error):
        if position < failure?.position ?? Int.max { failure = (position, error) }
      case .success(let indexed):
        waiting[position] = indexed
        while let ready = waiting.removeValue(forKey: nextToBuild) {
          let export = exports[nextToBuild]
          for error in ready.rejects { builders[export].add(reject: error) }
          for entity in ready.entities { builders[export].add(ready.rows[entity] ?? [], of: entity) }
          builders[export].finish(file: ready.summary, readerContext: ready.readerContext)
          if let identity = ready.digestLater { digestsLater[export].append((inputs[export].count, identity)) }
          inputs[export].append(Manifest.Input(file: ready.summary, sha256: ready.sha256))
          nextToBuild += 1
        }
      }
    }
  }

  /// The built indexes, and their files as the manifest lists them (the digests left for later worked out from
  /// now on), one per export; the first failure in file order is thrown.
  func built() throws -> [(SnapshotIndex, ExportInputs)] {
    try lock.withLock {
      if let failure { throw failure.error }
      return builders.indices.map {
        (builders[$0].build(), ExportInputs(inputs[$0], later: digestsLater[$0]))
      }
    }
  }
}
