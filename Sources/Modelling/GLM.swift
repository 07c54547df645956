import Foundation
import Linalg

/// Convergence and fit facts every fitted model carries.
public struct FitDiagnostics: Codable, Sendable, Equatable {
  public var converged: Bool
  public var iterations: Int
  public var deviance: Double
  public var nullDeviance: Double
  public var logLikelihood: Double
  public var observations: Int
  public var parameters: Int
  /// Plain-language notes: separation, all-zero units, non-convergence, ...
  public var notes: [String]

  public init(converged: Bool, iterations: Int, deviance: Double, nullDeviance: Double, logLikelihood: Double,
              observations: Int, parameters: Int, notes: [String] = []) {
    self.converged = converged; self.iterations = iterations; self.deviance = deviance; self.nullDeviance = nullDeviance
    self.logLikelihood = logLikelihood; self.observations = observations; self.parameters = parameters; self.notes = notes
  }
}

/// Why a fit could not be made at all (as opposed to a fit that made it with notes).
public enum FitError: Error, CustomStringConvertible, Equatable {
  case noData(String)
  case collinear(String)
  case invalidSpec(String)
  case numerical(String)
  public var description: String {
    switch self {
    case .noData(let m): return "cannot fit: \(m)"
    case .collinear(let m): return "cannot fit: \(m)"
    case .invalidSpec(let m): return "invalid model spec: \(m)"
    case .numerical(let m): return "numerical failure: \(m)"
    }
  }
}

/// A generalised linear model with log link, fitted by iteratively reweighted least squares:
/// Poisson, or negative binomial (NB2, Var = μ + αμ²) with α estimated by maximum likelihood.
///
/// ```
/// η = Xβ + offset,  μ = exp(η),  W = w·μ(1 + αy)/(1 + αμ)²,  z = η − offset + (y − μ)(1 + αμ)/(μ(1 + αy))
/// β ← (XᵀWX + λP)⁻¹ XᵀWz        (P = identity on penalised columns)
/// ```
/// (Newton's step: W is the observed information, which for the Poisson, α = 0, is the expected one.)
/// XᵀWX is formed by `dsyrk` on √W·X and solved by Cholesky (`dpotrf`/`dpotrs`); standard errors
/// are √diag((XᵀWX + λP)⁻¹) (`dpotri`) with the expected information's W = w·μ/(1 + αμ) at the optimum.
/// References: McCullagh & Nelder (1989) *Generalized Linear Models*, 2nd ed., ch. 2;
/// Hilbe (2011) *Negative Binomial Regression*, ch. 8 (NB2 by ML).
public struct LogLinearGLM: Sendable {
  public enum Family: String, Codable, Sendable { case poisson, negativeBinomial = "negative-binomial" }
  public var family: Family = .poisson
  /// L2 penalty on columns `penalised` (0 = plain maximum likelihood).
  public var ridge = 0.0
  public var maxIterations = 100
  /// Relative change in deviance that ends IRLS.
  public var tolerance = 1e-10
  /// Whether to compute the standard errors (one more pass over the design and an inverse) and the
  /// diagnostics' deviance, null deviance and log-likelihood (a pass with a logarithm per row each); a
  /// fit used only for its forecasts skips them and reports NaN.
  public var standardErrors = true
  public init(family: Family = .poisson, ridge: Double = 0, maxIterations: Int = 100, tolerance: Double = 1e-10) {
    self.family = family; self.ridge = ridge; self.maxIterations = maxIterations; self.tolerance = tolerance
  }

  public struct Result: Sendable, Codable {
    public var coefficients: [Double]
    public var standardErrors: [Double]
    /// NB2 dispersion α (0 for Poisson).
    public var alpha: Double
    public var diagnostics: FitDiagnostics
  }

  /// Fits `y ~ X` with an optional offset and prior weights, X a dense matrix.
  /// - Parameters:
  ///   - penalised: columns the ridge applies to (default: all but column 0, the intercept).
  /// - Throws: `FitError.noData` (no rows, negative or non-finite y), `.collinear` (XᵀWX singular: a
  ///   constant or duplicated column), `.numerical`.
  public func fit(_ x: Matrix, _ y: [Double], offset: [Double]? = nil, weights: [Double]? = nil,
                  penalised: [Int]? = nil) throws(FitError) -> Result {
    try fit(design: DenseDesign(x), y, offset: offset, weights: weights, penalised: penalised)
  }

