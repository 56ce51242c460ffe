import CLibXML2
import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// What a handler may ask of the pass it follows, during an event.
protocol XMLEventSource: AnyObject {
  /// Where the pass is in the file, in bytes: in a start-element call, on the `>` that ends the start tag (the `/` of
  /// `/>` for an empty element); in an end-element call, just past the end tag.
  var byteOffset: Int { get }
  /// The line the pass is on, counted from 1: the line feeds before `byteOffset`, plus one.
  var line: Int { get }
}

/// The XML of a file that `XMLByteScanner` leaves to libxml2: the pass is run again on `XMLSAXParser`, which reads it
/// or says what is wrong with it.
public struct XMLScanDeclined: Error, CustomStringConvertible {
  public let path: String
  /// The stream offset the scan stopped at.
  public let offset: Int
  public let reason: String

  public var description: String { "\(path): byte \(offset): \(reason) (left to libxml2)" }
}

/// A forward-only pass over the plain XML exports are written in, straight over the bytes of an `XMLRowWindow`,
/// that hands a handler the very events libxml2's SAX parser (`XMLSAXParser`) hands it for the same bytes.
///
/// libxml2's own parse costs more than the whole Web API diff besides its scan, so the index pass reads XML this
/// way first, as the JSON index pass reads rows with a grammar scan of its own. It takes only what it can answer
/// for exactly: an XML declaration of version 1.0 in UTF-8, elements and attributes with ASCII names and no prefix
/// (namespace declarations of plain `http` URIs aside), text and attribute values of well-formed UTF-8, and the
/// five predefined entities and character references. It declines (`XMLScanDeclined`) everything else, well-formed
/// or not: a comment, a processing instruction, a CDATA section, a DOCTYPE, any other entity, a prefixed name, a
/// byte order mark of UTF-16, an error of any kind. Nothing is ever expanded or loaded. A declined file is parsed
/// again by libxml2 from its start, which then reads it, refuses it or says where it is malformed: errors are
/// always libxml2's.
///
/// What libxml2 would hand on, it hands on alike: element names as interned, NUL-terminated strings (one pointer per
/// name within the scan, as `XMLInternedName` relies on), attributes in libxml2's layout with their values as
/// libxml2 leaves them when it replaces no entity (white space made spaces, `&amp;` and `&#38;` as `&#38;`, the
/// other references as their characters), text with line ends made line feeds, and the same byte offsets and
/// lines. Text may come in other pieces than libxml2's; handlers gather it. `XMLByteScannerTests` checks this
/// against libxml2 on generated exports and on many thousands of altered documents.
final class XMLByteScanner<Handler: XMLSAXHandler>: XMLEventSource {
  private let path: String
  private let handler: Handler
  /// The window the file is read into, and the file; `nil` for text held whole in memory.
  private let window: XMLRowWindow?
  private let file: FileBytes?
  /// Called before each read of more of the file: the index pass hands on the rows ended so far.
  private let beforeRead: () throws -> Void

  // The window's bytes, as held now (indices below are into `bytes`); unchecked for exclusive access: one scan, one
  // thread, and every byte goes through these.
  @exclusivity(unchecked) private var bytes: UnsafePointer<UInt8>
  /// The stream offset of `bytes[0]`.
  @exclusivity(unchecked) private var origin: Int
  @exclusivity(unchecked) private var end: Int

  @exclusivity(unchecked) private(set) var byteOffset = 0
  /// A stream offset up to which the line feeds are counted, and the line there.
  @exclusivity(unchecked) private var counted: (offset: Int, line: Int)

  /// The open elements' names, interned (`depth` of them).
  private let open: UnsafeMutablePointer<(name: UnsafePointer<UInt8>, count: Int)>
  @exclusivity(unchecked) private var depth = 0
  @exclusivity(unchecked) private var names = XMLNameTable()
  /// The place of the name of the last start tag, which predicts the next one's; -1 before the first.
  @exclusivity(unchecked) private var lastElement = -1
  /// The attributes of the start tag being read, five pointers each, as libxml2 lays them out and hands them on
  /// (`attributeCount` of them); namespace declarations are not among them.
  @exclusivity(unchecked) private var slots: UnsafeMutablePointer<UnsafePointer<xmlChar>?>
  @exclusivity(unchecked) private var slotCapacity = 16
  @exclusivity(unchecked) private var attributeCount = 0
  /// Attribute values as libxml2 rewrites them (white space, references): a value's pointers are set once the tag is
  /// read, `rewritten` no longer growing; the attribute each is of, and its bytes there.
  private let rewritten = ScratchBytes()
  @exclusivity(unchecked) private var rewrittenValues: [(attribute: Int, bytes: Range<Int>)] = []
  /// The places of the prefixes the start tag being read declares namespaces for.
  @exclusivity(unchecked) private var declaredPrefixes: [Int] = []
  /// A character reference or predefined entity in text, as UTF-8.
  private let character = UnsafeMutablePointer<UInt8>.allocate(capacity: 4)
  private let byteClasses = XMLScanBytes()

  /// Deeper than libxml2's own limit (256) is declined well before it.
  private static var depthLimit: Int { 128 }
  /// A tag longer than this is declined (libxml2 refuses attribute values of 10 MB).
  private static var tagLimit: Int { 1 << 20 }

