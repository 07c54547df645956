import Foundation
import Linalg
import Modelling

/// The probability that a pair at a given similarity is one actor, learned from the store: Efron's
/// local false-discovery rate, fdr(z) = π₀ f₀(z) / f(z) (Efron 2001, "Empirical Bayes analysis of a
/// microarray experiment"; Efron 2010, *Large-Scale Inference*, ch. 5), π₀ = 1 (the conservative bound:
/// nearly every pair of hire-car uses is two people), in z = atanh(similarity).
///
/// - f₀, the similarity of pairs that cannot be one driver (in use at the same time), is their empirical
///   distribution below its 95th percentile and a generalised Pareto tail above it (Pickands 1975), fitted
///   by Zhang & Stephens' (2009) estimator when there are 50 exceedances or more (else exponential), the
///   shape kept ≥ 0 (never thinner than exponential: a fitted end point would make every pair beyond it
///   certain). The normal fitted to the null before understated its tail by orders of magnitude
///   on an independent generator's towns (the top 0.1% of null pairs lay 5 standard deviations out) and
///   stated 0.999 for links of which 63% were right.
/// - f, the density of the open pairs (those a link could join), is Lindsey's method as in Efron's
///   `locfdr`: their histogram in 120 bins (fewer below 600 pairs), smoothed by a Poisson regression on a
///   degree-7 polynomial of the bin centre (the project's IRLS), so a bin that is lucky by a few pairs
///   does not set a link's confidence.
///
/// The fdr of a bin is the null's expected count there (open pairs × the null's probability of the bin)
/// over the smoothed count, made non-increasing in z by pooling adjacent violators weighted by the
/// smoothed counts, and interpolated between bin centres; 1 − fdr is the probability of one actor.
public struct LocalFDR: Codable, Sendable, Equatable {
  /// The null's median, the start of its tail (z), the share of null pairs above it, and the generalised
  /// Pareto tail's shape ξ ≥ 0 and scale σ.
  public var nullMedian: Double, tailStart: Double, tailShare: Double, tailShape: Double, tailScale: Double
  /// The null spread was widened by this factor to the open pairs' bulk (1: not widened).
  public var widening: Double
  public var nullPairs: Int, openPairs: Int
  /// 1 − fdr at evenly spaced bin centres (z) from `firstCentre`, non-decreasing.
  var firstCentre = 0.0, binWidth = 1.0
  var probabilities: [Double] = []

  static func z(_ s: Double) -> Double { atanh(min(max(s, -0.999999), 0.999999)) }

