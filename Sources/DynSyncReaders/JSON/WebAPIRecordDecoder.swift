import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// Turns the members of one Web API row into a canonical record, a deletion, or a reject.
///
/// The Web API carries no column types, so types come from the value's JSON form, the column's
/// naming (`_x_value` lookups), its annotations (formatted labels, lookup targets) and the
/// catalog of standard columns.
struct WebAPIRecordDecoder: Sendable {
  static let formattedValue: StaticString = "OData.Community.Display.V1.FormattedValue"
  static let lookupLogicalName: StaticString = "Microsoft.Dynamics.CRM.lookuplogicalname"

  let path: String
  let context: ODataContext
  /// The table's logical name, settled by the first row that shows its primary id column.
  private(set) var entity: String?

  /// The table the page stands for: the one its rows settled, else the likeliest for its entity set name (a page of
  /// deletions alone, or of no rows, shows no primary id column).
  var table: String { entity ?? DataverseCatalog.entityCandidates(forSetName: context.entitySet)[0] }

  /// What the member names of the rows seen last settle (`RowPlan`), the latest last: made once the table is settled,
  /// which it then stays, so every plan is of that table.
  private var plans: [RowPlan] = []
  /// The tables the rows' lookups named last (`Lookup`).
  private var tables = NumberedTexts.Recent()

  /// `entity` is the table, when a read of the whole file already settled it.
  init(path: String, context: ODataContext, entity: String? = nil) {
    self.path = path
    self.context = context
    self.entity = entity
  }

  mutating func decode(_ raw: RawJSONRecord) -> ReadEvent {
    decodeByPlan(raw) ?? decodeMemberByMember(raw)
  }

  /// `decode` of a row member by member, as every row can be read: the rule `decodeByPlan` keeps.
  mutating func decodeMemberByMember(_ raw: RawJSONRecord) -> ReadEvent {
    let position = SourcePosition(file: path, line: raw.line, column: raw.column)
    if let deletion = deletion(in: raw, at: position) { return deletion }
    let entity = resolveEntity(seeing: raw)
    let primaryKey = DataverseCatalog.primaryIDField(of: entity)

    func reject(_ reason: String, id: String? = nil) -> ReadEvent {
      .reject(InputError(at: position, entity: entity, recordID: id, reason: reason))
    }

    guard let idMember = raw.members.first(where: { $0.name == primaryKey }) else {
      return reject("row has no primary id column \"\(primaryKey)\"")
    }
    guard case .string(let idText) = idMember.value, let id = GUID(idText) else {
      return reject("primary id \"\(primaryKey)\" is not a GUID")
    }
    if let duplicate = raw.duplicateKey {
      return reject("the key \"\(duplicate)\" appears twice in the row", id: id.description)
    }

    var etagVersion: Int64?
    // Where each key's "@" is, if it has one: annotations are looked at first, then the columns.
    let annotationMarks = raw.members.map { WebAPIRecordDecoder.annotationMark(in: $0.name) }
    // A row has a few annotations, looked for by every column: lists searched from the end (the last of a column's
    // annotations counts), where tables hashed the column's name for every look.
    var labelList: [(column: String, text: String)] = []
    var lookupTargetList: [(column: String, text: String)] = []
    for index in raw.members.indices {
      guard let at = annotationMarks[index], case .string(let text) = raw.members[index].value else { continue }
      let name = raw.members[index].name
      if at == 0 {
        if name == "@odata.etag" { etagVersion = WebAPIRecordDecoder.etagVersion(text) }
        continue
      }
      guard let annotated = WebAPIRecordDecoder.annotatedColumn(of: name, at: at) else { continue }
      if annotated.isLabel {
        labelList.append((annotated.column, text))
      } else {
        lookupTargetList.append((annotated.column, text))
      }
    }
    func annotation(of column: String, in list: [(column: String, text: String)]) -> String? {
      list.last(where: { $0.column == column })?.text
    }

    var fields = Fields()
    fields.reserveCapacity(raw.members.count)
    var version: Int64?
    for index in raw.members.indices where annotationMarks[index] == nil {
      let member = raw.members[index]
      guard member.name != primaryKey else { continue }
      let column = WebAPIRecordDecoder.columnName(member.name)
      let isLookup = column != member.name
      switch member.value {
      case .nested:
        // Expanded navigation properties belong to other tables; the row's own columns are kept.
        continue
      case .null:
        fields[column] = .null
      case .bool(let flag):
        fields[column] = .boolean(flag)
      case .string(let text):
        if isLookup {
          guard let target = GUID(text) else {
            return reject("lookup \"\(member.name)\" is not a GUID: \"\(text)\"", id: id.description)
          }
          fields[column] = .lookup(Lookup(entity: annotation(of: column, in: lookupTargetList), id: target))
        } else {
          fields[column] = ValueInference.string(text, field: column, label: annotation(of: column, in: labelList))
        }
      case .number(let text):
        guard !isLookup else {
          return reject("lookup \"\(member.name)\" is a number, not a GUID", id: id.description)
        }
        guard let value = ValueInference.number(text, field: column, label: annotation(of: column, in: labelList))
        else {
          return reject("\"\(column)\" is not a number Dataverse can hold: \(text)", id: id.description)
        }
        fields[column] = value
        if column == "versionnumber", case .integer(let number) = value { version = number }
      }
    }
    var labels = Labels(minimumCapacity: labelList.count)
    for (column, text) in labelList { labels[column] = text }
    return WebAPIRecordDecoder.record(
      entity: entity, id: id, fields: fields, labels: labels, version: version ?? etagVersion, origin: position)
  }

