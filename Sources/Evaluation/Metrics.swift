import Foundation
import Hotspots
import Modelling

/// Hotspot forecast metrics for one window (forecast vs what happened), hand-checkable:
/// - hit rate at coverage c: share of held-out events in the top ⌈c·N⌉ units by forecast;
/// - PAI (Chainey, Tompson & Uhlig 2008): hit rate ÷ share of area (here: share of units, or of cells);
/// - PEI* (Hunt 2016): hits ÷ the most hits any choice of the same number of units could get;
/// - log score: mean Poisson (or NB) log-likelihood per unit-bin; deviance: mean Poisson deviance.
public enum HotspotMetrics {
  /// Number of units in the top `coverage` share (at least 1).
  public static func topCount(_ n: Int, coverage: Double) -> Int { max(1, Int((coverage * Double(n)).rounded(.up))) }

  /// Units ranked by forecast (ties by index, so the ranking is deterministic; scores do not use this
  /// order for ties: see `expectedHits`).
  public static func ranking(_ forecast: [Double]) -> [Int] {
    forecast.indices.sorted { forecast[$0] != forecast[$1] ? forecast[$0] > forecast[$1] : $0 < $1 }
  }

  /// Expected events in the top `k` units when units tied on the forecast at the cut are chosen at
  /// random (Adepeju, Rosser & Cheng 2016): units above the cut count whole, each of the `m` units tied
  /// at it counts `r / m` for the `r` places left. Breaking ties by unit order instead favoured
  /// whichever units came first (a zero forecast everywhere "hit" the first units' events).
  public static func expectedHits(forecast: [Double], actual: [Double], k: Int) -> Double {
    guard k > 0, !forecast.isEmpty else { return 0 }
    let order = ranking(forecast)
    let cut = forecast[order[min(k, order.count) - 1]]
    var above = 0.0, aboveCount = 0, tied = 0.0, tiedCount = 0
    for (f, a) in zip(forecast, actual) {
      if f > cut { above += a; aboveCount += 1 } else if f == cut { tied += a; tiedCount += 1 }
    }
    let places = min(k, order.count) - aboveCount
    return above + (tiedCount > 0 ? tied * Double(places) / Double(tiedCount) : 0)
  }

  public static func hitRate(forecast: [Double], actual: [Double], coverage: Double) -> Double {
    let total = actual.reduce(0, +)
    guard total > 0 else { return .nan }
    let k = topCount(forecast.count, coverage: coverage)
    return expectedHits(forecast: forecast, actual: actual, k: k) / total
  }

  public static func pai(forecast: [Double], actual: [Double], coverage: Double) -> Double {
    let k = topCount(forecast.count, coverage: coverage)
    return hitRate(forecast: forecast, actual: actual, coverage: coverage) / (Double(k) / Double(forecast.count))
  }

  public static func peiStar(forecast: [Double], actual: [Double], coverage: Double) -> Double {
    let k = topCount(forecast.count, coverage: coverage)
    let best = actual.sorted(by: >).prefix(k).reduce(0, +)
    guard best > 0 else { return .nan }
    return expectedHits(forecast: forecast, actual: actual, k: k) / best
  }

  /// Mean log predictive probability per cell (Poisson, or NB2 with dispersion α), floor 1e-12 on μ.
  public static func logScore(expected: [Double], actual: [Double], alpha: Double = 0) -> Double {
    var s = 0.0
    for (m0, y) in zip(expected, actual) {
      let m = max(m0, 1e-12)
      if alpha > 0 {
        let r = 1 / alpha
        s += lgamma(y + r) - lgamma(r) - lgamma(y + 1) + r * log(r / (r + m)) + y * log(m / (r + m))
      } else {
        s += y * log(m) - m - lgamma(y + 1)
      }
    }
    return s / Double(max(1, expected.count))
  }

