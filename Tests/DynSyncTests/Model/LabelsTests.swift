import DynSyncCore
import Testing

@Suite("A record's labels")
struct LabelsTests {
  @Test("Setting, replacing and removing labels keeps what a dictionary keeps, in name order", arguments: 1...20)
  func againstADictionary(seed: UInt64) {
    var random = SeededGenerator(seed: seed)
    // Names that sort apart by case, length and a byte beyond ASCII; some set in order, most not.
    let names = ["statecode", "ownerid", "B", "b", "aB", "é", "", "parentcustomerid", "zz"]
    var labels = Labels()
    var model: [String: String] = [:]
    for step in 0..<200 {
      let name = names.randomElement(using: &random)!
      if Int.random(in: 0..<3, using: &random) == 0 {
        labels[name] = nil
        model[name] = nil
      } else {
        labels[name] = "label \(step)"
        model[name] = "label \(step)"
      }
      #expect(labels.count == model.count, "step \(step)")
      #expect(labels.isEmpty == model.isEmpty, "step \(step)")
      #expect(Array(labels.keys) == model.keys.sorted(), "step \(step)")
      #expect(labels.map(\.value) == model.sorted { $0.key < $1.key }.map(\.value), "step \(step)")
      for name in names { #expect(labels[name] == model[name], "\(name) at step \(step)") }
    }
  }

  @Test("A literal's labels in any order are the same labels; a name given twice keeps its last label")
  func literals() {
    let labels: Labels = ["statecode": "Active", "ownerid": "Ana Owner", "statecode": "Inactive"]
    #expect(Array(labels.keys) == ["ownerid", "statecode"])
    #expect(labels["statecode"] == "Inactive")
    #expect(labels == ["statecode": "Inactive", "ownerid": "Ana Owner"])
    #expect(labels != ["statecode": "Inactive"])
    #expect(labels != ["statecode": "Inactive", "ownerid": "Ana"])
    #expect(Set([labels, ["ownerid": "Ana Owner", "statecode": "Inactive"]]).count == 1)
    #expect(Labels() == [:])
  }
}
