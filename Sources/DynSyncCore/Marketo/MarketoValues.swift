/// Turns Dynamics values into Marketo field values.
public enum MarketoValues {
  /// The mapped fields of `record`, as Marketo holds them.
  ///
  /// Choices as their labels with the integer kept beside them in `<name>Value`, multi-selects as `;`-joined labels, dates and times as ISO 8601 text, lookups
  /// as their id. Columns the record does not carry, or carries as null, are left out: exports
  /// differ in whether they write nulls, and to Marketo both are an empty field.
  static func mapped(_ record: Record, _ fields: [FieldMapping.Field]) -> MarketoRow {
    // Collected in the mapping's order and sorted once, rather than each name put in its place.
    var members: [MarketoRow.Element] = []
    members.reserveCapacity(fields.count + 4)
    for field in fields {
      guard let value = record.fields[field.dynamics], !value.isNull else { continue }
      let label = record.labels[field.dynamics]
      switch value {
      case .optionSet(let choice):
        members.append((field.marketo, .string(label ?? String(choice))))
        members.append((field.marketo + MarketoField.choiceValueSuffix, .integer(choice)))
      case .multiSelect(let choices):
        let labels = label.map { $0.split(separator: ";").map { String($0.drop { $0 == " " }) } }
        members.append(
          (
            field.marketo,
            .string((labels?.count == choices.count ? labels ?? [] : choices.map { String($0) }).joined(separator: ";"))
          ))
        members.append(
          (field.marketo + MarketoField.choiceValueSuffix, .string(choices.map { String($0) }.joined(separator: ";"))))
      case .lookup(let lookup):
        members.append((field.marketo, .string(lookup.id.description)))
      case .guid(let id):
        members.append((field.marketo, .string(id.description)))
      default:
        members.append((field.marketo, value))
      }
    }
    return MarketoRow(members)
  }

  /// Whether the sync filter lets a record through: absent, empty or Yes syncs; only No excludes.
  static func passesFilter(_ record: Record) -> Bool {
    record["new_synctomkto"] != .boolean(false)
  }

  /// A value as the text Marketo shows and exports (CSV cells, changes files).
  public static func text(_ value: FieldValue) -> String {
    switch value {
    case .null: return ""
    case .string(let text): return text
    case .integer(let number), .optionSet(let number): return String(number)
    case .decimal(let number): return number.plainText
    case .boolean(let flag): return flag ? "true" : "false"
    case .dateTime(let instant): return instant.description
    case .date(let date): return date.description
    case .multiSelect(let choices): return choices.map { String($0) }.joined(separator: ";")
    case .lookup(let lookup): return lookup.id.description
    case .guid(let id): return id.description
    }
  }

  static func lookupID(_ record: Record, _ field: String) -> Lookup? {
    if case .lookup(let lookup) = record[field] { return lookup }
    return nil
  }
}
