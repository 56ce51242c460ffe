import DynSyncCore
import Testing

@Suite("A row's patch against an earlier row")
struct FieldsPatchTests {
  /// A row of some of `names`, each set to one of a few values that are alike in meaning but not written alike.
  private func randomRow(of names: [String], using random: inout SeededGenerator) -> Fields {
    let decimals = ["7.0", "7.00"].compactMap(ExactDecimal.init).map(FieldValue.decimal)
    let values: [FieldValue] =
      decimals + [
        .null, .string("7"), .integer(7), .optionSet(7),
        .lookup(Lookup(entity: "account", id: GUID(high: 1, low: 2))),
        .lookup(Lookup(entity: nil, id: GUID(high: 1, low: 2))),
      ]
    var row = Fields()
    for name in names where Bool.random(using: &random) { row[name] = values.randomElement(using: &random) }
    return row
  }

  /// Fifty lists of `count` random rows of names that sort apart by case, length and a byte beyond ASCII.
  private func randomRows(_ count: Int, seed: UInt64) -> [[Fields]] {
    var random = SeededGenerator(seed: seed)
    let names = ["", "a", "B", "billingCity", "company", "email", "msftId", "zz", "é"]
    return (0..<50).map { _ in (0..<count).map { _ in randomRow(of: names, using: &random) } }
  }

  @Test("laid over the earlier row, it gives the row written alike; it holds only what differs", arguments: 1...30)
  func roundTrip(seed: UInt64) {
    for rows in randomRows(2, seed: seed) {
      let (base, row) = (rows[0], rows[1])
      let patch = FieldsPatch(from: base, to: row)
      #expect(patch.applied(to: base).isIdentical(to: row))
      for (name, value) in patch.set { #expect(!(base[name].map { $0.isIdentical(to: value) } ?? false)) }
      for name in patch.unset { #expect(base[name] != nil && row[name] == nil) }
      #expect(patch.unset == patch.unset.sorted())
    }
  }

  @Test("a patch followed by another gives what both laid one after the other give", arguments: 1...30)
  func followed(seed: UInt64) {
    for rows in randomRows(3, seed: seed) {
      let (base, earlier, later) = (rows[0], rows[1], rows[2])
      let both = FieldsPatch(from: base, to: earlier).followed(by: FieldsPatch(from: earlier, to: later))
      #expect(both.applied(to: base).isIdentical(to: later))
      #expect(Set(both.set.keys).isDisjoint(with: both.unset))
      #expect(both.unset == both.unset.sorted())
    }
  }

  @Test("a row against itself is an empty patch; against an empty row, the row itself")
  func edges() {
    let row: Fields = ["company": .string("Haddad & Co"), "email": .null, "id": .integer(2)]
    #expect(FieldsPatch(from: row, to: row) == FieldsPatch())
    #expect(FieldsPatch(from: Fields(), to: row) == FieldsPatch(set: row))
    #expect(FieldsPatch(from: row, to: Fields()) == FieldsPatch(unset: ["id", "email", "company"]))
    #expect(FieldsPatch(unset: ["id", "email", "company"]).applied(to: row).isEmpty)
  }

  @Test("a record's patch laid over its base's record gives its columns, labels and row version, where it was read")
  func recordPatched() {
    let origin = SourcePosition(file: "contact.ndjson", line: 4)
    let base = Record(
      entity: "contact", id: GUID(naming: "base"), fields: ["firstname": .string("Ana"), "jobtitle": .string("CTO")],
      labels: ["statecode": "Active"], version: 1, origin: origin)
    var record = base
    record.fields["jobtitle"] = nil
    record.fields["lastname"] = .string("Tanaka")
    record.labels = ["statecode": "Inactive"]
    record.version = 2
    let patch = RecordPatch(
      fields: FieldsPatch(from: base.fields, to: record.fields), labels: record.labels, version: record.version)
    #expect(patch.fields == FieldsPatch(set: ["lastname": .string("Tanaka")], unset: ["jobtitle"]))
    let patched = patch.applied(to: base)
    #expect(patched.isIdentical(to: record))
    #expect(patched.origin == origin)
    // Labels not given are the base's; given empty, none.
    #expect(RecordPatch().applied(to: base).labels == base.labels)
    #expect(RecordPatch(labels: Labels()).applied(to: base).labels.isEmpty)
  }
}
