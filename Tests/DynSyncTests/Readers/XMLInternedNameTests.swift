import Testing

@testable import DynSyncReaders

@Suite("Names looked for among a parse's names")
struct XMLInternedNameTests {
  @Test("a name matches by its bytes whatever its pointer, and another name never matches")
  func matchesByBytes() {
    let first = Array("name\0".utf8)
    let second = Array("name\0".utf8)
    let other = Array("value\0".utf8)
    let prefix = Array("nam\0".utf8)
    var name = XMLInternedName("name")
    var outcomes: [Bool] = []
    first.withUnsafeBufferPointer { first in
      second.withUnsafeBufferPointer { second in
        other.withUnsafeBufferPointer { other in
          prefix.withUnsafeBufferPointer { prefix in
            outcomes = [
              name.matches(other.baseAddress!),
              name.matches(first.baseAddress!),
              // The pointer kept, then the same bytes at another pointer.
              name.matches(first.baseAddress!),
              name.matches(second.baseAddress!),
              name.matches(prefix.baseAddress!),
              name.matches(other.baseAddress!),
              // As a start tag's name is handed on: a name's start is not the name.
              name.matches(UnsafeBufferPointer(rebasing: first[0..<4])),
              name.matches(UnsafeBufferPointer(rebasing: first[0..<3])),
              name.matches(UnsafeBufferPointer(rebasing: other[0..<5])),
            ]
          }
        }
      }
    }
    #expect(outcomes == [false, true, true, true, false, false, true, false, false])
  }
}
