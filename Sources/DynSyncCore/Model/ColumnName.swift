/// A column name as a key of a set or dictionary that is looked up for every column of every record.
///
/// An ASCII name (every Dataverse logical name is one) is hashed from its bytes, eight at a time, with a
/// multiplication each and the table's seed, rather than with SipHash: a lookup of a mapping's column cost about 400
/// instructions, most of them hashing. Any other name is hashed as its string is, so that names equal as strings
/// (canonically equivalent) hash alike; one equal to an ASCII name (`asciiEquivalent`) hashes as that name does.
public struct ColumnName: Hashable, Sendable {
  public let name: String

  public init(_ name: String) { self.name = name }

  public static func == (lhs: ColumnName, rhs: ColumnName) -> Bool { lhs.name == rhs.name }

  public func hash(into hasher: inout Hasher) { hasher.combine(name) }

  public func _rawHashValue(seed: Int) -> Int {
    let key = UInt64(UInt(bitPattern: seed))
    let ascii: UInt64? = name.withUTF8Bytes { text in
      let bytes = UnsafeRawBufferPointer(text)
      var state = key ^ WyHash.secrets.0 ^ UInt64(bytes.count)
      var offset = 0
      while offset < bytes.count {
        var word: UInt64 = 0
        if bytes.count - offset >= 8 {
          word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        } else {
          withUnsafeMutableBytes(of: &word) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset...])) }
        }
        guard word & 0x8080_8080_8080_8080 == 0 else { return nil }
        state = WyHash.mix(state ^ word, WyHash.secrets.1)
        offset += 8
      }
      return state
    }
    guard let ascii else {
      if let spelled = ColumnName.asciiEquivalent(of: name) { return ColumnName(spelled)._rawHashValue(seed: seed) }
      var hasher = Hasher()
      hasher.combine(seed)
      hasher.combine(name)
      return hasher.finalize()
    }
    return Int(truncatingIfNeeded: WyHash.mix(ascii ^ key, WyHash.secrets.2))
  }

  /// The ASCII name a name that is not ASCII equals as a string, if any.
  ///
  /// Three characters are canonically the same as an ASCII one, each its own decomposition: U+037E GREEK QUESTION MARK
  /// is ";", U+1FEF GREEK VARIA "`", U+212A KELVIN SIGN "K" (every other one that decomposes takes a combining mark,
  /// which is not ASCII). So a name of those and ASCII equals the name with them spelled in ASCII, and no other name
  /// that is not ASCII equals an ASCII one.
  static func asciiEquivalent(of name: String) -> String? {
    var spelled = String.UnicodeScalarView()
    for scalar in name.unicodeScalars {
      switch scalar.value {
      case 0..<0x80: spelled.append(scalar)
      case 0x037E: spelled.append(";")
      case 0x1FEF: spelled.append("`")
      case 0x212A: spelled.append("K")
      default: return nil
      }
    }
    return String(spelled)
  }
}
