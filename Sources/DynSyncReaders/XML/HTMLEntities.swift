/// Decodes the HTML encoding the Configuration Migration tool applies to string values before
/// XML escaping (`HttpUtility.HtmlEncode`): `&lt; &gt; &amp; &quot; &#39;` and numeric references.
///
/// Applied exactly once on top of XML unescaping: a value that really contains `&amp;` text
/// survives as `&amp;`.
enum HTMLEntities {
  static let named: [Substring: Character] = [
    "lt": "<", "gt": ">", "amp": "&", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}",
  ]

  static func decode(_ text: String) -> String {
    guard text.utf8.contains(UInt8(ascii: "&")) else { return text }
    var result = ""
    result.reserveCapacity(text.utf8.count)
    var rest = Substring(text)
    while let amp = rest.firstIndex(of: "&") {
      result += rest[..<amp]
      let afterAmp = rest.index(after: amp)
      if let semicolon = rest[afterAmp...].prefix(12).firstIndex(of: ";"),
        let character = character(for: rest[afterAmp..<semicolon])
      {
        result.append(character)
        rest = rest[rest.index(after: semicolon)...]
      } else {
        result.append("&")
        rest = rest[afterAmp...]
      }
    }
    result += rest
    return result
  }

  private static func character(for reference: Substring) -> Character? {
    if let known = named[reference] { return known }
    guard reference.first == "#" else { return nil }
    let digits = reference.dropFirst()
    let value: UInt32?
    if digits.first == "x" || digits.first == "X" {
      value = UInt32(digits.dropFirst(), radix: 16)
    } else {
      value = UInt32(digits, radix: 10)
    }
    return value.flatMap(Unicode.Scalar.init).map(Character.init)
  }
}
