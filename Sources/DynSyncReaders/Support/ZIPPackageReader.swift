import CZlib
import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// The entries of a ZIP package, found through its central directory, and one entry at a time
/// streamed out to a file.
///
/// Only what a package of a few named entries needs: stored and deflated entries, ZIP64 sizes and
/// offsets, no encryption. Every length the package states is checked against the file and
/// against the others before it is used: an entry whose compressed bytes end before its deflate
/// stream does, inflate to more or less than its stated size, or fail their CRC-32 is refused with
/// the reason, never read on past its bytes or into a loop.
struct ZIPPackageReader {
  /// An entry as the central directory states it.
  struct Entry {
    var name: String
    var method: UInt16
    var flags: UInt16
    var crc32: UInt32
    var compressedSize: UInt64
    var uncompressedSize: UInt64
    var localHeaderOffset: UInt64
  }

  let path: String
  private let size: UInt64
  /// The entries, in the central directory's order.
  private(set) var entries: [Entry] = []

  /// The longest central directory read: a package of a few entries needs a few hundred bytes.
  private static let centralDirectoryLimit: UInt64 = 64 << 20
  /// Deflate writes at most 1,032 bytes of output per byte of input (RFC 1951's longest match in
  /// its shortest code); a stated size beyond that cannot be the entry's.
  private static let deflateRatioLimit: UInt64 = 1_032

  /// Reads the package's central directory.
  ///
  /// - Throws: `InputError` for a file that is no readable ZIP package.
  init(path: String) throws(InputError) {
    self.path = path
    let file = try FileBytes(path: path)
    var status = stat()
    guard stat(path, &status) == 0 else {
      throw InputError(file: path, reason: "cannot read: \(FileBytes.lastErrorText())")
    }
    size = UInt64(status.st_size)
    let directory = try ZIPPackageReader.centralDirectory(of: file, size: size, path: path)
    entries = try ZIPPackageReader.entries(
      in: try file.read(at: Int(directory.offset), count: Int(directory.size)), count: directory.count, path: path)
  }

  /// The entry named exactly `name`, or `nil`.
  ///
  /// - Throws: `InputError` when the package names it twice: which one is the package's is not
  ///   for dynsync to guess.
  func entry(named name: String) throws(InputError) -> Entry? {
    let named = entries.filter { $0.name == name }
    guard named.count <= 1 else { throw refusal("the package holds \(name) \(named.count) times") }
    return named.first
  }

