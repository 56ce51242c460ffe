/// A reference to another record: the target table, when the export names it, and its id.
///
/// The table is kept as its number among the names lookups have given (`NumberedTexts`), not as its text: a value is as
/// large as its largest kind, and a lookup's text beside its id made every value of every column 40 bytes; with an
/// instant in sixteen (`Timestamp`) and a date in ten (`CalendarDate`), 24. Rows are arrays of them, held by the
/// hundred thousand.
public struct Lookup: Sendable, Hashable {
  // The id first: a number of four bytes before it would be padded to eight.
  public var id: GUID
  private var table: NumberedTexts.Number

  public init(entity: String?, id: GUID) {
    table = NumberedTexts.tables.number(of: entity)
    self.id = id
  }

  /// A lookup of the table numbered `table` (`NumberedTexts`; 0 for none).
  public init(table: NumberedTexts.Number, id: GUID) {
    self.table = table
    self.id = id
  }

  /// The target's logical name; `nil` when the export does not say (Web API without annotations).
  public var entity: String? {
    get { NumberedTexts.tables.name(of: table) }
    set { table = NumberedTexts.tables.number(of: newValue) }
  }

  /// Whether both name the same target table, or neither names one.
  public func hasSameTable(as other: Lookup) -> Bool { table == other.table }

  // Dataverse ids are unique across tables, so the id alone decides; an export that omits the
  // target table must not look like a change.
  public static func == (lhs: Lookup, rhs: Lookup) -> Bool { lhs.id == rhs.id }
  public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// One typed column value of a canonical record.
///
/// Equality is by meaning, not by spelling: numbers compare numerically across integer, decimal
/// and option-set forms, and an id column equals a lookup to the same id (formats disagree on
/// which one a column is when they carry no schema); formatted labels are kept outside the value
/// so they never take part.
public enum FieldValue: Sendable, Hashable {
  case null
  case string(String)
  case integer(Int64)
  case decimal(ExactDecimal)
  case boolean(Bool)
  case dateTime(Timestamp)
  case date(CalendarDate)
  case optionSet(Int64)
  /// Choice values of a multi-select column, sorted and without repeats.
  case multiSelect([Int64])
  case lookup(Lookup)
  /// A uniqueidentifier column that is not a lookup.
  case guid(GUID)

  /// The name of the value's kind, as `inspect` reports inferred types.
  public var kind: String {
    switch self {
    case .null: return "null"
    case .string: return "string"
    case .integer: return "integer"
    case .decimal: return "decimal"
    case .boolean: return "boolean"
    case .dateTime: return "datetime"
    case .date: return "date"
    case .optionSet: return "optionset"
    case .multiSelect: return "multiselect"
    case .lookup: return "lookup"
    case .guid: return "guid"
    }
  }

  public var isNull: Bool {
    if case .null = self { return true }
    return false
  }

  /// The id a value names: a guid, or a string that reads as one (the Marketo side keeps ids as text).
  public var namedID: GUID? {
    switch self {
    case .guid(let id): return id
    case .string(let text): return GUID(text)
    default: return nil
    }
  }

  /// Numeric identity shared by integer, decimal and option-set values.
  private enum Number: Hashable {
    case whole(Int64)
    case exact(ExactDecimal)
  }

  private var number: Number? {
    switch self {
    case .integer(let value), .optionSet(let value): return .whole(value)
    case .decimal(let value): return value.integerValue.map(Number.whole) ?? .exact(value)
    default: return nil
    }
  }

  public static func == (lhs: FieldValue, rhs: FieldValue) -> Bool {
    // One value switched on, then the other, not the pair: a tuple of the two is a copy of each (a reference counted
    // on a text's storage), for every column of every row compared.
    switch lhs {
    case .integer, .optionSet, .decimal:
      if let left = lhs.number, let right = rhs.number { return left == right }
    case .null: if case .null = rhs { return true }
    case .string(let a): if case .string(let b) = rhs { return a == b }
    case .boolean(let a): if case .boolean(let b) = rhs { return a == b }
    case .dateTime(let a): if case .dateTime(let b) = rhs { return a == b }
    case .date(let a): if case .date(let b) = rhs { return a == b }
    case .multiSelect(let a): if case .multiSelect(let b) = rhs { return a == b }
    case .lookup(let a):
      if case .lookup(let b) = rhs { return a == b }
      if case .guid(let b) = rhs { return a.id == b }
    case .guid(let a):
      if case .guid(let b) = rhs { return a == b }
      if case .lookup(let b) = rhs { return a == b.id }
    }
    return false
  }

  public func hash(into hasher: inout Hasher) {
    if let number {
      hasher.combine(0 as UInt8)
      hasher.combine(number)
      return
    }
    switch self {
    case .null: hasher.combine(1 as UInt8)
    case .string(let value):
      hasher.combine(2 as UInt8)
      hasher.combine(value)
    case .boolean(let value):
      hasher.combine(3 as UInt8)
      hasher.combine(value)
    case .dateTime(let value):
      hasher.combine(4 as UInt8)
      hasher.combine(value)
    case .date(let value):
      hasher.combine(5 as UInt8)
      hasher.combine(value)
    case .multiSelect(let value):
      hasher.combine(6 as UInt8)
      hasher.combine(value)
    case .lookup(let value):
      hasher.combine(7 as UInt8)
      hasher.combine(value.id)
    case .guid(let value):
      hasher.combine(7 as UInt8)
      hasher.combine(value)
    case .integer, .decimal, .optionSet: break
    }
  }
}
