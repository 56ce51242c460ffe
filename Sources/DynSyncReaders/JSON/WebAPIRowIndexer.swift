import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// Indexes the rows of one Web API page: the fingerprint of each row's bytes, and its id read
/// straight from the bytes when nothing in the row could make the decoder reject it.
///
/// Any row it cannot vouch for (the first rows, before the table is settled; association rows;
/// escapes in keys; anything a reject could come of) goes through `WebAPIRecordDecoder`, so the
/// outcome for every row is the decoder's.
struct WebAPIRowIndexer {
  static let fingerprintSeed: UInt64 = 0x7765_6261_7069  // "webapi"

  private(set) var decoder: WebAPIRecordDecoder
  let file: Int
  /// The shapes of rows vouched for lately (columns left out when null make a few per page).
  private var shapes: [RowShape] = []
  static let shapesKept = 32

  init(decoder: WebAPIRecordDecoder, file: Int) {
    self.decoder = decoder
    self.file = file
  }

  mutating func index(_ object: JSONLexer.CapturedObject, members: [JSONMemberSpan]) throws -> IndexEvent {
    let location = RowLocation(
      file: file, offset: object.offset, length: object.bytes.count, line: object.line, column: object.column)
    let fingerprint = Fingerprint(of: object.bytes, seed: WebAPIRowIndexer.fingerprintSeed)
    if let entity = decoder.entity, !DataverseCatalog.isIntersect(entity),
      let id = vouchedID(in: object.bytes, members: members, primaryKey: DataverseCatalog.primaryIDField(of: entity))
    {
      return .row(entity: entity, IndexedRow(id: id, fingerprint: fingerprint, location: location))
    }
    let lexer = JSONLexer(
      bytes: object.bytes, path: decoder.path, offset: object.offset, line: object.line, column: object.column)
    switch decoder.decode(try RawJSONRecord.read(from: lexer)) {
    case .record(let record):
      return .row(entity: record.entity, IndexedRow(id: record.id, fingerprint: fingerprint, location: location))
    case .reject(let error):
      return .event(.reject(error))
    case .deletion:
      throw IndexUnavailable(path: decoder.path, reason: "a deleted-entity entry in a full page")
    }
  }

  /// The row's id, when every rule by which `WebAPIRecordDecoder` rejects a row is seen not to
  /// apply; `nil` sends the row to the decoder.
  private mutating func vouchedID(in bytes: UnsafeRawBufferPointer, members: [JSONMemberSpan], primaryKey: String)
    -> GUID?
  {
    let roles: [RowShape.Role]
    if let known = shapes.firstIndex(where: { $0.matches(members, in: bytes) }) {
      roles = shapes[known].roles
    } else {
      guard let fresh = RowShape(members, in: bytes, primaryKey: primaryKey) else { return nil }
      if shapes.count == WebAPIRowIndexer.shapesKept { shapes.removeFirst() }
      shapes.append(fresh)
      roles = fresh.roles
    }
    var id: GUID?
    for (member, role) in zip(members, roles) {
      let value = UnsafeRawBufferPointer(rebasing: bytes[member.value])
      switch (role, member.kind) {
      case (.annotation, _), (_, .boolean), (_, .null), (_, .nested):
        continue
      case (.primaryKey, .string):
        guard !member.valueEscaped, let guid = GUID(utf8: value) else { return nil }
        id = guid
      case (.primaryKey, _), (.lookup, .number):
        return nil
      case (.lookup, .string):
        guard !member.valueEscaped, GUID(utf8: value) != nil else { return nil }
      case (.plain, .number):
        // An exponent is the one way a well-formed JSON number can fail to be held.
        if value.contains(UInt8(ascii: "e")) || value.contains(UInt8(ascii: "E")) { return nil }
      case (.plain, .string):
        continue
      }
    }
    return id
  }
}

/// The keys of a row, in order, and what each key's value is checked for; rows of one page
/// nearly always share one shape, so the keys are looked at once per page.
private struct RowShape {
  enum Role {
    /// `@odata.etag`, `x@OData.Community.Display.V1.FormattedValue`, …: never a reason to reject.
    case annotation
    case primaryKey
    /// `_x_value`: must be a GUID.
    case lookup
    case plain
  }

  private var keys: [UInt8] = []
  private var ends: [Int] = []
  private(set) var roles: [Role] = []

  /// The shape of a row whose keys are plain ASCII, unescaped and unique; `nil` for any other.
  init?(_ members: [JSONMemberSpan], in bytes: UnsafeRawBufferPointer, primaryKey: String) {
    var seen = Set<[UInt8]>()
    for member in members {
      guard !member.keyEscaped else { return nil }
      let key = Array(bytes[member.key])
      guard seen.insert(key).inserted, key.allSatisfy({ $0 < 0x80 }) else { return nil }
      keys += key
      ends.append(keys.count)
      if key.contains(UInt8(ascii: "@")) {
        // A context of its own may make the row a deletion, which the decoder tells.
        guard key != Array("@odata.context".utf8) else { return nil }
        roles.append(.annotation)
      } else if key == Array(primaryKey.utf8) {
        roles.append(.primaryKey)
      } else if key.count > 7, key.first == UInt8(ascii: "_"), key.suffix(6).elementsEqual("_value".utf8) {
        roles.append(.lookup)
      } else {
        roles.append(.plain)
      }
    }
  }

  func matches(_ members: [JSONMemberSpan], in bytes: UnsafeRawBufferPointer) -> Bool {
    guard members.count == ends.count else { return false }
    return keys.withUnsafeBytes { known in
      guard let knownBase = known.baseAddress, let base = bytes.baseAddress else { return members.isEmpty }
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
