import DynSyncCore
import Foundation

/// Where each line of a base of the state lies, with its key and the ids a run reads of it without reading the
/// line, in binary beside the base (`state/dynamics/<table>.outline`, `state/marketo/<dataset>.outline`).
///
/// A run that reads the state in part needs of most lines only that much: of a record of `MergeScope.partialTables`
/// its id and lookups, of a Marketo row its key and the ids it names (`MarketoMerge.rowIDFields`). Finding them in
/// the base's text means a look at every line, hundreds of megabytes at a million records, every run. The outline is
/// written with the base and goes where it goes (a hard link), so a run reads a few tens of megabytes instead. It is
/// only ever a shortcut: it names the base's SHA-256, size and line count, and an outline that does not match the
/// base the manifest lists, or is not well-formed, is not used; the base's text is outlined instead.
///
/// Little-endian: the magic `DYNSYNC-OUTLINE3`, the base's SHA-256 in hex (64 bytes), the base's size and line count
/// (8 bytes each), the kind of key (4 bytes: 0 an id, 1 text), the id columns (a 4-byte count, then each as a 4-byte
/// length and its UTF-8), then a line each, in the base's order: the key (an id in 16 bytes, or text as a 4-byte
/// length and its UTF-8), the line's length without its line break (4), flags (4: bit `i` for column `i` set,
/// `escapedFlag` for a line with an escape), and the ids of the columns set, 16 bytes each, in column order. A line's
/// place is where the line before it ends, past its line break.
public enum StateOutline {
  /// A line of the base, as the outline holds it.
  public struct Line<Key> {
    public var key: Key
    /// Where the line starts in the base, and its length without the line break.
    public var offset: Int
    public var length: Int
    /// Counted from 1.
    public var number: Int
    /// Whether the line has an escape in it (`StateReader` outlines only records' lines without one).
    public var isEscaped: Bool

    @usableFromInline init(key: Key, offset: Int, length: Int, number: Int, isEscaped: Bool) {
      self.key = key
      self.offset = offset
      self.length = length
      self.number = number
      self.isEscaped = isEscaped
    }
  }

  /// The outline's path beside a base's (`state/dynamics/account.outline`).
  public static func path(of basePath: String) -> String {
    (basePath.hasSuffix(".ndjson") ? String(basePath.dropLast(".ndjson".count)) : basePath) + ".outline"
  }

  /// The column of a Marketo base's outline that holds the id its key names, after `MarketoMerge.rowIDFields`.
  public static let keyColumn = "(key)"

  /// The columns of a Marketo base's outline: the ids the row names, then the one its key names.
  public static let marketoColumns = MarketoMerge.rowIDFields + [keyColumn]

  private static let magic = Array("DYNSYNC-OUTLINE3".utf8)
  @usableFromInline static let escapedFlag: UInt32 = 1 << 31

  /// Makes an outline as the base's lines are written, in order.
  public struct Builder<Key: OutlineKey> {
    private let columns: [String]
    private var entries: [UInt8] = []
    private var lines = 0
    private var size = 0

    /// - Parameters:
    ///   - columns: the id columns, in the order `add` is given their ids.
    ///   - lines: how many lines there will be, about.
    public init(columns: [String], lines: Int) {
      self.columns = columns
      entries.reserveCapacity(lines * (32 + 16 * columns.count))
    }

    /// Notes the line written for `key`.
    ///
    /// - Parameters:
    ///   - key: the line's key.
    ///   - line: the line, its line break last.
    ///   - ids: the ids of its columns, in their order (`nil`: none).
    public mutating func add(_ key: Key, line: UnsafeBufferPointer<UInt8>, ids: [GUID?]) {
      precondition(ids.count == columns.count, "an outline's line has an id for each column")
      let (length, isEscaped) = (line.count, line.contains(UInt8(ascii: "\\")))
      var flags: UInt32 = isEscaped ? StateOutline.escapedFlag : 0
      for (index, id) in ids.enumerated() where id != nil { flags |= 1 << UInt32(index) }
      key.appendOutlined(to: &entries)
      StateOutline.append(UInt32(length - 1), to: &entries)
      StateOutline.append(flags, to: &entries)
      for case let id? in ids { StateOutline.append(id, to: &entries) }
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
      StateOutline.append(Key.outlineKind, to: &head)
      StateOutline.append(UInt32(columns.count), to: &head)
      for column in columns {
        StateOutline.append(UInt32(column.utf8.count), to: &head)
        head += Array(column.utf8)
      }
      return head + entries
    }
  }

