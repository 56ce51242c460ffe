/// A file an indexing read leaves to a full read: one that holds something only a full read
/// handles as it should, such as a malformed document (whose error a full read reports precisely).
public struct IndexUnavailable: Error, Sendable, CustomStringConvertible {
  public var path: String
  public var reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  public var description: String { "\(path): read in full: \(reason)" }
}