  /// The one IRLS, on any design that can form XᵀWX and Xβ: a dense matrix, or a factor design that
  /// never forms its one-hot columns. Poisson, or NB2 with α by maximum likelihood: after the first
  /// step, Newton's steps in (β, log α) together (`jointStep`).
  /// - Parameter start: coefficients (and NB2 α) to start from, e.g. the fit on a shorter history of the
  ///   same design; IRLS then needs fewer steps to the same optimum.
  public func fit<D: GLMDesign>(design x: D, _ y: [Double], offset: [Double]? = nil, weights: [Double]? = nil,
                                penalised: [Int]? = nil, start: (coefficients: [Double], alpha: Double)? = nil) throws(FitError) -> Result {
    guard x.rows > 0, y.count == x.rows else { throw .noData("\(x.rows) rows in the design, \(y.count) counts") }
    guard y.allSatisfy({ $0 >= 0 && $0.isFinite }) else { throw .noData("counts must be finite and non-negative") }
    guard (weights?.count ?? y.count) == y.count, weights?.allSatisfy({ $0 >= 0 && $0.isFinite }) ?? true else {
      throw .noData("offset and weights need one finite value per row (weights non-negative)")
    }
    return try fit(design: x, CountResponse(counts: y, weights: weights), offset: offset, penalised: penalised, start: start)
  }

  /// The IRLS on design rows that each stand for a group of observations with the same covariates and
  /// offset (`CountResponse`): the same coefficients, standard errors, deviance and likelihood as the
  /// rows one by one, at the cost of the groups. Sparse event grids collapse most of their cell-days
  /// (zero counts, no recent activity) into a few rows per cell.
  public func fit<D: GLMDesign>(design x: D, _ response: CountResponse, offset: [Double]? = nil,
                                penalised: [Int]? = nil, start: (coefficients: [Double], alpha: Double)? = nil) throws(FitError) -> Result {
    let n = x.rows, p = x.columns
    guard n > 0, response.totals.count == n, response.sizes.count == n else {
      throw .noData("\(n) rows in the design, \(response.totals.count) counts")
    }
    let off = offset ?? Array(repeating: 0, count: n)
    guard off.count == n, off.allSatisfy(\.isFinite) else { throw .noData("offset needs one finite value per row") }
    let w = response.sizes
    let y = response.means
    let pen = penalised ?? Array(1..<max(1, p))
    var alpha = family == .negativeBinomial ? 0.1 : 0.0
    let ybar = response.totals.reduce(0, +) / max(w.reduce(0, +), .leastNormalMagnitude)
    var mu = y.map { ($0 + ybar) / 2 + 1e-3 }
    var eta = mu.map(log)  // η for the starting μ, offset included
    var beta = [Double](repeating: 0, count: p)
    let warm = start.map { $0.coefficients.count == p && $0.coefficients.allSatisfy(\.isFinite) } ?? false
    if let start, warm {
      beta = start.coefficients
      (eta, mu) = Self.meanAt(x, beta, offset: off)
      if family == .negativeBinomial, start.alpha.isFinite, start.alpha > 0 { alpha = start.alpha }
    }
    var dev = response.deviance(mu, alpha: alpha)
    var converged = false
    var iterations = 0
    var notes: [String] = []
    func penalty(_ b: [Double]) -> Double { ridge * pen.reduce(0) { $0 + b[$1] * b[$1] } }
    // NB2: the first step (from a start that is not a point of the model) is a β step with α then
    // maximised given μ; after it — and from a warm start — each step is Newton's in (β, log α) together
    // (`jointStep`), which converges quadratically where updating β and α in turn converged linearly
    // (each step cut α's change by only ~0.1 on overdispersed event grids).
    var devCurrent = true  // whether `dev` is the deviance at the current μ and α
    var devScale = dev  // the deviance when last computed: the yardstick of the joint steps' convergence test
    var profileHere: CountResponse.AlphaProfile? = nil  // α's profile at the current point, when a joint step left it
    for it in 1...maxIterations {
      iterations += 1
      // Weighted least squares step.
      var wi = [Double](repeating: 0, count: n), z = wi
      // Newton's step for β at the current α. The log link is canonical for the Poisson, where the
      // expected information is the observed one; for NB2 it is not, and Fisher scoring (weights
      // μ/(1 + αμ)) converges only linearly — ~10× a step on overdispersed event grids. The observed
      // information's weights μ(1 + αy)/(1 + αμ)² are positive too (so the weighted least squares stays
      // positive definite), and the step is Newton's: the NB fit on the SEPP benchmark takes 5.4
      // iterations a window instead of 7.3. (Standard errors still use the expected information.)
      for i in 0..<n {
        let a = 1 + alpha * mu[i], b = 1 + alpha * y[i]
        wi[i] = w[i] * mu[i] * b / (a * a)
        z[i] = eta[i] - off[i] + (y[i] - mu[i]) * a / (mu[i] * b)
      }
      if family == .negativeBinomial && (warm || iterations > 1),
         let taken = try jointStep(x, response, weights: wi, z: z, beta: beta, eta: eta, mu: mu, offset: off, alpha: alpha,
                                   profile: profileHere, penalty: penalty, penalised: pen) {
        let previous = alpha
        beta = taken.beta; eta = taken.eta; mu = taken.mu; alpha = taken.alpha
        profileHere = taken.profile
        devCurrent = false
        // Relative to the deviance (as the β steps' test), not to −2ℓ, which is larger.
        let scale = abs(devScale) + 0.1
        if taken.decrease / scale < tolerance && abs(alpha - previous) / max(previous, 1e-8) < 1e-9 { converged = true; break }
        // Converged when the next step would change the objective and α by less than the tolerances:
        // that step is taken as it is (with this step's factor, no line search), which leaves the
        // point as close to the optimum as one more full iteration would have.
        if taken.nextDecrease / scale < tolerance && abs(taken.nextLogAlpha) < 1e-9 {
          for j in 0..<p { beta[j] += taken.nextBeta[j] }
          alpha = min(max(alpha * exp(taken.nextLogAlpha), exp(-20)), exp(5))
          (eta, mu) = Self.meanAt(x, beta, offset: off)
          converged = true; break
        }
        continue
      }
      profileHere = nil
      if !devCurrent { dev = response.deviance(mu, alpha: alpha); devCurrent = true }
      var newBeta = try x.solvePenalised(weights: wi, z: z, ridge: ridge, penalised: pen)
      // Step halving if the penalised deviance got worse.
      var step = 1.0
      var newDev = Double.infinity
      var newEta = eta, newMu = mu
      // A step within rounding of the old objective is taken as it is (near the optimum the full
      // step can come out a few ulps worse, and halving it twenty times bought nothing). The first
      // step is always taken whole: the starting μ is not a point of the model (β = 0 does not give
      // it), so its deviance is no yardstick; comparing with it halved the first step twenty times
      // to nothing and wasted the iteration.
      let objective = iterations == 1 && !warm ? Double.infinity : dev + penalty(beta)
      for _ in 0..<30 {
        let b = zip(beta, newBeta).map { $0 + step * ($1 - $0) }
        var e = x.linearPredictor(b)
        for i in 0..<n { e[i] += off[i] }
        let m = e.map { exp(min($0, 700)) }
        let d = response.deviance(m, alpha: alpha) + penalty(b)
        if d.isFinite && d <= objective + 1e-10 * (abs(objective) + 1) || step < 1e-6 {
          newBeta = b; newDev = d - penalty(b); newEta = e; newMu = m
          break
        }
        step /= 2
      }
      let change = abs(newDev - dev) / (abs(newDev) + 0.1)
      beta = newBeta; eta = newEta; mu = newMu.map { max($0, 1e-300) }; dev = newDev
      var alphaChange = 0.0
      if family == .negativeBinomial {
        let before = alpha
        alpha = response.maximiseAlpha(mu, start: alpha)
        dev = response.deviance(mu, alpha: alpha)
        alphaChange = abs(alpha - before) / max(before, 1e-8)
      }
      devScale = dev
      if change < tolerance && alphaChange < 1e-9 { converged = true; break }
      if it == maxIterations { converged = false }
    }
    if standardErrors && !devCurrent { dev = response.deviance(mu, alpha: alpha) }
    if !converged { notes.append("IRLS did not converge in \(maxIterations) iterations; results are the last iterate") }
    if let big = beta.indices.dropFirst().first(where: { abs(beta[$0]) > 25 }) {
      notes.append("coefficient \(big) is \(String(format: "%.1f", beta[big])): likely separation (a level with all-zero counts); set ridge > 0")
    }
    // Final Fisher information at the optimum.
    var se = [Double](repeating: .nan, count: p)
    if standardErrors {
      let fisher = (0..<n).map { w[$0] * mu[$0] / (1 + alpha * mu[$0]) }
      if let d = x.penalisedInverseDiagonal(weights: fisher, ridge: ridge, penalised: pen) { se = d.map { $0.squareRoot() } }
    }
    return Result(
      coefficients: beta, standardErrors: se, alpha: alpha,
      diagnostics: FitDiagnostics(
        converged: converged, iterations: iterations, deviance: standardErrors ? dev : .nan,
        nullDeviance: standardErrors ? response.deviance([Double](repeating: ybar, count: n), alpha: alpha) : .nan,
        logLikelihood: standardErrors ? response.logLikelihood(mu, alpha: alpha) : .nan, observations: response.observations,
        parameters: p + (family == .negativeBinomial ? 1 : 0), notes: notes))
  }
}

