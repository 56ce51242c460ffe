import DynSyncCore
import Foundation

/// Reads a Marketo-side changes file: a Marketo lead export as CSV (header of REST API names,
/// `id` = person id, `updatedAt`) or the same rows as NDJSON.
public enum MarketoChangesReader {
  public static func read(_ path: String) throws -> (edits: [MarketoEdit], rejects: [InputError]) {
    try FileBytes.requireRegularFile(path)
    if path.lowercased().hasSuffix(".ndjson") || path.lowercased().hasSuffix(".jsonl") { return try readNDJSON(path) }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw InputError(file: path, reason: "cannot read the Marketo changes file")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw InputError(file: path, reason: "the Marketo changes file is not UTF-8")
    }
    let table = CSVTable(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text)
    guard table.header.contains("id") else {
      throw InputError(file: path, line: 1, reason: "the header has no \"id\" column (the Marketo person id)")
    }
    var edits: [MarketoEdit] = []
    var rejects: [InputError] = []
    for (index, row) in table.rows.enumerated() {
      let position = SourcePosition(file: path, line: table.lines[index])
      guard row.count == table.header.count else {
        rejects.append(
          InputError(at: position, reason: "the row has \(row.count) cells, the header \(table.header.count)"))
        continue
      }
      let values = Dictionary(zip(table.header, row), uniquingKeysWith: { first, _ in first })
      edits.append(edit(values, at: position))
    }
    return (edits, rejects)
  }

  static func readNDJSON(_ path: String) throws -> (edits: [MarketoEdit], rejects: [InputError]) {
    let lexer = try JSONLexer(path: path)
    var edits: [MarketoEdit] = []
    var rejects: [InputError] = []
    while try lexer.peekToken() != nil {
      let raw = try RawJSONRecord.read(from: lexer)
      let position = SourcePosition(file: path, line: raw.line, column: raw.column)
      var values: [String: String] = [:]
      for member in raw.members {
        switch member.value {
        case .string(let text), .number(let text): values[member.name] = text
        case .bool(let flag): values[member.name] = flag ? "true" : "false"
        case .null: values[member.name] = ""
        case .nested: continue
        }
      }
      guard values["id"] != nil else {
        rejects.append(InputError(at: position, reason: "the row has no \"id\" (the Marketo person id)"))
        continue
      }
      edits.append(edit(values, at: position))
    }
    return (edits, rejects)
  }

  static func edit(_ values: [String: String], at position: SourcePosition) -> MarketoEdit {
    MarketoEdit(
      personID: values["id"] ?? "", values: values, updatedAt: values["updatedAt"].flatMap { Timestamp(iso: $0) },
      position: position)
  }
}
