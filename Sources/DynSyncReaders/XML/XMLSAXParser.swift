import CLibXML2
import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// What `XMLSAXParser` hands on as it parses: element starts and ends, and text.
///
/// Names and text are the parser's own bytes, valid only during the call. Throwing stops the
/// parse; the error is what `XMLSAXParser.parse` then throws.
protocol XMLSAXHandler: AnyObject {
  func startElement(_ name: UnsafeBufferPointer<UInt8>, attributes: XMLSAXParser.Attributes, depth: Int) throws
  /// `name` is the element's local name, NUL-terminated: most handlers know the element by its depth, and measuring
  /// the name at every end tag would cost them.
  func endElement(_ name: UnsafePointer<UInt8>, depth: Int) throws
  func characters(_ text: UnsafeBufferPointer<UInt8>, depth: Int)
  /// Connects the handler to the parser it follows (for positions), before the parse; the parser outlives it.
  func follow(_ parser: any XMLEventSource)
}

/// A forward-only pass over an XML file on libxml2's SAX2 parser.
///
/// It is several times faster than `xmlTextReader` and tells where in the file each element starts
/// and ends. Every XML file dynsync reads goes through it, read in full or indexed; no file is ever
/// loaded as a tree.
///
/// The parser pulls the file's bytes through `source`, as it needs them, rather than being pushed
/// chunks: the push parser looks ahead for the end of every tag before it parses the tag, and
/// copies each chunk into a buffer of its own, which made it about a seventh slower on exports.
/// `source` is the caller's, so that the caller sees every byte before the parser does and keeps
/// what it needs of them.
///
/// Exports never need a DTD, so any document type declaration or entity reference is refused
/// outright: no network, no external files, no entity expansion (XXE and billion-laughs inputs
/// stop with a clear error).
final class XMLSAXParser: XMLEventSource {
  /// An element's attributes as libxml2 gives them: five pointers each (local name, prefix, URI,
  /// value start, value end), values as libxml2 leaves them when it replaces no entity (`decoded()`
  /// reads them as text).
  struct Attributes {
    let base: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?
    let count: Int

    /// The value of the attribute with local name `name`.
    func value(_ name: inout XMLInternedName) -> UnsafeBufferPointer<UInt8>? {
      guard let base else { return nil }
      for index in 0..<count {
        guard let local = base[index * 5], let start = base[index * 5 + 3], let end = base[index * 5 + 4] else {
          continue
        }
        if name.matches(local) { return UnsafeBufferPointer(start: start, count: end - start) }
      }
      return nil
    }

    /// The values of the attributes with local names `first` and `second`, in one look at each
    /// attribute.
    func values(_ first: inout XMLInternedName, _ second: inout XMLInternedName) -> (
      UnsafeBufferPointer<UInt8>?, UnsafeBufferPointer<UInt8>?
    ) {
      guard let base else { return (nil, nil) }
      var found: (UnsafeBufferPointer<UInt8>?, UnsafeBufferPointer<UInt8>?) = (nil, nil)
      for index in 0..<count {
        guard let local = base[index * 5], let start = base[index * 5 + 3], let end = base[index * 5 + 4] else {
          continue
        }
        let value = UnsafeBufferPointer(start: start, count: end - start)
        if found.0 == nil, first.matches(local) {
          found.0 = value
        } else if found.1 == nil, second.matches(local) {
          found.1 = value
        }
      }
      return found
    }

    /// Local names of every attribute, in order.
    func forEachName(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
      guard let base else { return }
      for index in 0..<count {
        guard let local = base[index * 5] else { continue }
        body(UnsafeBufferPointer(start: local, count: strlen(local)))
      }
    }

    /// Every attribute by local name, as strings.
    ///
    /// libxml2, left not to replace entities (as dynsync leaves it), writes each `&` of a value as `&#38;` for a tree
    /// builder to read again, whatever stood for it in the file (`&amp;` or `&#38;`): no other `&` is left in a value,
    /// so each of those is one `&`.
    func decoded() -> XMLAttributes {
      var decoded = XMLAttributes()
      guard let base else { return decoded }
      for index in 0..<count {
        guard let local = base[index * 5], let start = base[index * 5 + 3], let end = base[index * 5 + 4] else {
          continue
        }
        let value = UnsafeBufferPointer(start: start, count: end - start)
        decoded.append(
          name: String(cString: local),
          value: value.contains(UInt8(ascii: "&"))
            ? String(decoding: value, as: UTF8.self).replacing("&#38;", with: "&")
            : String(decoding: value, as: UTF8.self))
      }
      return decoded
    }
  }