extension LogLinearGLM {
  /// η = Xβ + offset and μ = e^η (η capped at 700, μ kept above 10⁻³⁰⁰).
  static func meanAt<D: GLMDesign>(_ x: D, _ beta: [Double], offset: [Double]) -> (eta: [Double], mu: [Double]) {
    var eta = x.linearPredictor(beta)
    for i in eta.indices { eta[i] += offset[i] }
    return (eta, eta.map { max(exp(min($0, 700)), 1e-300) })
  }

  /// Where a joint step for NB2 took the fit, and what the next step would do.
  struct JointStep {
    var beta: [Double], eta: [Double], mu: [Double], alpha: Double
    /// α's profile at the new point (where the next step starts).
    var profile: CountResponse.AlphaProfile
    /// −2ℓ + penalty at the new point, and how much the step lowered it.
    var objective: Double, decrease: Double
    /// The next Newton step from the new point, with this step's factored Hessian (a chord step): the
    /// coefficients' and log α's moves, and the fall of −2ℓ + penalty it promises (the Newton decrement
    /// λ² = gᵀ(−H)⁻¹g).
    var nextBeta: [Double], nextLogAlpha: Double, nextDecrease: Double
  }

  /// Newton's step for NB2 in (β, t = log α) together, from β (with η = Xβ + offset and μ = e^η): with
  /// A = XᵀWX + λ (the observed-information weights `weights`), the cross derivative c = ∂²ℓ/∂β∂t =
  /// Xᵀ[−w(y − μ)αμ/(1 + αμ)²], and ℓ's gradient g_t and curvature h_t in t (`alphaProfile`), the step is
  /// Δt = −(g_t + cᵀΔβ₀)/(h_t + cᵀA⁻¹c) and Δβ = Δβ₀ + A⁻¹c Δt, where Δβ₀ = A⁻¹g_β is the β step at
  /// fixed α; A is factored once for both right-hand sides, and again used for the chord step from the
  /// new point (`JointStep.next…`), which tells the caller when the fit has converged without another
  /// factorisation. Halved until −2ℓ + penalty does not rise. Nil — and the caller then steps β and
  /// maximises α in turn — when the joint Hessian is not negative definite there (h_t + cᵀA⁻¹c ≥ 0),
  /// when the step would move log α by more than ¼, or when thirty halvings do not help. `profile` is α's
  /// profile at β when the last step left it there (`JointStep.profile`), else it is computed.
  func jointStep<D: GLMDesign>(_ x: D, _ response: CountResponse, weights wi: [Double], z: [Double], beta: [Double],
                               eta: [Double], mu: [Double], offset off: [Double], alpha: Double, profile: CountResponse.AlphaProfile? = nil,
                               penalty: ([Double]) -> Double, penalised pen: [Int]) throws(FitError) -> JointStep? {
    let n = x.rows, p = x.columns, w = response.sizes, totals = response.totals
    var d = [Double](repeating: 0, count: n)
    for i in 0..<n {
      let a = 1 + alpha * mu[i]
      d[i] = -(totals[i] - w[i] * mu[i]) * alpha * mu[i] / (a * a)
    }
    let c = x.transposeTimes(d)
    let system = try x.factorPenalised(weights: wi, z: z, ridge: ridge, penalised: pen)
    let v = try system.solve(c)
    let t = log(alpha)
    let here = profile ?? response.alphaProfile(mu, logAlpha: t)
    var cv = 0.0
    for j in 0..<p { cv += c[j] * v[j] }
    let schur = here.curvature + cv
    guard schur < 0, schur.isFinite, here.gradient.isFinite else { return nil }
    // Given A⁻¹g_β and g_t, the joint Newton step (Δβ, Δt).
    func newton(_ stepBeta: [Double], _ gradientT: Double) -> ([Double], Double) {
      var cStep = 0.0
      for j in 0..<p { cStep += c[j] * stepBeta[j] }
      let dt = -(gradientT + cStep) / schur
      return ((0..<p).map { stepBeta[$0] + v[$0] * dt }, dt)
    }
    // log α stays in maximiseAlpha's range; β follows the t step taken.
    let lo = -20.0, hi = 5.0
    var (db, dt) = newton((0..<p).map { system.beta[$0] - beta[$0] }, here.gradient)
    // Far from α's optimum (a Newton step of over ¼ in log α) the caller's search on α alone gets
    // there at once: on counts that are not overdispersed, α's optimum is its lower bound, the
    // likelihood is flat in α there, and Newton in log α would move it by about −0.4 a step.
    guard abs(dt) <= 0.25 else { return nil }
    let limited = min(max(t + dt, lo), hi) - t
    if limited != dt { for j in 0..<p { db[j] += v[j] * (limited - dt) }; dt = limited }
    // −2ℓ + penalty from the profile's likelihood and the Σ y log μ it leaves out (y log μ = y η).
    func objective(_ profile: CountResponse.AlphaProfile, _ b: [Double], _ e: [Double]) -> Double {
      var yEta = 0.0
      for i in 0..<n where totals[i] > 0 { yEta += totals[i] * e[i] }
      return -2 * (profile.logLikelihood + yEta) + penalty(b)
    }
    let current = objective(here, beta, eta)
    var step = 1.0
    for _ in 0..<30 {
      let b = (0..<p).map { beta[$0] + step * db[$0] }
      let (e, m) = Self.meanAt(x, b, offset: off)
      let newT = t + step * dt
      let profile = response.alphaProfile(m, logAlpha: newT)
      let f = objective(profile, b, e)
      if f.isFinite && f <= current + 1e-10 * (abs(current) + 1) {
        // The gradient at the new point: g_β = Xᵀ[(y − μ)/(1 + αμ)] less the ridge's pull, g_t from the profile.
        let newAlpha = exp(newT)
        var score = [Double](repeating: 0, count: n)
        for i in 0..<n { score[i] = (totals[i] - w[i] * m[i]) / (1 + newAlpha * m[i]) }
        var g = x.transposeTimes(score)
        for j in pen { g[j] -= ridge * b[j] }
        let (nb, nt) = newton(try system.solve(g), profile.gradient)
        var decrement = profile.gradient * nt
        for j in 0..<p { decrement += g[j] * nb[j] }
        return JointStep(beta: b, eta: e, mu: m, alpha: newAlpha, profile: profile, objective: f, decrease: max(0, current - f),
                         nextBeta: nb, nextLogAlpha: nt, nextDecrease: max(0, decrement))
      }
      step /= 2
    }
    return nil
  }
}

