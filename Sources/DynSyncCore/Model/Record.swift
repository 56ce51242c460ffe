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
///
/// Its values sit behind one reference, copied on write: a run copies records into tables, change lists and merges
/// hundreds of thousands of times, and a copy of the columns, labels and origin each counted its own reference (an
/// atomic operation on a line of memory each).
public struct Record: Sendable, Equatable {
  private final class Storage: @unchecked Sendable {
    // Sendable though mutable: only a record that holds the sole reference writes to it (`makeUnique`).
    var entity: String
    var fields: Fields
    var labels: Labels
    var version: Int64?
    var origin: SourcePosition

    init(entity: String, fields: Fields, labels: Labels, version: Int64?, origin: SourcePosition) {
      self.entity = entity
      self.fields = fields
      self.labels = labels
      self.version = version
      self.origin = origin
    }

    func copy() -> Storage {
      Storage(entity: entity, fields: fields, labels: labels, version: version, origin: origin)
    }
  }

  private var storage: Storage
  public var id: GUID

  /// The table's logical name (`account`, `cr123_project`).
  public var entity: String {
    _read { yield storage.entity }
    _modify {
      makeUnique()
      yield &storage.entity
    }
  }

  /// Column logical name → value; absent and `.null` mean the same thing to the diff.
  public var fields: Fields {
    _read { yield storage.fields }
    _modify {
      makeUnique()
      yield &storage.fields
    }
  }

  /// Column logical name → formatted label from the export; display only, never compared.
  public var labels: Labels {
    _read { yield storage.labels }
    _modify {
      makeUnique()
      yield &storage.labels
    }
  }

  /// The row version (`versionnumber`, or the etag's digits), a fast path for the diff only.
  public var version: Int64? {
    _read { yield storage.version }
    _modify {
      makeUnique()
      yield &storage.version
    }
  }

  public var origin: SourcePosition {
    _read { yield storage.origin }
    _modify {
      makeUnique()
      yield &storage.origin
    }
  }

  public init(
    entity: String, id: GUID, fields: Fields = [:], labels: Labels = [:],
    version: Int64? = nil, origin: SourcePosition
  ) {
    storage = Storage(entity: entity, fields: fields, labels: labels, version: version, origin: origin)
    self.id = id
  }

  private mutating func makeUnique() {
    if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
  }

  /// The value of a column, `.null` when the export left it out.
  public subscript(field: String) -> FieldValue { storage.fields[field] ?? .null }

  /// Records are equal when they describe the same row with the same values; where they were
  /// read and how values were labelled does not matter.
  public static func == (lhs: Record, rhs: Record) -> Bool {
    lhs.entity == rhs.entity && lhs.id == rhs.id && lhs.fields.equalsLeavingOutNulls(rhs.fields)
  }
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
