import DynSyncCore
import DynSyncReaders
import Foundation
import Testing

/// A ZIP package built byte by byte: its entries stored, not compressed, in the plain form or in the ZIP64 one
/// (sizes and offsets in extra fields, a ZIP64 end record and its locator).
private struct StoredPackage {
  var entries: [(name: String, bytes: [UInt8])]
  var zip64 = false

  var bytes: [UInt8] {
    func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
    func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) } }
    func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(value >> (8 * $0) & 0xFF) } }
    let wide: UInt32 = 0xFFFF_FFFF
    var file: [UInt8] = []
    var directory: [UInt8] = []
    for (name, data) in entries {
      let offset = file.count
      let size = UInt32(data.count)
      let nameBytes = Array(name.utf8)
      let localExtra = zip64 ? le16(1) + le16(16) + le64(UInt64(size)) + le64(UInt64(size)) : []
      file +=
        [0x50, 0x4B, 0x03, 0x04] + le16(45) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc32(data))
        + le32(zip64 ? wide : size) + le32(zip64 ? wide : size) + le16(nameBytes.count) + le16(localExtra.count)
        + nameBytes + localExtra + data
      let extra = zip64 ? le16(1) + le16(24) + le64(UInt64(size)) + le64(UInt64(size)) + le64(UInt64(offset)) : []
      directory +=
        [0x50, 0x4B, 0x01, 0x02] + le16(45) + le16(45) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc32(data))
        + le32(zip64 ? wide : size) + le32(zip64 ? wide : size) + le16(nameBytes.count) + le16(extra.count)
        + le16(0) + le16(0) + le16(0) + le32(0) + le32(zip64 ? wide : UInt32(offset)) + nameBytes + extra
    }
    let directoryOffset = file.count
    file += directory
    if zip64 {
      let record = file.count
      file +=
        [0x50, 0x4B, 0x06, 0x06] + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
        + le64(UInt64(entries.count)) + le64(UInt64(entries.count)) + le64(UInt64(directory.count))
        + le64(UInt64(directoryOffset))
      file += [0x50, 0x4B, 0x06, 0x07] + le32(0) + le64(UInt64(record)) + le32(1)
      return file + [0x50, 0x4B, 0x05, 0x06] + le16(0) + le16(0) + le16(0xFFFF) + le16(0xFFFF) + le32(wide)
        + le32(wide) + le16(0)
    }
    return file + [0x50, 0x4B, 0x05, 0x06] + le16(0) + le16(0) + le16(entries.count) + le16(entries.count)
      + le32(UInt32(directory.count)) + le32(UInt32(directoryOffset)) + le16(0)
  }
}

private func crc32(_ bytes: [UInt8]) -> UInt32 {
  var crc: UInt32 = 0xFFFF_FFFF
  for byte in bytes {
    crc ^= UInt32(byte)
    for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
  }
  return ~crc
}

/// The place of the central directory entry named `name` in a package's bytes.
private func directoryEntry(_ name: String, in bytes: [UInt8]) throws -> Int {
  let wanted = Array(name.utf8)
  let found = bytes.indices.dropLast(46).first { at in
    bytes[at..<(at + 4)].elementsEqual([0x50, 0x4B, 0x01, 0x02])
      && Int(bytes[at + 28]) | Int(bytes[at + 29]) << 8 == wanted.count
      && bytes[(at + 46)..<(at + 46 + wanted.count)].elementsEqual(wanted)
  }
  return try #require(found)
}

private func looseFile(_ name: String) throws -> [UInt8] {
  Array(try Data(contentsOf: URL(fileURLWithPath: FixturePath.readers("cmt/" + name))))
}

@Suite("CMT data.zip packages")
struct CMTPackageTests {
  @Test("a data.zip package reads to the same records, with positions naming the package entry")
  func package() throws {
    let zip = FixturePath.readers("cmt-zip/data.zip")
    let (packed, summary) = try readEvents(zip)
    let loose = try readEvents(FixturePath.readers("cmt")).events.records
    #expect(summary.path == zip)
    #expect(packed.records == loose)
    #expect(packed.records.first?.origin.file == zip + "!data.xml")
    #expect(packed.records.first?.origin.line == loose.first?.origin.line)
  }

