/// One row of a Marketo-side dataset: values by Marketo REST API name.
public typealias MarketoRow = Fields

/// A Marketo-side dataset: rows by key (person id, or the Dynamics id of a company, opportunity…).
public struct MarketoDataset: Sendable, Equatable {
  public var rows: [String: MarketoRow]

  public init(rows: [String: MarketoRow] = [:]) {
    self.rows = rows
  }

  /// Keys in output order: numerically when every key is a number (person ids), else as text.
  public var sortedKeys: [String] { MarketoDataset.sorted(rows.keys) }

  /// Keys in output order (see `keyPrecedes`).
  ///
  /// Keys that are all numbers (person ids) are read as numbers once, not twice in every comparison, and sorted as
  /// numbers beside their places, not moved with their text; two that read as the same number (`7`, `07`) go by
  /// their text.
  ///
  /// Keys that are all ids as dynsync writes them (companies, opportunities, custom rows) sort as their 128 bits, which
  /// is the order of their text, where text comparisons counted references and compared bytes at every step.
  public static func sorted(_ keys: some Collection<String>) -> [String] {
    let keys = Array(keys)
    if let numbered = placed(keys, by: number(of:)) {
      return numbered.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : keys[$0.place] < keys[$1.place] }.map { keys[$0.place] }
    }
    if let ids = placed(keys, by: GUID.init(written:)) {
      // Two keys are one id only when they are one text: no tie to break.
      return ids.sorted { $0.0 < $1.0 }.map { keys[$0.place] }
    }
    return keys.sorted(by: keyPrecedes)
  }

  /// Each key's value by `value`, beside its place; `nil` as soon as one key has none.
  private static func placed<Value>(_ keys: [String], by value: (String) -> Value?) -> [(Value, place: Int)]? {
    var placed: [(Value, place: Int)] = []
    placed.reserveCapacity(keys.count)
    for (place, key) in keys.enumerated() {
      guard let read = value(key) else { return nil }
      placed.append((read, place))
    }
    return placed
  }

  /// The order of keys in output: two numbers numerically, anything else as text.
  public static func keyPrecedes(_ left: String, _ right: String) -> Bool {
    KeyOrder.precedes(KeyOrder(left), KeyOrder(right))
  }

  /// A key as `keyPrecedes` orders it, its number read once: a walk of keys in order compares each key with the one
  /// before it and the one after, and read each number twice.
  public struct KeyOrder: Sendable {
    public let key: String
    public let number: Int64?

    @inlinable
    public init(_ key: String) {
      self.key = key
      number = MarketoDataset.number(of: key)
    }

    @inlinable
    public static func precedes(_ earlier: KeyOrder, _ later: KeyOrder) -> Bool {
      if let a = earlier.number, let b = later.number { return a < b }
      return earlier.key < later.key
    }
  }

  /// The number a key spells, as `Int64(_:)` reads it (a sign, then decimal digits), read from its bytes where it
  /// lies: an outline's every line and a sort's every key are read so, where the generic parse walked the text's
  /// characters.
  @inlinable
  public static func number(of key: String) -> Int64? {
    var key = key
    return key.withUTF8 { bytes -> Int64? in
      var index = 0
      var negative = false
      if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
        negative = first == UInt8(ascii: "-")
        index = 1
      }
      guard index < bytes.count else { return nil }
      var value: Int64 = 0
      while index < bytes.count {
        let digit = bytes[index] &- UInt8(ascii: "0")
        guard digit < 10 else { return nil }
        // Gathered on the sign's side, so that Int64.min reads too.
        let (shifted, shiftOverflow) = value.multipliedReportingOverflow(by: 10)
        let (next, addOverflow) =
          negative
          ? shifted.subtractingReportingOverflow(Int64(digit)) : shifted.addingReportingOverflow(Int64(digit))
        guard !shiftOverflow, !addOverflow else { return nil }
        value = next
        index += 1
      }
      return value
    }
  }

  /// Every field name that occurs in the dataset, sorted (the CSV header).
  public var fieldNames: [String] {
    // In runs of rows on every core: the header is made before any line of the file, while the other core waits.
    let names = concurrentMap(Array(rows.values).runs(of: 16_384)) { run in
      var names = Set<String>()
      // Rows come in a few shapes (a contact's, a lead's, with or without a company); a row named like one of the
      // last shapes seen adds no name, and is not hashed name by name.
      var shapes: [MarketoRow] = []
      for row in run {
        if shapes.contains(where: { $0.hasSameNames(as: row) }) { continue }
        names.formUnion(row.keys)
        if shapes.count == 8 { shapes.removeFirst() }
        shapes.append(row)
      }
      return names
    }
    return names.reduce(into: Set<String>()) { $0.formUnion($1) }.sorted()
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

/// How the Marketo datasets of a run differ from the run's before, found in one pass over the rows.
public struct MarketoDifferences: Sendable, Equatable {
  /// Only the rows that are new or differ in meaning from the previous run's: what a later batch must import.
  public var imports = MarketoDatasets()
  /// By dataset (as `MarketoDatasets.inLoadOrder` names it), the keys of rows not written as before: new, removed,
  /// or differing in any way, also where they mean the same (a state keeps values as written).
  public var changedKeys: [String: Set<String>] = [:]
  /// Whether the datasets equal the previous ones (`==`): nothing to import, nothing removed.
  public var isUnchanged = true
}

extension MarketoDatasets {
  /// Only the rows that are new or differ from `previous`: what a later batch must import.
  public func changed(since previous: MarketoDatasets) -> MarketoDatasets { differences(from: previous).imports }

  /// The rows to import and the rows whose state lines change, compared with `previous` in runs of rows on every
  /// core.
  public func differences(from previous: MarketoDatasets) -> MarketoDifferences {
    var result = MarketoDifferences()
    let datasets = inLoadOrder
    let names = Set(datasets.map(\.name))
    // Every dataset's rows in runs, all compared on every core: the persons are most of the rows of a run. A run is
    // a range of the dataset's own table, not a copy of its rows (a reference counted on each, on one core).
    let rowsOf = datasets.map(\.dataset.rows)
    let before = datasets.map { previous[dataset: $0.name].rows }
    var runs: [(dataset: Int, rows: Slice<[String: MarketoRow]>)] = []
    for (dataset, rows) in rowsOf.enumerated() {
      for run in rows.runs(of: 16_384) { runs.append((dataset, run)) }
    }
    let compared = concurrentMap(runs, costs: runs.map(\.rows.count)) { run in
      MarketoDataset.compare(run.rows, with: before[run.dataset])
    }
    var runsOf = [[MarketoDataset.ComparedRun]](repeating: [], count: datasets.count)
    for (run, found) in zip(runs, consume compared) { runsOf[run.dataset].append(found) }
    for (index, (name, dataset)) in datasets.enumerated() {
      let found = dataset.differences(from: before[index], runs: runsOf[index])
      if !found.imports.isEmpty || found.removed { result.isUnchanged = false }
      result.changedKeys[name] = found.changed
      result.imports[dataset: name] = MarketoDataset(rows: found.imports)
    }
    // A list of a hundred thousand keys and rows, let go of on the other core while this one goes on.
    MemoryFreedAside.free(consume runsOf)
    if previous.inLoadOrder.contains(where: { !names.contains($0.name) }) { result.isUnchanged = false }
    result.imports.customObjects = result.imports.customObjects.filter { !$0.value.rows.isEmpty }
    return result
  }

  public var isEmpty: Bool { inLoadOrder.allSatisfy { $0.dataset.rows.isEmpty } }
}

extension MarketoDatasets {
  /// A dataset by the name `inLoadOrder` gives it.
  public subscript(dataset name: String) -> MarketoDataset {
    get {
      switch name {
      case "salesUsers": return salesUsers
      case "teams": return teams
      case "companies": return companies
      case "persons": return persons
      case "opportunities": return opportunities
      case "opportunityRoles": return opportunityRoles
      default: return customObjects[String(name.dropFirst("customObjects/".count))] ?? MarketoDataset()
      }
    }
    set {
      switch name {
      case "salesUsers": salesUsers = newValue
      case "teams": teams = newValue
      case "companies": companies = newValue
      case "persons": persons = newValue
      case "opportunities": opportunities = newValue
      case "opportunityRoles": opportunityRoles = newValue
      default: customObjects[String(name.dropFirst("customObjects/".count))] = newValue
      }
    }
  }
}

extension MarketoDataset {
  /// What a run of a dataset's rows holds against the previous rows: the rows to import (new, or differing in
  /// meaning), the keys of rows not written as before, and how many keys the previous rows had too.
  fileprivate struct ComparedRun: Sendable {
    var imports: [(key: String, row: MarketoRow)] = []
    var changed: [String] = []
    var keptKeys = 0
  }

  fileprivate static func compare(_ rows: Slice<[String: MarketoRow]>, with before: [String: MarketoRow])
    -> ComparedRun
  {
    var run = ComparedRun()
    for (key, row) in rows {
      if let old = before[key] {
        run.keptKeys += 1
        if old.isIdentical(to: row) { continue }
        if old != row { run.imports.append((key, row)) }
      } else {
        run.imports.append((key, row))
      }
      run.changed.append(key)
    }
    return run
  }

  /// How the dataset differs from its previous rows, from its runs compared: the rows to import, the keys of rows not
  /// written as before (or gone), and whether any row was removed.
  fileprivate func differences(from before: [String: MarketoRow], runs: [ComparedRun]) -> (
    imports: [String: MarketoRow], changed: Set<String>, removed: Bool
  ) {
    // The two tables filled at once: each is a hash of every changed key, a hundred thousand at a million persons.
    var (imports, changed) = concurrently(
      {
        var imports = [String: MarketoRow](minimumCapacity: runs.map(\.imports.count).reduce(0, +))
        for run in runs {
          for (key, row) in run.imports { imports[key] = row }
        }
        return imports
      },
      {
        var changed = Set<String>(minimumCapacity: runs.map(\.changed.count).reduce(0, +))
        for run in runs { changed.formUnion(run.changed) }
        return changed
      })
    let keptKeys = runs.map(\.keptKeys).reduce(0, +)
    var removed = false
    // Every earlier key still here leaves none to look for.
    if keptKeys < before.count {
      for key in before.keys where rows[key] == nil {
        changed.insert(key)
        removed = true
      }
    }
    return (imports, changed, removed)
  }
}
