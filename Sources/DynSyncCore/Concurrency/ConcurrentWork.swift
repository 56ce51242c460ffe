import Dispatch

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
  // An iteration per item, each taking the next item to claim: the queue runs as many at once as there are cores.
  DispatchQueue.concurrentPerform(iterations: items.count) { _ in
    guard let next = results.claim() else { return }
    results.store(Result { () throws(Failure) -> Value in try transform(items[next]) }, at: next)
  }
  return try results.values()
}

private final class ConcurrentResults<Value: Sendable, Failure: Error>: @unchecked Sendable {
  private let lock = DispatchSemaphore(value: 1)
  private var next = 0
  /// The items in the order they are claimed; `nil` for item order.
  private let order: [Int]?
  private var results: [Result<Value, Failure>?]

  private func locked<Outcome>(_ body: () throws -> Outcome) rethrows -> Outcome {
    lock.wait()
    defer { lock.signal() }
    return try body()
  }

  init(count: Int, order: [Int]? = nil) {
    results = Array(repeating: nil, count: count)
    self.order = order
  }

  func claim() -> Int? {
    locked {
      guard next < results.count else { return nil }
      defer { next += 1 }
      return order?[next] ?? next
    }
  }

  func store(_ result: Result<Value, Failure>, at position: Int) {
    locked { results[position] = result }
  }

  /// The results in item order; every item has one once `concurrentPerform` has returned.
  func values() throws(Failure) -> [Value] {
    let all = locked { results }
    var values: [Value] = []
    values.reserveCapacity(all.count)
    for result in all {
      guard let result else { preconditionFailure("an item was claimed and never finished") }
      values.append(try result.get())
    }
    return values
  }
}
