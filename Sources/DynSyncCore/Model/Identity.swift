extension FieldValue {
  /// Whether two values are the same value written the same way: the same kind, the same decimal digits and the
  /// same lookup target table, where `==` compares by meaning.
  ///
  /// A state file keeps values as written; a record whose values are equal by meaning but not identical still needs
  /// its line written again.
  public func isIdentical(to other: FieldValue) -> Bool {
    // One value switched on, then the other, not the pair: a tuple of the two is a copy of each (a reference counted
    // on a text's storage), for every column of every row compared.
    switch self {
    case .null: if case .null = other { return true }
    case .string(let a): if case .string(let b) = other { return a == b }
    case .integer(let a): if case .integer(let b) = other { return a == b }
    case .optionSet(let a): if case .optionSet(let b) = other { return a == b }
    case .decimal(let a): if case .decimal(let b) = other { return a.written == b.written }
    case .boolean(let a): if case .boolean(let b) = other { return a == b }
    case .dateTime(let a): if case .dateTime(let b) = other { return a == b }
    case .date(let a): if case .date(let b) = other { return a == b }
    case .multiSelect(let a): if case .multiSelect(let b) = other { return a == b }
    case .lookup(let a): if case .lookup(let b) = other { return a.id == b.id && a.hasSameTable(as: b) }
    case .guid(let a): if case .guid(let b) = other { return a == b }
    }
    return false
  }
}

extension Fields {
  /// Whether both hold the same names with identical values (explicit nulls included).
  public func isIdentical(to other: Fields) -> Bool {
    if sharesStorage(with: other) { return true }
    return allMembersPair(with: other) { $0.isIdentical(to: $1) }
  }
}

extension Record {
  /// Whether both records are written as the same state line: the same values written the same way, explicit nulls,
  /// labels and row version included (`==` ignores all of those).
  public func isIdentical(to other: Record) -> Bool {
    entity == other.entity && id == other.id && version == other.version && labels == other.labels
      && fields.isIdentical(to: other.fields)
  }
}
