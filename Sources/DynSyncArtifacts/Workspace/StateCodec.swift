import DynSyncCore

/// Writes the lossless text form of state (read back by `StateReader`): every value tagged with
/// its type (`StateTag`), numbers as text, so that a state read back is exactly the state
/// written (a change file's plain JSON would lose whether `7` was an integer or a choice, and
/// decimals' written form).
///
/// `null` · `["s","text"]` · `["i","250"]` · `["d","20000.0000"]` · `["b",true]` ·
/// `["t","2025-03-04T18:02:44Z"]` · `["D","1988-04-05"]` · `["o","7"]` · `["m",["2","8"]]` ·
/// `["l","account","<guid>"]` (target `null` when unknown) · `["g","<guid>"]`
public enum StateCodec {
  public static func encode(_ value: FieldValue) -> String {
    var json = JSONBytes()
    json.appendTagged(value)
    return json.text
  }

  /// A record as one state line.
  public static func line(_ record: Record) -> String {
    var json = JSONBytes(columns: record.fields.count + record.labels.count)
    appendLine(record, to: &json)
    return json.text
  }

  /// Appends the state line of a record (`line(_:)`) to `json`, as a batch's lines are made.
  public static func appendLine(_ record: Record, to json: inout JSONBytes) {
    // Members in their sorted order: entity, fields, id, labels, version.
    json.appendSyntax("{\"entity\":")
    json.appendString(record.entity)
    json.appendSyntax(",\"fields\":")
    json.appendObject(record.fields) { json, value in json.appendTagged(value) }
    json.appendSyntax(",\"id\":")
    json.appendID(record.id)
    if !record.labels.isEmpty {
      json.appendSyntax(",\"labels\":")
      json.appendObject(record.labels)
    }
    if let version = record.version {
      json.appendSyntax(",\"version\":\"")
      json.appendInteger(version)
      json.appendSyntax("\"")
    }
    json.appendSyntax("}\n")
  }

  /// The overlay line of a record removed since the base (see `StateLayers`).
  public static func removal(entity: String, id: GUID) -> String {
    var json = JSONBytes()
    json.appendSyntax("{\"entity\":")
    json.appendString(entity)
    json.appendSyntax(",\"id\":")
    json.appendID(id)
    json.appendSyntax(",\"removed\":true}\n")
    return json.text
  }

  /// The overlay line of a Marketo row removed since the base.
  public static func removal(key: String) -> String {
    var json = JSONBytes()
    json.appendSyntax("{\"key\":")
    json.appendString(key)
    json.appendSyntax(",\"removed\":true}\n")
    return json.text
  }

  /// A Marketo row as one state line.
  public static func line(key: String, row: MarketoRow) -> String {
    var json = JSONBytes(columns: row.count)
    appendLine(key: key, row: row, to: &json)
    return json.text
  }

  /// Appends the state line of a Marketo row (`line(key:row:)`) to `json`, as a batch's lines are made.
  public static func appendLine(key: String, row: MarketoRow, to json: inout JSONBytes) {
    json.appendSyntax("{\"key\":")
    json.appendString(key)
    json.appendSyntax(",\"row\":")
    json.appendObject(row) { json, value in json.appendTagged(value) }
    json.appendSyntax("}\n")
  }

  /// Appends the overlay line of a Marketo row as its patch against its base row (`MarketoOverlayEntry.patch`):
  /// `{"key":…,"set":{…}}`, with `,"unset":[…]` before the brace when it takes names out.
  public static func appendPatchLine(key: String, patch: FieldsPatch, to json: inout JSONBytes) {
    json.appendSyntax("{\"key\":")
    json.appendString(key)
    appendColumns(of: patch, to: &json)
    json.appendSyntax("}\n")
  }

  /// Appends the overlay line of a record as its patch against its base's record (`RecordOverlayEntry.patch`), its
  /// members in sorted order as a record line's are: `{"entity":…,"id":…[,"labels":{…}],"set":{…}[,"unset":[…]]`
  /// `[,"version":…]}`.
  public static func appendPatchLine(_ patch: RecordPatch, of record: Record, to json: inout JSONBytes) {
    json.appendSyntax("{\"entity\":")
    json.appendString(record.entity)
    json.appendSyntax(",\"id\":")
    json.appendID(record.id)
    if let labels = patch.labels {
      json.appendSyntax(",\"labels\":")
      json.appendObject(labels)
    }
    appendColumns(of: patch.fields, to: &json)
    if let version = patch.version {
      json.appendSyntax(",\"version\":\"")
      json.appendInteger(version)
      json.appendSyntax("\"")
    }
    json.appendSyntax("}\n")
  }

  /// `,"set":{…}`, and `,"unset":[…]` when the patch takes names out.
  private static func appendColumns(of patch: FieldsPatch, to json: inout JSONBytes) {
    json.appendSyntax(",\"set\":")
    json.appendObject(patch.set) { json, value in json.appendTagged(value) }
    guard !patch.unset.isEmpty else { return }
    json.appendSyntax(",\"unset\":[")
    for (index, name) in patch.unset.enumerated() {
      if index > 0 { json.appendASCII(UInt8(ascii: ",")) }
      json.appendString(name)
    }
    json.appendASCII(UInt8(ascii: "]"))
  }
}

extension JSONBytes {
  /// A value in the tagged form of state files (see `StateCodec`).
  mutating func appendTagged(_ value: FieldValue) {
    func open(_ tag: StateTag) {
      appendSyntax("[\"")
      appendASCII(tag.letter)
      appendSyntax("\",")
    }
    func appendQuotedInteger(_ number: Int64) {
      appendASCII(UInt8(ascii: "\""))
      appendInteger(number)
      appendASCII(UInt8(ascii: "\""))
    }
    switch value {
    case .null:
      return appendSyntax("null")
    case .string(let text):
      open(.string)
      appendString(text)
    case .integer(let number):
      open(.integer)
      appendQuotedInteger(number)
    case .decimal(let number):
      open(.decimal)
      appendString(number.written)
    case .boolean(let flag):
      open(.boolean)
      flag ? appendSyntax("true") : appendSyntax("false")
    case .dateTime(let instant):
      open(.dateTime)
      appendTimestamp(instant)
    case .date(let date):
      open(.date)
      appendString(date.description)
    case .optionSet(let choice):
      open(.optionSet)
      appendQuotedInteger(choice)
    case .multiSelect(let choices):
      open(.multiSelect)
      appendASCII(UInt8(ascii: "["))
      for (index, choice) in choices.enumerated() {
        if index > 0 { appendASCII(UInt8(ascii: ",")) }
        appendQuotedInteger(choice)
      }
      appendASCII(UInt8(ascii: "]"))
    case .lookup(let lookup):
      open(.lookup)
      if let entity = lookup.entity { appendString(entity) } else { appendSyntax("null") }
      appendASCII(UInt8(ascii: ","))
      appendID(lookup.id)
    case .guid(let id):
      open(.guid)
      appendID(id)
    }
    appendASCII(UInt8(ascii: "]"))
  }
}
