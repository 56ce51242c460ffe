import DynSyncCore

/// Writes JSON text by hand, byte for byte the same for the same values: keys sorted, no
/// insignificant white space, decimals exactly as exported.
public enum JSONText {
  /// A JSON string literal.
  public static func string(_ text: String) -> String {
    var json = JSONBytes()
    json.appendString(text)
    return json.text
  }

  /// An object from already-encoded member values, keys in sorted order.
  public static func object(_ members: [(String, String)]) -> String {
    var json = JSONBytes()
    json.appendObject(members) { json, value in json.appendRaw(value) }
    return json.text
  }

  public static func array(_ elements: [String]) -> String {
    "[" + elements.joined(separator: ",") + "]"
  }

  /// A typed value: numbers as numbers (decimals as exported), dates as ISO 8601 strings, lookups
  /// as `{"entity":…,"id":…}`, multi-selects as arrays of choice values.
  public static func value(_ value: FieldValue) -> String {
    var json = JSONBytes()
    json.appendValue(value)
    return json.text
  }

  /// A record image: its columns, with formatted labels under `@labels` when there are any.
  public static func image(_ record: Record) -> String {
    var json = JSONBytes()
    json.appendImage(record)
    return json.text
  }

  /// A decimal as a JSON number: the exported text when it is valid JSON, else its canonical form.
  static func decimal(_ number: ExactDecimal) -> String {
    let written = number.written
    if isJSONNumber(written) { return written }
    return number.plainText
  }

  static func isJSONNumber(_ text: String) -> Bool {
    var bytes = Array(text.utf8)[...]
    if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
    guard let first = bytes.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { return false }
    if first == UInt8(ascii: "0"), bytes.count > 1, bytes.dropFirst().first.map({ $0 >= 48 && $0 <= 57 }) == true {
      return false
    }
    var sawPoint = false
    var previous: UInt8 = first
    for byte in bytes.dropFirst() {
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): break
      case UInt8(ascii: ".") where !sawPoint: sawPoint = true
      default: return false
      }
      previous = byte
    }
    return previous != UInt8(ascii: ".")
  }
}

/// JSON text built as bytes, the way `JSONText` writes it, without a string per value.
public struct JSONBytes {
  public private(set) var bytes: [UInt8] = []

  public init() {}

  /// Room for a line of about `columns` members made ready, so that a line of a thousand bytes is not copied into
  /// ever larger arrays while it is made: most of a batch's bytes are such lines.
  public init(columns: Int) {
    self.init(capacity: 64 + 48 * columns)
  }

  /// Room for `capacity` bytes made ready.
  public init(capacity: Int) {
    bytes.reserveCapacity(capacity)
  }

  /// Makes room for `capacity` bytes in all.
  public mutating func reserveCapacity(_ capacity: Int) { bytes.reserveCapacity(capacity) }

  public var text: String { String(decoding: bytes, as: UTF8.self) }

  /// Text that is already JSON.
  public mutating func appendRaw(_ json: String) { bytes.append(contentsOf: json.utf8) }

  /// One byte of JSON syntax (a bracket, a comma, a quote), with no string looked at.
  public mutating func appendASCII(_ byte: UInt8) { bytes.append(byte) }

