import DynSyncCore
import Foundation

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
  for window in items.indices.runs(of: blockSize).runs(of: 16) {
    let lines = concurrentMap(Array(window)) { block in items[block].map(line) }
    for block in lines { try body(block) }
  }
}

extension LinesFile {
  /// Writes a line (or lines) for each item, in order; the text is made a window of blocks at a
  /// time on every core.
  public func write<Item: Sendable>(linesOf items: [Item], _ line: @Sendable (Item) -> String) throws(OutputError) {
    try forEachBlockOfLines(of: items, line) { (lines: [String]) throws(OutputError) in
      for line in lines { try write(line) }
    }
  }
}
