import Foundation

/// The probability that a pair at a given similarity is one actor, learned from the store: Efron's
/// local false-discovery rate, fdr(s) = π₀ f₀(s) / f(s) (Efron 2001, "Empirical Bayes analysis of a
/// microarray experiment"). f₀, the similarity of pairs that cannot be one driver (in use at the same
/// time), is a normal fitted to their Fisher-transformed similarities (z = atanh s), so its tail is
/// defined beyond the largest null pair seen; f, the similarity of the pairs a link could join, is a
/// Gaussian kernel density of theirs (Silverman's bandwidth) in the same z. π₀ = 1, the conservative
/// bound (nearly every pair of hire-car uses is two people). The probability of one actor is 1 − fdr,
/// made non-decreasing in s.
public struct LocalFDR: Codable, Sendable, Equatable {
  public var nullMean: Double, nullSD: Double
  public var nullPairs: Int, openPairs: Int
  /// Open pairs' z values, sorted, and the kernel bandwidth.
  var open: [Double]
  var bandwidth: Double
  /// 1 − fdr on a grid of similarity (`tableFrom` + k × `tableStep`), made non-decreasing.
  var table: [Double] = []
  var tableFrom = -1.0, tableStep = 0.001

  static func z(_ s: Double) -> Double { atanh(min(max(s, -0.999999), 0.999999)) }

  public init?(null: [Double], open: [Double]) {
    guard null.count >= 2, open.count >= 2 else { return nil }
    let zn = null.map(Self.z), zo = open.map(Self.z).sorted()
    // The null normal: the pairs in use at the same time, widened to the bulk of the open pairs when
    // theirs is wider (Efron's empirical null: centre and robust spread of the open pairs, nearly all of
    // which are two people), so that the null's tail is never thinner than what the town shows.
    let m0 = zn.reduce(0, +) / Double(zn.count)
    let s0 = (zn.reduce(0) { $0 + ($1 - m0) * ($1 - m0) } / Double(zn.count - 1)).squareRoot()
    let median = zo[zo.count / 2], robust = (zo[zo.count * 3 / 4] - zo[zo.count / 4]) / 1.349
    let (mean, sd) = robust > s0 ? (median, robust) : (m0, s0)
    guard sd > 0 else { return nil }
    nullMean = mean; nullSD = sd; nullPairs = null.count; openPairs = open.count
    self.open = zo
    let m = zo.reduce(0, +) / Double(zo.count)
    let sdo = (zo.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(zo.count - 1)).squareRoot()
    let iqr = zo[zo.count * 3 / 4] - zo[zo.count / 4]
    let spread = min(sdo, iqr > 0 ? iqr / 1.34 : sdo)
    bandwidth = max(0.9 * max(spread, 1e-3) * pow(Double(zo.count), -0.2), 1e-3)
    // The table: fdr on similarities −1…1 in steps of 0.001, its running minimum from the null's mean up
    // (below the mean, fdr is 1: nothing there is evidence of one driver).
    var fdr = 1.0
    let sMean = tanh(nullMean)
    table = (0...2000).map { k in
      let s = -1 + Double(k) * 0.001
      guard s >= sMean else { return 0 }
      let d = densities(Self.z(s))
      fdr = min(fdr, d.open > 0 ? min(1, d.null / d.open) : 1)
      return 1 - fdr
    }
  }

  /// f₀ and f at z (both densities in z; the Jacobian of z(s) cancels in the ratio).
  func densities(_ z: Double) -> (null: Double, open: Double) {
    let u = (z - nullMean) / nullSD
    let f0 = exp(-0.5 * u * u) / (nullSD * (2 * Double.pi).squareRoot())
    // Kernel sum over the open pairs within 8 bandwidths.
    var lo = 0, hi = open.count
    while lo < hi { let mid = (lo + hi) / 2; if open[mid] < z - 8 * bandwidth { lo = mid + 1 } else { hi = mid } }
    var f = 0.0, k = lo
    while k < open.count && open[k] <= z + 8 * bandwidth { let v = (z - open[k]) / bandwidth; f += exp(-0.5 * v * v); k += 1 }
    f /= Double(open.count) * bandwidth * (2 * Double.pi).squareRoot()
    return (f0, f)
  }

  /// 1 − fdr(s) at similarity s, not decreasing in s (from the table, interpolated).
  public func probability(_ s: Double) -> Double {
    let x = (min(max(s, -1), 1) - tableFrom) / tableStep
    let k = min(table.count - 2, Int(x.rounded(.down)))
    let f = x - Double(k)
    return table[k] * (1 - f) + table[k + 1] * f
  }

  public var description: String {
    String(format: "link confidence = 1 − local fdr: null normal in z = atanh(similarity), mean %.3f, sd %.3f, from %d pairs in use at the same time; density of %d pairs that could be linked",
           nullMean, nullSD, nullPairs, openPairs)
  }
}
