import DynSyncCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A file of a batch being written; complete once `finish()` returns.
public final class LinesFile {
  public let relativePath: String
  private let file: OutputFile
  private unowned let writer: BatchWriter

  fileprivate init(relativePath: String, file: OutputFile, writer: BatchWriter) {
    self.relativePath = relativePath
    self.file = file
    self.writer = writer
  }

  public func write(_ text: String) throws(OutputError) { try file.write(text) }

  /// Writes lines made as bytes (`LineBlock`).
  public func write(lines bytes: UnsafeRawBufferPointer) throws(OutputError) { try file.write(lines: bytes) }

  /// Syncs and closes the file.
  /// - Returns: the file's entry for the manifest (path, SHA-256, line count).
  public func finish() throws(OutputError) -> Manifest.Artifact {
    let digest = try file.close(syncingOn: writer.syncs)
    try writer.finished(file.path)
    return Manifest.Artifact(path: relativePath, sha256: digest, lines: file.lines)
  }
}

/// Makes a batch folder appear complete or not at all.
///
/// Files are written into a hidden staging folder beside the target (`.NAME.partial-…`), synced
/// to disk, and the folder is renamed into place last. A crash or error at any point before that
/// leaves no folder at the target; stale staging folders are swept by the next writer.
///
/// Files may be written from another thread (a run writes its change sets while it builds the rest); the count of
/// files written and the commit are kept under a lock. The order files are finished in, which a fault plan counts,
/// is the caller's to keep.
public final class BatchWriter: @unchecked Sendable {
  public let target: String
  let staging: String
  private let faults: FaultPlan
  /// The files written and not yet synced to disk: all of them are before the batch is committed.
  fileprivate let syncs = FileSyncs()
  private let lock = NSLock()
  private var filesWritten = 0
  private var committed = false