  /// The record of a row read, as a table of associations keeps it (`DataverseCatalog.association`: by its two ends,
  /// with no labels or version) or as it is.
  private static func record(
    entity: String, id: GUID, fields: Fields, labels: Labels, version: Int64?, origin: SourcePosition
  ) -> ReadEvent {
    if DataverseCatalog.isIntersect(entity), let association = DataverseCatalog.association(of: entity, fields: fields)
    {
      return .record(Record(entity: entity, id: association.id, fields: association.fields, origin: origin))
    }
    return .record(Record(entity: entity, id: id, fields: fields, labels: labels, version: version, origin: origin))
  }

  /// The column an annotation key (its "@" at `at`, past the first byte) annotates, and whether with its label or
  /// with its lookup's table; `nil` for any other annotation.
  static func annotatedColumn(of name: String, at: Int) -> (column: String, isLabel: Bool)? {
    var name = name
    return name.withUTF8 { bytes in
      // Both annotations are ASCII, which no other text equals as a string.
      let annotation = UnsafeBufferPointer(rebasing: bytes[(at + 1)...])
      let isLabel = annotation.equals(WebAPIRecordDecoder.formattedValue)
      guard isLabel || annotation.equals(WebAPIRecordDecoder.lookupLogicalName) else { return nil }
      let column = WebAPIRecordDecoder.columnName(
        String(decoding: UnsafeBufferPointer(rebasing: bytes[..<at]), as: UTF8.self))
      return (column, isLabel)
    }
  }

  /// What a row's member names alone settle, for the rows named alike (most of a page's rows).
  ///
  /// Which member is the id, which the etag, each column's label and lookup-target annotations, and the columns in
  /// the order a record holds them: a row's values are then read by it, without a name looked at, a column name made
  /// or a member put in order.
  private struct RowPlan: Sendable {
    struct Column: Sendable {
      var column: String
      var member: Int
      var isLookup: Bool
      var isVersion: Bool
      /// The members annotating the column with its label, and with its lookup's table, in the row's order.
      var labels: [Int]
      var targets: [Int]
    }

    var names: [String]
    var primaryMember: Int?
    var etagMembers: [Int]
    /// Label annotations, with the column each labels, in the row's order.
    var labelMembers: [(member: Int, column: String)]
    /// Each column once, sorted by name.
    var columns: [Column]
    /// Rows so named are read member by member, every one: they may be deletions, or name a column twice.
    var readsMemberByMember = false

    /// The plan of rows with these names, of `entity`; `nil` for names whose rows are read member by member: a row
    /// that may be a deletion (it names `@odata.context`), or one with two members for one column.
    init?(planning names: [String], entity: String) {
      let primaryKey = DataverseCatalog.primaryIDField(of: entity)
      var etagMembers: [Int] = []
      var labelMembers: [(member: Int, column: String)] = []
      var targetMembers: [(member: Int, column: String)] = []
      var byColumn: [String: Int] = [:]
      var columns: [Column] = []
      for (member, name) in names.enumerated() {
        guard let at = WebAPIRecordDecoder.annotationMark(in: name) else {
          guard name != primaryKey else { continue }
          let column = WebAPIRecordDecoder.columnName(name)
          guard byColumn.updateValue(columns.count, forKey: column) == nil else { return nil }
          columns.append(
            Column(
              column: column, member: member, isLookup: column != name, isVersion: column == "versionnumber",
              labels: [], targets: []))
          continue
        }
        if at == 0 {
          guard name != "@odata.context" else { return nil }
          if name == "@odata.etag" { etagMembers.append(member) }
          continue
        }
        guard let annotated = WebAPIRecordDecoder.annotatedColumn(of: name, at: at) else { continue }
        if annotated.isLabel {
          labelMembers.append((member, annotated.column))
        } else {
          targetMembers.append((member, annotated.column))
        }
      }
      for (member, column) in labelMembers { if let place = byColumn[column] { columns[place].labels.append(member) } }
      for (member, column) in targetMembers {
        if let place = byColumn[column] { columns[place].targets.append(member) }
      }
      self.names = names
      primaryMember = names.firstIndex(of: primaryKey)
      self.etagMembers = etagMembers
      self.labelMembers = labelMembers
      self.columns = columns.sorted { $0.column < $1.column }
    }