  static func append<Number: FixedWidthInteger>(_ number: Number, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: number.littleEndian) { bytes.append(contentsOf: $0) }
  }

  static func append(_ id: GUID, to bytes: inout [UInt8]) {
    append(id.high, to: &bytes)
    append(id.low, to: &bytes)
  }

  /// Whether the outline at `path` is that of `base` with these columns, by its head alone: for a base read whole,
  /// whose outline goes on with it.
  ///
  /// - Parameters:
  ///   - path: the outline file.
  ///   - base: the base's entry in its batch's manifest.
  ///   - baseSize: the size of the base file as it is on disk.
  ///   - key: the kind of key the outline must hold.
  ///   - columns: the id columns the outline must hold, in this order.
  /// - Returns: whether its head names the base, this kind of key and these columns.
  public static func matches<Key: OutlineKey>(
    at path: String, base: Manifest.Artifact, baseSize: Int, key: Key.Type, columns: [String]
  ) -> Bool {
    guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return false }
    return data.withUnsafeBytes {
      start(in: $0, base: base, baseSize: baseSize, key: Key.self, columns: columns) != nil
    }
  }

  /// Where the lines of an outline start, if its head names `base`, this kind of key and these columns.
  private static func start<Key: OutlineKey>(
    in bytes: UnsafeRawBufferPointer, base: Manifest.Artifact, baseSize: Int, key: Key.Type, columns: [String]
  ) -> Int? {
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
      let kind = number(UInt32.self), kind == Key.outlineKind,
      let columnCount = number(UInt32.self), columnCount == columns.count
    else { return nil }
    for column in columns {
      guard let length = number(UInt32.self), let name = take(Int(length)), name.elementsEqual(column.utf8) else {
        return nil
      }
    }
    return cursor
  }

  /// Reads the outline at `path`, if it is the outline of `base` with this kind of key and these columns, handing on
  /// each line and its ids (`nil` for one not set), in order.
  ///
  /// - Parameters:
  ///   - path: the outline file.
  ///   - base: the base's entry in its batch's manifest.
  ///   - baseSize: the size of the base file as it is on disk.
  ///   - columns: the id columns the outline must hold, in this order.
  ///   - line: takes each line and its ids, in the base's order.
  /// - Returns: whether the outline was read; `false` for one that is missing, of another base, kind of key or
  ///   columns, or not well-formed, in which case the caller must drop what it was handed and outline the base itself.
  @inlinable
  public static func read<Key: OutlineKey>(
    at path: String, base: Manifest.Artifact, baseSize: Int, columns: [String],
    _ line: (Line<Key>, UnsafeBufferPointer<GUID?>) -> Void
  ) -> Bool {
    guard let runs = Runs<Key>(at: path, base: base, baseSize: baseSize, columns: columns, linesPerRun: .max) else {
      return false
    }
    return runs.count == 0 || runs.read(run: 0, line) != nil
  }

  /// An outline whose head names its base, its lines' layout checked, cut into runs of lines that are each read on
  /// their own, on a core each: the persons' outline alone is a million lines, read on one core while the other had
  /// finished the other outlines.
  ///
  /// A pass over the lines that only steps from one to the next, without making their keys, checks that they add up
  /// to the base and where each run starts; that each run's keys are in order is checked as it is read, and that the
  /// runs are, from the first and last key each gives (`inOrder`).
  public struct Runs<Key: OutlineKey>: Sendable {
    @usableFromInline struct Start: Sendable {
      /// Where the run's first line starts in the outline, and in the base.
      @usableFromInline var cursor: Int
      @usableFromInline var offset: Int
      /// The lines before the run.
      @usableFromInline var linesBefore: Int
      @usableFromInline var lines: Int
    }

    // Seen by the inlined `read(run:_:)`: read generically, each key was made and dropped through the runtime's
    // witnesses.
    @usableFromInline let data: Data
    @usableFromInline let columnCount: Int
    @usableFromInline let starts: [Start]

    /// The outline at `path`, in runs; `nil` for one that is missing, of another base, kind of key or columns, or
    /// whose lines do not add up to the base.
    ///
    /// - Parameters:
    ///   - path: the outline file.
    ///   - base: the base's entry in its batch's manifest.
    ///   - baseSize: the size of the base file as it is on disk.
    ///   - columns: the id columns the outline must hold, in this order.
    ///   - linesPerRun: how many lines a run holds (the last, what is left).
    public init?(at path: String, base: Manifest.Artifact, baseSize: Int, columns: [String], linesPerRun: Int) {
      let linesPerRun = max(linesPerRun, 1)
      guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return nil }
      let starts = data.withUnsafeBytes { bytes -> [Start]? in
        guard var cursor = start(in: bytes, base: base, baseSize: baseSize, key: Key.self, columns: columns) else {
          return nil
        }
        var starts: [Start] = []
        var offset = 0
        for number in 0..<base.lines {
          if number % linesPerRun == 0 {
            starts.append(
              Start(cursor: cursor, offset: offset, linesBefore: number, lines: min(linesPerRun, base.lines - number)))
          }
          guard Key.skipOutlined(in: bytes, at: &cursor),
            let entry = StateOutline.entry(in: bytes, at: &cursor, columnCount: columns.count),
            offset + entry.length < baseSize
          else { return nil }
          offset += entry.length + 1
        }
        return offset == baseSize && cursor == bytes.count ? starts : nil
      }
      guard let starts else { return nil }
      self.data = data
      self.columnCount = columns.count
      self.starts = starts
    }

    /// How many runs there are.
    public var count: Int { starts.count }

    /// How many lines run `index` holds.
    public func lines(inRun index: Int) -> Int { starts[index].lines }

    /// Reads run `index`, handing on each line and its ids (`nil` for one not set), in order.
    ///
    /// - Returns: the run's first and last keys, for `inOrder`; `nil` when its keys are not in the base's order, in
    ///   which case the outline is not to be used.
    @inlinable
    public func read(run index: Int, _ line: (Line<Key>, UnsafeBufferPointer<GUID?>) -> Void) -> (
      first: Key, last: Key
    )? {
      let start = starts[index]
      return data.withUnsafeBytes { bytes in
        var cursor = start.cursor
        var offset = start.offset
        var ids = [GUID?](repeating: nil, count: columnCount)
        var first: Key?
        var previous: Key?
        var previousOrder: Key.OutlineOrder?
        let inOrder = ids.withUnsafeMutableBufferPointer { ids in
          for number in start.linesBefore..<start.linesBefore + start.lines {
            guard let key = Key.outlined(in: bytes, at: &cursor),
              let entry = StateOutline.entry(in: bytes, at: &cursor, columnCount: ids.count)
            else { return false }
            let order = Key.outlineOrder(of: key)
            guard previousOrder.map({ Key.outlinePrecedes($0, order) }) ?? true else { return false }
            previousOrder = order
            var place = entry.ids
            for index in ids.indices {
              guard entry.set & (1 << UInt32(index)) != 0 else {
                ids[index] = nil
                continue
              }
              ids[index] = GUID.outlined(in: bytes, at: &place)
            }
            line(
              Line(key: key, offset: offset, length: entry.length, number: number + 1, isEscaped: entry.isEscaped),
              UnsafeBufferPointer(ids))
            offset += entry.length + 1
            if first == nil { first = key }
            previous = key
          }
          return true
        }
        guard inOrder, let first, let previous else { return nil }
        return (first, previous)
      }
    }

    /// Whether runs read one after another (`read(run:_:)`, every run, in order) were each in order and follow one
    /// another in order.
    public static func inOrder(_ bounds: [(first: Key, last: Key)?]) -> Bool {
      var previous: Key?
      for bound in bounds {
        guard let bound,
          previous.map({ Key.outlinePrecedes(Key.outlineOrder(of: $0), Key.outlineOrder(of: bound.first)) }) ?? true
        else { return false }
        previous = bound.last
      }
      return true
    }
  }

  /// A line's entry past its key: the line's length and flags, and where its ids start, `cursor` moved past them;
  /// `nil` for one that sets a column there is not or runs past the outline's end.
  @inlinable static func entry(in bytes: UnsafeRawBufferPointer, at cursor: inout Int, columnCount: Int) -> (
    length: Int, set: UInt32, isEscaped: Bool, ids: Int
  )? {
    guard cursor + 8 <= bytes.count else { return nil }
    let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: cursor, as: UInt32.self)))
    let flags = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: cursor + 4, as: UInt32.self))
    let set = flags & ~escapedFlag
    let ids = cursor + 8
    guard set >> UInt32(columnCount) == 0, ids + 16 * set.nonzeroBitCount <= bytes.count else { return nil }
    cursor = ids + 16 * set.nonzeroBitCount
    return (length, set, flags & escapedFlag != 0, ids)
  }
}

