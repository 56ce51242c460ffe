import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// `first` and `second` at once, on two cores where there are two: for two steps of different kinds that do not
/// depend on each other.
///
/// - Parameters:
///   - first: one step, run on the calling thread.
///   - second: the other, run on a thread of its own (`ThreadedValue`).
/// - Returns: both values.
public func concurrently<First, Second: Sendable>(
  _ first: () -> First, _ second: @escaping @Sendable () -> Second
) -> (First, Second) {
  let secondValue = ThreadedValue(second)
  let firstValue = first()
  return (firstValue, secondValue.value())
}

/// Work that can fail, done on a thread of its own (`ThreadedValue`) while the thread that started it goes on: for a
/// step whose outcome is needed only later, such as files written while the rest of a run is worked out.
public final class ThreadedWork<Value: Sendable, Failure: Error> {
  private let threaded: ThreadedValue<Result<Value, Failure>>

  public init(_ work: @escaping @Sendable () throws(Failure) -> Value) {
    threaded = ThreadedValue { Result { () throws(Failure) -> Value in try work() } }
  }

  /// Waits for the work to finish (once), then hands on its value or its error.
  public func value() throws(Failure) -> Value { try threaded.value().get() }
}

/// A value worked out on a thread of its own while the thread that asked for it goes on; `value()` waits for it.
///
/// A thread of its own rather than the global queue, so that work spread over the cores on either side
/// (`concurrentMap`) is spread as it would be alone: a `concurrentPerform` within another runs on one thread, and a
/// step queued on the global queue can wait for a thread while every one of them waits for it.
final class ThreadedValue<Value: Sendable> {
  private let result = ThreadResult<Value>()
  private var thread = pthread_t()
  private var running = false

  init(_ work: @escaping @Sendable () -> Value) {
    let result = result
    let body = ThreadBody { result.value = work() }
    if let thread = body.start(detached: false) {
      self.thread = thread
      running = true
    } else {
      // No thread to be had: the work done here and now.
      body.run()
    }
  }

  /// Waits for the thread to finish, once.
  private func join() {
    guard running else { return }
    // Joining the thread orders its write of the value before any read of it.
    pthread_join(thread, nil)
    running = false
  }

  /// The value, once the thread has finished.
  func value() -> Value {
    join()
    guard let value = result.value else { preconditionFailure("work done on a thread of its own left no value") }
    return value
  }

  // A value never asked for is still waited for: its work may read what the caller is about to let go.
  deinit { join() }
}

/// Starts `work` on a thread nobody waits for, and says whether there was one to be had.
///
/// For work that hands on what it does through what it shares with the caller, which its closure keeps alive, and
/// that the caller may give up on without waiting for it (see `ExportInputs`): a thread never joined would otherwise
/// be left behind, finished, until the process ends.
public func startDetachedThread(_ work: @escaping @Sendable () -> Void) -> Bool {
  ThreadBody(work).start(detached: true) != nil
}

/// What a thread of `ThreadedValue` (or `startDetachedThread`) runs.
private final class ThreadBody: Sendable {
  let run: @Sendable () -> Void

  init(_ run: @escaping @Sendable () -> Void) {
    self.run = run
  }

  /// Runs the body on a new thread, joinable or detached; `nil` when no thread could be made (nothing is run).
  func start(detached: Bool) -> pthread_t? {
    let context = Unmanaged.passRetained(self).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    if detached { pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED)) }
    var thread = pthread_t()
    let created = pthread_create(
      &thread, &attributes,
      { context in
        guard let context else { return nil }
        Unmanaged<ThreadBody>.fromOpaque(context).takeRetainedValue().run()
        return nil
      }, context)
    guard created == 0 else {
      Unmanaged<ThreadBody>.fromOpaque(context).release()
      return nil
    }
    return thread
  }
}

/// A thread's value, written by it before it is joined.
private final class ThreadResult<Value: Sendable>: @unchecked Sendable {
  var value: Value?
}

extension Collection {
  /// The elements in runs of `size` (the last one shorter), in order: work to spread over the cores with
  /// `concurrentMap`, each run enough that handing it to a core is nothing beside it.
  ///
  /// A run is a range of the collection itself, a dictionary's included, not a copy of its elements.
  ///
  /// - Parameter size: the elements of a run.
  /// - Returns: the runs, empty for an empty collection.
  public func runs(of size: Int) -> [SubSequence] {
    var runs: [SubSequence] = []
    var start = startIndex
    while start != endIndex {
      let end = index(start, offsetBy: Swift.max(size, 1), limitedBy: endIndex) ?? endIndex
      runs.append(self[start..<end])
      start = end
    }
    return runs
  }
}

/// A value freed on another thread, for one whose freeing is work the other core can do while this one goes on (the
/// rows of an export read in full, taken apart once laid over the state: a tenth of a second at a million records; the
/// company and owner fields a merge placed on its persons' rows).
public enum MemoryFreedAside {
  /// Frees `value` on a thread of its own, unless something else still holds it.
  public static func free<Value: Sendable>(_ value: consuming Value) {
    // The one reference left is the one the other thread lets go of: a reference held here as well would be let go of
    // after the other thread's whenever that thread is quicker, and the value freed here after all.
    let held = Unmanaged.passRetained(Held(value))
    DispatchQueue.global(qos: .utility).async { held.release() }
  }

  private final class Held<Content: Sendable>: Sendable {
    let content: Content
    init(_ content: consuming Content) { self.content = content }
  }
}