  public init?(null: [Double], open: [Double]) {
    guard null.count >= 2, open.count >= 2 else { return nil }
    var zn = null.map(Self.z).sorted()
    let zo = open.map(Self.z).sorted()
    func quantile(_ x: [Double], _ q: Double) -> Double {
      let h = q * Double(x.count - 1), k = Int(h.rounded(.down)), f = h - Double(k)
      return k + 1 < x.count ? x[k] * (1 - f) + x[k + 1] * f : x[k]
    }
    // Efron's empirical-null check: when the bulk of the open pairs (nearly all two people) is wider
    // than the null's, the null is widened about its median to match, so its tail is never thinner
    // than what the town shows.
    let median0 = quantile(zn, 0.5)
    let spread0 = quantile(zn, 0.75) - quantile(zn, 0.25), spreadOpen = quantile(zo, 0.75) - quantile(zo, 0.25)
    let widen = spread0 > 0 && spreadOpen > spread0 ? spreadOpen / spread0 : 1
    if widen > 1 { zn = zn.map { median0 + ($0 - median0) * widen } }
    // The tail: the top 5% of null pairs (at least 10 of them when there are 20 or more, at most half),
    // its mass the share of null pairs above its start.
    let u = quantile(zn, 1 - min(0.5, max(0.05, 10 / Double(zn.count))))
    let exceedances = zn.filter { $0 > u }.map { $0 - u }
    let share = Double(exceedances.count) / Double(zn.count)
    // The shape needs many exceedances to be told from 0 (with 10–20 of them its estimate swings from
    // thin to very heavy); with fewer than 50 the tail is exponential, σ their mean excess.
    let meanExcess = exceedances.reduce(0, +) / Double(max(1, exceedances.count))
    guard exceedances.count >= 2, meanExcess > 0 else { return nil }
    let tail = exceedances.count >= 50 ? Self.generalisedPareto(exceedances) : nil
    let (xi, sigma) = (max(0, tail?.shape ?? 0), (tail?.shape ?? 0) > 0 ? tail!.scale : meanExcess)
    // The null's survival function: generalised Pareto above the tail's start; below it the empirical
    // distribution, linear between the null pairs (so a bin narrower than their spacing does not get a
    // count of 0 or 1 by where the pairs happen to fall).
    func survival(_ z: Double) -> Double {
      if z > u { let x = z - u; return share * (xi > 1e-9 ? pow(1 + xi * x / sigma, -1 / xi) : exp(-x / sigma)) }
      var lo = 0, hi = zn.count
      while lo < hi { let mid = (lo + hi) / 2; if zn[mid] <= z { lo = mid + 1 } else { hi = mid } }
      // zn[lo − 1] ≤ z < zn[lo]: the distribution function rises from lo/n to (lo + 1)/n between them.
      guard lo > 0 else { return 1 }
      let f = lo < zn.count && zn[lo] > zn[lo - 1] ? (z - zn[lo - 1]) / (zn[lo] - zn[lo - 1]) : 0
      return max(share, 1 - (Double(lo) + f) / Double(zn.count))
    }
    // Lindsey's method: the open pairs' histogram over their whole range, smoothed by a Poisson
    // regression on a polynomial of the bin centre (scaled to −1…1); bins and degree fewer when there are
    // few pairs. (Cutting the range at the 99.9% quantile, against an outlier stretching the bins, cut
    // off the one-actor pairs, which are the top of it: F1 0.150 → 0.104 on the other generator's design
    // towns.)
    let bins = max(8, min(120, zo.count / 5)), degree = min(7, bins / 4)
    let low = zo.first!, width = max(1e-9, zo.last! - low) / Double(bins)
    var counts = [Double](repeating: 0, count: bins)
    for z in zo { counts[min(bins - 1, Int((z - low) / width))] += 1 }
    let centres = (0..<bins).map { low + (Double($0) + 0.5) * width }
    let mid = (centres.first! + centres.last!) / 2, half = max(1e-12, (centres.last! - centres.first!) / 2)
    var design = Matrix(rows: bins, columns: degree + 1)
    for b in 0..<bins { let x = (centres[b] - mid) / half; for k in 0...degree { design[b, k] = pow(x, Double(k)) } }
    // The raw counts when the regression fails or does not converge.
    var smoothed = counts
    if let fit = try? LogLinearGLM(family: .poisson, ridge: 1e-8).fit(design, counts), fit.diagnostics.converged {
      let fitted = (0..<bins).map { b in exp((0...degree).reduce(0) { $0 + design[b, $1] * fit.coefficients[$1] }) }
      if fitted.allSatisfy(\.isFinite) { smoothed = fitted }
    }
    // fdr per bin from the null's median up, then pooled adjacent violators (non-increasing in z).
    let fdr = (0..<bins).map { b -> Double in
      let (a, c) = (low + Double(b) * width, low + Double(b + 1) * width)
      guard centres[b] >= median0, smoothed[b] > 0 else { return 1 }
      return min(1, Double(zo.count) * (survival(a) - survival(c)) / smoothed[b])
    }
    var pools: [(sum: Double, weight: Double, count: Int)] = []
    for b in 0..<bins {
      pools.append((fdr[b] * smoothed[b], smoothed[b], 1))
      while pools.count > 1 {
        let last = pools[pools.count - 1], before = pools[pools.count - 2]
        let violates = before.weight <= 0 || last.weight <= 0 || before.sum / before.weight < last.sum / last.weight
        guard violates else { break }
        pools.removeLast()
        pools[pools.count - 1] = (before.sum + last.sum, before.weight + last.weight, before.count + last.count)
      }
    }
    var pooled: [Double] = []
    for p in pools { pooled += Array(repeating: p.weight > 0 ? p.sum / p.weight : 1, count: p.count) }
    nullMedian = median0; tailStart = u; tailShare = share; tailShape = xi; tailScale = sigma; widening = widen
    nullPairs = null.count; openPairs = open.count
    firstCentre = centres[0]; binWidth = width
    probabilities = pooled.map { 1 - $0 }
  }

