import DynSyncCore
import Testing

/// Random orgs whose records reach each other through every lookup the merge reads, changed run after run.
private struct RandomOrg {
  var org = Org()
  var generator: SeededGenerator
  var nextNumber = 1000

  static let tables: [(entity: String, kind: Int, count: Int)] = [
    ("systemuser", Org.userKind, 4), ("team", Org.teamKind, 3), ("teammembership", 9, 5),
    ("account", Org.accountKind, 8),
    ("lead", Org.leadKind, 12), ("contact", Org.contactKind, 12), ("opportunity", Org.opportunityKind, 8),
    ("connection", 10, 5), ("customeropportunityrole", 11, 4), ("cr1_project", Org.projectKind, 8),
    ("cr1_task", Org.taskKind, 8),
  ]

  init(seed: UInt64) {
    generator = SeededGenerator(seed: seed)
    for (entity, kind, count) in RandomOrg.tables {
      for number in 1...count { org.add(entity, Org.id(kind, number), fields(of: entity), labels: labels(of: entity)) }
    }
  }

  mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &generator)] }
  mutating func chance(_ share: Double) -> Bool { Double.random(in: 0..<1, using: &generator) < share }

  /// An id of a record the org has (or had: a lookup may point at a record since deleted).
  mutating func target(_ entity: String) -> GUID {
    let kind = RandomOrg.tables.first { $0.entity == entity }?.kind ?? 0
    let existing = org.records.filter { $0.entity == entity }.map(\.id)
    return existing.isEmpty || chance(0.1) ? Org.id(kind, Int.random(in: 1...20, using: &generator)) : pick(existing)
  }

  mutating func reference(_ entity: String, named: Bool = true) -> FieldValue {
    .lookup(Lookup(entity: named ? entity : nil, id: target(entity)))
  }

  mutating func filter() -> FieldValue? { chance(0.15) ? .boolean(false) : chance(0.3) ? nil : .boolean(true) }

  mutating func fields(of entity: String) -> Fields {
    var fields = Fields()
    let word = pick(["alpha", "beta", "gamma", "delta"])
    switch entity {
    case "systemuser":
      fields = ["firstname": .string(word), "lastname": .string("user"), "jobtitle": .string(pick(["rep", "lead"]))]
    case "team": fields = ["name": .string(word)]
    case "teammembership": fields = ["teamid": .guid(target("team")), "systemuserid": .guid(target("systemuser"))]
    case "account":
      fields = ["name": .string(word), "industrycode": .optionSet(Int64.random(in: 1...3, using: &generator))]
      if chance(0.3) { fields["createdon"] = .string("2026-01-0\(Int.random(in: 1...9, using: &generator))") }
    case "lead", "contact":
      fields = ["firstname": .string(word), "lastname": .string(pick(["one", "two"]))]
      fields["ownerid"] =
        chance(0.7) ? reference("systemuser", named: chance(0.5)) : reference("team", named: chance(0.5))
      if entity == "contact" {
        if chance(0.8) { fields["parentcustomerid"] = reference("account") }
        if chance(0.4) { fields["originatingleadid"] = reference("lead") }
      }
    case "opportunity":
      fields = ["name": .string(word), "statecode": .optionSet(Int64.random(in: 0...2, using: &generator))]
      fields["customerid"] =
        chance(0.5) ? reference("account", named: chance(0.5)) : reference("contact", named: chance(0.5))
      if chance(0.3) { fields["parentaccountid"] = reference("account") }
    case "connection":
      fields = [
        "record1id": reference("opportunity"), "record2id": chance(0.8) ? reference("contact") : reference("lead"),
        "record2roleid": .guid(Org.id(12, 1)),
      ]
    case "customeropportunityrole":
      fields = [
        "opportunityid": reference("opportunity"), "customerid": reference("contact"),
        "customerroleid": .guid(Org.id(12, 2)),
      ]
    case "cr1_project":
      fields = ["cr1_name": .string(word)]
      let lookup = pick(["cr1_contact", "cr1_lead", "cr1_account", "cr1_parent"])
      let targetEntity =
        ["cr1_contact": "contact", "cr1_lead": "lead", "cr1_account": "account"][lookup] ?? "cr1_project"
      fields[lookup] = reference(targetEntity)
      if chance(0.2) { fields["cr1_extra"] = .integer(1) }
    case "cr1_task":
      fields = ["cr1_title": .string(word), "cr1_projectid": reference("cr1_project")]
    default: break
    }
    if ["account", "lead", "contact", "opportunity", "cr1_project"].contains(entity), let filter = filter() {
      fields["new_synctomkto"] = filter
    }
    return fields
  }

  mutating func labels(of entity: String) -> Labels {
    switch entity {
    case "account": ["industrycode": pick(["Retail", "Services"])]
    case "connection": ["record2roleid": pick(["Stakeholder", "Influencer"])]
    case "customeropportunityrole": ["customerroleid": pick(["Decision Maker", "Technical Buyer"])]
    default: [:]
    }
  }

  /// Creates, deletes and changes a few records of any table, some of them the ones others reach.
  mutating func mutate() {
    for _ in 0..<Int.random(in: 1...6, using: &generator) {
      let (entity, kind, _) = pick(RandomOrg.tables)
      let existing = org.records.filter { $0.entity == entity }
      switch Int.random(in: 0..<10, using: &generator) {
      case 0, 1:
        nextNumber += 1
        org.add(entity, Org.id(kind, nextNumber), fields(of: entity), labels: labels(of: entity))
      case 2 where !existing.isEmpty:
        org.remove(pick(existing).id)
      case 3 where !existing.isEmpty:
        let record = pick(existing)
        org.add(entity, record.id, record.fields, labels: labels(of: entity))
      case 4 where entity.hasPrefix("cr1_") && !existing.isEmpty:
        // A column no record of the table had: every row of an unmapped custom table gains it.
        nextNumber += 1
        org.update(pick(existing).id, ["cr1_added\(nextNumber)": .integer(Int64(nextNumber))])
      default:
        guard !existing.isEmpty else { continue }
        let record = pick(existing)
        let replacement = fields(of: entity)
        var changed = record.fields
        let name = pick(Array(replacement.keys.sorted()) + ["new_synctomkto"])
        changed[name] = replacement[name] ?? (chance(0.5) ? .boolean(false) : nil)
        org.add(entity, record.id, changed, labels: record.labels)
      }
    }
  }
}