  /// Fills the buffer with the file's next bytes and says how many; 0 at the end of the file.
  typealias Source = (UnsafeMutableRawBufferPointer) throws -> Int

  let path: String
  private var context: xmlParserCtxtPtr?
  /// Held strongly (the handler holds the parser unretained): a constant read off the parser
  /// costs no retain, where an unowned one costs a retain and a release on each of the file's
  /// events.
  private let handler: any XMLSAXHandler
  private let source: Source
  /// Refuses, at the root element, a document whose bytes are not its text.
  private let requiresUTF8: Bool
  /// The file offset of the first byte the source gives.
  private let baseOffset: Int
  // Unchecked for exclusive access, as the handlers are: one parse, one thread, one event at a time.
  @exclusivity(unchecked) private var depth = 0
  /// The first error: the handler's, the source's, or libxml2's, or a refusal.
  @exclusivity(unchecked) private var failure: (any Error)?

  private static let options = Int32(
    XML_PARSE_NONET.rawValue | XML_PARSE_NOCDATA.rawValue | XML_PARSE_BIG_LINES.rawValue
      | XML_PARSE_COMPACT.rawValue)

  /// - Parameters:
  ///   - path: the file, for errors.
  ///   - handler: what the parse's events go to.
  ///   - requiresUTF8: whether a document that declares another encoding (whose byte offsets are
  ///     then not those of its text) stops the parse with `IndexUnavailable` at its root element.
  ///   - baseOffset: the file offset of the source's first byte, which `byteOffset` counts from.
  ///   - source: the file's bytes, in order.
  /// - Throws: `InputError` when libxml2 cannot start a parser.
  init(
    path: String, handler: any XMLSAXHandler, requiresUTF8: Bool = false, baseOffset: Int = 0,
    source: @escaping Source
  ) throws(InputError) {
    self.path = path
    self.handler = handler
    self.source = source
    self.requiresUTF8 = requiresUTF8
    self.baseOffset = baseOffset
    var sax = xmlSAXHandler()
    sax.initialized = UInt32(XML_SAX2_MAGIC)
    sax.startElementNs = { context, local, _, _, _, _, attributeCount, _, attributes in
      guard let local else { return }
      XMLSAXParser.withParser(context) { parser in
        if parser.depth == 0, parser.requiresUTF8, parser.declaresOtherEncoding {
          parser.stop(IndexUnavailable(path: parser.path, reason: "an encoding other than UTF-8"))
          return
        }
        parser.run {
          try parser.handler.startElement(
            UnsafeBufferPointer(start: local, count: strlen(local)),
            attributes: Attributes(base: attributes, count: Int(attributeCount)), depth: parser.depth)
        }
        parser.depth += 1
      }
    }
    sax.endElementNs = { context, local, _, _ in
      guard let local else { return }
      XMLSAXParser.withParser(context) { parser in
        parser.depth -= 1
        parser.run { try parser.handler.endElement(local, depth: parser.depth) }
      }
    }
    sax.characters = { context, text, count in
      guard let text else { return }
      XMLSAXParser.withParser(context) { parser in
        parser.handler.characters(UnsafeBufferPointer(start: text, count: Int(count)), depth: parser.depth)
      }
    }
    // As libxml2's own SAX2 does: white space between elements is text like any other.
    sax.ignorableWhitespace = sax.characters
    sax.internalSubset = { context, _, _, _ in
      XMLSAXParser.parser(context)?.refuse("document type declarations (DOCTYPE) are refused: exports never need one")
    }
    sax.reference = { context, _ in
      XMLSAXParser.parser(context)?.refuse("entity references are refused: dynsync never expands XML entities")
    }
    sax.serror = { context, error in
      guard let parser = XMLSAXParser.parser(context), let error,
        error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue
      else { return }
      let message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
      parser.stop(
        InputError(
          file: parser.path, line: error.pointee.line > 0 ? Int(error.pointee.line) : nil,
          column: error.pointee.int2 > 0 ? Int(error.pointee.int2) : nil,
          reason: "malformed XML: " + message.trimmingCharacters))
    }
    XMLSAXParser.refuseExternalEntities()
    // The source is reached through the parser, which outlives the context: unretained.
    let owner = Unmanaged.passUnretained(self).toOpaque()
    let read: xmlInputReadCallback = { owner, buffer, count in
      guard let owner, let buffer, count > 0 else { return 0 }
      return Unmanaged<XMLSAXParser>.fromOpaque(owner)._withUnsafeGuaranteedRef { parser in
        parser.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(count)))
      }
    }
    guard let context = xmlCreateIOParserCtxt(&sax, nil, read, nil, owner, XML_CHAR_ENCODING_NONE) else {
      throw InputError(file: path, reason: "cannot start an XML parser")
    }
    self.context = context
    context.pointee._private = owner
    xmlCtxtUseOptions(context, XMLSAXParser.options)
    handler.follow(self)
  }

  /// Parses the whole file at `path` for `handler`.
  ///
  /// A document type declaration is refused before libxml2 reads any of the file. Any encoding
  /// libxml2 knows is read; the handler sees UTF-8.
  static func parse(file path: String, handler: any XMLSAXHandler) throws {
    try XMLSAXParser.refuseDocumentTypeDeclaration(in: path)
    let file = try FileBytes(path: path)
    try XMLSAXParser(path: path, handler: handler) { buffer in try file.read(into: buffer) }.parse()
  }

  /// Parses `text`, UTF-8 XML in memory such as rows cut from a file, for `handler`.
  ///
  /// Errors name `path`. The text must hold no DOCTYPE (rows of a file that was parsed once hold
  /// none).
  static func parse(utf8 text: [UInt8], path: String, handler: any XMLSAXHandler) throws {
    var offset = 0
    try XMLSAXParser(path: path, handler: handler) { buffer in
      let count = min(buffer.count, text.count - offset)
      text.withUnsafeBytes { text in
        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: text[offset..<(offset + count)]))
      }
      offset += count
      return count
    }.parse()
  }

  deinit { if let context { xmlFreeParserCtxt(context) } }

  /// Parses the whole file, pulling its bytes from the source.
  func parse() throws {
    guard let context else { return }
    let status = xmlParseDocument(context)
    if failure == nil, status != 0 || context.pointee.wellFormed == 0 {
      failure = InputError(file: path, line: line, reason: "malformed XML")
    }
    if let failure { throw failure }
  }

  var byteOffset: Int {
    guard let context else { return baseOffset }
    return baseOffset + Int(xmlByteConsumed(context))
  }

  var line: Int { Int(context?.pointee.input?.pointee.line ?? 0) }

  /// Whether the document declared an encoding other than UTF-8 (the bytes are then not its text).
  ///
  /// The parse leaves the declared name on its input: only the push parser, or a start-of-document
  /// callback, copies it onto the context.
  private var declaresOtherEncoding: Bool {
    guard let encoding = context?.pointee.encoding ?? context?.pointee.input?.pointee.encoding else { return false }
    let name = String(cString: encoding).uppercased()
    return name != "UTF-8" && name != "UTF8" && name != "US-ASCII" && name != "ASCII"
  }

  /// libxml2's read callback: the source's bytes, or -1 (an I/O error to libxml2) once the parse
  /// has failed.
  ///
  /// A source's error is only noted, not stopped on: `xmlStopParser` frees the input buffer this
  /// call is filling. libxml2 stops on the -1 by itself, and its own error then yields to this one.
  private func read(into buffer: UnsafeMutableRawBufferPointer) -> Int32 {
    guard failure == nil else { return -1 }
    do {
      return Int32(try source(buffer))
    } catch {
      failure = error
      return -1
    }
  }

  private func run(_ body: () throws -> Void) {
    guard failure == nil else { return }
    do {
      try body()
    } catch {
      stop(error)
    }
  }

  private func refuse(_ reason: String) {
    stop(InputError(file: path, line: line, reason: reason))
  }

  /// Ends the parse with `error`, unless it has failed already.
  private func stop(_ error: any Error) {
    guard failure == nil else { return }
    failure = error
    if let context { xmlStopParser(context) }
  }

  private static func parser(_ context: UnsafeMutableRawPointer?) -> XMLSAXParser? {
    guard let owner = owner(context) else { return nil }
    return owner.takeUnretainedValue()
  }

  /// Runs `body` on the parser behind `context` without retaining it: the parser is alive for
  /// every event of its own parse, and these run once per element and text.
  private static func withParser(_ context: UnsafeMutableRawPointer?, _ body: (XMLSAXParser) -> Void) {
    owner(context)?._withUnsafeGuaranteedRef(body)
  }

  private static func owner(_ context: UnsafeMutableRawPointer?) -> Unmanaged<XMLSAXParser>? {
    guard let context else { return nil }
    let parserContext = context.assumingMemoryBound(to: xmlParserCtxt.self)
    return parserContext.pointee._private.map { Unmanaged<XMLSAXParser>.fromOpaque($0) }
  }

  static func equals(_ text: UnsafePointer<xmlChar>, _ wanted: StaticString) -> Bool {
    equals(text, UnsafeBufferPointer(start: wanted.utf8Start, count: wanted.utf8CodeUnitCount))
  }

  static func equals(_ text: UnsafePointer<xmlChar>, _ wanted: UnsafeBufferPointer<UInt8>) -> Bool {
    for index in 0..<wanted.count where text[index] != wanted[index] { return false }
    return text[wanted.count] == 0
  }
}

