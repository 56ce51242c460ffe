import DynSyncCore
import Foundation
import Testing

@Suite("Work on every core")
struct ConcurrentWorkTests {
  struct Failed: Error, Equatable {
    var item: Int
  }

  /// The items as they are started, in order.
  final class Starts: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []
    func record(_ item: Int) { lock.withLock { items.append(item) } }
    var recorded: [Int] { lock.withLock { items } }
  }

  @Test("Values come back in item order, the costliest started first")
  func order() throws {
    let items = Array(0..<40)
    let costs = items.map { ($0 * 7) % 40 }
    let cores = min(ProcessInfo.processInfo.activeProcessorCount, items.count)
    let costliest = Set(items.sorted { costs[$0] > costs[$1] }.prefix(cores))
    let starts = Starts()
    let values = concurrentMap(items, costs: costs) { item in
      starts.record(item)
      // The costliest take long, as their costs say: no core is free to take another item meanwhile, however
      // briefly a core was held up between taking an item and noting it.
      if costliest.contains(item) { Thread.sleep(forTimeInterval: 0.1) }
      return item * 2
    }
    #expect(values == items.map { $0 * 2 })
    #expect(concurrentMap(items) { $0 + 1 } == items.map { $0 + 1 })
    // Each core takes the next item only once it has finished the one before, so the first items started are the
    // costliest, one for each core.
    #expect(Set(starts.recorded.prefix(cores)) == costliest)
  }

  @Test("The first error in item order is the one thrown, whatever order the items ran in")
  func firstError() {
    let items = Array(0..<20)
    // The cheapest failing item (3) runs after the costlier one (12), but comes first in item order.
    let costs = items.map { $0 }
    #expect(throws: Failed(item: 3)) {
      _ = try concurrentMap(items, costs: costs) { (item: Int) throws(Failed) -> Int in
        if item == 3 || item == 12 { throw Failed(item: item) }
        return item
      }
    }
  }

  @Test("Two steps run at once give both their values, also from within work already spread over the cores")
  func twoSteps() {
    let (sum, text) = concurrently {
      (1...1_000).reduce(0, +)
    } _: {
      String(repeating: "ab", count: 3)
    }
    #expect(sum == 500_500)
    #expect(text == "ababab")
    let nested = concurrentMap(Array(0..<8)) { item in
      concurrently {
        item * 2
      } _: {
        item + 100
      }
    }
    #expect(nested.map(\.0) == (0..<8).map { $0 * 2 })
    #expect(nested.map(\.1) == (0..<8).map { $0 + 100 })
  }

  @Test("Work on a thread of its own gives its value or its error when asked, the same when asked again")
  func threadedWork() throws {
    let started = Starts()
    let work = ThreadedWork<Int, Failed> {
      started.record(1)
      return (1...1_000).reduce(0, +)
    }
    #expect(try work.value() == 500_500)
    #expect(try work.value() == 500_500)
    #expect(started.recorded == [1], "the work ran once")
    let failing = ThreadedWork<Int, Failed> { () throws(Failed) in throw Failed(item: 7) }
    #expect(throws: Failed(item: 7)) { try failing.value() }
  }

  @Test("Work cut into runs keeps every element once, in order, the last run shorter, slices by their own indices")
  func runs() {
    #expect(Array(0..<10).runs(of: 4).map(Array.init) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    #expect((0..<10).runs(of: 5) == [0..<5, 5..<10])
    #expect([Int]().runs(of: 3).isEmpty)
    let slice = Array(0..<10)[3..<8]
    #expect(slice.runs(of: 2).map(Array.init) == [[3, 4], [5, 6], [7]])
  }
}

@Suite("Arrays appended by moving")
struct ArrayMovesTests {
  /// A class instance, so that a copy left behind would show as a second reference.
  final class Item {
    let number: Int
    init(_ number: Int) { self.number = number }
  }

  @Test(
    "appending moves every element, in order, and leaves the other array empty holding none of them",
    arguments: [(0, 5), (3, 5), (0, 0), (4, 0)])
  func movesInOrder(held: Int, added: Int) {
    var array = (0..<held).map(Item.init)
    var other = (held..<held + added).map(Item.init)
    let moved = other.map { ObjectIdentifier($0) }
    // Room beyond what `other` holds, so that an empty array is filled by moving rather than by taking `other` whole.
    if held == 0 { array.reserveCapacity(added + 8) }
    array.append(movingContentsOf: &other)
    #expect(other.isEmpty)
    #expect(array.map(\.number) == Array(0..<held + added))
    #expect(array.suffix(added).map { ObjectIdentifier($0) } == moved)
    // The array alone holds each element: nothing was copied into `other` or left there.
    for index in array.indices { #expect(isKnownUniquelyReferenced(&array[index])) }
  }

  @Test("an empty array with no more room than the other's elements takes them whole")
  func takesWhole() {
    var array: [Item] = []
    var other = (0..<4).map(Item.init)
    array.append(movingContentsOf: &other)
    #expect(other.isEmpty)
    #expect(array.map(\.number) == [0, 1, 2, 3])
  }
}
