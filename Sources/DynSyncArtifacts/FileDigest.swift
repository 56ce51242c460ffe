import Crypto
import DynSyncCore
import Foundation

/// SHA-256 of files, read in chunks so that any size costs one buffer.
public enum FileDigest {
  public static func sha256(ofFile path: String) throws(InputError) -> String {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw InputError(file: path, reason: "cannot open to compute its SHA-256") }
    defer { _ = close(descriptor) }
    guard let digest = try sha256(ofDescriptor: descriptor, path: path, until: { false }) else {
      preconditionFailure("a digest never stopped ended without one")
    }
    return digest
  }

  /// SHA-256 of the file open at `descriptor` (`path` names it in errors), from where it is read to its end, a
  /// megabyte at a time; `nil` once `stop` says so, asked before each read.
  public static func sha256(ofDescriptor descriptor: Int32, path: String, until stop: () -> Bool) throws(InputError)
    -> String?
  {
    let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    defer { block.deallocate() }
    var digest = Streaming()
    while true {
      if stop() { return nil }
      let count = read(descriptor, block.baseAddress, block.count)
      if count < 0 {
        if errno == EINTR { continue }
        throw InputError(file: path, reason: "cannot read to compute its SHA-256")
      }
      if count == 0 { return digest.hex() }
      digest.update(UnsafeRawBufferPointer(rebasing: block[0..<count]))
    }
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
