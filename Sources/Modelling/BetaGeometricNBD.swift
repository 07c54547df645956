import Foundation

/// The BG/NBD model of repeat visits (Fader, Hardie & Lee 2005, "Counting your customers the easy
/// way"): while a subject is active it visits as a Poisson process of rate λ ~ Gamma(r, α); after each
/// repeat visit it stops for good with probability p ~ Beta(a, b). Learned from how many subjects of a
/// population came back, how often and how lately, it says of one subject how likely it is still
/// active — a vehicle seen on two days a month ago is probably a visitor who has gone — and how likely
/// it is to visit within a period. Time is in the caller's unit (days in ANPRKit). Checked against the
/// `lifetimes` package (`Tests/RoutesTests/Fixtures/make_bgnbd_reference.py`).
public struct BetaGeometricNBD: Codable, Sendable, Equatable {
  /// Shape and rate of the gamma distribution of visit rates.
  public var r: Double, alpha: Double
  /// The beta distribution of the chance of stopping after a repeat visit.
  public var a: Double, b: Double

  public init(r: Double, alpha: Double, a: Double, b: Double) { self.r = r; self.alpha = alpha; self.a = a; self.b = b }

  /// What the model knows of one subject: its repeat visits after the first (`x`), the time from the
  /// first visit to the last (`recency`, t_x) and from the first visit to the end of the data (`age`, T).
  public struct Subject: Hashable, Sendable {
    public var x: Int, recency: Double, age: Double
    public init(x: Int, recency: Double, age: Double) { self.x = x; self.recency = recency; self.age = age }
  }

