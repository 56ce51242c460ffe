extension StringProtocol {
  /// Runs `body` on the text's UTF-8 bytes: in place when the text is stored contiguously (native
  /// strings and their substrings, all there is in practice), else on a copy.
  ///
  /// - Parameter body: Reads the bytes; they are valid only during the call.
  /// - Returns: What `body` returns.
  /// - Throws: What `body` throws.
  // Inlinable so that a reader in another module gets it specialized: called generically, each call looked up the
  // metadata of its result type in the runtime's tables, about a tenth of reading a state.
  @inlinable
  public func withUTF8Bytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
    if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
    return try Array(utf8).withUnsafeBufferPointer(body)
  }
}