    /// The plan of rows with these names that are read member by member (`readsMemberByMember`): known as such, so
    /// that it is not worked out again for each.
    init(memberByMember names: [String]) {
      self.names = names
      etagMembers = []
      labelMembers = []
      columns = []
      readsMemberByMember = true
    }

    /// Whether a row's members are named as the plan's.
    func matches(_ row: some PlannedRow) -> Bool { row.isNamed(names) }
  }

  /// The plans kept: a page's rows take a few shapes (a label annotation comes only with a value).
  private static let plansKept = 16

  /// `decode` of a row by the plan of its names (`RowPlan`), made for the first row so named; `nil` where the row is
  /// to be read member by member: the table not yet settled, a key twice, no plan for its names, or anything the
  /// row is rejected for (read member by member, it is rejected for the same reason, found in the same order).
  private mutating func decodeByPlan(_ row: some PlannedRow) -> ReadEvent? {
    guard let entity, row.duplicateKey == nil else { return nil }
    let plan: RowPlan
    if let known = plans.lastIndex(where: { $0.matches(row) }) {
      plan = plans[known]
    } else {
      let names = row.names
      let made = RowPlan(planning: names, entity: entity) ?? RowPlan(memberByMember: names)
      if plans.count == WebAPIRecordDecoder.plansKept { plans.removeFirst() }
      plans.append(made)
      plan = made
    }
    guard !plan.readsMemberByMember, let primary = plan.primaryMember, row.kind(of: primary) == .string,
      let id = row.withBytes(of: primary, { GUID(utf8: UnsafeRawBufferPointer($0)) })
    else { return nil }
    /// The last of the members whose value is a string.
    func lastText(_ members: [Int]) -> String? {
      for member in members.reversed() where row.kind(of: member) == .string { return row.text(of: member) }
      return nil
    }
    var etagVersion: Int64?
    for member in plan.etagMembers where row.kind(of: member) == .string {
      etagVersion = WebAPIRecordDecoder.etagVersion(row.text(of: member))
    }
    var members: [Fields.Element] = []
    members.reserveCapacity(plan.columns.count)
    var version: Int64?
    for column in plan.columns {
      let member = column.member
      switch row.kind(of: member) {
      case .nested:
        continue
      case .null:
        members.append((column.column, .null))
      case .boolean:
        members.append((column.column, .boolean(row.boolean(of: member))))
      case .string:
        if column.isLookup {
          guard let target = row.withBytes(of: member, { GUID(utf8: UnsafeRawBufferPointer($0)) }) else { return nil }
          var table: NumberedTexts.Number = 0
          if let named = column.targets.last(where: { row.kind(of: $0) == .string }) {
            table =
              row.withBytes(of: named) { bytes in
                tables.number(ofUTF8: UnsafeRawBufferPointer(bytes)) { _ in row.text(of: named) }
              } ?? 0
          }
          members.append((column.column, .lookup(Lookup(table: table, id: target))))
        } else {
          let label = lastText(column.labels)
          let value = row.withBytes(of: member) { bytes in
            ValueInference.string(utf8: bytes, field: column.column, label: label) { row.text(of: member) }
          }
          members.append((column.column, value))
        }
      case .number:
        guard !column.isLookup else { return nil }
        let label = lastText(column.labels)
        let read = row.withBytes(of: member) { bytes in
          ValueInference.number(utf8: bytes, field: column.column, label: label) { row.text(of: member) }
        }
        guard let value = read else { return nil }
        members.append((column.column, value))
        if column.isVersion, case .integer(let number) = value { version = number }
      }
    }
    var labels = Labels(minimumCapacity: plan.labelMembers.count)
    for (member, column) in plan.labelMembers where row.kind(of: member) == .string {
      labels[column] = row.text(of: member)
    }
    return WebAPIRecordDecoder.record(
      entity: entity, id: id, fields: Fields(sortedMembers: members), labels: labels, version: version ?? etagVersion,
      origin: SourcePosition(file: path, line: row.line, column: row.column))
  }

