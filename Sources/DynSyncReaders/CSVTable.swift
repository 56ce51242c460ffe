/// A CSV text as a header and rows of cells, RFC 4180 quoting, each row with the line it starts on.
public struct CSVTable: Sendable {
  public var header: [String] = []
  public var rows: [[String]] = []
  /// The line each row starts on (the header is line 1).
  public var lines: [Int] = []

  public init(_ text: String) {
    var records: [[String]] = []
    var starts: [Int] = []
    var record: [String] = []
    var cell = ""
    var quoted = false
    var line = 1
    var recordStart = 1
    var characters = Array(text)[...]
    while let character = characters.popFirst() {
      if quoted {
        if character == "\"" {
          if characters.first == "\"" {
            characters.removeFirst()
            cell.append("\"")
          } else {
            quoted = false
          }
        } else {
          if character == "\n" || character == "\r\n" { line += 1 }
          cell.append(character)
        }
        continue
      }
      switch character {
      case "\"": quoted = true
      case ",":
        record.append(cell)
        cell = ""
      case "\r\n", "\n":
        record.append(cell)
        records.append(record)
        starts.append(recordStart)
        record = []
        cell = ""
        line += 1
        recordStart = line
      default: cell.append(character)
      }
    }
    if !cell.isEmpty || !record.isEmpty {
      record.append(cell)
      records.append(record)
      starts.append(recordStart)
    }
    header = records.first ?? []
    rows = Array(records.dropFirst())
    lines = Array(starts.dropFirst())
  }
}
