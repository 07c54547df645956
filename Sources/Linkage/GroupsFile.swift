import Foundation
import Modelling
import Reads

/// `GROUPS.csv`, the linked groups as `anpr link` writes them and `next-appearance --group`,
/// `predict-route --group` and `report --groups` read them: one row per member,
/// `group_id,vehicle,plate,from,to,confidence,boundary_confidence,evidence`. The writer and the reader
/// live together so the format has one definition.
public struct GroupsFile: Sendable, Equatable {
  public struct Member: Sendable, Equatable {
    public var group: String
    /// The linked unit: an episode `PLATE#FROM..TO`, or a whole plate's id.
    public var vehicle: String
    /// The store's id of the car.
    public var plate: String
    public var from: String, to: String
    /// The member's strongest link's confidence (the group's when it has none of its own).
    public var confidence: Double
    public var boundaryConfidence: Double
    public var evidence: String
  }

  public static let header = ["group_id", "vehicle", "plate", "from", "to", "confidence", "boundary_confidence", "evidence"]
  public var members: [Member]

  public init(members: [Member]) { self.members = members }

  /// The groups of a linkage result, in group order (`G1`, `G2`, …).
  public init(_ r: LinkageResult) {
    let unitByID = Dictionary(r.units.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    members = []
    for (g, ids) in r.groups.enumerated() {
      for m in ids {
        let best = r.links.filter { $0.a == m || $0.b == m }.max { $0.confidence < $1.confidence }
        let u = unitByID[m]
        members.append(Member(
          group: "G\(g + 1)", vehicle: m, plate: u?.vehicle ?? m, from: u.map { Timestamp.iso8601($0.first) } ?? "",
          to: u.map { Timestamp.iso8601($0.last) } ?? "", confidence: best?.confidence ?? r.groupConfidence[g],
          boundaryConfidence: u?.boundaryConfidence ?? 1, evidence: best?.evidence ?? ""))
      }
    }
  }

  public var table: CSVTable {
    var t = CSVTable(header: Self.header)
    for m in members {
      t.append([m.group, m.vehicle, m.plate, m.from, m.to, String(format: "%.3f", m.confidence), String(format: "%.3f", m.boundaryConfidence), m.evidence])
    }
    return t
  }

  /// Group ids in file order.
  public var groups: [String] {
    var seen = Set<String>()
    return members.map(\.group).filter { seen.insert($0).inserted }
  }

  public func members(of group: String) -> [Member] { members.filter { $0.group == group } }

  /// Reads a groups file by its header (columns in any order; `plate`, `from`, `to` and
  /// `boundary_confidence` optional, for files from earlier versions).
  /// - Throws: `IngestError.badRegistry` naming the file, line and field.
  public static func read(path: String) throws -> GroupsFile {
    let t = try CSVTable.read(path: path)
    guard t.header.first == "group_id", t.header.contains("vehicle") else {
      throw IngestError.badRegistry(file: path, line: 1, field: "group_id", reason: "not a groups file from 'anpr link' (header \(header.joined(separator: ",")))")
    }
    var out: [Member] = []
    for (k, r) in t.records.enumerated() {
      func number(_ name: String, default d: Double) throws -> Double {
        guard let s = r[name], !s.isEmpty else { return d }
        guard let v = Double(s), (0...1).contains(v) else {
          throw IngestError.badRegistry(file: path, line: k + 2, field: name, reason: "'\(s)' is not a probability")
        }
        return v
      }
      out.append(Member(group: r["group_id"]!, vehicle: r["vehicle"]!, plate: r["plate"] ?? r["vehicle"]!, from: r["from"] ?? "", to: r["to"] ?? "",
                        confidence: try number("confidence", default: 1), boundaryConfidence: try number("boundary_confidence", default: 1),
                        evidence: r["evidence"] ?? ""))
    }
    return GroupsFile(members: out)
  }
}

extension GroupsFile {
  /// The members (linked units: episodes or plates) of `GROUPS.csv:GROUP_ID`, as `--group` and
  /// `--target group=` name one group.
  /// - Throws: `SpecError` for a reference without `:GROUP_ID` or a group the file does not hold, and
  ///   the file's own errors (naming its line and field).
  public static func members(reference: String) throws -> (group: String, ids: [String]) {
    let parts = reference.split(separator: ":", maxSplits: 1).map(String.init)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
      throw SpecError.invalid("'\(reference)': name one group as GROUPS.csv:GROUP_ID (a file from 'anpr link')")
    }
    let ids = try read(path: parts[0]).members(of: parts[1]).map(\.vehicle)
    guard !ids.isEmpty else { throw SpecError.invalid("\(parts[0]): no group '\(parts[1])'") }
    return (parts[1], ids)
  }

  /// Each group's cars in `store` and the spans of their periods of use in it (a member that is a
  /// whole plate: no spans, every trip). Read from `path` (named in errors).
  /// - Throws: `SpecError.invalid` when the file holds no group, or a group has a member this store
  ///   does not know (linked on another store, or another key), naming the group and the member.
  public func periodsOfUse(in store: ReadStore, path: String) throws -> [String: [Int: [ClosedRange<Int64>]]] {
    let names = groups
    guard !names.isEmpty else { throw SpecError.invalid("\(path): no groups") }
    let index = EpisodeID.vehicleIndex(store)
    var out: [String: [Int: [ClosedRange<Int64>]]] = [:]
    for g in names {
      let ids = members(of: g).map(\.vehicle)
      let r = EpisodeID.resolve(ids, index: index)
      if let first = r.unknown.first {
        throw SpecError.invalid("\(path): group '\(g)': \(r.unknown.count) of its \(ids.count) members are not in this store (first: \(first)); was it linked on another store or with another key?")
      }
      out[g] = Dictionary(uniqueKeysWithValues: r.vehicles.map { ($0, r.spans[$0] ?? []) })
    }
    return out
  }

  /// Every member of every group in `path` with its link confidence (a unit in two rows: the larger).
  public static func memberConfidences(path: String) throws -> [String: Double] {
    let file = try read(path: path)
    guard !file.members.isEmpty else { throw SpecError.invalid("\(path): no groups") }
    var out: [String: Double] = [:]
    for m in file.members { out[m.vehicle] = max(out[m.vehicle] ?? 0, m.confidence) }
    return out
  }
}
