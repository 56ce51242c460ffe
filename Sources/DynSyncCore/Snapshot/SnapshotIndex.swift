/// Where a row's bytes lie in an export, so that it can be read again on its own.
public struct RowLocation: Sendable, Hashable {
  /// Byte offset of the row's first byte in its file.
  public var offset: Int64
  /// Position of the file in the export's file list.
  public var file: Int32
  public var length: Int32
  public var line: Int32
  /// 0 where the format has no columns to tell (XML).
  public var column: Int32

  public init(file: Int, offset: Int, length: Int, line: Int, column: Int) {
    self.offset = Int64(offset)
    self.file = Int32(file)
    self.length = Int32(length)
    self.line = Int32(line)
    self.column = Int32(column)
  }

  /// File order, then byte order: the order a full read meets rows in.
  public static func < (lhs: RowLocation, rhs: RowLocation) -> Bool {
    (lhs.file, lhs.offset) < (rhs.file, rhs.offset)
  }
}

/// A row as an index holds it: its id, the fingerprint of its bytes, and where to read it again.
public struct IndexedRow: Sendable, Equatable {
  public var id: GUID
  public var fingerprint: Fingerprint
  public var location: RowLocation

  public init(id: GUID, fingerprint: Fingerprint, location: RowLocation) {
    self.id = id
    self.fingerprint = fingerprint
    self.location = location
  }
}

/// What an indexing reader hands on: a row it vouches would be read as a record, or an event a
/// full read hands on (a reject).
public enum IndexEvent: Sendable {
  case row(entity: String, IndexedRow)
  case event(ReadEvent)

  /// What a row a reader decoded in full is in the index: its record a row at `location`, its
  /// reject a reject; `nil` for a deletion, which a full export never holds.
  public init?(decoded event: ReadEvent, fingerprint: Fingerprint, location: RowLocation) {
    switch event {
    case .record(let record):
      self = .row(entity: record.entity, IndexedRow(id: record.id, fingerprint: fingerprint, location: location))
    case .reject:
      self = .event(event)
    case .deletion:
      return nil
    }
  }
}

/// An export read without holding its rows: per table, each row's id, fingerprint and location.
///
/// About 56 bytes a row whatever the row's size, so that two million-row exports compare in a few
/// hundred megabytes; only the rows whose fingerprints differ are ever decoded.
public struct SnapshotIndex: Sendable {
  /// One file of the export, with what its reader needs to decode a row of it on its own.
  public struct File: Sendable {
    public var summary: ExportFileSummary
    /// Reader-specific context (a Web API page's `@odata.context`), opaque to the index.
    public var readerContext: String?

    public init(summary: ExportFileSummary, readerContext: String?) {
      self.summary = summary
      self.readerContext = readerContext
    }
  }

  /// Rows per table, sorted by id once built.
  public var tables: [String: [IndexedRow]] = [:]
  public var rejects: [InputError] = []
  public var files: [File] = []
  /// Problems with the export as a whole, as in `Snapshot.problems`.
  public var problems: [String] = []

  public init() {}

  public var isComplete: Bool { problems.isEmpty }

}

/// Gathers the index events of every file of one export, with the same duplicate and paging
/// checks as `SnapshotBuilder`.
public struct SnapshotIndexBuilder: Sendable {
  private var index = SnapshotIndex()

  public init() {}

  public mutating func add(reject error: InputError) {
    index.rejects.append(error)
  }

  /// Adds rows of one table, in the order met (a whole file's, at once).
  public mutating func add(_ rows: [IndexedRow], of entity: String) {
    // The first file's rows are taken as they are, not copied.
    if index.tables[entity]?.isEmpty != false {
      index.tables[entity] = rows
    } else {
      index.tables[entity]?.append(contentsOf: rows)
    }
  }

  /// Notes a finished file, its summary and its reader context.
  public mutating func finish(file summary: ExportFileSummary, readerContext: String?) {
    index.files.append(SnapshotIndex.File(summary: summary, readerContext: readerContext))
    for entity in summary.entities where index.tables[entity] == nil {
      index.tables[entity] = []
    }
  }

  /// The index with every table sorted by id; a second row with an id already seen is rejected
  /// as a full read rejects it, and the first (in file order) is kept.
  public mutating func build() -> SnapshotIndex {
    let paths = index.files.map(\.summary.path)
    // A table on each core, each taken out of the dictionary into a box of its own, which the core that sorts it
    // empties: its array is then the only reference to its rows, sorted and thinned where it lies (an index of a
    // million rows is never copied whole), where one table after another left the other core idle.
    let entities = index.tables.keys.sorted()
    let tables = entities.map { TableRows(index.tables.removeValue(forKey: $0) ?? []) }
    let built = concurrentMap(Array(zip(entities, tables)), costs: tables.map(\.count)) { entity, table in
      var rows = table.take()
      rows.sort { ($0.id, $0.location.file, $0.location.offset) < ($1.id, $1.location.file, $1.location.offset) }
      var rejects: [InputError] = []
      var kept = 0
      for position in rows.indices {
        let row = rows[position]
        if kept > 0, rows[kept - 1].id == row.id {
          rejects.append(
            SnapshotBuilder.duplicateReject(
              entity: entity, id: row.id, at: row.location.position(in: paths),
              first: rows[kept - 1].location.position(in: paths)))
        } else {
          rows[kept] = row
          kept += 1
        }
      }
      rows.removeSubrange(kept...)
      return (rows: rows, rejects: rejects)
    }
    for (entity, table) in zip(entities, built) {
      index.tables[entity] = table.rows
      index.rejects += table.rejects
    }
    index.problems = SnapshotBuilder.problems(of: index.files.map(\.summary))
    defer { index = SnapshotIndex() }
    return index
  }

  /// A table's rows on their way to the one core that sorts them, which takes them out (`take`): handed over in a
  /// plain array, they would be that array's as well as the sorter's, and sorted into a copy.
  private final class TableRows: @unchecked Sendable {
    // Taken exactly once, by the one work item that holds this box.
    private var rows: [IndexedRow]
    let count: Int

    init(_ rows: [IndexedRow]) {
      self.rows = rows
      count = rows.count
    }

    func take() -> [IndexedRow] {
      var taken: [IndexedRow] = []
      swap(&taken, &rows)
      return taken
    }
  }
}

extension RowLocation {
  /// The row's position as a full read reports it.
  public func position(in paths: [String]) -> SourcePosition {
    SourcePosition(file: paths[Int(file)], line: Int(line), column: column == 0 ? nil : Int(column))
  }
}

extension ExportFileSummary {
  /// Counts an index event as `count(_:)` counts the event a full read hands on for the same row.
  public mutating func count(_ event: IndexEvent) {
    switch event {
    case .row(let entity, _):
      records += 1
      note(entity: entity)
    case .event(let event):
      count(event)
    }
  }
}
