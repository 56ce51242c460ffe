import DynSync
import DynSyncCore
import DynSyncReaders
import Foundation
import Testing

/// Paths of the repository's `Fixtures/` folder, found from this file's location.
enum FixturePath {
  static let root: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        return url.path
      }
    }
    return FileManager.default.currentDirectoryPath
  }()

  static func fixture(_ relative: String) -> String { root + "/Fixtures/" + relative }
  static func readers(_ relative: String) -> String { fixture("readers/" + relative) }
  static func sample(_ relative: String) -> String { root + "/Samples/" + relative }
}

/// A fresh folder under the system's temporary folder, removed when the value is released.
final class TemporaryFolder {
  let path: String

  init() throws {
    path = NSTemporaryDirectory() + "dynsync-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// Writes `contents` to `name` inside the folder and returns its path.
  @discardableResult
  func write(_ name: String, _ contents: String) throws -> String {
    let file = path + "/" + name
    try FileManager.default.createDirectory(
      atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(contents.utf8).write(to: URL(fileURLWithPath: file))
    return file
  }
}

/// Every event a reader hands on for one file, and its summary.
func readEvents(_ path: String, entity: String? = nil) throws -> (events: [ReadEvent], summary: ExportFileSummary) {
  let files = try ExportInput.files(at: [path])
  try #require(files.count == 1)
  var events: [ReadEvent] = []
  let summary = try ExportInput.read(files[0], entity: entity) { events.append($0) }
  return (events, summary)
}

extension Array where Element == ReadEvent {
  var records: [Record] {
    compactMap { if case .record(let record) = $0 { return record } else { return nil } }
  }
  var deletions: [Deletion] {
    compactMap { if case .deletion(let deletion) = $0 { return deletion } else { return nil } }
  }
  var rejects: [InputError] {
    compactMap { if case .reject(let error) = $0 { return error } else { return nil } }
  }
}

func guid(_ text: String) -> GUID {
  guard let id = GUID(text) else { fatalError("bad GUID literal \(text)") }
  return id
}

func decimal(_ text: String) -> FieldValue {
  guard let value = ExactDecimal(text) else { fatalError("bad decimal literal \(text)") }
  return .decimal(value)
}

func instant(_ text: String) -> FieldValue {
  guard let value = Timestamp(iso: text) else { fatalError("bad timestamp literal \(text)") }
  return .dateTime(value)
}

func day(_ text: String) -> FieldValue {
  guard let value = CalendarDate(text) else { fatalError("bad date literal \(text)") }
  return .date(value)
}

/// Records whether a run fell back to reading the exports in full, the steps it finished and the files it read.
final class ProgressRecorder: ProgressObserver, @unchecked Sendable {
  private let lock = NSLock()
  private var reasons: [String] = []
  private var finishedSteps: [String] = []
  private var filesRead: [String] = []

  func readingFile(_ path: String, format: ExportFormat) { lock.withLock { filesRead.append(path) } }
  func readRecords(_ counts: [String: Int], inFile path: String, elapsed: Duration) {}
  func readingInFull(because reason: String) { lock.withLock { reasons.append(reason) } }
  func finished(_ step: String, elapsed: Duration) { lock.withLock { finishedSteps.append(step) } }

  var fellBack: Bool { lock.withLock { !reasons.isEmpty } }
  var steps: [String] { lock.withLock { finishedSteps } }
  /// The files announced as read, in the order announced.
  var files: [String] { lock.withLock { filesRead } }
}

/// The files of a batch folder and their text, the manifest without its wall-clock `run` section.
func batchText(_ folder: String) throws -> [String: String] {
  var files: [String: String] = [:]
  for name in try FileManager.default.subpathsOfDirectory(atPath: folder).sorted() {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &isDirectory),
      !isDirectory.boolValue
    else { continue }
    let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
    // A file that is not text (an outline) is compared by its bytes.
    guard let text = String(data: data, encoding: .utf8) else {
      files[name] = "bytes: " + data.base64EncodedString()
      continue
    }
    files[name] = text.split(separator: "\n", omittingEmptySubsequences: false)
      .filter { !$0.contains("\"durationSeconds\"") && !$0.contains("\"finishedAt\"") && !$0.contains("\"startedAt\"") }
      .joined(separator: "\n")
  }
  return files
}

/// A batch as `batchText` gives it without the files under `prefixes` (`state/`), and its manifest without their
/// entries.
func batchText(_ folder: String, leavingOut prefixes: String...) throws -> [String: String] {
  func isLeftOut(_ path: String) -> Bool { prefixes.contains { path.hasPrefix($0) } }
  var files = try batchText(folder).filter { !isLeftOut($0.key) }
  if let manifest = files["manifest.json"],
    var object = try JSONSerialization.jsonObject(with: Data(manifest.utf8)) as? [String: Any],
    let artifacts = object["artifacts"] as? [[String: Any]]
  {
    object["artifacts"] = artifacts.filter { !isLeftOut($0["path"] as? String ?? "") }
    files["manifest.json"] = String(
      decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
  }
  return files
}

/// A small fast generator, so that a seed gives the same values on every machine (and a failing case can be
/// replayed).
struct SeededGenerator: RandomNumberGenerator {
  var state: UInt64

  init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var mixed = state
    mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
    mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
    return mixed ^ (mixed >> 31)
  }
}
