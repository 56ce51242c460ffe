import DynSyncCore
import Foundation

/// The fingerprints of the export rows a state's records were read from, per table.
///
/// The next `sync` compares them with its export's: a row exported byte for byte the same, in the same decoding
/// context, is the record the state already holds, and is never decoded. A table without fingerprints (a state
/// written before dynsync kept them, or from an export only a full read handles) has every row decoded.
public struct StateFingerprints: Sendable, Equatable {
  public struct Table: Sendable, Equatable {
    /// What decoding a row depends on besides its bytes (formats, page contexts, a CMT schema's digest): rows are
    /// only compared with fingerprints taken in the same context.
    public var context: String
    private var source: Source

    /// Where a table's rows are.
    private enum Source: Sendable {
      case rows([(id: GUID, fingerprint: Fingerprint)])
      /// A table's file as read back (`StateFingerprints.table(at:)`), less the rows of `removed` (sorted).
      ///
      /// A change-tracking delta only takes rows out of a table, and writes an overlay of the rows it took: the
      /// file made into a list of a million rows at the start of every run, then walked twice to take the rows out
      /// and to find them again, was a tenth of the work of laying the delta over the state. Its rows are made only
      /// for a full export or a table written whole.
      case file(FileRows, removed: [GUID])
    }

    public init(context: String, rows: [(id: GUID, fingerprint: Fingerprint)]) {
      self.context = context
      source = .rows(rows)
    }

    fileprivate init(context: String, file: FileRows) {
      self.context = context
      source = .file(file, removed: [])
    }

    /// Sorted by id.
    public var rows: [(id: GUID, fingerprint: Fingerprint)] {
      get {
        switch source {
        case .rows(let rows): return rows
        case .file(let file, let removed):
          var rows = file.rows
          StateFingerprints.remove(removed, from: &rows)
          return rows
        }
      }
      set { source = .rows(newValue) }
    }

    /// How many rows the table has, or about as many (a file's rows are not counted one by one): the cost of work
    /// on the table, for sharing it out between cores.
    public var approximateCount: Int {
      switch source {
      case .rows(let rows): return rows.count
      case .file(let file, let removed): return max(file.baseCount + file.overlay.count - removed.count, 0)
      }
    }

    public static func == (lhs: Table, rhs: Table) -> Bool {
      lhs.context == rhs.context
        && lhs.rows.elementsEqual(rhs.rows) { $0.id == $1.id && $0.fingerprint == $1.fingerprint }
    }

    /// Removes the rows of `ids` (sorted), walked beside the rows, which are sorted too: a look-up for each of a
    /// table's hundreds of thousands of rows was most of the work.
    public mutating func removeRows(of ids: [GUID]) {
      guard !ids.isEmpty else { return }
      switch source {
      case .file(let file, let removed):
        source = .file(file, removed: StateFingerprints.union(removed, ids))
      case .rows(var rows):
        // Let go of by the table first, so that the rows are changed in place.
        source = .rows([])
        StateFingerprints.remove(ids, from: &rows)
        source = .rows(rows)
      }
    }

    /// The fingerprint of the row of `id`, if the table has one.
    public func fingerprint(of id: GUID) -> Fingerprint? {
      switch source {
      case .rows(let rows): return rows.placeInSorted(of: id, by: \.id).map { rows[$0].fingerprint }
      case .file(let file, let removed):
        return removed.placeInSorted(of: id, by: { $0 }) == nil ? file.fingerprint(of: id) : nil
      }
    }

    /// The ids whose fingerprints differ in `later`, or that only one of the two tables has, as text.
    ///
    /// They are what an overlay of `later` over this table holds. Both tables are walked side by side, in id order;
    /// when both are one file less some rows, only the rows removed from one and not the other are looked at.
    ///
    /// - Parameter later: the table the next batch leaves, in the same context.
    /// - Returns: the ids as `GUID.description` writes them.
    public func changedIDs(to later: Table) -> Set<String> {
      if case .file(let file, let removed) = source, case .file(let laterFile, let laterRemoved) = later.source,
        file === laterFile
      {
        var changed = Set<String>()
        StateFingerprints.forEachInOne(removed, laterRemoved) { id in
          if file.fingerprint(of: id) != nil { changed.insert(id.description) }
        }
        return changed
      }
      let rows = self.rows
      let laterRows = later.rows
      // At least as many as the tables' sizes differ by: a delta's removals, tens of thousands.
      var changed = Set<String>(minimumCapacity: abs(rows.count - laterRows.count))
      forEachSortedPairing(
        rows.count, laterRows.count, same: { rows[$0].id == laterRows[$1].id },
        precedes: { rows[$0].id < laterRows[$1].id },
        each: { pairing in
          switch pairing {
          case .first(let left): changed.insert(rows[left].id.description)
          case .second(let right): changed.insert(laterRows[right].id.description)
          case .both(let left, let right):
            if rows[left].fingerprint != laterRows[right].fingerprint { changed.insert(rows[left].id.description) }
          }
        })
      return changed
    }
  }

