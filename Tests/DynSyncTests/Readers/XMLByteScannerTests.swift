import DynSyncCore
import Foundation
import Testing

@testable import DynSync
@testable import DynSyncReaders

/// Every event of one pass written out as a line: names, depths, byte offsets, lines, attributes as handed on (their
/// values' bytes as they are), and text gathered between two other events.
private final class EventLog: XMLRowIndexer {
  let window: XMLRowWindow
  var events: [IndexEvent] = []
  private(set) var lines: [String] = []
  /// The pointers each name came as: libxml2 and the scan both hand on one per name.
  private(set) var pointers: [String: Set<UnsafeRawPointer>] = [:]
  private var text: [UInt8] = []
  private var textDepth = 0
  private unowned(unsafe) var source: (any XMLEventSource)?

  init(chunk: Int) { window = XMLRowWindow(chunk: chunk) }

  func follow(_ parser: any XMLEventSource) { source = parser }

  func startElement(_ name: UnsafeBufferPointer<UInt8>, attributes: XMLSAXParser.Attributes, depth: Int) throws {
    endText()
    let text = String(decoding: name, as: UTF8.self)
    note(text, name.baseAddress.map(UnsafeRawPointer.init))
    var line = "<\(text) depth \(depth)\(position)"
    for index in 0..<attributes.count {
      guard let slots = attributes.base, let local = slots[index * 5], let start = slots[index * 5 + 3],
        let end = slots[index * 5 + 4]
      else {
        line += " an attribute without its pointers"
        continue
      }
      note(String(cString: local), UnsafeRawPointer(local))
      let value = Array(UnsafeBufferPointer(start: start, count: end - start))
      line +=
        " \(String(cString: local))=\(value) prefix \(slots[index * 5 + 1] == nil) uri \(slots[index * 5 + 2] == nil)"
    }
    lines.append(line)
  }

  func endElement(_ name: UnsafePointer<UInt8>, depth: Int) throws {
    endText()
    note(String(cString: name), UnsafeRawPointer(name))
    lines.append("</\(String(cString: name)) depth \(depth)\(position)")
  }

  private var position: String { " at \(source?.byteOffset ?? -1) line \(source?.line ?? -1)" }

  func characters(_ text: UnsafeBufferPointer<UInt8>, depth: Int) {
    if depth != textDepth { endText() }
    textDepth = depth
    self.text += text
  }

  func endText() {
    if !text.isEmpty { lines.append("text depth \(textDepth) \(text)") }
    text = []
  }

  private func note(_ name: String, _ pointer: UnsafeRawPointer?) {
    if let pointer { pointers[name, default: []].insert(pointer) }
  }
}

private enum PassOutcome: Equatable {
  case events([String])
  case declined
  case failed(String)
}

/// One pass over `path`, scanned or parsed by libxml2, its file read `chunk` bytes at a time.
private func pass(_ path: String, scanning: Bool, chunk: Int) -> (PassOutcome, [String: Set<UnsafeRawPointer>]) {
  let log = EventLog(chunk: chunk)
  do {
    try XMLIndexPass.run(path: path, observer: nil, indexer: log, scanning: scanning) { _ in }
    log.endText()
    return (.events(log.lines), log.pointers)
  } catch is XMLScanDeclined {
    return (.declined, [:])
  } catch {
    return (.failed("\(error)"), [:])
  }
}

/// Writes `document`, scans it and parses it with libxml2; whether the scan took it.
///
/// What the scan takes must give libxml2's events, one pointer per name.
@discardableResult
private func compare(_ document: [UInt8], in folder: TemporaryFolder, chunk: Int = 1 << 18) throws -> Bool {
  let path = folder.path + "/document.xml"
  try Data(document).write(to: URL(fileURLWithPath: path))
  let (scanned, pointers) = pass(path, scanning: true, chunk: chunk)
  let shown = String(decoding: document.prefix(3000), as: UTF8.self).debugDescription
  switch scanned {
  case .declined:
    return false
  case .failed(let reason):
    Issue.record("the scan failed other than by declining (\(reason)): \(shown)")
    return false
  case .events:
    // libxml2 reads the file's first four bytes at once to tell its encoding: it is given its usual reads.
    let (parsed, _) = pass(path, scanning: false, chunk: 1 << 18)
    #expect(parsed == scanned, "chunk \(chunk): \(shown)")
    #expect(pointers.values.allSatisfy { $0.count == 1 }, "a name handed on at two pointers: \(shown)")
    // The same document scanned in memory, as rows read again are.
    let inMemory = EventLog(chunk: chunk)
    try document.withUnsafeBufferPointer { text in
      try XMLByteScanner(path: path, handler: inMemory, text: text).scan()
    }
    inMemory.endText()
    #expect(PassOutcome.events(inMemory.lines) == scanned, "in memory: \(shown)")
    return true
  }
}

