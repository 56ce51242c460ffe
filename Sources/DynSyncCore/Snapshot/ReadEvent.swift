/// What a reader hands on, one at a time, in file order.
public enum ReadEvent: Sendable {
  case record(Record)
  case deletion(Deletion)
  /// A record that could not be read and was skipped; the rest of the file is still read.
  case reject(InputError)
}

/// The export formats dynsync reads.
public enum ExportFormat: String, Sendable, Codable, CaseIterable {
  /// Dataverse Web API (OData v4) JSON: a collection page or a change-tracking response.
  case webAPI = "webapi"
  /// FetchXML `<resultset>` result XML.
  case fetchXML = "fetchxml"
  /// Configuration Migration tool `data.xml`, typed by its `data_schema.xml`.
  case configurationMigration = "cmt"
  /// A Marketo lead export of Marketo-side changes (`--marketo-changes`), not a Dynamics export.
  case marketoChanges = "marketo-changes"
}

/// Whether a file holds every record of its tables or only the changes since a previous export.
public enum ExportKind: String, Sendable, Codable {
  case full
  case delta
}

/// What a reader learned about one file besides its records.
public struct ExportFileSummary: Sendable, Equatable, Codable {
  public var path: String
  public var format: ExportFormat
  public var kind: ExportKind
  /// The tables the file holds records of, in the order first seen.
  public var entities: [String]
  /// Web API paging: the file says more pages follow (`@odata.nextLink`).
  public var hasNextPage: Bool
  /// Web API change tracking: the link for the next delta request, when present.
  public var deltaLink: String?
  public var records: Int
  public var deletions: Int
  public var rejects: Int

  public init(
    path: String, format: ExportFormat, kind: ExportKind = .full, entities: [String] = [],
    hasNextPage: Bool = false, deltaLink: String? = nil, records: Int = 0, deletions: Int = 0,
    rejects: Int = 0
  ) {
    self.path = path
    self.format = format
    self.kind = kind
    self.entities = entities
    self.hasNextPage = hasNextPage
    self.deltaLink = deltaLink
    self.records = records
    self.deletions = deletions
    self.rejects = rejects
  }

  /// Counts an event into the summary; readers call it for each event they hand on.
  public mutating func count(_ event: ReadEvent) {
    switch event {
    case .record(let record):
      records += 1
      note(entity: record.entity)
    case .deletion(let deletion):
      deletions += 1
      note(entity: deletion.entity)
    case .reject:
      rejects += 1
    }
  }

  public mutating func note(entity: String) {
    if !entities.contains(entity) { entities.append(entity) }
  }
}
