import DynSyncCore

/// What `dynsync inspect` reports of an export: per file, per table, the column inventory with
/// inferred types, and every reject.
public struct InspectionReport: Sendable, Codable, Equatable {
  public struct Column: Sendable, Codable, Equatable {
    public var name: String
    /// Value kinds seen in the column, nulls aside (`string`, `lookup`, `optionset`, …).
    public var types: [String]
    /// Rows with a non-null value.
    public var filled: Int
    /// Rows with a formatted label for the column.
    public var labelled: Int
  }

  public struct Entity: Sendable, Codable, Equatable {
    public var entity: String
    public var kind: String
    public var records: Int
    public var deletions: Int
    public var columns: [Column]
  }

  public struct Reject: Sendable, Codable, Equatable {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var entity: String?
    public var id: String?
    public var reason: String

    var message: String {
      InputError(file: file, line: line, column: column, entity: entity, recordID: id, reason: reason).description
    }

    public init(_ error: InputError) {
      file = error.file
      line = error.line
      column = error.column
      entity = error.entity
      id = error.recordID
      reason = error.reason
    }
  }

  public var files: [ExportFileSummary]
  public var entities: [Entity]
  public var rejects: [Reject]
  /// Files that could not be read to the end, with where and why.
  public var failedFiles: [Reject]
  public var problems: [String]

  public init(snapshot: Snapshot) {
    files = snapshot.files
    entities = snapshot.entityNames.compactMap { name in
      guard let table = snapshot.tables[name] else { return nil }
      var types: [String: Set<String>] = [:]
      var filled: [String: Int] = [:]
      var labelled: [String: Int] = [:]
      for record in table.records.values {
        for (field, value) in record.fields {
          if types[field] == nil { types[field] = [] }
          guard !value.isNull else { continue }
          types[field]?.insert(value.kind)
          filled[field, default: 0] += 1
        }
        for field in record.labels.keys { labelled[field, default: 0] += 1 }
      }
      let columns = types.keys.sorted().map {
        Column(name: $0, types: types[$0, default: []].sorted(), filled: filled[$0] ?? 0, labelled: labelled[$0] ?? 0)
      }
      return Entity(
        entity: name, kind: table.kind.rawValue, records: table.records.count, deletions: table.deletions.count,
        columns: columns)
    }
    rejects = snapshot.rejects.map(Reject.init)
    failedFiles = snapshot.failedFiles.map(Reject.init)
    problems = snapshot.problems
  }

  /// The report as a person reads it.
  public var text: String {
    var lines: [String] = []
    for file in files {
      var line = "\(file.path): \(file.format.rawValue) \(file.kind.rawValue), \(file.records) records"
      if file.deletions > 0 { line += ", \(file.deletions) deletions" }
      if file.rejects > 0 { line += ", \(file.rejects) rejected" }
      if file.hasNextPage { line += " (more pages follow)" }
      lines.append(line)
    }
    for entity in entities {
      lines.append("")
      var heading = "\(entity.entity) (\(entity.kind)): \(entity.records) records"
      if entity.deletions > 0 { heading += ", \(entity.deletions) deletions" }
      lines.append(heading)
      let width = entity.columns.map(\.name.count).max() ?? 0
      for column in entity.columns {
        let name = column.name.padding(toLength: width)
        let types = column.types.isEmpty ? "null" : column.types.joined(separator: "|")
        var line = "  \(name)  \(types)  \(column.filled)/\(entity.records) filled"
        if column.labelled > 0 { line += ", \(column.labelled) labelled" }
        lines.append(line)
      }
    }
    for (title, list) in [("rejected records", rejects), ("files not read to the end", failedFiles)]
    where !list.isEmpty {
      lines.append("")
      lines.append("\(title) (\(list.count)):")
      for reject in list { lines.append("  " + reject.message) }
    }
    if !problems.isEmpty {
      lines.append("")
      lines.append("problems (\(problems.count)):")
      for problem in problems { lines.append("  " + problem) }
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

extension String {
  func padding(toLength length: Int) -> String {
    count >= length ? self : self + String(repeating: " ", count: length - count)
  }
}