/// Counts for a log-linear GLM, one entry per design row, where a design row may stand for a group of
/// observations that share covariates and offset: the group's size (or summed prior weight) and its
/// weighted total. The IRLS needs only these; the likelihood and deviance also need the distinct
/// individual counts, kept once for all rows as a weighted frequency table (`values`, `valueWeights`),
/// since Σᵢ f(yᵢ) over the rows is Σ_v (weight of v) · f(v).
public struct CountResponse: Sendable {
  /// Σ wᵢyᵢ over each design row's observations.
  public var totals: [Double]
  /// Σ wᵢ over each design row's observations (the number of them without prior weights).
  public var sizes: [Double]
  /// The distinct individual counts, ascending, and the summed weight of the observations with each.
  public var values: [Double]
  public var valueWeights: [Double]
  /// Observations the groups stand for.
  public var observations: Int

  /// One observation per design row, with prior weights (1 when nil).
  public init(counts y: [Double], weights: [Double]? = nil) {
    let w = weights ?? [Double](repeating: 1, count: y.count)
    totals = zip(y, w).map { $0 * $1 }
    sizes = w
    observations = y.count
    var byValue: [Double: Double] = [:]
    for (v, wi) in zip(y, w) { byValue[v, default: 0] += wi }
    values = byValue.keys.sorted()
    valueWeights = values.map { byValue[$0]! }
  }

