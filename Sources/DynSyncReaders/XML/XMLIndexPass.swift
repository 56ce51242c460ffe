import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// What an XML format's indexer is: a SAX handler that turns the rows it meets into index events,
/// cutting each row's bytes out of the window the pass keeps.
protocol XMLRowIndexer: XMLSAXHandler {
  var window: XMLRowWindow { get }
  /// Events of the rows ended since the pass last took them.
  var events: [IndexEvent] { get set }
}

/// A stretch of an XML file indexed on its own, as though it were a whole document: its bytes, with
/// the start tags that stand open before them in the file written before them (the lead-in) and
/// the end tags that close those after them (the lead-out).
struct XMLIndexPart: Sendable {
  var range: Range<Int>
  var leadIn: [UInt8]
  var leadOut: [UInt8]
}

/// Runs an XML file once through `XMLByteScanner` or libxml2's SAX parser, for an indexer, and rereads rows from
/// their bytes.
enum XMLIndexPass {
  /// Runs the file through the scanner (`scanning`) or the parser, handing on the indexer's events as they come.
  ///
  /// The file is read into the indexer's window (and shown to `observer`) before the scanner or parser takes any of
  /// its bytes; the rows ended so far go out whenever it reads more. `observer` sees every byte of the file once, in
  /// order. XML the scanner leaves to libxml2 throws `XMLScanDeclined`: the caller then runs the pass again, from
  /// the start, on the parser. Anything the parser's pass cannot take as it is (UTF-16, another encoding, a
  /// malformed document, a refusal) throws `IndexUnavailable`, and a full read then says what is wrong.
  ///
  /// The indexer's window says which part of the file it reads (`XMLRowWindow`); `range` is that
  /// part's bytes, `nil` for the whole file.
  static func run(
    path: String, range: Range<Int>? = nil, observer: ((UnsafeRawBufferPointer) -> Void)?,
    indexer: some XMLRowIndexer, scanning: Bool, emit: (IndexEvent) throws -> Void
  ) throws {
    try XMLSAXParser.refuseDocumentTypeDeclaration(in: path)
    let file =
      try range.map { range throws(InputError) in try FileBytes(path: path, range: range) } ?? FileBytes(path: path)
    file.observer = observer
    do {
      try withoutActuallyEscaping(emit) { emit in
        func handOn() throws {
          for event in indexer.events { try emit(event) }
          indexer.events.removeAll(keepingCapacity: true)
        }
        if scanning {
          try XMLByteScanner(path: path, handler: indexer, window: indexer.window, file: file, beforeRead: handOn)
            .scan()
          try handOn()
          return
        }
        var first = true
        let parser = try XMLSAXParser(
          path: path, handler: indexer, requiresUTF8: true, baseOffset: indexer.window.streamStart
        ) { buffer in
          try handOn()
          let count = try indexer.window.feed(buffer, from: file)
          if first, count >= 2, (buffer[0] == 0xFE && buffer[1] == 0xFF) || (buffer[0] == 0xFF && buffer[1] == 0xFE) {
            throw IndexUnavailable(path: path, reason: "UTF-16 text")
          }
          first = false
          return count
        }
        try parser.parse()
        try handOn()
      }
    } catch let error as IndexUnavailable {
      throw error
    } catch let declined as XMLScanDeclined {
      throw declined
    } catch {
      throw IndexUnavailable(path: path, reason: "\(error)")
    }
  }

  /// The bytes of the given rows of the file, one after the other, each checked against the
  /// fingerprint (`seed`) it was indexed with.
  static func spans(of rows: [IndexedRow], path: String, seed: UInt64) throws -> [UInt8] {
    var spans: [UInt8] = []
    spans.reserveCapacity(rows.reduce(0) { $0 + Int($1.location.length) })
    try FileBytes(path: path).readEach(rows, place: \.place) { bytes, row in
      guard Fingerprint(of: bytes, seed: seed) == row.fingerprint else {
        throw IndexUnavailable(path: path, reason: "the file changed while it was read")
      }
      spans.append(contentsOf: bytes)
    }
    return spans
  }
}