  /// A scan of `file`, read into `window` (which may hold a lead-in already), calling `beforeRead` before each read.
  init(
    path: String, handler: Handler, window: XMLRowWindow, file: FileBytes, beforeRead: @escaping () throws -> Void
  ) {
    self.path = path
    self.handler = handler
    self.window = window
    self.file = file
    self.beforeRead = beforeRead
    let held = window.heldBytes
    (bytes, origin, end) = (held.bytes, held.origin, held.count)
    counted = (held.origin, 1)
    slots = .allocate(capacity: 5 * slotCapacity)
    open = .allocate(capacity: XMLByteScanner.depthLimit)
  }

  /// A scan of `text`, a whole document in memory, valid for the scanner's life.
  init(path: String, handler: Handler, text: UnsafeBufferPointer<UInt8>) {
    self.path = path
    self.handler = handler
    window = nil
    file = nil
    beforeRead = {}
    (bytes, origin, end) = (text.baseAddress ?? UnsafePointer(character), 0, text.count)
    counted = (0, 1)
    slots = .allocate(capacity: 5 * slotCapacity)
    open = .allocate(capacity: XMLByteScanner.depthLimit)
  }

  deinit {
    slots.deallocate()
    open.deallocate()
    character.deallocate()
  }

  var line: Int {
    countLines(upTo: byteOffset)
    return counted.line
  }

  /// Counts the line feeds up to the stream offset `offset`, which the bytes held reach.
  private func countLines(upTo offset: Int) {
    guard offset > counted.offset else { return }
    let start = counted.offset - origin
    counted = (
      offset, counted.line + UnsafeRawBufferPointer(start: bytes + start, count: offset - origin - start).lineFeeds
    )
  }

  /// Scans the whole stream, handing on its events; throws `XMLScanDeclined` for anything it leaves to libxml2, and
  /// the handler's and the file's errors as they come.
  func scan() throws {
    handler.follow(self)
    var at = try prolog()
    content: while true {
      if at == end {
        at = try more(keeping: at, orDecline: "the document ends inside an element")
      }
      if bytes[at] == UInt8(ascii: "<") {
        guard at + 1 < end else {
          at = try more(keeping: at, orDecline: "the document ends inside a tag")
          continue
        }
        let next: Int?
        switch bytes[at + 1] {
        case UInt8(ascii: "/"): next = try endTag(at)
        case UInt8(ascii: "!"), UInt8(ascii: "?"):
          throw declined(at, "a comment, CDATA section, declaration or processing instruction")
        default: next = try startTag(at)
        }
        guard let next else {
          // A tag still unended this far on is read no further: each read of more starts it again.
          guard end - at < XMLByteScanner.tagLimit else { throw declined(at, "a tag this long") }
          at = try more(keeping: at, orDecline: "the document ends inside a tag")
          continue
        }
        at = next
        if depth == 0 { break content }
      } else {
        let (next, starved) = try text(from: at)
        at = next
        if starved { at = try more(keeping: at, orDecline: "the document ends inside an element") }
      }
    }
    // After the root element: white space to the end.
    while true {
      while at < end, XMLScanBytes.isSpace(bytes[at]) { at += 1 }
      if at < end { throw declined(at, "something after the root element") }
      guard let next = try readMore(keeping: at) else { return }
      at = next
    }
  }

  // MARK: - Bytes

  /// Reads more of the file into the window, keeping the bytes from index `at` on; the index of the same byte after
  /// the read, or `nil` when there was nothing more to read.
  private func readMore(keeping at: Int) throws -> Int? {
    let offset = origin + at
    // The line feeds before the bytes let go of are counted now.
    countLines(upTo: offset)
    guard let window, let file else { return nil }
    try beforeRead()
    let grew = try window.readMore(keeping: offset, from: file)
    let held = window.heldBytes
    (bytes, origin, end) = (held.bytes, held.origin, held.count)
    return grew ? offset - origin : nil
  }

  private func more(keeping at: Int, orDecline reason: String) throws -> Int {
    guard let next = try readMore(keeping: at) else { throw declined(at, reason) }
    return next
  }

  private func declined(_ at: Int, _ reason: String) -> XMLScanDeclined {
    XMLScanDeclined(path: path, offset: origin + at, reason: reason)
  }

  // MARK: - Prolog

  /// Reads the XML declaration, if any, and the white space before the root element; the index of its `<`.
  private func prolog() throws -> Int {
    // A prolog is short: it is read whole, or declined.
    while end < 1024, try readMore(keeping: 0) != nil {}
    var at = 0
    if end >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { at = 3 }
    if starts(at, "<?xml"), at + 5 < end, XMLScanBytes.isSpace(bytes[at + 5]) {
      at = try declaration(from: at + 5)
    }
    while at < end, XMLScanBytes.isSpace(bytes[at]) { at += 1 }
    guard at + 1 < end, bytes[at] == UInt8(ascii: "<"), byteClasses.isNameStart(bytes[at + 1]) else {
      throw declined(at, "no root element right after the XML declaration")
    }
    return at
  }

