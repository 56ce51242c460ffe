extension Array {
  /// The place of the element whose key is `key`, in an array sorted by that key; `nil` when there is none.
  ///
  /// - Parameters:
  ///   - key: the key looked for.
  ///   - keyOf: an element's key, by which the array is sorted.
  /// - Returns: the element's index.
  // Inlinable so that the key is read without a call in the modules that search their rows.
  @inlinable
  public func placeInSorted<Key: Comparable>(of key: Key, by keyOf: (Element) -> Key) -> Int? {
    var low = 0
    var high = count
    while low < high {
      let middle = (low + high) / 2
      if keyOf(self[middle]) < key { low = middle + 1 } else { high = middle }
    }
    return low < count && keyOf(self[low]) == key ? low : nil
  }
}
