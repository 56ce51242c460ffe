import DynSyncCore
import Foundation

/// Field-mapping configuration files: JSON shaped like `FieldMapping`, laid over the defaults.
///
/// ```json
/// { "entities": { "contact": [ { "dynamics": "new_region", "marketo": "region", "direction": "both" },
///                              { "dynamics": "jobtitle", "marketo": "title", "blockUpdatesFromCRM": true } ] } }
/// ```
public enum MappingFile {
  /// The standard mapping, with the file at `path` laid over it when one is named.
  public static func load(_ path: String?) throws -> FieldMapping {
    guard let path else { return .standard }
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw InputError(file: path, reason: "cannot read the mapping file: \(error.localizedDescription)")
    }
    do {
      return FieldMapping.standard.overlaid(with: try JSONDecoder().decode(FieldMapping.self, from: data))
    } catch let error as DecodingError {
      throw InputError(file: path, reason: "not a field mapping: \(describe(error))")
    }
  }

  static func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
      context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
    }
    switch error {
    case .keyNotFound(let key, let context): return "missing \"\(key.stringValue)\" at \(path(context))"
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
      return "\(context.debugDescription) at \(path(context))"
    @unknown default: return "\(error)"
    }
  }
}