  /// Groups given directly: per design row its summed count and size, and the weighted frequency of
  /// each distinct individual count over all observations.
  public init(totals: [Double], sizes: [Double], frequencies: [Double: Double], observations: Int) {
    self.totals = totals; self.sizes = sizes; self.observations = observations
    values = frequencies.keys.sorted()
    valueWeights = values.map { frequencies[$0]! }
  }

  /// Each design row's mean count (0 for a row of no weight).
  public var means: [Double] { zip(totals, sizes).map { $1 > 0 ? $0 / $1 : 0 } }

  /// Σ w·unit deviance at means μ (one per design row): the groups' part plus the individual counts'.
  /// Unit deviance: Poisson 2[y log(y/μ) − (y − μ)]; NB2 2[y log(y/μ) − (y + 1/α) log((1 + αy)/(1 + αμ))].
  public func deviance(_ mu: [Double], alpha: Double) -> Double {
    var d = 0.0
    if alpha > 0 {
      let r = 1 / alpha
      for (v, f) in zip(values, valueWeights) where v > 0 { d += f * (v * log(v) - (v + r) * log(1 + alpha * v)) }
      for g in mu.indices where sizes[g] > 0 {
        d += (totals[g] + r * sizes[g]) * log(1 + alpha * mu[g]) - (totals[g] > 0 ? totals[g] * log(mu[g]) : 0)
      }
    } else {
      for (v, f) in zip(values, valueWeights) where v > 0 { d += f * v * log(v) }
      for g in mu.indices where sizes[g] > 0 {
        d += sizes[g] * mu[g] - totals[g] - (totals[g] > 0 ? totals[g] * log(mu[g]) : 0)
      }
    }
    return 2 * d
  }

  /// Log-likelihood at means μ, Poisson (α = 0) or NB2.
  public func logLikelihood(_ mu: [Double], alpha: Double) -> Double {
    var l = 0.0
    if alpha > 0 {
      let r = 1 / alpha, lr: Double = lgamma(r)
      for (v, f) in zip(values, valueWeights) { l += f * (lgamma(v + r) - lr - lgamma(v + 1)) }
      for g in mu.indices where sizes[g] > 0 {
        l += sizes[g] * r * log(r / (r + mu[g])) + (totals[g] > 0 ? totals[g] * log(mu[g] / (r + mu[g])) : 0)
      }
    } else {
      for (v, f) in zip(values, valueWeights) { l -= f * lgamma(v + 1) }
      for g in mu.indices where sizes[g] > 0 { l += (totals[g] > 0 ? totals[g] * log(mu[g]) : 0) - sizes[g] * mu[g] }
    }
    return l
  }

