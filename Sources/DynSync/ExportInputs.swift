import DynSyncArtifacts
import DynSyncCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An export's files as the manifest lists them, the SHA-256 of some worked out after the index pass, while the run
/// goes on, on a thread that runs only where a core would otherwise be idle.
///
/// Digesting each file as it is indexed kept both cores on the SHA-256 for a quarter of the pass (about 0.45 s of CPU
/// for an export of 810 MB), while the rest of a sync leaves a core idle about as long, in stretches of its steps'
/// serial parts. A file left for later is read again for its digest, so it must be the file that was indexed: what
/// `stat` said of it before it was indexed (`FileIdentity`) is compared when it is opened again and once it is read,
/// and a file changed in between fails the run before its batch is committed. Whoever asks for the list
/// (`listed()`) stops the idle thread and digests every file it has not finished, the one it is on included, at the
/// normal priority, without waiting for it: on a machine busy with other work the idle thread gets next to no time,
/// and a run that waited for it (or for a lock it held) would wait as long. The list is asked for from one thread.
public final class ExportInputs: @unchecked Sendable {
  /// The files, with the digests known when they were indexed.
  private let listedNow: [Manifest.Input]
  /// The digests left for later, worked out on a thread of their own from the start; `nil` when none is left.
  private let steps: DigestSteps?

  /// Files whose digests are all known.
  init(_ inputs: [Manifest.Input]) {
    steps = nil
    listedNow = inputs
  }

  /// Files of which those at `later`'s places (with what `stat` said of each before it was indexed) are still to be
  /// digested; their digests are worked out from now on.
  init(_ inputs: [Manifest.Input], later: [(place: Int, identity: FileIdentity)]) {
    listedNow = inputs
    guard !later.isEmpty else {
      steps = nil
      return
    }
    let steps = DigestSteps(inputs: inputs, later: later)
    self.steps = steps
    // Nobody waits for the thread: the list takes over what it has not finished (no thread to be had, all of it).
    _ = startDetachedThread {
      ExportInputs.runOnIdleCores()
      steps.digestUntilStopped()
    }
  }

  /// The files, every digest known: those the idle thread has not finished are worked out here, without waiting for
  /// it.
  ///
  /// - Throws: `InputError` for a file that changed after it was indexed, or that could not be read again.
  public func listed() throws -> [Manifest.Input] {
    guard let steps else { return listedNow }
    return try steps.finishedHere()
  }

  // A list let go unasked (an export then read in full instead) stops its thread at the block it is on.
  deinit { steps?.stop() }

  /// Lowers the calling thread to Linux's `SCHED_IDLE`: it then runs only where a core would otherwise be idle.
  ///
  /// The thread starts no other (no libdispatch work): threads started from it would inherit the policy, and a thread
  /// without privilege cannot take the normal one back. Should the call fail, the work runs as any other.
  private static func runOnIdleCores() {
    #if os(Linux)
    var parameters = sched_param()
    // SCHED_IDLE, which the Glibc module leaves out.
    _ = pthread_setschedparam(pthread_self(), 5, &parameters)
    #endif
  }
}

/// The digests left for later: the idle thread takes the files one at a time, working on each without the lock;
/// `finishedHere()` stops it and digests on the calling thread whatever it has not finished.
private final class DigestSteps: @unchecked Sendable {
  private let lock = NSLock()
  private var listed: [Manifest.Input]
  private let later: [(place: Int, identity: FileIdentity)]
  /// The path of each of `later`, apart from `listed`: the idle thread reads it without the lock while `listed` is
  /// written under it.
  private let paths: [String]
  /// The first file the idle thread has not taken.
  private var next = 0
  private var digested: [Bool]
  private var failure: InputError?
  private var stopped = false

  init(inputs: [Manifest.Input], later: [(place: Int, identity: FileIdentity)]) {
    listed = inputs
    self.later = later
    paths = later.map { inputs[$0.place].file.path }
    digested = Array(repeating: false, count: later.count)
  }

  /// The idle thread's work: a file at a time, until every file is digested, one fails, or `stop()`.
  func digestUntilStopped() {
    while let file = takeNext() {
      do throws(InputError) {
        guard let digest = try digest(file, until: { self.isStopped }) else { return }
        lock.withLock {
          // Once stopped, the files are the caller's: it digests this one too.
          guard !stopped else { return }
          listed[later[file].place].sha256 = digest
          digested[file] = true
        }
      } catch {
        lock.withLock { if !stopped, failure == nil { failure = error } }
        return
      }
    }
  }

  /// Stops the idle thread at the block it is on.
  func stop() {
    lock.withLock { stopped = true }
  }

  /// Stops the idle thread, digests here every file it has not finished, and hands on the files.
  func finishedHere() throws(InputError) -> [Manifest.Input] {
    let (left, failed) = lock.withLock { () -> ([Int], InputError?) in
      stopped = true
      return (later.indices.filter { !digested[$0] }, failure)
    }
    if let failed { throw failed }
    var digests: [(file: Int, digest: String)] = []
    for file in left {
      guard let digest = try digest(file, until: { false }) else { continue }
      digests.append((file, digest))
    }
    return lock.withLock {
      for (file, digest) in digests { listed[later[file].place].sha256 = digest }
      return listed
    }
  }

  private var isStopped: Bool { lock.withLock { stopped } }

  private func takeNext() -> Int? {
    lock.withLock {
      guard !stopped, failure == nil, next < later.count else { return nil }
      defer { next += 1 }
      return next
    }
  }

  /// The SHA-256 of one file, which must be the file indexed; `nil` once `stop` says so, between two blocks.
  private func digest(_ file: Int, until stop: () -> Bool) throws(InputError) -> String? {
    let identity = later[file].identity
    let path = paths[file]
    let changed = InputError(
      file: path, reason: "changed after it was read; run again once it is written whole (nothing was written)")
    let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw InputError(file: path, reason: "cannot open to compute its SHA-256") }
    defer { _ = Glibc.close(descriptor) }
    guard FileIdentity(descriptor: descriptor) == identity else { throw changed }
    guard let digest = try FileDigest.sha256(ofDescriptor: descriptor, path: path, until: stop) else { return nil }
    // The file read is the one indexed only if nothing changed it meanwhile.
    guard FileIdentity(descriptor: descriptor) == identity else { throw changed }
    return digest
  }
}

/// What `stat` says of a file that shows it changed: which file it is, its size, and when its bytes and its inode
/// last changed.
struct FileIdentity: Sendable, Equatable {
  private var device: UInt64
  private var inode: UInt64
  private var size: Int64
  private var modified: Int64
  private var changed: Int64

  init?(path: String) {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    self.init(info)
  }

  init?(descriptor: Int32) {
    var info = stat()
    guard fstat(descriptor, &info) == 0 else { return nil }
    self.init(info)
  }

  private init(_ info: stat) {
    device = UInt64(info.st_dev)
    inode = UInt64(info.st_ino)
    size = Int64(info.st_size)
    modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
  }

  /// Whether the file has not changed for `age` by the system's clock.
  ///
  /// A file's times move in the file system's clock ticks (milliseconds apart): a file changed within the tick it was
  /// looked at could change again without its times showing it, so only a file older than that may be read again.
  func isUnchanged(for age: Duration) -> Bool {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    let nanoseconds = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    let (seconds, attoseconds) = age.components
    return nanoseconds - max(modified, changed) >= seconds * 1_000_000_000 + attoseconds / 1_000_000_000
  }
}
