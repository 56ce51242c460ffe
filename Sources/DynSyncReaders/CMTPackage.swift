import DynSyncCore
import Foundation
import ZIPFoundation

/// A Configuration Migration tool `data.zip` package (`data.xml`, `data_schema.xml`,
/// `[Content_Types].xml`), read without unpacking it by hand.
///
/// The two entries are streamed out to a private temporary folder (so memory stays bounded) and
/// read from there; only those two names are ever written, whatever the package lists, so no
/// entry name can reach outside that folder.
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
    let archive: Archive
    do {
      archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
    } catch {
      throw InputError(file: path, reason: "not a readable ZIP package: \(error)")
    }
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("dynsync-cmt-\(UUID().uuidString.lowercased())")
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

  private func extract(_ name: String, from archive: Archive, into folder: URL) throws -> String {
    guard let entry = archive[name] else {
      throw InputError(file: path, reason: "the package has no \(name)")
    }
    let target = folder.appendingPathComponent(name)
    do {
      _ = try archive.extract(entry, to: target)
    } catch {
      throw InputError(file: path, reason: "cannot extract \(name): \(error)")
    }
    return target.path
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
