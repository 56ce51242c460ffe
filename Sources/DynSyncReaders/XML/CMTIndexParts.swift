import DynSyncCore

#if canImport(Glibc)
import Glibc
#endif

/// A part of a CMT `data.xml`, indexed on a core of its own: the file's bytes in `range`, which
/// start with a `<record` among the records of `entity` (or at the file's start).
///
/// A part is parsed as a document of its own: the start tags open before it (`<entities>`, the
/// `<entity>`, `<records>`) are written before its bytes, and their end tags after them. Indexing
/// the parts gives what indexing the file whole gives when every part parses and ends among the
/// records of the table the next part starts among (`CMTReader.index(_:)`): a cut inside a comment,
/// a CDATA section, a processing instruction or a tag leaves the part before it unterminated, and
/// a cut anywhere else but among records, or an entity guessed wrong, leaves end tags that close
/// no element the part opened.
public struct CMTIndexPart: Sendable, Equatable {
  public var range: Range<Int>
  /// The table among whose records the part starts; `nil` for the part at the file's start.
  public var entity: String?
  /// Whether the part ends where the file does.
  public var isLast: Bool
}

/// What indexing a part gave, besides its rows.
public struct CMTIndexedPart: Sendable {
  public var summary: ExportFileSummary
  /// The line breaks among the part's bytes: the part's lines are counted from its first.
  public var newlines: Int
  /// The table among whose records the part's bytes end, which the next part must start among.
  public var entityAtEnd: String?
}

extension CMTReader {
  /// Where the file can be cut into parts of about `size` bytes each.
  ///
  /// A cut is before a `<record` start tag at or after every multiple of `size`, with the table whose `<entity>` is
  /// the last begun before it. Empty when the file is not cut (too small, or no place found). The places are only
  /// looked for in the bytes, not parsed: indexing the parts checks them.
  public func indexParts(size: Int) throws -> [CMTIndexPart] {
    let file = try FileBytes(path: path)
    var status = stat()
    guard size > 0, stat(path, &status) == 0 else { return [] }
    let fileSize = Int(status.st_size)
    var cuts: [(offset: Int, entity: String)] = []
    var target = size
    while target < fileSize {
      guard let cut = try CMTReader.recordStart(in: file, from: max(target, (cuts.last?.offset ?? 0) + 1)),
        let entity = try CMTReader.entityName(in: file, before: cut)
      else { break }
      cuts.append((cut, entity))
      target = cut + size
    }
    guard !cuts.isEmpty else { return [] }
    var parts: [CMTIndexPart] = []
    var start = 0
    var entity: String?
    for cut in cuts {
      parts.append(CMTIndexPart(range: start..<cut.offset, entity: entity, isLast: false))
      (start, entity) = (cut.offset, cut.entity)
    }
    parts.append(CMTIndexPart(range: start..<fileSize, entity: entity, isLast: true))
    return parts
  }

  /// Indexes one part of the file, as `index(file:observingBytes:_:)` indexes the whole: its rows' places are the
  /// file's, their lines the part's, counted from its first.
  ///
  /// - Throws: `IndexUnavailable` (or the file's own error) for a part that does not parse as a document of its
  ///   own, or holds anything only a full read handles, and `XMLScanDeclined` for one the scanner leaves to
  ///   libxml2; the file is then indexed whole.
  public func index(
    part: CMTIndexPart, file number: Int, scanning: Bool = true, _ emit: (IndexEvent) throws -> Void
  ) throws -> CMTIndexedPart {
    let leadIn =
      part.entity.map { "<entities><entity name=\"\(XMLText.escaped($0))\"><records>" } ?? ""
    let leadOut = part.isLast ? "" : "</records></entity></entities>"
    let window = XMLRowWindow(
      startingAt: part.range.lowerBound, leadIn: Array(leadIn.utf8), leadOut: Array(leadOut.utf8))
    let indexer = CMTRecordIndexer(reader: self, file: number, window: window)
    try XMLIndexPass.run(
      path: path, range: part.range, observer: nil, indexer: indexer, scanning: scanning, emit: emit)
    guard indexer.sawRoot else { throw IndexUnavailable(path: path, reason: "no <entities>") }
    return CMTIndexedPart(summary: indexer.summary, newlines: window.newlines, entityAtEnd: indexer.entityOpenAtFileEnd)
  }

