import CLibXML2
import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// What `XMLPushParser` hands on as it parses: element starts and ends, and text.
///
/// Names and text are the parser's own bytes, valid only during the call. Throwing stops the
/// parse; the error is what `XMLPushParser.parse` then throws.
protocol XMLPushHandler: AnyObject {
  func startElement(_ name: UnsafeBufferPointer<UInt8>, attributes: XMLPushParser.Attributes, depth: Int) throws
  func endElement(depth: Int) throws
  func characters(_ text: UnsafeBufferPointer<UInt8>, depth: Int)
}

/// A forward-only pass over an XML file on libxml2's SAX2 push parser, which is several times
/// faster than `xmlTextReader` and tells where in the file each element starts and ends.
///
/// The same refusals as `XMLStreamReader`: no network, no DTD, no entity but the predefined ones
/// (any of them stops the parse with an error). The file's bytes are fed to the parser by the
/// caller, chunk by chunk, so that the caller can keep what it needs of them.
final class XMLPushParser {
  /// An element's attributes as libxml2 gives them: five pointers each (local name, prefix, URI,
  /// value start, value end), values with entities already replaced.
  struct Attributes {
    let base: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?
    let count: Int

    /// The value of the attribute with local name `name`.
    func value(_ name: StaticString) -> UnsafeBufferPointer<UInt8>? {
      guard let base else { return nil }
      let wanted = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
      for index in 0..<count {
        guard let local = base[index * 5], let start = base[index * 5 + 3], let end = base[index * 5 + 4] else {
          continue
        }
        if XMLPushParser.equals(local, wanted) { return UnsafeBufferPointer(start: start, count: end - start) }
      }
      return nil
    }

    /// Local names of every attribute, in order.
    func forEachName(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
      guard let base else { return }
      for index in 0..<count {
        guard let local = base[index * 5] else { continue }
        body(UnsafeBufferPointer(start: local, count: strlen(local)))
      }
    }
  }

  let path: String
  private var context: xmlParserCtxtPtr?
  /// Held strongly (the handler holds the parser unretained): a constant read off the parser
  /// costs no retain, where an unowned one costs a retain and a release on each of the file's
  /// events.
  private let handler: any XMLPushHandler
  // Unchecked for exclusive access, as the handlers are: one parse, one thread, one event at a time.
  @exclusivity(unchecked) private var depth = 0
  /// The first error: the handler's, or libxml2's, or a refusal.
  @exclusivity(unchecked) private var failure: (any Error)?

  private static let options = Int32(
    XML_PARSE_NONET.rawValue | XML_PARSE_NOCDATA.rawValue | XML_PARSE_BIG_LINES.rawValue
      | XML_PARSE_COMPACT.rawValue)

  init(path: String, handler: any XMLPushHandler) throws(InputError) {
    self.path = path
    self.handler = handler
    var sax = xmlSAXHandler()
    sax.initialized = UInt32(XML_SAX2_MAGIC)
    sax.startElementNs = { context, local, _, _, _, _, attributeCount, _, attributes in
      guard let local else { return }
      XMLPushParser.withParser(context) { parser in
        parser.run {
          try parser.handler.startElement(
            UnsafeBufferPointer(start: local, count: strlen(local)),
            attributes: Attributes(base: attributes, count: Int(attributeCount)), depth: parser.depth)
        }
        parser.depth += 1
      }
    }
    sax.endElementNs = { context, _, _, _ in
      XMLPushParser.withParser(context) { parser in
        parser.depth -= 1
        parser.run { try parser.handler.endElement(depth: parser.depth) }
      }
    }
    sax.characters = { context, text, count in
      guard let text else { return }
      XMLPushParser.withParser(context) { parser in
        parser.handler.characters(UnsafeBufferPointer(start: text, count: Int(count)), depth: parser.depth)
      }
    }
    // As libxml2's own SAX2 does: white space between elements is text like any other.
    sax.ignorableWhitespace = sax.characters
    sax.internalSubset = { context, _, _, _ in
      XMLPushParser.parser(context)?.refuse("document type declarations (DOCTYPE) are refused")
    }
    sax.reference = { context, _ in
      XMLPushParser.parser(context)?.refuse("entity references are refused: dynsync never expands XML entities")
    }
    sax.serror = { context, error in
      guard let parser = XMLPushParser.parser(context), let error,
        error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue
      else { return }
      let message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
      parser.refuse("malformed XML: " + message.trimmingCharacters, line: Int(error.pointee.line))
    }
    XMLStreamReader.refuseExternalEntities()
    guard let context = xmlCreatePushParserCtxt(&sax, nil, nil, 0, path) else {
      throw InputError(file: path, reason: "cannot start an XML parser")
    }
    self.context = context
    context.pointee._private = Unmanaged.passUnretained(self).toOpaque()
    xmlCtxtUseOptions(context, XMLPushParser.options)
  }