  /// log L of one subject (equation 6 of the paper, the form `lifetimes` computes), and its gradient
  /// with respect to (log r, log α, log a, log b).
  public func logLikelihood(_ s: Subject) -> (value: Double, gradient: [Double]) {
    let x = Double(s.x), rx = r + x
    let a1 = lgamma(rx) - lgamma(r) + r * log(alpha)
    let a2 = lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x)
    let a3 = -rx * log(alpha + s.age)
    var value = a1 + a2 + a3
    // d/dr, d/dα, d/da, d/db of a1 + a2, then of the log-sum term.
    let psi = CountResponse.digamma
    var g = [psi(rx) - psi(r) + log(alpha), r / alpha,
             psi(a + b) - psi(a + b + x), psi(a + b) + psi(b + x) - psi(b) - psi(a + b + x)]
    let d3 = [-log(alpha + s.age), -rx / (alpha + s.age), 0, 0]
    if s.x > 0 {
      let a4 = log(a) - log(b + x - 1) - rx * log(alpha + s.recency)
      let m = max(a3, a4)
      let e3 = exp(a3 - m), e4 = exp(a4 - m)
      value += m + log(e3 + e4) - a3
      let w3 = e3 / (e3 + e4), w4 = 1 - w3
      let d4 = [-log(alpha + s.recency), -rx / (alpha + s.recency), 1 / a, -1 / (b + x - 1)]
      for k in 0..<4 { g[k] += w3 * d3[k] + w4 * d4[k] }
    } else {
      for k in 0..<4 { g[k] += d3[k] }
    }
    let scale = [r, alpha, a, b]
    return (value, (0..<4).map { g[$0] * scale[$0] })
  }

  /// P(the subject is still active at the end of its data).
  public func probabilityActive(_ s: Subject) -> Double {
    guard s.x > 0 else { return 1 }
    let x = Double(s.x)
    let odds = exp(log(a) - log(b + x - 1) + (r + x) * (log(alpha + s.age) - log(alpha + s.recency)))
    return 1 / (1 + odds)
  }

  /// P(at least one visit within `period` after the end of the subject's data): active, and the first
  /// visit of a Poisson process whose rate has the posterior Gamma(r + x, α + T) comes in time (a
  /// subject stops only after a visit, so the first visit of the period is not cut short).
  public func probabilityOfVisit(within period: Double, _ s: Subject) -> Double {
    let rx = r + Double(s.x)
    return probabilityActive(s) * (1 - exp(rx * (log(alpha + s.age) - log(alpha + s.age + period))))
  }

  /// The maximum-likelihood fit over `subjects` (damped Newton steps on the log parameters, the Hessian
  /// from differences of the exact gradient), starting from r = α = a = b = 1 as `lifetimes` does.
  /// - Throws: `FitError.noData` when fewer than two subjects came back (nothing to learn a stopping
  ///   chance from), `FitError.numerical` when 200 steps do not settle.
  public static func fit(_ subjects: [Subject]) throws -> BetaGeometricNBD {
    // Equal subjects once, with their number, in a fixed order (the sums do not depend on the input's).
    var counts: [Subject: Double] = [:]
    for s in subjects { counts[s, default: 0] += 1 }
    let distinct = counts.keys.sorted { ($0.x, $0.recency, $0.age) < ($1.x, $1.recency, $1.age) }
    let weights = distinct.map { counts[$0]! }
    guard subjects.filter({ $0.x > 0 }).count >= 2 else {
      throw FitError.noData("fewer than two subjects came back: no chance of stopping to learn")
    }
    guard subjects.allSatisfy({ $0.x >= 0 && $0.recency >= 0 && $0.age >= $0.recency && $0.age > 0 && $0.age.isFinite }) else {
      throw FitError.noData("a subject's times are not 0 ≤ recency ≤ age with age > 0")
    }
    let total = weights.reduce(0, +)
    func model(_ t: [Double]) -> BetaGeometricNBD { BetaGeometricNBD(r: exp(t[0]), alpha: exp(t[1]), a: exp(t[2]), b: exp(t[3])) }
    /// The mean log-likelihood and its gradient at log parameters `t`.
    func evaluate(_ t: [Double]) -> (Double, [Double]) {
      let m = model(t)
      var value = 0.0, g = [Double](repeating: 0, count: 4)
      for (s, w) in zip(distinct, weights) {
        let (v, gs) = m.logLikelihood(s)
        value += w * v
        for k in 0..<4 { g[k] += w * gs[k] }
      }
      return (value / total, g.map { $0 / total })
    }
    var t = [Double](repeating: 0, count: 4)
    var (value, g) = evaluate(t)
    var damping = 1e-3
    for _ in 0..<200 {
      // Hessian by central differences of the gradient, symmetrised.
      var h = [[Double]](repeating: [Double](repeating: 0, count: 4), count: 4)
      for k in 0..<4 {
        let e = 1e-5
        var up = t, down = t
        up[k] += e; down[k] -= e
        let gu = evaluate(up).1, gd = evaluate(down).1
        for j in 0..<4 { h[j][k] = (gu[j] - gd[j]) / (2 * e) }
      }
      for j in 0..<4 { for k in 0..<j { let m = (h[j][k] + h[k][j]) / 2; h[j][k] = m; h[k][j] = m } }
      var improved = false
      while damping < 1e12 {
        // (−H + μ·diag) δ = g: Newton's step when −H is positive definite, gradient ascent as μ grows.
        var m = h.map { $0.map { -$0 } }
        for k in 0..<4 { m[k][k] += damping * max(abs(h[k][k]), 1e-8) }
        if let step = solve4(m, g) {
          let trial = (0..<4).map { min(max(t[$0] + step[$0], -20), 20) }
          let (v, gt) = evaluate(trial)
          if v.isFinite && v >= value {
            let moved = zip(trial, t).map { abs($0 - $1) }.max()!
            t = trial; g = gt
            let gain = v - value
            value = v
            damping = max(damping / 10, 1e-9)
            improved = true
            if gain < 1e-13 && moved < 1e-8 || g.map(abs).max()! < 1e-10 { return model(t) }
            break
          }
        }
        damping *= 10
      }
      if !improved { return model(t) }  // no step raises the likelihood: at the maximum to rounding
    }
    throw FitError.numerical("the BG/NBD fit did not settle in 200 steps")
  }
}

/// Solves the 4 × 4 system `m x = v` by Cholesky (nil when `m` is not positive definite).
private func solve4(_ m: [[Double]], _ v: [Double]) -> [Double]? {
  var l = [[Double]](repeating: [Double](repeating: 0, count: 4), count: 4)
  for i in 0..<4 {
    for j in 0...i {
      var s = m[i][j]
      for k in 0..<j { s -= l[i][k] * l[j][k] }
      if i == j {
        guard s > 0 else { return nil }
        l[i][i] = s.squareRoot()
      } else {
        l[i][j] = s / l[j][j]
      }
    }
  }
  var y = [Double](repeating: 0, count: 4)
  for i in 0..<4 { var s = v[i]; for k in 0..<i { s -= l[i][k] * y[k] }; y[i] = s / l[i][i] }
  var x = [Double](repeating: 0, count: 4)
  for i in (0..<4).reversed() { var s = y[i]; for k in (i + 1)..<4 { s -= l[k][i] * x[k] }; x[i] = s / l[i][i] }
  return x
}
