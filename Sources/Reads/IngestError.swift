/// A fatal ingest or store error: it names the file (and line and field where there is one) and
/// says what to do next. Row-level problems are not errors: they become `Rejection`s.
public enum IngestError: Error, Sendable, Equatable, CustomStringConvertible {
  case cannotOpen(file: String, reason: String)
  case corruptInput(file: String, reason: String)
  case unterminatedQuote(file: String, line: Int)
  case recordTooLong(file: String, line: Int, limit: Int)
  case missingColumn(file: String, column: String, header: [String])
  case badColumnMapping(String)
  /// `--strict`: the first bad row stops the ingest.
  case strictRejection(file: String, line: Int, field: String, reason: String)
  case badRegistry(file: String, line: Int, field: String, reason: String)
  case noKey(String)
  case keyMismatch(store: String)
  case cannotWrite(file: String, reason: String)
  case badStore(file: String, reason: String)

  public var description: String {
    switch self {
    case let .cannotOpen(f, r): return "\(f): cannot open: \(r)"
    case let .corruptInput(f, r): return "\(f): input is damaged (\(r)); re-export or re-download it"
    case let .unterminatedQuote(f, l): return "\(f):\(l): a quoted field never closes; check the quotes on this line"
    case let .recordTooLong(f, l, n): return "\(f):\(l): record longer than \(n) bytes; is this a CSV file?"
    case let .missingColumn(f, c, h):
      return "\(f):1: required column '\(c)' not in header [\(h.joined(separator: ","))]; map it with --columns \(c)=YOUR_NAME"
    case let .badColumnMapping(m): return "--columns: \(m)"
    case let .strictRejection(f, l, field, r): return "\(f):\(l): \(field): \(r)"
    case let .badRegistry(f, l, field, r): return "\(f):\(l): \(field): \(r)"
    case let .noKey(m): return m
    case let .keyMismatch(s):
      return "\(s) was pseudonymised with a different key; use the key it was made with, or ingest into a new store"
    case let .cannotWrite(f, r): return "\(f): cannot write: \(r)"
    case let .badStore(f, r): return "\(f): not a usable ANPRKit store: \(r)"
    }
  }
}