  /// A table's file mapped, its overlay read: rows are parsed from their lines where they lie when one is looked
  /// for, and all of them, once, when the table is wanted whole.
  ///
  /// The base's lines are not all checked when it is read back: a line that does not read, or lines out of order,
  /// only make rows look absent, and an absent fingerprint only has its row decoded and compared. Its fingerprints
  /// pair with no other id than their own line's, so no damage makes a changed row look unchanged.
  fileprivate final class FileRows: @unchecked Sendable {
    /// The file, and its bytes mapped, whose lines of rows start at `linesStart`.
    private let path: String
    private let mapped: MappedFile
    private var bytes: UnsafeRawBufferPointer { mapped.bytes }
    private let linesStart: Int
    /// How many lines of rows the base has.
    let baseCount: Int
    /// Sorted by id; `nil` for a row the overlay removes.
    let overlay: [Row]
    private let lock = NSLock()
    private var laid: [(id: GUID, fingerprint: Fingerprint)]?

    init(path: String, mapped: MappedFile, linesStart: Int, baseCount: Int, overlay: [Row]) {
      self.path = path
      self.mapped = mapped
      self.linesStart = linesStart
      self.baseCount = baseCount
      self.overlay = overlay
    }

    /// The fingerprint of the row of `id`: the overlay's line of it, else the base's.
    func fingerprint(of id: GUID) -> Fingerprint? {
      if let place = overlay.placeInSorted(of: id, by: \.id) { return overlay[place].fingerprint }
      // The id's digits as the lines spell them (lower case, the high word first) order as the ids do: each line
      // looked at is one comparison of its first 32 bytes, and only the line found is read.
      return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digits in
        StateFingerprints.hex(id.high, into: digits, at: 0)
        StateFingerprints.hex(id.low, into: digits, at: 16)
        guard let lines = bytes.baseAddress.map({ $0 + linesStart }), let key = digits.baseAddress else { return nil }
        var low = 0
        var high = baseCount
        while low < high {
          let middle = (low + high) / 2
          let order = memcmp(lines + middle * StateFingerprints.lineLength, key, 32)
          if order == 0 {
            let line = UnsafeRawBufferPointer(rebasing: bytes[(linesStart + middle * StateFingerprints.lineLength)...])
            return StateFingerprints.row(in: line, at: 0, removals: false)?.fingerprint
          }
          if order < 0 { low = middle + 1 } else { high = middle }
        }
        return nil
      }
    }