/// A deterministic stream of numbers (SplitMix64).
private struct Numbers {
  var state: UInt64

  mutating func next(below bound: Int) -> Int {
    state &+= 0x9E37_79B9_7F4A_7C15
    var value = state
    value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
    value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
    return Int((value ^ (value >> 31)) % UInt64(bound))
  }
}

// The documents run past the scan's first read of 1,024 bytes, so that small reads cut their later tags, references
// and characters.

private let fetchXMLRows = """
  <result><contactid>{DC4782BA-2226-8A85-A0BF-83810D91D198}</contactid><birthdate date="1950-03-03">1950-03-03T00:00:00</birthdate><fullname>Ben O&apos;Brien &amp; Co</fullname><ownerid name="Ben Owner" dsc="0" type="systemuser">{263BF33D-287C-1DA3-5B8D-AA77E48A0F16}</ownerid><statecode name="Active">0</statecode><versionnumber formattedvalue="1,000,000">1000000</versionnumber></result>
  <result><contactid>{DC4781BA-2226-88D2-A0BF-84810D91D34B}</contactid><fullname>Zoë Ünal 日本 😀</fullname><description>line one&#xD;
  line two&#10;&#x1F600;</description><emptyone/><donotemail name="No">0</donotemail></result>

  """

private let fetchXMLPage =
  """
  <?xml version="1.0" encoding="utf-8"?>
  <resultset morerecords="1" paging-cookie="&lt;cookie page=&quot;1&quot;&gt;&lt;contactid last=&quot;{A7}&quot; /&gt;&lt;/cookie&gt;">

  """ + String(repeating: fetchXMLRows, count: 4) + "</resultset>\n"

private let cmtRecords = """
      <record id="e1c53fde-9884-284d-903e-b213b241162a"><field name="firstname" value="Kenji" /><field name="description" value="a&#xA;b&#9;c &amp; d &lt;e&gt; &quot;f&quot; 'g'" /><field name="note" value='single "quoted"' /></record>
      <record id="e1c53ede-9884-269a-903e-b313b24117dd"><field name="firstname" value="Goran
  Schmidt	tab" /></record>

  """

private let cmtData =
  """
  <entities xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <entity name="contact" displayname="Contact">
      <records>

  """ + String(repeating: cmtRecords, count: 4) + "    </records>\n  </entity>\n</entities>"

private let edges =
  "<?xml version='1.0' standalone='yes' ?>\r\n<a  b = \"1\"\tc='x&amp;y&#38;z&#x41;&lt;>'\r\n d=\"\">"
  + String(
    repeating:
      "text &amp; more &#233; é 日本 😀 &#x1F600; ]] > ]>\r\nline\rlone\r\n<b/><c x=\"1\"\r\ny=\"a\r\nb\rc\"/> <d></d >",
    count: 8) + "</a>\n\n"

@Suite("The byte scan of XML against libxml2")
struct XMLByteScannerTests {
  @Test("documents of every feature the scan takes are taken, with libxml2's events, at any size of read")
  func features() throws {
    let folder = try TemporaryFolder()
    let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    let documents: [[UInt8]] = [
      Array(fetchXMLPage.utf8), Array(cmtData.utf8), Array(edges.utf8), bom + Array(edges.utf8),
      Array("<a/>".utf8), Array("<a>\n</a>\n".utf8), Array("<?xml version=\"1.0\"?><a/>".utf8),
    ]
    for document in documents {
      for chunk in [1, 2, 3, 7, 61, 1 << 18] {
        #expect(try compare(document, in: folder, chunk: chunk), "\(String(decoding: document, as: UTF8.self))")
      }
    }
  }

  @Test("what the scan leaves to libxml2 is declined, never read otherwise")
  func declines() throws {
    let folder = try TemporaryFolder()
    let declined = [
      "<a><!-- a comment --></a>", "<a><?pi x?></a>", "<a><![CDATA[x]]></a>", "<a>&custom;</a>",
      "<p:a xmlns:p=\"http://x.org/\"/>",
      "<a xml:lang=\"en\"/>", "<a xmlns=\"http://x.org/\"/>", "<a xmlns:p=\"urn:x\"/>", "<a b=\"1\" b=\"2\"/>",
      "<a>]]></a>",
      "<a>\u{1}</a>", "<?xml version=\"1.1\"?><a/>", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>", "<a></b>",
      "<a>", "<a/><b/>", "<a/>x", " <?xml version=\"1.0\"?><a/>", "<a>&#0;</a>", "<a>&#xD800;</a>", "<a>&#X41;</a>",
      "<a b=\"<\"/>", "<a b=1/>", "<a b=\"1\"c=\"2\"/>", "<é/>", "<a>\u{FFFE}</a>",
    ]
    for document in declined {
      let path = folder.path + "/declined.xml"
      try Data(document.utf8).write(to: URL(fileURLWithPath: path))
      #expect(pass(path, scanning: true, chunk: 1 << 18).0 == .declined, "\(document)")
    }
    for bytes: [UInt8] in [
      [0x3C, 0x61, 0x3E, 0xFF, 0x3C, 0x2F, 0x61, 0x3E], [0x3C, 0x61, 0x3E, 0xC0, 0x80, 0x3C, 0x2F, 0x61, 0x3E],
    ] {
      let path = folder.path + "/declined.xml"
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      #expect(pass(path, scanning: true, chunk: 1 << 18).0 == .declined)
    }
  }

