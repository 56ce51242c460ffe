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

  /// The scan's skip over plain bytes stops at the first byte that is not, or with fewer than eight bytes left (which
  /// the scan then looks at one by one).
  @Test("the plain start of a string is skipped up to the byte that ends it, at every length and place of that byte")
  func plainPrefix() {
    // Each byte that ends a plain run, and plain ones of either side of the bounds the scan tests for.
    let ending: [UInt8] = [UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x00, 0x1F, 0x80, 0xC3, 0xFF]
    let plain: [UInt8] = [0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F, UInt8(ascii: "a")]
    var random = SeededGenerator(seed: 7)
    for length in 0...40 {
      for end in ending {
        for place in 0...length {
          var bytes = (0..<length).map { _ in plain[Int.random(in: 0..<plain.count, using: &random)] }
          if place < length { bytes[place] = end }
          for start in [0, min(3, length)] {
            let found = bytes.withUnsafeBytes { JSONObjectScan.plainPrefix(of: $0, from: start) }
            let plainLength = (bytes[start...].firstIndex { !plain.contains($0) } ?? length) - start
            #expect(found <= plainLength, "\(bytes) from \(start)")
            #expect(found == plainLength || length - start - found < 8, "\(bytes) from \(start)")
          }
        }
      }
    }
  }
}
