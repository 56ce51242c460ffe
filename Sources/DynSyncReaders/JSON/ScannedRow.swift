import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// The keys of a row in order, as bytes and as strings: rows of one page nearly always share
/// their keys, so they are looked at, and made into strings, once per page.
struct RowKeys {
  private var keys: [UInt8] = []
  private var ends: [Int] = []
  private(set) var names: [String] = []

  /// The keys of a row whose keys are plain ASCII, unescaped and unique; `nil` for any other.
  init?(_ members: [JSONMemberSpan], in row: UnsafeRawBufferPointer) {
    var seen = Set<String>()
    for member in members {
      guard !member.keyEscaped else { return nil }
      let key = UnsafeRawBufferPointer(rebasing: row[member.key])
      guard key.allSatisfy({ $0 < 0x80 }) else { return nil }
      let name = String(decoding: key, as: UTF8.self)
      guard seen.insert(name).inserted else { return nil }
      keys += key
      ends.append(keys.count)
      names.append(name)
    }
  }

  func matches(_ members: [JSONMemberSpan], in row: UnsafeRawBufferPointer) -> Bool {
    guard members.count == ends.count else { return false }
    return keys.withUnsafeBytes { known in
      guard let knownBase = known.baseAddress, let base = row.baseAddress else { return members.isEmpty }
      var start = 0
      for (member, end) in zip(members, ends) {
        guard !member.keyEscaped, member.key.count == end - start,
          memcmp(knownBase + start, base + member.key.lowerBound, end - start) == 0
        else { return false }
        start = end
      }
      return true
    }
  }
}

/// The key sets of the rows seen lately (columns left out when null make a few per page).
struct RecentRowKeys<Extra> {
  static var kept: Int { 32 }
  private var shapes: [(keys: RowKeys, extra: Extra)] = []

  /// The known keys of the row, else new ones with `extra` made for them; `nil` when the keys are
  /// not plain (see `RowKeys`) or `extra` gives `nil`.
  mutating func keys(
    of members: [JSONMemberSpan], in row: UnsafeRawBufferPointer, extra: (RowKeys) -> Extra?
  ) -> (keys: RowKeys, extra: Extra)? {
    if let known = shapes.firstIndex(where: { $0.keys.matches(members, in: row) }) { return shapes[known] }
    guard let keys = RowKeys(members, in: row), let made = extra(keys) else { return nil }
    if shapes.count == Self.kept { shapes.removeFirst() }
    shapes.append((keys, made))
    return (keys, made)
  }
}

extension RecentRowKeys<Void> {
  /// The names of the row's members, made into strings once for each shape of row seen; `nil` when they are not plain.
  mutating func names(of members: [JSONMemberSpan], in row: UnsafeRawBufferPointer) -> [String]? {
    keys(of: members, in: row) { _ in () }?.keys.names
  }
}

extension RawJSONRecord {
  /// The text of a string of a scanned row that holds an escape, its bytes (quotes excluded) at `span`: read by the
  /// lexer, which reports a position in the file (`offset`, `line` and `column` are the row's).
  static func unescaped(
    _ span: Range<Int>, in row: UnsafeRawBufferPointer, path: String, offset: Int, line: Int, column: Int
  ) throws(InputError) -> String {
    let quoted = span.lowerBound - 1..<span.upperBound + 1
    let lexer = JSONLexer(
      bytes: UnsafeRawBufferPointer(rebasing: row[quoted]), path: path, offset: offset + quoted.lowerBound,
      line: line, column: column)
    return try lexer.readString()
  }

  /// The row `scan` has just checked, its names made into strings once for each shape of row `shapes` has seen.
  init(
    scanned row: UnsafeRawBufferPointer, by scan: JSONObjectScan, shapes: inout RecentRowKeys<Void>, path: String,
    offset: Int, line: Int, column: Int
  ) throws(InputError) {
    try self.init(
      scanned: row, members: scan.members, names: shapes.names(of: scan.members, in: row), path: path, offset: offset,
      line: line, column: column)
  }

  /// The row `scan` has just checked, read from its member spans.
  ///
  /// The same as `read(from:)` of its bytes, without going through them again; `names` are its
  /// keys, when known.
  init(
    scanned row: UnsafeRawBufferPointer, members: [JSONMemberSpan], names: [String]?, path: String, offset: Int,
    line: Int, column: Int
  ) throws(InputError) {
    self.init(line: line, column: column, members: [])
    self.members.reserveCapacity(members.count)

    /// The text of the string whose bytes, quotes excluded, are at `span`.
    func string(_ span: Range<Int>, escaped: Bool) throws(InputError) -> String {
      guard escaped else { return String(decoding: UnsafeRawBufferPointer(rebasing: row[span]), as: UTF8.self) }
      return try RawJSONRecord.unescaped(span, in: row, path: path, offset: offset, line: line, column: column)
    }

    var seen = names == nil ? Set<String>() : []
    for (position, member) in members.enumerated() {
      let name: String
      if let names {
        name = names[position]
      } else {
        name = try string(member.key, escaped: member.keyEscaped)
        if !seen.insert(name).inserted, duplicateKey == nil { duplicateKey = name }
      }
      let value: JSONScalar
      switch member.kind {
      case .string: value = .string(try string(member.value, escaped: member.valueEscaped))
      case .number:
        value = .number(String(decoding: UnsafeRawBufferPointer(rebasing: row[member.value]), as: UTF8.self))
      case .boolean: value = .bool(row[member.value.lowerBound] == UInt8(ascii: "t"))
      case .null: value = .null
      case .nested: value = .nested
      }
      self.members.append((name, value))
    }
  }
}
