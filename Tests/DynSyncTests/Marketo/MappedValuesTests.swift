import Testing

@testable import DynSyncCore

@Suite("Mapping a record's values")
struct MappedValuesTests {
  typealias Field = FieldMapping.Field

  /// What a mapping gives, field by field in the mapping's order, each looked up in the record: the rule
  /// `MarketoValues.mapped` must keep however it finds the values.
  func fieldByField(_ record: Record, _ fields: [Field]) -> MarketoRow {
    var row = MarketoRow()
    for field in fields {
      guard let value = record.fields[field.dynamics], !value.isNull else { continue }
      let label = record.labels[field.dynamics]
      switch value {
      case .optionSet(let choice):
        row[field.marketo] = .string(label ?? String(choice))
        row[field.marketo + MarketoField.choiceValueSuffix] = .integer(choice)
      case .multiSelect(let choices):
        let labels = label.map { $0.split(separator: ";").map { String($0.drop { $0 == " " }) } }
        row[field.marketo] = .string(
          (labels?.count == choices.count ? labels ?? [] : choices.map { String($0) }).joined(separator: ";"))
        row[field.marketo + MarketoField.choiceValueSuffix] = .string(choices.map { String($0) }.joined(separator: ";"))
      case .lookup(let lookup): row[field.marketo] = .string(lookup.id.description)
      case .guid(let id): row[field.marketo] = .string(id.description)
      default: row[field.marketo] = value
      }
    }
    return row
  }

  @Test("Values found from the record's side are the mapping's, field by field, in every case", arguments: 1...30)
  func againstFieldByField(seed: UInt64) throws {
    var random = SeededGenerator(seed: seed)
    let columns = ["a", "b", "c", "d", "e", "statecode", "parentcustomerid", "tags"]
    let names = ["x", "y", "z", "leadStatus", "company"]
    let id = try #require(GUID("aaaa0001-0001-ef11-8409-000d3a8f1a01"))
    let values: [FieldValue] = [
      .null, .string("text"), .integer(7), .boolean(true), .optionSet(2), .multiSelect([1, 3]),
      .lookup(Lookup(entity: "account", id: id)), .guid(id),
    ]
    // Mappings that name a column twice, send two columns to one name, and name columns no record holds.
    let fields = (0..<Int.random(in: 0...10, using: &random)).map { _ in
      Field(dynamics: columns.randomElement(using: &random)!, marketo: names.randomElement(using: &random)!)
    }
    for _ in 0..<20 {
      var record = Record(entity: "contact", id: id, origin: SourcePosition(file: "test"))
      for column in columns where Bool.random(using: &random) {
        record.fields[column] = values.randomElement(using: &random)!
        if Bool.random(using: &random) { record.labels[column] = "One; Three" }
      }
      let expected = fieldByField(record, fields)
      #expect(MarketoValues.mapped(record, fields).isIdentical(to: expected), "\(fields) \(record.fields)")
      #expect(MarketoValues.mapped(record, MappedColumns(fields)).isIdentical(to: expected))
      let ownNames = Array(record.fields.keys.map { Field(dynamics: $0, marketo: $0) })
      #expect(MarketoValues.mappedUnderOwnNames(record).isIdentical(to: fieldByField(record, ownNames)))
    }
  }

  @Test(
    "Columns found as the record's before of its table found them give the mapping's values", arguments: 1...20)
  func rememberedMembers(seed: UInt64) throws {
    var random = SeededGenerator(seed: seed)
    let id = try #require(GUID("aaaa0001-0001-ef11-8409-000d3a8f1a01"))
    // Shapes that repeat, differ in one name, lack a name, and add names; each value null at times.
    let shapes = [["a", "b", "c"], ["a", "b", "d"], ["a", "c"], ["a", "b", "c", "d", "statecode"]]
    let values: [FieldValue] = [
      .null, .string("text"), .integer(7), .optionSet(2), .lookup(Lookup(entity: nil, id: id)),
    ]
    let names = ["x", "y", "z", "leadStatus"]
    // Each table its own mapping, the two tables' records interleaved.
    var fields: [String: [Field]] = [:]
    for entity in ["contact", "lead"] {
      fields[entity] = (0..<Int.random(in: 1...8, using: &random)).map { _ in
        Field(
          dynamics: ["a", "b", "c", "d", "statecode"].randomElement(using: &random)!,
          marketo: names.randomElement(using: &random)!)
      }
    }
    var members = MappedMembers()
    for _ in 0..<80 {
      let entity = Bool.random(using: &random) ? "contact" : "lead"
      var record = Record(entity: entity, id: id, origin: SourcePosition(file: "test"))
      for column in shapes.randomElement(using: &random)! {
        // A name made again for each record: equal to the one before, not the same string.
        record.fields[String(decoding: Array(column.utf8), as: UTF8.self)] = values.randomElement(using: &random)!
      }
      let mapping = try #require(fields[entity])
      let expected = fieldByField(record, mapping)
      #expect(
        MarketoValues.mapped(record, MappedColumns(mapping), members: &members).isIdentical(to: expected),
        "\(entity) \(mapping) \(record.fields)")
    }
  }
}
