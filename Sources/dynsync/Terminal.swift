import ArgumentParser
import DynSync
import Foundation

/// Progress on stderr, so that stdout stays clean for summaries and pipes.
struct StderrProgress: ProgressObserver {
  let quiet: Bool

  func readingFile(_ path: String, format: ExportFormat) {
    guard !quiet else { return }
    Terminal.writeError("reading \(path) (\(format.rawValue))\n")
  }

  func readRecords(_ counts: [String: Int], inFile path: String, elapsed: Duration) {
    let count = counts.values.reduce(0, +)
    guard !quiet, count >= 50_000 else { return }
    let seconds = Self.seconds(elapsed)
    let rate = seconds > 0 ? Int(Double(count) / seconds) : count
    let tables = counts.keys.sorted().map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: ", ")
    Terminal.writeError("  \(path): \(tables) (\(rate) records/s)\n")
  }

  func readingInFull(because reason: String) {
    guard !quiet else { return }
    Terminal.writeError("reading the exports in full, every row held: \(reason)\n")
  }

  func finished(_ step: String, elapsed: Duration) {
    guard !quiet else { return }
    Terminal.writeError("\(step) in \(String(format: "%.2f", Self.seconds(elapsed))) s\n")
  }

  private static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
  }
}

enum Terminal {
  static func writeError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
  }
}

/// Runs a command body; a user-facing error is said once on stderr and ends the process with status 2.
func reportingUserFacingErrors(_ body: () throws -> Void) throws {
  do {
    try body()
  } catch let error as any UserFacingError {
    Terminal.writeError("dynsync: error: \(error)\n")
    throw ExitCode(2)
  }
}