  @Test("a temporary folder left by a process no longer running is swept by the next read; a running one's is kept")
  func staleFoldersSwept() throws {
    let temporary = FileManager.default.temporaryDirectory
    // A process that has ended and been waited for: its id names no process.
    let ended = Process()
    ended.executableURL = URL(fileURLWithPath: "/bin/true")
    try ended.run()
    ended.waitUntilExit()
    let suffix = UUID().uuidString.lowercased()
    let stale = temporary.appendingPathComponent("dynsync-cmt-\(ended.processIdentifier)-\(suffix)")
    let running = temporary.appendingPathComponent("dynsync-cmt-\(ProcessInfo.processInfo.processIdentifier)-\(suffix)")
    for folder in [stale, running] {
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
      try Data("<entities/>".utf8).write(to: folder.appendingPathComponent("data.xml"))
    }
    defer { for folder in [stale, running] { try? FileManager.default.removeItem(at: folder) } }
    _ = try readEvents(FixturePath.readers("cmt-zip/data.zip"))
    #expect(!FileManager.default.fileExists(atPath: stale.path))
    #expect(FileManager.default.fileExists(atPath: running.path))
  }

  @Test("a package in ZIP64 form, or with its entries stored, reads as the loose files do", arguments: [false, true])
  func storedAndZIP64(zip64: Bool) throws {
    let folder = try TemporaryFolder()
    let path = folder.path + "/data.zip"
    let package = StoredPackage(
      entries: [
        ("[Content_Types].xml", Array("<Types/>".utf8)), ("data.xml", try looseFile("data.xml")),
        ("data_schema.xml", try looseFile("data_schema.xml")),
      ], zip64: zip64)
    try Data(package.bytes).write(to: URL(fileURLWithPath: path))
    let loose = try readEvents(FixturePath.readers("cmt")).events.records
    #expect(try readEvents(path).events.records == loose)
  }

  @Test("a package without its schema is refused clearly")
  func packageWithoutSchema() throws {
    let folder = try TemporaryFolder()
    let path = folder.path + "/data.zip"
    try Data(StoredPackage(entries: [("data.xml", Array("<entities/>".utf8))]).bytes).write(
      to: URL(fileURLWithPath: path))
    #expect {
      _ = try readEvents(path)
    } throws: { error in
      let error = try #require(error as? InputError)
      return error.file == path && error.reason == "the package has no data_schema.xml"
    }
  }

  /// Damage done to the central directory entry of the fixture's deflated `data.xml`, and what the refusal says.
  static let damages: [(damage: String, says: String)] = [
    ("stream cut short", "data.xml ends before its deflate stream does"),
    ("another checksum", "data.xml fails its CRC-32"),
    ("stated smaller", "data.xml inflates to more than its stated size"),
    ("stated larger", "data.xml holds 2458 bytes, where the package states 2459"),
    ("stated beyond deflate", "data.xml is stated to inflate to more than its compressed bytes can hold"),
    ("bzip2", "data.xml is compressed with method 12"),
    ("encrypted", "data.xml is encrypted"),
    ("data beyond the file", "data.xml is stated to hold more bytes than the package has"),
    ("no directory", "not a readable ZIP package: no end of central directory"),
  ]

  @Test("a damaged package is refused, saying what is wrong, at once", arguments: damages.map(\.damage))
  func damaged(damage: String) throws {
    var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: FixturePath.readers("cmt-zip/data.zip"))))
    let entry = try directoryEntry("data.xml", in: bytes)
    func set32(_ at: Int, _ value: UInt32) {
      for byte in 0..<4 { bytes[at + byte] = UInt8(value >> (8 * byte) & 0xFF) }
    }
    func get32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
    switch damage {
    case "stream cut short": set32(entry + 20, get32(entry + 20) - 100)
    case "another checksum": set32(entry + 16, get32(entry + 16) ^ 1)
    case "stated smaller": set32(entry + 24, get32(entry + 24) - 1)
    case "stated larger": set32(entry + 24, get32(entry + 24) + 1)
    case "stated beyond deflate": set32(entry + 24, 0xFFFF_FFF0)
    case "bzip2": bytes[entry + 10] = 12
    case "encrypted": bytes[entry + 8] |= 1
    case "data beyond the file": set32(entry + 20, 0x7FFF_FFFF)
    default: bytes.removeLast(22)
    }
    let folder = try TemporaryFolder()
    let path = folder.path + "/data.zip"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let says = try #require(Self.damages.first { $0.damage == damage }?.says)
    #expect {
      _ = try readEvents(path)
    } throws: { error in
      let error = try #require(error as? InputError)
      return error.file == path && error.reason.hasPrefix(says)
    }
  }

  @Test("a package naming data.xml twice is refused: which one is the export is not for dynsync to guess")
  func nameTwice() throws {
    let folder = try TemporaryFolder()
    let path = folder.path + "/data.zip"
    let data = try looseFile("data.xml")
    let package = StoredPackage(
      entries: [("data.xml", data), ("data.xml", data), ("data_schema.xml", try looseFile("data_schema.xml"))])
    try Data(package.bytes).write(to: URL(fileURLWithPath: path))
    #expect {
      _ = try readEvents(path)
    } throws: { error in
      (error as? InputError)?.reason == "the package holds data.xml 2 times"
    }
  }
}
