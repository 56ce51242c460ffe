// libFuzzer entry for dynsync's readers, built by Scripts/fuzz.sh (not a package target: libFuzzer
// supplies `main`). The first input byte picks the reader (Web API JSON, FetchXML, CMT data.xml,
// Marketo changes CSV, CMT data.zip); the rest is the file's content. A Web API, FetchXML or CMT
// file also goes through its index pass, and the rows indexed are read again from their bytes; a CMT
// file is also indexed in parts. Any
// input must end in records, rejects or an InputError — never a crash, a hang or a leak.
import DynSyncCore
import DynSyncReaders
import Foundation

private let folder = NSTemporaryDirectory() + "dynsync-fuzz-\(getpid())"
private let schemaText = """
  <entities><entity name="account" primaryidfield="accountid"><fields>
  <field name="accountid" type="guid"/><field name="name" type="string"/><field name="revenue" type="money"/>
  <field name="numberofemployees" type="number"/><field name="ownerid" type="owner"/><field name="createdon" type="datetime"/>
  <field name="new_interests" type="optionsetvaluecollection"/><field name="creditonhold" type="bool"/>
  </fields></entity><entity name="team" primaryidfield="teamid"><fields>
  <field name="teamid" type="guid"/><field name="name" type="string"/></fields><relationships>
  <relationship name="teammembership_association" manyToMany="true" relatedEntityName="teammembership"
    m2mTargetEntity="systemuser" m2mTargetEntityPrimaryKey="systemuserid"/></relationships></entity></entities>
  """

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReaders(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size > 0 else { return 0 }
  try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
  let content = Data(bytes: data + 1, count: size - 1)
  let reader = data[0] % 5
  let path = folder + ["/input.json", "/input.xml", "/input.xml", "/changes.csv", "/data.zip"][Int(reader)]
  try? content.write(to: URL(fileURLWithPath: path))
  switch reader {
  case 0:
    let webAPI = WebAPIReader(path: path)
    _ = try? webAPI.read { _ in }
    var rows = IndexedRows()
    if let (_, context) = try? webAPI.index(file: 0, { rows.add($0) }) {
      for (entity, indexed) in rows.byEntity { _ = try? webAPI.decode(indexed, context: context, entity: entity) }
    }
  case 1:
    let fetchXML = FetchXMLReader(path: path, entity: "account")
    _ = try? fetchXML.read { _ in }
    var rows = IndexedRows()
    if (try? fetchXML.index(file: 0, { rows.add($0) })) != nil {
      for (entity, indexed) in rows.byEntity { _ = try? fetchXML.decode(indexed, entity: entity) }
    }
  case 2:
    let schemaPath = folder + "/data_schema.xml"
    try? Data(schemaText.utf8).write(to: URL(fileURLWithPath: schemaPath))
    guard let schema = try? CMTSchema(path: schemaPath) else { break }
    let cmt = CMTReader(path: path, schema: schema)
    _ = try? cmt.read { _ in }
    var rows = IndexedRows()
    if (try? cmt.index(file: 0, { rows.add($0) })) != nil {
      for (entity, indexed) in rows.byEntity { _ = try? cmt.decode(indexed, entity: entity) }
    }
    // The file cut in parts, each indexed as a document of its own.
    for part in (try? cmt.indexParts(size: 256)) ?? [] { _ = try? cmt.index(part: part, file: 0, { _ in }) }
  case 3: _ = try? MarketoChangesReader.read(path)
  default: _ = try? ExportInput.read(ExportFile(path: path, format: .configurationMigration)) { _ in }
  }
  return 0
}

/// The rows an index pass handed on, by table.
private struct IndexedRows {
  var byEntity: [String: [IndexedRow]] = [:]

  mutating func add(_ event: IndexEvent) {
    if case .row(let entity, let row) = event { byEntity[entity, default: []].append(row) }
  }
}
