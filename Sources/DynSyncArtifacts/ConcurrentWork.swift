import Foundation

/// `transform` of every item, run on as many threads as the processor has cores; the first
/// error (in item order) is thrown.
///
/// - Parameters:
///   - items: what to transform.
///   - costs: how long each item takes, roughly (a file's size), in item order; the costliest are started first, so
///     that a large item started last does not leave the other cores idle while it finishes. `nil` starts them in
///     order.
///   - transform: the work on one item.
/// - Returns: the values, in item order.
/// - Throws: the first error, in item order.
public func concurrentMap<Item: Sendable, Value: Sendable, Failure: Error>(
  _ items: [Item], costs: [Int]? = nil, _ transform: @Sendable (Item) throws(Failure) -> Value
) throws(Failure) -> [Value] {
  let order = costs.map { costs in items.indices.sorted { costs[$0] > costs[$1] } }
  let results = ConcurrentResults<Value, Failure>(count: items.count, order: order)
  DispatchQueue.concurrentPerform(iterations: min(ProcessInfo.processInfo.activeProcessorCount, max(items.count, 1))) {
    _ in
    while let next = results.claim() {
      results.store(Result { () throws(Failure) -> Value in try transform(items[next]) }, at: next)
    }
  }
  return try results.values()
}

private final class ConcurrentResults<Value: Sendable, Failure: Error>: @unchecked Sendable {
  private let lock = NSLock()
  private var next = 0
  /// The items in the order they are claimed; `nil` for item order.
  private let order: [Int]?
  private var results: [Result<Value, Failure>?]

  init(count: Int, order: [Int]? = nil) {
    results = Array(repeating: nil, count: count)
    self.order = order
  }

  func claim() -> Int? {
    lock.withLock {
      guard next < results.count else { return nil }
      defer { next += 1 }
      return order?[next] ?? next
    }
  }

  func store(_ result: Result<Value, Failure>, at position: Int) {
    lock.withLock { results[position] = result }
  }

  /// The results in item order; every item has one once `concurrentPerform` has returned.
  func values() throws(Failure) -> [Value] {
    let all = lock.withLock { results }
    var values: [Value] = []
    values.reserveCapacity(all.count)
    for result in all {
      guard let result else { preconditionFailure("an item was claimed and never finished") }
      values.append(try result.get())
    }
    return values
  }
}

/// The line of every item, in item order, made a window of blocks at a time on every core and handed to `body` a
/// block at a time: no more than a window's lines are held at once.
///
/// - Parameters:
///   - items: what to make lines of.
///   - line: the line (or lines, or nothing) of one item.
///   - body: takes each block's lines, in order.
/// - Throws: what `body` throws.
public func forEachBlockOfLines<Item: Sendable, Failure: Error>(
  of items: [Item], _ line: @Sendable (Item) -> String, _ body: ([String]) throws(Failure) -> Void
) throws(Failure) {
  let blockSize = 1_000
  let blocks = stride(from: 0, to: items.count, by: blockSize).map { $0..<min($0 + blockSize, items.count) }
  for window in stride(from: 0, to: blocks.count, by: 16) {
    let lines = concurrentMap(Array(blocks[window..<min(window + 16, blocks.count)])) { block in
      items[block].map(line)
    }
    for block in lines { try body(block) }
  }
}

extension LinesFile {
  /// Writes a line (or lines) for each item, in order; the text is made a window of blocks at a
  /// time on every core.
  public func write<Item: Sendable>(linesOf items: [Item], _ line: @Sendable (Item) -> String) throws(OutputError) {
    try forEachBlockOfLines(of: items, line) { (lines: [String]) throws(OutputError) in try write(lines.joined()) }
  }
}
