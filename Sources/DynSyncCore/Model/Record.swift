/// Where something was read: the file, and the line and column when the format knows them.
public struct SourcePosition: Sendable, Hashable, CustomStringConvertible {
  public var file: String
  public var line: Int?
  public var column: Int?

  public init(file: String, line: Int? = nil, column: Int? = nil) {
    self.file = file
    self.line = line
    self.column = column
  }

  public var description: String {
    var text = file
    if let line {
      text += ":\(line)"
      if let column { text += ":\(column)" }
    }
    return text
  }
}

/// The one shape every reader produces: a row of a Dataverse table, typed, format-free.
public struct Record: Sendable, Equatable {
  /// The table's logical name (`account`, `cr123_project`).
  public var entity: String
  public var id: GUID
  /// Column logical name → value; absent and `.null` mean the same thing to the diff.
  public var fields: Fields
  /// Column logical name → formatted label from the export; display only, never compared.
  public var labels: [String: String]
  /// The row version (`versionnumber`, or the etag's digits), a fast path for the diff only.
  public var version: Int64?
  public var origin: SourcePosition

  public init(
    entity: String, id: GUID, fields: Fields = [:], labels: [String: String] = [:],
    version: Int64? = nil, origin: SourcePosition
  ) {
    self.entity = entity
    self.id = id
    self.fields = fields
    self.labels = labels
    self.version = version
    self.origin = origin
  }

  /// The value of a column, `.null` when the export left it out.
  public subscript(field: String) -> FieldValue { fields[field] ?? .null }

  /// Records are equal when they describe the same row with the same values; where they were
  /// read and how values were labelled does not matter.
  public static func == (lhs: Record, rhs: Record) -> Bool {
    lhs.entity == rhs.entity && lhs.id == rhs.id && lhs.nonNullFields == rhs.nonNullFields
  }

  /// The fields without the explicit nulls, so that "absent" and "null" compare equal.
  public var nonNullFields: Fields { fields.filter { !$0.value.isNull } }
}

/// A row the export says was deleted (Web API change tracking `$deletedEntity`).
public struct Deletion: Sendable, Equatable {
  public var entity: String
  public var id: GUID
  public var reason: String
  public var origin: SourcePosition

  public init(entity: String, id: GUID, reason: String, origin: SourcePosition) {
    self.entity = entity
    self.id = id
    self.reason = reason
    self.origin = origin
  }
}
