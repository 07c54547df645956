import Foundation

/// Progress on a terminal (rate, elapsed, estimate); silent when stderr is not a TTY (pipes, CI).
final class ProgressLine {
  let label: String
  let enabled: Bool
  let start = Date()
  var lastDraw = Date.distantPast

  init(_ label: String) {
    self.label = label
    enabled = isatty(2) == 1 && ProcessInfo.processInfo.environment["CI"] == nil
  }

  /// `done` of `total` units (rows, bytes, days ...); `unit` names them for the rate.
  func update(done: Double, total: Double?, unit: String, count: Int? = nil) {
    guard enabled, Date().timeIntervalSince(lastDraw) > 0.2 else { return }
    lastDraw = Date()
    let elapsed = Date().timeIntervalSince(start)
    var s = "\r\(label): "
    if let count { s += "\(count) rows, \(Int(Double(count) / max(elapsed, 1e-9))) rows/s" }
    else { s += "\(Int(done)) \(unit), \(Int(done / max(elapsed, 1e-9))) \(unit)/s" }
    if let total, total > 0 {
      let f = min(1, done / total)
      s += String(format: ", %.0f%%", f * 100)
      if f > 0.01 { s += String(format: ", ~%.0fs left", elapsed * (1 - f) / f) }
    }
    s += String(format: ", %.1fs elapsed  ", elapsed)
    FileHandle.standardError.write(Data(s.utf8))
  }

  func finish() {
    guard enabled else { return }
    FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
  }
}

/// Prints a JSON object on one line (the last line of `--json` output that scripts read).
func printJSONLine<T: Encodable>(_ value: T) throws {
  let enc = JSONEncoder()
  enc.outputFormatting = [.sortedKeys]
  print(String(decoding: try enc.encode(value), as: UTF8.self))
}
