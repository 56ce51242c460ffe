import DynSyncArtifacts
import DynSyncCore
import Foundation
import Testing

@Suite("JSON as batch files write it")
struct JSONTextTests {
  let origin = SourcePosition(file: "t.json", line: 1, column: 1)

  /// The object as Foundation reads it back, to check the text against a parser dynsync did not write.
  func parsed(_ text: String) throws -> NSDictionary {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary)
  }

  @Test("an image sorts its keys with @labels among them, wherever it falls")
  func imageKeyOrder() throws {
    let record = Record(
      entity: "account", id: GUID(high: 1, low: 2),
      fields: ["name": .string("Fabrikam"), "Zeta": .integer(1), "1st": .boolean(true), "_x": .null],
      labels: ["Zeta": "One"], origin: origin)
    let text = JSONText.image(record)
    #expect(text == #"{"1st":true,"@labels":{"Zeta":"One"},"Zeta":1,"_x":null,"name":"Fabrikam"}"#)
    #expect(try parsed(text).count == 5)
    let unlabelled = Record(entity: "account", id: GUID(high: 1, low: 2), fields: ["b": .null], origin: origin)
    #expect(JSONText.image(unlabelled) == #"{"b":null}"#)
    let empty = Record(entity: "account", id: GUID(high: 1, low: 2), labels: ["a": "A"], origin: origin)
    #expect(JSONText.image(empty) == #"{"@labels":{"a":"A"}}"#)
  }

  @Test("rows of more shapes than a buffer keeps the names of, in turns: each object as its names spell afresh")
  func rowsOfManyShapes() throws {
    let names = ["a", "b\"quoted", "naïve", "leadOwnerEmailAddress", "z\u{2028}", "msftCompanyStatusValue", "x"]
    // Seven shapes of six names (each leaves one out) and one of all seven, three rounds, in one buffer: more shapes
    // than are kept, and shapes of one count that differ in a name.
    var rows: [Fields] = []
    for round in 0..<3 {
      for left in 0...names.count {
        var fields = Fields()
        for (position, name) in names.enumerated() where position != left {
          fields[name] = position.isMultiple(of: 2) ? .integer(Int64(round * 10 + position)) : .string("v\(round)")
        }
        rows.append(fields)
      }
    }
    var json = JSONBytes()
    var expected = ""
    for row in rows {
      json.appendObject(row) { json, value in json.appendValue(value) }
      json.appendASCII(UInt8(ascii: "\n"))
      var alone = JSONBytes()
      alone.appendObject(row.map { ($0.key, $0.value) }) { json, value in json.appendValue(value) }
      expected += alone.text + "\n"
    }
    #expect(json.text == expected)
    let lines = json.text.split(separator: "\n")
    #expect(lines.count == rows.count)
    for (line, row) in zip(lines, rows) {
      #expect(Set(try parsed(String(line)).allKeys.compactMap { $0 as? String }) == Set(row.keys))
    }
  }

  @Test("images of records of more shapes than are kept, in one buffer: each one as written alone, labels in place")
  func imagesOfManyShapes() throws {
    // Names on both sides of where "@labels" sorts ("1st" and "Zeta" before and after it), some rows without them.
    let names = ["1st", "Zeta", "_x", "name", "naïve", "leadOwnerEmailAddress"]
    var records: [Record] = []
    for round in 0..<2 {
      for left in 0...names.count {
        var fields = Fields()
        for (position, name) in names.enumerated() where position != left { fields[name] = .integer(Int64(position)) }
        let labels: Labels = left.isMultiple(of: 2) ? ["Zeta": "Z\(round)"] : [:]
        records.append(
          Record(
            entity: "account", id: GUID(high: 1, low: UInt64(left)), fields: fields, labels: labels, origin: origin))
      }
    }
    var json = JSONBytes()
    for record in records {
      json.appendImage(record)
      json.appendASCII(UInt8(ascii: "\n"))
    }
    // Each image as its members sort, written afresh: "@labels" among the columns by the sort, not by a kept place.
    let expected = records.map { record in
      var members = record.fields.map { ($0.key, JSONText.value($0.value)) }
      if !record.labels.isEmpty {
        var labels = JSONBytes()
        labels.appendObject(record.labels)
        members.append(("@labels", labels.text))
      }
      var alone = JSONBytes()
      alone.appendObject(members) { json, value in json.appendRaw(value) }
      return alone.text + "\n"
    }
    #expect(json.text == expected.joined())
    for (line, record) in zip(json.text.split(separator: "\n"), records) {
      let object = try parsed(String(line))
      #expect(object.count == record.fields.count + (record.labels.isEmpty ? 0 : 1))
    }
  }

  @Test("strings are escaped where JSON needs it, and the rest copied as they are")
  func strings() throws {
    let samples = ["plain", "quote \" and \\ backslash", "line\nbreak\ttab\u{01}", "naïve – “quoted”", "\u{2028}"]
    for sample in samples {
      let text = JSONText.string(sample)
      let object = try parsed("{\"k\":\(text)}")
      #expect(object["k"] as? String == sample)
      #expect(!text.contains("\u{2028}"), "U+2028 is escaped for JavaScript readers")
    }
    #expect(JSONText.string("a\u{01}") == #""a\u0001""#)
  }

  @Test("a character to escape is found wherever it falls in a string, eight bytes at a time or one by one")
  func escapesAtEveryPlace() throws {
    let special = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) } + ["\"", "\\", "\u{2028}", "\u{2029}", "–", "é"]
    for character in special {
      for place in 0..<20 {
        let sample = String(repeating: "a", count: place) + character + String(repeating: "b", count: 19 - place)
        let text = JSONText.string(sample)
        #expect(try parsed("{\"k\":\(text)}")["k"] as? String == sample, "\(place): \(text)")
        let inner = text.utf8.dropFirst().dropLast()
        #expect(!inner.contains { $0 < 0x20 }, "a control character written raw at \(place)")
        #expect(!text.contains("\u{2028}") && !text.contains("\u{2029}"))
      }
    }
  }

  @Test("state lines: each value tagged, the fields in their order, ids as they are spelled")
  func stateLine() throws {
    let id = GUID(high: 0x0123_4567_89ab_cdef, low: 0xfedc_ba98_7654_3210)
    let fields: Fields = [
      "s": .string("x"), "i": .integer(-3), "d": .decimal(try #require(ExactDecimal("1.50"))), "b": .boolean(false),
      "t": .dateTime(try #require(Timestamp(iso: "2025-03-04T18:02:44Z"))),
      "D": .date(try #require(CalendarDate("1988-04-05"))), "o": .optionSet(7), "m": .multiSelect([2, 8]),
      "l": .lookup(Lookup(entity: "account", id: id)), "n": .lookup(Lookup(entity: nil, id: id)), "g": .guid(id),
      "z": .null,
    ]
    let record = Record(entity: "contact", id: id, fields: fields, labels: ["o": "Seven"], version: 9, origin: origin)
    let guid = "01234567-89ab-cdef-fedc-ba9876543210"
    #expect(id.description == guid)
    #expect(
      StateCodec.line(record)
        == #"{"entity":"contact","fields":{"D":["D","1988-04-05"],"b":["b",false],"d":["d","1.50"],"#
        + #""g":["g","\#(guid)"],"i":["i","-3"],"l":["l","account","\#(guid)"],"m":["m",["2","8"]],"#
        + #""n":["l",null,"\#(guid)"],"o":["o","7"],"s":["s","x"],"t":["t","2025-03-04T18:02:44Z"],"z":null},"#
        + #""id":"\#(guid)","labels":{"o":"Seven"},"version":"9"}"# + "\n")
  }

  @Test("timestamps keep their fraction without trailing zeros and pad every part")
  func timestamps() throws {
    #expect(Timestamp(epochSeconds: 0).description == "1970-01-01T00:00:00Z")
    #expect(Timestamp(epochSeconds: 1_700_000_000, fraction: "250").description == "2023-11-14T22:13:20.25Z")
    #expect(Timestamp(epochSeconds: -1).description == "1969-12-31T23:59:59Z")
    let instant = try #require(Timestamp(iso: "0999-03-04T05:06:07.5Z"))
    #expect(instant.description == "0999-03-04T05:06:07.5Z")
    // Written into a line's bytes as a JSON string, after what the line holds; a fraction of anything but digits
    // is escaped as any string is.
    for (value, written) in [
      (instant, #""0999-03-04T05:06:07.5Z""#),
      (Timestamp(epochSeconds: 1_700_000_000, fraction: "1\"2"), #""2023-11-14T22:13:20.1\"2Z""#),
      (Timestamp(epochSeconds: 253_402_300_800), #""10000-01-01T00:00:00Z""#),
    ] {
      var json = JSONBytes()
      json.appendRaw("[")
      json.appendValue(.dateTime(value))
      #expect(json.text == "[" + written, "\(value)")
    }
  }

  @Test("a string is escaped wherever in it the byte to escape falls, whatever its length")
  func escapingAtEveryPlace() throws {
    for length in 1...20 {
      for place in 0..<length {
        for special in ["\"", "\\", "\n", "\u{01}", "\u{2028}"] {
          var characters = Array(repeating: "a", count: length)
          characters[place] = special
          let text = characters.joined()
          var json = JSONBytes()
          json.appendString(text)
          // Foundation rejects a raw control byte or quote; U+2028 it takes raw, so its escape is looked for.
          let read = try JSONSerialization.jsonObject(with: Data(json.text.utf8), options: .fragmentsAllowed)
          #expect(read as? String == text, "\(length) bytes, \(special.debugDescription) at \(place)")
          if special == "\u{2028}" { #expect(json.text.contains("\\u2028")) }
        }
      }
      var json = JSONBytes()
      json.appendString(String(repeating: "é ~", count: length))
      #expect(json.text == "\"" + String(repeating: "é ~", count: length) + "\"", "plain text is written as it is")
    }
  }

  @Test("a line grows past the room made for it, byte for byte what its values write one at a time")
  func growth() throws {
    let id = GUID(high: 0x0123_4567_89ab_cdef, low: 0xfedc_ba98_7654_3210)
    let values: [FieldValue] = [
      .string(String(repeating: "long ", count: 700)), .string("quote \" inside"), .integer(Int64.min),
      .integer(0), .optionSet(42), .dateTime(Timestamp(epochSeconds: Int64.max, fraction: "123456789")),
      .dateTime(Timestamp(epochSeconds: Int64.min / 2)), .guid(id), .lookup(Lookup(entity: "account", id: id)),
      .multiSelect([1, 2, 3]), .boolean(true), .null, .date(try #require(CalendarDate("2024-02-29"))),
    ]
    var json = JSONBytes(capacity: 1)
    var written: [String] = []
    json.appendASCII(UInt8(ascii: "["))
    for round in 0..<200 {
      let value = values[round % values.count]
      if round > 0 { json.appendASCII(UInt8(ascii: ",")) }
      json.appendValue(value)
      written.append(JSONText.value(value))
    }
    json.appendASCII(UInt8(ascii: "]"))
    #expect(json.text == "[" + written.joined(separator: ",") + "]")
    #expect(json.count == json.text.utf8.count)
    let array = try #require(try JSONSerialization.jsonObject(with: Data(json.bytes)) as? [Any])
    #expect(array.count == 200)
    #expect(array[0] as? String == String(repeating: "long ", count: 700))
    for instant in [Timestamp(epochSeconds: Int64.max, fraction: "5"), Timestamp(epochSeconds: Int64.min / 2)] {
      #expect(instant.description.utf8.count <= instant.descriptionByteLimit, "\(instant)")
    }
  }

  @Test("values: integers at both ends of 64 bits, lookups, multi-selects")
  func values() {
    #expect(JSONText.value(.integer(Int64.min)) == "-9223372036854775808")
    #expect(JSONText.value(.integer(Int64.max)) == "9223372036854775807")
    #expect(JSONText.value(.integer(-7)) == "-7")
    #expect(JSONText.value(.multiSelect([1, 20])) == "[1,20]")
    #expect(
      JSONText.value(.lookup(Lookup(entity: nil, id: GUID(high: 0, low: 1))))
        == #"{"entity":null,"id":"00000000-0000-0000-0000-000000000001"}"#)
  }
}
