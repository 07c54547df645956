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
  /// The time column's format could not be recognised from the first rows.
  case unknownTimeFormat(file: String, example: String?)
  /// The first rows read as day-first and as month-first alike.
  case ambiguousTimeFormat(file: String, example: String?, first: String, second: String)
  /// Times without a zone and no `--timezone`.
  case noTimeZone(file: String, example: String?, zoneless: Int, sampled: Int)
  case badTimeSettings(String)
  /// A header and no data rows.
  case noRows(file: String)
  /// Every row, or more than the allowed share, was rejected: nothing was stored.
  case tooManyRejected(file: String, summary: String, allowed: Double?, code: String, count: Int, examples: [RejectExample])

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
    case let .unknownTimeFormat(f, e):
      return "\(f): timestamp: cannot recognise the time format\(e.map { " of '\($0)'" } ?? ""); pass --time-format PATTERN (e.g. '%d/%m/%Y %H:%M:%S', or epoch / epoch-ms)"
    case let .ambiguousTimeFormat(f, e, a, b):
      return "\(f): timestamp: times like '\(e ?? "")' read as '\(a)' and as '\(b)' (day and month both ≤ 12 in every row looked at); say which with --time-format"
    case let .noTimeZone(f, e, z, n):
      return "\(f): timestamp: \(z) of the first \(n) times have no zone (e.g. '\(e ?? "")'); pass --timezone ZONE for the export's clock (Europe/London for UK local time, UTC if it is UTC)"
    case let .badTimeSettings(m): return m
    case let .noRows(f): return "\(f): no data rows after the header; nothing was stored"
    case let .tooManyRejected(f, summary, allowed, code, count, examples):
      let shown = examples.map { "line \($0.line)" + ($0.value.map { " ('\($0)')" } ?? "") }.joined(separator: ", ")
      let what = allowed.map { "more than \(Int(($0 * 100).rounded()))% of rows rejected" } ?? "no row accepted"
      return "\(f): \(summary): \(what), so nothing was stored. "
        + "Most common: \(code) (\(count) rows; e.g. \(shown)); \(RejectReason.hint(code: code))."
        + (allowed != nil ? " To store the rest anyway, pass --max-reject-rate 1." : "")
    }
  }
}
