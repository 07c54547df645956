import Foundation
import Linkage
import Linalg
import Modelling
import Reads
import Simulation

/// Linkage scored against the simulator's truth, and a precision/recall curve over the threshold.
public enum LinkageEvaluation {
  public struct Point: Codable, Sendable { public var threshold: Double; public var scores: LinkageScores; public var groups: Int }

  /// One hire from the simulator's truth, located in the store: the vehicle, its holder, the hire's
  /// span (UTC seconds) and the first and last read of the plate inside it (nil if it was never read).
  public struct TrueHire: Sendable {
    public var vehicle: Int, holder: String, from: Int64, to: Int64
    public var firstRead: Int64?, lastRead: Int64?
  }

  /// Every hire of the truth whose plate is in the store.
  public static func hires(store: ReadStore, truthDirectory dir: String, pseudonymiser: Pseudonymiser?) throws -> [TrueHire] {
    let truth = try SimulationTruth.read(directory: dir)
    let index = Dictionary(store.vehicles.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    return truth.hires.compactMap { h in
      let id = store.isPseudonymised ? pseudonymiser?.pseudonym(plate: h.plate) : Plate.normalise(h.plate)
      guard let id, let v = index[id] else { return nil }
      // Hire days are local days from the start; an hour of slack each side covers a change of clock.
      let from = truth.startUTC + Int64(h.fromDay) * 86400 - 3600, to = truth.startUTC + Int64(h.toDay) * 86400 + 3600
      let times = store.reads(ofVehicle: v).map { store.time(Int($0)) }.filter { $0 >= from && $0 < to }
      return TrueHire(vehicle: v, holder: h.holder, from: from, to: to, firstRead: times.first, lastRead: times.last)
    }
  }

  /// Truth for linkage: unit id → the holder of the hire that covers most of the unit's reads.
  public static func truth(_ r: LinkageResult, store: ReadStore, hires: [TrueHire]) -> [String: String] {
    let byVehicle = Dictionary(grouping: hires, by: \.vehicle)
    let index = Dictionary(store.vehicles.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    var out: [String: String] = [:]
    for u in r.units {
      guard let v = index[u.vehicle], let hs = byVehicle[v] else { continue }
      var count: [String: Int] = [:]
      for t in store.reads(ofVehicle: v).map({ store.time(Int($0)) }) where t >= u.first && t <= u.last {
        if let h = hs.first(where: { t >= $0.from && t < $0.to }) { count[h.holder, default: 0] += 1 }
      }
      if let best = count.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }) { out[u.id] = best.key }
    }
    return out
  }

  /// Scores against the truth: every candidate unit is in the universe, and every actor hire that was
  /// read but is no candidate's main hire enters as a missed unit (its same-actor pairs count as missed).
  public static func score(_ r: LinkageResult, hires: [TrueHire], store: ReadStore) -> LinkageScores {
    var truth = truth(r, store: store, hires: hires)
    var universe = r.units.map(\.id)
    let covered = Set(r.units.compactMap { u in truth[u.id].map { "\(u.vehicle)|\($0)" } })
    for h in hires where h.holder.hasPrefix("actor-") && h.firstRead != nil && !covered.contains("\(store.vehicles[h.vehicle].id)|\(h.holder)") {
      let id = "missed:\(store.vehicles[h.vehicle].id)@\(h.from)"
      truth[id] = h.holder; universe.append(id)
    }
    return LinkageScores.score(groups: r.groups, truth: truth, universe: universe)
  }

  /// Share of actor hires (with reads) whose first and last reads are each within `tolerance` seconds of
  /// a candidate unit's first and last read (the unit that overlaps the hire most), and how many there were.
  public static func boundaryAccuracy(_ r: LinkageResult, hires: [TrueHire], store: ReadStore, tolerance: Int64 = 12 * 3600) -> (share: Double, hires: Int) {
    let actorHires = hires.filter { $0.holder.hasPrefix("actor-") && $0.firstRead != nil }
    guard !actorHires.isEmpty else { return (1, 0) }
    let units = Dictionary(grouping: r.units, by: \.vehicle)
    var good = 0
    for h in actorHires {
      let (a, b) = (h.firstRead!, h.lastRead!)
      let best = (units[store.vehicles[h.vehicle].id] ?? []).max { x, y in
        max(0, min(x.last, b) - max(x.first, a)) < max(0, min(y.last, b) - max(y.first, a))
      }
      if let u = best, min(u.last, b) >= max(u.first, a), abs(u.first - a) <= tolerance, abs(u.last - b) <= tolerance { good += 1 }
    }
    return (Double(good) / Double(actorHires.count), actorHires.count)
  }

  /// Reliability of the stated link confidence: links in bins of stated confidence, with the share whose
  /// two units belong to one holder.
  public struct ReliabilityBin: Codable, Sendable { public var from: Double, to: Double; public var links: Int; public var stated: Double; public var observed: Double }
  public static func reliability(_ r: LinkageResult, truth: [String: String], edges: [Double] = [0, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0001]) -> [ReliabilityBin] {
    (0..<(edges.count - 1)).compactMap { k in
      let inBin = r.links.filter { $0.confidence >= edges[k] && $0.confidence < edges[k + 1] }
      guard !inBin.isEmpty else { return nil }
      let right = inBin.filter { l in truth[l.a] != nil && truth[l.a] == truth[l.b] }.count
      return ReliabilityBin(from: edges[k], to: min(1, edges[k + 1]), links: inBin.count,
                            stated: inBin.map(\.confidence).reduce(0, +) / Double(inBin.count), observed: Double(right) / Double(inBin.count))
    }
  }

