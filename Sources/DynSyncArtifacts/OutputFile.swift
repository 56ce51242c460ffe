import Crypto
import Dispatch
import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// Why writing a batch failed: the file, and what the system said.
public struct OutputError: UserFacingError, Sendable, Equatable {
  public var path: String
  public var reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  public var description: String { "\(path): \(reason)" }

  static func system(_ path: String, _ action: String) -> OutputError {
    OutputError(path: path, reason: "\(action) failed: \(String(cString: strerror(errno)))")
  }
}

/// A file written through a buffer, flushed to disk before it is closed.
///
/// A full buffer is hashed and written by `FileSink` on a thread of its own while the next one fills: making a
/// batch's lines and the kernel's copying of them into the page cache overlap.
package final class OutputFile {
  let path: String
  private let sink: FileSink
  private var buffer: [UInt8] = []
  private(set) var lines = 0
  private static let bufferSize = 1 << 20

  package init(path: String) throws(OutputError) {
    self.path = path
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw .system(path, "create") }
    sink = FileSink(path: path, descriptor: descriptor)
    buffer.reserveCapacity(OutputFile.bufferSize)
  }

  package func write(_ text: String) throws(OutputError) {
    var text = text
    text.withUTF8 { utf8 in
      lines += UnsafeRawBufferPointer(utf8).lineFeeds
      buffer.append(contentsOf: utf8)
    }
    if buffer.count >= OutputFile.bufferSize { try sink.take(&buffer) }
  }

  /// Writes lines made as bytes, a block of them at a time (their line feeds are counted).
  package func write(lines bytes: UnsafeRawBufferPointer) throws(OutputError) {
    lines += bytes.lineFeeds
    buffer.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
    if buffer.count >= OutputFile.bufferSize { try sink.take(&buffer) }
  }

  /// Writes bytes that are not lines of text (no line is counted).
  package func write(bytes: [UInt8]) throws(OutputError) {
    for run in bytes.runs(of: OutputFile.bufferSize) {
      buffer.append(contentsOf: run)
      if buffer.count >= OutputFile.bufferSize { try sink.take(&buffer) }
    }
  }

  /// Flushes, syncs to disk and closes; a file is only complete once this returns.
  /// - Returns: the SHA-256 of everything written.
  @discardableResult
  package func close() throws(OutputError) -> String {
    try sink.take(&buffer)
    return try sink.close()
  }

  /// Flushes, and hands the file to `syncs` to be synced to disk and closed while the next file is written; the file
  /// is only complete once `syncs.wait()` returns.
  ///
  /// - Parameter syncs: the files of a batch waiting to be synced.
  /// - Returns: the SHA-256 of everything written.
  /// - Throws: `OutputError` when a block could not be written.
  package func close(syncingOn syncs: FileSyncs) throws(OutputError) -> String {
    try sink.take(&buffer)
    return try sink.close(syncingOn: syncs)
  }
}

/// Files written but not yet synced to disk, synced and closed one after another on a queue of their own.
///
/// Syncing a file waits for the disk, a tenth of a second for a large one: a batch writes the next file meanwhile, and
/// waits for them all only before it is committed.
package final class FileSyncs: @unchecked Sendable {
  private let queue = DispatchQueue(label: "dynsync.syncs")
  private let group = DispatchGroup()
  /// Set only on the queue; read once the group is done.
  private var failure: OutputError?

  package init() {}

  /// Syncs and closes a file after those handed on before it.
  ///
  /// - Parameters:
  ///   - descriptor: the file's descriptor, which this takes over.
  ///   - path: the file, for errors.
  func sync(_ descriptor: Int32, path: String) {
    queue.async(group: group) {
      if fsync(descriptor) != 0, self.failure == nil { self.failure = .system(path, "fsync") }
      if Glibc.close(descriptor) != 0, self.failure == nil { self.failure = .system(path, "close") }
    }
  }

  /// Waits until every file handed on is synced and closed.
  ///
  /// - Throws: `OutputError` for the first file that could not be synced or closed.
  package func wait() throws(OutputError) {
    group.wait()
    if let failure = queue.sync(execute: { self.failure }) { throw failure }
  }
}