  /// Streams `entry` out to a new file at `target`.
  ///
  /// - Throws: `InputError` for an entry that cannot be read as it is stated, or a file that
  ///   cannot be written.
  func extract(_ entry: Entry, to target: String) throws(InputError) {
    guard entry.flags & 1 == 0 else { throw refusal("\(entry.name) is encrypted") }
    guard entry.method == 0 || entry.method == 8 else {
      throw refusal(
        "\(entry.name) is compressed with method \(entry.method); only stored and deflated entries are read")
    }
    let start = try dataOffset(of: entry)
    guard start <= size, entry.compressedSize <= size - start else {
      throw refusal("\(entry.name) is stated to hold more bytes than the package has")
    }
    if entry.method == 0, entry.compressedSize != entry.uncompressedSize {
      throw refusal("\(entry.name) is stored, but its sizes differ")
    }
    if entry.method == 8, entry.uncompressedSize / ZIPPackageReader.deflateRatioLimit > entry.compressedSize {
      throw refusal("\(entry.name) is stated to inflate to more than its compressed bytes can hold")
    }
    let input = try FileBytes(path: path, range: Int(start)..<Int(start + entry.compressedSize))
    let output = open(target, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard output >= 0 else {
      throw InputError(file: target, reason: "cannot create: \(FileBytes.lastErrorText())")
    }
    defer { close(output) }
    var sink = Sink(descriptor: output, target: target, limit: entry.uncompressedSize)
    if entry.method == 0 {
      try ZIPPackageReader.copy(from: input, to: &sink)
    } else {
      try ZIPPackageReader.inflate(from: input, to: &sink) { reason in refusal("\(entry.name) \(reason)") }
    }
    guard sink.written == entry.uncompressedSize else {
      throw refusal("\(entry.name) holds \(sink.written) bytes, where the package states \(entry.uncompressedSize)")
    }
    guard sink.crc32 == entry.crc32 else { throw refusal("\(entry.name) fails its CRC-32: it is damaged") }
  }

  private func refusal(_ reason: String) -> InputError { InputError(file: path, reason: reason) }

  /// Where `entry`'s bytes start: past its local header, whose name and extra field lengths are
  /// its own.
  private func dataOffset(of entry: Entry) throws(InputError) -> UInt64 {
    guard entry.localHeaderOffset <= size, size - entry.localHeaderOffset >= 30 else {
      throw refusal("\(entry.name)'s local header lies outside the package")
    }
    let header = try FileBytes(path: path).read(at: Int(entry.localHeaderOffset), count: 30)
    guard ZIPPackageReader.le32(header, 0) == 0x0403_4B50 else {
      throw refusal("\(entry.name)'s local header is not where the central directory says")
    }
    return entry.localHeaderOffset + 30 + UInt64(ZIPPackageReader.le16(header, 26))
      + UInt64(ZIPPackageReader.le16(header, 28))
  }

  // MARK: - The central directory

  private static func centralDirectory(of file: FileBytes, size: UInt64, path: String) throws(InputError) -> (
    offset: UInt64, size: UInt64, count: UInt64
  ) {
    func refusal(_ reason: String) -> InputError {
      InputError(file: path, reason: "not a readable ZIP package: \(reason)")
    }
    // The end record is 22 bytes and a comment of up to 65,535.
    let tailLength = min(size, 22 + 65_535)
    let tail = try file.read(at: Int(size - tailLength), count: Int(tailLength))
    var end: Int?
    var index = tail.count - 22
    while index >= 0, end == nil {
      if le32(tail, index) == 0x0605_4B50, index + 22 + Int(le16(tail, index + 20)) <= tail.count { end = index }
      index -= 1
    }
    guard let end else { throw refusal("no end of central directory") }
    var count = UInt64(le16(tail, end + 10))
    var directorySize = UInt64(le32(tail, end + 12))
    var directoryOffset = UInt64(le32(tail, end + 16))
    if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
      // ZIP64: a locator just before the end record names the ZIP64 end record.
      let endOffset = size - tailLength + UInt64(end)
      guard endOffset >= 20 else { throw refusal("no ZIP64 end of central directory locator") }
      let locator = try file.read(at: Int(endOffset - 20), count: 20)
      guard le32(locator, 0) == 0x0706_4B50 else { throw refusal("no ZIP64 end of central directory locator") }
      let recordOffset = le64(locator, 8)
      guard recordOffset <= size, size - recordOffset >= 56 else {
        throw refusal("a ZIP64 end record outside the file")
      }
      let record = try file.read(at: Int(recordOffset), count: 56)
      guard le32(record, 0) == 0x0606_4B50 else { throw refusal("no ZIP64 end of central directory record") }
      count = le64(record, 32)
      directorySize = le64(record, 40)
      directoryOffset = le64(record, 48)
    }
    guard directoryOffset <= size, directorySize <= size - directoryOffset else {
      throw refusal("a central directory outside the file")
    }
    guard directorySize <= centralDirectoryLimit else { throw refusal("a central directory of \(directorySize) bytes") }
    return (directoryOffset, directorySize, count)
  }

