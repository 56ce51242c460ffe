import DynSyncCore
import Foundation

/// Where each line of a base of records lies, with its id and the lookups the merge's scope looks at, in binary
/// beside the base (`state/dynamics/<table>.outline`).
///
/// A run that reads the state in part needs of most records only that much (see `MergeScope.partialTables`); finding
/// it in the base's text means a look at every line, hundreds of megabytes at a million records, every run. The
/// outline is written with the base and goes where it goes (a hard link), so a run reads a few tens of megabytes
/// instead. It is only ever a shortcut: it names the base's SHA-256, size and line count, and an outline that does
/// not match the base the manifest lists, or is not well-formed, is not used; the base's text is outlined instead.
///
/// Little-endian: the magic `DYNSYNC-OUTLINE1`, the base's SHA-256 in hex (64 bytes), the base's size and line count
/// (8 bytes each), the lookup columns (a 4-byte count, then each as a 4-byte length and its UTF-8), then a line each,
/// in the base's order: the id (16 bytes), the line's length without its line break (4), flags (4: bit `i` for
/// lookup `i` set, `escapedFlag` for a line with an escape, which the reader decodes rather than outlines), and 16
/// bytes per lookup (zero when not set). A line's place is where the line before it ends, past its line break.
public enum StateOutline {
  /// A line of the base, as the outline holds it.
  public struct Line {
    public var id: GUID
    /// Where the line starts in the base, and its length without the line break.
    public var offset: Int
    public var length: Int
    /// Counted from 1.
    public var number: Int
    /// Whether the line has an escape in it: not outlined, to be decoded (`StateReader` outlines only lines
    /// without one).
    public var isEscaped: Bool
  }

  /// The outline's path beside a base's (`state/dynamics/account.outline`).
  public static func path(of basePath: String) -> String {
    (basePath.hasSuffix(".ndjson") ? String(basePath.dropLast(".ndjson".count)) : basePath) + ".outline"
  }

  private static let magic = Array("DYNSYNC-OUTLINE1".utf8)
  private static let escapedFlag: UInt32 = 1 << 31

  /// The bytes of one line a lookup: its id, or zero.
  private static func entrySize(lookups: Int) -> Int { 24 + 16 * lookups }

  /// Makes an outline as the base's lines are written, in order.
  public struct Builder {
    private let lookups: [String]
    private var entries: [UInt8] = []
    private var lines = 0
    private var size = 0

    public init(lookups: [String], lines: Int) {
      self.lookups = lookups
      entries.reserveCapacity(lines * StateOutline.entrySize(lookups: lookups.count))
    }

    /// Notes the line written for `record`.
    ///
    /// - Parameters:
    ///   - record: the record the line is of.
    ///   - line: the line, its line break last (`StateCodec.line`).
    public mutating func add(_ record: Record, line: String) {
      var line = line
      let (length, isEscaped) = line.withUTF8 { bytes in
        (bytes.count, bytes.contains(UInt8(ascii: "\\")))
      }
      var flags: UInt32 = isEscaped ? StateOutline.escapedFlag : 0
      var targets: [GUID] = []
      targets.reserveCapacity(lookups.count)
      for (index, column) in lookups.enumerated() {
        if case .lookup(let lookup) = record.fields[column] {
          flags |= 1 << UInt32(index)
          targets.append(lookup.id)
        } else {
          targets.append(GUID(high: 0, low: 0))
        }
      }
      append(record.id)
      append(UInt32(length - 1))
      append(flags)
      for target in targets { append(target) }
      lines += 1
      size += length
    }

    /// The outline's bytes, for the base written with the lines added.
    ///
    /// - Parameter base: the base's entry in the manifest.
    /// - Returns: the bytes of the file.
    public func bytes(for base: Manifest.Artifact) -> [UInt8] {
      var head: [UInt8] = StateOutline.magic
      head += Array(base.sha256.utf8)
      StateOutline.append(UInt64(size), to: &head)
      StateOutline.append(UInt64(lines), to: &head)
      StateOutline.append(UInt32(lookups.count), to: &head)
      for column in lookups {
        StateOutline.append(UInt32(column.utf8.count), to: &head)
        head += Array(column.utf8)
      }
      return head + entries
    }

    private mutating func append(_ id: GUID) {
      StateOutline.append(id.high, to: &entries)
      StateOutline.append(id.low, to: &entries)
    }

    private mutating func append(_ number: UInt32) { StateOutline.append(number, to: &entries) }
  }

