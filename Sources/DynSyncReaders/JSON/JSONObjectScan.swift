import DynSyncCore

/// The JSON type of a member's value, as an object scan sees it.
enum JSONValueKind: UInt8 {
  case string
  case number
  case boolean
  case null
  /// An object or an array.
  case nested
}

/// A top-level member of a scanned object: byte ranges into the object's bytes (a string's range
/// excludes its quotes).
struct JSONMemberSpan {
  var key: Range<Int>
  var value: Range<Int>
  var kind: JSONValueKind
  /// The key holds a backslash escape, so its bytes are not its text.
  var keyEscaped: Bool
  /// The (string) value holds a backslash escape, so its bytes are not its text.
  var valueEscaped: Bool
}

/// Checks that the bytes of one object are well-formed JSON exactly where `JSONLexer` would
/// accept them (strings, escapes, UTF-8, numbers, literals, nesting), and notes its top-level
/// members, without making a single string.
struct JSONObjectScan {
  private(set) var members: [JSONMemberSpan] = []
  /// Line breaks inside the object, and the offset of the last one.
  private(set) var newlines = 0
  private(set) var lastNewline = 0
  /// The last scan failed because the bytes ended before the object did.
  private(set) var ranOut = false
  private var bytes = UnsafeRawBufferPointer(start: nil, count: 0)
  private var index = 0
  /// The key of a top-level member whose object's own members are noted too (`innerMembers`), in the same pass.
  var innerObjectKey: [UInt8] = []
  /// The members of the object under `innerObjectKey`, with ranges into the scanned bytes, and where that object lies.
  private(set) var innerMembers: [JSONMemberSpan] = []
  private(set) var innerObject: Range<Int>?

  init() {
    members.reserveCapacity(64)
  }

  /// The length of the well-formed object at the start of `bytes`, or `nil` when it is malformed
  /// or (`ranOut`) the bytes end before it does.
  mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Int? {
    self.bytes = bytes
    index = 0
    newlines = 0
    ranOut = false
    members.removeAll(keepingCapacity: true)
    innerMembers.removeAll(keepingCapacity: true)
    innerObject = nil
    return object(isInner: false) ? index : nil
  }

