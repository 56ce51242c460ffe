/// A set of ids with a bitmap of them in front, for asking of millions of ids whether they are among a few hundred
/// thousand (the merge scope's scans of every lookup, the Marketo outlines' every row).
///
/// Most ids asked about are not there, and one bit of a table of about a byte an id tells so, where a look in the set
/// hashed the id and read a bucket of a table of megabytes, seldom in the cache; only an id whose bit is set (those
/// there, and about one in eight of the others) is looked for in the set.
public struct ScreenedIDSet: Sendable {
  public let ids: Set<GUID>
  private let bits: [UInt64]
  /// 64 less the number of bits of a place in `bits`.
  private let shift: UInt64

  public init(_ ids: Set<GUID>) {
    self.ids = ids
    var width = 12
    while 1 << width < ids.count * 8 { width += 1 }
    shift = UInt64(64 - width)
    var bits = [UInt64](repeating: 0, count: (1 << width) / 64)
    for id in ids {
      let place = ScreenedIDSet.place(of: id, shift: shift)
      bits[place >> 6] |= 1 << UInt64(place & 63)
    }
    self.bits = bits
  }

  /// The top bits of the id's words multiplied: ids alike in some of their bits still spread.
  @inline(__always)
  private static func place(of id: GUID, shift: UInt64) -> Int {
    Int(truncatingIfNeeded: ((id.high ^ id.low) &* 0x9E37_79B9_7F4A_7C15) >> shift)
  }

  public func contains(_ id: GUID) -> Bool {
    let place = ScreenedIDSet.place(of: id, shift: shift)
    guard bits[place >> 6] & (1 << UInt64(place & 63)) != 0 else { return false }
    return ids.contains(id)
  }
}
