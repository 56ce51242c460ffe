/// A record's or a Marketo row's values by column name: one array of name and value, sorted by name.
///
/// A state holds millions of these. A dictionary keeps a quarter to a half of its buckets empty, and a row of 32
/// columns took 64 buckets of 56 bytes; the sorted array takes the 32 it holds, in one allocation, and finds a name in
/// five comparisons. Iteration is in name order, the order every file writes them in, so readers of sorted lines
/// append without a search.
public struct Fields: Sendable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
  public typealias Element = (key: String, value: FieldValue)

  /// Sorted by key, each key once.
  // Seen by other modules' inlined code (`@usableFromInline`), so that reading a member there is not a call.
  @usableFromInline var members: [Element]

  public init() {
    members = []
  }

  public init(minimumCapacity: Int) {
    members = []
    members.reserveCapacity(minimumCapacity)
  }

  /// The members of a literal; a key written twice keeps its last value.
  public init(dictionaryLiteral elements: (String, FieldValue)...) {
    self.init(elements.lazy.map { (key: $0.0, value: $0.1) })
  }

  /// The members of a sequence in any order; a key given twice keeps its last value.
  public init(_ elements: some Sequence<Element>) {
    members = Array(elements)
    // A stable sort keeps a repeated key's values in the order given, so the last of them is the one kept.
    members.sort { $0.key < $1.key }
    var kept = 0
    for index in members.indices {
      if kept > 0, members[kept - 1].key == members[index].key {
        members[kept - 1] = members[index]
      } else {
        members[kept] = members[index]
        kept += 1
      }
    }
    members.removeLast(members.count - kept)
  }

  /// Members already sorted by key, each key once (not checked: for a maker that has put them in order itself).
  public init(sortedMembers: [Element]) {
    members = sortedMembers
  }

  /// Whether this row and `other` hold the same names in the same order, each pair of their values passing `test`.
  ///
  /// Names and values are looked at where they lie: a member handed on whole, or a pair of values switched on as a
  /// tuple, is a copy of each (a reference counted on a long name's or a text's storage), for every column of every
  /// row compared.
  @inlinable
  func allMembersPair(with other: Fields, valuesPassing test: (FieldValue, FieldValue) -> Bool) -> Bool {
    guard members.count == other.members.count else { return false }
    return members.withUnsafeBufferPointer { mine in
      other.members.withUnsafeBufferPointer { theirs in
        for index in mine.indices
        where mine[index].key != theirs[index].key || !test(mine[index].value, theirs[index].value) {
          return false
        }
        return true
      }
    }
  }

  @inlinable public var startIndex: Int { members.startIndex }
  @inlinable public var endIndex: Int { members.endIndex }
  @inlinable public subscript(position: Int) -> Element { members[position] }

  /// Where `key` is, or where it would go.
  private func slot(of key: String) -> (index: Int, found: Bool) { members.slotInSorted(of: key, by: \.key) }

  public subscript(key: String) -> FieldValue? {
    get {
      let slot = slot(of: key)
      return slot.found ? members[slot.index].value : nil
    }
    set {
      // Readers of sorted lines append in order: the last member is the one to look at first.
      if let last = members.last?.key, last < key {
        if let newValue { members.append((key, newValue)) }
        return
      }
      let slot = slot(of: key)
      switch (slot.found, newValue) {
      case (true, let value?): members[slot.index].value = value
      case (true, nil): members.remove(at: slot.index)
      case (false, let value?): members.insert((key, value), at: slot.index)
      case (false, nil): break
      }
    }
  }

  /// The values of `names`, in their order (`nil` where a name has none).
  public func values(of names: [String]) -> [FieldValue?] {
    memberPlaces(of: names).map { $0 < 0 ? nil : members[$0].value }
  }

  /// Hands `body` the value of each of the header's names, in its order (`nil` where a name has none), with no list
  /// of them made first: a file of rows writes every column of every row.
  ///
  /// The places of the header's names among the members are kept for the next row (`HeaderPlaces`): a row holding the
  /// same names, most rows of a file, takes them again.
  public func forEachValue(in places: inout HeaderPlaces, _ body: (FieldValue?) -> Void) {
    if !places.fit(self) { places.remember(names: members.map(\.key), members: memberPlaces(of: places.header)) }
    for member in places.members { body(member < 0 ? nil : members[member].value) }
  }

  /// The member of each of `names`, or -1 where a name has none.
  ///
  /// Names in sorted order, as a header's are, are found by walking the members, with a search only for a name
  /// absent or out of order.
  private func memberPlaces(of names: [String]) -> [Int] {
    var places: [Int] = []
    places.reserveCapacity(names.count)
    var cursor = 0
    for name in names {
      if cursor < members.count, members[cursor].key == name {
        places.append(cursor)
        cursor += 1
        continue
      }
      // In order after the members passed, a name that sorts before the next member is not there: no search.
      if cursor == 0 || members[cursor - 1].key < name, cursor == members.count || name < members[cursor].key {
        places.append(-1)
        continue
      }
      let slot = slot(of: name)
      cursor = slot.found ? slot.index + 1 : slot.index
      places.append(slot.found ? slot.index : -1)
    }
    return places
  }

  /// The names, in order.
  public var keys: LazyMapSequence<[Element], String> { members.lazy.map(\.key) }

  /// Whether the names are `names`, in order: each looked at where it lies (a member copied out counts a reference on
  /// its value), and a name shared with `names`, as rows read or built alike share theirs, is equal at a glance.
  public func hasNames(_ names: [String]) -> Bool {
    guard members.count == names.count else { return false }
    return members.withUnsafeBufferPointer { members in
      names.withUnsafeBufferPointer { names in
        for index in members.indices where members[index].key != names[index] { return false }
        return true
      }
    }
  }

  public mutating func reserveCapacity(_ capacity: Int) { members.reserveCapacity(capacity) }

  /// The members for which `isIncluded` holds.
  public func filter(_ isIncluded: (Element) throws -> Bool) rethrows -> Fields {
    var kept = self
    try kept.members.removeAll { try !isIncluded($0) }
    return kept
  }

  /// Lays `other` over these members; where both hold a name, `combine` picks the value.
  public mutating func merge(
    _ other: Fields, uniquingKeysWith combine: (FieldValue, FieldValue) throws -> FieldValue
  ) rethrows {
    guard other.count > 2 else {
      for (key, value) in other { self[key] = try self[key].map { try combine($0, value) } ?? value }
      return
    }
    // Both sorted: one walk through the two, not a search and a shift for each of the other's names; a walk before
    // it counts the names, so that a row held afterwards takes the room it needs, not the room of both.
    var merged: [Element] = []
    merged.reserveCapacity(unionCount(with: other))
    try forEachPairing(with: other) { pairing in
      switch pairing {
      case .first(let mine): merged.append(members[mine])
      case .second(let theirs): merged.append(other.members[theirs])
      case .both(let mine, let theirs):
        merged.append((members[mine].key, try combine(members[mine].value, other.members[theirs].value)))
      }
    }
    members = merged
  }

  /// How many names this row and `other` hold between them.
  private func unionCount(with other: Fields) -> Int {
    var count = 0
    forEachPairing(with: other) { _ in count += 1 }
    return count
  }

  /// Walks this row's members and `other`'s side by side, by name (`forEachSortedPairing`).
  @inlinable
  func forEachPairing(with other: Fields, _ body: (SortedPairing) throws -> Void) rethrows {
    try forEachSortedPairing(
      members.count, other.members.count, same: { members[$0].key == other.members[$1].key },
      precedes: { members[$0].key < other.members[$1].key }, each: body)
  }

  /// Whether both hold the same names with equal values once their explicit nulls are left out, so that "absent" and
  /// "null" compare equal: both rows walked side by side, their nulls stepped over, where a copy of each without them
  /// counted a reference on every member (a record compared with the one it was, for every row that differs).
  func equalsLeavingOutNulls(_ other: Fields) -> Bool {
    members.withUnsafeBufferPointer { mine in
      other.members.withUnsafeBufferPointer { theirs in
        var left = 0
        var right = 0
        while true {
          while left < mine.count, mine[left].value.isNull { left += 1 }
          while right < theirs.count, theirs[right].value.isNull { right += 1 }
          guard left < mine.count, right < theirs.count else { return left == mine.count && right == theirs.count }
          guard mine[left].key == theirs[right].key, mine[left].value == theirs[right].value else { return false }
          left += 1
          right += 1
        }
      }
    }
  }

  /// Whether both hold the same names, in the same order, whatever their values.
  func hasSameNames(as other: Fields) -> Bool { allMembersPair(with: other) { _, _ in true } }

  /// Whether both hold the same storage: the same members, without a look at them.
  ///
  /// Most rows a run compares are copies of the rows it carried over, and a copy shares its array's storage.
  func sharesStorage(with other: Fields) -> Bool {
    withUnsafeBytes(of: members) { mine in withUnsafeBytes(of: other.members) { mine.elementsEqual($0) } }
  }
}

extension Fields: Equatable {
  public static func == (lhs: Fields, rhs: Fields) -> Bool {
    if lhs.sharesStorage(with: rhs) { return true }
    return lhs.allMembersPair(with: rhs, valuesPassing: ==)
  }
}

extension Fields: CustomStringConvertible {
  public var description: String {
    "[" + map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "]"
  }
}

/// A header, and where its names were found among the members of the last row written with it
/// (`Fields.forEachValue(in:_:)`).
public struct HeaderPlaces: Sendable {
  public let header: [String]
  /// The last row's names, in order.
  private var names: [String] = []
  /// For each of the header's names, its member in the last row, or -1 where it had none.
  fileprivate private(set) var members: [Int] = []
  private var known = false

  public init(header: [String]) {
    self.header = header
  }

  /// Whether `row` holds the names the places were found for, in the same order: names compared as strings, most of
  /// them the same storage, which is equal without a look at their bytes.
  fileprivate func fit(_ row: Fields) -> Bool { known && row.hasNames(names) }

  fileprivate mutating func remember(names: [String], members: [Int]) {
    self.names = names
    self.members = members
    known = true
  }
}
