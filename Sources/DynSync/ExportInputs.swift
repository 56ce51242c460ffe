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
/// (`listed()`) digests what is left at the normal priority, a block at a time, so that a machine busy with other
/// work, which leaves the idle thread no time, does not hold the run back. The list is asked for from one thread.
public final class ExportInputs: @unchecked Sendable {
  /// The files, with the digests known when they were indexed.
  private let listedNow: [Manifest.Input]
  /// The digests left for later and the thread that works them out; `nil` when none is left.
  private let steps: DigestSteps?
  private let thread: ThreadedWork<Void, Never>?

  /// Files whose digests are all known.
  init(_ inputs: [Manifest.Input]) {
    steps = nil
    thread = nil
    listedNow = inputs
  }

  /// Files of which those at `later`'s places (with what `stat` said of each before it was indexed) are still to be
  /// digested; their digests are worked out from now on.
  init(_ inputs: [Manifest.Input], later: [(place: Int, identity: FileIdentity)]) {
    listedNow = inputs
    guard !later.isEmpty else {
      steps = nil
      thread = nil
      return
    }
    let steps = DigestSteps(inputs: inputs, later: later)
    self.steps = steps
    thread = ThreadedWork { () throws(Never) in
      ExportInputs.runOnIdleCores()
      while steps.step() {}
    }
  }

  /// The files, every digest known; waits for those being worked out, working them out here meanwhile.
  ///
  /// - Throws: `InputError` for a file that changed after it was indexed, or that could not be read again.
  public func listed() throws -> [Manifest.Input] {
    guard let steps else { return listedNow }
    while steps.step() {}
    thread?.value()
    return try steps.inputs()
  }

  // A list never asked for (an export then read in full instead) stops its thread at the block it is on.
  deinit {
    steps?.stop()
    thread?.value()
  }

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

/// The digests left for later, worked out a block at a time by whichever thread takes the next step.
private final class DigestSteps: @unchecked Sendable {
  private let lock = NSLock()
  private var listed: [Manifest.Input]
  private let later: [(place: Int, identity: FileIdentity)]
  private var next = 0
  private var open: (descriptor: Int32, digest: FileDigest.Streaming)?
  private var failure: InputError?
  private var stopped = false
  /// A block at a time: a step holds the lock no longer than a block's read and digest take.
  private let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)

  init(inputs: [Manifest.Input], later: [(place: Int, identity: FileIdentity)]) {
    listed = inputs
    self.later = later
  }

  deinit {
    if let open { _ = Glibc.close(open.descriptor) }
    block.deallocate()
  }

  /// Digests the next block of the files left; `false` once every file is digested, one has failed, or `stop()`.
  func step() -> Bool {
    lock.withLock {
      guard failure == nil, !stopped, next < later.count else { return false }
      do throws(InputError) {
        try digestNextBlock()
        return next < later.count
      } catch {
        failure = error
        return false
      }
    }
  }

  /// Stops the steps at the block they are on.
  func stop() {
    lock.withLock { stopped = true }
  }

  /// The files with their digests, once the steps are done.
  func inputs() throws(InputError) -> [Manifest.Input] {
    lock.lock()
    defer { lock.unlock() }
    if let failure { throw failure }
    return listed
  }

  private func digestNextBlock() throws(InputError) {
    let (place, identity) = later[next]
    let path = listed[place].file.path
    let changed = InputError(
      file: path, reason: "changed after it was read; run again once it is written whole (nothing was written)")
    if open == nil {
      let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
      guard descriptor >= 0 else { throw InputError(file: path, reason: "cannot open to compute its SHA-256") }
      guard FileIdentity(descriptor: descriptor) == identity else {
        _ = Glibc.close(descriptor)
        throw changed
      }
      open = (descriptor, FileDigest.Streaming())
    }
    guard let descriptor = open?.descriptor, var digest = open?.digest else { return }
    let count = Glibc.read(descriptor, block.baseAddress, block.count)
    if count < 0 {
      if errno == EINTR { return }
      _ = Glibc.close(descriptor)
      open = nil
      throw InputError(file: path, reason: "cannot read to compute its SHA-256")
    }
    if count > 0 {
      digest.update(UnsafeRawBufferPointer(rebasing: block[0..<count]))
      open = (descriptor, digest)
      return
    }
    // The end: the file read is the one indexed only if nothing changed it meanwhile.
    let unchanged = FileIdentity(descriptor: descriptor) == identity
    _ = Glibc.close(descriptor)
    open = nil
    guard unchanged else { throw changed }
    listed[place].sha256 = digest.hex()
    next += 1
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