  /// The rest of `<?xml … ?>` from `at`: version 1.0, an encoding of UTF-8 if any, a standalone flag if any.
  private func declaration(from start: Int) throws -> Int {
    var at = start
    func pseudoAttribute(_ name: StaticString, required: Bool) throws -> UnsafeBufferPointer<UInt8>? {
      let before = at
      while at < end, XMLScanBytes.isSpace(bytes[at]) { at += 1 }
      guard starts(at, name), at > before else {
        if required { throw declined(at, "an XML declaration without its version") }
        at = before
        return nil
      }
      at += name.utf8CodeUnitCount
      while at < end, XMLScanBytes.isSpace(bytes[at]) { at += 1 }
      guard at < end, bytes[at] == UInt8(ascii: "=") else { throw declined(at, "an XML declaration of another form") }
      at += 1
      while at < end, XMLScanBytes.isSpace(bytes[at]) { at += 1 }
      guard at < end, bytes[at] == UInt8(ascii: "\"") || bytes[at] == UInt8(ascii: "'") else {
        throw declined(at, "an XML declaration of another form")
      }
      let quote = bytes[at]
      at += 1
      let valueStart = at
      while at < end, bytes[at] != quote, bytes[at] < 0x80, bytes[at] >= 0x20 { at += 1 }
      guard at < end, bytes[at] == quote else { throw declined(at, "an XML declaration of another form") }
      at += 1
      return UnsafeBufferPointer(start: bytes + valueStart, count: at - 1 - valueStart)
    }
    guard let version = try pseudoAttribute("version", required: true), version.equals("1.0") else {
      throw declined(at, "an XML version other than 1.0")
    }
    if let encoding = try pseudoAttribute("encoding", required: false) {
      guard encoding.count == 5, String(decoding: encoding, as: UTF8.self).lowercased() == "utf-8" else {
        throw declined(at, "an encoding other than UTF-8")
      }
    }
    if let standalone = try pseudoAttribute("standalone", required: false) {
      guard standalone.equals("yes") || standalone.equals("no") else {
        throw declined(at, "an XML declaration of another form")
      }
    }
    while at < end, XMLScanBytes.isSpace(bytes[at]) { at += 1 }
    guard starts(at, "?>") else { throw declined(at, "an XML declaration of another form") }
    return at + 2
  }

  private func starts(_ at: Int, _ text: StaticString) -> Bool {
    guard at + text.utf8CodeUnitCount <= end else { return false }
    return memcmp(bytes + at, text.utf8Start, text.utf8CodeUnitCount) == 0
  }

  // MARK: - Tags

  /// The start tag at `start` handed on (and its end, for `<x/>`); the index past it, or `nil` when the bytes held
  /// end first (nothing is handed on then).
  private func startTag(_ start: Int) throws -> Int? {
    guard depth < XMLByteScanner.depthLimit else { throw declined(start, "elements nested this deep") }
    let nameStart = start + 1
    guard let (place, nameEnd, hasColon) = try name(from: nameStart, predicted: names.element(after: lastElement))
    else { return nil }
    guard !hasColon else { throw declined(nameStart, "a prefixed name") }
    names.note(element: place, after: lastElement)
    lastElement = place
    var lastAttribute = place
    let bytes = self.bytes
    let end = self.end
    var at = nameEnd
    attributeCount = 0
    rewritten.removeAll()
    if !rewrittenValues.isEmpty { rewrittenValues.removeAll(keepingCapacity: true) }
    if !declaredPrefixes.isEmpty { declaredPrefixes.removeAll(keepingCapacity: true) }
    let close: Int
    let isEmpty: Bool
    while true {
      let spaceStart = at
      while at < end, XMLScanBytes.isSpace(bytes[at]) { at += 1 }
      guard at < end else { return nil }
      if bytes[at] == UInt8(ascii: ">") {
        (close, isEmpty) = (at, false)
        at += 1
        break
      }
      if bytes[at] == UInt8(ascii: "/") {
        guard at + 1 < end else { return nil }
        guard bytes[at + 1] == UInt8(ascii: ">") else { throw declined(at, "a malformed start tag") }
        (close, isEmpty) = (at, true)
        at += 2
        break
      }
      guard at > spaceStart else { throw declined(at, "attributes not apart") }
      if let next = plainAttribute(from: at, after: &lastAttribute) {
        at = next
        continue
      }
      guard let next = try attribute(from: at, after: &lastAttribute) else { return nil }
      at = next
    }
    if let base = rewritten.bytes.baseAddress {
      for (attribute, bytes) in rewrittenValues {
        slots[5 * attribute + 3] = base + bytes.lowerBound
        slots[5 * attribute + 4] = base + bytes.upperBound
      }
    }
    let count = nameEnd - nameStart
    let name = names.name(place)
    let attributes = XMLSAXParser.Attributes(base: attributeCount == 0 ? nil : slots, count: attributeCount)
    byteOffset = origin + close
    try handler.startElement(UnsafeBufferPointer(start: name, count: count), attributes: attributes, depth: depth)
    if isEmpty {
      byteOffset = origin + at
      try handler.endElement(name, depth: depth)
    } else {
      open[depth] = (name, count)
      depth += 1
    }
    return at
  }

  /// The end tag at `start`, which must close the element open last; the index past it, or `nil` when the bytes
  /// held end first.
  private func endTag(_ start: Int) throws -> Int? {
    guard depth > 0 else { throw declined(start, "an end tag with no element open") }
    let element = open[depth - 1]
    let bytes = self.bytes
    let end = self.end
    var at = start + 2
    guard at + element.count < end else { return nil }
    guard sameBytes(bytes + at, element.name, element.count) else {
      throw declined(start, "an end tag that does not close the element open")
    }
    at += element.count
    while at < end, XMLScanBytes.isSpace(bytes[at]) { at += 1 }
    guard at < end else { return nil }
    guard bytes[at] == UInt8(ascii: ">") else {
      throw declined(start, "an end tag that does not close the element open")
    }
    at += 1
    depth -= 1
    byteOffset = origin + at
    try handler.endElement(element.name, depth: depth)
    return at
  }

