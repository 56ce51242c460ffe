import DynSyncArtifacts
@_exported import DynSyncCore
import DynSyncReaders

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

  public init(fetchXMLEntity: String? = nil) {
    self.fetchXMLEntity = fetchXMLEntity
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
  for file in try ExportInput.files(at: paths) {
    progress.readingFile(file.path, format: file.format)
    let clock = ContinuousClock()
    let started = clock.now
    var count = 0
    var perTable: [String: Int] = [:]
    do {
      let summary = try ExportInput.read(file, entity: options.fetchXMLEntity) { event in
        builder.add(event)
        count += 1
        total += 1
        if case .record(let record) = event { perTable[record.entity, default: 0] += 1 }
        try faults.check(afterRecords: total)
        if count % 50_000 == 0 {
          progress.readRecords(perTable, inFile: file.path, elapsed: started.duration(to: clock.now))
        }
      }
      builder.finish(file: summary)
    } catch let error as InputError {
      builder.fail(file: error)
    }
    progress.readRecords(perTable, inFile: file.path, elapsed: started.duration(to: clock.now))
  }
  return builder.build()
}
