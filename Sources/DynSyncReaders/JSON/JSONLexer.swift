import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// A pull tokenizer over the raw bytes of a JSON file, read in chunks.
///
/// It builds no document: callers walk the structure they expect and skip the rest, so a
/// gigabyte export costs one buffer of memory. Positions (line, column, byte offset) are tracked
/// for error messages.
final class JSONLexer {
  /// How deep a skipped value may nest before the file is refused.
  static let maximumDepth = 512
  /// The longest object `captureObject` holds in one piece.
  static let maximumCapture = 64 << 20

  let path: String
  /// `nil` for bytes given whole (one row read again on its own).
  private let file: FileBytes?
  // Unchecked for exclusive access: a lexer is one file's, read on one thread, one token at a time.
  @exclusivity(unchecked) private var buffer: UnsafeMutableRawBufferPointer
  @exclusivity(unchecked) private var position = 0
  @exclusivity(unchecked) private var limit = 0
  @exclusivity(unchecked) private var bufferOffset = 0
  @exclusivity(unchecked) private var atEnd = false
  @exclusivity(unchecked) private(set) var line = 1
  @exclusivity(unchecked) private var lineStart = 0
  @exclusivity(unchecked) private var scratch: [UInt8] = []
  /// Set for a UTF-16 file (by its byte order mark): bytes are transcoded to UTF-8 as they are read.
  private var utf16: UTF16Decoding?

  struct UTF16Decoding {
    var bigEndian: Bool
    var bomPending = true
    /// A byte or a high surrogate left over at the end of the last chunk.
    var carry: [UInt8] = []
  }

