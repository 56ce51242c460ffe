/// The columns a row changed against an earlier row: the members set (new, or not written as the earlier value was:
/// `FieldValue.isIdentical`) and the names taken out.
///
/// An account's change reaches every person of the account, and a person's row is some thirty columns of which the
/// account's change sets a few. A Marketo dataset's overlay holds such a row as its patch against the base row
/// (`MarketoOverlayEntry.patch`): a fifth of the bytes to write, digest and read back.
public struct FieldsPatch: Sendable, Equatable {
  /// The members the row holds that the earlier row does not hold, or not written alike.
  public var set: Fields
  /// The names the earlier row holds and the row does not, in order.
  public var unset: [String]

  /// A patch as read: `unset` in any order, each name once.
  public init(set: Fields = Fields(), unset: [String] = []) {
    self.set = set
    self.unset = unset.sorted()
  }

  /// What makes `base` into `row`.
  public init(from base: Fields, to row: Fields) {
    var members: [Fields.Element] = []
    var unset: [String] = []
    base.forEachPairing(with: row) { pairing in
      switch pairing {
      case .first(let earlier): unset.append(base.members[earlier].key)
      case .second(let later): members.append(row.members[later])
      case .both(let earlier, let later):
        if !base.members[earlier].value.isIdentical(to: row.members[later].value) {
          members.append(row.members[later])
        }
      }
    }
    set = Fields(sortedMembers: members)
    self.unset = unset
  }

  /// `base` with the patch laid over it: what `init(from:to:)` was given as the row, written alike.
  public func applied(to base: Fields) -> Fields {
    var row = base
    apply(to: &row)
    return row
  }

  /// Lays the patch over `row` in place: a row just read is held by nothing else, and a patch sets a few of its
  /// columns, each found by a search, where a row made anew was fresh memory for all thirty of them.
  public func apply(to row: inout Fields) {
    for name in unset { row[name] = nil }
    for (name, value) in set { row[name] = value }
  }

  /// Whether the patch sets or takes out any of `names`.
  public func touches(anyOf names: [String]) -> Bool {
    names.contains { set[$0] != nil || unset.contains($0) }
  }

  /// This patch, then `later` laid over what it gives: a patch of every column either sets or takes out.
  ///
  /// A column changed back to its earlier value stays in the patch: the earlier row is not at hand to tell.
  public func followed(by later: FieldsPatch) -> FieldsPatch {
    guard !set.isEmpty || !unset.isEmpty else { return later }
    let takenOut = Set(later.unset)
    var members = set.filter { !takenOut.contains($0.key) }
    members.merge(later.set) { _, value in value }
    let laterSet = Set(later.set.keys)
    return FieldsPatch(set: members, unset: Array(Set(unset).union(takenOut).filter { !laterSet.contains($0) }))
  }
}

/// What a line of a Marketo dataset's overlay says of its key: the row it has now, whole or as its patch against the
/// base's row, or that it is gone.
public enum MarketoOverlayEntry: Sendable, Equatable {
  case row(MarketoRow)
  /// The row is its base row with the patch laid over it.
  case patch(FieldsPatch)
  case removed
}

/// A record of a table's overlay as its patch against the base's record: the columns changed, the record's labels
/// where they are not the base's (a handful of short texts, given whole), and its row version.
///
/// A contact's update sets one to three of some twenty columns, and the overlay of a table read in part holds every
/// record changed since its base, run after run: a patch is a fifth of the record's line.
public struct RecordPatch: Sendable, Equatable {
  public var fields: FieldsPatch
  /// The record's labels; `nil`, the base's record's.
  public var labels: Labels?
  /// The record's row version, whatever the base's record's.
  public var version: Int64?

  public init(fields: FieldsPatch = FieldsPatch(), labels: Labels? = nil, version: Int64? = nil) {
    self.fields = fields
    self.labels = labels
    self.version = version
  }

  /// The base's record with the patch laid over it, where it was read.
  public func applied(to base: Record) -> Record {
    var record = base
    fields.apply(to: &record.fields)
    if let labels { record.labels = labels }
    record.version = version
    return record
  }
}

/// What a line of a table's overlay says of its record: the record now, whole or as its patch against the base's
/// record, or that it is gone.
public enum RecordOverlayEntry: Sendable, Equatable {
  case record(Record)
  /// The record is its base's record with the patch laid over it.
  case patch(RecordPatch)
  case removed
}
