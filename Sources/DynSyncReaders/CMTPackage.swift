import DynSyncCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A Configuration Migration tool `data.zip` package (`data.xml`, `data_schema.xml`,
/// `[Content_Types].xml`).
///
/// The two entries are streamed out to a private temporary folder (so memory stays bounded) and
/// read from there; only those two names are ever written, whatever the package lists, so no
/// entry name can reach outside that folder. `ZIPPackageReader` checks every length the package
/// states: a damaged package is refused with the reason. The folder is named for the process, and
/// folders of processes that are no longer running (killed while they read a package) are swept by
/// the next read.
struct CMTPackage {
  static let dataEntry = "data.xml"
  static let schemaEntry = "data_schema.xml"

  let path: String

  /// Whether the file starts like a ZIP archive.
  static func looksLikeZip(_ head: [UInt8]) -> Bool {
    head.starts(with: [0x50, 0x4B, 0x03, 0x04])
  }

  /// Extracts the package and reads its records; the temporary copies are removed afterwards.
  func read(_ emit: (ReadEvent) throws -> Void) throws -> ExportFileSummary {
    let archive = try ZIPPackageReader(path: path)
    let temporary = FileManager.default.temporaryDirectory
    CMTPackage.sweepStaleFolders(in: temporary)
    let folder = temporary.appendingPathComponent(
      CMTPackage.folderPrefix + "\(getpid())-\(UUID().uuidString.lowercased())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: folder) }
    let data = try extract(CMTPackage.dataEntry, from: archive, into: folder)
    let schema = try extract(CMTPackage.schemaEntry, from: archive, into: folder)
    var summary = try CMTReader(path: data, schema: try CMTSchema(path: schema)).read { event in
      try emit(CMTPackage.relocated(event, from: data, to: "\(path)!\(CMTPackage.dataEntry)"))
    }
    summary.path = path
    return summary
  }

  /// What a package's temporary folder is named with, before the id of the process that made it.
  static let folderPrefix = "dynsync-cmt-"

  /// Removes the temporary folders of processes that are no longer running: a copy of a `data.xml` each.
  static func sweepStaleFolders(in temporary: URL) {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: temporary.path) else { return }
    for entry in entries where entry.hasPrefix(folderPrefix) {
      guard let process = entry.dropFirst(folderPrefix.count).split(separator: "-").first.flatMap({ Int32($0) }),
        process > 0, kill(process, 0) != 0, errno == ESRCH
      else { continue }
      try? FileManager.default.removeItem(at: temporary.appendingPathComponent(entry))
    }
  }

  private func extract(_ name: String, from archive: ZIPPackageReader, into folder: URL) throws -> String {
    guard let entry = try archive.entry(named: name) else {
      throw InputError(file: path, reason: "the package has no \(name)")
    }
    let target = folder.appendingPathComponent(name).path
    try archive.extract(entry, to: target)
    return target
  }

  /// Names the package entry, not the temporary copy, in everything a user sees.
  static func relocated(_ event: ReadEvent, from temporary: String, to shown: String) -> ReadEvent {
    func fix(_ position: SourcePosition) -> SourcePosition {
      var position = position
      if position.file == temporary { position.file = shown }
      return position
    }
    switch event {
    case .record(var record):
      record.origin = fix(record.origin)
      return .record(record)
    case .deletion(var deletion):
      deletion.origin = fix(deletion.origin)
      return .deletion(deletion)
    case .reject(var error):
      if error.file == temporary { error.file = shown }
      return .reject(error)
    }
  }
}