extension RandomOrg {
  /// `org` with its tables of `MergeScope.partialTables` holding only the records changed and a few others picked
  /// at random, and the links of the records they no longer hold.
  mutating func heldInPart(_ org: Snapshot, changes: [(before: Record?, after: Record?)]) -> (Snapshot, RecordLinks) {
    let changed = Set(changes.compactMap { $0.after?.id })
    var partial = org
    var links = RecordLinks()
    for (entity, fields) in MergeScope.partialTables.sorted(by: { $0.key < $1.key }) {
      guard let table = org.tables[entity] else { continue }
      var outlined = RecordLinks.Table(fields: fields)
      var kept: [GUID: Record] = [:]
      for id in table.records.keys.sorted() {
        guard let record = table.records[id] else { continue }
        if changed.contains(id) || chance(0.2) {
          kept[id] = record
        } else {
          outlined.append(record)
        }
      }
      partial.tables[entity]?.records = kept
      links.tables[entity] = outlined
    }
    return (partial, links)
  }
}

@Suite("Merge scope")
struct MergeScopeTests {
  @Test("building only the rows a run's changes reach gives the datasets building every row gives", arguments: 0..<60)
  func scopedMergeEqualsFullMerge(seed: UInt64) {
    var random = RandomOrg(seed: seed)
    let merge = MarketoMerge()
    var before = random.org.snapshot
    var marketo = merge.merge(dynamics: before, previous: MarketoDatasets())
    for run in 1...5 {
      random.mutate()
      let after = random.org.snapshot
      let unchangedAccounts = Set(
        (after.tables["account"]?.records ?? [:]).filter { id, record in
          guard let old = before.tables["account"]?.records[id] else { return false }
          return old == record && old.labels == record.labels
        }.keys)
      let full = merge.merge(dynamics: after, previous: marketo, unchangedAccounts: unchangedAccounts)
      let scope = MergeScope(from: before, to: after)
      let scoped = merge.merge(dynamics: after, previous: marketo, unchangedAccounts: unchangedAccounts, scope: scope)
      for ((name, expected), (_, actual)) in zip(full.inLoadOrder, scoped.inLoadOrder) where expected != actual {
        let keys = Set(expected.rows.keys).union(actual.rows.keys).filter { expected.rows[$0] != actual.rows[$0] }
        Issue.record("seed \(seed), run \(run), \(name): rows \(keys.sorted()) differ")
      }
      #expect(full.inLoadOrder.map(\.name) == scoped.inLoadOrder.map(\.name))
      // With the tables a merge reads only by id held where they changed (and a few records more), the lookups of
      // their other records, and then the records the scope reads, the scope and the rows are the same.
      let changes = MergeScope.changesByTable(from: before, to: after).flatMap { $0 }
      // Given a diff (one that looks past some columns, as a user's may, and always past labels), the records it
      // lists are taken as differing and the others compared: the same changes (tables come in any order).
      func pairs(_ changes: [(before: Record?, after: Record?)]) -> [[Record?]] {
        changes.map { [$0.before, $0.after] }.sorted { ($0[0] ?? $0[1])!.id < ($1[0] ?? $1[1])!.id }
      }
      for options in [DiffOptions(), DiffOptions(ignoring: ["name", "firstname"], comparingOnly: [])] {
        let diff = Differ.diff(previous: before, current: after, options: options)
        let fromDiff = MergeScope.changesByTable(from: before, to: after, diff: diff).flatMap { $0 }
        #expect(pairs(fromDiff) == pairs(changes), "seed \(seed), run \(run)")
      }
      let (partial, links) = random.heldInPart(after, changes: changes)
      let partialScope = MergeScope(changesByTable: [changes], current: partial, links: links)
      #expect(partialScope == scope, "seed \(seed), run \(run): the scope from the links differs")
      var read = partial
      partialScope.holdRecordsRead(in: &read) { ids in
        ids.compactMap { id in MergeScope.partialTables.keys.lazy.compactMap { after.tables[$0]?.records[id] }.first }
      }
      let heldRecords = MergeScope.partialTables.keys.map { read.tables[$0]?.records.count ?? 0 }.reduce(0, +)
      let allRecords = MergeScope.partialTables.keys.map { after.tables[$0]?.records.count ?? 0 }.reduce(0, +)
      #expect(heldRecords <= allRecords)
      // Given only the previous rows the scope names, and every person's id, the merge builds those rows alike.
      let ids = scope.previousRowIDs(in: after)
      let screened = ScreenedIDSet(ids)
      var held = marketo
      for (name, dataset) in marketo.inLoadOrder {
        held[dataset: name] = MarketoDataset(
          rows: dataset.rows.filter { key, row in
            MergeScope.row(key: key, rowIDs: MarketoMerge.rowIDFields.map { row[$0]?.namedID }, names: screened)
          })
      }
      let inPart = merge.merge(
        dynamics: read, previous: held, unchangedAccounts: unchangedAccounts, scope: scope,
        registry: PersonRegistry(marketo.persons))
      #expect(full.inLoadOrder.map(\.name) == inPart.inLoadOrder.map(\.name))
      for (name, expected) in full.inLoadOrder {
        let actual = inPart[dataset: name].rows
        let notHeld = marketo[dataset: name].rows.filter { held[dataset: name].rows[$0.key] == nil }
        let wrong = Set(expected.rows.keys).union(actual.keys).filter { key in
          expected.rows[key] != (actual[key] ?? notHeld[key])
        }
        if !wrong.isEmpty { Issue.record("seed \(seed), run \(run), \(name) in part: rows \(wrong.sorted()) differ") }
        #expect(Set(actual.keys).isDisjoint(with: notHeld.keys))
      }
      // The scope is narrower than the org, or it proves nothing.
      #expect(scope.records.count < random.org.records.count || random.org.records.count < 10)
      before = after
      marketo = full
    }
  }

