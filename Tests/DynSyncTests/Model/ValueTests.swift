import DynSyncCore
import Testing

@Suite("Canonical values")
struct ValueTests {
  @Test("GUIDs compare case-insensitively, accept braces and print lowercase")
  func guids() throws {
    let upper = try #require(GUID("{AAAA0001-0001-EF11-8409-000D3A8F1A01}"))
    let lower = try #require(GUID("aaaa0001-0001-ef11-8409-000d3a8f1a01"))
    #expect(upper == lower)
    #expect(upper.description == "aaaa0001-0001-ef11-8409-000d3a8f1a01")
    #expect(GUID("aaaa0001-0001-ef11-8409-000d3a8f1a0") == nil)
    #expect(GUID("aaaa0001x0001-ef11-8409-000d3a8f1a01") == nil)
    for bad in ["g", "G", ":", "@", "`", "/", " "] {
      #expect(GUID("aaaa0001-0001-ef11-8409-000d3a8f1a0" + bad) == nil, "\(bad) is no hex digit")
    }
    #expect(GUID("0123456789ABCDEF-0000-0000-0000-00000000") == nil, "dashes out of place")
    // Every byte in every digit position, against a digit-by-digit reading.
    let base = Array("0a1B2c3D-4e5F-6789-abcd-EF0123456789".utf8)
    for position in base.indices where base[position] != UInt8(ascii: "-") {
      for byte in UInt8.min...UInt8.max {
        var text = base
        text[position] = byte
        let parsed = text.withUnsafeBytes { GUID(utf8: $0) }
        let isHex = (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
        guard isHex else {
          #expect(parsed == nil, "byte \(byte) at \(position)")
          continue
        }
        let digits = text.filter { $0 != UInt8(ascii: "-") }.map { Character(UnicodeScalar($0)).hexDigitValue ?? 0 }
        let high = digits[0..<16].reduce(UInt64(0)) { $0 << 4 | UInt64($1) }
        let low = digits[16...].reduce(UInt64(0)) { $0 << 4 | UInt64($1) }
        #expect(parsed == GUID(high: high, low: low), "byte \(byte) at \(position)")
      }
    }
    #expect(GUID("01234567-89ab-cdef-0123-456789abcdef")?.description == "01234567-89ab-cdef-0123-456789abcdef")
    // Every digit value in every place, against a digit-by-digit writing.
    var generator = SystemRandomNumberGenerator()
    let words: [UInt64] =
      [0, .max, 0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210] + (0..<200).map { _ in generator.next() }
    for (high, low) in zip(words, words.reversed()) {
      let digits = [high, low].flatMap { word in (0..<16).map { String((word >> (60 - 4 * $0)) & 0xF, radix: 16) } }
      var expected = digits.joined()
      for dash in [8, 13, 18, 23] { expected.insert("-", at: expected.index(expected.startIndex, offsetBy: dash)) }
      let id = GUID(high: high, low: low)
      #expect(id.description == expected)
      #expect(GUID(id.description) == id)
    }
    #expect(try #require(GUID("00000000-0000-0000-0000-000000000001")) < lower)
  }

  @Test("ids that differ in a few bits of one word spread over a table's buckets")
  func guidHashSpread() {
    // A table of 65,536 buckets files a hash by its low 16 bits; random hashes leave about 1/e of the
    // buckets empty. Sequential ids differ in a few bytes: in the low or the high word, at either end.
    let count = 1 << 16
    let shifts: [(String, (UInt64) -> GUID)] = [
      ("low word, low bits", { GUID(high: 0x0123_4567_89AB_CDEF, low: $0) }),
      ("low word, high bits", { GUID(high: 0x0123_4567_89AB_CDEF, low: $0 << 48) }),
      ("high word, low bits", { GUID(high: $0, low: 0x0011_2233_4455_6677) }),
      ("high word, high bits", { GUID(high: $0 << 48, low: 0x0011_2233_4455_6677) }),
    ]
    for seed in [0, 1, -7, 0x5EED_5EED] {
      for (where_, id) in shifts {
        let buckets = Set((0..<UInt64(count)).map { id($0)._rawHashValue(seed: seed) & (count - 1) })
        #expect(buckets.count > count * 6 / 10, "\(where_), seed \(seed): \(buckets.count) buckets of \(count)")
      }
    }
    let id = GUID(high: 42, low: 7)
    #expect(id._rawHashValue(seed: 3) == GUID(high: 42, low: 7)._rawHashValue(seed: 3))
    #expect(id._rawHashValue(seed: 3) != id._rawHashValue(seed: 4), "the seed takes part")
    let ids = (0..<UInt64(10_000)).map { GUID(high: $0 << 40, low: $0) }
    #expect(Set(ids).count == ids.count)
    #expect(ids.allSatisfy(Set(ids).contains))
  }

  @Test("column names hash alike when equal as strings, and names that differ in a byte spread over a table")
  func columnNameHash() {
    // Canonically equivalent names are one key, however they are spelled; an ASCII name is not one of them.
    let composed = ColumnName("caf\u{E9}")
    let decomposed = ColumnName("cafe\u{301}")
    for seed in [0, 1, -7] {
      #expect(composed == decomposed && composed._rawHashValue(seed: seed) == decomposed._rawHashValue(seed: seed))
    }
    #expect(ColumnName("cafe") != composed)
    // Three characters are their ASCII one as strings, alone or among others: such a name is the ASCII name's key.
    for (odd, ascii) in [("\u{212A}", "K"), ("x\u{212A}y\u{37E}", "xKy;"), ("\u{1FEF}name", "`name")] {
      #expect(ColumnName(odd) == ColumnName(ascii))
      for seed in [0, 1, -7] {
        #expect(ColumnName(odd)._rawHashValue(seed: seed) == ColumnName(ascii)._rawHashValue(seed: seed))
      }
      #expect(Set([ColumnName(ascii)]).contains(ColumnName(odd)))
    }
    // Names of every length up to five words, differing in one byte at either end, each found in a table of them.
    var table: [ColumnName: Int] = [:]
    var names: [String] = []
    for length in 1...40 {
      for variant in ["a", "b", "c"] {
        names.append(variant + String(repeating: "x", count: length - 1))
        names.append(String(repeating: "x", count: length - 1) + variant)
      }
    }
    names = Array(Set(names)) + [""]
    for (index, name) in names.enumerated() { table[ColumnName(name)] = index }
    #expect(table.count == names.count)
    #expect(names.enumerated().allSatisfy { table[ColumnName($1)] == $0 })
    // 4,096 names that differ in their last bytes fill a table of 4,096 buckets as random hashes would.
    let count = 1 << 12
    for seed in [0, 3] {
      let buckets = Set((0..<count).map { ColumnName("new_customfield_\($0)")._rawHashValue(seed: seed) & (count - 1) })
      #expect(buckets.count > count * 6 / 10, "seed \(seed): \(buckets.count) buckets of \(count)")
    }
  }

  @Test(
    "decimals are equal by amount, however they are written",
    arguments: [("20000.0000", "20000.0"), ("20000", "2E4"), ("-0.50", "-.5"), ("0.000", "-0"), ("1.10", "1.1")])
  func equalDecimals(left: String, right: String) throws {
    #expect(try #require(ExactDecimal(left)) == #require(ExactDecimal(right)))
  }

  @Test("different amounts are different, beyond binary floating point precision")
  func differentDecimals() throws {
    #expect(try #require(ExactDecimal("0.1000000000000000000001")) != #require(ExactDecimal("0.1")))
    #expect(try #require(ExactDecimal("20000.0001")) != #require(ExactDecimal("20000")))
    #expect(ExactDecimal("12a") == nil)
    #expect(ExactDecimal("") == nil)
    #expect(try #require(ExactDecimal("20000.0000")).written == "20000.0000")
  }

  /// Every text of `alphabet`'s characters up to `length` long, the empty one first.
  static func texts(of alphabet: String, upTo length: Int) -> [String] {
    var texts = [""]
    var lengthBefore = [""]
    for _ in 1...length {
      lengthBefore = lengthBefore.flatMap { text in alphabet.map { text + String($0) } }
      texts += lengthBefore
    }
    return texts
  }

  @Test("a decimal is read by its grammar: a sign, digits with at most one point, an exponent of up to nine digits")
  func decimalGrammar() throws {
    // The grammar as a pattern, against texts made of its own characters, every length up to five.
    let pattern = try Regex("^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,9})?$")
    var texts = ValueTests.texts(of: "05.+-eE x", upTo: 5)
    texts += ["1e123456789", "1e1234567890", "-.5e-3", "+5.", "9223372036854775808", "1.2.3", "٥"]
    for text in texts {
      let accepted = ExactDecimal(text) != nil
      #expect(accepted == (text.wholeMatch(of: pattern) != nil), "\(text)")
      #expect(Array(text.utf8).withUnsafeBufferPointer { ExactDecimal.isNumber(utf8: $0) } == accepted, "\(text)")
    }
  }

  @Test("a whole amount's digits as written are its plain text, and every other form is left to plainText")
  func plainWholeDigits() throws {
    // Every accepted text of these characters up to five long, and amounts as exports write them.
    var texts = ValueTests.texts(of: "019.-+e", upTo: 5)
    texts += ["54981645.0000", "-12", "20000.0001", "100.", "0.0000", "-0", "007", "9223372036854775808.00"]
    var taken = 0
    for text in texts {
      guard let amount = ExactDecimal(text) else { continue }
      guard let digits = amount.withPlainWholeDigits({ String(decoding: $0, as: UTF8.self) }) else { continue }
      taken += 1
      #expect(digits == amount.plainText, "\(text)")
    }
    #expect(taken > 100)
    #expect(try #require(ExactDecimal("54981645.0000")).withPlainWholeDigits { $0.count } == 8)
    for text in ["0.0000", "007", "1.5", "1e3", "+5", "-0"] {
      #expect(try #require(ExactDecimal(text)).withPlainWholeDigits { _ in true } == nil, "\(text)")
    }
  }

  @Test("numbers compare numerically across integer, decimal and choice forms")
  func numericEquality() {
    #expect(FieldValue.integer(20000) == decimal("20000.0000"))
    #expect(FieldValue.optionSet(7) == FieldValue.integer(7))
    #expect(Set([FieldValue.integer(5), decimal("5.0")]).count == 1)
    #expect(FieldValue.integer(5) != FieldValue.string("5"))
    #expect(FieldValue.boolean(false) != FieldValue.integer(0))
  }

  @Test("timestamps are normalised to UTC")
  func timestamps() throws {
    let local = try #require(Timestamp(iso: "2025-03-04T10:02:40-08:00"))
    #expect(local.description == "2025-03-04T18:02:40Z")
    #expect(try #require(Timestamp(iso: "2025-06-28T19:06:20.0000000Z")).description == "2025-06-28T19:06:20Z")
    #expect(try #require(Timestamp(iso: "2025-06-28T19:06:20.1230000Z")).description == "2025-06-28T19:06:20.123Z")
    // Read from bytes, a fraction loses its trailing zeros as one given as text does: the two are one value.
    for (text, fraction) in [("2025-06-28T19:06:20.1230000Z", "1230000"), ("2025-06-28T19:06:20.000Z", "000")] {
      let read = try #require(Timestamp(iso: text))
      #expect(read == Timestamp(epochSeconds: read.epochSeconds, fraction: fraction))
      #expect(read.fraction == String(fraction.reversed().drop { $0 == "0" }.reversed()))
    }
    #expect(try #require(Timestamp(iso: "1969-12-31T23:59:59Z")).description == "1969-12-31T23:59:59Z")
    #expect(try #require(Timestamp(iso: "2025-01-01T00:30:00+01:00")).description == "2024-12-31T23:30:00Z")
    #expect(Timestamp(iso: "2025-13-01T00:00:00Z") == nil)
    #expect(Timestamp(iso: "2025-02-30T00:00:00Z") == nil)
    // The check the indexers vouch with is the parser's, without the value.
    for text in ["2025-06-28T19:06:20.5Z", "2025-06-28 19:06:20", "2025-06-28T19:06:20.Z", "2024-02-29T00:00Z", "x"] {
      let checked = Array(text.utf8).withUnsafeBufferPointer { Timestamp.isISO(utf8: $0) }
      #expect(checked == (Timestamp(iso: text) != nil), "\(text)")
    }
    #expect(CalendarDate("2024-02-29") != nil)
    #expect(CalendarDate("2023-02-29") == nil)
    // A day written back as it was read; one of a year past four digits still written in full.
    for text in ["2024-02-29", "0001-01-01", "0999-12-31", "9999-12-31", "1970-01-01"] {
      #expect(CalendarDate(text)?.description == text)
    }
    #expect(CalendarDate(daysSinceEpoch: 3_000_000).description == "10183-09-21")
  }

  @Test("records compare without formatted labels, positions or explicit nulls")
  func recordEquality() {
    let id = guid("aaaa0001-0001-ef11-8409-000d3a8f1a01")
    let left = Record(
      entity: "account", id: id, fields: ["name": .string("Contoso"), "fax": .null],
      labels: ["name": "x"], origin: SourcePosition(file: "a.json", line: 3))
    let right = Record(
      entity: "account", id: id, fields: ["name": .string("Contoso")], origin: SourcePosition(file: "b.xml"))
    #expect(left == right)
    // Nulls on either side, before, between or after the other names, are left out; any other value is not.
    func record(_ fields: Fields) -> Record {
      Record(entity: "account", id: id, fields: fields, origin: SourcePosition(file: "c.json"))
    }
    let named = record(["b": .integer(1), "d": .string("x")])
    #expect(record(["a": .null, "b": .integer(1), "c": .null, "d": .string("x"), "e": .null]) == named)
    #expect(named == record(["a": .null, "b": .integer(1), "c": .null, "d": .string("x"), "e": .null]))
    #expect(record(["b": .integer(1), "d": .string("y")]) != named)
    #expect(record(["b": .integer(1), "c": .integer(0), "d": .string("x")]) != named)
    #expect(record(["b": .integer(1)]) != named)
    #expect(named != record(["b": .integer(1)]))
    #expect(record(["b": .integer(1), "e": .string("x")]) != named)
  }

  @Test("a copy of a record is a value: changing either leaves the other as it was")
  func recordCopies() {
    let id = GUID(high: 1, low: 2)
    let original = Record(
      entity: "account", id: id, fields: ["name": .string("Contoso")], labels: ["statuscode": "Active"],
      version: 7, origin: SourcePosition(file: "a.json", line: 3))
    var copy = original
    copy.fields["name"] = .string("Fabrikam")
    copy.labels["statuscode"] = nil
    copy.entity = "contact"
    copy.version = 8
    copy.origin.line = 9
    copy.id = GUID(high: 3, low: 4)
    #expect(original.fields["name"] == .string("Contoso"))
    #expect(original.labels == ["statuscode": "Active"])
    #expect(original.entity == "account" && original.id == id && original.version == 7 && original.origin.line == 3)
    #expect(copy["name"] == .string("Fabrikam") && copy.labels.isEmpty && copy.entity == "contact")
    #expect(copy.version == 8 && copy.origin.line == 9)
    // A record changed where no copy shares it keeps its own values changed.
    var alone = original
    alone.fields["name"] = nil
    #expect(alone["name"] == .null && original["name"] == .string("Contoso"))
  }

  @Test("a lookup keeps its table's name by number, the same on every core; a value is 24 bytes, whatever its kind")
  func lookupTables() {
    let id = GUID(naming: "lookup")
    let names = ["account", "contact", "cr123_a_table_name_longer_than_fifteen_bytes", "é_table"]
    let numbered = concurrentMap(Array(0..<64)) { index in
      Lookup(entity: names[index % names.count], id: id)
    }
    for (index, lookup) in numbered.enumerated() {
      #expect(lookup.entity == names[index % names.count])
      #expect(lookup.hasSameTable(as: Lookup(entity: names[index % names.count], id: GUID(naming: "other"))))
    }
    var moved = Lookup(entity: nil, id: id)
    #expect(moved.entity == nil && !moved.hasSameTable(as: numbered[0]))
    moved.entity = "account"
    #expect(moved.entity == "account" && moved.hasSameTable(as: numbered[0]))
    // The table takes no part in equality, only in being written alike.
    #expect(Lookup(entity: "account", id: id) == Lookup(entity: nil, id: id))
    #expect(!FieldValue.lookup(Lookup(entity: "account", id: id)).isIdentical(to: .lookup(Lookup(entity: nil, id: id))))
    // A reader's recent names give the numbers the lock gives, making text only for a name not among them.
    var recent = NumberedTexts.Recent()
    var made = 0
    for name in names + names.reversed() + ["account"] {
      let number = Array(name.utf8).withUnsafeBytes { bytes in
        recent.number(ofUTF8: bytes) { bytes in
          made += 1
          return String(decoding: bytes, as: UTF8.self)
        }
      }
      #expect(number == NumberedTexts.tables.number(of: name))
    }
    #expect(made == names.count)
    #expect(MemoryLayout<FieldValue>.stride == 24)
  }

  @Test("an instant's fraction of a second is written back as read, and ordered, equal and hashed as its digits are")
  func instantFractions() throws {
    let fractions = [
      "", "5", "05", "1", "12", "123", "1234567", "0000001", "1000001", "9999999999999999999", "0000000000000000001",
      "12345678901234567891", "00000000000000000001", "99999999999999999999", "1a",
    ]
    let instants = fractions.map { Timestamp(epochSeconds: 1_750_000_000, fraction: $0) }
    for (fraction, instant) in zip(fractions, instants) {
      #expect(instant.fraction == fraction, "\(fraction)")
      #expect(instant == Timestamp(epochSeconds: 1_750_000_000, fraction: fraction + "000"), "\(fraction)")
      #expect(instant.fractionIsDigits == !fraction.contains("a"), "\(fraction)")
      let text = "2025-06-15T15:06:40" + (fraction.isEmpty ? "" : "." + fraction) + "Z"
      #expect(instant.description == text, "\(fraction)")
      if instant.fractionIsDigits {
        #expect(try #require(Timestamp(iso: text)) == instant, "\(fraction)")
      }
    }
    // Ordered as the digits are, the digits as text ordering fractions without trailing zeros.
    for (left, a) in zip(fractions, instants) {
      for (right, b) in zip(fractions, instants) {
        #expect((a < b) == (left < right), "\(left) < \(right)")
        #expect((a == b) == (left == right), "\(left) == \(right)")
        if a == b { #expect(a.hashValue == b.hashValue) }
      }
    }
    #expect(Timestamp(epochSeconds: 1, fraction: "99") < Timestamp(epochSeconds: 2))
    #expect(MemoryLayout<Timestamp>.size == 16 && MemoryLayout<CalendarDate>.size <= 16)
  }
}