  /// The end of the name at `start`, ASCII name characters starting with a letter or `_`, and whether it holds a
  /// `:` (the caller looks at it); `nil` when the bytes held end first.
  private func name(from start: Int) throws -> (Int, Bool)? {
    let bytes = self.bytes
    let end = self.end
    let classes = byteClasses
    guard start < end else { return nil }
    guard classes.isNameStart(bytes[start]) else { throw declined(start, "a name of other characters") }
    var at = start + 1
    var hasColon = false
    while at < end {
      let byte = bytes[at]
      if classes.isNameCharacter(byte) {
        at += 1
      } else if byte == UInt8(ascii: ":") {
        hasColon = true
        at += 1
      } else {
        guard byte < 0x80 else { throw declined(start, "a name of other characters") }
        guard at - start <= 1000 else { throw declined(start, "a name this long") }
        return (at, hasColon)
      }
    }
    guard at - start <= 1000 else { throw declined(start, "a name this long") }
    return nil
  }

  /// The attribute at `start` noted among the tag's, if it is of the form nearly every attribute of an export is.
  ///
  /// That form is the name predicted, `="`, a value with nothing in it to look at, and `"`: it gives the index past
  /// it. Any other gives `nil`, with nothing noted, and `attribute(from:after:)` reads it.
  @inline(__always)
  private func plainAttribute(from start: Int, after previous: inout Int) -> Int? {
    let place = names.attribute(after: previous)
    guard place >= 0, attributeCount < slotCapacity, !names.hasColon(place) else { return nil }
    let length = names.length(place)
    let bytes = self.bytes
    let end = self.end
    let valueStart = start + length + 2
    guard valueStart < end, bytes[start + length] == UInt8(ascii: "="), bytes[valueStart - 1] == UInt8(ascii: "\""),
      sameBytes(bytes + start, names.name(place), length)
    else { return nil }
    // Every byte before `at` is plain: the value ends there if a quote stands there.
    let at = XMLScanBytes.valueStop(bytes, from: valueStart, to: end)
    let name = names.name(place)
    guard at < end, bytes[at] == UInt8(ascii: "\""), !isNoted(name) else { return nil }
    note(name, value: bytes + valueStart, to: bytes + at)
    previous = place
    return at + 1
  }

  /// The attribute at `start` noted among the tag's: its name, `=` and quoted value; the index past it, or `nil` when the
  /// bytes held end first.
  private func attribute(from start: Int, after previous: inout Int) throws -> Int? {
    guard let (place, nameEnd, hasColon) = try name(from: start, predicted: names.attribute(after: previous)) else {
      return nil
    }
    names.note(attribute: place, after: previous)
    previous = place
    let bytes = self.bytes
    let end = self.end
    let classes = byteClasses
    let name = UnsafeBufferPointer(start: bytes + start, count: nameEnd - start)
    var declaresNamespace = false
    if hasColon, let colon = name.firstIndex(of: UInt8(ascii: ":")) {
      // Only a namespace declaration, `xmlns:prefix`, whose prefix is a name of its own.
      let prefix = UnsafeBufferPointer(rebasing: name[(colon + 1)...])
      guard UnsafeBufferPointer(rebasing: name[..<colon]).equals("xmlns"), let first = prefix.first,
        byteClasses.isNameStart(first), !prefix.contains(UInt8(ascii: ":")), !prefix.equals("xml"),
        !prefix.equals("xmlns")
      else { throw declined(start, "a prefixed name") }
      declaresNamespace = true
    } else if name.count == 5, name.equals("xmlns") {
      throw declined(start, "a default namespace")
    }
    var at = nameEnd
    while at < end, XMLScanBytes.isSpace(bytes[at]) { at += 1 }
    guard at < end else { return nil }
    guard bytes[at] == UInt8(ascii: "=") else { throw declined(at, "an attribute without a value") }
    at += 1
    while at < end, XMLScanBytes.isSpace(bytes[at]) { at += 1 }
    guard at < end else { return nil }
    let quote = bytes[at]
    guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { throw declined(at, "an unquoted value") }
    at += 1
    let valueStart = at
    // Where the bytes not yet copied to `rewritten` start, once the value is rewritten.
    var copied: Int?
    var rewrittenStart = 0
    func rewrite(upTo index: Int) {
      if copied == nil {
        rewrittenStart = rewritten.count
        copied = valueStart
      }
      if let from = copied, index > from {
        rewritten.append(UnsafeBufferPointer(start: bytes + from, count: index - from))
      }
    }
    while true {
      at = XMLScanBytes.valueStop(bytes, from: at, to: end)
      while at < end, classes.isPlainInValue(bytes[at]) { at += 1 }
      guard at < end else { return nil }
      let byte = bytes[at]
      if byte == quote { break }
      switch byte {
      case UInt8(ascii: "\""), UInt8(ascii: "'"):
        at += 1
      case UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
        var next = at + 1
        if byte == UInt8(ascii: "\r") {
          guard next < end else { return nil }
          if bytes[next] == UInt8(ascii: "\n") { next += 1 }
        }
        rewrite(upTo: at)
        rewritten.append(UnsafeBufferPointer(start: byteClasses.space, count: 1))
        (at, copied) = (next, next)
      case UInt8(ascii: "&"):
        guard let (scalar, next) = try reference(at) else { return nil }
        rewrite(upTo: at)
        if scalar == UInt32(UInt8(ascii: "&")) {
          rewritten.append(UnsafeBufferPointer(start: byteClasses.ampersand, count: 5))
        } else {
          rewritten.append(UnsafeBufferPointer(start: character, count: encode(scalar)))
        }
        (at, copied) = (next, next)
      case 0x80...:
        guard let count = try sequence(at) else { return nil }
        at += count
      default:
        throw declined(at, "a character an attribute value cannot hold")
      }
    }
    if copied != nil { rewrite(upTo: at) }
    if declaresNamespace {
      // libxml2 checks a namespace as a URI, rejects some, and refuses a prefix declared twice.
      guard copied == nil, !declaredPrefixes.contains(place),
        XMLScanBytes.isPlainNamespace(UnsafeBufferPointer(start: bytes + valueStart, count: at - valueStart))
      else { throw declined(start, "a namespace other than a plain http URI, or declared twice") }
      declaredPrefixes.append(place)
      return at + 1
    }
    let interned = names.name(place)
    guard !isNoted(interned) else { throw declined(start, "an attribute twice") }
    if attributeCount == slotCapacity {
      let larger = UnsafeMutablePointer<UnsafePointer<xmlChar>?>.allocate(capacity: 10 * slotCapacity)
      larger.moveInitialize(from: slots, count: 5 * attributeCount)
      slots.deallocate()
      (slots, slotCapacity) = (larger, 2 * slotCapacity)
    }
    if copied != nil {
      // Its value's pointers are set once the tag is read.
      rewrittenValues.append((attributeCount, rewrittenStart..<rewritten.count))
      note(interned, value: nil, to: nil)
    } else {
      note(interned, value: bytes + valueStart, to: bytes + at)
    }
    return at + 1
  }

