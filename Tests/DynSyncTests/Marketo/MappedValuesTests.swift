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
}
