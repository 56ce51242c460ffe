import Dispatch

/// Texts a value keeps by number rather than as text, each numbered once in this process, the same number for the same
/// text on every thread: the table names lookups give (`Lookup`), and the rare fractions of a second too long for an
/// instant's word (`Timestamp`).
///
/// A text is numbered once, under a lock; its number is handed out only once the text is in place, in storage that
/// never moves, so a text is read back by its number without the lock (whoever holds a number got it from the lock,
/// or from a value handed over between threads). A run's lookups name a handful of tables; the texts are kept for the
/// life of the process.
public final class NumberedTexts: @unchecked Sendable {
  /// 0 stands for no text.
  public typealias Number = UInt32

  /// The table names of lookups.
  public static let tables = NumberedTexts()
  /// The fractions of a second of more than 19 digits.
  public static let longFractions = NumberedTexts()

  private let lock = DispatchSemaphore(value: 1)
  private var numbers: [String: Number] = [:]
  /// The texts in blocks of `blockSize`, made as they fill: a block once made is never moved or freed.
  private let blocks: UnsafeMutablePointer<UnsafeMutablePointer<String>?>
  private var count = 0

  private static let blockSize = 1 << 10
  private static let blockCount = 1 << 16

  private init() {
    blocks = .allocate(capacity: NumberedTexts.blockCount)
    blocks.initialize(repeating: nil, count: NumberedTexts.blockCount)
  }

  /// The number of a text, numbering it if it has none yet; 0 for none.
  public func number(of name: String?) -> Number {
    guard let name else { return 0 }
    lock.wait()
    defer { lock.signal() }
    if let number = numbers[name] { return number }
    let (block, slot) = count.quotientAndRemainder(dividingBy: NumberedTexts.blockSize)
    // Sixty-seven million texts: past what any input this machine can hold gives.
    precondition(block < NumberedTexts.blockCount, "more texts than can be numbered")
    if slot == 0 { blocks[block] = .allocate(capacity: NumberedTexts.blockSize) }
    blocks[block]?.advanced(by: slot).initialize(to: name)
    count += 1
    let number = Number(count)
    numbers[name] = number
    return number
  }

  /// The last few table names a reader numbered, by their bytes: a reader's lookups name a handful of tables, row
  /// after row, and a name found here is neither made into text nor numbered under the lock again.
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
      let number = NumberedTexts.tables.number(of: name)
      if names.count == 4 { names.removeFirst() }
      names.append((Array(bytes), number))
      return number
    }
  }

  /// The text numbered `number`; `nil` for 0.
  public func name(of number: Number) -> String? {
    guard number > 0 else { return nil }
    let (block, slot) = Int(number - 1).quotientAndRemainder(dividingBy: NumberedTexts.blockSize)
    return blocks[block]?[slot]
  }
}
