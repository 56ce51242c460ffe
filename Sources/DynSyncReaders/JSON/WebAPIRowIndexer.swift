import DynSyncCore

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
  /// The roles of the keys of rows vouched for lately.
  private var shapes = RecentRowKeys<[KeyRole]>()

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
    let raw = try RawJSONRecord(
      scanned: object.bytes, members: members, names: nil, path: decoder.path, offset: object.offset,
      line: object.line, column: object.column)
    guard let event = IndexEvent(decoded: decoder.decode(raw), fingerprint: fingerprint, location: location) else {
      throw IndexUnavailable(path: decoder.path, reason: "a deleted-entity entry in a full page")
    }
    return event
  }

  /// The row's id, when every rule by which `WebAPIRecordDecoder` rejects a row is seen not to
  /// apply; `nil` sends the row to the decoder.
  private mutating func vouchedID(in bytes: UnsafeRawBufferPointer, members: [JSONMemberSpan], primaryKey: String)
    -> GUID?
  {
    guard
      let roles = shapes.keys(of: members, in: bytes, extra: { KeyRole.roles(of: $0.names, primaryKey: primaryKey) })?
        .extra
    else { return nil }
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

/// What a row's key says its value is checked for.
private enum KeyRole {
  /// `@odata.etag`, `x@OData.Community.Display.V1.FormattedValue`, …: never a reason to reject.
  case annotation
  case primaryKey
  /// `_x_value`: must be a GUID.
  case lookup
  case plain

  /// The roles of a row's keys, or `nil` when the row's own context may make it a deletion,
  /// which the decoder tells.
  static func roles(of names: [String], primaryKey: String) -> [KeyRole]? {
    var roles: [KeyRole] = []
    for name in names {
      if name.utf8.contains(UInt8(ascii: "@")) {
        guard name != "@odata.context" else { return nil }
        roles.append(.annotation)
      } else if name == primaryKey {
        roles.append(.primaryKey)
      } else if WebAPIRecordDecoder.columnName(name) != name {
        roles.append(.lookup)
      } else {
        roles.append(.plain)
      }
    }
    return roles
  }
}