  private static func entries(in directory: [UInt8], count: UInt64, path: String) throws(InputError) -> [Entry] {
    func refusal(_ reason: String) -> InputError {
      InputError(file: path, reason: "not a readable ZIP package: \(reason)")
    }
    var entries: [Entry] = []
    var at = 0
    for _ in 0..<count {
      guard at + 46 <= directory.count, le32(directory, at) == 0x0201_4B50 else {
        throw refusal("the central directory ends before its \(count) entries")
      }
      let nameLength = Int(le16(directory, at + 28))
      let extraLength = Int(le16(directory, at + 30))
      let commentLength = Int(le16(directory, at + 32))
      let next = at + 46 + nameLength + extraLength + commentLength
      guard next <= directory.count else { throw refusal("the central directory ends inside an entry") }
      var entry = Entry(
        name: String(decoding: directory[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self),
        method: le16(directory, at + 10), flags: le16(directory, at + 8), crc32: le32(directory, at + 16),
        compressedSize: UInt64(le32(directory, at + 20)), uncompressedSize: UInt64(le32(directory, at + 24)),
        localHeaderOffset: UInt64(le32(directory, at + 42)))
      // ZIP64 sizes and offset, in this order, for those the entry states as 0xFFFFFFFF.
      var extra = at + 46 + nameLength
      let extraEnd = extra + extraLength
      while extra + 4 <= extraEnd {
        let id = le16(directory, extra)
        let length = Int(le16(directory, extra + 2))
        guard extra + 4 + length <= extraEnd else { throw refusal("an extra field longer than its entry's") }
        if id == 0x0001 {
          var field = extra + 4
          func wide(_ value: inout UInt64) throws(InputError) {
            guard value == 0xFFFF_FFFF else { return }
            guard field + 8 <= extra + 4 + length else { throw refusal("a ZIP64 field shorter than it says") }
            value = le64(directory, field)
            field += 8
          }
          try wide(&entry.uncompressedSize)
          try wide(&entry.compressedSize)
          try wide(&entry.localHeaderOffset)
        }
        extra += 4 + length
      }
      entries.append(entry)
      at = next
    }
    return entries
  }

  // MARK: - Streaming an entry out

  /// Where an entry's bytes go: written, counted, checksummed, and refused past its stated size.
  private struct Sink {
    let descriptor: Int32
    let target: String
    let limit: UInt64
    var written: UInt64 = 0
    var crc32 = UInt32(CZlib.crc32(0, nil, 0))

    mutating func write(_ bytes: UnsafeRawBufferPointer, refusing: (String) -> InputError) throws(InputError) {
      guard UInt64(bytes.count) <= limit - written else { throw refusing("inflates to more than its stated size") }
      guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
      crc32 = UInt32(CZlib.crc32(uLong(crc32), base.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
      var done = 0
      while done < bytes.count {
        let count = Glibc.write(descriptor, base + done, bytes.count - done)
        if count < 0, errno == EINTR { continue }
        guard count > 0 else { throw InputError(file: target, reason: "write failed: \(FileBytes.lastErrorText())") }
        done += count
      }
      written += UInt64(bytes.count)
    }
  }

  private static let chunk = 1 << 18

  private static func copy(from input: FileBytes, to sink: inout Sink) throws(InputError) {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    defer { buffer.deallocate() }
    while true {
      let count = try input.read(into: buffer)
      if count == 0 { return }
      try sink.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) { _ in
        InputError(file: input.path, reason: "a stored entry longer than stated")
      }
    }
  }

  /// Inflates the raw deflate stream of `input`'s bytes into `sink`: every step takes input or
  /// gives output, the input is the entry's bytes and no more, and the output is bounded by the
  /// entry's stated size, so the stream ends, or is refused, within them.
  private static func inflate(
    from input: FileBytes, to sink: inout Sink, refusing: (String) -> InputError
  ) throws(InputError) {
    let inBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    let outBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    defer {
      inBuffer.deallocate()
      outBuffer.deallocate()
    }
    var stream = z_stream()
    guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw refusing("cannot be inflated: zlib would not start")
    }
    defer { inflateEnd(&stream) }
    while true {
      if stream.avail_in == 0 {
        let count = try input.read(into: inBuffer)
        guard count > 0 else { throw refusing("ends before its deflate stream does: it is damaged or cut short") }
        stream.next_in = inBuffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.avail_in = uInt(count)
      }
      stream.next_out = outBuffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
      stream.avail_out = uInt(outBuffer.count)
      let inputBefore = stream.avail_in
      let status = CZlib.inflate(&stream, Z_NO_FLUSH)
      guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
        throw refusing("is not a valid deflate stream (zlib status \(status))")
      }
      let produced = outBuffer.count - Int(stream.avail_out)
      try sink.write(UnsafeRawBufferPointer(rebasing: outBuffer[0..<produced]), refusing: refusing)
      if status == Z_STREAM_END { return }
      guard produced > 0 || stream.avail_in < inputBefore else {
        throw refusing("is not a valid deflate stream: it stops giving output")
      }
    }
  }

  // MARK: - Little-endian fields

  private static func le16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
  private static func le32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
    UInt32(le16(bytes, at)) | UInt32(le16(bytes, at + 2)) << 16
  }
  private static func le64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
    UInt64(le32(bytes, at)) | UInt64(le32(bytes, at + 4)) << 32
  }
}