  deinit { if let context { xmlFreeParserCtxt(context) } }

  /// Parses the next bytes of the file; `final` after the last ones.
  func parse(_ bytes: UnsafeRawBufferPointer, final: Bool = false) throws {
    guard let context, failure == nil else { return try rethrowFailure() }
    let pointer = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
    let status = xmlParseChunk(context, pointer, Int32(bytes.count), final ? 1 : 0)
    if failure == nil, status != 0 {
      failure = InputError(file: path, line: line, reason: "malformed XML")
    }
    try rethrowFailure()
  }

  /// Where the parser is in the file, in bytes: in a start-element call, within the start tag; in
  /// an end-element call, just past the end tag.
  var byteOffset: Int {
    guard let context else { return 0 }
    return Int(xmlByteConsumed(context))
  }

  /// The line the parser is on.
  var line: Int { Int(context?.pointee.input?.pointee.line ?? 0) }

  /// Whether the document declared an encoding other than UTF-8 (the bytes are then not its text).
  var declaresOtherEncoding: Bool {
    guard let encoding = context?.pointee.encoding else { return false }
    let name = String(cString: encoding).uppercased()
    return name != "UTF-8" && name != "UTF8" && name != "US-ASCII" && name != "ASCII"
  }

  private func run(_ body: () throws -> Void) {
    guard failure == nil else { return }
    do {
      try body()
    } catch {
      failure = error
      if let context { xmlStopParser(context) }
    }
  }

  private func refuse(_ reason: String, line: Int? = nil) {
    guard failure == nil else { return }
    failure = InputError(file: path, line: line ?? self.line, reason: reason)
    if let context { xmlStopParser(context) }
  }

  private func rethrowFailure() throws {
    if let failure { throw failure }
  }

  private static func parser(_ context: UnsafeMutableRawPointer?) -> XMLPushParser? {
    guard let owner = owner(context) else { return nil }
    return owner.takeUnretainedValue()
  }

  /// Runs `body` on the parser behind `context` without retaining it: the parser is alive for
  /// every event of its own parse, and these run once per element and text.
  private static func withParser(_ context: UnsafeMutableRawPointer?, _ body: (XMLPushParser) -> Void) {
    owner(context)?._withUnsafeGuaranteedRef(body)
  }

  private static func owner(_ context: UnsafeMutableRawPointer?) -> Unmanaged<XMLPushParser>? {
    guard let context else { return nil }
    let parserContext = context.assumingMemoryBound(to: xmlParserCtxt.self)
    return parserContext.pointee._private.map { Unmanaged<XMLPushParser>.fromOpaque($0) }
  }

  /// Whether `bytes` are the bytes of `literal`.
  static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
    guard bytes.count == literal.utf8CodeUnitCount, let base = bytes.baseAddress else {
      return bytes.count == literal.utf8CodeUnitCount
    }
    return memcmp(base, literal.utf8Start, bytes.count) == 0
  }

  static func equals(_ text: UnsafePointer<xmlChar>, _ wanted: UnsafeBufferPointer<UInt8>) -> Bool {
    for index in 0..<wanted.count where text[index] != wanted[index] { return false }
    return text[wanted.count] == 0
  }
}