  /// Re-groups at each threshold (links scored once) and scores each.
  public static func curve(model: LinkageModel, store: ReadStore, clock: LocalClock, hires: [TrueHire],
                           thresholds: [Double]) throws -> [Point] {
    try thresholds.map { t in
      var m = model
      m.threshold = t
      let r = try m.link(store: store, clock: clock)
      return Point(threshold: t, scores: score(r, hires: hires, store: store), groups: r.groups.count)
    }
  }
}

extension LinkageEvaluation {
  /// Similarity of true same-holder pairs against the strongest other pairs (a diagnostic for tuning).
  public static func diagnostics(model: LinkageModel, store: ReadStore, clock: LocalClock, result: LinkageResult, truth: [String: String]) throws -> String {
    let f = model.features(store: store, clock: clock)
    let n = f.candidates.count
    guard n >= 2 else { return "fewer than two candidates" }
    let ids = result.units.map(\.id)
    guard ids.count == n else { return "candidates changed between runs" }
    let x = f.features.rows(0..<n)
    let sims = try BLAS.withThreadCount(workerThreads) { try BLAS.multiply(x, x, transposeB: true) }
    var same: [Double] = [], diff: [Double] = []
    for i in 0..<n {
      for j in (i + 1)..<n {
        if let a = truth[ids[i]], let b = truth[ids[j]], a == b { same.append(sims[i, j]) } else { diff.append(sims[i, j]) }
      }
    }
    same.sort(); diff.sort(by: >)
    func q(_ a: [Double], _ f: Double) -> Double { a.isEmpty ? .nan : a[min(a.count - 1, Int(f * Double(a.count)))] }
    // Per block: AUC of the block's centred cosine, same-holder pairs against other pairs that could be
    // linked (not in use at the same time): which evidence separates actors in this town.
    var perBlock: [String] = []
    for (name, range, scale) in f.signatures.namedBlocks(model.weights) {
      var pos: [Double] = [], neg: [Double] = []
      for i in 0..<n {
        for j in (i + 1)..<n {
          if model.cannotBeOneDriver(f.signatures, i, j) { continue }
          var s = 0.0
          for k in range { s += f.features[i, k] * f.features[j, k] }
          s /= scale * scale
          if let a = truth[ids[i]], let b = truth[ids[j]], a == b { pos.append(s) } else { neg.append(s) }
        }
      }
      var wins = 0.0
      let sortedNeg = neg.sorted()
      for p in pos {
        var lo = 0, hi = sortedNeg.count
        while lo < hi { let mid = (lo + hi) / 2; if sortedNeg[mid] < p { lo = mid + 1 } else { hi = mid } }
        var eq = lo; while eq < sortedNeg.count && sortedNeg[eq] == p { eq += 1 }
        wins += Double(lo) + 0.5 * Double(eq - lo)
      }
      let auc = pos.isEmpty || neg.isEmpty ? Double.nan : wins / Double(pos.count * neg.count)
      perBlock.append(name + String(format: " %.3f", auc))
    }
    return String(format: "same-holder pairs: %d, similarity median %.2f (10%% %.2f); other pairs: %d, top %.2f, 99.9%% %.2f",
                  same.count, q(same, 0.5), q(same, 0.1), diff.count, diff.first ?? .nan, q(diff, 0.001))
      + "\nper-block AUC, same holder against other pairs not in use at the same time: " + perBlock.joined(separator: ", ")
      + "\n" + errorBreakdown(result: result, truth: truth)
  }

  /// Wrong pairs inside groups and missed same-holder pairs, by the kinds of holder involved
  /// ("actor", "business", "renter", "family", or "unknown").
  static func errorBreakdown(result: LinkageResult, truth: [String: String]) -> String {
    func kind(_ id: String) -> String { truth[id].map { String($0.split(separator: "-").first ?? "?") } ?? "unknown" }
    var wrong: [String: Int] = [:], missed: [String: Int] = [:]
    var group: [String: Int] = [:]
    for (g, m) in result.groups.enumerated() {
      for x in m { group[x] = g }
      for i in 0..<m.count { for j in (i + 1)..<m.count where truth[m[i]] == nil || truth[m[i]] != truth[m[j]] {
        wrong[[kind(m[i]), kind(m[j])].sorted().joined(separator: "~"), default: 0] += 1
      } }
    }
    let ids = result.units.map(\.id)
    for i in 0..<ids.count { for j in (i + 1)..<ids.count {
      guard let a = truth[ids[i]], a == truth[ids[j]] else { continue }
      if group[ids[i]] == nil || group[ids[i]] != group[ids[j]] {
        let how = group[ids[i]] == nil && group[ids[j]] == nil ? "both alone" : group[ids[i]] == nil || group[ids[j]] == nil ? "one alone" : "two groups"
        missed["\(kind(ids[i])) (\(how))", default: 0] += 1
      }
    } }
    return "wrong pairs in groups: " + wrong.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
      + "; missed same-holder pairs: " + missed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
  }
}

/// Where the simulator's truth is: `--truth` names `truth.json` or the directory that holds it.
public enum TruthDirectory {
  /// The directory of the truth files.
  /// - Throws: `SpecError` when nothing is at `path`.
  public static func resolve(_ path: String) throws -> String {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw SpecError.invalid("no truth at '\(path)'") }
    if isDir.boolValue { return path }
    let dir = (path as NSString).deletingLastPathComponent
    return dir.isEmpty ? "." : dir
  }
}
