import Crypto
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
package final class OutputFile {
  let path: String
  private var descriptor: Int32
  private var buffer: [UInt8] = []
  private var hasher = SHA256()
  private(set) var lines = 0
  private static let bufferSize = 1 << 20

  package init(path: String) throws(OutputError) {
    self.path = path
    descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw .system(path, "create") }
    buffer.reserveCapacity(OutputFile.bufferSize)
  }

  deinit {
    if descriptor >= 0 { _ = Glibc.close(descriptor) }
  }

  package func write(_ text: String) throws(OutputError) {
    var text = text
    text.withUTF8 { utf8 in
      for byte in utf8 where byte == UInt8(ascii: "\n") { lines += 1 }
      buffer.append(contentsOf: utf8)
    }
    if buffer.count >= OutputFile.bufferSize { try flush() }
  }

  private func flush() throws(OutputError) {
    hasher.update(data: buffer)
    var offset = 0
    while offset < buffer.count {
      let written = buffer.withUnsafeBytes { bytes in
        Glibc.write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
      }
      if written < 0 {
        if errno == EINTR { continue }
        throw .system(path, "write")
      }
      offset += written
    }
    buffer.removeAll(keepingCapacity: true)
  }

  /// Flushes, syncs to disk and closes; a file is only complete once this returns.
  /// - Returns: the SHA-256 of everything written.
  @discardableResult
  package func close() throws(OutputError) -> String {
    try flush()
    guard fsync(descriptor) == 0 else { throw .system(path, "fsync") }
    let result = Glibc.close(descriptor)
    descriptor = -1
    guard result == 0 else { throw .system(path, "close") }
    return FileDigest.hex(hasher.finalize())
  }
}
