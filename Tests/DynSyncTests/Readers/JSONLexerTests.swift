import DynSyncCore
import Foundation
import Testing

@testable import DynSyncReaders

@Suite("JSON byte tokenizer")
struct JSONLexerTests {
  /// Strings every way they can be written: plain, escaped, beyond ASCII, empty, long.
  static let strings = [
    "", "a", "plain text", "tab\tand \"quotes\" and \\ backslash", "é and 東京 and 🎉", "line\nbreak",
    String(repeating: "x", count: 300), "emailaddress1", "\u{0001}", "/slash",
  ]

  /// The strings of an array read with a buffer of `size` bytes, each by `readOne` (given the lexer and its place).
  func read(
    _ path: String, bufferSize size: Int, _ readOne: (JSONLexer, Int) throws -> String
  ) throws -> [String] {
    let lexer = try JSONLexer(path: path, bufferSize: size)
    var read: [String] = []
    try lexer.expect(UInt8(ascii: "["), "an array")
    repeat {
      read.append(try readOne(lexer, read.count))
    } while try lexer.nextSeparator(closing: UInt8(ascii: "]"), "an array")
    return read
  }

  /// The strings of an array, each read again as the name already held at its place.
  func read(_ path: String, bufferSize size: Int, reusing known: [String]? = nil) throws -> [String] {
    try read(path, bufferSize: size) { lexer, place in try lexer.readString(reusing: known?[place]) }
  }

  @Test("A string reads the same whatever the buffer, across its edges and with the name held before")
  func stringsAcrossBuffers() throws {
    let folder = try TemporaryFolder()
    let json = String(decoding: try JSONEncoder().encode(JSONLexerTests.strings), as: UTF8.self)
    let path = try folder.write("strings.json", json)
    for size in [1, 2, 3, 5, 7, 16, 64, 1 << 20] {
      #expect(try read(path, bufferSize: size) == JSONLexerTests.strings, "buffer of \(size)")
      let reused = try read(path, bufferSize: size, reusing: JSONLexerTests.strings)
      #expect(reused == JSONLexerTests.strings, "buffer of \(size), names held")
      let others = JSONLexerTests.strings.map { $0 + "?" }
      #expect(try read(path, bufferSize: size, reusing: others) == JSONLexerTests.strings, "buffer of \(size)")
    }
  }

  @Test("A string parsed from its bytes gives what its text gives, whatever the buffer")
  func parsedAcrossBuffers() throws {
    let folder = try TemporaryFolder()
    let json = String(decoding: try JSONEncoder().encode(JSONLexerTests.strings), as: UTF8.self)
    let path = try folder.write("strings.json", json)
    for size in [1, 2, 3, 5, 7, 16, 64, 1 << 20] {
      let parsed = try read(path, bufferSize: size) { lexer, _ in
        try #require(try lexer.readString { String(decoding: $0, as: UTF8.self) })
      }
      #expect(parsed == JSONLexerTests.strings, "buffer of \(size)")
    }
  }

  @Test("A whole number read from its bytes is what Int64 reads from its text")
  func wholeNumbers() {
    let texts = [
      "0", "7", "-7", "+7", "007", "-0", "", "-", "+", "1-", "1.0", " 1", "1 ", "٣", "9223372036854775807",
      "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "99999999999999999999", "+-1",
    ]
    for text in texts {
      #expect(text.withUTF8Bytes(StateTag.wholeNumber) == Int64(text), "\(text)")
    }
  }

  @Test("Invalid UTF-8 in a string is refused at its place, whatever the buffer")
  func invalidUTF8() throws {
    let folder = try TemporaryFolder()
    let path = folder.path + "/bad.json"
    try Data(Array(#"["ok","ab"#.utf8) + [0xC3, 0x28] + Array(#"cd"]"#.utf8)).write(to: URL(fileURLWithPath: path))
    for size in [1, 4, 1 << 20] {
      #expect {
        _ = try read(path, bufferSize: size)
      } throws: { error in
        (error as? InputError)?.reason
          == "invalid UTF-8 at byte offset 9, in the string that starts at byte offset 6"
      }
    }
  }
}