  /// Opens `path`, or only the bytes of `range` of it (UTF-8, lines counted from 1 at its start); `observer`, when
  /// given, sees every byte read once, in order, as it is read.
  init(
    path: String, range: Range<Int>? = nil, bufferSize: Int = 1 << 20,
    observer: ((UnsafeRawBufferPointer) -> Void)? = nil
  ) throws(InputError) {
    self.path = path
    if let range {
      self.file = try FileBytes(path: path, range: range)
    } else {
      self.file = try FileBytes(path: path)
    }
    file?.observer = observer
    self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 1)
    scratch.reserveCapacity(256)
    if let range {
      bufferOffset = range.lowerBound
      lineStart = range.lowerBound
      return
    }
    let head = try FileBytes.prefix(of: path, count: 2)
    if head == [0xFE, 0xFF] || head == [0xFF, 0xFE] { utf16 = UTF16Decoding(bigEndian: head[0] == 0xFE) }
  }

  /// Tokenizes `bytes`, which start at `offset` of `path` at the given line and column: a row
  /// read again on its own reports the positions a read of the whole file does.
  init(bytes: UnsafeRawBufferPointer, path: String, offset: Int, line: Int, column: Int) {
    self.path = path
    self.file = nil
    self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
    buffer.copyMemory(from: bytes)
    limit = bytes.count
    bufferOffset = offset
    self.line = line
    lineStart = offset - (column - 1)
    atEnd = true
  }

  deinit { buffer.deallocate() }

  /// Byte offset from the start of the file of the next unread byte.
  var offset: Int { bufferOffset + position }
  var column: Int { offset - lineStart + 1 }

  func error(_ reason: String, line: Int? = nil, column: Int? = nil) -> InputError {
    InputError(file: path, line: line ?? self.line, column: column ?? self.column, reason: reason)
  }

  /// The next byte without consuming it, or `nil` at the end of the file.
  @inline(__always)
  func peek() throws(InputError) -> UInt8? {
    if position == limit {
      guard try refill() else { return nil }
    }
    return buffer[position]
  }

  @inline(__always)
  func advance() { position += 1 }

  private func refill() throws(InputError) -> Bool {
    if atEnd { return false }
    guard let file else {
      atEnd = true
      return false
    }
    bufferOffset += limit
    position = 0
    limit = utf16 == nil ? try file.read(into: buffer) : try readTranscoded()
    if limit == 0 { atEnd = true }
    return limit > 0
  }

  /// Moves the unread bytes to the front of the buffer and reads more after them, growing the
  /// buffer when they fill it: what `captureObject` needs to hand on a row in one piece.
  private func refillKeepingUnread() throws(InputError) -> Bool {
    guard !atEnd, let file, utf16 == nil else { return false }
    let kept = limit - position
    if kept == buffer.count {
      // No row is this long: most likely an unterminated string, which a full read reports.
      guard buffer.count < JSONLexer.maximumCapture else { return false }
      let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 1)
      larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[position..<limit]))
      buffer.deallocate()
      buffer = larger
    } else if kept > 0, let base = buffer.baseAddress {
      base.copyMemory(from: base + position, byteCount: kept)
    }
    bufferOffset += position
    position = 0
    limit = kept
    let count = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[kept...]))
    if count == 0 { atEnd = true }
    limit += count
    return count > 0
  }

  /// One object of the input, captured whole as raw bytes, with where it starts.
  struct CapturedObject {
    /// Valid until the lexer is next used.
    var bytes: UnsafeRawBufferPointer
    var offset: Int
    var line: Int
    var column: Int
  }

  /// Captures the rest of the line from the next token as raw bytes in one piece, without its line break, and moves
  /// past it; `nil` for a line longer than a capture may be (the caller then reads the file the full way).
  func captureLine() throws(InputError) -> CapturedObject? {
    try readLine { $0 }
  }

  /// Reads the rest of the line from the next token with `read`, moving past it only when `read` makes something of it.
  ///
  /// `read` is handed the line as raw bytes in one piece, without its line break. When it gives `nil`, the lexer stays
  /// at the line's first token; `nil` too for a line longer than a capture may be.
  func readLine<Value>(_ read: (CapturedObject) -> Value?) throws(InputError) -> Value? {
    guard utf16 == nil, try peekToken() != nil else { return nil }
    var searched = 0
    var length: Int?
    while length == nil {
      let rest = UnsafeRawBufferPointer(rebasing: buffer[position + searched..<limit])
      if let start = rest.baseAddress, let found = memchr(start, Int32(UInt8(ascii: "\n")), rest.count) {
        length = searched + (UnsafeRawPointer(found) - start)
      } else {
        searched = limit - position
        guard try refillKeepingUnread() else { break }
      }
    }
    // The last line, without a line break.
    guard let end = length.map({ position + $0 }) ?? (atEnd && limit > position ? limit : nil) else { return nil }
    let captured = CapturedObject(
      bytes: UnsafeRawBufferPointer(rebasing: buffer[position..<end]), offset: offset, line: line, column: column)
    guard let value = read(captured) else { return nil }
    position = end
    if length != nil {
      position += 1
      line += 1
      lineStart = offset
    }
    return value
  }

  /// Captures the object that starts at the next token as raw bytes in one piece, and moves past
  /// it; `scan` checks the bytes and notes the object's members.
  ///
  /// Returns `nil`, leaving the position where the object starts, when the object is not
  /// well-formed as `scan` checks it, or the file ends inside it: a caller then reads it the full
  /// way, which reports the problem precisely.
  func captureObject(_ scan: inout JSONObjectScan) throws(InputError) -> CapturedObject? {
    guard utf16 == nil, try peekToken() == UInt8(ascii: "{") else { return nil }
    let startLine = line
    let startColumn = column
    var length: Int?
    while true {
      length = scan.scan(UnsafeRawBufferPointer(rebasing: buffer[position..<limit]))
      // An object cut by the end of the buffer: move it to the front, read on, and scan it again.
      guard length == nil, scan.ranOut, try refillKeepingUnread() else { break }
    }
    guard let length else { return nil }
    let start = offset
    let bytes = UnsafeRawBufferPointer(rebasing: buffer[position..<position + length])
    position += length
    if scan.newlines > 0 {
      line += scan.newlines
      lineStart = start + scan.lastNewline + 1
    }
    return CapturedObject(bytes: bytes, offset: start, line: startLine, column: startColumn)
  }

  /// Reads UTF-16 bytes and writes them into `buffer` as UTF-8 (at most 3 bytes per code unit, so a
  /// third of the buffer's size in code units always fits).
  private func readTranscoded() throws(InputError) -> Int {
    guard var state = utf16, let file else { return 0 }
    defer { utf16 = state }
    while true {
      let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count / 3 & ~1, alignment: 1)
      defer { raw.deallocate() }
      let count = try file.read(into: raw)
      var bytes = state.carry + Array(raw[0..<count])
      state.carry = []
      if state.bomPending, bytes.count >= 2 {
        bytes.removeFirst(2)
        state.bomPending = false
      }
      if count == 0 && bytes.count < 2 { return 0 }
      if bytes.count % 2 == 1 { state.carry = [bytes.removeLast()] }
      var units: [UInt16] = []
      units.reserveCapacity(bytes.count / 2)
      for index in stride(from: 0, to: bytes.count, by: 2) {
        units.append(
          state.bigEndian
            ? UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
            : UInt16(bytes[index + 1]) << 8 | UInt16(bytes[index]))
      }
      // Keep a high surrogate at the end for the next chunk, where its pair is.
      if count > 0, let last = units.last, (0xD800..<0xDC00).contains(last) {
        units.removeLast()
        state.carry =
          (state.bigEndian ? [UInt8(last >> 8), UInt8(last & 0xFF)] : [UInt8(last & 0xFF), UInt8(last >> 8)])
          + state.carry
      }
      let utf8 = Array(String(decoding: units, as: UTF16.self).utf8)
      if utf8.isEmpty && count > 0 { continue }
      utf8.withUnsafeBytes { buffer.copyMemory(from: $0) }
      return utf8.count
    }
  }

  /// Skips an optional UTF-8 byte order mark (a UTF-16 one is handled while transcoding); refuses
  /// UTF-32 and BOM-less UTF-16 with a clear message.
  func skipByteOrderMark() throws(InputError) {
    guard let first = try peek() else { return }
    if first == 0xEF {
      advance()
      guard try peek() == 0xBB else { throw error("not UTF-8 JSON: stray byte 0xEF at the start") }
      advance()
      guard try peek() == 0xBF else { throw error("not UTF-8 JSON: stray bytes 0xEF 0xBB at the start") }
      advance()
      lineStart = offset
    } else if first == 0 {
      throw error("the file is UTF-32 or UTF-16 without a byte order mark; convert it to UTF-8 (iconv)")
    }
  }

  /// Skips white space, counting lines, and returns the next significant byte.
  @inline(__always)
  func peekToken() throws(InputError) -> UInt8? {
    while let byte = try peek() {
      switch byte {
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
        advance()
      case UInt8(ascii: "\n"):
        advance()
        line += 1
        lineStart = offset
      default:
        return byte
      }
    }
    return nil
  }

  /// Consumes `byte` after white space, or fails naming what was expected.
  func expect(_ byte: UInt8, _ what: String) throws(InputError) {
    guard let next = try peekToken() else { throw error("unexpected end of file, expected \(what)") }
    guard next == byte else { throw error("expected \(what), found \(JSONLexer.describe(next))") }
    advance()
  }

  /// After a member or element: `true` if a `,` follows, `false` at the closing bracket.
  func nextSeparator(closing: UInt8, _ what: String) throws(InputError) -> Bool {
    guard let next = try peekToken() else { throw error("unexpected end of file inside \(what)") }
    advance()
    if next == UInt8(ascii: ",") { return true }
    if next == closing { return false }
    throw error("expected ',' or '\(Character(UnicodeScalar(closing)))' in \(what), found \(JSONLexer.describe(next))")
  }

  /// Reads a string token starting at its opening quote; when its text is `known`'s, `known`
  /// itself, which then shares its storage instead of allocating a copy (names repeat on every line
  /// of a file, and one over 15 bytes is an allocation each time).
  func readString(reusing known: String? = nil) throws(InputError) -> String {
    let startLine = line
    let startColumn = column
    let startOffset = offset
    try expect(UInt8(ascii: "\""), "a string")
    // Most strings end in the bytes at hand with no escape: they are made from those bytes where they lie.
    if let text = plainString(reusing: known) { return text }
    scratch.removeAll(keepingCapacity: true)
    while true {
      // Copy the plain run up to the next quote, backslash or control byte in one go.
      if position < limit {
        let bytes = buffer
        let end = limit
        var runEnd = position
        while runEnd < end {
          let byte = bytes[runEnd]
          if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
          runEnd += 1
        }
        if runEnd > position {
          scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[position..<runEnd]))
          position = runEnd
          continue
        }
      }
      guard let byte = try peek() else {
        throw error("unterminated string (it starts at line \(startLine), column \(startColumn))")
      }
      advance()
      switch byte {
      case UInt8(ascii: "\""):
        if let known, JSONLexer.bytes(scratch, are: known) { return known }
        guard let text = JSONLexer.text(of: scratch) else {
          // Exact unless escapes come before the bad byte in the string; then it is a little later.
          let offset = startOffset + 1 + JSONLexer.firstInvalidUTF8(scratch)
          throw error(
            "invalid UTF-8 at byte offset \(offset), in the string that starts at byte offset \(startOffset)",
            line: startLine, column: startColumn)
        }
        return text
      case UInt8(ascii: "\\"):
        try readEscape()
      case 0..<0x20:
        throw error("control character \(JSONLexer.describe(byte)) inside a string")
      default:
        scratch.append(byte)
      }
    }
  }

  /// A string parsed from its bytes, where they lie in the buffer when it can be.
  ///
  /// That is when the string holds no escape and ends within the bytes at hand (most do); any other is read whole
  /// first. Values that are parsed anyway (numbers, instants, ids) are never made a `String` on the way.
  ///
  /// - Parameter parse: makes the value of the string's UTF-8 bytes, `nil` when they are not one.
  /// - Returns: what `parse` made.
  /// - Throws: `InputError` for input that is not a string.
  func readString<Value>(parsing parse: (UnsafeBufferPointer<UInt8>) -> Value?) throws(InputError) -> Value? {
    guard try peekToken() == UInt8(ascii: "\""), let end = plainStringEnd(from: position + 1) else {
      return try readString().withUTF8Bytes(parse)
    }
    let bytes = UnsafeRawBufferPointer(rebasing: buffer[position + 1..<end]).assumingMemoryBound(to: UInt8.self)
    position = end + 1
    return parse(bytes)
  }

  /// Where the plain string starting at `start` closes (its closing quote), when that is within the bytes at hand
  /// and nothing before it is a backslash or a control byte.
  @inline(__always)
  private func plainStringEnd(from start: Int) -> Int? {
    var end = start
    while end < limit {
      let byte = buffer[end]
      if byte == UInt8(ascii: "\"") { return end }
      if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
      end += 1
    }
    return nil
  }

  /// The string whose bytes follow in the buffer up to its closing quote, valid UTF-8 with no escape or control
  /// byte; `nil`, with nothing read, for any other (escaped, invalid, or running past the bytes at hand).
  @inline(__always)
  private func plainString(reusing known: String?) -> String? {
    guard let end = plainStringEnd(from: position) else { return nil }
    let bytes = UnsafeRawBufferPointer(rebasing: buffer[position..<end])
    let text = known.flatMap { JSONLexer.bytes(bytes, are: $0) ? $0 : nil } ?? JSONLexer.text(of: bytes)
    if text != nil { position = end + 1 }
    return text
  }

  /// Whether `bytes` are the UTF-8 of `text`.
  static func bytes(_ bytes: [UInt8], are text: String) -> Bool {
    bytes.withUnsafeBytes { JSONLexer.bytes($0, are: text) }
  }

  static func bytes(_ bytes: UnsafeRawBufferPointer, are text: String) -> Bool {
    guard text.utf8.count == bytes.count else { return false }
    return text.withUTF8Bytes { known in
      guard let left = known.baseAddress, let right = bytes.baseAddress else { return true }
      return memcmp(left, right, bytes.count) == 0
    }
  }

  /// The UTF-8 bytes as a string, `nil` when they are not valid UTF-8.
  ///
  /// ASCII, which most values are, skips the standard library's validation: it is generic and not specialized for
  /// byte arrays, and cost more than the rest of reading a state line.
  static func text(of bytes: [UInt8]) -> String? {
    bytes.withUnsafeBytes { JSONLexer.text(of: $0) }
  }

  static func text(of bytes: UnsafeRawBufferPointer) -> String? {
    let buffer = bytes.assumingMemoryBound(to: UInt8.self)
    return bytes.isASCII ? String(decoding: buffer, as: UTF8.self) : String(validating: buffer, as: UTF8.self)
  }

  private func readEscape() throws(InputError) {
    guard let byte = try peek() else { throw error("unterminated escape in a string") }
    advance()
    switch byte {
    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(byte)
    case UInt8(ascii: "b"): scratch.append(0x08)
    case UInt8(ascii: "f"): scratch.append(0x0C)
    case UInt8(ascii: "n"): scratch.append(0x0A)
    case UInt8(ascii: "r"): scratch.append(0x0D)
    case UInt8(ascii: "t"): scratch.append(0x09)
    case UInt8(ascii: "u"):
      var scalar = try readHex4()
      if (0xD800..<0xDC00).contains(scalar) {
        guard try peek() == UInt8(ascii: "\\") else { throw error("unpaired surrogate \\u escape") }
        advance()
        guard try peek() == UInt8(ascii: "u") else { throw error("unpaired surrogate \\u escape") }
        advance()
        let low = try readHex4()
        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate \\u escape") }
        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
      } else if (0xDC00..<0xE000).contains(scalar) {
        throw error("unpaired surrogate \\u escape")
      }
      guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
      scratch.append(contentsOf: Array(String(Character(unicode)).utf8))
    default:
      throw error("invalid escape \\\(Character(UnicodeScalar(byte)))")
    }
  }

  private func readHex4() throws(InputError) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard let byte = try peek() else { throw error("unterminated \\u escape") }
      advance()
      guard let digit = ASCIIDigit.hexValue(byte) else { throw error("invalid hex digit in a \\u escape") }
      value = value << 4 | UInt32(digit)
    }
    return value
  }

  /// Reads a number token and returns its text, checked against JSON's number grammar.
  func readNumber() throws(InputError) -> String {
    scratch.removeAll(keepingCapacity: true)
    while let byte = try peek() {
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"),
        UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
        scratch.append(byte)
        advance()
      default:
        return try checkedNumber()
      }
    }
    return try checkedNumber()
  }

  private func checkedNumber() throws(InputError) -> String {
    let text = String(decoding: scratch, as: UTF8.self)
    guard JSONLexer.isJSONNumber(scratch) else { throw error("malformed number '\(text)'") }
    return text
  }

  /// Reads `true`, `false` or `null`.
  func readLiteral() throws(InputError) -> JSONScalar {
    guard let first = try peek() else { throw error("unexpected end of file, expected a value") }
    let (word, value): (String, JSONScalar) =
      switch first {
      case UInt8(ascii: "t"): ("true", .bool(true))
      case UInt8(ascii: "f"): ("false", .bool(false))
      case UInt8(ascii: "n"): ("null", .null)
      default: ("", .null)
      }
    guard !word.isEmpty else { throw error("expected a value, found \(JSONLexer.describe(first))") }
    for expected in word.utf8 {
      guard try peek() == expected else { throw error("expected '\(word)'") }
      advance()
    }
    return value
  }

  /// Reads any scalar; objects and arrays are skipped and reported as `.nested`.
  func readScalar() throws(InputError) -> JSONScalar {
    guard let byte = try peekToken() else { throw error("unexpected end of file, expected a value") }
    switch byte {
    case UInt8(ascii: "\""): return .string(try readString())
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try readNumber())
    case UInt8(ascii: "{"), UInt8(ascii: "["):
      try skipValue()
      return .nested
    default: return try readLiteral()
    }
  }

  /// Skips one value of any shape without recursion, refusing nesting deeper than `maximumDepth`.
  func skipValue() throws(InputError) {
    var closers: [UInt8] = []
    repeat {
      guard let byte = try peekToken() else { throw error("unexpected end of file inside a value") }
      switch byte {
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        guard closers.count < JSONLexer.maximumDepth else {
          throw error("JSON nested deeper than \(JSONLexer.maximumDepth) levels is refused")
        }
        advance()
        closers.append(byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        let isObject = byte == UInt8(ascii: "{")
        if try peekToken() == closers.last {
          advance()
          closers.removeLast()
        } else if isObject {
          _ = try readString()
          try expect(UInt8(ascii: ":"), "':'")
          continue
        } else {
          continue
        }
      case UInt8(ascii: "\""): _ = try readString()
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try readNumber()
      default: _ = try readLiteral()
      }
      // After a complete value inside containers: a separator or the container's end.
      while let closer = closers.last {
        guard let next = try peekToken() else { throw error("unexpected end of file inside a value") }
        advance()
        if next == closer {
          closers.removeLast()
          continue
        }
        guard next == UInt8(ascii: ",") else {
          throw error("expected ',' or '\(Character(UnicodeScalar(closer)))', found \(JSONLexer.describe(next))")
        }
        if closer == UInt8(ascii: "}") {
          _ = try readString()
          try expect(UInt8(ascii: ":"), "':'")
        }
        break
      }
    } while !closers.isEmpty
  }

  static func describe(_ byte: UInt8) -> String {
    if byte >= 0x20 && byte < 0x7F { return "'\(Character(UnicodeScalar(byte)))'" }
    return "byte 0x" + String(byte, radix: 16, uppercase: true)
  }

  static func isJSONNumber(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { isJSONNumber($0) }
  }

  static func isJSONNumber(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var index = 0
    func digits() -> Int {
      let start = index
      while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
        index += 1
      }
      return index - start
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
    let integerStart = index
    let integerDigits = digits()
    guard integerDigits > 0 else { return false }
    if integerDigits > 1, bytes[integerStart] == UInt8(ascii: "0") { return false }
    if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
      index += 1
      guard digits() > 0 else { return false }
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
        index += 1
      }
      guard digits() > 0 else { return false }
    }
    return index == bytes.count
  }

  /// Index of the first byte that breaks UTF-8 in `bytes`.
  static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int {
    var index = 0
    while index < bytes.count {
      let lead = bytes[index]
      let length =
        lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 0
      guard length > 0, index + length <= bytes.count,
        String(validating: bytes[index..<index + length], as: UTF8.self) != nil
      else { return index }
      index += length
    }
    return index
  }
}

/// A JSON value that is not an object or array (those are only ever skipped, as `.nested`).
enum JSONScalar: Sendable, Equatable {
  case string(String)
  case number(String)
  case bool(Bool)
  case null
  case nested
}
