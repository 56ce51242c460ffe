import DynSyncCore

/// The writes for Dynamics, under `outbound/dynamics/`.
///
/// - `<entityset>.ndjson`: one line per record, `method` (POST or PATCH), `path` (`leads(<id>)`),
///   `personId`, and `body` with only the columns to write, typed as the Web API wants them
///   (choices as integers, lookups as `@odata.bind`);
/// - `batch.http`: the same requests as a multipart `$batch` body in one change set; Dataverse
///   takes at most 1,000 requests per batch, so more go on in `batch-002.http`, `batch-003.http`, ….
public enum OutboundFiles {
  public static let apiPath = "/api/data/v9.2/"
  public static let requestsPerBatch = 1_000

  public static func write(_ writes: [OutboundWrite], to writer: BatchWriter) throws(OutputError) -> [Manifest.Artifact]
  {
    guard !writes.isEmpty else { return [] }
    let sorted = writes.sorted { ($0.entity, $0.id) < ($1.entity, $1.id) }
    var artifacts: [Manifest.Artifact] = []
    for entity in Set(sorted.map(\.entity)).sorted() {
      artifacts.append(
        try writer.writeLines(
          "outbound/dynamics/\(BatchWriter.safeFileName(DataverseCatalog.setName(of: entity))).ndjson"
        ) {
          emit throws(OutputError) in
          for write in sorted where write.entity == entity {
            try emit(
              JSONText.object([
                ("method", JSONText.string(write.method.rawValue)), ("path", JSONText.string(path(write))),
                ("personId", String(write.personID)), ("body", body(write)),
              ]) + "\n")
          }
        })
    }
    var start = 0
    var part = 1
    while start < sorted.count {
      let requests = Array(sorted[start..<min(start + requestsPerBatch, sorted.count)])
      let name = part == 1 ? "batch.http" : "batch-" + String(part, zeroPaddedTo: 3) + ".http"
      artifacts.append(try writer.write("outbound/dynamics/" + name, batchBody(requests, part: part)))
      start += requestsPerBatch
      part += 1
    }
    return artifacts
  }

  /// A multipart `$batch` body: one change set, each request with its Content-ID.
  public static func batchBody(_ writes: [OutboundWrite], part: Int) -> String {
    let batch = "batch_dynsync_" + String(part, zeroPaddedTo: 3)
    let changeSet = "changeset_dynsync_" + String(part, zeroPaddedTo: 3)
    var lines = ["--" + batch, "Content-Type: multipart/mixed; boundary=" + changeSet, ""]
    for (index, write) in writes.enumerated() {
      let content = body(write)
      lines += [
        "--" + changeSet, "Content-Type: application/http", "Content-Transfer-Encoding: binary",
        "Content-ID: \(index + 1)", "",
        "\(write.method.rawValue) \(apiPath)\(write.method == .create ? DataverseCatalog.setName(of: write.entity) : path(write)) HTTP/1.1",
        "Content-Type: application/json; type=entry", "Content-Length: \(content.utf8.count)", "", content,
      ]
    }
    lines += ["--" + changeSet + "--", "--" + batch + "--", ""]
    return lines.joined(separator: "\r\n")
  }

  public static func path(_ write: OutboundWrite) -> String {
    write.method == .create
      ? DataverseCatalog.setName(of: write.entity) : "\(DataverseCatalog.setName(of: write.entity))(\(write.id))"
  }

  /// The JSON body: Dataverse logical names, Web API types, the primary id for a create.
  static func body(_ write: OutboundWrite) -> String {
    var members: [(String, String)] = write.fields.map { field, value in
      if case .lookup(let lookup) = value, let target = lookup.entity {
        return ("\(field)@odata.bind", JSONText.string("/\(DataverseCatalog.setName(of: target))(\(lookup.id))"))
      }
      if case .multiSelect(let choices) = value {
        return (field, JSONText.string(choices.map { String($0) }.joined(separator: ",")))
      }
      return (field, JSONText.value(value))
    }
    if write.method == .create {
      members.append((DataverseCatalog.primaryIDField(of: write.entity), JSONText.string(write.id.description)))
    }
    return JSONText.object(members)
  }
}

extension BatchLines {
  /// A conflict: the record and person, the field on both sides, both values and the winner.
  public static func conflict(_ conflict: Conflict) -> String {
    JSONText.object([
      ("entity", JSONText.string(conflict.entity)), ("id", JSONText.string(conflict.id.description)),
      ("personId", String(conflict.personID)), ("field", JSONText.string(conflict.field)),
      ("marketoField", JSONText.string(conflict.marketoField)), ("marketoValue", JSONText.value(conflict.marketoValue)),
      ("dynamicsValue", JSONText.value(conflict.dynamicsValue)), ("winner", JSONText.string(conflict.winner)),
      ("rule", JSONText.string(conflict.rule)),
    ]) + "\n"
  }
}
