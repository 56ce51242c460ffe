import Dispatch

/// The table names lookups have given in this process, each by a number (`Lookup`), the same number for the same name
/// on every thread.
///
/// A name is numbered once, under a lock; its number is handed out only once its text is in place, in storage that
/// never moves, so a name is read back by its number without the lock (whoever holds a number got it from the lock,
/// or from a value handed over between threads). A run's lookups name a handful of tables; the names are kept for the
/// life of the process.
public final class TableNames: @unchecked Sendable {
  /// 0 stands for no table.
  public typealias Number = UInt32

  public static let shared = TableNames()

  private let lock = DispatchSemaphore(value: 1)
  private var numbers: [String: Number] = [:]
  /// The names in blocks of `blockSize`, made as they fill: a block once made is never moved or freed.
  private let blocks: UnsafeMutablePointer<UnsafeMutablePointer<String>?>
  private var count = 0

  private static let blockSize = 1 << 10
  private static let blockCount = 1 << 16

  private init() {
    blocks = .allocate(capacity: TableNames.blockCount)
    blocks.initialize(repeating: nil, count: TableNames.blockCount)
  }

  /// The number of a table's name, numbering it if it has none yet; 0 for no name.
  public func number(of name: String?) -> Number {
    guard let name else { return 0 }
    lock.wait()
    defer { lock.signal() }
    if let number = numbers[name] { return number }
    let (block, slot) = count.quotientAndRemainder(dividingBy: TableNames.blockSize)
    // Sixty-seven million names: past what any input this machine can hold names.
    precondition(block < TableNames.blockCount, "more table names than lookups can number")
    if slot == 0 { blocks[block] = .allocate(capacity: TableNames.blockSize) }
    blocks[block]?.advanced(by: slot).initialize(to: name)
    count += 1
    let number = Number(count)
    numbers[name] = number
    return number
  }

  /// The last few names a reader numbered, by their bytes: a reader's lookups name a handful of tables, row after
  /// row, and a name found here is neither made into text nor numbered under the lock again.
  public struct Recent: Sendable {
    private var names: [(bytes: [UInt8], number: Number)] = []

    public init() {}

    /// The number of the name whose UTF-8 bytes these are; `text` makes its text when it is not among the last few
    /// (`nil`: not a name, and no number).
    public mutating func number(
      ofUTF8 bytes: UnsafeRawBufferPointer, _ text: (UnsafeRawBufferPointer) -> String?
    ) -> Number? {
      for entry in names where entry.bytes.count == bytes.count && entry.bytes.elementsEqual(bytes) {
        return entry.number
      }
      guard let name = text(bytes) else { return nil }
      let number = TableNames.shared.number(of: name)
      if names.count == 4 { names.removeFirst() }
      names.append((Array(bytes), number))
      return number
    }
  }

  /// The name numbered `number`; `nil` for 0.
  public func name(of number: Number) -> String? {
    guard number > 0 else { return nil }
    let (block, slot) = Int(number - 1).quotientAndRemainder(dividingBy: TableNames.blockSize)
    return blocks[block]?[slot]
  }
}
