extension Array {
  /// Where the element whose key is `key` is, in an array sorted by that key, or where it would go.
  ///
  /// - Parameters:
  ///   - key: the key looked for.
  ///   - keyOf: an element's key, by which the array is sorted.
  /// - Returns: the place, and whether the element there has the key.
  // Inlinable so that the key is read without a call in the modules that search their rows.
  @inlinable
  public func slotInSorted<Key: Comparable>(of key: Key, by keyOf: (Element) -> Key) -> (index: Int, found: Bool) {
    // One comparison a step and one test of equality at the end, not two a step: names of more than 15 bytes are
    // compared through the string's storage.
    var low = 0
    var high = count
    while low < high {
      let middle = (low + high) / 2
      if keyOf(self[middle]) < key { low = middle + 1 } else { high = middle }
    }
    return (low, low < count && keyOf(self[low]) == key)
  }

  /// The place of the element whose key is `key`, in an array sorted by that key; `nil` when there is none.
  @inlinable
  public func placeInSorted<Key: Comparable>(of key: Key, by keyOf: (Element) -> Key) -> Int? {
    let slot = slotInSorted(of: key, by: keyOf)
    return slot.found ? slot.index : nil
  }
}

/// Where a key of two lists sorted by it lies, as `forEachSortedPairing` walks them: its place in the first list
/// only, the second only, or both.
public enum SortedPairing: Equatable, Sendable {
  case first(Int)
  case second(Int)
  case both(Int, Int)
}

/// Walks two lists sorted by a key (each key at most once in each) side by side, in key order, and hands `body` the
/// place of every key in whichever of them hold it: one step a key, where a search of one list for each key of the
/// other compares keys several times.
///
/// The lists are reached through their places, so that a caller reads its elements where they lie (a row's members
/// through its buffer) and an element is never copied to be compared.
///
/// - Parameters:
///   - firstCount: the first list's length.
///   - secondCount: the second list's length.
///   - same: whether the key at a place of the first list is the key at a place of the second.
///   - precedes: whether the key at a place of the first list sorts before the key at a place of the second (asked
///     only of keys not the same).
///   - body: called with each key's places, in key order.
// Inlinable: the walks are those of rows compared column by column and of tables of a million ids.
@inlinable
public func forEachSortedPairing(
  _ firstCount: Int, _ secondCount: Int, same: (Int, Int) -> Bool, precedes: (Int, Int) -> Bool,
  each body: (SortedPairing) throws -> Void
) rethrows {
  var first = 0
  var second = 0
  while first < firstCount, second < secondCount {
    if same(first, second) {
      try body(.both(first, second))
      first += 1
      second += 1
    } else if precedes(first, second) {
      try body(.first(first))
      first += 1
    } else {
      try body(.second(second))
      second += 1
    }
  }
  for rest in first..<firstCount { try body(.first(rest)) }
  for rest in second..<secondCount { try body(.second(rest)) }
}