  /// Whether the tag's attributes hold one named `name`, an interned name.
  @inline(__always)
  private func isNoted(_ name: UnsafePointer<UInt8>) -> Bool {
    for index in 0..<attributeCount where slots[5 * index] == name { return true }
    return false
  }

  /// Notes an attribute among the tag's, as libxml2 lays it out (no prefix, no namespace), in room there is.
  @inline(__always)
  private func note(_ name: UnsafePointer<UInt8>, value start: UnsafePointer<UInt8>?, to end: UnsafePointer<UInt8>?) {
    let slot = slots + 5 * attributeCount
    slot[0] = name
    slot[1] = nil
    slot[2] = nil
    slot[3] = start
    slot[4] = end
    attributeCount += 1
  }

  /// The place of the name at `start`, the index past it, and whether it holds a `:`.
  ///
  /// It is `predicted`'s, when the bytes there are it, ended where a name ends; else the name read there, learned if
  /// new. `nil` when the bytes held end first.
  @inline(__always)
  private func name(from start: Int, predicted: Int) throws -> (place: Int, end: Int, hasColon: Bool)? {
    if predicted >= 0 {
      let length = names.length(predicted)
      let after = start + length
      if after < end, sameBytes(bytes + start, names.name(predicted), length) {
        let byte = bytes[after]
        if byte < 0x80, !byteClasses.isNameCharacter(byte), byte != UInt8(ascii: ":") {
          return (predicted, after, names.hasColon(predicted))
        }
      }
    }
    guard let (nameEnd, hasColon) = try name(from: start) else { return nil }
    guard let place = names.place(of: bytes + start, length: nameEnd - start) else {
      throw declined(start, "more names than exports have")
    }
    return (place, nameEnd, hasColon)
  }

  // MARK: - Text

  /// Hands on the text from `start` up to the next tag, in pieces; where it stopped, and whether it stopped only
  /// because the bytes held ended.
  private func text(from start: Int) throws -> (Int, Bool) {
    let bytes = self.bytes
    let end = self.end
    let classes = byteClasses
    var run = start
    var at = start
    let depth = self.depth
    func handOnRun() {
      if at > run { handler.characters(UnsafeBufferPointer(start: bytes + run, count: at - run), depth: depth) }
    }
    while true {
      // Tabs and line feeds stop the words too, and are stepped over one by one, as the last few bytes are.
      at = XMLScanBytes.textStop(bytes, from: at, to: end)
      guard at < end else {
        handOnRun()
        return (at, true)
      }
      if classes.isPlainInText(bytes[at]) {
        at += 1
        continue
      }
      switch bytes[at] {
      case UInt8(ascii: "<"):
        handOnRun()
        return (at, false)
      case UInt8(ascii: "&"):
        handOnRun()
        guard let (scalar, next) = try reference(at) else { return (at, true) }
        handler.characters(UnsafeBufferPointer(start: character, count: encode(scalar)), depth: depth)
        (at, run) = (next, next)
      case UInt8(ascii: "\r"):
        handOnRun()
        guard at + 1 < end else { return (at, true) }
        handler.characters(UnsafeBufferPointer(start: byteClasses.lineFeed, count: 1), depth: depth)
        at += bytes[at + 1] == UInt8(ascii: "\n") ? 2 : 1
        run = at
      case UInt8(ascii: "]"):
        guard at + 2 < end else {
          handOnRun()
          return (at, true)
        }
        if bytes[at + 1] == UInt8(ascii: "]"), bytes[at + 2] == UInt8(ascii: ">") { throw declined(at, "]]> in text") }
        at += 1
      case 0x80...:
        guard let count = try sequence(at) else {
          handOnRun()
          return (at, true)
        }
        at += count
      default:
        throw declined(at, "a character text cannot hold")
      }
    }
  }