  /// Shape ξ and scale σ of a generalised Pareto distribution, P(X > x) = (1 + ξx/σ)^(−1/ξ), fitted to
  /// positive exceedances by Zhang & Stephens' (2009) empirical-Bayes estimator (as `arviz`'s `_gpdfit`,
  /// without its prior on ξ, which suits importance ratios). Nil with fewer than two distinct positive
  /// exceedances.
  public static func generalisedPareto(_ exceedances: [Double]) -> (shape: Double, scale: Double)? {
    let x = exceedances.sorted(), n = x.count
    guard n >= 2, x.last! > 0, x.first! >= 0, x.first! < x.last! else { return nil }
    let m = 30 + Int(Double(n).squareRoot())
    let quartile = x[max(0, Int(Double(n) / 4 + 0.5) - 1)]
    guard quartile > 0 else { return nil }
    // Candidate θ = −b on a grid, each with its profile log-likelihood, averaged with posterior weights.
    var b: [Double] = []
    for j in 1...m {
      let step: Double = (1 - (Double(m) / (Double(j) - 0.5)).squareRoot()) / (3 * quartile)
      b.append(1 / x[n - 1] + step)
    }
    func k(_ bj: Double) -> Double {
      var total = 0.0
      for v in x { total += log1p(-bj * v) }
      return total / Double(n)
    }
    var logLikelihood: [Double] = []
    for bj in b { let kj = k(bj); logLikelihood.append(Double(n) * (log(-bj / kj) - kj - 1)) }
    guard logLikelihood.allSatisfy({ $0.isFinite }) else { return nil }
    var bPosterior = 0.0, weightSum = 0.0
    for (j, lj) in logLikelihood.enumerated() {
      var denominator = 0.0
      for li in logLikelihood { denominator += exp(li - lj) }
      bPosterior += b[j] / denominator; weightSum += 1 / denominator
    }
    bPosterior /= weightSum
    let kPosterior = k(bPosterior)
    let scale = -kPosterior / bPosterior
    let shape = kPosterior
    guard scale > 0, scale.isFinite, shape.isFinite else { return nil }
    return (shape, scale)
  }

  /// 1 − fdr(s) at similarity s, non-decreasing in s (interpolated between bin centres; 0 below the
  /// null's median, the last bin's value beyond the last).
  public func probability(_ s: Double) -> Double {
    let z = Self.z(s)
    guard !probabilities.isEmpty, z >= nullMedian else { return 0 }
    let x = (z - firstCentre) / binWidth
    if x <= 0 { return probabilities[0] }
    let k = Int(x.rounded(.down))
    guard k + 1 < probabilities.count else { return probabilities[probabilities.count - 1] }
    let f = x - Double(k)
    return probabilities[k] * (1 - f) + probabilities[k + 1] * f
  }

  public var description: String {
    String(format: "link confidence = 1 − local fdr in z = atanh(similarity): null from %d pairs in use at the same time (median %.3f; above %.3f ",
           nullPairs, nullMedian, tailStart)
      + (tailShape > 0 ? String(format: "a generalised Pareto tail, shape %.2f, scale %.3f", tailShape, tailScale)
                       : String(format: "an exponential tail, scale %.3f", tailScale))
      + (widening > 1 ? String(format: "; widened ×%.2f to the open pairs' bulk", widening) : "")
      + "), against the smoothed density of \(openPairs) pairs that could be linked"
  }
}