/// The bytes of an XML file from the start of the row being read (or the end of the last one)
/// to as far as the file has been read: every byte a row's fingerprint and span need.
///
/// The file is read straight into it, in chunks, and the parser is fed from it: the bytes of a row
/// are cut and fingerprinted where they were read, and only those of the row in progress move when
/// room is made for the next chunk.
///
/// For a part of a file (`XMLIndexPart`), the parser is fed the part's lead-in first, as though it
/// stood just before the part's first byte, and its lead-out after the part's last.
final class XMLRowWindow {
  /// The bytes read from the file at a time.
  private let chunk: Int
  // Unchecked for exclusive access, as the indexers' state is: one pass, one thread.
  @exclusivity(unchecked) private var storage: UnsafeMutableRawBufferPointer
  /// The start of `storage`.
  @exclusivity(unchecked) private var bytes: UnsafeMutablePointer<UInt8>
  /// The file offset of `storage[0]`.
  @exclusivity(unchecked) private var start: Int
  /// How many bytes of `storage` hold the file's.
  @exclusivity(unchecked) private var held: Int
  /// The file offset up to which the parser has been fed.
  @exclusivity(unchecked) private var fed: Int
  /// Where the bytes still needed start.
  @exclusivity(unchecked) private var keepFrom: Int
  /// What follows the part's last byte; `nil` once it is in the window.
  @exclusivity(unchecked) private var leadOut: [UInt8]?
  /// Where the file's bytes end and the lead-out's begin, once the file has been read to its end.
  @exclusivity(unchecked) private(set) var fileEnd: Int?
  /// The line breaks among the file's bytes read so far.
  @exclusivity(unchecked) private(set) var newlines = 0
  /// The file offset of the first byte fed to the parser (the lead-in's first, for a part).
  let streamStart: Int

  /// A window whose first file byte is at `offset`, with `leadIn` fed before it and `leadOut`
  /// after the last, reading `chunk` bytes of the file at a time (small in tests, so that rows and tags straddle
  /// many reads).
  init(startingAt offset: Int = 0, leadIn: [UInt8] = [], leadOut: [UInt8] = [], chunk: Int = 1 << 18) {
    self.chunk = chunk
    bytes = .allocate(capacity: max(2 * chunk, 2 * leadIn.count))
    storage = UnsafeMutableRawBufferPointer(start: bytes, count: max(2 * chunk, 2 * leadIn.count))
    storage.copyBytes(from: leadIn)
    start = offset - leadIn.count
    streamStart = start
    held = leadIn.count
    fed = start
    keepFrom = start
    self.leadOut = leadOut
  }

  deinit { storage.deallocate() }

  /// Fills `buffer` with the next bytes for the parser, reading more of `file` once all the bytes
  /// read were fed; returns the count, 0 at the end of the file.
  func feed(_ buffer: UnsafeMutableRawBufferPointer, from file: FileBytes) throws(InputError) -> Int {
    if fed == start + held {
      try read(from: file)
      if fed == start + held { return 0 }
    }
    let count = min(buffer.count, start + held - fed)
    buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[(fed - start)..<(fed - start + count)]))
    fed += count
    return count
  }

  /// Reads the file's next chunk after the bytes held, letting go of those before `keepFrom`; at
  /// the file's end, the lead-out.
  private func read(from file: FileBytes) throws(InputError) {
    let kept = start + held - keepFrom
    if keepFrom > start, let base = storage.baseAddress {
      memmove(base, base + (keepFrom - start), kept)
      start = keepFrom
      held = kept
    }
    let room = max(chunk, leadOut?.count ?? 0)
    if storage.count - held < room {
      // A row longer than the room: the window grows to hold it.
      let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * storage.count + room)
      larger.initialize(from: bytes, count: held)
      storage.deallocate()
      bytes = larger
      storage = UnsafeMutableRawBufferPointer(start: larger, count: 2 * storage.count + room)
    }
    let count = try file.read(
      into: UnsafeMutableRawBufferPointer(rebasing: storage[held..<(held + chunk)]))
    if count == 0, let leadOut {
      fileEnd = start + held
      UnsafeMutableRawBufferPointer(rebasing: storage[held..<(held + leadOut.count)]).copyBytes(from: leadOut)
      held += leadOut.count
      self.leadOut = nil
      return
    }
    newlines += UnsafeRawBufferPointer(rebasing: storage[held..<(held + count)]).lineFeeds
    held += count
  }

  /// The bytes held, for a pass that reads the window itself (`XMLByteScanner`): valid until the next read.
  var heldBytes: (bytes: UnsafePointer<UInt8>, origin: Int, count: Int) {
    (UnsafePointer(bytes), start, held)
  }

  /// Reads the file's next chunk (at its end, the lead-out) after the bytes held, keeping those from `offset` on as
  /// well as those still needed; whether there was more to read.
  func readMore(keeping offset: Int, from file: FileBytes) throws(InputError) -> Bool {
    keepFrom = min(keepFrom, offset)
    let before = start + held
    try read(from: file)
    return start + held > before
  }

  /// Nothing before `offset` is needed any more.
  func release(upTo offset: Int) { keepFrom = offset }

  /// The offset of the `<` that opens the tag the parser is in at `offset` (called from a
  /// start-element event, when the parser is within the start tag); no `<` can stand in a tag.
  func tagStart(before offset: Int) -> Int? {
    guard offset - start <= held, keepFrom <= offset, keepFrom >= start, let base = storage.baseAddress else {
      return nil
    }
    let bytes = base.assumingMemoryBound(to: UInt8.self)
    var index = offset - start
    while index > keepFrom - start {
      index -= 1
      if bytes[index] == UInt8(ascii: "<") { return start + index }
    }
    return nil
  }

  /// The byte at file offset `offset`, if the window holds it.
  func byte(at offset: Int) -> UInt8? {
    offset >= start && offset - start < held ? storage[offset - start] : nil
  }

  /// Whether `range` is in the window and ends with the `>` of an end tag.
  func holdsElement(_ range: Range<Int>) -> Bool {
    range.lowerBound >= start && range.upperBound - start <= held && !range.isEmpty
      && storage[range.upperBound - start - 1] == UInt8(ascii: ">")
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
    Fingerprint(of: bytes(of: range), seed: seed)
  }

  func copy(of range: Range<Int>) -> [UInt8] { Array(bytes(of: range)) }

  private func bytes(of range: Range<Int>) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: storage[(range.lowerBound - start)..<(range.upperBound - start)])
  }
}

