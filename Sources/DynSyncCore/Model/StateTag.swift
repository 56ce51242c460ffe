/// The type tags of the workspace's state files, where every value is written as `["tag", …]`.
public enum StateTag: String, Sendable, CaseIterable {
  case string = "s"
  case integer = "i"
  case decimal = "d"
  case boolean = "b"
  case dateTime = "t"
  case date = "D"
  case optionSet = "o"
  case multiSelect = "m"
  case lookup = "l"
  case guid = "g"

  /// The tag's one ASCII letter, as it is written (a switch: the raw value's string costs a release each time).
  public var letter: UInt8 {
    switch self {
    case .string: UInt8(ascii: "s")
    case .integer: UInt8(ascii: "i")
    case .decimal: UInt8(ascii: "d")
    case .boolean: UInt8(ascii: "b")
    case .dateTime: UInt8(ascii: "t")
    case .date: UInt8(ascii: "D")
    case .optionSet: UInt8(ascii: "o")
    case .multiSelect: UInt8(ascii: "m")
    case .lookup: UInt8(ascii: "l")
    case .guid: UInt8(ascii: "g")
    }
  }

  /// The tag written as these UTF-8 bytes (one ASCII letter).
  public init?(utf8 bytes: UnsafeBufferPointer<UInt8>) {
    guard bytes.count == 1 else { return nil }
    self.init(letter: bytes[0])
  }

  /// The tag of its one letter.
  public init?(letter: UInt8) {
    switch letter {
    case UInt8(ascii: "s"): self = .string
    case UInt8(ascii: "i"): self = .integer
    case UInt8(ascii: "d"): self = .decimal
    case UInt8(ascii: "b"): self = .boolean
    case UInt8(ascii: "t"): self = .dateTime
    case UInt8(ascii: "D"): self = .date
    case UInt8(ascii: "o"): self = .optionSet
    case UInt8(ascii: "m"): self = .multiSelect
    case UInt8(ascii: "l"): self = .lookup
    case UInt8(ascii: "g"): self = .guid
    default: return nil
    }
  }

  /// The value of a tag whose payload is a number, an instant, a date or an id, from the payload's UTF-8 bytes
  /// (`nil` for any other tag, or bytes that are not such a value): no text is made to be parsed.
  public static func decode(_ tag: StateTag, utf8 bytes: UnsafeBufferPointer<UInt8>) -> FieldValue? {
    switch tag {
    case .integer: return wholeNumber(bytes).map(FieldValue.integer)
    case .optionSet: return wholeNumber(bytes).map(FieldValue.optionSet)
    case .dateTime: return Timestamp(isoUTF8: bytes).map(FieldValue.dateTime)
    case .date: return CalendarDate(bytes).map(FieldValue.date)
    case .guid: return GUID(utf8: UnsafeRawBufferPointer(bytes)).map(FieldValue.guid)
    case .string, .decimal, .boolean, .multiSelect, .lookup: return nil
    }
  }

  /// A whole number as `Int64(_:)` reads text: an optional sign, then decimal digits, within range.
  public static func wholeNumber(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
    guard let first = bytes.first else { return nil }
    let negative = first == UInt8(ascii: "-")
    let digits = first == UInt8(ascii: "-") || first == UInt8(ascii: "+") ? bytes.dropFirst() : bytes[...]
    guard !digits.isEmpty else { return nil }
    var value: Int64 = 0
    for byte in digits {
      guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
      let digit = Int64(byte - UInt8(ascii: "0"))
      // Built negative, so that Int64.min reads too.
      let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
      let (next, underflow) = shifted.subtractingReportingOverflow(digit)
      guard !overflow, !underflow else { return nil }
      value = next
    }
    if negative { return value }
    let (positive, overflow) = Int64(0).subtractingReportingOverflow(value)
    return overflow ? nil : positive
  }
}
