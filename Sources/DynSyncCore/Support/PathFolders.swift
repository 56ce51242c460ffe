extension String {
  /// The folder part of the path: what comes before its last component, "" for a bare name and "/"
  /// for a name in the root, as `NSString.deletingLastPathComponent` gives it.
  ///
  /// Foundation's own stops the process on Linux for a one-letter name with no folder (`--out b`),
  /// so every path dynsync takes apart goes through this one.
  public var parentFolder: String {
    let slash = UInt8(ascii: "/")
    let bytes = Array(utf8)
    var end = bytes.count
    // Trailing slashes name the same folder; the root's own stays.
    while end > 1, bytes[end - 1] == slash { end -= 1 }
    guard var folderEnd = bytes[..<end].lastIndex(of: slash) else { return "" }
    while folderEnd > 0, bytes[folderEnd - 1] == slash { folderEnd -= 1 }
    if folderEnd == 0 { return bytes.first == slash ? "/" : "" }
    return String(decoding: bytes[..<folderEnd], as: UTF8.self)
  }
}