  private static func append<Number: FixedWidthInteger>(_ number: Number, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: number.littleEndian) { bytes.append(contentsOf: $0) }
  }

  /// Whether the outline at `path` is that of `base` with these lookups, by its head and size alone: for a base
  /// read whole, whose outline goes on with it.
  ///
  /// - Parameters:
  ///   - path: the outline file.
  ///   - base: the base's entry in its batch's manifest.
  ///   - baseSize: the size of the base file as it is on disk.
  ///   - lookups: the lookup columns the outline must hold, in this order.
  /// - Returns: whether its head names the base and these lookups, and it holds as many lines as the base.
  public static func matches(at path: String, base: Manifest.Artifact, baseSize: Int, lookups: [String]) -> Bool {
    guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return false }
    return data.withUnsafeBytes { entries(in: $0, base: base, baseSize: baseSize, lookups: lookups) != nil }
  }

  /// Where the lines of an outline start and how many there are, if its head names `base` and these lookups and
  /// its size is that of as many lines as the base has.
  private static func entries(
    in bytes: UnsafeRawBufferPointer, base: Manifest.Artifact, baseSize: Int, lookups: [String]
  ) -> (start: Int, count: Int)? {
    var cursor = 0
    func take(_ count: Int) -> UnsafeRawBufferPointer? {
      guard cursor + count <= bytes.count else { return nil }
      defer { cursor += count }
      return UnsafeRawBufferPointer(rebasing: bytes[cursor..<cursor + count])
    }
    func number<Number: FixedWidthInteger>(_: Number.Type) -> Number? {
      take(MemoryLayout<Number>.size).map { Number(littleEndian: $0.loadUnaligned(as: Number.self)) }
    }
    guard let head = take(magic.count), head.elementsEqual(magic),
      let digest = take(64), digest.elementsEqual(base.sha256.utf8),
      let size = number(UInt64.self), size == baseSize,
      let count = number(UInt64.self), count == base.lines,
      let columns = number(UInt32.self), columns == lookups.count
    else { return nil }
    for column in lookups {
      guard let length = number(UInt32.self), let name = take(Int(length)), name.elementsEqual(column.utf8) else {
        return nil
      }
    }
    guard bytes.count - cursor == Int(count) * entrySize(lookups: lookups.count) else { return nil }
    return (cursor, Int(count))
  }

  /// Reads the outline at `path`, if it is the outline of `base` with these lookups, handing on each line and its
  /// lookups (`nil` for one not set), in order.
  ///
  /// - Parameters:
  ///   - path: the outline file.
  ///   - base: the base's entry in its batch's manifest.
  ///   - baseSize: the size of the base file as it is on disk.
  ///   - lookups: the lookup columns the outline must hold, in this order.
  ///   - line: takes each line and its lookups, in the base's order.
  /// - Returns: whether the outline was read; `false` for one that is missing, of another base or other lookups, or
  ///   not well-formed, in which case the caller must drop what it was handed and outline the base itself.
  public static func read(
    at path: String, base: Manifest.Artifact, baseSize: Int, lookups: [String],
    _ line: (Line, UnsafeBufferPointer<GUID?>) -> Void
  ) -> Bool {
    guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return false }
    return data.withUnsafeBytes { bytes in
      guard let (start, count) = entries(in: bytes, base: base, baseSize: baseSize, lookups: lookups) else {
        return false
      }
      let entrySize = entrySize(lookups: lookups.count)
      var targets = [GUID?](repeating: nil, count: lookups.count)
      var offset = 0
      var previous: GUID?
      return targets.withUnsafeMutableBufferPointer { targets in
        for number in 0..<count {
          let place = start + number * entrySize
          func word(_ at: Int) -> UInt64 {
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: place + at, as: UInt64.self))
          }
          let id = GUID(high: word(0), low: word(8))
          let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: place + 16, as: UInt32.self)))
          let flags = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: place + 20, as: UInt32.self))
          guard previous.map({ $0 < id }) ?? true, offset + length < baseSize else { return false }
          for index in targets.indices {
            targets[index] =
              flags & (1 << UInt32(index)) == 0 ? nil : GUID(high: word(24 + 16 * index), low: word(32 + 16 * index))
          }
          line(
            Line(id: id, offset: offset, length: length, number: number + 1, isEscaped: flags & escapedFlag != 0),
            UnsafeBufferPointer(targets))
          offset += length + 1
          previous = id
        }
        return offset == baseSize
      }
    }
  }
}