  /// - Parameters:
  ///   - target: the batch folder to create; missing parent folders are created.
  ///   - replacing: replace an existing batch at `target` (atomically, once the new one is complete).
  ///   - faults: deliberate failures, for tests.
  /// - Throws: `OutputError` when the folders cannot be made, or `target` exists and is not replaced.
  public init(target: String, replacing: Bool = false, faults: FaultPlan = FaultPlan()) throws(OutputError) {
    let target = (target as NSString).standardizingPath
    self.target = target
    self.faults = faults
    let parent = target.parentFolder
    let name = (target as NSString).lastPathComponent
    do {
      try FileManager.default.createDirectory(atPath: parent.isEmpty ? "." : parent, withIntermediateDirectories: true)
    } catch {
      throw BatchWriter.folderFailure(parent, error)
    }
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: target, isDirectory: &isFolder) {
      guard replacing else {
        throw OutputError(path: target, reason: "already exists; choose another folder or pass --force to replace it")
      }
      try BatchWriter.requireBatch(at: target, isFolder: isFolder.boolValue)
    }
    BatchWriter.sweepStaleStaging(in: parent.isEmpty ? "." : parent, name: name)
    staging = (parent as NSString).appendingPathComponent(".\(name).partial-\(UUID().uuidString.lowercased())")
    do {
      try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
    } catch {
      throw OutputError(path: staging, reason: "cannot create the staging folder: \(error.localizedDescription)")
    }
  }

  deinit {
    if !lock.withLock({ committed }) { try? FileManager.default.removeItem(atPath: staging) }
  }

  /// Why the folder `path` could not be made: the part of it that is a file, when one is (Foundation
  /// names only an error number).
  private static func folderFailure(_ path: String, _ error: any Error) -> OutputError {
    var part = path
    while !part.isEmpty, part != "/", part != "." {
      var isFolder: ObjCBool = false
      if FileManager.default.fileExists(atPath: part, isDirectory: &isFolder) {
        if !isFolder.boolValue { return OutputError(path: part, reason: "is a file, not a folder") }
        break
      }
      part = part.parentFolder
    }
    return OutputError(path: path, reason: "cannot create the folder: \(error.localizedDescription)")
  }

  /// Refuses to replace anything but a batch dynsync wrote, or an empty folder: replacing is for
  /// writing a batch again, and must never take a folder of other files with it.
  private static func requireBatch(at target: String, isFolder: Bool) throws(OutputError) {
    guard isFolder else {
      throw OutputError(path: target, reason: "is a file, not a batch folder; only a batch of dynsync's is replaced")
    }
    let entries: [String]
    do {
      entries = try FileManager.default.contentsOfDirectory(atPath: target)
    } catch {
      throw OutputError(path: target, reason: "cannot be listed, so it is not replaced: \(error.localizedDescription)")
    }
    if entries.isEmpty { return }
    guard let data = FileManager.default.contents(atPath: target + "/manifest.json"),
      let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let tool = manifest["tool"] as? [String: Any], tool["name"] as? String == "dynsync"
    else {
      throw OutputError(
        path: target,
        reason:
          "holds files but is not a batch of dynsync's (no manifest.json naming dynsync); only a batch is replaced, never another folder: choose another folder"
      )
    }
  }

  /// Writes a whole file of the batch.
  @discardableResult
  public func write(_ relativePath: String, _ text: String) throws(OutputError) -> Manifest.Artifact {
    try writeLines(relativePath) { emit throws(OutputError) in try emit(text) }
  }

  /// Writes a whole file of the batch that is not text (its entry counts no lines).
  @discardableResult
  public func write(_ relativePath: String, bytes: [UInt8]) throws(OutputError) -> Manifest.Artifact {
    let file = try OutputFile(path: try stagedPath(relativePath))
    try file.write(bytes: bytes)
    let digest = try file.close(syncingOn: syncs)
    try finished(file.path)
    return Manifest.Artifact(path: relativePath, sha256: digest, lines: 0)
  }

  /// Streams a file of the batch: `body` hands on text pieces as they are made.
  /// - Returns: the file's entry for the manifest (path, SHA-256, line count).
  @discardableResult
  public func writeLines(
    _ relativePath: String, _ body: (_ emit: (String) throws(OutputError) -> Void) throws(OutputError) -> Void
  ) throws(OutputError) -> Manifest.Artifact {
    let file = try openFile(relativePath)
    try body { text throws(OutputError) in try file.write(text) }
    return try file.finish()
  }

  /// Opens a file of the batch to be written piece by piece, over as many steps as it takes.
  public func openFile(_ relativePath: String) throws(OutputError) -> LinesFile {
    LinesFile(relativePath: relativePath, file: try OutputFile(path: try stagedPath(relativePath)), writer: self)
  }

  /// Puts a file of an earlier batch into this one unchanged: a hard link, so that no byte is copied (batches are
  /// never changed once written), or a copy where the file system cannot link.
  ///
  /// - Parameters:
  ///   - relativePath: where the file goes in this batch.
  ///   - source: the earlier batch's file.
  ///   - artifact: the file's entry in the earlier batch's manifest.
  /// - Returns: the file's entry for this batch's manifest: the earlier one at the new path.
  /// - Throws: `OutputError` when the file can be neither linked nor copied.
  public func link(_ relativePath: String, from source: String, as artifact: Manifest.Artifact) throws(OutputError)
    -> Manifest.Artifact
  {
    let staged = try stagedPath(relativePath)
    if !hardLink(source, staged) {
      do {
        try FileManager.default.copyItem(atPath: source, toPath: staged)
      } catch {
        throw OutputError(path: source, reason: "cannot link or copy it into the batch: \(error.localizedDescription)")
      }
      let descriptor = open(staged, O_RDONLY)
      guard descriptor >= 0, fsync(descriptor) == 0 else {
        if descriptor >= 0 { close(descriptor) }
        throw .system(staged, "syncing the copy")
      }
      close(descriptor)
    }
    try finished(staged)
    return Manifest.Artifact(path: relativePath, sha256: artifact.sha256, lines: artifact.lines)
  }

  /// Counts a finished file (for deliberate failures, in tests).
  fileprivate func finished(_ path: String) throws(OutputError) {
    let count = lock.withLock {
      filesWritten += 1
      return filesWritten
    }
    try faults.check(afterFiles: count, path: path)
  }

  /// Renames the staged folder into place; after this, the batch is complete on disk.
  public func commit() throws(OutputError) {
    try syncs.wait()
    try faults.check(beforeCommit: target)
    syncFolders(in: staging)
    let parent = target.parentFolder
    var displaced: String?
    if FileManager.default.fileExists(atPath: target) {
      let old = (parent as NSString).appendingPathComponent(
        ".\((target as NSString).lastPathComponent).replaced-\(UUID().uuidString.lowercased())")
      guard rename(target, old) == 0 else { throw .system(target, "moving the previous batch aside") }
      displaced = old
    }
    guard rename(staging, target) == 0 else {
      if let displaced { _ = rename(displaced, target) }
      throw .system(target, "renaming the batch into place")
    }
    lock.withLock { committed = true }
    syncDirectory(parent.isEmpty ? "." : parent)
    if let displaced { try? FileManager.default.removeItem(atPath: displaced) }
  }

  /// A path inside the staging folder; refuses anything that would leave it.
  func stagedPath(_ relativePath: String) throws(OutputError) -> String {
    let components = relativePath.split(separator: "/", omittingEmptySubsequences: false)
    guard !relativePath.hasPrefix("/"),
      components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
    else { throw OutputError(path: relativePath, reason: "refused: the path would leave the batch folder") }
    let path = (staging as NSString).appendingPathComponent(relativePath)
    let folder = path.parentFolder
    do {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    } catch {
      throw BatchWriter.folderFailure(folder, error)
    }
    return path
  }

  /// A file name for a table or other name that came from input: kept when it is a plain
  /// logical name, percent-encoded otherwise, so that no input can name a path.
  public static func safeFileName(_ name: String) -> String {
    let plain = name.unicodeScalars.allSatisfy {
      ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
    }
    if plain && !name.isEmpty { return name }
    var encoded = ""
    for byte in name.utf8 {
      let scalar = Unicode.Scalar(byte)
      if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || byte == UInt8(ascii: "_") {
        encoded.unicodeScalars.append(scalar)
      } else {
        let hex = String(byte, radix: 16, uppercase: true)
        encoded += "%" + (hex.count == 1 ? "0" + hex : hex)
      }
    }
    return encoded.isEmpty ? "%00" : encoded
  }

  /// Syncs every folder of the staged batch, the deepest first, then the staging folder itself: the names of its
  /// files are on disk before the batch is renamed into place.
  private func syncFolders(in root: String) {
    var folders: [String] = []
    if let enumerator = FileManager.default.enumerator(atPath: root) {
      while let relative = enumerator.nextObject() as? String {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isFolder), isFolder.boolValue {
          folders.append(root + "/" + relative)
        }
      }
    }
    for folder in folders.sorted(by: { $0.count > $1.count }) { syncDirectory(folder) }
    syncDirectory(root)
  }

  private func syncDirectory(_ path: String) {
    let descriptor = open(path, O_RDONLY | O_DIRECTORY)
    guard descriptor >= 0 else { return }
    _ = fsync(descriptor)
    close(descriptor)
  }

  private static func sweepStaleStaging(in parent: String, name: String) {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
    for entry in entries where entry.hasPrefix(".\(name).partial-") || entry.hasPrefix(".\(name).replaced-") {
      try? FileManager.default.removeItem(atPath: (parent as NSString).appendingPathComponent(entry))
    }
  }
}

