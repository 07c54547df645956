import Foundation
import Reads

// The linkage output files `anpr link` writes beside GROUPS.csv, each with its writer and its reader in
// one place (as `GroupsFile`), so the format has one definition and a file can be read back.

/// `links.csv`: one row per link, `vehicle_a,vehicle_b,similarity,succession,score,confidence,basis,evidence`.
public enum LinksFile {
  public static let header = ["vehicle_a", "vehicle_b", "similarity", "succession", "score", "confidence", "basis", "evidence"]

  public static func table(_ links: [Link]) -> CSVTable {
    var t = CSVTable(header: header)
    for l in links {
      t.append([l.a, l.b, String(format: "%.4f", l.similarity), "\(l.succession)", String(format: "%.4f", l.score),
                String(format: "%.3f", l.confidence), l.basis.rawValue, l.evidence])
    }
    return t
  }

  /// Reads a links file (numbers as written, to the file's precision).
  /// - Throws: `IngestError.badRegistry` naming the file, line and field.
  public static func read(path: String) throws -> [Link] {
    try LinkFileRecords.read(path, header: header, what: "a links file") { r in
      Link(a: r["vehicle_a"], b: r["vehicle_b"], similarity: try r.number("similarity"), succession: r["succession"] == "true",
           score: try r.number("score"), confidence: try r.number("confidence"), evidence: r["evidence"], basis: try r.value("basis", LinkBasis.init(rawValue:),
           expected: "one of \(LinkBasis.allCases.map(\.rawValue).joined(separator: ", "))"))
    }
  }
}

/// `episodes.csv`: every candidate period of use,
/// `episode,plate,from,to,visits,boundary_confidence,cut_before,cut_after`.
public enum EpisodesFile {
  public static let header = ["episode", "plate", "from", "to", "visits", "boundary_confidence", "cut_before", "cut_after"]

  public static func table(_ units: [LinkedUnit]) -> CSVTable {
    var t = CSVTable(header: header)
    for u in units {
      t.append([u.id, u.vehicle, Timestamp.iso8601(u.first), Timestamp.iso8601(u.last), "\(u.visits)",
                String(format: "%.3f", u.boundaryConfidence), u.cutBefore, u.cutAfter])
    }
    return t
  }

  /// Reads an episodes file.
  /// - Throws: `IngestError.badRegistry` naming the file, line and field.
  public static func read(path: String) throws -> [LinkedUnit] {
    try LinkFileRecords.read(path, header: header, what: "an episodes file") { r in
      LinkedUnit(id: r["episode"], vehicle: r["plate"], first: try r.time("from"), last: try r.time("to"),
                 visits: try r.value("visits", { Int($0).flatMap { $0 >= 0 ? $0 : nil } }, expected: "a count"),
                 boundaryConfidence: try r.value("boundary_confidence", { Double($0).flatMap { (0...1).contains($0) ? $0 : nil } }, expected: "a probability"),
                 cutBefore: r["cut_before"], cutAfter: r["cut_after"])
    }
  }
}

/// `convoys.csv`: pairs seen together more than chance allows,
/// `vehicle_a,vehicle_b,sites,together,expected_by_chance,p_value,evidence`.
public enum ConvoysFile {
  public static let header = ["vehicle_a", "vehicle_b", "sites", "together", "expected_by_chance", "p_value", "evidence"]

  public static func table(_ pairs: [CoTravel]) -> CSVTable {
    var t = CSVTable(header: header)
    for c in pairs {
      t.append([c.a, c.b, "\(c.sites.count)", "\(c.together)", String(format: "%.4g", c.expected), String(format: "%.3g", c.pValue), c.evidence])
    }
    return t
  }

  /// One row as read back: the number of shared sites (the file does not list them).
  public struct Row: Sendable, Equatable {
    public var a: String, b: String
    public var sites: Int, together: Int
    public var expected: Double, pValue: Double
    public var evidence: String
  }

  /// Reads a convoys file.
  /// - Throws: `IngestError.badRegistry` naming the file, line and field.
  public static func read(path: String) throws -> [Row] {
    try LinkFileRecords.read(path, header: header, what: "a convoys file") { r in
      Row(a: r["vehicle_a"], b: r["vehicle_b"], sites: try r.value("sites", { Int($0) }, expected: "a count"),
          together: try r.value("together", { Int($0) }, expected: "a count"), expected: try r.number("expected_by_chance"),
          pValue: try r.number("p_value"), evidence: r["evidence"])
    }
  }
}

/// The rows of a file `anpr link` wrote, read back by header: the header must be the writer's, and a
/// field that does not read is an error naming the file, line and field.
struct LinkFileRecords {
  let record: [String: String]
  let path: String
  let line: Int

  static func read<T>(_ path: String, header: [String], what: String, _ row: (LinkFileRecords) throws -> T) throws -> [T] {
    let t = try CSVTable.read(path: path)
    guard t.header == header else {
      throw IngestError.badRegistry(file: path, line: 1, field: header[0], reason: "not \(what) from 'anpr link' (header \(header.joined(separator: ",")))")
    }
    return try t.records.enumerated().map { k, r in try row(LinkFileRecords(record: r, path: path, line: k + 2)) }
  }

  subscript(_ name: String) -> String { record[name] ?? "" }

  /// The field read by `parse`, or an error saying it is not `expected`.
  func value<T>(_ name: String, _ parse: (String) -> T?, expected: String) throws -> T {
    guard let v = parse(self[name]) else { throw IngestError.badRegistry(file: path, line: line, field: name, reason: "'\(self[name])' is not \(expected)") }
    return v
  }
  func number(_ name: String) throws -> Double { try value(name, { Double($0).flatMap { $0.isFinite ? $0 : nil } }, expected: "a number") }
  func time(_ name: String) throws -> Int64 {
    try value(name, { if case .success(let v) = Timestamp.parse($0) { return Int64(v) } else { return nil } }, expected: "an ISO 8601 time")
  }
}