/// The column names of the rows read lately, each with what a format's rules need to know of it.
///
/// Rows of one table mostly repeat the names of the rows before, though FetchXML leaves a row's
/// null columns out, so that its shape changes from row to row. A name is made a string and its
/// facts learned once, the first time it is seen; a row is the list of the names it holds, as
/// their places among those learned; and a name that a row holds twice is noted as it comes, not
/// looked for again in every row whose shape changed.
struct XMLRowShape<Facts> {
  struct Name {
    var bytes: [UInt8]
    var name: String
    var facts: Facts
    /// The place of the first name learned whose string equals this one's: names whose bytes
    /// differ but whose strings are equal (canonically equivalent Unicode) are one column, as
    /// they are to a decoder that keys columns by string.
    var column: Int
  }

  /// Every name learned since the last reset, in the order first seen.
  private var learned: [Name] = []
  /// The names of the row being read, or of the last row past it, as places in `learned`.
  private var row: [Int] = []
  /// The first position of `row` whose column an earlier position holds too.
  private var firstRepeat = Int.max

  /// The name learned at `place`.
  subscript(place: Int) -> Name { learned[place] }

  /// The facts of the name learned at `place`, without copying the name.
  func facts(at place: Int) -> Facts { learned[place].facts }

  /// Where among the names learned the name `bytes` at `position` of the row is: the last rows'
  /// name there when the bytes match, else the name learned with these bytes; `nil` for a name not
  /// learned yet, which `learn(_:at:facts:)` then learns at `position`.
  ///
  /// Apart from `learn`, which takes a closure: a closure formed for every column, whatever it
  /// captures, cost its caller a retain and a release of itself.
  mutating func position(of bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> Int? {
    if position < row.count, XMLRowShape.equal(learned[row[position]].bytes, bytes) { return row[position] }
    if position < row.count { truncate(to: position) }
    guard let place = learned.firstIndex(where: { XMLRowShape.equal($0.bytes, bytes) }) else { return nil }
    append(place)
    return place
  }

  /// Learns the name `bytes`, which `position(of:at:)` did not know, at `position` of the row; its
  /// facts are learned once.
  mutating func learn(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int, facts: (String) -> Facts) -> Int {
    if position < row.count { truncate(to: position) }
    let name = String(decoding: bytes, as: UTF8.self)
    let column = learned.first { $0.name == name }?.column ?? learned.count
    learned.append(Name(bytes: Array(bytes), name: name, facts: facts(name), column: column))
    append(learned.count - 1)
    return learned.count - 1
  }

  /// Whether the row just read, with `count` names, holds no name twice.
  mutating func isDistinct(count: Int) -> Bool {
    if row.count > count { truncate(to: count) }
    return firstRepeat == .max && row.count == count
  }

  /// Forgets every name (the rows that follow are of another table, or their facts differ).
  mutating func reset() {
    learned = []
    row = []
    firstRepeat = .max
  }

  private mutating func truncate(to count: Int) {
    row.removeSubrange(count...)
    if firstRepeat >= count { firstRepeat = .max }
  }

  /// Puts the name learned at `place` at the end of the row, noting a name the row holds already.
  private mutating func append(_ place: Int) {
    let column = learned[place].column
    if firstRepeat == .max, row.contains(where: { learned[$0].column == column }) { firstRepeat = row.count }
    row.append(place)
  }

  private static func equal(_ known: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    known.withUnsafeBufferPointer { known in
      guard known.count == bytes.count, let left = known.baseAddress, let right = bytes.baseAddress else {
        return known.count == bytes.count
      }
      return memcmp(left, right, bytes.count) == 0
    }
  }
}
