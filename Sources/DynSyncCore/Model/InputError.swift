/// An error whose description is the whole message a user needs: what, where, why.
public protocol UserFacingError: Error, CustomStringConvertible {}

/// Bad input, said once and said precisely: which file, where in it, which record, and why.
///
/// The same type describes a record that was skipped (a reject) and a document that could not be
/// read at all; `description` is the message a user sees.
public struct InputError: UserFacingError, Sendable, Equatable {
  public var file: String
  public var line: Int?
  public var column: Int?
  public var entity: String?
  public var recordID: String?
  public var reason: String

  public init(
    file: String, line: Int? = nil, column: Int? = nil, entity: String? = nil,
    recordID: String? = nil, reason: String
  ) {
    self.file = file
    self.line = line
    self.column = column
    self.entity = entity
    self.recordID = recordID
    self.reason = reason
  }

  public init(at position: SourcePosition, entity: String? = nil, recordID: String? = nil, reason: String) {
    self.init(
      file: position.file, line: position.line, column: position.column, entity: entity,
      recordID: recordID, reason: reason)
  }

  public var description: String {
    var text = SourcePosition(file: file, line: line, column: column).description
    var subject: [String] = []
    if let entity { subject.append(entity) }
    if let recordID { subject.append("record \(recordID)") }
    if !subject.isEmpty { text += ": " + subject.joined(separator: " ") }
    return text + ": " + reason
  }
}
