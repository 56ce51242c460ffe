import DynSyncArtifacts
import DynSyncCore
import Testing

@testable import DynSyncReaders

@Suite("State lines read straight from their bytes")
struct PlainStateLineTests {
  static let origin = SourcePosition(file: "state.ndjson", line: 7)

  /// Records holding every kind of value, every way a line can hold it.
  static func records() throws -> [Record] {
    let id = GUID(naming: "plain-line")
    let other = GUID(naming: "plain-line-other")
    let fields: Fields = [
      "address1_city": .string("Lyon"), "description": .string("é and 東京 🎉"), "empty": .string(""),
      "big": .integer(Int64.min), "count": .integer(-42), "revenue": .decimal(try #require(ExactDecimal("-12.5000"))),
      "donotemail": .boolean(false), "active": .boolean(true),
      "modifiedon": .dateTime(try #require(Timestamp(iso: "2025-04-10T12:36:37.1234567Z"))),
      "birthdate": .date(try #require(CalendarDate("1956-03-05"))), "statecode": .optionSet(1),
      "interests": .multiSelect([1, 20, 300]), "none": .multiSelect([]), "cleared": .null,
      "ownerid": .lookup(Lookup(entity: "systemuser", id: other)), "parentid": .lookup(Lookup(entity: nil, id: other)),
      "uniqueid": .guid(other), "long_name_of_a_column_over_fifteen_bytes": .string(String(repeating: "x", count: 40)),
    ]
    return [
      Record(
        entity: "contact", id: id, fields: fields, labels: ["statecode": "Active"], version: 1_403_928, origin: origin),
      Record(entity: "contact", id: id, fields: fields, origin: origin),
      Record(entity: "account", id: id, origin: origin),
      Record(entity: "lead", id: id, fields: ["é_column": .string("x")], labels: ["a": "é"], origin: origin),
      Record(entity: "lead", id: id, fields: ["name": .string("tab\there and \"quotes\"")], origin: origin),
    ]
  }

  /// The record the JSON lexer reads from a line, or what it throws.
  static func lexed(_ line: [UInt8]) -> Result<Record?, Error> {
    Result {
      var names = StateReader.RecordNames()
      var read: Record?
      try line.withUnsafeBytes { bytes in
        let lexer = JSONLexer(bytes: bytes, path: origin.file, offset: 0, line: origin.line ?? 1, column: 1)
        try StateReader.record(lexer, path: origin.file, overlay: false, names: &names) { _, _, entry in
          if case .record(let record) = entry { read = record }
        }
        guard try lexer.peekToken() == nil else { throw lexer.error("more after the line") }
      }
      return read
    }
  }

  static func plain(_ line: [UInt8], names: inout StateReader.RecordNames) -> Record? {
    line.withUnsafeBytes { PlainStateLine.record($0, names: &names, origin: origin) }
  }

  /// Holds the rule for one line: read from its bytes, it is exactly what the lexer reads.
  static func expectSameAsLexer(_ line: [UInt8], names: inout StateReader.RecordNames) -> Bool {
    guard let plain = plain(line, names: &names) else { return false }
    guard case .success(let lexed?) = lexed(line) else {
      Issue.record("read from its bytes, but not by the lexer: \(String(decoding: line, as: UTF8.self))")
      return true
    }
    #expect(StateCodec.line(plain) == StateCodec.line(lexed), "\(String(decoding: line, as: UTF8.self))")
    #expect(plain.origin == lexed.origin)
    return true
  }

  static func bytes(_ record: Record) -> [UInt8] { Array(StateCodec.line(record).utf8.dropLast()) }

  @Test("a line as written is read from its bytes as the lexer reads it; one with an escape is left to the lexer")
  func linesAsWritten() throws {
    var names = StateReader.RecordNames()
    for record in try PlainStateLineTests.records() {
      let line = PlainStateLineTests.bytes(record)
      let read = PlainStateLineTests.expectSameAsLexer(line, names: &names)
      // Quotes in a string and a tab are written escaped; non-ASCII column names are left to the lexer.
      let escaped = line.contains(UInt8(ascii: "\\"))
      let nonASCIIName = record.fields.keys.contains { $0.utf8.contains { $0 >= 0x80 } }
      #expect(read == !(escaped || nonASCIIName), "\(String(decoding: line, as: UTF8.self))")
    }
  }

  @Test("a line written any other way is left to the lexer, or read from its bytes as the lexer reads it")
  func linesWrittenOtherwise() throws {
    let record = try PlainStateLineTests.records()[1]
    let line = String(decoding: PlainStateLineTests.bytes(record), as: UTF8.self)
    let variants: [String] = [
      line.replacingOccurrences(of: #""entity":"#, with: #""entity" :"#),
      line.replacingOccurrences(of: #"["s","Lyon"]"#, with: #"["x","Lyon"]"#),
      line.replacingOccurrences(of: #"["s","Lyon"]"#, with: "[\"s\",\"Ly\u{01}on\"]"),
      line.replacingOccurrences(of: #"["i","-42"]"#, with: #"["i","-4x2"]"#),
      line.replacingOccurrences(of: #"["i","-42"]"#, with: #"["i",-42]"#),
      line.replacingOccurrences(of: #"["b",true]"#, with: #"["b",yes]"#),
      line.replacingOccurrences(of: #""active""#, with: #""zactive""#),
      line.replacingOccurrences(of: #""big""#, with: #""active""#),
      line.replacingOccurrences(of: #"["m",[]]"#, with: #"["m",["1",]]"#),
      line.replacingOccurrences(of: #""uniqueid":["g","#, with: #""uniqueid":["g","{"#),
      line.replacingOccurrences(of: #","id":""#, with: #","id":"z"#),
      line.replacingOccurrences(of: #","id":"#, with: #","extra":1,"id":"#),
      line + " ",
      line + "x",
      String(line.dropLast()),
      String(line.dropLast(10)),
    ]
    let id = record.id.description
    let written: [String] = [
      #"{"entity":"contact","id":"\#(id)","removed":true}"#,
      #"{"entity":"contact","fields":{},"id":"\#(id)","version":"v1"}"#,
      #"{"entity":"contact","fields":{},"id":"\#(id)","labels":{"b":"x","a":"y"}}"#,
    ]
    var names = StateReader.RecordNames()
    var readFromBytes = 0
    for variant in variants + written where PlainStateLineTests.expectSameAsLexer(Array(variant.utf8), names: &names) {
      readFromBytes += 1
    }
    // Only the version that is no number is read from its bytes (no version, as the lexer reads it); labels out of
    // their written order are left to the lexer.
    #expect(readFromBytes == 1)
    var invalid = Array(line.utf8)
    invalid.insert(0xFF, at: try #require(invalid.firstIndex(of: UInt8(ascii: "L"))) + 1)
    #expect(PlainStateLineTests.plain(invalid, names: &names) == nil)
    guard case .failure = PlainStateLineTests.lexed(invalid) else {
      Issue.record("invalid UTF-8 read by the lexer")
      return
    }
  }

  @Test("a line changed at random is left to the lexer, or read from its bytes as the lexer reads it")
  func linesChangedAtRandom() throws {
    var random = SeededGenerator(seed: 17)
    let lines = try PlainStateLineTests.records().map(PlainStateLineTests.bytes)
    let alphabet = Array(#"{}[]",:0123456789-.aeilnrstuxzDTZ"#.utf8) + [0x01, 0x80, 0xC3, 0xFF, 0x20]
    var names = StateReader.RecordNames()
    var readFromBytes = 0
    for _ in 0..<3_000 {
      var line = lines[Int.random(in: 0..<lines.count, using: &random)]
      for _ in 0...Int.random(in: 0..<3, using: &random) {
        let place = Int.random(in: 0..<line.count, using: &random)
        switch Int.random(in: 0..<3, using: &random) {
        case 0: line[place] = alphabet[Int.random(in: 0..<alphabet.count, using: &random)]
        case 1: line.remove(at: place)
        default: line.insert(alphabet[Int.random(in: 0..<alphabet.count, using: &random)], at: place)
        }
      }
      if PlainStateLineTests.expectSameAsLexer(line, names: &names) { readFromBytes += 1 }
    }
    // Many changes keep the line readable (a digit for a digit, a letter in a string).
    #expect(readFromBytes > 100)
  }

  @Test("a state file read whole gives what the lexer alone reads from it, lines as written or not, and where")
  func wholeFiles() throws {
    let records = try PlainStateLineTests.records()
    let lines = records.map { StateCodec.line($0) }
    let plain = lines[0]
    let escaped = try #require(lines.last)
    // A line as written, one with escapes, an object over three lines, two objects on a line, a blank line, a line
    // with white space before it, and a last line with no line break.
    let pretty = plain.replacingOccurrences(of: #","fields":"#, with: ",\n\"fields\":\n")
    let contents =
      plain + escaped + pretty + lines[2].dropLast() + " " + plain + "\n" + "  " + lines[1] + String(plain.dropLast())
    let folder = try TemporaryFolder()
    let path = try folder.write("contact.ndjson", contents)
    func described(_ record: Record) -> String { StateCodec.line(record) + " at line \(record.origin.line ?? 0)" }
    var lexed: [String] = []
    try Array(contents.utf8).withUnsafeBytes { bytes in
      let lexer = JSONLexer(bytes: bytes, path: path, offset: 0, line: 1, column: 1)
      var names = StateReader.RecordNames()
      while try lexer.peekToken() != nil {
        try StateReader.record(lexer, path: path, overlay: false, names: &names) { _, _, entry in
          if case .record(let record) = entry { lexed.append(described(record)) }
        }
      }
    }
    var read: [String] = []
    try StateReader.records(in: path) { read.append(described($0)) }
    #expect(read.count == 7)
    #expect(read == lexed)
  }

  @Test("a name learned from a line before is taken where a line spells it only when it is plain and in order")
  func namesLearnedBefore() throws {
    let id = GUID(naming: "plain-line").description
    func line(_ fields: String) -> [UInt8] { Array(#"{"entity":"lead","fields":{\#(fields)},"id":"\#(id)"}"#.utf8) }
    /// Reads a line with the lexer into `names`, as a state file's lines left to it are.
    func lex(_ line: [UInt8], into names: inout StateReader.RecordNames) throws {
      try line.withUnsafeBytes { bytes in
        let lexer = JSONLexer(bytes: bytes, path: "lead.ndjson", offset: 0, line: 1, column: 1)
        try StateReader.record(lexer, path: "lead.ndjson", overlay: false, names: &names) { _, _, _ in }
      }
    }
    let descending = line(#""b":["s","x"],"a":["s","y"]"#)
    let quoted = line(#""a\"b":["s","x"]"#)
    var names = StateReader.RecordNames()
    // Names out of order, learned from a line the lexer reads, are both at their places on the next line: still out
    // of order, so the line is left to the lexer.
    try lex(descending, into: &names)
    #expect(PlainStateLineTests.plain(descending, names: &names) == nil)
    #expect(PlainStateLineTests.expectSameAsLexer(line(#""a":["s","y"],"b":["s","x"]"#), names: &names))
    // A name holding a quote is never taken where a line spells it: the line's string ends at the quote.
    try lex(quoted, into: &names)
    #expect(PlainStateLineTests.plain(line(#""a"b":["s","x"]"#), names: &names) == nil)
    // Names in order are taken where they are spelled, and a name changed at one place is read again there.
    var learned = StateReader.RecordNames()
    for fields in [#""a":["s","1"],"b":["s","2"],"c":["s","3"]"#, #""a":["s","1"],"bb":["s","2"],"c":["s","3"]"#] {
      #expect(PlainStateLineTests.expectSameAsLexer(line(fields), names: &learned))
      #expect(PlainStateLineTests.expectSameAsLexer(line(fields), names: &learned))
    }
    #expect(PlainStateLineTests.plain(line(#""a":["s","1"],"c":["s","2"],"bb":["s","3"]"#), names: &learned) == nil)
  }

  @Test("names learned again and again, their bytes laid out anew many times over, are still taken only as spelled")
  func namesLearnedManyTimes() throws {
    let id = GUID(naming: "plain-line").description
    // Two shapes of long names, each line two of one then two of the other: every change of shape learns the names
    // again, and the bytes of the names replaced pile up until they are laid out anew.
    let shapes = (0..<2).map { shape in
      (0..<3).map { column in "column_\(column)_of_shape_\(shape)_" + String(repeating: "x", count: 40) }
    }
    var names = StateReader.RecordNames()
    var readFromBytes = 0
    for number in 0..<3_000 {
      let fields = shapes[number / 2 % 2].map { #""\#($0)":["i","\#(number)"]"# }.joined(separator: ",")
      let line = Array(#"{"entity":"lead","fields":{\#(fields)},"id":"\#(id)"}"#.utf8)
      if PlainStateLineTests.expectSameAsLexer(line, names: &names) { readFromBytes += 1 }
    }
    #expect(readFromBytes == 3_000)
  }

  @Test("a Marketo row's line is read from its bytes as the lexer reads it, names carried from line to line")
  func marketoRows() throws {
    let rows: [(String, MarketoRow)] = [
      ("1", ["email": .string("a@example.com"), "id": .integer(1), "msftSyncing": .boolean(true)]),
      ("2", ["company": .string("Haddad & Co"), "email": .null, "id": .integer(2)]),
      ("3", [:]),
      (
        "4",
        ["annualRevenue": .decimal(try #require(ExactDecimal("5.0"))), "id": .integer(4), "title": .string("Ünïcode")]
      ),
    ]
    var plainNames = StateReader.MarketoRowNames()
    var lexedNames = StateReader.MarketoRowNames()
    for (key, row) in rows {
      let line = Array(StateCodec.line(key: key, row: row).utf8.dropLast())
      let plain = line.withUnsafeBytes { PlainStateLine.marketoRow($0, names: &plainNames) }
      var lexed: (String, MarketoOverlayEntry)?
      try line.withUnsafeBytes { bytes in
        let lexer = JSONLexer(bytes: bytes, path: "persons.ndjson", offset: 0, line: 1, column: 1)
        try StateReader.marketoEntry(lexer, path: "persons.ndjson", overlay: false, names: &lexedNames) {
          lexed = ($0, $1)
        }
      }
      let read = try #require(plain)
      #expect(read.key == key && lexed?.0 == key)
      guard case .row(let lexedRow) = try #require(lexed?.1) else {
        Issue.record("a row's line read as something else")
        continue
      }
      #expect(StateCodec.line(key: read.key, row: read.row) == StateCodec.line(key: key, row: lexedRow))
    }
    let removal = Array(StateCodec.removal(key: "9").utf8.dropLast())
    #expect(removal.withUnsafeBytes { PlainStateLine.marketoRow($0, names: &plainNames) } == nil)
  }

  @Test("a patch's line is read from its bytes as the lexer reads it, in an overlay only")
  func marketoPatches() throws {
    let patches: [FieldsPatch] = [
      FieldsPatch(set: ["billingCity": .string("Toronto"), "company": .null]),
      FieldsPatch(set: ["email": .string("b@example.com")], unset: ["rating", "leadSource"]),
      FieldsPatch(unset: ["title"]),
      FieldsPatch(),
    ]
    var plainNames = StateReader.MarketoRowNames()
    var lexedNames = StateReader.MarketoRowNames()
    for (index, patch) in patches.enumerated() {
      var json = JSONBytes()
      StateCodec.appendPatchLine(key: "\(index)", patch: patch, to: &json)
      let line = Array(json.text.utf8.dropLast())
      let plain = line.withUnsafeBytes { PlainStateLine.marketoEntry($0, names: &plainNames, patches: true) }
      #expect(plain?.key == "\(index)" && plain?.entry == .patch(patch))
      #expect(line.withUnsafeBytes { PlainStateLine.marketoEntry($0, names: &plainNames, patches: false) } == nil)
      var lexed: MarketoOverlayEntry?
      try line.withUnsafeBytes { bytes in
        let lexer = JSONLexer(bytes: bytes, path: "persons.overlay.ndjson", offset: 0, line: 1, column: 1)
        try StateReader.marketoEntry(lexer, path: "persons.overlay.ndjson", overlay: true, names: &lexedNames) {
          lexed = $1
        }
      }
      #expect(lexed == .patch(patch))
      let error = #expect(throws: InputError.self) {
        try line.withUnsafeBytes { bytes in
          let lexer = JSONLexer(bytes: bytes, path: "persons.ndjson", offset: 0, line: 1, column: 1)
          try StateReader.marketoEntry(lexer, path: "persons.ndjson", overlay: false, names: &lexedNames) { _, _ in }
        }
      }
      #expect(error?.reason == "corrupt state line: a patch outside an overlay")
    }
  }

  @Test("a record's patch line is read from its bytes as the lexer reads it, in an overlay only")
  func recordPatches() throws {
    let record = Record(entity: "contact", id: GUID(naming: "patched"), origin: SourcePosition(file: ""))
    let patches: [RecordPatch] = [
      RecordPatch(
        fields: FieldsPatch(set: ["jobtitle": .string("Engineer"), "telephone1": .null]),
        labels: ["statecode": "Active"], version: 1_403_999),
      RecordPatch(fields: FieldsPatch(set: ["statecode": .optionSet(1)], unset: ["birthdate", "address1_city"])),
      RecordPatch(fields: FieldsPatch(unset: ["jobtitle"]), labels: Labels(), version: 12),
      RecordPatch(fields: FieldsPatch()),
    ]
    var plainNames = StateReader.RecordNames()
    var lexedNames = StateReader.RecordNames()
    for patch in patches {
      var json = JSONBytes()
      StateCodec.appendPatchLine(patch, of: record, to: &json)
      let line = Array(json.text.utf8.dropLast())
      let plain = line.withUnsafeBytes { PlainStateLine.recordEntry($0, names: &plainNames, origin: Self.origin) }
      #expect(plain?.id == record.id && plain?.entity == "contact" && plain?.entry == .patch(patch))
      #expect(line.withUnsafeBytes { StateReader.recordPatch(line: $0) } == patch)
      #expect(line.withUnsafeBytes { PlainStateLine.record($0, names: &plainNames, origin: Self.origin) } == nil)
      var lexed: RecordOverlayEntry?
      try line.withUnsafeBytes { bytes in
        let lexer = JSONLexer(bytes: bytes, path: "contact.overlay.ndjson", offset: 0, line: 1, column: 1)
        try StateReader.record(lexer, path: "contact.overlay.ndjson", overlay: true, names: &lexedNames) {
          lexed = $2
        }
      }
      #expect(lexed == .patch(patch))
      let error = #expect(throws: InputError.self) {
        try line.withUnsafeBytes { bytes in
          let lexer = JSONLexer(bytes: bytes, path: "contact.ndjson", offset: 0, line: 1, column: 1)
          try StateReader.record(lexer, path: "contact.ndjson", overlay: false, names: &lexedNames) { _, _, _ in }
        }
      }
      #expect(error?.reason == "corrupt state line: a patch outside an overlay")
    }
    // A whole record's line is no patch.
    #expect(Array(StateCodec.line(record).utf8.dropLast()).withUnsafeBytes { StateReader.recordPatch(line: $0) } == nil)
  }
}
