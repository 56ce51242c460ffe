import DynSyncCore
import Testing

@Suite("A record's fields")
struct FieldsTests {
  @Test("Setting, replacing and removing names keeps what a dictionary keeps, in name order", arguments: 1...20)
  func againstADictionary(seed: UInt64) {
    var random = SeededGenerator(seed: seed)
    // Names that sort apart by case, length and a byte beyond ASCII.
    let names = ["a", "B", "b", "ab", "aB", "emailaddress1", "msftIsDeleted", "zz", "é", "address1_city", ""]
    var fields = Fields()
    var model: [String: FieldValue] = [:]
    for step in 0..<200 {
      let name = names.randomElement(using: &random)!
      switch Int.random(in: 0..<3, using: &random) {
      case 0:
        fields[name] = nil
        model[name] = nil
      default:
        let value = FieldValue.integer(Int64(step))
        fields[name] = value
        model[name] = value
      }
      #expect(fields.count == model.count, "step \(step)")
      #expect(Array(fields.keys) == model.keys.sorted(), "step \(step)")
      for name in names { #expect(fields[name] == model[name], "\(name) at step \(step)") }
    }
    #expect(Dictionary(uniqueKeysWithValues: fields.map { ($0.key, $0.value) }) == model)
    #expect(Fields(model) == fields)
  }

  @Test("A sequence in any order reads as the same fields; a name given twice keeps its last value")
  func construction() {
    let fields: Fields = ["lastname": .string("Ruiz"), "firstname": .string("Ana"), "lastname": .string("Ortiz")]
    #expect(Array(fields.keys) == ["firstname", "lastname"])
    #expect(fields["lastname"] == .string("Ortiz"))
    let reversed = Fields([(key: "lastname", value: .string("Ortiz")), (key: "firstname", value: .string("Ana"))])
    #expect(reversed == fields)
    #expect(Fields() == [:])
    #expect(fields != ["firstname": .string("Ana")])
    #expect(fields != ["firstname": .string("Ana"), "lastname": .string("Ruiz")])
  }

  @Test("Identical asks for the same writing, equal for the same meaning")
  func identity() throws {
    let four = try #require(ExactDecimal("4.0"))
    let fourAgain = try #require(ExactDecimal("4.00"))
    let written: Fields = ["amount": .decimal(four), "name": .string("x")]
    let rewritten: Fields = ["amount": .decimal(fourAgain), "name": .string("x")]
    #expect(written == rewritten)
    #expect(!written.isIdentical(to: rewritten))
    #expect(written.isIdentical(to: written))
    var copy = written
    #expect(copy.isIdentical(to: written))
    copy["name"] = .string("y")
    #expect(!copy.isIdentical(to: written))
    #expect(written["name"] == .string("x"), "a copy changed leaves the original as it was")
  }

  @Test("Merging lays the other fields over, filtering keeps the order")
  func mergeFilterMap() {
    var fields: Fields = ["a": .integer(1), "c": .integer(3)]
    fields.merge(["b": .integer(2), "c": .integer(30)]) { _, new in new }
    #expect(fields == ["a": .integer(1), "b": .integer(2), "c": .integer(30)])
    fields.merge(["a": .integer(10)]) { old, _ in old }
    #expect(fields["a"] == .integer(1))
    let odd = fields.filter { if case .integer(let n) = $0.value { n % 2 == 1 } else { false } }
    #expect(Array(odd.keys) == ["a"])
    #expect(fields["missing"] == nil)
  }

  @Test("Values of a list of names, sorted or not, are those the names look up one by one")
  func valuesOfNames() {
    let fields: Fields = ["b": .integer(2), "d": .integer(4), "f": .integer(6), "h": .integer(8)]
    let lists = [
      ["a", "b", "c", "d", "e", "f", "g", "h", "i"], ["h", "b", "d", "f"], ["d", "d", "a", "h", "b"], [], ["z"],
      ["id", "b", "f", "h"],
    ]
    for names in lists { #expect(fields.values(of: names) == names.map { fields[$0] }, "\(names)") }
    #expect(Fields().values(of: ["a"]) == [nil])
    // Any members and any names, in order or not, with repeats.
    var random = SeededGenerator(seed: 7)
    let pool = ["a", "B", "ab", "emailaddress1", "id", "msftIsDeleted", "zz", "é", "e\u{301}", ""]
    for _ in 0..<500 {
      let some = Fields(
        pool.filter { _ in Bool.random(using: &random) }.map { (key: $0, value: FieldValue.integer(1)) })
      var names = (0..<Int.random(in: 0...12, using: &random)).map { _ in pool.randomElement(using: &random)! }
      if Bool.random(using: &random) { names.sort() }
      #expect(some.values(of: names) == names.map { some[$0] }, "\(names) in \(Array(some.keys))")
    }
  }

  @Test("A header's values, row after row, are those its names look up in each row, whatever the rows before held")
  func valuesOfAHeaderRowAfterRow() {
    let header = ["a", "b", "c", "d", "e"]
    // Rows of the same names with other values, of other names as many, of fewer, of names the header lacks.
    let rows: [Fields] = [
      ["a": .integer(1), "c": .integer(3)], ["a": .integer(10), "c": .integer(30)], ["a": .integer(1), "d": .null],
      ["b": .string("b"), "e": .integer(5)], [:], ["b": .integer(2), "e": .integer(5), "z": .integer(26)],
      ["b": .integer(2), "e": .integer(5)], [:], ["a": .integer(1), "b": .integer(2), "c": .integer(3)],
    ]
    var places = HeaderPlaces(header: header)
    for _ in 0..<2 {
      for row in rows {
        var values: [FieldValue?] = []
        row.forEachValue(in: &places) { values.append($0) }
        #expect(values == header.map { row[$0] }, "\(Array(row.keys))")
      }
    }
  }

  @Test("Merging any two field sets gives what merging their dictionaries gives", arguments: 1...20)
  func mergeAgainstADictionary(seed: UInt64) {
    var random = SeededGenerator(seed: seed)
    let names = ["a", "B", "ab", "emailaddress1", "msftIsDeleted", "zz", "é", ""]
    func some() -> [String: FieldValue] {
      var members: [String: FieldValue] = [:]
      for name in names where Bool.random(using: &random) {
        members[name] = .integer(Int64.random(in: 0..<100, using: &random))
      }
      return members
    }
    for _ in 0..<20 {
      let (mine, theirs) = (some(), some())
      for keepMine in [true, false] {
        var fields = Fields(mine)
        fields.merge(Fields(theirs)) { old, new in keepMine ? old : new }
        #expect(fields == Fields(mine.merging(theirs) { old, new in keepMine ? old : new }), "\(mine) \(theirs)")
        #expect(Array(fields.keys) == fields.keys.sorted())
      }
    }
  }
}
