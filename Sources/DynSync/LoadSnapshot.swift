import DynSyncArtifacts
@_exported import DynSyncCore
import DynSyncReaders
import Foundation

/// Reports how reading goes, for long runs; the CLI prints it on stderr.
public protocol ProgressObserver: Sendable {
  func readingFile(_ path: String, format: ExportFormat)
  /// Called every 50,000 rows of a file and once at its end, with the rows read per table.
  func readRecords(_ counts: [String: Int], inFile path: String, elapsed: Duration)
  /// Called when exports are read in full, every row decoded and held, rather than indexed.
  func readingInFull(because reason: String)
  /// Called when a step of a job is done, with what it did ("indexed 2,000,000 rows").
  func finished(_ step: String, elapsed: Duration)
}

extension ProgressObserver {
  public func readingInFull(because reason: String) {}
  public func finished(_ step: String, elapsed: Duration) {}
}

/// Reports nothing.
public struct SilentProgress: ProgressObserver {
  public init() {}
  public func readingFile(_ path: String, format: ExportFormat) {}
  public func readRecords(_ counts: [String: Int], inFile path: String, elapsed: Duration) {}
}

/// Options that steer reading an export.
public struct ReadOptions: Sendable {
  /// The table of FetchXML results that carry no hint of it.
  public var fetchXMLEntity: String?
  /// The size of the parts an export of one file is indexed in, on every core.
  ///
  /// Only a format that can be cut is (a CMT `data.xml`); `nil` for a part per core, in a file of 16 MB or more. The
  /// index is the same either way.
  public var indexPartSize: Int?
  /// Folders that may lie inside an export folder but are not part of the export: the workspace or batch folder the
  /// run writes (a second run would otherwise read the first one's files as rows).
  public var foldersLeftOut: [String] = []
  /// Whether XML exports are indexed by dynsync's byte scan first, rather than by libxml2 throughout.
  ///
  /// libxml2 parses each file the scan (`XMLByteScanner`) declines. The index is the same either way.
  public var scansXML = true
  /// Files not changed for this long when indexed have their SHA-256 worked out after the index pass, on a core
  /// that would otherwise be idle (`ExportInputs`), rather than while they are indexed; `nil` digests every file as
  /// it is indexed.
  ///
  /// A sync leaves digests for later (a second, beyond the file system's clock ticks: see
  /// `FileIdentity.isUnchanged(for:)`); a `diff` keeps both cores busy to its end, so it digests as it goes.
  public var laterDigestAge: Duration?

  public init(fetchXMLEntity: String? = nil, indexPartSize: Int? = nil, scansXML: Bool = true) {
    self.fetchXMLEntity = fetchXMLEntity
    self.indexPartSize = indexPartSize
    self.scansXML = scansXML
  }
}

/// Reads an export (files and folders, any mix of formats) into one snapshot: read → normalize.
///
/// A file whose document is malformed stops that file only: its error is kept in
/// `failedFiles`, and the other files are still read.
public func loadSnapshot(
  from paths: [String], options: ReadOptions = ReadOptions(), progress: some ProgressObserver = SilentProgress(),
  faults: FaultPlan = FaultPlan()
) throws -> Snapshot {
  var builder = SnapshotBuilder()
  var total = 0
  let files = try ExportInput.files(at: paths, leavingOut: options.foldersLeftOut)
  // Files are read a few per core at a time and put together in file order: the snapshot is the one reading them
  // one by one gives, and no more than a window of files is held as events besides it.
  let window = 4 * ProcessInfo.processInfo.activeProcessorCount
  for start in stride(from: 0, to: files.count, by: window) {
    var read = try concurrentMap(Array(files[start..<min(start + window, files.count)])) { file in
      try FileEvents.read(file, options: options, progress: progress)
    }
    for index in read.indices {
      if faults.afterRecords == nil {
        total += read[index].events.count
        builder.add(&read[index].events)
      } else {
        // One at a time, so that a planned fault comes after its very record.
        for event in read[index].events {
          builder.add(event)
          total += 1
          try faults.check(afterRecords: total)
        }
      }
      switch read[index].outcome {
      case .success(let summary): builder.finish(file: summary)
      case .failure(let error): builder.fail(file: error)
      }
    }
  }
  return builder.build()
}

/// What one file of an export gave: its events, and its summary or the error that stopped it.
private struct FileEvents: Sendable {
  var events: [ReadEvent] = []
  var outcome: Result<ExportFileSummary, InputError>

  static func read(_ file: ExportFile, options: ReadOptions, progress: some ProgressObserver) throws -> FileEvents {
    progress.readingFile(file.path, format: file.format)
    let clock = ContinuousClock()
    let started = clock.now
    var events: [ReadEvent] = []
    var perTable: [String: Int] = [:]
    let outcome: Result<ExportFileSummary, InputError>
    do {
      outcome = .success(
        try ExportInput.read(file, entity: options.fetchXMLEntity) { event in
          events.append(event)
          if case .record(let record) = event { perTable[record.entity, default: 0] += 1 }
          if events.count % 50_000 == 0 {
            progress.readRecords(perTable, inFile: file.path, elapsed: started.duration(to: clock.now))
          }
        })
    } catch let error as InputError {
      outcome = .failure(error)
    }
    progress.readRecords(perTable, inFile: file.path, elapsed: started.duration(to: clock.now))
    return FileEvents(events: events, outcome: outcome)
  }
}