  /// NB2 α maximising the log-likelihood given μ: Newton's method on log α from `start`, using the
  /// score and its derivative (digamma differences summed over the distinct counts), kept inside
  /// [e⁻²⁰, e⁵] and to steps that do not lower the likelihood; golden-section search on log α over that
  /// range when Newton does not settle (the likelihood is unimodal in α for NB2). Each trial point is
  /// evaluated once for the likelihood, score and curvature together (`AlphaProfile`), so a Newton
  /// step costs one logarithm per design row.
  public func maximiseAlpha(_ mu: [Double], start: Double) -> Double {
    let lo = -20.0, hi = 5.0
    var t = min(max(log(start.isFinite && start > 0 ? start : 0.1), lo), hi)
    var current = alphaProfile(mu, logAlpha: t)
    for _ in 0..<100 {
      let (g, h) = (current.gradient, current.curvature)
      guard g.isFinite, h.isFinite else { break }
      if h < 0 && abs(g / h) < 1e-11 { return exp(t) }
      // Newton where the likelihood is concave in log α, else a unit step uphill.
      var step = h < 0 ? -g / h : (g > 0 ? 1 : -1)
      step = max(-2, min(2, step))
      var moved = false
      for _ in 0..<40 {
        let next = min(max(t + step, lo), hi)
        let trial = alphaProfile(mu, logAlpha: next)
        if trial.logLikelihood >= current.logLikelihood - 1e-12 * abs(current.logLikelihood) {
          moved = next != t
          if abs(next - t) < 1e-12 { return exp(next) }
          t = next; current = trial
          break
        }
        step /= 2
      }
      if !moved { break }
      if t == lo || t == hi { break }
    }
    return goldenSectionAlpha(mu, lo: lo, hi: hi)
  }

  /// The NB2 log-likelihood at α = e^t up to a term that does not depend on α (Σ yᵢ log μᵢ), with its
  /// first and second derivatives in log α: one pass over the rows, one logarithm each. With r = 1/α,
  /// s = r + μ and q = log(s/r) = log1p(μ/r), per design row of n observations summing to y:
  /// ℓ = −n r q − y (log r + q) (+ y log μ, left out), ℓ′(r) = −n q + (n μ − y)/s and
  /// ℓ″(r) = n (1/r − 1/s) − (n μ − y)/s², plus the distinct counts' lgamma and digamma terms;
  /// d/d(log α) = −r d/dr, so the gradient is −rℓ′ and the curvature rℓ′ + r²ℓ″. (q is log s − log r,
  /// or log1p(μ/r) where μ < r/1000 — near α's lower bound — so that it does not cancel.)
  func alphaProfile(_ mu: [Double], logAlpha t: Double) -> AlphaProfile {
    let r = exp(-t), logR = -t, lr: Double = lgamma(r)
    var l = 0.0, d1 = 0.0, d2 = 0.0
    for (v, f) in zip(values, valueWeights) where f > 0 {
      l += f * (lgamma(v + r) - lr - lgamma(v + 1))
      guard v > 0 else { continue }
      let (a, b) = Self.digammaDifference(v, r)
      d1 += f * a; d2 += f * b
    }
    for g in mu.indices where sizes[g] > 0 {
      let n = sizes[g], m = mu[g], yt = totals[g], s = r + m
      let q = m < 1e-3 * r ? log1p(m / r) : log(s) - logR
      l += -n * r * q - yt * (logR + q)
      d1 += -n * q + (n * m - yt) / s
      d2 += n * (1 / r - 1 / s) - (n * m - yt) / (s * s)
    }
    return AlphaProfile(logLikelihood: l, gradient: -r * d1, curvature: r * d1 + r * r * d2)
  }

  /// `alphaProfile`'s result.
  struct AlphaProfile { var logLikelihood: Double, gradient: Double, curvature: Double }

  /// ψ(v + r) − ψ(r) and ψ′(v + r) − ψ′(r): summed exactly for whole v up to 10⁴, else by the
  /// asymptotic series.
  static func digammaDifference(_ v: Double, _ r: Double) -> (Double, Double) {
    if v == v.rounded(.down) && v <= 10_000 {
      var a = 0.0, b = 0.0
      var k = 0.0
      while k < v { let x = r + k; a += 1 / x; b -= 1 / (x * x); k += 1 }
      return (a, b)
    }
    return (digamma(v + r) - digamma(r), trigamma(v + r) - trigamma(r))
  }

  /// ψ(x) for x > 0: recurrence up to x ≥ 15, then the asymptotic series (error below 10⁻¹⁵).
  static func digamma(_ x: Double) -> Double {
    var x = x, acc = 0.0
    while x < 15 { acc -= 1 / x; x += 1 }
    let f = 1 / (x * x)
    return acc + log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))))
  }

  /// ψ′(x) for x > 0: recurrence up to x ≥ 15, then the asymptotic series (error below 10⁻¹⁵).
  static func trigamma(_ x: Double) -> Double {
    var x = x, acc = 0.0
    while x < 15 { acc += 1 / (x * x); x += 1 }
    let f = 1 / (x * x)
    return acc + 1 / x + f / 2 + (f / x) * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f / 30)))
  }

  /// Golden-section search for the α maximising the likelihood, on log α in [lo, hi].
  func goldenSectionAlpha(_ mu: [Double], lo: Double, hi: Double) -> Double {
    func ll(_ la: Double) -> Double { alphaProfile(mu, logAlpha: la).logLikelihood }
    var a = lo, b = hi
    let g = (5.0.squareRoot() - 1) / 2
    var c = b - g * (b - a), d = a + g * (b - a)
    var fc = ll(c), fd = ll(d)
    for _ in 0..<200 {
      if fc > fd { b = d; d = c; fd = fc; c = b - g * (b - a); fc = ll(c) }
      else { a = c; c = d; fc = fd; d = a + g * (b - a); fd = ll(d) }
      if b - a < 1e-12 { break }
    }
    return exp((a + b) / 2)
  }
}