  private mutating func object(isInner: Bool) -> Bool {
    guard next() == UInt8(ascii: "{") else { return false }
    index += 1
    if next() == UInt8(ascii: "}") {
      index += 1
      return true
    }
    while true {
      guard next() == UInt8(ascii: "\"") else { return false }
      let keyStart = index + 1
      guard let keyEscaped = string() else { return false }
      let key = keyStart..<index - 1
      guard next() == UInt8(ascii: ":") else { return false }
      index += 1
      guard let first = next() else { return false }
      let valueStart = index
      var kind = JSONValueKind.nested
      var valueEscaped = false
      switch first {
      case UInt8(ascii: "\""):
        guard let escaped = string() else { return false }
        valueEscaped = escaped
        kind = .string
      case UInt8(ascii: "{") where !isInner && innerObject == nil && isInnerObjectKey(key):
        guard object(isInner: true) else { return false }
        innerObject = valueStart..<index
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        guard nested() else { return false }
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        guard number() else { return false }
        kind = .number
      case UInt8(ascii: "t"):
        guard literal("true") else { return false }
        kind = .boolean
      case UInt8(ascii: "f"):
        guard literal("false") else { return false }
        kind = .boolean
      case UInt8(ascii: "n"):
        guard literal("null") else { return false }
        kind = .null
      default:
        return false
      }
      let value = kind == .string ? valueStart + 1..<index - 1 : valueStart..<index
      let member = JSONMemberSpan(
        key: key, value: value, kind: kind, keyEscaped: keyEscaped, valueEscaped: valueEscaped)
      if isInner { innerMembers.append(member) } else { members.append(member) }
      switch next() {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "}"):
        index += 1
        return true
      default: return false
      }
    }
  }

  private func isInnerObjectKey(_ key: Range<Int>) -> Bool {
    !innerObjectKey.isEmpty && innerObjectKey.count == key.count
      && innerObjectKey.withUnsafeBytes { $0.elementsEqual(bytes[key]) }
  }

  /// Skips white space, counting line breaks; the next byte, or `nil` at the end.
  @inline(__always)
  private mutating func next() -> UInt8? {
    while index < bytes.count {
      let byte = bytes[index]
      switch byte {
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): index += 1
      case UInt8(ascii: "\n"):
        newlines += 1
        lastNewline = index
        index += 1
      default: return byte
      }
    }
    ranOut = true
    return nil
  }

  /// A string from its opening quote; whether it held an escape, or `nil` when malformed.
  // Inlined where a member's key and value are read: a call a string, and the scan's constants set up again in each,
  // cost as much as the eight bytes at a time it looks at.
  @inline(__always)
  private mutating func string() -> Bool? {
    index += 1
    var escaped = false
    while index < bytes.count {
      index += JSONObjectScan.plainPrefix(of: bytes, from: index)
      guard index < bytes.count else { break }
      let byte = bytes[index]
      if byte == UInt8(ascii: "\"") {
        index += 1
        return escaped
      }
      if byte == UInt8(ascii: "\\") {
        guard escape() else { return nil }
        escaped = true
      } else if byte < 0x20 {
        return nil
      } else if byte < 0x80 {
        index += 1
      } else {
        guard utf8Sequence() else { return nil }
      }
    }
    ranOut = true
    return nil
  }

  /// How many bytes from `start` are plain ASCII string content (no quote, backslash, control
  /// character or UTF-8 lead), eight at a time: most of an export's bytes are inside strings.
  @inline(__always)
  static func plainPrefix(of bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
    var index = start
    guard let base = bytes.baseAddress else { return 0 }
    while index + 8 <= bytes.count {
      let word = ByteWord.load(base, at: index)
      // A byte's high bit is set when it is the quote or backslash, below 0x20, or non-ASCII; borrows may flag bytes
      // after the first hit, never before it.
      let special =
        ByteWord.bytes(equalTo: UInt8(ascii: "\""), in: word) | ByteWord.bytes(equalTo: UInt8(ascii: "\\"), in: word)
        | ByteWord.bytes(below: 0x20, in: word) | word & 0x8080_8080_8080_8080
      if special != 0 { return index - start + special.trailingZeroBitCount / 8 }
      index += 8
    }
    return index - start
  }

  private mutating func escape() -> Bool {
    guard index + 1 < bytes.count else { return outOfBytes() }
    switch bytes[index + 1] {
    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
      UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
      index += 2
      return true
    case UInt8(ascii: "u"):
      guard index + 6 <= bytes.count else { return outOfBytes() }
      guard let unit = hex4(at: index + 2) else { return false }
      index += 6
      if (0xDC00..<0xE000).contains(unit) { return false }
      guard (0xD800..<0xDC00).contains(unit) else { return true }
      guard index + 6 <= bytes.count else { return outOfBytes() }
      guard bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
        let low = hex4(at: index + 2), (0xDC00..<0xE000).contains(low)
      else { return false }
      index += 6
      return true
    default:
      return false
    }
  }

  /// Fails the scan for want of bytes: more of the file may complete the object.
  private mutating func outOfBytes() -> Bool {
    ranOut = true
    return false
  }

  private func hex4(at start: Int) -> UInt32? {
    guard start + 4 <= bytes.count else { return nil }
    var value: UInt32 = 0
    for offset in 0..<4 {
      guard let digit = ASCIIDigit.hexValue(bytes[start + offset]) else { return nil }
      value = value << 4 | UInt32(digit)
    }
    return value
  }

  /// One multi-byte UTF-8 sequence, strictly (no overlong forms, no surrogates, at most U+10FFFF).
  private mutating func utf8Sequence() -> Bool {
    guard let (length, second) = StrictUTF8.sequence(startingWith: bytes[index]) else { return false }
    guard index + length <= bytes.count else { return outOfBytes() }
    guard second.contains(bytes[index + 1]) else { return false }
    for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 { return false }
    index += length
    return true
  }

  /// The longest run of number characters, checked against JSON's number grammar, as the lexer
  /// reads a number.
  private mutating func number() -> Bool {
    let start = index
    while index < bytes.count {
      switch bytes[index] {
      case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
        UInt8(ascii: "e"), UInt8(ascii: "E"):
        index += 1
      default:
        return JSONLexer.isJSONNumber(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
      }
    }
    return outOfBytes()
  }

  private mutating func literal(_ word: StaticString) -> Bool {
    let count = word.utf8CodeUnitCount
    guard index + count <= bytes.count else { return outOfBytes() }
    for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
    index += count
    return true
  }

  /// An object or array inside a member's value, at most 64 levels deep (a deeper one is left to the lexer, which
  /// reads it as the grammar says).
  private mutating func nested() -> Bool {
    // The containers open, innermost in the low bit: 1 for an object, 0 for an array.
    var objects: UInt64 = 0
    var depth = 0
    repeat {
      guard let byte = next() else { return false }
      switch byte {
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        guard depth < 64 else { return false }
        index += 1
        let isObject = byte == UInt8(ascii: "{")
        if next() == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
          index += 1
        } else {
          objects = objects << 1 | (isObject ? 1 : 0)
          depth += 1
          if isObject {
            guard next() == UInt8(ascii: "\""), string() != nil, next() == UInt8(ascii: ":") else { return false }
            index += 1
          }
          continue
        }
      case UInt8(ascii: "\""): guard string() != nil else { return false }
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): guard number() else { return false }
      case UInt8(ascii: "t"): guard literal("true") else { return false }
      case UInt8(ascii: "f"): guard literal("false") else { return false }
      case UInt8(ascii: "n"): guard literal("null") else { return false }
      default: return false
      }
      // After a complete value inside containers: a separator or the container's end.
      while depth > 0 {
        guard let separator = next() else { return false }
        index += 1
        let inObject = objects & 1 == 1
        if separator == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
          objects >>= 1
          depth -= 1
          continue
        }
        guard separator == UInt8(ascii: ",") else { return false }
        if inObject {
          guard next() == UInt8(ascii: "\""), string() != nil, next() == UInt8(ascii: ":") else { return false }
          index += 1
        }
        break
      }
    } while depth > 0
    return true
  }
}
