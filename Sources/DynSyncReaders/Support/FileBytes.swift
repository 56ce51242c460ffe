import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// A file read in fixed-size chunks, so that memory stays bounded whatever the file's size.
final class FileBytes {
  let path: String
  private let descriptor: Int32
  /// Sees every chunk `read(into:)` reads, in order (to digest a file in the same pass).
  var observer: ((UnsafeRawBufferPointer) -> Void)?

  init(path: String) throws(InputError) {
    self.path = path
    try FileBytes.requireRegularFile(path)
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else {
      throw InputError(file: path, reason: "cannot open: \(FileBytes.lastErrorText())")
    }
    self.descriptor = descriptor
  }

  /// Reads only the bytes of `range`, from its start.
  convenience init(path: String, range: Range<Int>) throws(InputError) {
    try self.init(path: path)
    guard lseek(descriptor, off_t(range.lowerBound), SEEK_SET) >= 0 else {
      throw InputError(file: path, reason: "cannot seek: \(FileBytes.lastErrorText())")
    }
    remaining = range.count
  }

  /// The bytes left to read of a range, when only a range is read.
  private var remaining: Int?

  deinit { close(descriptor) }

  /// Fills `buffer` from the current position; returns the count read, 0 at the end.
  func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
    let wanted = min(buffer.count, remaining ?? buffer.count)
    while true {
      let count = Glibc.read(descriptor, buffer.baseAddress, wanted)
      if count >= 0 {
        remaining = remaining.map { $0 - count }
        observer?(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        return count
      }
      if errno == EINTR { continue }
      throw InputError(file: path, reason: "read failed: \(FileBytes.lastErrorText())")
    }
  }

  /// `count` bytes from `offset`, wherever the file was read to.
  func read(at offset: Int, count: Int) throws(InputError) -> [UInt8] {
    let bytes = try read(upTo: count, at: offset)
    guard bytes.count == count else { throw endedEarly(at: offset + bytes.count) }
    return bytes
  }

  /// Fills `buffer` with the bytes from `offset`: all of them, or an error where the file ends first.
  func readExactly(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(InputError) {
    let count = try read(into: buffer, at: offset)
    guard count == buffer.count else { throw endedEarly(at: offset + count) }
  }

  /// Reads each of `items` where it lies (`place` gives its offset and length), in the order given, handing on its
  /// bytes, valid for the call.
  ///
  /// Items close together are read in one span: one call of the system, not one an item (an export's rows read again,
  /// a state's lines read back: tens of thousands, up to every row of a file). Every span goes into one buffer, made
  /// once: not an array made and filled with zeros a span.
  func readEach<Item>(
    _ items: [Item], place: (Item) -> (offset: Int, length: Int),
    _ read: (UnsafeRawBufferPointer, Item) throws -> Void
  ) throws {
    var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileBytes.spanLimit, alignment: 1)
    defer { buffer.deallocate() }
    var spanStart = 0
    var spanCount = 0
    for (index, item) in items.enumerated() {
      let (offset, length) = place(item)
      if offset < spanStart || offset + length > spanStart + spanCount {
        var end = offset + length
        for next in items[(index + 1)...] {
          let (nextOffset, nextLength) = place(next)
          guard nextOffset >= end, nextOffset - end <= FileBytes.spanGap,
            nextOffset + nextLength - offset <= FileBytes.spanLimit
          else { break }
          end = nextOffset + nextLength
        }
        if end - offset > buffer.count {
          // An item longer than a span: a buffer of its size.
          buffer.deallocate()
          buffer = .allocate(byteCount: end - offset, alignment: 1)
        }
        try readExactly(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<(end - offset)]), at: offset)
        spanStart = offset
        spanCount = end - offset
      }
      try read(UnsafeRawBufferPointer(rebasing: buffer[offset - spanStart..<offset - spanStart + length]), item)
    }
  }

  /// The most bytes between two items read in one span (a few rows or lines), and the most a span holds.
  private static let spanGap = 4_096
  private static let spanLimit = 1 << 16

  private func endedEarly(at end: Int) -> InputError {
    InputError(file: path, reason: "the file ended at byte \(end), before a row read earlier")
  }

  /// Up to `count` bytes from `offset`: fewer where the file ends first.
  func read(upTo count: Int, at offset: Int) throws(InputError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: max(count, 0))
    // Through a result: the array's closure rethrows untyped.
    var done = Result<Int, InputError>.success(0)
    bytes.withUnsafeMutableBytes { buffer in
      done = Result { () throws(InputError) in try read(into: buffer, at: offset) }
    }
    bytes.removeLast(bytes.count - (try done.get()))
    return bytes
  }

  /// Fills `buffer` with the bytes from `offset`, as far as the file goes; returns how many were read.
  func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(InputError) -> Int {
    guard let base = buffer.baseAddress else { return 0 }
    var done = 0
    while done < buffer.count {
      let read = pread(descriptor, base + done, buffer.count - done, off_t(offset + done))
      if read > 0 {
        done += read
      } else if read == 0 {
        break
      } else if errno != EINTR {
        throw InputError(file: path, reason: "read failed: \(FileBytes.lastErrorText())")
      }
    }
    return done
  }

  /// The first bytes of a file, for telling formats apart.
  static func prefix(of path: String, count: Int) throws(InputError) -> [UInt8] {
    let file = try FileBytes(path: path)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
    defer { buffer.deallocate() }
    let read = try file.read(into: buffer)
    return Array(buffer[0..<read])
  }

  /// Fails with a clear message when `path` is missing or is a directory.
  static func requireRegularFile(_ path: String) throws(InputError) {
    var status = stat()
    guard stat(path, &status) == 0 else {
      throw InputError(file: path, reason: "cannot read: \(FileBytes.lastErrorText())")
    }
    guard (status.st_mode & S_IFMT) != S_IFDIR else {
      throw InputError(file: path, reason: "is a directory, not an export file")
    }
  }

  static func lastErrorText() -> String { String(cString: strerror(errno)) }
}

extension IndexedRow {
  /// Where the row's bytes lie in its file, as `FileBytes.readEach` takes it.
  var place: (offset: Int, length: Int) { (Int(location.offset), Int(location.length)) }
}