    /// Every row, the overlay laid over the base, made once (a full export compares them, then writes them).
    var rows: [(id: GUID, fingerprint: Fingerprint)] {
      lock.lock()
      defer { lock.unlock() }
      if let laid { return laid }
      var base: [(id: GUID, fingerprint: Fingerprint)] = []
      base.reserveCapacity(baseCount)
      // Read a block at a time rather than through the mapping: every page of a mapped file read is counted in
      // the process's memory while it stays mapped, tens of megabytes at the peak of a full export.
      let linesABlock = 16_384
      let handle = FileHandle(forReadingAtPath: path)
      defer { try? handle?.close() }
      var left = (try? handle?.seek(toOffset: UInt64(linesStart))) == nil ? 0 : baseCount
      while left > 0, let block = try? handle?.read(upToCount: min(left, linesABlock) * StateFingerprints.lineLength),
        block.count >= StateFingerprints.lineLength
      {
        let lines = block.count / StateFingerprints.lineLength
        block.withUnsafeBytes { bytes in
          for line in 0..<lines {
            if let row = StateFingerprints.row(in: bytes, at: line * StateFingerprints.lineLength, removals: false),
              let fingerprint = row.fingerprint
            {
              base.append((row.id, fingerprint))
            }
          }
        }
        left -= lines
      }
      // Damaged lines out of order: the rows sorted, an id kept once, so that the walks by id still hold.
      if !zip(base, base.dropFirst()).allSatisfy({ $0.id < $1.id }) {
        var unique: [GUID: Fingerprint] = [:]
        for row in base { unique[row.id] = row.fingerprint }
        base = unique.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
      }
      let made = StateFingerprints.laid(overlay, over: base)
      laid = made
      return made
    }
  }

  /// Removes the rows of `ids` (sorted) from `rows` (sorted), walked side by side.
  private static func remove(_ ids: [GUID], from rows: inout [(id: GUID, fingerprint: Fingerprint)]) {
    guard !ids.isEmpty else { return }
    // Kept in place: each row kept moves to the first place not kept, which the walk has passed.
    var kept = 0
    forEachSortedPairing(
      rows.count, ids.count, same: { rows[$0].id == ids[$1] }, precedes: { rows[$0].id < ids[$1] },
      each: {
        guard case .first(let index) = $0 else { return }
        rows[kept] = rows[index]
        kept += 1
      })
    rows.removeLast(rows.count - kept)
  }

  /// The ids of two sorted lists together, each once, sorted.
  private static func union(_ left: [GUID], _ right: [GUID]) -> [GUID] {
    guard !left.isEmpty else { return right }
    var merged: [GUID] = []
    merged.reserveCapacity(left.count + right.count)
    forEachSortedPairing(
      left.count, right.count, same: { left[$0] == right[$1] }, precedes: { left[$0] < right[$1] },
      each: {
        switch $0 {
        case .first(let index), .both(let index, _): merged.append(left[index])
        case .second(let index): merged.append(right[index])
        }
      })
    return merged
  }

  /// Hands `body` each id that only one of two sorted lists holds.
  private static func forEachInOne(_ left: [GUID], _ right: [GUID], _ body: (GUID) -> Void) {
    forEachSortedPairing(
      left.count, right.count, same: { left[$0] == right[$1] }, precedes: { left[$0] < right[$1] },
      each: {
        switch $0 {
        case .first(let index): body(left[index])
        case .second(let index): body(right[index])
        case .both: break
        }
      })
  }

  /// A table's file read back, its overlay laid over it, and how it was laid down.
  public struct ReadBack: Sendable {
    public var table: Table
    /// The lines of the base: its context line and a line a row.
    public var baseLines: Int
    /// The ids the overlay holds, as text; `nil` when there is none.
    public var overlayKeys: Set<String>?
  }

  public var tables: [String: Table] = [:]

  public init(tables: [String: Table] = [:]) {
    self.tables = tables
  }

  /// The folder of a state that holds a file per table.
  public static let folder = "state/fingerprints"

  /// A table's file, from the batch folder.
  public static func path(of entity: String) -> String { folder + "/" + BatchWriter.safeFileName(entity) + ".txt" }

  /// A table's file: its context as a JSON string on the first line, then `<id> <fingerprint>` a line, in hex.
  ///
  /// An overlay has the lines of the ids changed since its base (in the base's context) and, for an id gone, its id
  /// and dashes.
  static func contextLine(_ context: String) -> String { JSONText.string(context) + "\n" }

  static func line(_ row: (id: GUID, fingerprint: Fingerprint)) -> String { line(id: row.id, row.fingerprint) }

  /// The line of `id` and its fingerprint; without one, an overlay's removal line.
  static func line(id: GUID, _ fingerprint: Fingerprint?) -> String {
    String(unsafeUninitializedCapacity: lineLength) { bytes in
      hex(id.high, into: bytes, at: 0)
      hex(id.low, into: bytes, at: 16)
      bytes[32] = UInt8(ascii: " ")
      if let fingerprint {
        hex(fingerprint.high, into: bytes, at: 33)
        hex(fingerprint.low, into: bytes, at: 49)
      } else {
        for index in 33..<65 { bytes[index] = UInt8(ascii: "-") }
      }
      bytes[65] = UInt8(ascii: "\n")
      return lineLength
    }
  }

  static let lineLength = 66

  /// Reads a table's file back, and its overlay beside it if there is one; `nil` for one that does not read back
  /// whole (its rows are then decoded, and it is written whole).
  public static func table(at path: String) -> ReadBack? {
    // Only the lines a run looks for are read (see `FileRows`).
    guard let mapped = MappedFile(path) else { return nil }
    let bytes = mapped.bytes
    guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")),
      let context = try? JSONDecoder().decode(String.self, from: Data(bytes[..<newline])),
      (bytes.count - newline - 1) % lineLength == 0
    else { return nil }
    let linesStart = newline + 1
    let baseCount = (bytes.count - linesStart) / lineLength
    let overlayPath = StateLayers.overlayPath(of: path)
    var overlay: [Row] = []
    var overlayKeys: Set<String>?
    if FileManager.default.fileExists(atPath: overlayPath) {
      guard let overlayData = FileManager.default.contents(atPath: overlayPath) else { return nil }
      let wellFormed = overlayData.withUnsafeBytes { bytes in
        overlay.reserveCapacity(bytes.count / lineLength)
        return forEachLine(in: bytes, removals: true) { id, fingerprint in overlay.append((id, fingerprint)) }
      }
      guard wellFormed else { return nil }
      overlayKeys = Set(overlay.map(\.id.description))
    }
    let file = FileRows(path: path, mapped: mapped, linesStart: linesStart, baseCount: baseCount, overlay: overlay)
    return ReadBack(table: Table(context: context, file: file), baseLines: baseCount + 1, overlayKeys: overlayKeys)
  }

  /// The bytes of a file, mapped read-only, as outlines are read (a million rows' fingerprints are tens of megabytes,
  /// which a read copied into fresh memory first), and unmapped when the last table that reads them goes.
  ///
  /// Mapped here rather than through `Data`: a table is held to the end of a run, and `Data` keeps its mapping
  /// behind a reference the leak checker cannot follow.
  fileprivate final class MappedFile: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer

    /// `nil` for a file that is empty or does not open.
    init?(_ path: String) {
      let descriptor = open(path, O_RDONLY | O_CLOEXEC)
      guard descriptor >= 0 else { return nil }
      defer { close(descriptor) }
      var status = stat()
      guard fstat(descriptor, &status) == 0, status.st_size > 0,
        let start = mmap(nil, Int(status.st_size), PROT_READ, MAP_PRIVATE, descriptor, 0), start != MAP_FAILED
      else { return nil }
      bytes = UnsafeRawBufferPointer(start: start, count: Int(status.st_size))
    }

    deinit {
      if let start = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: start), bytes.count) }
    }
  }

  fileprivate typealias Row = (id: GUID, fingerprint: Fingerprint?)

  /// Hands each line of a file after its context line to `body`: its id, and its fingerprint (`nil` for a removal,
  /// where `removals` allows them).
  ///
  /// - Returns: `false` when a line is not one of them, or the ids do not rise strictly.
  private static func forEachLine(
    in bytes: UnsafeRawBufferPointer, removals: Bool, _ body: (GUID, Fingerprint?) -> Void
  ) -> Bool {
    var last: GUID?
    var position = 0
    while position < bytes.count {
      guard let row = row(in: bytes, at: position, removals: removals), last.map({ $0 < row.id }) ?? true else {
        return false
      }
      last = row.id
      body(row.id, row.fingerprint)
      position += lineLength
    }
    return true
  }

  /// The row of the line at `position`: its id, and its fingerprint (`nil` for a removal, where `removals` allows
  /// them); `nil` when the bytes there are not such a line.
  fileprivate static func row(in bytes: UnsafeRawBufferPointer, at position: Int, removals: Bool) -> Row? {
    guard position >= 0, position + lineLength <= bytes.count, bytes[position + 32] == UInt8(ascii: " "),
      bytes[position + 65] == UInt8(ascii: "\n"), let idHigh = GUID.hexNumber(in: bytes, at: position),
      let idLow = GUID.hexNumber(in: bytes, at: position + 16)
    else { return nil }
    let id = GUID(high: idHigh, low: idLow)
    if let high = GUID.hexNumber(in: bytes, at: position + 33), let low = GUID.hexNumber(in: bytes, at: position + 49) {
      return (id, Fingerprint(high: high, low: low))
    }
    guard removals, bytes[(position + 33)..<(position + 65)].allSatisfy({ $0 == UInt8(ascii: "-") }) else {
      return nil
    }
    return (id, nil)
  }

  /// The rows of a base with those of its overlay laid over them, both in id order.
  fileprivate static func laid(_ overlay: [Row], over base: [(id: GUID, fingerprint: Fingerprint)]) -> [(
    id: GUID, fingerprint: Fingerprint
  )] {
    var rows: [(id: GUID, fingerprint: Fingerprint)] = []
    rows.reserveCapacity(base.count + overlay.count)
    // An overlay's row without a fingerprint is its id's removal.
    forEachSortedPairing(
      base.count, overlay.count, same: { base[$0].id == overlay[$1].id }, precedes: { base[$0].id < overlay[$1].id },
      each: { pairing in
        switch pairing {
        case .first(let kept): rows.append(base[kept])
        case .second(let laid), .both(_, let laid):
          if let fingerprint = overlay[laid].fingerprint { rows.append((overlay[laid].id, fingerprint)) }
        }
      })
    return rows
  }

  private static let digits = Array("0123456789abcdef".utf8)

  fileprivate static func hex(_ value: UInt64, into bytes: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
    for index in 0..<16 { bytes[start + index] = digits[Int((value >> UInt64(60 - 4 * index)) & 0xF)] }
  }

}