/// Poisson and negative-binomial predictive distributions: quantiles (forecast intervals) and tails (tests).
public enum CountDistribution {
  /// Overdispersion of counts `y` around forecast means `mu` (both given, nothing refitted): the NB2 α
  /// maximising the likelihood, and the likelihood-ratio statistic 2 (ℓ_NB(α̂) − ℓ_Poisson). α = 0 lies
  /// on the boundary, so the statistic is referred to ½χ²₀ + ½χ²₁: overdispersion at the 5% level when it
  /// exceeds 2.706. `alpha` is 0 when that test does not find it.
  public static func overdispersion(_ y: [Double], _ mu: [Double]) -> (alpha: Double, statistic: Double) {
    guard !y.isEmpty else { return (0, 0) }
    let m = mu.map { max($0, 1e-9) }, counts = CountResponse(counts: y)
    let a = counts.maximiseAlpha(m, start: 0.1)
    let stat = 2 * (counts.logLikelihood(m, alpha: a) - counts.logLikelihood(m, alpha: 0))
    return (stat > 2.706 && a.isFinite ? a : 0, max(0, stat))
  }

  /// P(X ≤ k) for X ~ NB2(mean, α), Poisson when α is 0; k is floored (a weighted count of 2.7 is at
  /// most 2 whole events).
  public static func cdf(_ k: Double, mean: Double, alpha: Double) -> Double {
    let whole = k.rounded(.down)
    return alpha > 0 ? negativeBinomialCDF(whole, mean: mean, alpha: alpha) : poissonCDF(whole, mean: mean)
  }

  /// P(X ≤ k) for X ~ Poisson(λ).
  public static func poissonCDF(_ k: Double, mean lambda: Double) -> Double {
    if k < 0 { return 0 }
    if lambda <= 0 { return 1 }
    return min(1, 1 - poissonUpperTail(k + 1, mean: lambda))
  }

  /// P(X ≥ k) for X ~ Poisson(λ), summed in log space from k upwards (accurate for tiny tails).
  public static func poissonUpperTail(_ k: Double, mean lambda: Double) -> Double {
    if k <= 0 { return 1 }
    if lambda <= 0 { return 0 }
    var logTerm = k * log(lambda) - lambda - lgamma(k + 1)
    var sum = 0.0, i = k
    for _ in 0..<100_000 {
      let t = exp(logTerm)
      sum += t
      if t < sum * 1e-16 && i > lambda { break }
      i += 1
      logTerm += log(lambda) - log(i)
    }
    return min(1, sum)
  }

  /// P(X ≤ k) for X ~ NB2(mean, α), summed from 0 (k up to about 10⁵).
  public static func negativeBinomialCDF(_ k: Double, mean: Double, alpha: Double) -> Double {
    if k < 0 { return 0 }
    if mean <= 0 { return 1 }
    let r = 1 / alpha
    var logp = r * log(r / (r + mean)), cdf = 0.0, i = 0.0
    while i <= k {
      cdf += exp(logp)
      logp += log((i + r) / (i + 1)) + log(mean / (r + mean))
      i += 1
    }
    return min(1, cdf)
  }

  /// Smallest k with P(X ≤ k) ≥ q for X ~ Poisson(λ) (or NB2(λ, α) when α > 0).
  public static func quantile(_ q: Double, mean: Double, alpha: Double = 0) -> Double {
    if mean <= 0 { return 0 }
    var k = 0.0
    var cdf = 0.0
    let r = alpha > 0 ? 1 / alpha : 0
    var logp = alpha > 0 ? r * log(r / (r + mean)) : -mean
    let limit = mean * 20 + 100
    while k < limit {
      cdf += exp(logp)
      if cdf >= q - 1e-12 { return k }
      if alpha > 0 { logp += log((k + r) / (k + 1)) + log(mean / (r + mean)) }
      else { logp += log(mean / (k + 1)) }
      k += 1
    }
    return k
  }
}

/// What IRLS needs of a design matrix X: its shape, XᵀWX and XᵀWz for diagonal weights W, and Xβ.
public protocol GLMDesign {
  var rows: Int { get }
  var columns: Int { get }
  /// XᵀWX (columns × columns, symmetric, both triangles filled) and XᵀWz.
  func weightedGram(weights: [Double], z: [Double]) throws(FitError) -> (Matrix, [Double])
  /// Xβ.
  func linearPredictor(_ beta: [Double]) -> [Double]
  /// XᵀWX + λ on the `penalised` diagonal, factored: β solving (XᵀWX + λ) β = XᵀWz, and the factor
  /// for further right-hand sides.
  func factorPenalised(weights: [Double], z: [Double], ridge: Double, penalised: [Int]) throws(FitError) -> PenalisedSystem
  /// Xᵀv.
  func transposeTimes(_ v: [Double]) -> [Double]
  /// The diagonal of (XᵀWX + λ on the `penalised` diagonal)⁻¹ (squared standard errors at the
  /// optimum), nil when the matrix is singular.
  func penalisedInverseDiagonal(weights: [Double], ridge: Double, penalised: [Int]) -> [Double]?
}

