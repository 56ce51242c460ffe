import DynSyncCore
import Foundation

/// One file of an export, with the format it was recognised as.
public struct ExportFile: Sendable, Equatable {
  public var path: String
  public var format: ExportFormat
  /// The `data_schema.xml` that types a CMT `data.xml` (none for a `data.zip`, which holds it).
  public var schemaPath: String?

  public init(path: String, format: ExportFormat, schemaPath: String? = nil) {
    self.path = path
    self.format = format
    self.schemaPath = schemaPath
  }
}

/// Finds the export files named on the command line and tells their formats apart.
public enum ExportInput {
  /// Files that belong to an export but hold no rows of their own.
  static let companionFiles: Set<String> = ["data_schema.xml", "[Content_Types].xml"]

  /// Expands files and folders into export files, in a stable order.
  ///
  /// Folders are walked recursively in name order; symbolic links are not followed, so nothing
  /// outside the named folders is ever read. A `data.xml` is paired with the `data_schema.xml`
  /// beside it.
  ///
  /// In a folder, the folders of `foldersLeftOut` and hidden folders (a batch being written, `.NAME.partial-…`) are
  /// passed over.
  public static func files(at paths: [String], leavingOut foldersLeftOut: [String] = []) throws -> [ExportFile] {
    var files: [ExportFile] = []
    let leftOut = Set(foldersLeftOut.map(ExportInput.resolved))
    for path in paths {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw InputError(file: path, reason: "no such file or folder")
      }
      if isDirectory.boolValue {
        for file in try regularFiles(under: path, leavingOut: leftOut) where isExportCandidate(file) {
          files.append(try recognise(file))
        }
      } else {
        files.append(try recognise(path))
      }
    }
    return files
  }

  /// Reads one export file, handing on its events.
  public static func read(_ file: ExportFile, entity: String? = nil, _ emit: (ReadEvent) throws -> Void) throws
    -> ExportFileSummary
  {
    switch file.format {
    case .webAPI:
      return try WebAPIReader(path: file.path).read(emit)
    case .fetchXML:
      return try FetchXMLReader(path: file.path, entity: entity).read(emit)
    case .marketoChanges:
      throw InputError(
        file: file.path, reason: "a Marketo changes file is given with --marketo-changes, not as an export")
    case .configurationMigration where file.path.lowercased().hasSuffix(".zip"):
      return try CMTPackage(path: file.path).read(emit)
    case .configurationMigration:
      return try CMTReader(path: file.path, schema: CMTSchema(path: try schemaPath(of: file))).read(emit)
    }
  }

  /// Indexes one export file: each row's id, fingerprint and location.
  ///
  /// A diff of indexes decodes only the rows that changed. `observer` sees every byte of the
  /// file once, in order.
  ///
  /// `entity` names the table of FetchXML results that carry no hint of it. It returns the
  /// file's summary, as a full read gives it, and what `decode` needs of the file; it throws `IndexUnavailable` for a
  /// file (or format) only a full read handles, and, `scanning` XML, `XMLScanDeclined` for XML `XMLByteScanner`
  /// leaves to libxml2: the caller then indexes the file again, not scanning.
  public static func index(
    _ file: ExportFile, number: Int, entity: String? = nil, scanning: Bool = true,
    observingBytes observer: ((UnsafeRawBufferPointer) -> Void)? = nil, _ emit: (IndexEvent) throws -> Void
  ) throws -> (summary: ExportFileSummary, readerContext: String?) {
    switch file.format {
    case .webAPI:
      let (summary, context) = try WebAPIReader(path: file.path).index(
        file: number, observingBytes: observer, emit)
      return (summary, context)
    case .fetchXML:
      let summary = try FetchXMLReader(path: file.path, entity: entity).index(
        file: number, scanning: scanning, observingBytes: observer, emit)
      return (summary, nil)
    case .configurationMigration where !file.path.lowercased().hasSuffix(".zip"):
      let summary = try CMTReader(path: file.path, schema: CMTSchema(path: try schemaPath(of: file))).index(
        file: number, scanning: scanning, observingBytes: observer, emit)
      return (summary, nil)
    case .configurationMigration, .marketoChanges:
      throw IndexUnavailable(path: file.path, reason: "no indexing reader for \(file.format.rawValue)")
    }
  }

  /// The parts of about `size` bytes a file can be indexed in, each on a core of its own (`CMTIndexPart`); empty for
  /// a file not cut: only a CMT `data.xml` is, an export that is one file however large.
  public static func indexParts(of file: ExportFile, size: Int) throws -> [CMTIndexPart] {
    guard file.format == .configurationMigration, !file.path.lowercased().hasSuffix(".zip") else { return [] }
    return try CMTReader(path: file.path, schema: CMTSchema(path: try schemaPath(of: file))).indexParts(size: size)
  }

  /// Indexes one part of a file (`indexParts(of:size:)`), as `index` indexes the whole.
  public static func index(
    _ part: CMTIndexPart, of file: ExportFile, number: Int, scanning: Bool = true,
    _ emit: (IndexEvent) throws -> Void
  ) throws -> CMTIndexedPart {
    try CMTReader(path: file.path, schema: CMTSchema(path: try schemaPath(of: file))).index(
      part: part, file: number, scanning: scanning, emit)
  }

  /// Reads rows of one file again, each on its own, from where `index` found them; the rows are
  /// all of the table `entity`.
  public static func decode(
    _ rows: [IndexedRow], of file: ExportFile, indexed: SnapshotIndex.File, entity: String
  ) throws -> [ReadEvent] {
    switch file.format {
    case .webAPI:
      return try WebAPIReader(path: file.path).decode(
        rows, context: indexed.readerContext ?? "", entity: entity)
    case .fetchXML:
      return try FetchXMLReader(path: file.path).decode(rows, entity: entity)
    case .configurationMigration where !file.path.lowercased().hasSuffix(".zip"):
      return try CMTReader(path: file.path, schema: CMTSchema(path: try schemaPath(of: file))).decode(
        rows, entity: entity)
    case .configurationMigration, .marketoChanges:
      throw IndexUnavailable(path: file.path, reason: "no indexing reader for \(file.format.rawValue)")
    }
  }

  private static func schemaPath(of file: ExportFile) throws -> String {
    guard let schemaPath = file.schemaPath else {
      throw InputError(file: file.path, reason: "a CMT data.xml needs its data_schema.xml in the same folder")
    }
    return schemaPath
  }

  static func isExportCandidate(_ path: String) -> Bool {
    let name = (path as NSString).lastPathComponent
    guard !companionFiles.contains(name), !name.hasPrefix(".") else { return false }
    let ext = (name as NSString).pathExtension.lowercased()
    return ext == "json" || ext == "xml" || ext == "zip"
  }

  /// The absolute path of `path`, with `.`, `..` and symbolic links resolved: one spelling for one folder.
  static func resolved(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
  }

  static func regularFiles(under folder: String, leavingOut leftOut: Set<String> = []) throws -> [String] {
    let manager = FileManager.default
    var found: [String] = []
    var pending = [folder]
    while let current = pending.popLast() {
      let names: [String]
      do {
        names = try manager.contentsOfDirectory(atPath: current)
      } catch {
        throw InputError(file: current, reason: "cannot list the folder: \(error.localizedDescription)")
      }
      for name in names {
        let path = (current as NSString).appendingPathComponent(name)
        let attributes = try? manager.attributesOfItem(atPath: path)
        switch attributes?[.type] as? FileAttributeType {
        case .typeDirectory?:
          guard !name.hasPrefix("."), leftOut.isEmpty || !leftOut.contains(ExportInput.resolved(path)) else { continue }
          pending.append(path)
        case .typeRegular?: found.append(path)
        default: continue  // symbolic links and special files are never followed
        }
      }
    }
    return found.sorted()
  }

  /// Tells the format from the file's first bytes (and, for CMT, its companion schema).
  static func recognise(_ path: String) throws -> ExportFile {
    let head = try FileBytes.prefix(of: path, count: 4096)
    var index = 0
    if head.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    // UTF-16 with a byte order mark: look at the low bytes of its first characters.
    let utf16 = head.starts(with: [0xFE, 0xFF]) || head.starts(with: [0xFF, 0xFE])
    if utf16 {
      let littleEndian = head[0] == 0xFF
      var narrowed: [UInt8] = []
      for offset in stride(from: 2, to: head.count - 1, by: 2) {
        let (low, high) = littleEndian ? (head[offset], head[offset + 1]) : (head[offset + 1], head[offset])
        narrowed.append(high == 0 ? low : 0x3F)
      }
      return try recognise(path, head: narrowed)
    }
    return try recognise(path, head: head, from: index)
  }

  static func recognise(_ path: String, head: [UInt8], from start: Int = 0) throws -> ExportFile {
    var index = start
    while index < head.count, [0x20, 0x09, 0x0A, 0x0D].contains(head[index]) { index += 1 }
    guard index < head.count else { throw InputError(file: path, reason: "the file is empty") }
    if CMTPackage.looksLikeZip(head) {
      guard path.lowercased().hasSuffix(".zip") else {
        throw InputError(file: path, reason: "a ZIP archive must be named .zip (a CMT data.zip package)")
      }
      return ExportFile(path: path, format: .configurationMigration)
    }
    switch head[index] {
    case UInt8(ascii: "{"):
      return ExportFile(path: path, format: .webAPI)
    case UInt8(ascii: "<"):
      let root = rootElementName(String(decoding: head[index...], as: UTF8.self))
      switch root {
      case "resultset":
        return ExportFile(path: path, format: .fetchXML)
      case "entities":
        let schema = (path.parentFolder as NSString)
          .appendingPathComponent("data_schema.xml")
        guard FileManager.default.fileExists(atPath: schema) else {
          throw InputError(file: path, reason: "a CMT data.xml needs its data_schema.xml in the same folder")
        }
        return ExportFile(path: path, format: .configurationMigration, schemaPath: schema)
      default:
        throw InputError(
          file: path,
          reason: "unknown XML export (root <\(root ?? "?")>): expected a FetchXML <resultset> or a CMT <entities>")
      }
    case 0x00:
      throw InputError(
        file: path, reason: "the file is UTF-32 or UTF-16 without a byte order mark; convert it to UTF-8 (iconv)")
    default:
      throw InputError(file: path, reason: "not a Dataverse export: neither JSON nor XML")
    }
  }

  /// The first element name in an XML prefix, past the declaration, comments and DOCTYPE.
  static func rootElementName(_ text: String) -> String? {
    var rest = Substring(text)
    while let open = rest.firstIndex(of: "<") {
      rest = rest[rest.index(after: open)...]
      guard let first = rest.first else { return nil }
      if first == "?" || first == "!" { continue }
      let name = rest.prefix { !$0.isWhitespace && $0 != ">" && $0 != "/" }
      return String(name.split(separator: ":").last ?? name)
    }
    return nil
  }
}
