/// Turns Dynamics values into Marketo field values.
public enum MarketoValues {
  /// The mapped fields of `record`, as Marketo holds them.
  ///
  /// Choices as their labels with the integer kept beside them in `<name>Value`, multi-selects as `;`-joined labels, dates and times as ISO 8601 text, lookups
  /// as their id. Columns the record does not carry, or carries as null, are left out: exports
  /// differ in whether they write nulls, and to Marketo both are an empty field.
  static func mapped(_ record: Record, _ fields: [FieldMapping.Field]) -> MarketoRow {
    mapped(record, MappedColumns(fields))
  }

  /// The mapped fields of `record`, as `mapped(_:_:)` gives them, with the field list made ready once for many
  /// records.
  static func mapped(_ record: Record, _ columns: MappedColumns) -> MarketoRow {
    var members = MappedMembers()
    return mapped(record, columns, members: &members)
  }

  /// `mapped(_:_:)`, the record's mapped columns found among its members as the record's before (`MappedMembers`).
  static func mapped(_ record: Record, _ columns: MappedColumns, members: inout MappedMembers) -> MarketoRow {
    // Collected in the mapping's order, each Marketo name with its rank among the names the mapping can give, and
    // sorted once by rank: numbers compared, not names. Of two fields giving one name, the later wins.
    var ranks: [Int] = []
    var ranked: [MarketoRow.Element] = []
    ranks.reserveCapacity(record.fields.count + 4)
    ranked.reserveCapacity(record.fields.count + 4)
    forEachMapped(record, columns, members: &members) { place, isChoiceValue, value in
      let names = columns.names[place]
      ranks.append(isChoiceValue ? names.choiceValueRank : names.rank)
      ranked.append((isChoiceValue ? names.choiceValue : columns.fields[place].marketo, value))
    }
    // A stable order: of two members of one name, the later stays last.
    let order = ranks.indices.sorted { (ranks[$0], $0) < (ranks[$1], $1) }
    var members: [MarketoRow.Element] = []
    members.reserveCapacity(order.count)
    for (position, index) in order.enumerated() {
      let isLastOfItsName = position + 1 == order.count || ranks[order[position + 1]] != ranks[index]
      if isLastOfItsName { members.append(ranked[index]) }
    }
    return MarketoRow(sortedMembers: members)
  }

  /// Hands on each Marketo value of `record` in the mapping's order, with the place of the field that gives it in
  /// `columns.fields` and whether it is a choice's integer (named `columns.names[place].choiceValue`): of two values
  /// of one name, the later is the one a row keeps.
  ///
  /// The places of the record's columns are taken from `members` where the record before of its table named the same
  /// columns (`MappedMembers`).
  static func forEachMapped(
    _ record: Record, _ columns: MappedColumns, members: inout MappedMembers,
    _ body: (_ place: Int, _ isChoiceValue: Bool, FieldValue) -> Void
  ) {
    // The record's columns (taken out of it once, with its labels: each read through the record is a count on them).
    let fields = record.fields
    let labels = record.labels
    for (place, member) in members.places(of: fields, entity: record.entity, in: columns)
    where !fields[member].value.isNull {
      marketoValues(of: fields[member].value, in: columns.fields[place].dynamics, labels: labels) {
        isChoiceValue, value in body(place, isChoiceValue, value)
      }
    }
  }

  /// Every column of `record` under its own Dynamics name, as a mapping that names each column as itself gives them
  /// (a custom table the mapping does not name), without a list of the record's own columns made for each record.
  static func mappedUnderOwnNames(_ record: Record) -> MarketoRow {
    var members: [MarketoRow.Element] = []
    members.reserveCapacity(record.fields.count + 4)
    for (column, value) in record.fields where !value.isNull {
      marketoValues(of: value, in: column, labels: record.labels) { isChoiceValue, value in
        members.append((isChoiceValue ? column + MarketoField.choiceValueSuffix : column, value))
      }
    }
    return MarketoRow(members)
  }

