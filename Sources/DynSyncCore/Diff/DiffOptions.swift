/// Which columns count when comparing two versions of a row.
///
/// Both options only decide what is a change; outputs still carry the full record.
public struct DiffOptions: Sendable, Equatable {
  /// Columns never compared: table → columns; the table `*` applies to every table.
  public var ignoredFields: [String: Set<String>]
  /// When a table is named here, only these columns are compared for it.
  public var comparedFields: [String: Set<String>]

  public init(ignoredFields: [String: Set<String>] = [:], comparedFields: [String: Set<String>] = [:]) {
    self.ignoredFields = ignoredFields
    self.comparedFields = comparedFields
  }

  /// Builds options from `table.column` or `column` (every table) specifications.
  public init(ignoring ignored: [String], comparingOnly compared: [String]) {
    self.init()
    for spec in ignored {
      let (table, column) = DiffOptions.split(spec)
      ignoredFields[table ?? "*", default: []].insert(column)
    }
    for spec in compared {
      let (table, column) = DiffOptions.split(spec)
      comparedFields[table ?? "*", default: []].insert(column)
    }
  }

  public func compares(_ field: String, of entity: String) -> Bool {
    if ignoredFields["*"]?.contains(field) == true || ignoredFields[entity]?.contains(field) == true {
      return false
    }
    if let only = comparedFields[entity] ?? comparedFields["*"] { return only.contains(field) }
    return true
  }

  static func split(_ spec: String) -> (String?, String) {
    guard let dot = spec.firstIndex(of: ".") else { return (nil, spec) }
    return (String(spec[..<dot]), String(spec[spec.index(after: dot)...]))
  }
}