/// Makes `target` a second name of the file at `source`.
private func hardLink(_ source: String, _ target: String) -> Bool {
  #if canImport(Glibc)
  Glibc.link(source, target) == 0
  #else
  Darwin.link(source, target) == 0
  #endif
}

/// Deliberate failures for testing that a batch is never half-written: fail (throw) or crash
/// (exit at once, as a kill would) after a number of files, or just before the commit.
public struct FaultPlan: Sendable {
  public enum Action: String, Sendable {
    case fail
    case crash
  }

  public var afterFiles: Int?
  public var afterRecords: Int?
  public var beforeCommit = false
  public var action: Action = .fail

  public init(afterFiles: Int? = nil, afterRecords: Int? = nil, beforeCommit: Bool = false, action: Action = .fail) {
    self.afterFiles = afterFiles
    self.afterRecords = afterRecords
    self.beforeCommit = beforeCommit
    self.action = action
  }

  /// `DYNSYNC_FAULT=ACTION-after-files:N`, `ACTION-after-records:N` or `ACTION-before-commit`,
  /// where ACTION is `fail` (an error) or `crash` (the process ends at once, as under kill -9).
  public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
    -> FaultPlan
  {
    guard let spec = environment["DYNSYNC_FAULT"] else { return FaultPlan() }
    let parts = spec.split(separator: ":")
    let action: Action = spec.hasPrefix("crash") ? .crash : .fail
    if parts.first?.hasSuffix("after-files") == true, parts.count == 2, let count = Int(parts[1]) {
      return FaultPlan(afterFiles: count, action: action)
    }
    if parts.first?.hasSuffix("after-records") == true, parts.count == 2, let count = Int(parts[1]) {
      return FaultPlan(afterRecords: count, action: action)
    }
    if spec.hasSuffix("before-commit") { return FaultPlan(beforeCommit: true, action: action) }
    return FaultPlan()
  }

  func check(afterFiles count: Int, path: String) throws(OutputError) {
    guard let afterFiles, count >= afterFiles else { return }
    try trigger(path, "after \(count) files")
  }

  public func check(afterRecords count: Int) throws(OutputError) {
    guard let afterRecords, count >= afterRecords else { return }
    try trigger("records", "after \(count) records")
  }

  func check(beforeCommit path: String) throws(OutputError) {
    guard beforeCommit else { return }
    try trigger(path, "before the commit")
  }

  private func trigger(_ path: String, _ when: String) throws(OutputError) {
    switch action {
    case .fail: throw OutputError(path: path, reason: "injected failure \(when) (DYNSYNC_FAULT)")
    case .crash: _exit(137)
    }
  }
}