  private static let lookAhead = 4 << 20

  /// The offset of the first `<record` start tag (not `<records>`) at or after `offset`, within a few megabytes.
  private static func recordStart(in file: FileBytes, from offset: Int) throws -> Int? {
    let bytes = try file.read(upTo: lookAhead, at: offset)
    let tag = Array("<record".utf8)
    var at = 0
    while at + tag.count < bytes.count {
      if bytes[at] == UInt8(ascii: "<"), bytes[at..<(at + tag.count)].elementsEqual(tag) {
        switch bytes[at + tag.count] {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ">"),
          UInt8(ascii: "/"):
          return offset + at
        default: break
        }
      }
      at += 1
    }
    return nil
  }

  /// The `name` of the last `<entity` start tag before `offset`, when it is plain text.
  ///
  /// A table's records can run to hundreds of megabytes before a cut: they are read backwards in chunks, into one
  /// buffer, and looked through for the tags' `<` eight bytes at a time.
  private static func entityName(in file: FileBytes, before offset: Int) throws -> String? {
    let tag = Array("<entity".utf8)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: lookAhead + tag.count + 1, alignment: 16)
    defer { buffer.deallocate() }
    guard let base = buffer.baseAddress else { return nil }
    var end = offset
    while end > 0 {
      // Each chunk reaches a tag and the byte after it into the one after it, so that no tag is cut in two.
      let start = max(0, end - lookAhead)
      let count = try file.read(
        into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(min(end + tag.count + 1, offset) - start)]), at: start
      )
      var limit = end - start
      while let at = lastOpenAngle(in: UnsafeRawPointer(base), before: limit) {
        if at + tag.count < count, memcmp(base + at, tag, tag.count) == 0,
          [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(
            buffer[at + tag.count])
        {
          return try nameAttribute(in: file, at: start + at + tag.count)
        }
        limit = at
      }
      end = start
    }
    return nil
  }

  /// The place of the last `<` before `limit` in the bytes at `base`: words of eight bytes without one are passed
  /// over at once.
  private static func lastOpenAngle(in base: UnsafeRawPointer, before limit: Int) -> Int? {
    let bytes = base.assumingMemoryBound(to: UInt8.self)
    var end = limit
    while end > 0 {
      let start = max(0, end - 8)
      // A word holds the byte exactly when the test finds one in it, wherever it says.
      if end - start == 8, ByteWord.bytes(equalTo: UInt8(ascii: "<"), in: ByteWord.load(base, at: start)) == 0 {
        end = start
        continue
      }
      var at = end
      while at > start {
        at -= 1
        if bytes[at] == UInt8(ascii: "<") { return at }
      }
      end = start
    }
    return nil
  }

  /// The value of the `name` attribute of the start tag whose attributes begin at `offset`, when it holds no
  /// reference or markup.
  private static func nameAttribute(in file: FileBytes, at offset: Int) throws -> String? {
    let bytes = try file.read(upTo: 4_096, at: offset)
    func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
    var at = 0
    while at < bytes.count {
      while at < bytes.count, isSpace(bytes[at]) { at += 1 }
      guard at < bytes.count, bytes[at] != UInt8(ascii: ">"), bytes[at] != UInt8(ascii: "/") else { return nil }
      let nameStart = at
      while at < bytes.count, !isSpace(bytes[at]), bytes[at] != UInt8(ascii: "=") { at += 1 }
      let name = bytes[nameStart..<at]
      while at < bytes.count, isSpace(bytes[at]) { at += 1 }
      guard at < bytes.count, bytes[at] == UInt8(ascii: "=") else { return nil }
      at += 1
      while at < bytes.count, isSpace(bytes[at]) { at += 1 }
      guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") || bytes[at] == UInt8(ascii: "'") else { return nil }
      let quote = bytes[at]
      at += 1
      let valueStart = at
      while at < bytes.count, bytes[at] != quote { at += 1 }
      guard at < bytes.count else { return nil }
      let value = bytes[valueStart..<at]
      at += 1
      if name.elementsEqual("name".utf8) {
        guard !value.isEmpty, !value.contains(UInt8(ascii: "&")), !value.contains(UInt8(ascii: "<")) else { return nil }
        return String(decoding: value, as: UTF8.self)
      }
    }
    return nil
  }
}
