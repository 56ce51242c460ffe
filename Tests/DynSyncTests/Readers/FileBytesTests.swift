import DynSyncCore
import Foundation
import Testing

@testable import DynSyncReaders

@Suite("Reading a file's bytes where they lie")
struct FileBytesTests {
  @Test("each item read in spans is its own bytes: close together, far apart, out of order, longer than a span")
  func readEach() throws {
    let folder = try TemporaryFolder()
    var generator = SeededGenerator(seed: 7)
    let text = String(
      (0..<300_000).map { _ in Character(UnicodeScalar(UInt8.random(in: 97...122, using: &generator))) })
    let path = try folder.write("bytes.txt", text)
    let bytes = Array(text.utf8)
    let items: [(offset: Int, length: Int)] = [
      (0, 10), (12, 30), (42, 0), (5_000, 100), (5_100, 70_000), (200_000, 3), (100, 50), (199_990, 20),
      (299_990, 10),
    ]
    var seen: [[UInt8]] = []
    try FileBytes(path: path).readEach(items, place: \.self) { read, _ in seen.append(Array(read)) }
    #expect(seen == items.map { Array(bytes[$0.offset..<$0.offset + $0.length]) })
    #expect(throws: InputError.self) {
      try FileBytes(path: path).readEach([(299_990, 11)], place: \.self) { _, _ in }
    }
  }
}
