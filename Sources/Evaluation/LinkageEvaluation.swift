import Foundation
import Linkage
import Linalg
import Modelling
import Reads

/// Linkage scored against the simulator's truth, and a precision/recall curve over the threshold.
public enum LinkageEvaluation {
  public struct Point: Codable, Sendable { public var threshold: Double; public var scores: LinkageScores; public var groups: Int }

  /// Truth: vehicle id (as stored) → actor, for actor vehicles among the link candidates.
  public static func truth(store: ReadStore, truthDirectory: String, pseudonymiser: Pseudonymiser?) throws -> [String: String] {
    let map = try CompareRun.actorMap(store: store, truthDirectory: truthDirectory, pseudonymiser: pseudonymiser)
    return Dictionary(uniqueKeysWithValues: map.map { (store.vehicles[$0.key].id, $0.value) })
  }

  public static func score(_ r: LinkageResult, truth: [String: String], store: ReadStore) -> LinkageScores {
    // Every rental vehicle (or every vehicle) is in the universe, linked or not: actors' cars the
    // linkage never considered count as missed pairs.
    let universe = store.vehicles.filter { !r.model.rentalOnly || $0.keeper == .rental }.map(\.id)
    // Actors' vehicles with too few trips are not candidates: they count as missed pairs.
    let all = Array(Set(universe).union(truth.keys)).sorted()
    return LinkageScores.score(groups: r.groups, truth: truth, universe: all)
  }

  /// Re-groups at each threshold (links scored once) and scores each.
  public static func curve(model: LinkageModel, store: ReadStore, clock: LocalClock, truth: [String: String],
                           thresholds: [Double]) throws -> [Point] {
    try thresholds.map { t in
      var m = model
      m.threshold = t
      let r = try m.link(store: store, clock: clock)
      return Point(threshold: t, scores: score(r, truth: truth, store: store), groups: r.groups.count)
    }
  }
}

extension LinkageEvaluation {
  /// Similarity of true same-actor pairs against the strongest other pairs (a diagnostic for tuning).
  public static func diagnostics(model: LinkageModel, store: ReadStore, clock: LocalClock, truth: [String: String]) throws -> String {
    let (cands, sig, pool) = model.features(store: store, clock: clock)
    guard cands.count >= 2 else { return "fewer than two candidate vehicles" }
    let x = pool.rows(0..<cands.count)
    let sims = try BLAS.multiply(x, x, transposeB: true)
    if let dump = ProcessInfo.processInfo.environment["ANPR_LINK_DUMP"] {
      // Developer diagnostics (input of Benchmarks/linkage-weights.py): per candidate its id, true actor,
      // visits, first and last time, then its weighted, centred feature row.
      var t = "id,actor,visits,first,last," + (0..<sig.layout.dimension).map { "f\($0)" }.joined(separator: ",") + "\n"
      for (r, v) in cands.enumerated() {
        t += "\(store.vehicles[v].id),\(truth[store.vehicles[v].id] ?? ""),\(sig.trips[r]),\(sig.firstSeen[r]),\(sig.lastSeen[r]),"
        t += (0..<sig.layout.dimension).map { String(x[r, $0]) }.joined(separator: ",") + "\n"
      }
      try? t.write(toFile: dump, atomically: true, encoding: .utf8)
    }
    var same: [Double] = [], diff: [Double] = []
    for i in 0..<cands.count {
      for j in (i + 1)..<cands.count {
        let a = truth[store.vehicles[cands[i]].id], b = truth[store.vehicles[cands[j]].id]
        if let a, let b, a == b { same.append(sims[i, j]) } else { diff.append(sims[i, j]) }
      }
    }
    same.sort(); diff.sort(by: >)
    func q(_ a: [Double], _ f: Double) -> Double { a.isEmpty ? .nan : a[min(a.count - 1, Int(f * Double(a.count)))] }
    return String(format: "same-actor pairs: %d, similarity median %.2f (10%% %.2f); other pairs: %d, top %.2f, 99.9%% %.2f",
                  same.count, q(same, 0.5), q(same, 0.1), diff.count, diff.first ?? .nan, q(diff, 0.001))
  }
}
