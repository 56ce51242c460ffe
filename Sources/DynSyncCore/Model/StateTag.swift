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

  /// The value of a tag whose payload is one text (every tag but boolean, multi-select, lookup).
  public static func decode(_ tag: StateTag, _ text: String) -> FieldValue? {
    switch tag {
    case .string: return .string(text)
    case .integer: return Int64(text).map(FieldValue.integer)
    case .decimal: return ExactDecimal(text).map(FieldValue.decimal)
    case .dateTime: return Timestamp(iso: text).map(FieldValue.dateTime)
    case .date: return CalendarDate(text).map(FieldValue.date)
    case .optionSet: return Int64(text).map(FieldValue.optionSet)
    case .guid: return GUID(text).map(FieldValue.guid)
    case .boolean, .multiSelect, .lookup: return nil
    }
  }
}
