import DynSyncCore

/// The import-ready Marketo files of a batch, under `marketo/`, written in load order (sales
/// users → teams → companies → persons → opportunities → roles → custom objects).
///
/// Persons and custom objects are CSV in Marketo's bulk-import form: a header of REST API names,
/// UTF-8, each file under `csvByteLimit` (split by bytes, every part with its header). The other
/// datasets are NDJSON, one row per line, keys sorted. A dataset with no rows writes no file.
public enum MarketoFiles {
  /// Marketo's bulk import takes files up to 10 MB; parts stay under this many bytes.
  public static let csvByteLimit = 10_000_000

  public static func write(
    _ datasets: MarketoDatasets, to writer: BatchWriter, csvByteLimit: Int = csvByteLimit
  ) throws(OutputError) -> [Manifest.Artifact] {
    var artifacts: [Manifest.Artifact] = []
    for (name, dataset) in datasets.inLoadOrder where !dataset.rows.isEmpty {
      if name == "persons" || name.hasPrefix("customObjects/") {
        let base =
          name == "persons"
          ? "marketo/persons"
          : "marketo/custom-objects/" + BatchWriter.safeFileName(String(name.dropFirst("customObjects/".count)))
        let header = csvHeader(dataset, first: name == "persons" ? MarketoField.personID : MarketoField.recordID)
        let parts = csvParts(dataset, header: header, limit: csvByteLimit)
        for (index, part) in parts.enumerated() {
          artifacts.append(
            try writer.writeLines(base + "-" + String(index + 1, zeroPaddedTo: 3) + ".csv") {
              emit throws(OutputError) in
              for line in part { try emit(line) }
            })
        }
      } else {
        artifacts.append(
          try writer.writeLines("marketo/\(name).ndjson") { emit throws(OutputError) in
            for key in dataset.sortedKeys {
              guard let row = dataset.rows[key] else { continue }
              try emit(JSONText.object(row.map { ($0.key, JSONText.value($0.value)) }) + "\n")
            }
          })
      }
    }
    return artifacts
  }

  /// The column order: the key column first, then every other field by name.
  static func csvHeader(_ dataset: MarketoDataset, first: String) -> [String] {
    [first] + dataset.fieldNames.filter { $0 != first }
  }

  /// The CSV lines grouped into files of at most `limit` bytes each, the header leading every file.
  static func csvParts(_ dataset: MarketoDataset, header: [String], limit: Int) -> [[String]] {
    let headerLine = header.map(csvCell).joined(separator: ",") + "\r\n"
    var parts: [[String]] = []
    var current: [String] = [headerLine]
    var size = headerLine.utf8.count
    for key in dataset.sortedKeys {
      guard let row = dataset.rows[key] else { continue }
      let line = header.map { csvCell(MarketoValues.text(row[$0] ?? .null)) }.joined(separator: ",") + "\r\n"
      if size + line.utf8.count > limit, current.count > 1 {
        parts.append(current)
        current = [headerLine]
        size = headerLine.utf8.count
      }
      current.append(line)
      size += line.utf8.count
    }
    if current.count > 1 || parts.isEmpty { parts.append(current) }
    return parts
  }

  /// A cell as RFC 4180 wants it: quoted when it holds a comma, quote, line break or edge space.
  static func csvCell(_ text: String) -> String {
    let needsQuotes =
      text.unicodeScalars.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }
      || text.first == " " || text.last == " "
    guard needsQuotes else { return text }
    var quoted = "\""
    for character in text {
      if character == "\"" { quoted += "\"\"" } else { quoted.append(character) }
    }
    return quoted + "\""
  }

}
