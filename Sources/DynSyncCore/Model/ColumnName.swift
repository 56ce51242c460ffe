/// A column name as a key of a set or dictionary that is looked up for every column of every record.
///
/// An ASCII name (every Dataverse logical name is one) is hashed from its bytes, eight at a time, with a
/// multiplication each and the table's seed, rather than with SipHash: a lookup of a mapping's column cost about 400
/// instructions, most of them hashing. Any other name is hashed as its string is, so that names equal as strings
/// (canonically equivalent) hash alike: an ASCII name equals no name that is not ASCII.
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
      var hasher = Hasher()
      hasher.combine(seed)
      hasher.combine(name)
      return hasher.finalize()
    }
    return Int(truncatingIfNeeded: WyHash.mix(ascii ^ key, WyHash.secrets.2))
  }
}
