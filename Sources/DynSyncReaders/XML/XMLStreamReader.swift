import CLibXML2
import DynSyncCore

/// A forward-only cursor over an XML file, on libxml2's `xmlTextReader`.
///
/// The file is parsed as it is read, never loaded as a tree. Exports never need a DTD, so any
/// document type declaration or entity reference is refused outright: no network, no external
/// files, no entity expansion (XXE and billion-laughs inputs stop with a clear error).
final class XMLStreamReader {
  enum NodeKind: Sendable, Equatable {
    case element
    case endElement
    case text
    case other
  }

  let path: String
  private let reader: xmlTextReaderPtr
  private let errors = XMLErrorCollector()

  /// Safety options: no network; DTDs are neither loaded nor used for defaults, and entities are
  /// not substituted (XML_PARSE_NOENT stays off).
  private static let options = Int32(
    XML_PARSE_NONET.rawValue | XML_PARSE_NOCDATA.rawValue | XML_PARSE_BIG_LINES.rawValue
      | XML_PARSE_COMPACT.rawValue)

  /// Text held for a reader over memory; libxml2 reads it in place.
  private let memory: UnsafeMutableRawBufferPointer?

  init(path: String) throws(InputError) {
    XMLStreamReader.refuseExternalEntities()
    try FileBytes.requireRegularFile(path)
    try XMLStreamReader.refuseDocumentTypeDeclaration(in: path)
    guard let reader = xmlReaderForFile(path, nil, XMLStreamReader.options) else {
      throw InputError(file: path, reason: "cannot open as XML: \(FileBytes.lastErrorText())")
    }
    self.path = path
    self.reader = reader
    self.memory = nil
    collectErrors()
  }

  /// A reader over UTF-8 XML text in memory, such as rows read again from their bytes.
  ///
  /// Errors name `path`. The text must hold no DOCTYPE (rows of a file that was read once hold none).
  init(utf8 text: [UInt8], path: String) throws(InputError) {
    XMLStreamReader.refuseExternalEntities()
    let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(text.count, 1), alignment: 1)
    memory.copyBytes(from: text)
    guard
      let reader = xmlReaderForMemory(
        memory.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(text.count), path, "UTF-8",
        XMLStreamReader.options)
    else {
      memory.deallocate()
      throw InputError(file: path, reason: "cannot read rows of it again as XML")
    }
    self.path = path
    self.reader = reader
    self.memory = memory
    collectErrors()
  }

  deinit {
    xmlFreeTextReader(reader)
    memory?.deallocate()
  }

  private func collectErrors() {
    xmlTextReaderSetStructuredErrorHandler(
      reader,
      { context, error in
        guard let context, let error else { return }
        Unmanaged<XMLErrorCollector>.fromOpaque(context).takeUnretainedValue().record(error.pointee)
      }, Unmanaged.passUnretained(errors).toOpaque())
  }

  /// Moves to the next node; `false` at the end of the document.
  func next() throws(InputError) -> Bool {
    let result = xmlTextReaderRead(reader)
    if result < 0 || errors.first != nil { throw documentError() }
    guard result == 1 else { return false }
    switch xmlTextReaderNodeType(reader) {
    case Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue):
      throw error("document type declarations (DOCTYPE) are refused: exports never need one")
    case Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue), Int32(XML_READER_TYPE_ENTITY.rawValue):
      throw error("entity references are refused: dynsync never expands XML entities")
    default:
      return true
    }
  }

  var kind: NodeKind {
    switch xmlTextReaderNodeType(reader) {
    case Int32(XML_READER_TYPE_ELEMENT.rawValue): return .element
    case Int32(XML_READER_TYPE_END_ELEMENT.rawValue): return .endElement
    case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue),
      Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue):
      return .text
    default: return .other
    }
  }

  /// The local name of the current element.
  var name: String {
    guard let name = xmlTextReaderConstLocalName(reader) else { return "" }
    return String(cString: name)
  }

  var depth: Int { Int(xmlTextReaderDepth(reader)) }
  var isEmptyElement: Bool { xmlTextReaderIsEmptyElement(reader) == 1 }

  /// The line of the current node in the file.
  var line: Int {
    if let node = xmlTextReaderCurrentNode(reader) {
      let line = Int(xmlGetLineNo(node))
      if line > 0 { return line }
    }
    return Int(xmlTextReaderGetParserLineNumber(reader))
  }

  var position: SourcePosition { SourcePosition(file: path, line: line) }

  /// The text of the current text node.
  var text: String {
    guard let value = xmlTextReaderConstValue(reader) else { return "" }
    return String(cString: value)
  }

  /// The attributes of the current element, by local name.
  func attributes() -> XMLAttributes {
    var attributes = XMLAttributes()
    guard xmlTextReaderMoveToFirstAttribute(reader) == 1 else { return attributes }
    repeat {
      if let name = xmlTextReaderConstLocalName(reader), let value = xmlTextReaderConstValue(reader) {
        attributes.append(name: String(cString: name), value: String(cString: value))
      }
    } while xmlTextReaderMoveToNextAttribute(reader) == 1
    xmlTextReaderMoveToElement(reader)
    return attributes
  }

  /// Reads the text content of the current element and leaves the cursor on its end tag.
  func elementText() throws(InputError) -> String {
    guard !isEmptyElement else { return "" }
    let elementDepth = depth
    var content = ""
    while try next() {
      switch kind {
      case .text: content += text
      case .endElement where depth == elementDepth: return content
      case .element:
        throw error("unexpected element <\(name)> inside a value")
      default: break
      }
    }
    throw error("the file ends inside an element")
  }

  func error(_ reason: String) -> InputError {
    InputError(file: path, line: line, reason: reason)
  }

  private func documentError() -> InputError {
    guard let first = errors.first else {
      return InputError(
        file: path, line: Int(xmlTextReaderGetParserLineNumber(reader)), reason: "malformed XML")
    }
    return InputError(
      file: path, line: first.line > 0 ? first.line : nil, column: first.column > 0 ? first.column : nil,
      reason: "malformed XML: " + first.message)
  }

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

/// Keeps the first error libxml2 reports, instead of letting it print to stderr.
private final class XMLErrorCollector {
  struct Report {
    var message: String
    var line: Int
    var column: Int
  }

  var first: Report?

  func record(_ error: xmlError) {
    guard first == nil, error.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
    var message = error.message.map { String(cString: $0) } ?? "unknown error"
    while message.last == "\n" || message.last == " " { message.removeLast() }
    first = Report(message: message, line: Int(error.line), column: Int(error.int2))
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
