import Foundation

/// Large values a run no longer needs, kept until the process ends instead of freed as the run returns.
///
/// A sync of a million records holds gigabytes in millions of small allocations: freeing them one by one takes
/// seconds (a sixth of the run), where the operating system takes back a process's memory at once when it ends. The
/// command-line tool, which ends right after its one run, asks for this; a program that runs job after job (the test
/// suite) does not, and its runs free what they held as they return.
public enum MemoryLeftToExit {
  private static let kept = KeptValues()

  /// From now on, what runs hand over is kept until the process ends.
  public static func enable() { kept.enable() }

  /// Keeps the values when enabled; otherwise they are freed as usual once no longer used.
  static func keep(_ values: Any...) { kept.add(values) }
}

private final class KeptValues: @unchecked Sendable {
  private let lock = NSLock()
  private var enabled = false
  // Only appended to, under the lock, and never read: its one use is to keep its elements alive.
  private var values: [Any] = []

  func enable() { lock.withLock { enabled = true } }

  func add(_ more: [Any]) {
    lock.withLock {
      guard enabled else { return }
      values.append(more)
    }
  }
}
