import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// What an XML format's indexer is: a SAX handler that turns the rows it meets into index events,
/// cutting each row's bytes out of the window the pass keeps.
protocol XMLRowIndexer: XMLPushHandler {
  var window: XMLRowWindow { get }
  /// Events of the rows ended since the pass last took them.
  var events: [IndexEvent] { get set }
  /// Connects the indexer to the parser it follows (for positions); the parser outlives the pass.
  func follow(_ parser: XMLPushParser)
}

/// Runs an XML file through libxml2's SAX parser once, for an indexer, and rereads rows from
/// their bytes.
enum XMLIndexPass {
  /// Feeds the file to the parser chunk by chunk, handing on the indexer's events as they come.
  ///
  /// `observer` sees every byte of the file once, in order. Anything the pass cannot take as
  /// it is (UTF-16, another encoding, a malformed document, a refusal) throws `IndexUnavailable`,
  /// and a full read then says what is wrong.
  static func run(
    path: String, observer: ((UnsafeRawBufferPointer) -> Void)?, indexer: some XMLRowIndexer,
    emit: (IndexEvent) throws -> Void
  ) throws {
    try XMLStreamReader.refuseDocumentTypeDeclaration(in: path)
    let bytes = try FileBytes(path: path)
    bytes.observer = observer
    let parser = try XMLPushParser(path: path, handler: indexer)
    indexer.follow(parser)
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
    defer { chunk.deallocate() }
    var first = true
    do {
      while true {
        let count = try bytes.read(into: chunk)
        let read = UnsafeRawBufferPointer(rebasing: chunk[0..<count])
        if first, count >= 2, (read[0] == 0xFE && read[1] == 0xFF) || (read[0] == 0xFF && read[1] == 0xFE) {
          throw IndexUnavailable(path: path, reason: "UTF-16 text")
        }
        first = false
        indexer.window.append(read)
        try parser.parse(read, final: count == 0)
        // Offsets into the bytes are offsets into the text only when the text is UTF-8.
        if parser.declaresOtherEncoding { throw IndexUnavailable(path: path, reason: "an encoding other than UTF-8") }
        for event in indexer.events { try emit(event) }
        indexer.events.removeAll(keepingCapacity: true)
        indexer.window.dropHandled()
        if count == 0 { break }
      }
    } catch let error as IndexUnavailable {
      throw error
    } catch {
      throw IndexUnavailable(path: path, reason: "\(error)")
    }
  }

  /// The bytes of the given rows of the file, one after the other, each checked against the
  /// fingerprint (`seed`) it was indexed with.
  static func spans(of rows: [IndexedRow], path: String, seed: UInt64) throws -> [UInt8] {
    let file = try FileBytes(path: path)
    var spans: [UInt8] = []
    for row in rows {
      let bytes = try file.read(at: Int(row.location.offset), count: Int(row.location.length))
      let unchanged = bytes.withUnsafeBytes { Fingerprint(of: $0, seed: seed) == row.fingerprint }
      guard unchanged else { throw IndexUnavailable(path: path, reason: "the file changed while it was read") }
      spans += bytes
    }
    return spans
  }
}

/// The bytes of an XML file from the start of the row being read (or the end of the last one)
/// to as far as the parser has been fed: every byte a row's fingerprint and span need.
final class XMLRowWindow {
  // Unchecked for exclusive access, as the indexers' state is: one pass, one thread.
  @exclusivity(unchecked) private var bytes: [UInt8] = []
  /// The file offset of `bytes[0]`.
  @exclusivity(unchecked) private var start = 0
  /// Where the bytes still needed start.
  @exclusivity(unchecked) private var keepFrom = 0

  func append(_ chunk: UnsafeRawBufferPointer) { bytes.append(contentsOf: chunk) }

  /// Nothing before `offset` is needed any more.
  func release(upTo offset: Int) { keepFrom = offset }

