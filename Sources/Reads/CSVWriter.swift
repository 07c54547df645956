import Foundation

/// The one writer for every CSV the toolkit writes (RFC 4180): a field holding a comma, a double
/// quote, a CR or an LF is put in double quotes with its quotes doubled; everything else is written as
/// it is (UTF-8). Lines end in LF. `CSVReader`, Python's `csv` and pandas read it back field for field.
/// Metadata never goes into the file (no `#` lines): it goes in a JSON sidecar (`FILE.meta.json`).
public struct CSVTable: Sendable, Equatable {
  public let header: [String]
  public private(set) var rows: [[String]] = []

  public init(header: [String]) { self.header = header }

  /// Adds a row; it must have one field per header column.
  public mutating func append(_ row: [String]) {
    precondition(row.count == header.count, "CSV row has \(row.count) fields for \(header.count) columns")
    rows.append(row)
  }

  /// The table as CSV text; with `byteOrderMark` it starts with U+FEFF, so that Excel reads UTF-8
  /// (dashes and accents) instead of guessing a code page. With `neutraliseFormulas` a text field that
  /// starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet shows
  /// it instead of running it as a formula (CSV injection); numbers are left as they are.
  public func encoded(byteOrderMark: Bool = false, neutraliseFormulas: Bool = false) -> String {
    var s = byteOrderMark ? "\u{FEFF}" : ""
    s.reserveCapacity(32 * (rows.count + 1) * header.count)
    for line in [header] + rows {
      for (i, f) in line.enumerated() {
        if i > 0 { s += "," }
        s += csvQuote(neutraliseFormulas ? Self.neutralised(f) : f)
      }
      s += "\n"
    }
    return s
  }

  static func neutralised(_ f: String) -> String {
    guard let c = f.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(c), Double(f) == nil else { return f }
    return "'" + f
  }

  /// Reads a table written by `encoded` (or any RFC 4180 CSV with a header) back, with `CSVReader`.
  /// - Throws: `IngestError` for unreadable input or a row with the wrong number of fields.
  public static func read(path: String) throws -> CSVTable {
    var table: CSVTable?
    try CSVReader(source: ByteSource(path: path)).forEachRecord { r in
      let fields = (0..<r.count).map(r.string)
      guard var t = table else { table = CSVTable(header: fields); return }
      if r.count == 1 && fields[0].isEmpty { return }
      guard fields.count == t.header.count else {
        throw IngestError.badRegistry(file: path, line: r.line, field: "-", reason: "\(fields.count) fields for \(t.header.count) columns")
      }
      t.rows.append(fields)
      table = t
    }
    guard let table else { throw IngestError.badRegistry(file: path, line: 1, field: "-", reason: "empty file (no header)") }
    return table
  }

  /// The rows as dictionaries keyed by column name.
  public var records: [[String: String]] {
    rows.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
  }
}

/// Quotes a CSV field when it holds a comma, a quote or a line break (RFC 4180).
public func csvQuote(_ s: String) -> String {
  if s.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
  return s
}

/// Text for XML or HTML: `& < > " '` as entities, and the control characters XML 1.0 cannot hold
/// (all below U+0020 but tab and line breaks) dropped.
public func xmlEscaped(_ s: String) -> String {
  var o = ""
  for c in s.unicodeScalars {
    switch c {
    case "&": o += "&amp;"
    case "<": o += "&lt;"
    case ">": o += "&gt;"
    case "\"": o += "&quot;"
    case "'": o += "&apos;"
    default: if c.value >= 0x20 || c == "\n" || c == "\t" || c == "\r" { o.unicodeScalars.append(c) }
    }
  }
  return o
}

/// Writes `text` to `path` through `OutputFile` (atomic for regular files, through for devices and FIFOs).
/// - Throws: `IngestError.cannotWrite` naming the file.
public func writeAtomically(_ text: String, to path: String, permissions: mode_t = 0o644) throws(IngestError) {
  try writeAtomically(Data(text.utf8), to: path, permissions: permissions)
}

/// Writes `data` to `path` through `OutputFile`, as `writeAtomically(_:to:)` does text.
public func writeAtomically(_ data: Data, to path: String, permissions: mode_t = 0o644) throws(IngestError) {
  let f = try OutputFile(path: path, permissions: permissions)
  try f.write(data)
  try f.commit()
}

/// Writes `value` as JSON (sorted keys, so the same value gives the same bytes) to `path`, atomically.
public func writeJSON<T: Encodable>(_ value: T, to path: String, pretty: Bool = true) throws {
  let enc = JSONEncoder()
  enc.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
  try writeAtomically(String(decoding: try enc.encode(value), as: UTF8.self) + "\n", to: path)
}