  /// `decode` of a row a scan has just checked (`scan`, over `bytes`): by its plan from its bytes where they lie, with
  /// no string made of a value read as an id, a number, a date or an instant; else from the strings it is read into,
  /// member by member where its plan declined it (the plan would decline its strings alike).
  mutating func decode(
    scanned bytes: UnsafeRawBufferPointer, by scan: JSONObjectScan, shapes: inout RecentRowKeys<Void>, offset: Int,
    line: Int, column: Int
  ) throws(InputError) -> ReadEvent {
    let names = shapes.names(of: scan.members, in: bytes)
    if let names,
      let event = decodeByPlan(
        try ScannedRow(
          bytes, members: scan.members, names: names, path: path, offset: offset, line: line, column: column))
    {
      return event
    }
    let raw = try RawJSONRecord(
      scanned: bytes, members: scan.members, names: names, path: path, offset: offset, line: line, column: column)
    return names == nil ? decode(raw) : decodeMemberByMember(raw)
  }

  /// The byte offset of the first "@" in a key, if any.
  static func annotationMark(in name: String) -> Int? {
    var name = name
    return name.withUTF8 { bytes in
      guard let base = bytes.baseAddress, let found = memchr(base, Int32(UInt8(ascii: "@")), bytes.count) else {
        return nil
      }
      return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }
  }

  /// The version in an `@odata.etag` such as `W/"2874124"`: its digits, as a number.
  static func etagVersion(_ etag: String) -> Int64? {
    guard etag.utf8.allSatisfy({ $0 < 0x80 }) else { return Int64(etag.filter(\.isNumber)) }
    var version: Int64?
    for byte in etag.utf8 where (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
      let (shifted, overflow) = (version ?? 0).multipliedReportingOverflow(by: 10)
      let (sum, carry) = shifted.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
      guard !overflow, !carry else { return nil }
      version = sum
    }
    return version
  }

  /// `_parentcustomerid_value` → `parentcustomerid`; other names unchanged.
  static func columnName(_ name: String) -> String {
    // Most names do not start with "_", and logical names are ASCII: settle those without
    // Character work.
    guard name.utf8.first == UInt8(ascii: "_") else { return name }
    var ascii = name
    if let column = ascii.withUTF8({ bytes -> String?? in
      guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
      guard bytes.count > 7, bytes.suffix(6).elementsEqual("_value".utf8) else { return .some(nil) }
      return String(decoding: UnsafeBufferPointer(rebasing: bytes[1..<bytes.count - 6]), as: UTF8.self)
    }) {
      return column ?? name
    }
    guard name.hasPrefix("_"), name.hasSuffix("_value"), name.count > 7 else { return name }
    return String(name.dropFirst().dropLast(6))
  }

  private mutating func resolveEntity(seeing raw: RawJSONRecord) -> String {
    if let entity { return entity }
    let candidates = DataverseCatalog.entityCandidates(forSetName: context.entitySet)
    let names = Set(raw.members.map(\.name))
    let chosen =
      candidates.first { names.contains(DataverseCatalog.primaryIDField(of: $0)) } ?? candidates[0]
    if names.contains(DataverseCatalog.primaryIDField(of: chosen)) { entity = chosen }
    return chosen
  }

  private mutating func deletion(in raw: RawJSONRecord, at position: SourcePosition) -> ReadEvent? {
    // Most rows are no deletion: settle those without looking at every member's name thrice, or copying any member.
    guard
      raw.members.indices.contains(where: {
        raw.members[$0].name.utf8.count == 14 && raw.members[$0].name == "@odata.context"
      })
    else { return nil }
    var entryContext: ODataContext?
    var idText: String?
    var reason = "deleted"
    for member in raw.members {
      switch (member.name, member.value) {
      case ("@odata.context", .string(let text)): entryContext = ODataContext(text)
      case ("id", .string(let text)): idText = text
      case ("reason", .string(let text)): reason = text
      default: break
      }
    }
    guard let entryContext, entryContext.isDeletedEntity else { return nil }
    let entity =
      entryContext.entitySet == context.entitySet
      ? table : DataverseCatalog.entityCandidates(forSetName: entryContext.entitySet)[0]
    guard let idText, let id = GUID(idText) else {
      return .reject(
        InputError(at: position, entity: entity, recordID: idText, reason: "$deletedEntity entry without a GUID \"id\"")
      )
    }
    // An association is kept by its two ends (`DataverseCatalog.association`), which a deletion does not name: let go
    // unseen, the membership would stay.
    guard !DataverseCatalog.isIntersect(entity) else {
      return .reject(
        InputError(
          at: position, entity: entity, recordID: idText,
          reason:
            "a $deletedEntity entry of the intersect table \(entity) names the intersect row, not the two records "
            + "it joins, so it cannot be applied; export \(entity) whole (its full rows) to sync removed associations"))
    }
    return .deletion(Deletion(entity: entity, id: id, reason: reason, origin: position))
  }
}