  public static func deviance(expected: [Double], actual: [Double]) -> Double {
    var d = 0.0
    for (m0, y) in zip(expected, actual) {
      let m = max(m0, 1e-12)
      d += 2 * ((y > 0 ? y * log(y / m) : 0) - (y - m))
    }
    return d / Double(max(1, expected.count))
  }

  /// Two-sided N-test p-value (Schorlemmer et al. 2007): is the observed total plausible under the
  /// forecast's predictive distribution of the total? Poisson with the forecast total when the cells are
  /// Poisson (`alpha` 0); with NB2 cells of dispersion `alpha`, the total's variance is Σμ + αΣμ²
  /// (`sumOfSquaredMeans` = Σμ²), matched by an NB2 of the same mean and variance — summed exactly up
  /// to a total of 10⁵, beyond that by its normal approximation. A shared window factor of variance
  /// `windowAlpha` (τ²) adds τ²(M² + αΣμ²) (`HotspotForecast.sumAlpha`).
  public static func nTest(expectedTotal m: Double, observedTotal: Double, alpha: Double = 0, sumOfSquaredMeans s: Double = 0, windowAlpha: Double = 0) -> Double {
    nTest(expectedTotal: m, observedTotal: observedTotal, totalAlpha: m > 0 ? (alpha * s + windowAlpha * (m * m + alpha * s)) / (m * m) : 0)
  }

  /// The N-test with the total's predictive distribution NB2(`expectedTotal`, `totalAlpha`), Poisson at 0.
  public static func nTest(expectedTotal: Double, observedTotal y: Double, totalAlpha: Double) -> Double {
    let observedTotal = y.rounded(.down)
    if totalAlpha > 0, max(observedTotal, expectedTotal) > 100_000 {
      let variance = expectedTotal + totalAlpha * expectedTotal * expectedTotal
      let z = (observedTotal - expectedTotal) / variance.squareRoot()
      return min(1, erfc(abs(z) / 2.0.squareRoot()))
    }
    let lo = CountDistribution.cdf(observedTotal, mean: expectedTotal, alpha: totalAlpha)
    let hi = totalAlpha > 0 ? (observedTotal <= 0 ? 1 : 1 - CountDistribution.cdf(observedTotal - 1, mean: expectedTotal, alpha: totalAlpha))
                            : CountDistribution.poissonUpperTail(observedTotal, mean: expectedTotal)  // accurate in the far tail
    return min(1, 2 * min(lo, hi))
  }

  /// The non-randomised PIT histogram of count forecasts (Czado, Gneiting & Held 2009, "Predictive model
  /// assessment for count data", Biometrics 65): for a cell with predictive CDF P and count y, the PIT is
  /// uniform on [P(y − 1), P(y)]; the histogram is the mean over cells of that uniform's mass in each of
  /// `bins` equal bins of [0, 1]. A calibrated forecast gives 1/`bins` in every bin; a U shape says the
  /// intervals are too narrow (counts fall in the tails too often), a hump that they are too wide, a
  /// slope that the forecast is biased. Each cell is NB2 with dispersion `alpha` (Poisson at 0).
  public static func pitHistogram(expected: [Double], actual: [Double], alpha: Double, bins: Int = 10) -> [Double] {
    var h = [Double](repeating: 0, count: bins)
    guard !expected.isEmpty else { return h }
    func cdf(_ k: Double, _ m: Double) -> Double { CountDistribution.cdf(k, mean: m, alpha: alpha) }
    for (m, y0) in zip(expected, actual) {
      let y = y0.rounded(.down)
      let lo = y > 0 ? cdf(y - 1, m) : 0, hi = max(lo, cdf(y, m))
      if hi - lo < 1e-12 {
        h[min(bins - 1, Int(lo * Double(bins)))] += 1
        continue
      }
      for j in 0..<bins {
        let a = Double(j) / Double(bins), b = Double(j + 1) / Double(bins)
        let overlap = min(b, hi) - max(a, lo)
        if overlap > 0 { h[j] += overlap / (hi - lo) }
      }
    }
    return h.map { $0 / Double(expected.count) }
  }