  // MARK: - Characters

  /// The character a reference at `start` (`&…;`) stands for, and the index past it.
  ///
  /// Only one of the five predefined entities, or a character reference to a character XML allows, is taken. `nil`
  /// when the bytes held end first.
  private func reference(_ start: Int) throws -> (UInt32, Int)? {
    var at = start + 1
    guard at < end else { return nil }
    if bytes[at] == UInt8(ascii: "#") {
      at += 1
      guard at < end else { return nil }
      let isHex = bytes[at] == UInt8(ascii: "x")
      if isHex { at += 1 }
      var value: UInt32 = 0
      var digits = 0
      while true {
        guard at < end else { return nil }
        if bytes[at] == UInt8(ascii: ";") {
          guard digits > 0, XMLScanBytes.isCharacter(value) else { throw declined(start, "a character reference") }
          return (value, at + 1)
        }
        guard let digit = ASCIIDigit.hexValue(bytes[at]), isHex || digit < 10 else {
          throw declined(start, "a character reference")
        }
        digits += 1
        guard digits <= (isHex ? 6 : 7) else { throw declined(start, "a character reference") }
        value = value * (isHex ? 16 : 10) + UInt32(digit)
        at += 1
      }
    }
    for (name, scalar) in XMLScanBytes.predefined {
      let count = name.utf8CodeUnitCount
      guard at + count <= end else {
        // Too few bytes held to tell: only if what is held could start this name.
        if memcmp(bytes + at, name.utf8Start, end - at) == 0 { return nil }
        continue
      }
      if memcmp(bytes + at, name.utf8Start, count) == 0 { return (scalar, at + count) }
    }
    throw declined(start, "an entity reference")
  }

  /// The length of the UTF-8 sequence at `start` of a character XML allows; `nil` when the bytes held end first.
  private func sequence(_ start: Int) throws -> Int? {
    guard let (count, second) = StrictUTF8.sequence(startingWith: bytes[start]) else {
      throw declined(start, "bytes that are not UTF-8")
    }
    guard start + count <= end else {
      for index in (start + 1)..<end where bytes[index] & 0xC0 != 0x80 {
        throw declined(start, "bytes that are not UTF-8")
      }
      return nil
    }
    guard second.contains(bytes[start + 1]) else { throw declined(start, "bytes that are not UTF-8") }
    for index in (start + 2)..<(start + count) where bytes[index] & 0xC0 != 0x80 {
      throw declined(start, "bytes that are not UTF-8")
    }
    // U+FFFE and U+FFFF are not XML characters.
    if bytes[start] == 0xEF, bytes[start + 1] == 0xBF, bytes[start + 2] >= 0xBE {
      throw declined(start, "a character XML does not allow")
    }
    return count
  }

  /// Writes `scalar`, an XML character, as UTF-8 into `character`; its length.
  private func encode(_ scalar: UInt32) -> Int {
    // Every XML character is a Unicode scalar: `isCharacter` was asked before.
    guard let scalar = Unicode.Scalar(scalar) else { return 0 }
    var count = 0
    UTF8.encode(scalar) { byte in
      character[count] = byte
      count += 1
    }
    return count
  }
}

/// The element and attribute names of one scan, each kept once as a NUL-terminated string, so that a name is the
/// same pointer each time, as libxml2's dictionary makes it; a name is known by its place in the table.
///
/// Each name also keeps the name that came after it last (the next start tag's, or the next attribute's): an
/// export repeats its rows' names in order, so the scan looks for that name first, and finds it at one comparison
/// of its bytes, with no look at each byte and no hash.
struct XMLNameTable: ~Copyable {
  private struct Entry {
    var name: UnsafeMutablePointer<UInt8>
    var count: Int
    var hasColon: Bool
    /// The place of the name of the start tag that came next, or of the next attribute (or the first, after an
    /// element's name); -1 for none yet.
    var nextElement: Int32 = -1
    var nextAttribute: Int32 = -1
  }

  private var entries: UnsafeMutablePointer<Entry>
  private var capacity = 64
  private var count = 0
  /// Places in `entries` plus one, by hash; 0 for none.
  ///
  /// Never more than half full.
  private var slots: UnsafeMutablePointer<Int32>
  private var slotCount = 256

  /// A file with more distinct names than this is not an export's.
  private static var limit: Int { 8192 }

  init() {
    entries = .allocate(capacity: capacity)
    slots = .allocate(capacity: slotCount)
    slots.initialize(repeating: 0, count: slotCount)
  }

  deinit {
    for index in 0..<count { entries[index].name.deallocate() }
    entries.deallocate()
    slots.deallocate()
  }

