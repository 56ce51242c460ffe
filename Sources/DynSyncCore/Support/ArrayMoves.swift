extension Array {
  /// Appends the elements of `other`, in order, moved out of it rather than copied; `other` is left empty.
  ///
  /// A copy counts a reference on each element (a record, a row), and the array copied from lets go of each again
  /// when it goes: two atomic operations an element on a line seldom in the cache, for lists of tens of thousands
  /// that other cores made. Reversed through its buffer (whose swaps move), `other` gives up its elements from the
  /// end, each moved.
  @inlinable
  public mutating func append(movingContentsOf other: inout [Element]) {
    if isEmpty, capacity <= other.count {
      swap(&self, &other)
      return
    }
    reserveCapacity(count + other.count)
    other.withUnsafeMutableBufferPointer { $0.reverse() }
    while let element = other.popLast() { append(element) }
  }
}
