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

extension Dictionary where Value == FieldValue {
  /// Whether both hold the same keys with identical values (explicit nulls included).
  public func isIdentical(to other: [Key: FieldValue]) -> Bool {
    // Two copies of one dictionary share its storage, and a dictionary is a reference to its storage: equal bits
    // are the same members without a look at them. Most rows a run compares are copies it carried over.
    if withUnsafeBytes(of: self, { mine in withUnsafeBytes(of: other) { mine.elementsEqual($0) } }) { return true }
    guard count == other.count else { return false }
    for (key, value) in self {
      guard let theirs = other[key], value.isIdentical(to: theirs) else { return false }
    }
    return true
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