extension GLMDesign {
  /// β solving (XᵀWX + λ on the `penalised` diagonal) β = XᵀWz.
  public func solvePenalised(weights: [Double], z: [Double], ridge: Double, penalised: [Int]) throws(FitError) -> [Double] {
    try factorPenalised(weights: weights, z: z, ridge: ridge, penalised: penalised).beta
  }

  /// The dense way: XᵀWX formed and factored by Cholesky (`dpotrf`/`dpotrs`).
  public func factorPenalised(weights: [Double], z: [Double], ridge: Double, penalised: [Int]) throws(FitError) -> PenalisedSystem {
    let (g, rhs) = try weightedGram(weights: weights, z: z)
    return try factorFormed(g, rhs, ridge: ridge, penalised: penalised)
  }

  /// The dense way: the inverse from the Cholesky factor (`dpotri`).
  public func penalisedInverseDiagonal(weights: [Double], ridge: Double, penalised: [Int]) -> [Double]? {
    guard let (g, _) = try? weightedGram(weights: weights, z: [Double](repeating: 0, count: rows)) else { return nil }
    return formedInverseDiagonal(g, ridge: ridge, penalised: penalised)
  }
}

/// XᵀWX + λ factored once: the IRLS step's β, and (XᵀWX + λ)⁻¹b for any other b (one value per column)
/// without factoring again.
public struct PenalisedSystem {
  public let beta: [Double]
  let solver: ([Double]) throws(LinalgError) -> [Double]
  init(beta: [Double], solver: @escaping ([Double]) throws(LinalgError) -> [Double]) { self.beta = beta; self.solver = solver }
  /// (XᵀWX + λ)⁻¹b.
  public func solve(_ b: [Double]) throws(FitError) -> [Double] {
    do { return try solver(b) } catch { throw .numerical("\(error)") }
  }
}

/// Solves (G + λ on the `penalised` diagonal) β = rhs for a formed XᵀWX by Cholesky, keeping the factor.
func factorFormed(_ g: Matrix, _ rhs: [Double], ridge: Double, penalised: [Int]) throws(FitError) -> PenalisedSystem {
  var g = g
  for j in penalised { g[j, j] += ridge }
  let chol: Cholesky
  do { chol = try Cholesky(g) } catch {
    throw .collinear("XᵀWX is singular (\(error)): a constant, all-zero or duplicated column, or a unit with no data; drop it or set ridge > 0")
  }
  let beta: [Double]
  do { beta = try chol.solve(rhs) } catch { throw .numerical("\(error)") }
  return PenalisedSystem(beta: beta) { (b: [Double]) throws(LinalgError) -> [Double] in try chol.solve(b) }
}

/// The diagonal of (G + λ on the `penalised` diagonal)⁻¹ for a formed XᵀWX; nil when singular.
func formedInverseDiagonal(_ g: Matrix, ridge: Double, penalised: [Int]) -> [Double]? {
  var g = g
  for j in penalised { g[j, j] += ridge }
  guard let c = try? Cholesky(g), let inv = try? c.inverse() else { return nil }
  return inv.diagonalElements
}

/// A dense design: XᵀWX by `dsyrk` on √W·X, Xβ by `dgemv`.
public struct DenseDesign: GLMDesign {
  public let x: Matrix
  public init(_ x: Matrix) { self.x = x }
  public var rows: Int { x.rows }
  public var columns: Int { x.columns }

  public func weightedGram(weights w: [Double], z: [Double]) throws(FitError) -> (Matrix, [Double]) {
    let n = x.rows, p = x.columns
    var xs = x
    var zw = [Double](repeating: 0, count: n)
    for i in 0..<n {
      let sw = w[i].squareRoot()
      zw[i] = sw * z[i]
      for j in 0..<p { xs.elements[i + j * n] *= sw }
    }
    var g = Matrix(rows: p, columns: p)
    do { try BLAS.syrk(xs, transpose: true, into: &g) } catch { throw .numerical("\(error)") }
    let rhs: [Double]
    do { rhs = try BLAS.multiply(xs, zw, transpose: true) } catch { throw .numerical("\(error)") }
    return (g, rhs)
  }

  public func linearPredictor(_ beta: [Double]) -> [Double] { (try? BLAS.multiply(x, beta)) ?? [] }
  public func transposeTimes(_ v: [Double]) -> [Double] {
    guard let r = try? BLAS.multiply(x, v, transpose: true) else { preconditionFailure("Xᵀv: \(v.count) values for \(x.rows) rows") }
    return r
  }
}
