import DynSyncCore
import Foundation

/// A regression case: exports given to `dynsync sync` in order, and the batches they must give.
///
/// ```
/// Fixtures/<case>/case.json      description, options, mapping overrides
/// Fixtures/<case>/01-initial/    the first export (any format)
/// Fixtures/<case>/02-next/       the next one, and so on; marketo-changes.csv beside an export
///                                 is synced with it as Marketo-side edits
/// Fixtures/<case>/expected/      the batches: expected/000001/…, without state/ and manifest.run
/// ```
public struct FixtureCase: Sendable {
  /// `case.json`.
  public struct Definition: Sendable, Codable {
    public var description: String
    /// The rule of `docs/sync-rules.md` the case pins, when it pins one.
    public var rule: String?
    public var ignoreFields: [String]?
    public var massDeleteThreshold: Double?
    public var allowMassDelete: Bool?
    /// Laid over the built-in field mapping.
    public var mapping: FieldMapping?
  }

  public static let definitionFile = "case.json"
  /// A Marketo-side changes file in an export folder, given to the sync with that export.
  public static let marketoChangesFiles = ["marketo-changes.csv", "marketo-changes.ndjson"]
  public static let expectedFolder = "expected"

  public var path: String
  public var name: String { (path as NSString).lastPathComponent }
  public var definition: Definition
  /// The export folders, in the order they are synced (`01-…`, `02-…`).
  public var exports: [String]

  public init(path: String) throws {
    // Absolute, because cases run with their own folder as the working folder.
    let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    self.path = (absolute as NSString).standardizingPath
    let file = self.path + "/" + FixtureCase.definitionFile
    guard let data = FileManager.default.contents(atPath: file) else {
      throw InputError(file: file, reason: "no case.json: not a fixture case")
    }
    do {
      definition = try JSONDecoder().decode(Definition.self, from: data)
    } catch let error as DecodingError {
      throw InputError(file: file, reason: "not a fixture case definition: \(MappingFile.describe(error))")
    }
    let folder = self.path
    exports = try FileManager.default.contentsOfDirectory(atPath: folder).filter { name in
      var isDirectory: ObjCBool = false
      return name.first?.isNumber == true
        && FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &isDirectory)
        && isDirectory.boolValue
    }.sorted()
    guard !exports.isEmpty else {
      throw InputError(file: self.path, reason: "the case has no export folders (01-initial/, 02-next/, …)")
    }
  }

  /// Every case under `folder` (the folder itself when it is one), in name order.
  public static func cases(under folder: String) throws -> [FixtureCase] {
    if FileManager.default.fileExists(atPath: folder + "/" + definitionFile) { return [try FixtureCase(path: folder)] }
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
      throw InputError(file: folder, reason: "no such folder")
    }
    var cases: [FixtureCase] = []
    for name in names.sorted() {
      let child = folder + "/" + name
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: child, isDirectory: &isDirectory), isDirectory.boolValue,
        !name.hasPrefix(".")
      else { continue }
      cases += try FixtureCase.cases(under: child)
    }
    return cases
  }
}
