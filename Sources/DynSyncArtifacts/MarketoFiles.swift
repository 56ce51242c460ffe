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

  /// Writes the import files of `datasets`, in load order.
  ///
  /// - Parameters:
  ///   - datasets: the rows to import.
  ///   - writer: the batch being built.
  ///   - csvByteLimit: the most bytes a CSV file may hold.
  /// - Returns: the files' entries for the manifest, in load order.
  /// - Throws: `OutputError` when a file cannot be written.
  public static func write(
    _ datasets: MarketoDatasets, to writer: BatchWriter, csvByteLimit: Int = csvByteLimit
  ) throws(OutputError) -> [Manifest.Artifact] {
    var artifacts: [Manifest.Artifact] = []
    for (name, dataset) in datasets.inLoadOrder where !dataset.rows.isEmpty {
      let rows = dataset.rows
      if name == "persons" || name.hasPrefix("customObjects/") {
        let base =
          name == "persons"
          ? "marketo/persons"
          : "marketo/custom-objects/" + BatchWriter.safeFileName(String(name.dropFirst("customObjects/".count)))
        let header = csvHeader(dataset, first: name == "persons" ? MarketoField.personID : MarketoField.recordID)
        artifacts += try writeCSV(dataset, header: header, limit: csvByteLimit, to: writer) { part in
          base + "-" + String(part, zeroPaddedTo: 3) + ".csv"
        }
      } else {
        let file = try writer.openFile("marketo/\(name).ndjson")
        // Members in name order, as `JSONText.object` sorts them: a row's order.
        try file.write(
          linesOf: dataset.sortedKeys,
          appending: { key, json in
            guard let row = rows[key] else { return }
            json.appendObject(row) { json, value in json.appendValue(value) }
            json.appendASCII(UInt8(ascii: "\n"))
          })
        artifacts.append(try file.finish())
      }
    }
    return artifacts
  }

  /// The column order: the key column first, then every other field by name.
  static func csvHeader(_ dataset: MarketoDataset, first: String) -> [String] {
    [first] + dataset.fieldNames.filter { $0 != first }
  }

  /// Writes the rows as CSV files of at most `limit` bytes each (a row longer than that alone in its file), the
  /// header leading every file; the lines are made on every core and written as they come.
  ///
  /// - Parameters:
  ///   - dataset: the rows, written in key order.
  ///   - header: the columns, in order.
  ///   - limit: the most bytes a file may hold.
  ///   - writer: the batch being built.
  ///   - path: the path of the file of a part, by its number from 1.
  /// - Returns: the files' entries for the manifest, in part order.
  /// - Throws: `OutputError` when a file cannot be written.
  static func writeCSV(
    _ dataset: MarketoDataset, header: [String], limit: Int, to writer: BatchWriter, path: (Int) -> String
  ) throws(OutputError) -> [Manifest.Artifact] {
    let headerLine = csvLine(header)
    let rows = dataset.rows
    var artifacts: [Manifest.Artifact] = []
    var file: LinesFile?
    var size = 0
    var rowsInPart = 0
    func startPart() throws(OutputError) {
      if let file { artifacts.append(try file.finish()) }
      let next = try writer.openFile(path(artifacts.count + 1))
      try next.write(headerLine)
      file = next
      size = headerLine.utf8.count
      rowsInPart = 0
    }
    try startPart()
    try forEachBlockOfLines(of: dataset.sortedKeys, remembering: HeaderPlaces(header: header)) {
      key, places, line in
      guard let row = rows[key] else { return }
      appendCSVLine(of: row, &places, to: &line)
    } _: { (block: LineBlock) throws(OutputError) in
      try block.withBytes { (bytes) throws(OutputError) in
        for place in block.ends.indices {
          let line = block.lines(of: place)
          guard !line.isEmpty else { continue }
          if size + line.count > limit, rowsInPart > 0 { try startPart() }
          try file?.write(lines: UnsafeRawBufferPointer(rebasing: bytes[line]))
          size += line.count
          rowsInPart += 1
        }
      }
    }
    if let file { artifacts.append(try file.finish()) }
    return artifacts
  }

  /// One CSV line of cells, with its line break (see `appendCell(text:to:)`).
  static func csvLine(_ cells: [String]) -> String {
    var line = JSONBytes(capacity: cells.reduce(2) { $0 + $1.utf8.count + 1 })
    for (position, cell) in cells.enumerated() {
      if position > 0 { line.appendASCII(UInt8(ascii: ",")) }
      appendCell(text: cell, to: &line)
    }
    line.appendSyntax("\r\n")
    return line.text
  }

  /// Appends the CSV line of a row's values, as Marketo shows them (`MarketoValues.text`; none is an empty cell),
  /// with its line break: each value written where the line is made, with no string made for a cell that is not one
  /// already (the import files of a large run are millions of cells).
  static func appendCSVLine(of row: MarketoRow, _ places: inout HeaderPlaces, to line: inout JSONBytes) {
    var first = true
    row.forEachValue(in: &places) { value in
      if !first { line.appendASCII(UInt8(ascii: ",")) }
      first = false
      guard let value else { return }
      switch value {
      case .null: return
      case .integer(let number), .optionSet(let number): return line.appendInteger(number)
      case .string(let text): return appendCell(text: text, to: &line)
      // Written as `MarketoValues.text` spells them, straight into the line: no cell of these needs quotes. An instant
      // or an amount in another form falls through to its text.
      case .boolean(let flag): return line.appendSyntax(flag ? "true" : "false")
      case .guid(let id): return line.appendID(id, quoted: false)
      case .lookup(let lookup): return line.appendID(lookup.id, quoted: false)
      case .dateTime(let instant): if line.appendPlainTimestamp(instant, quoted: false) { return }
      case .decimal(let amount): if amount.withPlainWholeDigits({ line.appendUTF8($0) }) != nil { return }
      case .date, .multiSelect: break
      }
      appendCell(text: MarketoValues.text(value), to: &line)
    }
    line.appendSyntax("\r\n")
  }

  /// Whether a cell's bytes hold a comma, quote or line break: eight bytes looked at together, where a byte at a
  /// time took four comparisons of each of the millions of bytes a large run's import files hold.
  static func holdsQuotedByte(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = bytes.baseAddress else { return false }
    let raw = UnsafeRawPointer(base)
    func holdsQuoted(_ word: UInt64) -> Bool {
      // A match found this way is a match: only bytes after the first can be marked wrongly.
      ByteWord.bytes(equalTo: UInt8(ascii: ","), in: word) | ByteWord.bytes(equalTo: UInt8(ascii: "\""), in: word)
        | ByteWord.bytes(equalTo: UInt8(ascii: "\n"), in: word) | ByteWord.bytes(equalTo: UInt8(ascii: "\r"), in: word)
        != 0
    }
    var cursor = 0
    if bytes.count >= 8 {
      while cursor + 8 <= bytes.count {
        if holdsQuoted(ByteWord.load(raw, at: cursor)) { return true }
        cursor += 8
      }
      // The last eight bytes, overlapping some already looked at, rather than a byte at a time.
      return cursor < bytes.count && holdsQuoted(ByteWord.load(raw, at: bytes.count - 8))
    }
    return bytes[cursor...].contains {
      $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r")
    }
  }

  /// Appends one cell as RFC 4180 wants it: quoted when it holds a comma, quote or line break, or starts or ends with
  /// a space, and a quote inside doubled.
  static func appendCell(text: String, to line: inout JSONBytes) {
    text.withUTF8Bytes { bytes in
      let needsQuotes =
        holdsQuotedByte(bytes)
        || (bytes.first == UInt8(ascii: " ") && text.first == " ")
        || (bytes.last == UInt8(ascii: " ") && text.last == " ")
      guard needsQuotes else { return line.appendUTF8(bytes) }
      line.appendASCII(UInt8(ascii: "\""))
      for byte in bytes {
        line.appendASCII(byte)
        if byte == UInt8(ascii: "\"") { line.appendASCII(byte) }
      }
      line.appendASCII(UInt8(ascii: "\""))
    }
  }

}
