/// One row of a Marketo-side dataset: values by Marketo REST API name.
public typealias MarketoRow = [String: FieldValue]

/// A Marketo-side dataset: rows by key (person id, or the Dynamics id of a company, opportunity…).
public struct MarketoDataset: Sendable, Equatable {
  public var rows: [String: MarketoRow]

  public init(rows: [String: MarketoRow] = [:]) {
    self.rows = rows
  }

  /// Keys in output order: numerically when every key is a number (person ids), else as text.
  public var sortedKeys: [String] { rows.keys.sorted(by: MarketoDataset.keyPrecedes) }

  /// The order of keys in output: two numbers numerically, anything else as text.
  public static func keyPrecedes(_ left: String, _ right: String) -> Bool {
    if let a = Int64(left), let b = Int64(right) { return a < b }
    return left < right
  }

  /// Every field name that occurs in the dataset, sorted (the CSV header).
  public var fieldNames: [String] {
    var names = Set<String>()
    for row in rows.values { names.formUnion(row.keys) }
    return names.sorted()
  }
}

/// The Marketo lead database as the Dynamics sync leaves it: the merged, full datasets.
///
/// It is also the Marketo-side state: the next run starts from the previous run's datasets, which
/// hold the person ids dynsync assigned, frozen rows and deletion flags.
public struct MarketoDatasets: Sendable, Equatable {
  public var salesUsers = MarketoDataset()
  public var teams = MarketoDataset()
  public var companies = MarketoDataset()
  public var persons = MarketoDataset()
  public var opportunities = MarketoDataset()
  public var opportunityRoles = MarketoDataset()
  /// Custom table logical name → its custom-object rows.
  public var customObjects: [String: MarketoDataset] = [:]

  public init() {}

  /// Dataset names in Marketo's load order (sales users → companies → persons → opportunities →
  /// roles), custom objects last; the order files are written and listed in the manifest.
  public var inLoadOrder: [(name: String, dataset: MarketoDataset)] {
    [
      ("salesUsers", salesUsers), ("teams", teams), ("companies", companies), ("persons", persons),
      ("opportunities", opportunities), ("opportunityRoles", opportunityRoles),
    ] + customObjects.keys.sorted().map { ("customObjects/" + $0, customObjects[$0] ?? MarketoDataset()) }
  }
}

/// The field names dynsync writes besides the mapped ones.
public enum MarketoField {
  public static let personID = "id"
  /// `Lead`, `Contact`, or empty for a Marketo-only person.
  public static let microsoftType = "msftType"
  /// The Dynamics id of the lead or contact the person stands for.
  public static let microsoftID = "msftId"
  /// The lead a contact was qualified from, when the contact took over the lead's person.
  public static let originatingLeadID = "msftLeadId"
  public static let microsoftCreatedDate = "msftCreatedDate"
  public static let microsoftIsDeleted = "msftIsDeleted"
  /// `false` once the sync filter turned No: the row is kept, frozen.
  public static let syncing = "msftSyncing"
  public static let ownerID = "msftOwnerId"
  public static let ownerTeamID = "msftOwnerTeamId"
  public static let externalCompanyID = "externalCompanyId"
  public static let externalOpportunityID = "externalOpportunityId"
  public static let externalSalesPersonID = "externalSalesPersonId"
  public static let teamID = "msftTeamId"
  /// The row's own key where it is not one Dynamics record (roles) or is a custom record.
  public static let recordID = "msftRecordId"
  /// Suffix of the field holding a choice's integer value beside its label.
  public static let choiceValueSuffix = "Value"
}

extension MarketoDatasets {
  /// Only the rows that are new or differ from `previous`: what a later batch must import.
  public func changed(since previous: MarketoDatasets) -> MarketoDatasets {
    func changedRows(_ current: MarketoDataset, _ before: MarketoDataset) -> MarketoDataset {
      MarketoDataset(rows: current.rows.filter { before.rows[$0.key] != $0.value })
    }
    var result = MarketoDatasets()
    result.salesUsers = changedRows(salesUsers, previous.salesUsers)
    result.teams = changedRows(teams, previous.teams)
    result.companies = changedRows(companies, previous.companies)
    result.persons = changedRows(persons, previous.persons)
    result.opportunities = changedRows(opportunities, previous.opportunities)
    result.opportunityRoles = changedRows(opportunityRoles, previous.opportunityRoles)
    for (name, dataset) in customObjects {
      let rows = changedRows(dataset, previous.customObjects[name] ?? MarketoDataset())
      if !rows.rows.isEmpty { result.customObjects[name] = rows }
    }
    return result
  }

  public var isEmpty: Bool { inLoadOrder.allSatisfy { $0.dataset.rows.isEmpty } }
}
