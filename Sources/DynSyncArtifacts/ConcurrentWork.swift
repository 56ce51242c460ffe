import DynSyncCore
import Foundation

/// The lines of a run of items, made into one buffer: their bytes, and where each item's lines end in them.
public struct LineBlock: Sendable {
  /// The bytes as they were made, not copied into an array: that copied every byte a batch writes once more, into
  /// fresh memory.
  private let made: MadeBytes
  /// Where the lines of each item of the run end in the bytes, by the item's place in the run (an item may make no
  /// line, or several).
  public let ends: [Int]

  init(_ json: consuming JSONBytes, ends: [Int]) {
    made = MadeBytes(json)
    self.ends = ends
  }

  /// Where the lines of the run's item at `place` lie in the bytes.
  public func lines(of place: Int) -> Range<Int> { (place == 0 ? 0 : ends[place - 1])..<ends[place] }

  /// Runs `body` on the bytes; they are valid only during the call.
  public func withBytes<Result, Failure: Error>(
    _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
  ) throws(Failure) -> Result {
    try made.json.withUnsafeBytes(body)
  }

  /// Made bytes handed from the core that made them to the one that writes them, and read only there.
  private final class MadeBytes: @unchecked Sendable {
    let json: JSONBytes

    init(_ json: consuming JSONBytes) { self.json = json }
  }
}

/// The lines of every item, in item order, made a window of blocks at a time on every core and handed to `body` a
/// block at a time: no more than a window's lines are held at once.
///
/// Each item's lines are appended to its block's bytes where they are made (`line`), so that no line is a string of
/// its own and the thread that writes them copies a block, not a line, at a time.
///
/// - Parameters:
///   - items: what to make lines of.
///   - line: appends the line (or lines, or nothing) of one item.
///   - body: takes each block, in order.
/// - Throws: what `body` throws.
public func forEachBlockOfLines<Item: Sendable, Failure: Error>(
  of items: [Item], appending line: @Sendable (Item, inout JSONBytes) -> Void,
  _ body: (LineBlock) throws(Failure) -> Void
) throws(Failure) {
  try forEachBlockOfLines(of: items, remembering: (), appending: { item, _, json in line(item, &json) }, body)
}

/// `forEachBlockOfLines(of:appending:_:)` with what the lines of a block remember from one item to the next
/// (`memory`, as given at the start of each block): what lines made alike can take again from the line before.
public func forEachBlockOfLines<Item: Sendable, Memory: Sendable, Failure: Error>(
  of items: [Item], remembering memory: Memory,
  appending line: @Sendable (Item, inout Memory, inout JSONBytes) -> Void, _ body: (LineBlock) throws(Failure) -> Void
) throws(Failure) {
  let blockSize = 1_000
  for window in items.indices.runs(of: blockSize).runs(of: 16) {
    let blocks = concurrentMap(Array(window)) { run in
      var json = JSONBytes()
      var ends: [Int] = []
      var remembered = memory
      ends.reserveCapacity(run.count)
      for item in items[run] {
        line(item, &remembered, &json)
        // The lines of one file are much alike: room for the run's lines as long as the first, and some, up to a
        // bound, since a window's blocks are held at once and a first line may be an outlier.
        if ends.isEmpty { json.reserveCapacity(min(json.count * (run.count + run.count / 8), 1 << 22)) }
        ends.append(json.count)
      }
      return LineBlock(json, ends: ends)
    }
    for block in blocks { try body(block) }
  }
}

extension LinesFile {
  /// Writes a line (or lines) for each item, in order; the lines are made a window of blocks at a time on every
  /// core, each appended to its block where it is made.
  public func write<Item: Sendable>(linesOf items: [Item], appending line: @Sendable (Item, inout JSONBytes) -> Void)
    throws(OutputError)
  {
    try forEachBlockOfLines(of: items, appending: line) { (block: LineBlock) throws(OutputError) in
      try block.withBytes { (bytes) throws(OutputError) in try write(lines: bytes) }
    }
  }

  /// `write(linesOf:appending:)` for lines made as strings.
  public func write<Item: Sendable>(linesOf items: [Item], _ line: @Sendable (Item) -> String) throws(OutputError) {
    try write(linesOf: items, appending: { item, json in json.appendRaw(line(item)) })
  }
}