extension XMLSAXParser {
  /// Refuses a DOCTYPE in the prolog before libxml2 parses it, so that hostile declarations are
  /// never even read into the parser, and the message says plainly why.
  static func refuseDocumentTypeDeclaration(in path: String) throws(InputError) {
    let head = try FileBytes.prefix(of: path, count: 1 << 16)
    var index = 0
    var line = 1
    func starts(with text: String) -> Bool { head[index...].starts(with: text.utf8) }
    while index < head.count {
      switch head[index] {
      case UInt8(ascii: "\n"):
        line += 1
        index += 1
      case UInt8(ascii: "<"):
        if starts(with: "<!DOCTYPE") || starts(with: "<!doctype") {
          throw InputError(
            file: path, line: line,
            reason:
              "document type declarations (DOCTYPE) are refused: exports never need one, and a DTD can pull in external files or expand entities without bound"
          )
        }
        let closing: String
        if starts(with: "<?") {
          closing = "?>"
        } else if starts(with: "<!--") {
          closing = "-->"
        } else {
          return  // the root element: the prolog is over
        }
        index += 1
        while index < head.count, !head[index...].starts(with: closing.utf8) {
          if head[index] == UInt8(ascii: "\n") { line += 1 }
          index += 1
        }
      default:
        index += 1
      }
    }
  }