  @Test("documents altered at random: whatever the scan takes, libxml2 takes alike")
  func altered() throws {
    let folder = try TemporaryFolder()
    let pieces: [[UInt8]] =
      [
        "<", ">", "/", "&", ";", "&amp;", "&lt;", "&#38;", "&#x26;", "&#0;", "&#xD800;", "&#x110000;", "&#65;",
        "&bogus;", "\"", "'", "=", " ", "\t", "\n", "\r", "\r\n", "]]>", "]]", "]", "<!--x-->", "<?pi x?>",
        "<![CDATA[x]]>", "xmlns:p=\"http://x.org/\"", " xmlns:q=\"https://a.b/c\"", "xmlns=\"http://x.org/\"", "p:a",
        " a=\"1\"",
        ":", "é", "\u{1}", "\0", "<b/>", "</b>", "<b>", "x", "<?xml version=\"1.0\"?>", "&#x1F600;", "😀",
      ].map { Array($0.utf8) } + [
        [0xFF], [0xC3], [0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0x80], [0xEF, 0xBF, 0xBE],
      ]
    var numbers = Numbers(state: 11)
    var taken = 0
    var total = 0
    for base in [Array(fetchXMLPage.utf8), Array(cmtData.utf8), Array(edges.utf8)] {
      for _ in 0..<1500 {
        var document = base
        for _ in 0...numbers.next(below: 2) {
          let at = numbers.next(below: document.count)
          switch numbers.next(below: 4) {
          case 0: document.insert(contentsOf: pieces[numbers.next(below: pieces.count)], at: at)
          case 1: document.removeSubrange(at..<min(document.count, at + 1 + numbers.next(below: 4)))
          case 2: document.replaceSubrange(at...at, with: pieces[numbers.next(below: pieces.count)])
          default:
            document.insert(contentsOf: document[at..<min(document.count, at + 1 + numbers.next(below: 12))], at: at)
          }
        }
        let chunk = [3, 61, 1 << 18][numbers.next(below: 3)]
        if try compare(document, in: folder, chunk: chunk) { taken += 1 }
        total += 1
      }
    }
    // The alterations must leave enough documents the scan takes, and enough it declines, to say anything.
    #expect(taken > total / 10)
    #expect(taken < total * 9 / 10)
  }

  @Test(
    "generated exports are taken whole, with libxml2's events",
    arguments: [ExportFormat.fetchXML, .configurationMigration])
  func generated(format: ExportFormat) throws {
    let folder = try TemporaryFolder()
    try GeneratedExport(generator: OrgGenerator(records: 600, seed: 3), format: format).write(to: folder.path + "/org")
    let files = try FileManager.default.contentsOfDirectory(atPath: folder.path + "/org").filter {
      $0.hasSuffix(".xml")
    }
    #expect(!files.isEmpty)
    for file in files {
      let document = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder.path + "/org/" + file)))
      for chunk in [97, 1 << 18] {
        #expect(try compare(document, in: folder, chunk: chunk), "\(file) declined")
      }
    }
  }

  @Test("a CMT data.xml in parts is indexed alike scanned or parsed, part by part")
  func parts() throws {
    let folder = try TemporaryFolder()
    try GeneratedExport(generator: OrgGenerator(records: 900, seed: 5), format: .configurationMigration)
      .write(to: folder.path + "/org")
    let file = try #require(try ExportInput.files(at: [folder.path + "/org"]).first)
    let parts = try ExportInput.indexParts(of: file, size: 40_000)
    #expect(parts.count > 3)
    for part in parts {
      func index(scanning: Bool) throws -> (FileIndex, Int, String?) {
        var rows = FileIndex()
        let ended = try ExportInput.index(part, of: file, number: 0, scanning: scanning) { rows.add($0) }
        return (rows, ended.newlines, ended.entityAtEnd)
      }
      let scanned = try index(scanning: true)
      let parsed = try index(scanning: false)
      #expect(scanned.0 == parsed.0)
      #expect(scanned.1 == parsed.1)
      #expect(scanned.2 == parsed.2)
    }
  }
}