  /// Observed vs predicted by decile of predicted (unit-bin cells), for calibration plots.
  public static func calibration(expected: [Double], actual: [Double], groups: Int = 10) -> [(predicted: Double, observed: Double)] {
    let order = expected.indices.sorted { expected[$0] < expected[$1] }
    guard !order.isEmpty else { return [] }
    return (0..<groups).compactMap { g in
      let a = g * order.count / groups, b = (g + 1) * order.count / groups
      guard b > a else { return nil }
      let idx = order[a..<b]
      return (idx.reduce(0) { $0 + expected[$1] } / Double(idx.count), idx.reduce(0) { $0 + actual[$1] } / Double(idx.count))
    }
  }
}

/// A metric's value over windows with a bootstrap percentile interval.
public struct Estimate: Codable, Sendable, Equatable {
  public var value: Double
  public var ciLow: Double
  public var ciHigh: Double
  public var fractionOfOracle: Double?

  enum CodingKeys: String, CodingKey { case value, ciLow = "ci_low", ciHigh = "ci_high", fractionOfOracle = "fraction_of_oracle" }
}

public enum Bootstrap {
  /// Mean of `xs` (NaNs dropped) with a 95% percentile interval from `resamples` resamples (seeded):
  /// the ratio of sums with every window weighing 1.
  public static func mean(_ xs: [Double], resamples: Int = 2000, seed: UInt64 = 1) -> Estimate {
    ratio(xs, [Double](repeating: 1, count: xs.count), resamples: resamples, seed: seed)
  }

  /// Ratio of sums Σx / Σy over windows (pairs with a NaN dropped) with a 95% percentile interval from
  /// resampling the windows (seeded): a pooled rate, e.g. events hit over events in all windows.
  public static func ratio(_ x0: [Double], _ y0: [Double], resamples: Int = 2000, seed: UInt64 = 1) -> Estimate {
    let pairs = zip(x0, y0).filter { !$0.0.isNaN && !$0.1.isNaN }
    let sy = pairs.reduce(0) { $0 + $1.1 }
    guard sy > 0 else { return Estimate(value: .nan, ciLow: .nan, ciHigh: .nan) }
    let r = pairs.reduce(0) { $0 + $1.0 } / sy
    guard pairs.count > 1 else { return Estimate(value: r, ciLow: r, ciHigh: r) }
    var rng = SeededRNG(seed: seed)
    var ratios: [Double] = []
    ratios.reserveCapacity(resamples)
    for _ in 0..<resamples {
      var a = 0.0, b = 0.0
      for _ in pairs.indices { let p = pairs[Int(rng.next() % UInt64(pairs.count))]; a += p.0; b += p.1 }
      ratios.append(b > 0 ? a / b : r)
    }
    ratios.sort()
    return Estimate(value: r, ciLow: ratios[Int(0.025 * Double(resamples))], ciHigh: ratios[min(resamples - 1, Int(0.975 * Double(resamples)))])
  }

  /// Paired bootstrap of the mean difference a − b over windows: (mean difference, 95% CI, two-sided p).
  public static func paired(_ a: [Double], _ b: [Double], resamples: Int = 2000, seed: UInt64 = 2) -> (difference: Estimate, p: Double) {
    let d = zip(a, b).map { $0 - $1 }.filter { !$0.isNaN }
    let e = mean(d, resamples: resamples, seed: seed)
    guard d.count > 1 else { return (e, 1) }
    var rng = SeededRNG(seed: seed &+ 7)
    var below = 0
    let centred = d.map { $0 - e.value }  // resample under H0: mean difference 0
    for _ in 0..<resamples {
      var s = 0.0
      for _ in d.indices { s += centred[Int(rng.next() % UInt64(d.count))] }
      if abs(s / Double(d.count)) >= abs(e.value) { below += 1 }
    }
    return (e, Double(below + 1) / Double(resamples + 1))
  }
}