  /// Installs, once per process, an entity loader that refuses every external resource.
  static func refuseExternalEntities() {
    xmlSetExternalEntityLoader { _, _, _ in nil }
  }
}

/// An element's attributes by local name.
///
/// A short list: the elements of an export carry a handful each, and millions of them are read;
/// a list is one allocation, where a dictionary was a table and a hash of every name.
struct XMLAttributes: Sendable {
  private var pairs: [(name: String, value: String)] = []

  init() {}

  mutating func append(name: String, value: String) { pairs.append((name, value)) }

  /// The value of the attribute with local name `name`: the last, when attributes of different
  /// namespaces share it (as a table keyed by name kept it).
  subscript(name: String) -> String? { pairs.last { $0.name == name }?.value }
}

/// A name looked for among the element and attribute names of one parse.
///
/// libxml2 interns the names it hands out: within a parse, a name comes as the same pointer each
/// time. The pointer of the first match is kept, so that later matches cost one comparison; any
/// other pointer is still compared by its bytes, so that a match never rests on the interning.
/// One per parse: a pointer kept from another parse could stand for another name.
struct XMLInternedName {
  let name: StaticString
  private var interned: UnsafePointer<UInt8>?

  init(_ name: StaticString) { self.name = name }

  /// Whether `local`, a NUL-terminated name of the parse, is this name.
  @inline(__always)
  mutating func matches(_ local: UnsafePointer<UInt8>) -> Bool {
    if local == interned { return true }
    guard XMLSAXParser.equals(local, name) else { return false }
    interned = local
    return true
  }

  /// Whether `local`, a name as `XMLSAXHandler.startElement` hands it on, is this name.
  @inline(__always)
  mutating func matches(_ local: UnsafeBufferPointer<UInt8>) -> Bool {
    if let base = local.baseAddress, base == interned, local.count == name.utf8CodeUnitCount { return true }
    guard local.equals(name) else { return false }
    interned = local.baseAddress
    return true
  }
}
