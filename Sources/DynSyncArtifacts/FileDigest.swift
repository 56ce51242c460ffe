import Crypto
import DynSyncCore
import Foundation

/// SHA-256 of files, read in chunks so that any size costs one buffer.
public enum FileDigest {
  public static func sha256(ofFile path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw InputError(file: path, reason: "cannot open to compute its SHA-256")
    }
    defer { try? handle.close() }
    var hasher = SHA256()
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
      hasher.update(data: chunk)
    }
    return hex(hasher.finalize())
  }

  /// SHA-256 of bytes that come in chunks, such as a file while it is read for another purpose.
  public struct Streaming {
    private var hasher = SHA256()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    public func hex() -> String { FileDigest.hex(hasher.finalize()) }
  }

  public static func sha256(of text: String) -> String {
    hex(SHA256.hash(data: Data(text.utf8)))
  }

  static func hex(_ digest: some Sequence<UInt8>) -> String {
    digest.map { byte in
      let text = String(byte, radix: 16)
      return text.count == 1 ? "0" + text : text
    }.joined()
  }
}