/// A row's members as a plan reads them (`WebAPIRecordDecoder.decodeByPlan`): from the strings a row was read into
/// (`RawJSONRecord`), or from the bytes of a row a scan checked, where they lie (`ScannedRow`).
protocol PlannedRow {
  var line: Int { get }
  var column: Int { get }
  /// A name given to two members, where the row's names were read one by one.
  var duplicateKey: String? { get }
  var names: [String] { get }
  /// Whether the members are named `names`, in order.
  func isNamed(_ names: [String]) -> Bool
  func kind(of member: Int) -> JSONValueKind
  /// The flag of a boolean member.
  func boolean(of member: Int) -> Bool
  /// The text of a string member, or the digits of a number.
  func text(of member: Int) -> String
  /// `body` on the UTF-8 bytes of `text(of:)`, valid only during the call.
  func withBytes<Result>(of member: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result
}

extension RawJSONRecord: PlannedRow {
  var names: [String] { members.map(\.name) }

  func isNamed(_ names: [String]) -> Bool {
    members.count == names.count && members.indices.allSatisfy { members[$0].name == names[$0] }
  }

  func kind(of member: Int) -> JSONValueKind {
    switch members[member].value {
    case .string: .string
    case .number: .number
    case .bool: .boolean
    case .null: .null
    case .nested: .nested
    }
  }

  func boolean(of member: Int) -> Bool {
    if case .bool(let flag) = members[member].value { return flag }
    return false
  }

  func text(of member: Int) -> String {
    switch members[member].value {
    case .string(let text), .number(let text): text
    default: ""
    }
  }

  func withBytes<Result>(of member: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
    text(of: member).withUTF8Bytes(body)
  }
}

/// A row a scan has just checked, read by a plan from its bytes (`JSONObjectScan`'s member spans over them), valid
/// only while they are; its names are those of its shape (`RecentRowKeys`).
struct ScannedRow: PlannedRow {
  private let bytes: UnsafeRawBufferPointer
  private let members: [JSONMemberSpan]
  let names: [String]
  let line: Int
  let column: Int
  var duplicateKey: String? { nil }
  /// The texts of the string values holding an escape, whose bytes are not their text (an etag's quotes), by member.
  private var unescaped: [(member: Int, text: String)] = []

  /// - Throws: `InputError` for an escape the scan let by that does not read (none does).
  init(
    _ bytes: UnsafeRawBufferPointer, members: [JSONMemberSpan], names: [String], path: String, offset: Int, line: Int,
    column: Int
  ) throws(InputError) {
    self.bytes = bytes
    self.members = members
    self.names = names
    self.line = line
    self.column = column
    for (member, span) in members.enumerated() where span.valueEscaped {
      let text = try RawJSONRecord.unescaped(
        span.value, in: bytes, path: path, offset: offset, line: line, column: column)
      unescaped.append((member, text))
    }
  }

  func isNamed(_ names: [String]) -> Bool { self.names == names }

  func kind(of member: Int) -> JSONValueKind { members[member].kind }

  func boolean(of member: Int) -> Bool { bytes[members[member].value.lowerBound] == UInt8(ascii: "t") }

  func text(of member: Int) -> String {
    unescapedText(of: member) ?? withBytes(of: member) { String(decoding: $0, as: UTF8.self) }
  }

  func withBytes<Result>(of member: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
    if let text = unescapedText(of: member) { return text.withUTF8Bytes(body) }
    return body(UnsafeRawBufferPointer(rebasing: bytes[members[member].value]).assumingMemoryBound(to: UInt8.self))
  }

  /// The text of a member whose string holds an escape; `nil` for any other member, whose bytes are its text.
  private func unescapedText(of member: Int) -> String? {
    guard members[member].valueEscaped else { return nil }
    return unescaped.first { $0.member == member }?.text
  }
}
