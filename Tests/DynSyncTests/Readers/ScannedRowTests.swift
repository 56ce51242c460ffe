import DynSyncCore
import Testing

@testable import DynSyncReaders

@Suite("Rows read from the quick scan's members")
struct ScannedRowTests {
  /// Rows a full read now takes from the scan's members: each must read as reading it token by token does.
  static let rows = [
    #"{"a":"plain","b":1,"c":-2.50e3,"d":true,"e":false,"f":null}"#,
    #"{"name":"Fabrikam \"West\" \u00e9tude \ud83d\ude00","tab":"a\tb\\c\/d"}"#,
    #"{"n\u0061me":"escaped key","x":[1,{"y":2}],"z":{"k":[]}}"#,
    #"{ "spaced" : "out" ,"lines":"a"}"#,
    #"{"dup":1,"dup":2}"#,
    #"{"@odata.etag":"W/\"915244\"","_ownerid_value@OData.Community.Display.V1.FormattedValue":"Sam","_ownerid_value":"5a5a5a5a-0001-0000-0000-000000000001"}"#,
    #"{"ünïcode":"välue","emoji😀":"😀"}"#,
    #"{}"#,
  ]

  @Test("a row from the scan's members is the row read token by token", arguments: rows)
  func sameAsTokens(_ text: String) throws {
    let bytes = Array(text.utf8)
    try bytes.withUnsafeBytes { row in
      var scan = JSONObjectScan()
      try #require(scan.scan(row) == row.count)
      let scanned = try RawJSONRecord(
        scanned: row, members: scan.members, names: nil, path: "rows.json", offset: 0, line: 3, column: 5)
      let tokens = try RawJSONRecord.read(
        from: JSONLexer(bytes: row, path: "rows.json", offset: 0, line: 3, column: 5))
      #expect(scanned.members.map(\.name) == tokens.members.map(\.name))
      #expect(scanned.members.map(\.value) == tokens.members.map(\.value))
      #expect(scanned.duplicateKey == tokens.duplicateKey)
      #expect((scanned.line, scanned.column) == (tokens.line, tokens.column))
    }
  }
}