  /// Hands on the Marketo value (or values) of one Dynamics value: choices as their labels with the integer beside
  /// them (`isChoiceValue`: under the name with `MarketoField.choiceValueSuffix`), lookups and ids as their id.
  private static func marketoValues(
    of value: FieldValue, in column: String, labels: Labels,
    _ member: (_ isChoiceValue: Bool, FieldValue) -> Void
  ) {
    switch value {
    case .optionSet(let choice):
      member(false, .string(labels[column] ?? String(choice)))
      member(true, .integer(choice))
    case .multiSelect(let choices):
      let shown = labels[column].map { $0.split(separator: ";").map { String($0.drop { $0 == " " }) } }
      member(
        false,
        .string((shown?.count == choices.count ? shown ?? [] : choices.map { String($0) }).joined(separator: ";")))
      member(true, .string(choices.map { String($0) }.joined(separator: ";")))
    case .lookup(let lookup):
      member(false, .string(lookup.id.description))
    case .guid(let id):
      member(false, .string(id.description))
    default:
      member(false, value)
    }
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

/// Where the mapped columns of a table's records lie among their members, remembered by table.
///
/// The next record of the table that names the same columns in the same order, as most records of a table do, takes
/// its places again, the names compared (most of them shared strings) rather than each column looked up in the
/// mapping. One serves one mapping: the places it keeps for a table are those of the table's `MappedColumns` it was
/// first given.
struct MappedMembers {
  private struct Shape {
    var entity: String
    var names: [String]
    /// Each member of a mapped column, null or not, with the place of each field it gives, in the places' order.
    var places: [(place: Int, member: Int)]
  }

  /// The shape of the last record of each table seen (a merge maps a few tables).
  private var shapes: [Shape] = []

  /// The places in `columns.fields` of the members of `fields` (a record of `entity`) that give them, in the places'
  /// order, null members among them.
  mutating func places(of fields: Fields, entity: String, in columns: MappedColumns) -> [(place: Int, member: Int)] {
    let known = shapes.firstIndex { $0.entity == entity }
    if let known, fields.hasNames(shapes[known].names) { return shapes[known].places }
    // The record's columns looked up in the list, since a record holds fewer columns than a mapping names, then put
    // in the mapping's order. Places are sorted as numbers beside the members, not with the values.
    var places: [(place: Int, member: Int)] = []
    places.reserveCapacity(fields.count)
    for member in fields.indices {
      guard let found = columns.placesByColumn[ColumnName(fields[member].key)] else { continue }
      for place in columns.places[found] { places.append((place, member)) }
    }
    places.sort { $0.place < $1.place }
    let shape = Shape(entity: entity, names: fields.map(\.key), places: places)
    if let known { shapes[known] = shape } else { shapes.append(shape) }
    return places
  }
}

/// A mapping's field list made ready for mapping many records: where each Dynamics column stands in it.
struct MappedColumns: Sendable {
  let fields: [FieldMapping.Field]
  /// Places in `fields`, a column's together and in order (a column may feed more than one Marketo field).
  let places: [Int]
  /// Dynamics column → where its places are in `places`: a range, not an array a column, so that a record's every
  /// column looked up counts no reference.
  let placesByColumn: [ColumnName: Range<Int>]

  init(_ fields: [FieldMapping.Field]) {
    self.fields = fields
    var byColumn: [String: [Int]] = [:]
    for (place, field) in fields.enumerated() { byColumn[field.dynamics, default: []].append(place) }
    var places: [Int] = []
    var ranges: [ColumnName: Range<Int>] = [:]
    for (column, columnPlaces) in byColumn.sorted(by: { $0.key < $1.key }) {
      ranges[ColumnName(column)] = places.count..<places.count + columnPlaces.count
      places += columnPlaces
    }
    self.places = places
    placesByColumn = ranges
    var every = Set<String>()
    for field in fields {
      every.insert(field.marketo)
      every.insert(field.marketo + MarketoField.choiceValueSuffix)
    }
    var rankOf: [String: Int] = [:]
    for (rank, name) in every.sorted().enumerated() { rankOf[name] = rank }
    names = fields.map { field in
      let choiceValue = field.marketo + MarketoField.choiceValueSuffix
      return Names(
        rank: rankOf[field.marketo] ?? 0, choiceValue: choiceValue, choiceValueRank: rankOf[choiceValue] ?? 0)
    }
  }

  /// By place in `fields`: the rank of its Marketo name, and of the name of a choice's integer, among every name the
  /// fields can give, in name order; and that second name, made once.
  let names: [Names]

  struct Names: Sendable {
    let rank: Int
    let choiceValue: String
    let choiceValueRank: Int
  }
}