  /// Bytes of text as they are (text already in the form it is written in).
  public mutating func appendUTF8(_ text: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: text) }

  /// A JSON string literal.
  public mutating func appendString(_ text: String) {
    // Most values need no escaping: check the bytes once and copy them as they are.
    func appendPlain(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
      guard !JSONBytes.mayNeedEscaping(utf8) else { return false }
      bytes.append(UInt8(ascii: "\""))
      bytes.append(contentsOf: utf8)
      return true
    }
    if !text.withUTF8Bytes(appendPlain) {
      bytes.append(UInt8(ascii: "\""))
      for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": appendRaw("\\\"")
        case "\\": appendRaw("\\\\")
        case "\n": appendRaw("\\n")
        case "\r": appendRaw("\\r")
        case "\t": appendRaw("\\t")
        case "\u{08}": appendRaw("\\b")
        case "\u{0C}": appendRaw("\\f")
        case "\u{2028}": appendRaw("\\u2028")
        case "\u{2029}": appendRaw("\\u2029")
        default:
          if scalar.value < 0x20 {
            let hex = String(scalar.value, radix: 16)
            appendRaw("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
          } else {
            bytes.append(contentsOf: String(scalar).utf8)
          }
        }
      }
    }
    bytes.append(UInt8(ascii: "\""))
  }

  /// Whether UTF-8 bytes may need escaping in a JSON string: a control character, a quote, a backslash, or 0xE2,
  /// which starts U+2028 and U+2029 (and other characters, which the escaping then copies as they are).
  ///
  /// Eight bytes at a time (`ByteWord`).
  ///
  /// - Parameter utf8: the bytes of a string.
  /// - Returns: `false` when the bytes can be written as they are.
  static func mayNeedEscaping(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
    var index = 0
    if let base = utf8.baseAddress {
      while index + 8 <= utf8.count {
        let word = ByteWord.load(base, at: index)
        if ByteWord.bytes(below: 0x20, in: word) | ByteWord.bytes(equalTo: UInt8(ascii: "\""), in: word)
          | ByteWord.bytes(equalTo: UInt8(ascii: "\\"), in: word) | ByteWord.bytes(equalTo: 0xE2, in: word) != 0
        {
          return true
        }
        index += 8
      }
    }
    while index < utf8.count {
      let byte = utf8[index]
      if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == 0xE2 { return true }
      index += 1
    }
    return false
  }

  public mutating func appendInteger(_ number: Int64) {
    guard number != Int64.min else { return appendRaw(String(number)) }
    var magnitude = number < 0 ? -number : number
    if number < 0 { bytes.append(UInt8(ascii: "-")) }
    var digits:
      (
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
      ) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    withUnsafeMutableBytes(of: &digits) { buffer in
      repeat {
        buffer[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
        magnitude /= 10
        count += 1
      } while magnitude > 0
      bytes.append(contentsOf: buffer[(20 - count)...])
    }
  }

  /// A typed value, as `JSONText.value` writes it.
  public mutating func appendValue(_ value: FieldValue) {
    switch value {
    case .null: appendRaw("null")
    case .string(let text): appendString(text)
    case .integer(let number), .optionSet(let number): appendInteger(number)
    case .decimal(let number): appendRaw(JSONText.decimal(number))
    case .boolean(let flag): appendRaw(flag ? "true" : "false")
    case .dateTime(let instant): appendTimestamp(instant)
    case .date(let date): appendString(date.description)
    case .multiSelect(let choices):
      bytes.append(UInt8(ascii: "["))
      for (index, choice) in choices.enumerated() {
        if index > 0 { bytes.append(UInt8(ascii: ",")) }
        appendInteger(choice)
      }
      bytes.append(UInt8(ascii: "]"))
    case .lookup(let lookup):
      appendRaw("{\"entity\":")
      if let entity = lookup.entity { appendString(entity) } else { appendRaw("null") }
      appendRaw(",\"id\":")
      appendString(lookup.id.description)
      bytes.append(UInt8(ascii: "}"))
    case .guid(let id): appendString(id.description)
    }
  }

  /// An object of `members`, keys in sorted order, each value written by `appendValue`.
  public mutating func appendObject<Value>(
    _ members: [(String, Value)], _ appendValue: (inout JSONBytes, Value) -> Void
  ) {
    bytes.append(UInt8(ascii: "{"))
    for (index, member) in members.sorted(by: { $0.0 < $1.0 }).enumerated() {
      if index > 0 { bytes.append(UInt8(ascii: ",")) }
      appendString(member.0)
      bytes.append(UInt8(ascii: ":"))
      appendValue(&self, member.1)
    }
    bytes.append(UInt8(ascii: "}"))
  }

  /// An object of `fields`, in their order, which is the order `appendObject` sorts keys in (`Fields` keeps its
  /// members sorted by name): no copy, no sort.
  public mutating func appendObject(_ fields: Fields, _ appendValue: (inout JSONBytes, FieldValue) -> Void) {
    bytes.append(UInt8(ascii: "{"))
    var first = true
    for (key, value) in fields {
      if !first { bytes.append(UInt8(ascii: ",")) }
      first = false
      appendString(key)
      bytes.append(UInt8(ascii: ":"))
      appendValue(&self, value)
    }
    bytes.append(UInt8(ascii: "}"))
  }

  /// An instant as a JSON string literal, written straight into the bytes as `Timestamp.description` spells it:
  /// digits and separators, nothing to escape (a fraction of anything but digits goes through `appendString`).
  public mutating func appendTimestamp(_ instant: Timestamp) {
    guard instant.fraction.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
      return appendString(instant.description)
    }
    bytes.append(UInt8(ascii: "\""))
    instant.appendDescription(to: &bytes)
    bytes.append(UInt8(ascii: "\""))
  }

  /// An id as a JSON string literal, written straight into the bytes, as `GUID.description` spells it.
  public mutating func appendID(_ id: GUID) {
    bytes.append(UInt8(ascii: "\""))
    id.appendDescription(to: &bytes)
    bytes.append(UInt8(ascii: "\""))
  }

  /// A record image, as `JSONText.image` writes it.
  public mutating func appendImage(_ record: Record) {
    // The columns in their order (by name), and the labels slotted in where "@labels" sorts.
    var labelsDue = !record.labels.isEmpty
    var separatorDue = false
    func appendMember(_ key: String, _ appendValue: (inout JSONBytes) -> Void) {
      if separatorDue { bytes.append(UInt8(ascii: ",")) }
      separatorDue = true
      appendString(key)
      bytes.append(UInt8(ascii: ":"))
      appendValue(&self)
    }
    func appendLabels() {
      appendMember("@labels") { json in
        json.appendObject(record.labels.map { ($0.key, $0.value) }) { json, label in json.appendString(label) }
      }
      labelsDue = false
    }
    bytes.append(UInt8(ascii: "{"))
    for field in record.fields {
      if labelsDue, "@labels" < field.key { appendLabels() }
      appendMember(field.key) { json in json.appendValue(field.value) }
    }
    if labelsDue { appendLabels() }
    bytes.append(UInt8(ascii: "}"))
  }
}
