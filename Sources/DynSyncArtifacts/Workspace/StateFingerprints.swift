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
    /// Sorted by id.
    public var rows: [(id: GUID, fingerprint: Fingerprint)]

    public init(context: String, rows: [(id: GUID, fingerprint: Fingerprint)]) {
      self.context = context
      self.rows = rows
    }

    public static func == (lhs: Table, rhs: Table) -> Bool {
      lhs.context == rhs.context
        && lhs.rows.elementsEqual(rhs.rows) { $0.id == $1.id && $0.fingerprint == $1.fingerprint }
    }

    /// Removes the rows of `ids` (sorted), walked beside the rows, which are sorted too: a look-up for each of a
    /// table's hundreds of thousands of rows was most of the work.
    public mutating func removeRows(of ids: [GUID]) {
      guard !ids.isEmpty else { return }
      var kept = 0
      var cursor = 0
      for index in rows.indices {
        let id = rows[index].id
        while cursor < ids.count, ids[cursor] < id { cursor += 1 }
        if cursor < ids.count, ids[cursor] == id { continue }
        rows[kept] = rows[index]
        kept += 1
      }
      rows.removeLast(rows.count - kept)
    }

    /// The fingerprint of the row of `id`, if the table has one.
    public func fingerprint(of id: GUID) -> Fingerprint? {
      rows.placeInSorted(of: id, by: \.id).map { rows[$0].fingerprint }
    }

    /// The ids whose fingerprints differ in `later`, or that only one of the two tables has, as text.
    ///
    /// They are what an overlay of `later` over this table holds. Both tables are walked side by side, in id order.
    ///
    /// - Parameter later: the table the next batch leaves, in the same context.
    /// - Returns: the ids as `GUID.description` writes them.
    public func changedIDs(to later: Table) -> Set<String> {
      // At least as many as the tables' sizes differ by: a delta's removals, tens of thousands.
      var changed = Set<String>(minimumCapacity: abs(rows.count - later.rows.count))
      var left = 0
      var right = 0
      while left < rows.count || right < later.rows.count {
        if right == later.rows.count || (left < rows.count && rows[left].id < later.rows[right].id) {
          changed.insert(rows[left].id.description)
          left += 1
        } else if left == rows.count || later.rows[right].id < rows[left].id {
          changed.insert(later.rows[right].id.description)
          right += 1
        } else {
          if rows[left].fingerprint != later.rows[right].fingerprint { changed.insert(rows[left].id.description) }
          left += 1
          right += 1
        }
      }
      return changed
    }
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

  private static let lineLength = 66

  /// Reads a table's file back, and its overlay beside it if there is one; `nil` for one that does not read back
  /// whole (its rows are then decoded, and it is written whole).
  public static func table(at path: String) -> ReadBack? {
    // Mapped, as outlines are read: a million rows' fingerprints are tens of megabytes, which a read copied into
    // fresh memory first.
    guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return nil }
    let base = data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Table? in
      guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")),
        let context = try? JSONDecoder().decode(String.self, from: Data(bytes[..<newline]))
      else { return nil }
      let lines = UnsafeRawBufferPointer(rebasing: bytes[(newline + 1)...])
      var rows: [(id: GUID, fingerprint: Fingerprint)] = []
      rows.reserveCapacity(lines.count / lineLength)
      let wellFormed = forEachLine(in: lines, removals: false) { id, fingerprint in
        if let fingerprint { rows.append((id, fingerprint)) }
      }
      return wellFormed ? Table(context: context, rows: rows) : nil
    }
    guard let base else { return nil }
    let overlayPath = StateLayers.overlayPath(of: path)
    guard FileManager.default.fileExists(atPath: overlayPath) else {
      return ReadBack(table: base, baseLines: base.rows.count + 1)
    }
    guard let overlayData = FileManager.default.contents(atPath: overlayPath) else { return nil }
    var overlay: [Row] = []
    let wellFormed = overlayData.withUnsafeBytes { bytes in
      overlay.reserveCapacity(bytes.count / lineLength)
      return forEachLine(in: bytes, removals: true) { id, fingerprint in overlay.append((id, fingerprint)) }
    }
    guard wellFormed else { return nil }
    return ReadBack(
      table: Table(context: base.context, rows: laid(overlay, over: base.rows)), baseLines: base.rows.count + 1,
      overlayKeys: Set(overlay.map(\.id.description)))
  }

  private typealias Row = (id: GUID, fingerprint: Fingerprint?)

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
      guard position + lineLength <= bytes.count, bytes[position + 32] == UInt8(ascii: " "),
        bytes[position + 65] == UInt8(ascii: "\n"), let idHigh = GUID.hexNumber(in: bytes, at: position),
        let idLow = GUID.hexNumber(in: bytes, at: position + 16)
      else { return false }
      let id = GUID(high: idHigh, low: idLow)
      guard last.map({ $0 < id }) ?? true else { return false }
      last = id
      if let high = GUID.hexNumber(in: bytes, at: position + 33), let low = GUID.hexNumber(in: bytes, at: position + 49)
      {
        body(id, Fingerprint(high: high, low: low))
      } else if removals, bytes[(position + 33)..<(position + 65)].allSatisfy({ $0 == UInt8(ascii: "-") }) {
        body(id, nil)
      } else {
        return false
      }
      position += lineLength
    }
    return true
  }

  /// The rows of a base with those of its overlay laid over them, both in id order.
  private static func laid(_ overlay: [Row], over base: [(id: GUID, fingerprint: Fingerprint)]) -> [(
    id: GUID, fingerprint: Fingerprint
  )] {
    var rows: [(id: GUID, fingerprint: Fingerprint)] = []
    rows.reserveCapacity(base.count + overlay.count)
    var cursor = 0
    for row in base {
      while cursor < overlay.count, overlay[cursor].id < row.id {
        if let fingerprint = overlay[cursor].fingerprint { rows.append((overlay[cursor].id, fingerprint)) }
        cursor += 1
      }
      if cursor < overlay.count, overlay[cursor].id == row.id {
        if let fingerprint = overlay[cursor].fingerprint { rows.append((row.id, fingerprint)) }
        cursor += 1
      } else {
        rows.append(row)
      }
    }
    for row in overlay[cursor...] {
      if let fingerprint = row.fingerprint { rows.append((row.id, fingerprint)) }
    }
    return rows
  }

  private static let digits = Array("0123456789abcdef".utf8)

  private static func hex(_ value: UInt64, into bytes: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
    for index in 0..<16 { bytes[start + index] = digits[Int((value >> UInt64(60 - 4 * index)) & 0xF)] }
  }

}
