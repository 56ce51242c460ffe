import Testing

@testable import DynSyncCore

@Suite("The person registry")
struct PersonRegistryTests {
  @Test("filled from runs of entries on every core, it is the registry adding them one by one gives")
  func fromEntries() {
    var generator = SeededGenerator(seed: 11)
    let ids = (0..<3_000).map { _ in
      GUID(high: .random(in: .min ... .max, using: &generator), low: .random(in: .min ... .max, using: &generator))
    }
    // Persons 1...2,000, some with the lead they were taken over from; later entries name ids earlier ones did, and a
    // key that is no number names none.
    var entries: [PersonRegistry.Entry] = (0..<2_000).map { index in
      (String(index + 1), ids[index], index % 7 == 0 ? ids[2_000 + index / 7] : nil)
    }
    entries += [(String(2_500), ids[5], nil), (String(2_501), nil, ids[2_000]), ("not a number", ids[6], ids[7])]
    var sequential = PersonRegistry()
    for entry in entries {
      var row = MarketoRow()
      if let id = entry.microsoftID { row[MarketoField.microsoftID] = .string(id.description) }
      if let lead = entry.originatingLead { row[MarketoField.originatingLeadID] = .string(lead.description) }
      sequential.add(MarketoDataset(rows: [entry.key: row]))
    }
    let runs = stride(from: 0, to: entries.count, by: 333).map { Array(entries[$0..<min($0 + 333, entries.count)]) }
    let filled = PersonRegistry(entries: runs, adding: MarketoDataset())
    #expect(filled.nextPersonID == sequential.nextPersonID)
    #expect(filled.nextPersonID == 2_502)
    #expect(filled.takenOverLeads == sequential.takenOverLeads)
    #expect(ids.allSatisfy { filled[$0] == sequential[$0] })
    #expect(filled[ids[5]] == 2_500)
    #expect(filled[ids[2_000]] == 2_501)
    #expect(filled[ids[6]] == 7)
  }
}
