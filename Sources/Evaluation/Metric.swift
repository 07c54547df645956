import Foundation

/// A score the backtests report: its name in tables and files, which way is better, and whether a
/// fraction of the oracle's score means something (a ratio of non-negative scores, higher better).
/// Scores are keyed by `name` in window scores and files; tables, reports and the comparison's ratio
/// and lower-is-better sets take their names from here.
public struct Metric: Hashable, Sendable, Comparable, CustomStringConvertible {
  public let name: String
  public let higherIsBetter: Bool
  /// The oracle fraction (`value / oracle's value`) is shown for it.
  public let isRatio: Bool

  init(_ name: String, higherIsBetter: Bool = true, isRatio: Bool = false) {
    self.name = name; self.higherIsBetter = higherIsBetter; self.isRatio = isRatio
  }
  public var description: String { name }
  public static func < (a: Metric, b: Metric) -> Bool { a.name < b.name }

  // Hotspot metrics.
  /// Share of the window's target counts in the top `coverage` of places (`hit_rate@10%`); the
  /// percentage is rounded, not truncated (0.57 is 57%).
  public static func hitRate(coverage: Double) -> Metric {
    Metric("hit_rate@\(Int((coverage * 100).rounded()))%", isRatio: true)
  }
  public static let pai10 = Metric("pai@10%", isRatio: true)
  public static let peiStar10 = Metric("pei*@10%", isRatio: true)
  public static let logScore = Metric("log_score")
  public static let deviance = Metric("deviance", higherIsBetter: false)
  public static let nTestP = Metric("n_test_p")
  /// 1 when the window's observed total lies inside the forecast's central 90% interval for it (N-test
  /// p ≥ 0.1), else 0: its mean over windows is the interval's coverage (0.9 when calibrated).
  public static let nTestIn90 = Metric("n_test_in90")
  // Route metrics.
  public static let top1 = Metric("top1", isRatio: true)
  public static let top3 = Metric("top3", isRatio: true)
  public static let mrr = Metric("mrr", isRatio: true)
  public static let logLoss = Metric("log_loss", higherIsBetter: false)
  public static let arrivalError = Metric("arrival_abs_error_min", higherIsBetter: false)
  public static let arrivalCoverage80 = Metric("arrival_coverage80")
  public static let endBrier = Metric("end_brier", higherIsBetter: false)
  // Next-appearance metrics.
  public static func hit(at k: Int) -> Metric { Metric("hit@\(k)", isRatio: true) }
  public static let hourHit3 = Metric("hour_hit@3", isRatio: true)
  public static let siteHit1 = Metric("site_hit@1", isRatio: true)
  public static let seen7Brier = Metric("seen7_brier", higherIsBetter: false)
  /// The next visit's stop site among the 3 sites forecast likeliest (over visits with a stop).
  public static let stopHit3 = Metric("stop_hit@3", isRatio: true)
  /// Σ over sites of (P(stops there) − stopped there)², for every visit that came.
  public static let stopBrier = Metric("stop_brier", higherIsBetter: false)

  /// The hotspot table's metrics, in order.
  public static let hotspotTable: [Metric] = [hitRate(coverage: 0.05), hitRate(coverage: 0.10), hitRate(coverage: 0.20), pai10, peiStar10,
                                              logScore, deviance, nTestP, nTestIn90]
  /// Coverages of the hit-rate curve in reports (each a `hitRate(coverage:)` every window is scored on).
  public static let hitRateCurve: [Double] = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
  /// The hit rate pooled over windows, as open_cp's `evaluation.hit_counts` summed: the target counts
  /// in the top-k% units of every window over all the target counts (a busy window weighs more).
  public static func pooledHitRate(coverage c: Double) -> Metric { Metric("hit_rate_pooled@" + Metric.hitRate(coverage: c).name.split(separator: "@").last!) }
  public static let routeTable: [Metric] = [top1, top3, mrr, logLoss, arrivalError, arrivalCoverage80, endBrier]
  public static let nextAppearanceTable: [Metric] = [hit(at: 1), hit(at: 3), hit(at: 10), hourHit3, siteHit1, logScore, seen7Brier, arrivalCoverage80,
                                                     stopHit3, stopBrier]

  /// The columns a printed comparison shows for each family (the full sets are in the CSV and JSON).
  public static let hotspotSummary: [Metric] = [hitRate(coverage: 0.10), pai10, peiStar10, logScore, nTestP, nTestIn90]
  public static let routeSummary: [Metric] = [top1, top3, mrr, logLoss, arrivalError, arrivalCoverage80]

  /// Every metric a backtest writes.
  public static let all: [Metric] = Array(Set(hotspotTable + hitRateCurve.map(hitRate(coverage:)) + routeTable + nextAppearanceTable)).sorted()

  /// The metric of a name as written in tables and files (nil for names this version does not know).
  public static func named(_ name: String) -> Metric? { all.first { $0.name == name } }
}

/// Predicted against observed counts per group of cells ordered by prediction (quintiles), for a
/// calibration plot: a field of its own beside the metrics, not five pairs of pseudo-metrics.
public struct CalibrationPoint: Codable, Sendable, Equatable {
  public var predicted: Double
  public var observed: Double
  public init(predicted: Double, observed: Double) { self.predicted = predicted; self.observed = observed }

  /// The mean per group over windows (windows with a different number of groups are left out).
  public static func mean(_ windows: [[CalibrationPoint]]) -> [CalibrationPoint]? {
    let finite = windows.filter { $0.allSatisfy { $0.predicted.isFinite && $0.observed.isFinite } }
    guard let p = elementwiseMean(finite.map { $0.map(\.predicted) }, length: windows.first?.count),
          let o = elementwiseMean(finite.map { $0.map(\.observed) }, length: windows.first?.count) else { return nil }
    return zip(p, o).map { CalibrationPoint(predicted: $0, observed: $1) }
  }
}

/// The element-wise mean of equal-length arrays (one per window): arrays of another length than
/// `length` (default: the first's) are left out; nil when none is left or they are empty.
public func elementwiseMean(_ arrays: [[Double]], length: Int? = nil) -> [Double]? {
  guard let n = length ?? arrays.first?.count, n > 0 else { return nil }
  let same = arrays.filter { $0.count == n }
  guard !same.isEmpty else { return nil }
  return (0..<n).map { j in same.reduce(0) { $0 + $1[j] } / Double(same.count) }
}