  /// The offset of the `<` that opens the tag the parser is in at `offset` (called from a
  /// start-element event, when the parser is within the start tag); no `<` can stand in a tag.
  func tagStart(before offset: Int) -> Int? {
    guard offset - start <= bytes.count, keepFrom <= offset else { return nil }
    return bytes[(keepFrom - start)..<(offset - start)].lastIndex(of: UInt8(ascii: "<")).map { start + $0 }
  }

  /// The byte at file offset `offset`, if the window holds it.
  func byte(at offset: Int) -> UInt8? {
    offset >= start && offset - start < bytes.count ? bytes[offset - start] : nil
  }

  /// Whether `range` is in the window and ends with the `>` of an end tag.
  func holdsElement(_ range: Range<Int>) -> Bool {
    range.lowerBound >= start && range.upperBound - start <= bytes.count && !range.isEmpty
      && bytes[range.upperBound - start - 1] == UInt8(ascii: ">")
  }

  /// Ends the row that started at `start`, now that the parser is just past its end tag at
  /// `end`: where it lies and the fingerprint of its bytes; bytes before its end are let go.
  func endRow(from start: Int, to end: Int, file: Int, line: Int, seed: UInt64, path: String) throws -> (
    span: Range<Int>, location: RowLocation, fingerprint: Fingerprint
  ) {
    let span = start..<end
    guard holdsElement(span) else { throw IndexUnavailable(path: path, reason: "a row whose end cannot be found") }
    release(upTo: end)
    let location = RowLocation(file: file, offset: start, length: span.count, line: line, column: 0)
    return (span, location, fingerprint(of: span, seed: seed))
  }

  func fingerprint(of range: Range<Int>, seed: UInt64) -> Fingerprint {
    bytes.withUnsafeBytes {
      Fingerprint(
        of: UnsafeRawBufferPointer(rebasing: $0[(range.lowerBound - start)..<(range.upperBound - start)]), seed: seed)
    }
  }

  func copy(of range: Range<Int>) -> [UInt8] { Array(bytes[(range.lowerBound - start)..<(range.upperBound - start)]) }

  /// Lets go of the bytes no row needs any more (in large steps: a removal moves what is left).
  func dropHandled() {
    let drop = keepFrom - start
    guard drop > 1 << 16 else { return }
    bytes.removeFirst(drop)
    start = keepFrom
  }
}

/// The column names of the rows read lately, each with what a format's rules need to know of it.
///
/// Rows of one table mostly repeat the names of the row before: a name is made a string, looked
/// up in the catalog or schema, and the row checked for a name that comes twice, once per new
/// shape of row, not once per row.
struct XMLRowShape<Facts> {
  struct Name {
    var bytes: [UInt8]
    var name: String
    var facts: Facts
  }

  private(set) var names: [Name] = []
  private var distinct = false
  private var changed = true

  subscript(position: Int) -> Name { names[position] }

  /// The facts of the name at `position`, without copying the name.
  func facts(at position: Int) -> Facts { names[position].facts }

  /// Where the name `bytes` at `position` of the row is: the last rows' name there when the bytes
  /// match, or a new name, whose facts are learned once.
  mutating func position(of bytes: UnsafeBufferPointer<UInt8>, at position: Int, facts: (String) -> Facts) -> Int {
    if position < names.count {
      let same = names[position].bytes.withUnsafeBufferPointer { known in
        guard known.count == bytes.count, let left = known.baseAddress, let right = bytes.baseAddress else {
          return known.count == bytes.count
        }
        return memcmp(left, right, bytes.count) == 0
      }
      if same { return position }
      names.removeSubrange(position...)
    }
    let name = String(decoding: bytes, as: UTF8.self)
    names.append(Name(bytes: Array(bytes), name: name, facts: facts(name)))
    changed = true
    return position
  }

  /// Whether the row just read, with `count` names, holds no name twice.
  mutating func isDistinct(count: Int) -> Bool {
    if names.count > count {
      names.removeSubrange(count...)
      changed = true
    }
    if changed {
      distinct = Set(names.map(\.name)).count == names.count
      changed = false
    }
    return distinct && names.count == count
  }

  /// Forgets every name (the rows that follow are of another table).
  mutating func reset() {
    names = []
    changed = true
  }
}
