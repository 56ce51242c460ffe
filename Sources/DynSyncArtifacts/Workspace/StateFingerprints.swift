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
  static func contextLine(_ context: String) -> String { JSONText.string(context) + "\n" }

  static func line(_ row: (id: GUID, fingerprint: Fingerprint)) -> String {
    String(unsafeUninitializedCapacity: 66) { bytes in
      hex(row.id.high, into: bytes, at: 0)
      hex(row.id.low, into: bytes, at: 16)
      bytes[32] = UInt8(ascii: " ")
      hex(row.fingerprint.high, into: bytes, at: 33)
      hex(row.fingerprint.low, into: bytes, at: 49)
      bytes[65] = UInt8(ascii: "\n")
      return 66
    }
  }

  /// Reads a table's file back; `nil` for one that does not read back whole (its rows are then decoded).
  public static func table(at path: String) -> Table? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Table? in
      guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")),
        let contextData = try? JSONDecoder().decode(String.self, from: Data(bytes[..<newline]))
      else { return nil }
      var rows: [(id: GUID, fingerprint: Fingerprint)] = []
      var position = newline + 1
      rows.reserveCapacity((bytes.count - position) / 66)
      while position < bytes.count {
        guard position + 66 <= bytes.count, bytes[position + 32] == UInt8(ascii: " "),
          bytes[position + 65] == UInt8(ascii: "\n"),
          let idHigh = number(bytes, at: position), let idLow = number(bytes, at: position + 16),
          let high = number(bytes, at: position + 33), let low = number(bytes, at: position + 49)
        else { return nil }
        rows.append((GUID(high: idHigh, low: idLow), Fingerprint(high: high, low: low)))
        position += 66
      }
      return Table(context: contextData, rows: rows)
    }
  }

  private static let digits = Array("0123456789abcdef".utf8)

  private static func hex(_ value: UInt64, into bytes: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
    for index in 0..<16 { bytes[start + index] = digits[Int((value >> UInt64(60 - 4 * index)) & 0xF)] }
  }

  private static func number(_ bytes: UnsafeRawBufferPointer, at start: Int) -> UInt64? {
    var value: UInt64 = 0
    for index in start..<start + 16 {
      let byte = bytes[index]
      let digit: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      default: return nil
      }
      value = value << 4 | UInt64(digit)
    }
    return value
  }
}
