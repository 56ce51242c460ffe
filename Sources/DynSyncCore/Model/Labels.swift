/// A record's formatted labels by column name: one array of name and label, sorted by name, as `Fields` holds a
/// record's values.
///
/// A record has a handful. A dictionary took a table of eight buckets for them (about 290 bytes a record held; 51 MB
/// at the peak of a 1M-record delta's sync), hashed every name as it was made and looked up, and was sorted again for
/// every line written; the array is as long as the labels, filled in the order lines and exports write them, and
/// written as it is.
public struct Labels: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
  public typealias Element = (key: String, value: String)

  /// Sorted by key, each key once.
  private var members: [Element]

  public init() {
    members = []
  }

  public init(minimumCapacity: Int) {
    members = []
    members.reserveCapacity(minimumCapacity)
  }

  /// The labels of a literal; a name written twice keeps its last label.
  public init(dictionaryLiteral elements: (String, String)...) {
    self.init()
    for (name, label) in elements { self[name] = label }
  }

  public var count: Int { members.count }
  public var isEmpty: Bool { members.isEmpty }

  /// The names, in order.
  public var keys: LazyMapSequence<[Element], String> { members.lazy.map(\.key) }

  public func makeIterator() -> IndexingIterator<[Element]> { members.makeIterator() }

  /// The label of a column; setting `nil` removes it.
  // Set as `Fields` sets a value, written out again: one generic setter for both cost the 100k diff 0.5-0.8% more
  // instructions (the value copied into the array rather than moved, and `insert` left unspecialized).
  public subscript(name: String) -> String? {
    get {
      let slot = members.slotInSorted(of: name, by: \.key)
      return slot.found ? members[slot.index].value : nil
    }
    set {
      // Readers of sorted lines append in order: the last member is the one to look at first.
      if let last = members.last?.key, last < name {
        if let newValue { members.append((name, newValue)) }
        return
      }
      let slot = members.slotInSorted(of: name, by: \.key)
      switch (slot.found, newValue) {
      case (true, let value?): members[slot.index].value = value
      case (true, nil): members.remove(at: slot.index)
      case (false, let value?): members.insert((name, value), at: slot.index)
      case (false, nil): break
      }
    }
  }

  public static func == (lhs: Labels, rhs: Labels) -> Bool {
    lhs.members.elementsEqual(rhs.members) { $0.key == $1.key && $0.value == $1.value }
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(members.count)
    for (name, label) in members {
      hasher.combine(name)
      hasher.combine(label)
    }
  }
}