/// A kind of key an outline holds (`StateOutline`): a record's id, a Marketo row's key.
public protocol OutlineKey: Sendable {
  /// How the outline's head names the kind.
  static var outlineKind: UInt32 { get }
  /// What a key is ordered by in a base, made once a key: each key is compared with the one before it and the one
  /// after.
  associatedtype OutlineOrder
  static func outlineOrder(of key: Self) -> OutlineOrder
  /// Whether one key comes before another in a base.
  static func outlinePrecedes(_ earlier: OutlineOrder, _ later: OutlineOrder) -> Bool
  /// Writes the key into an outline.
  func appendOutlined(to bytes: inout [UInt8])
  /// The key written at `place` of an outline, `place` moved past it; `nil` for one not written so.
  static func outlined(in bytes: UnsafeRawBufferPointer, at place: inout Int) -> Self?
  /// Moves `place` past the key written there without making it; `false` for one that runs past the end.
  static func skipOutlined(in bytes: UnsafeRawBufferPointer, at place: inout Int) -> Bool
}

extension GUID: OutlineKey {
  public static var outlineKind: UInt32 { 0 }

  public static func outlineOrder(of key: GUID) -> GUID { key }

  public static func outlinePrecedes(_ earlier: GUID, _ later: GUID) -> Bool { earlier < later }