/// Hashes and writes the blocks of one file, one at a time, the hash and the write each on a queue of its own.
///
/// `take` hands a block on only once the block before is hashed and written, so at most one is in flight; the
/// semaphore that waits for it also orders every access to what the queues' work touches (the block, the hash, the
/// error). Both queues only read the block; the hash alone touches the hasher, the write alone the error. The two
/// run side by side because a large file's last blocks otherwise leave a core idle: lines are made on every core
/// faster than one thread can hash and write them (the write a copy into fresh page-cache pages).
private final class FileSink: @unchecked Sendable {
  let path: String
  private var descriptor: Int32
  private var hasher = SHA256()
  private let queue: DispatchQueue
  private let hashing: DispatchQueue
  private let idle = DispatchSemaphore(value: 1)
  private var failure: OutputError?
  /// The block being hashed and written; emptied once both are done, it is the buffer the writer fills next: two
  /// buffers in all.
  private var inFlight: [UInt8] = []

  init(path: String, descriptor: Int32) {
    self.path = path
    self.descriptor = descriptor
    queue = DispatchQueue(label: "dynsync.output")
    hashing = DispatchQueue(label: "dynsync.output.hash")
  }

  // No block is in flight here: the queues' work holds the sink until its block is hashed and written.
  deinit {
    if descriptor >= 0 { _ = Glibc.close(descriptor) }
  }

  /// Hands `block` on to be written, leaving an empty buffer in its place.
  ///
  /// - Parameter block: the bytes; left empty, with room for as many again.
  /// - Throws: `OutputError` when an earlier block could not be written.
  func take(_ block: inout [UInt8]) throws(OutputError) {
    idle.wait()
    if let failure {
      idle.signal()
      throw failure
    }
    guard !block.isEmpty else {
      idle.signal()
      return
    }
    swap(&inFlight, &block)
    if block.capacity < inFlight.count { block.reserveCapacity(inFlight.count) }
    let handled = DispatchGroup()
    hashing.async(group: handled) { self.hasher.update(data: self.inFlight) }
    queue.async(group: handled) { self.write(self.inFlight) }
    handled.notify(queue: queue) {
      self.inFlight.removeAll(keepingCapacity: true)
      self.idle.signal()
    }
  }

  /// Waits for the last block, then syncs and closes the file.
  ///
  /// - Returns: the SHA-256 of every byte written.
  /// - Throws: `OutputError` when a block could not be written, or the file synced or closed.
  func close() throws(OutputError) -> String {
    idle.wait()
    defer { idle.signal() }
    if let failure { throw failure }
    guard fsync(descriptor) == 0 else { throw .system(path, "fsync") }
    let result = Glibc.close(descriptor)
    descriptor = -1
    guard result == 0 else { throw .system(path, "close") }
    return FileDigest.hex(hasher.finalize())
  }

  /// Waits for the last block, then hands the file to `syncs` to be synced and closed.
  ///
  /// - Parameter syncs: the files waiting to be synced.
  /// - Returns: the SHA-256 of every byte written.
  /// - Throws: `OutputError` when a block could not be written.
  func close(syncingOn syncs: FileSyncs) throws(OutputError) -> String {
    idle.wait()
    defer { idle.signal() }
    if let failure { throw failure }
    syncs.sync(descriptor, path: path)
    descriptor = -1
    return FileDigest.hex(hasher.finalize())
  }

  private func write(_ block: [UInt8]) {
    guard failure == nil else { return }
    var offset = 0
    while offset < block.count {
      let written = block.withUnsafeBytes { bytes in
        Glibc.write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
      }
      if written < 0 {
        if errno == EINTR { continue }
        failure = .system(path, "write")
        return
      }
      offset += written
    }
  }
}