  @Test("records removed from the links are passed over as if they had never been outlined")
  func linksWithoutRecords() {
    var reachedOnlyThroughRemoved = 0
    for seed in UInt64(0)..<40 {
      var random = RandomOrg(seed: seed)
      let before = random.org.snapshot
      random.mutate()
      let after = random.org.snapshot
      let changes = MergeScope.changesByTable(from: before, to: after).flatMap { $0 }
      let (partial, links) = random.heldInPart(after, changes: changes)
      var removed = RecordLinks()
      var without = RecordLinks()
      for (entity, fields) in MergeScope.partialTables {
        guard let table = after.tables[entity] else { continue }
        let outlined = table.records.keys.sorted().filter { partial.tables[entity]?.records[$0] == nil }
        // Every third record outlined removed.
        let dropped = Set(outlined.enumerated().filter { $0.offset % 3 == 0 }.map(\.element))
        var kept = RecordLinks.Table(fields: fields)
        for id in outlined where !dropped.contains(id) { kept.append(table.records[id]!) }
        without.tables[entity] = kept
        removed.tables[entity] = links.tables[entity]?.removing(dropped)
      }
      let passedOver = MergeScope(changesByTable: [changes], current: partial, links: removed)
      #expect(passedOver == MergeScope(changesByTable: [changes], current: partial, links: without), "seed \(seed)")
      if passedOver != MergeScope(changesByTable: [changes], current: partial, links: links) {
        reachedOnlyThroughRemoved += 1
      }
    }
    // Some runs reach a removed record, or the comparison above proves nothing.
    #expect(reachedOnlyThroughRemoved > 0)
  }
}