  /// The name at `place`, NUL-terminated.
  @inline(__always) func name(_ place: Int) -> UnsafePointer<UInt8> { UnsafePointer(entries[place].name) }

  /// The length of the name at `place`.
  @inline(__always) func length(_ place: Int) -> Int { entries[place].count }

  /// Whether the name at `place` holds a `:`.
  @inline(__always) func hasColon(_ place: Int) -> Bool { entries[place].hasColon }

  /// The place of the name of the start tag that came after the name at `place` last time; -1 for none.
  @inline(__always) func element(after place: Int) -> Int { place < 0 ? -1 : Int(entries[place].nextElement) }

  /// The place of the attribute's name that came after the name at `place` last time; -1 for none.
  @inline(__always) func attribute(after place: Int) -> Int { place < 0 ? -1 : Int(entries[place].nextAttribute) }

  @inline(__always) mutating func note(element next: Int, after place: Int) {
    if place >= 0 { entries[place].nextElement = Int32(next) }
  }

  @inline(__always) mutating func note(attribute next: Int, after place: Int) {
    if place >= 0 { entries[place].nextAttribute = Int32(next) }
  }

  /// The place of the `length` bytes at `name`, added if new; `nil` past the table's limit.
  mutating func place(of name: UnsafePointer<UInt8>, length: Int) -> Int? {
    let mask = slotCount - 1
    var slot = XMLNameTable.hash(name, length) & mask
    while true {
      let place = Int(slots[slot]) - 1
      if place < 0 { break }
      if entries[place].count == length, sameBytes(entries[place].name, name, length) { return place }
      slot = (slot + 1) & mask
    }
    guard count < XMLNameTable.limit else { return nil }
    if count == capacity {
      let larger = UnsafeMutablePointer<Entry>.allocate(capacity: 2 * capacity)
      larger.moveInitialize(from: entries, count: count)
      entries.deallocate()
      (entries, capacity) = (larger, 2 * capacity)
    }
    let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: length + 1)
    copy.initialize(from: name, count: length)
    copy[length] = 0
    let hasColon = UnsafeBufferPointer(start: name, count: length).contains(UInt8(ascii: ":"))
    (entries + count).initialize(to: Entry(name: copy, count: length, hasColon: hasColon))
    count += 1
    slots[slot] = Int32(count)
    if 2 * count > slotCount { rehash() }
    return count - 1
  }

  private mutating func rehash() {
    slots.deallocate()
    slotCount *= 2
    slots = .allocate(capacity: slotCount)
    slots.initialize(repeating: 0, count: slotCount)
    let mask = slotCount - 1
    for index in 0..<count {
      var slot = XMLNameTable.hash(entries[index].name, entries[index].count) & mask
      while slots[slot] != 0 { slot = (slot + 1) & mask }
      slots[slot] = Int32(index + 1)
    }
  }

  /// A hash of a name's length and its first, middle and last bytes: the names of an export are few, and differ
  /// there; the rest is told apart by comparing.
  @inline(__always)
  private static func hash(_ name: UnsafePointer<UInt8>, _ length: Int) -> Int {
    let bytes = UInt32(name[0]) | UInt32(name[length >> 1]) << 8 | UInt32(name[length - 1]) << 16
    var hash = (UInt32(truncatingIfNeeded: length) << 24 ^ bytes) &* 0x9E37_79B1
    hash ^= hash >> 15
    return Int(hash)
  }
}

/// The classes of bytes and the constant bytes `XMLByteScanner` reads and hands on (one set per scan: a table
/// shared between threads would be global mutable state to the compiler).
final class XMLScanBytes {
  private let classes: UnsafeMutablePointer<UInt8>
  /// A space, a line feed and `&#38;`, handed on from here.
  private let constants: UnsafeMutablePointer<UInt8>

  var space: UnsafePointer<UInt8> { UnsafePointer(constants) }
  var lineFeed: UnsafePointer<UInt8> { UnsafePointer(constants + 1) }
  var ampersand: UnsafePointer<UInt8> { UnsafePointer(constants + 2) }

  private static var nameStart: UInt8 { 1 }
  private static var nameCharacter: UInt8 { 2 }
  /// Printable ASCII but `<`, `&` and `]`, and tabs and line feeds: text goes on past it with no more look.
  private static var plainInText: UInt8 { 4 }
  /// Printable ASCII but `<`, `&` and quotes: a value goes on past it as it is.
  private static var plainInValue: UInt8 { 8 }

