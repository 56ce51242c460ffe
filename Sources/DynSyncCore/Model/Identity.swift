extension FieldValue {
  /// Whether two values are the same value written the same way: the same kind, the same decimal digits and the
  /// same lookup target table, where `==` compares by meaning.
  ///
  /// A state file keeps values as written; a record whose values are equal by meaning but not identical still needs
  /// its line written again.
  public func isIdentical(to other: FieldValue) -> Bool {
    switch (self, other) {
    case (.null, .null): return true
    case (.string(let a), .string(let b)): return a == b
    case (.integer(let a), .integer(let b)), (.optionSet(let a), .optionSet(let b)): return a == b
    case (.decimal(let a), .decimal(let b)): return a.written == b.written
    case (.boolean(let a), .boolean(let b)): return a == b
    case (.dateTime(let a), .dateTime(let b)): return a == b
    case (.date(let a), .date(let b)): return a == b
    case (.multiSelect(let a), .multiSelect(let b)): return a == b
    case (.lookup(let a), .lookup(let b)): return a.id == b.id && a.entity == b.entity
    case (.guid(let a), .guid(let b)): return a == b
    default: return false
    }
  }
}

extension Fields {
  /// Whether both hold the same names with identical values (explicit nulls included).
  public func isIdentical(to other: Fields) -> Bool {
    if sharesStorage(with: other) { return true }
    return allMembersPair(with: other) { $0.key == $1.key && $0.value.isIdentical(to: $1.value) }
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
