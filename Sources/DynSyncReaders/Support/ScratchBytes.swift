/// Bytes gathered a piece at a time and looked at in place, the same buffer reused from one value
/// to the next.
///
/// A buffer of its own rather than an array: an array held by an object is retained and released
/// around every look at it, and the XML indexers gather and look at a value for most columns of
/// every row.
final class ScratchBytes {
  private var storage: UnsafeMutableRawBufferPointer
  private(set) var count = 0

  init(capacity: Int = 256) {
    storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
  }

  deinit { storage.deallocate() }

  var isEmpty: Bool { count == 0 }

  /// The bytes gathered, valid until the next change.
  var bytes: UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: storage.baseAddress?.assumingMemoryBound(to: UInt8.self), count: count)
  }

  func removeAll() { count = 0 }

  func append(_ bytes: UnsafeBufferPointer<UInt8>) {
    if count + bytes.count > storage.count {
      let larger = UnsafeMutableRawBufferPointer.allocate(
        byteCount: max(2 * storage.count, count + bytes.count), alignment: 1)
      larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[0..<count]))
      storage.deallocate()
      storage = larger
    }
    UnsafeMutableRawBufferPointer(rebasing: storage[count..<(count + bytes.count)]).copyMemory(
      from: UnsafeRawBufferPointer(bytes))
    count += bytes.count
  }
}