  init() {
    classes = .allocate(capacity: 256)
    for byte in 0..<256 {
      let character = UInt8(byte)
      var found: UInt8 = 0
      let isLetter = (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
      if isLetter || character == UInt8(ascii: "_") { found |= XMLScanBytes.nameStart | XMLScanBytes.nameCharacter }
      if (0x30...0x39).contains(byte) || character == UInt8(ascii: ".") || character == UInt8(ascii: "-") {
        found |= XMLScanBytes.nameCharacter
      }
      if (0x20..<0x80).contains(byte) {
        if character != UInt8(ascii: "<"), character != UInt8(ascii: "&"), character != UInt8(ascii: "]") {
          found |= XMLScanBytes.plainInText
        }
        if character != UInt8(ascii: "<"), character != UInt8(ascii: "&"), character != UInt8(ascii: "\""),
          character != UInt8(ascii: "'")
        {
          found |= XMLScanBytes.plainInValue
        }
      }
      if character == 0x09 || character == 0x0A { found |= XMLScanBytes.plainInText }
      classes[byte] = found
    }
    let text = Array(" \n&#38;".utf8)
    constants = .allocate(capacity: text.count)
    constants.initialize(from: text, count: text.count)
  }

  deinit {
    classes.deallocate()
    constants.deallocate()
  }

  @inline(__always) func isNameStart(_ byte: UInt8) -> Bool { classes[Int(byte)] & XMLScanBytes.nameStart != 0 }

  @inline(__always) func isNameCharacter(_ byte: UInt8) -> Bool {
    classes[Int(byte)] & XMLScanBytes.nameCharacter != 0
  }

  @inline(__always) func isPlainInText(_ byte: UInt8) -> Bool { classes[Int(byte)] & XMLScanBytes.plainInText != 0 }

  @inline(__always) func isPlainInValue(_ byte: UInt8) -> Bool {
    classes[Int(byte)] & XMLScanBytes.plainInValue != 0
  }

  static let predefined: [(StaticString, UInt32)] = [
    ("amp;", 0x26), ("lt;", 0x3C), ("gt;", 0x3E), ("quot;", 0x22), ("apos;", 0x27),
  ]

  static func isCharacter(_ scalar: UInt32) -> Bool {
    switch scalar {
    case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
    default: return false
    }
  }

  /// The first byte from `start` a value's scan must look at (a quote, `<`, `&`, a control character, a byte past
  /// ASCII), eight bytes at a time; where none is found, the index with fewer than eight bytes left before `end`.
  @inline(__always)
  static func valueStop(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Int {
    firstStop(bytes, from: start, to: end) { word in
      ByteWord.bytes(equalTo: UInt8(ascii: "\""), in: word) | ByteWord.bytes(equalTo: UInt8(ascii: "'"), in: word)
        | ByteWord.bytes(equalTo: UInt8(ascii: "<"), in: word) | ByteWord.bytes(equalTo: UInt8(ascii: "&"), in: word)
    }
  }

  /// The first byte from `start` a text's scan must look at (`<`, `&`, `]`, a control character or white space
  /// other than a space, a byte past ASCII), as `valueStop` finds it.
  @inline(__always)
  static func textStop(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Int {
    firstStop(bytes, from: start, to: end) { word in
      ByteWord.bytes(equalTo: UInt8(ascii: "<"), in: word) | ByteWord.bytes(equalTo: UInt8(ascii: "&"), in: word)
        | ByteWord.bytes(equalTo: UInt8(ascii: "]"), in: word)
    }
  }

  /// The first byte from `start` below 0x20, past ASCII or among the `stops` of its word, eight bytes at a time.
  ///
  /// The union of the masks is exact at its lowest byte: each mask is exact at its own first byte.
  @inline(__always)
  private static func firstStop(
    _ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int, _ stops: (UInt64) -> UInt64
  ) -> Int {
    var at = start
    while at + 8 <= end {
      let word = ByteWord.load(bytes, at: at)
      let found = ByteWord.bytes(below: 0x20, in: word) | word & 0x8080_8080_8080_8080 | stops(word)
      if found != 0 { return at + found.trailingZeroBitCount >> 3 }
      at += 8
    }
    return at
  }

  @inline(__always) static func isSpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D
  }

  /// A namespace URI libxml2 surely takes: `http://` or `https://`, a host of letters, digits, dots and hyphens,
  /// and a path of those, `/`, `_` and `~`; not one of the two namespaces XML reserves.
  static func isPlainNamespace(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
    let text = String(decoding: value, as: UTF8.self)
    guard text != "http://www.w3.org/2000/xmlns/", text != "http://www.w3.org/XML/1998/namespace" else { return false }
    let rest: Substring
    if text.hasPrefix("http://") {
      rest = text.dropFirst(7)
    } else if text.hasPrefix("https://") {
      rest = text.dropFirst(8)
    } else {
      return false
    }
    let host = rest.prefix { $0 != "/" }
    let isHostCharacter: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
    guard !host.isEmpty, host.allSatisfy(isHostCharacter) else { return false }
    return rest.dropFirst(host.count).allSatisfy { isHostCharacter($0) || $0 == "/" || $0 == "_" || $0 == "~" }
  }
}

/// Whether the `count` bytes at `left` and `right` are the same.
@inline(__always)
private func sameBytes(_ left: UnsafePointer<UInt8>, _ right: UnsafePointer<UInt8>, _ count: Int) -> Bool {
  UnsafeRawBufferPointer(start: left, count: count).hasSameBytes(as: UnsafeRawBufferPointer(start: right, count: count))
}

extension XMLSAXParser {
  /// Parses `text`, UTF-8 XML in memory such as rows cut from a file, for the handler `handler()` makes: by the byte
  /// scan (`XMLByteScanner`) when it takes the text, else by libxml2, for a handler made afresh.
  ///
  /// Errors name `path`. The text must hold no DOCTYPE (rows of a file that was parsed once hold none).
  static func parse<Handler: XMLSAXHandler>(utf8 text: [UInt8], path: String, handler: () -> Handler) throws {
    do {
      try text.withUnsafeBufferPointer { text in
        try XMLByteScanner(path: path, handler: handler(), text: text).scan()
      }
    } catch is XMLScanDeclined {
      try parse(utf8: text, path: path, handler: handler())
    }
  }
}