  public func appendOutlined(to bytes: inout [UInt8]) { StateOutline.append(self, to: &bytes) }

  public static func skipOutlined(in bytes: UnsafeRawBufferPointer, at place: inout Int) -> Bool {
    place += 16
    return place <= bytes.count
  }

  public static func outlined(in bytes: UnsafeRawBufferPointer, at place: inout Int) -> GUID? {
    guard place + 16 <= bytes.count else { return nil }
    defer { place += 16 }
    return GUID(
      high: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: place, as: UInt64.self)),
      low: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: place + 8, as: UInt64.self)))
  }
}

extension String: OutlineKey {
  public static var outlineKind: UInt32 { 1 }

  public static func outlineOrder(of key: String) -> MarketoDataset.KeyOrder { MarketoDataset.KeyOrder(key) }

  public static func outlinePrecedes(_ earlier: MarketoDataset.KeyOrder, _ later: MarketoDataset.KeyOrder) -> Bool {
    MarketoDataset.KeyOrder.precedes(earlier, later)
  }

  public func appendOutlined(to bytes: inout [UInt8]) {
    StateOutline.append(UInt32(utf8.count), to: &bytes)
    bytes += utf8
  }

  public static func skipOutlined(in bytes: UnsafeRawBufferPointer, at place: inout Int) -> Bool {
    guard place + 4 <= bytes.count else { return false }
    place += 4 + Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: place, as: UInt32.self)))
    return place <= bytes.count
  }

  public static func outlined(in bytes: UnsafeRawBufferPointer, at place: inout Int) -> String? {
    guard place + 4 <= bytes.count else { return nil }
    let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: place, as: UInt32.self)))
    guard place + 4 + length <= bytes.count else { return nil }
    defer { place += 4 + length }
    return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[place + 4..<place + 4 + length]), as: UTF8.self)
  }
}
