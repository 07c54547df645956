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
    let t = try CSVTable.read(path: path)
    guard t.header == header else {
      throw IngestError.badRegistry(file: path, line: 1, field: "vehicle_a", reason: "not a links file from 'anpr link' (header \(header.joined(separator: ",")))")
    }
    return try t.records.enumerated().map { k, r in
      func number(_ name: String) throws -> Double {
        guard let v = Double(r[name] ?? ""), v.isFinite else {
          throw IngestError.badRegistry(file: path, line: k + 2, field: name, reason: "'\(r[name] ?? "")' is not a number")
        }
        return v
      }
      guard let basis = LinkBasis(rawValue: r["basis"] ?? "") else {
        throw IngestError.badRegistry(file: path, line: k + 2, field: "basis",
                                      reason: "'\(r["basis"] ?? "")' is not one of \(LinkBasis.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      return Link(a: r["vehicle_a"]!, b: r["vehicle_b"]!, similarity: try number("similarity"), succession: r["succession"] == "true",
                  score: try number("score"), confidence: try number("confidence"), evidence: r["evidence"] ?? "", basis: basis)
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
    let t = try CSVTable.read(path: path)
    guard t.header == header else {
      throw IngestError.badRegistry(file: path, line: 1, field: "episode", reason: "not an episodes file from 'anpr link' (header \(header.joined(separator: ",")))")
    }
    return try t.records.enumerated().map { k, r in
      func time(_ name: String) throws -> Int64 {
        guard case .success(let v) = Timestamp.parse(r[name] ?? "") else {
          throw IngestError.badRegistry(file: path, line: k + 2, field: name, reason: "'\(r[name] ?? "")' is not an ISO 8601 time")
        }
        return Int64(v)
      }
      guard let visits = Int(r["visits"] ?? ""), visits >= 0 else {
        throw IngestError.badRegistry(file: path, line: k + 2, field: "visits", reason: "'\(r["visits"] ?? "")' is not a count")
      }
      guard let c = Double(r["boundary_confidence"] ?? ""), (0...1).contains(c) else {
        throw IngestError.badRegistry(file: path, line: k + 2, field: "boundary_confidence", reason: "'\(r["boundary_confidence"] ?? "")' is not a probability")
      }
      return LinkedUnit(id: r["episode"]!, vehicle: r["plate"]!, first: try time("from"), last: try time("to"), visits: visits,
                        boundaryConfidence: c, cutBefore: r["cut_before"] ?? "", cutAfter: r["cut_after"] ?? "")
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
    let t = try CSVTable.read(path: path)
    guard t.header == header else {
      throw IngestError.badRegistry(file: path, line: 1, field: "vehicle_a", reason: "not a convoys file from 'anpr link' (header \(header.joined(separator: ",")))")
    }
    return try t.records.enumerated().map { k, r in
      func value<T: LosslessStringConvertible>(_ name: String, _ type: T.Type) throws -> T {
        guard let v = T(r[name] ?? "") else { throw IngestError.badRegistry(file: path, line: k + 2, field: name, reason: "'\(r[name] ?? "")' is not a number") }
        return v
      }
      return Row(a: r["vehicle_a"]!, b: r["vehicle_b"]!, sites: try value("sites", Int.self), together: try value("together", Int.self),
                 expected: try value("expected_by_chance", Double.self), pValue: try value("p_value", Double.self), evidence: r["evidence"] ?? "")
    }
  }
}
