import Foundation
import Linalg
@testable import Modelling
import Testing
import TestSupport
@testable import Hotspots

struct GLMReference: Decodable {
  struct Dobson: Decodable { var X: [[Double]]; var y: [Double]; var coefficients: [Double]; var standard_errors: [Double]; var deviance: Double; var null_deviance: Double; var llf: Double }
  struct PoissonRef: Decodable { var coefficients: [Double]; var standard_errors: [Double]; var deviance: Double; var llf: Double }
  struct NBRef: Decodable { var coefficients: [Double]; var alpha: Double; var llf: Double; var standard_errors_at_alpha: [Double]; var glm_coefficients_at_alpha: [Double] }
  struct Over: Decodable { var X: [[Double]]; var y: [Double]; var offset: [Double]; var poisson: PoissonRef; var nb2: NBRef }
  struct Ridge: Decodable { var lambda: Double; var coefficients: [Double] }
  var dobson: Dobson
  var overdispersed: Over
  var ridge: Ridge
}

func glmReference() throws -> GLMReference { try Fixture.load(GLMReference.self, "glm-reference", from: .module) }

@Suite("Poisson and negative-binomial GLM against statsmodels")
struct GLMTests {
  @Test("Poisson GLM matches statsmodels on Dobson (1990)")
  func dobson() throws {
    let ref = try glmReference().dobson
    var spec = PoissonHotspotModel()
    spec.ridge = 0
    let fit = try spec.fitDesign(try Matrix(rows: ref.X), counts: ref.y)
    // Coefficients: 1e-8 relative (fixture printed to full precision; IRLS tolerance 1e-10).
    #expect(approxMismatch(fit.coefficients, ref.coefficients, abs: 1e-10, rel: 1e-8) == nil)
    // Standard errors: 1e-6 relative (expected information at the optimum).
    #expect(approxMismatch(fit.standardErrors, ref.standard_errors, abs: 1e-10, rel: 1e-6) == nil)
    #expect(approxEqual(fit.diagnostics.deviance, 5.12914107700115, rel: 1e-8))
    #expect(approxEqual(fit.diagnostics.deviance, ref.deviance, rel: 1e-8))
    #expect(approxEqual(fit.diagnostics.nullDeviance, ref.null_deviance, rel: 1e-8))
    #expect(approxEqual(fit.diagnostics.logLikelihood, ref.llf, rel: 1e-8))
    #expect(fit.diagnostics.converged)
  }

  @Test func poissonWithOffset() throws {
    let ref = try glmReference().overdispersed
    let fit = try LogLinearGLM().fit(try Matrix(rows: ref.X), ref.y, offset: ref.offset)
    #expect(approxMismatch(fit.coefficients, ref.poisson.coefficients, abs: 1e-10, rel: 1e-8) == nil)
    #expect(approxMismatch(fit.standardErrors, ref.poisson.standard_errors, abs: 1e-10, rel: 1e-6) == nil)
    #expect(approxEqual(fit.diagnostics.deviance, ref.poisson.deviance, rel: 1e-8))
  }

  @Test func negativeBinomialByMaximumLikelihood() throws {
    let ref = try glmReference().overdispersed
    let fit = try LogLinearGLM(family: .negativeBinomial).fit(try Matrix(rows: ref.X), ref.y, offset: ref.offset)
    // α and β are joint ML estimates: 1e-6 relative (statsmodels' Newton with tol 1e-14; ours golden-section on α).
    #expect(approxEqual(fit.alpha, ref.nb2.alpha, rel: 1e-6), "alpha \(fit.alpha) vs \(ref.nb2.alpha)")
    #expect(approxMismatch(fit.coefficients, ref.nb2.coefficients, abs: 1e-8, rel: 1e-6) == nil)
    #expect(approxMismatch(fit.standardErrors, ref.nb2.standard_errors_at_alpha, abs: 1e-8, rel: 1e-6) == nil)
    #expect(approxEqual(fit.diagnostics.logLikelihood, ref.nb2.llf, rel: 1e-8))
  }

  /// NB2's β step is Newton's (observed information, weights μ(1 + αy)/(1 + αμ)²), not Fisher scoring
  /// (μ/(1 + αμ)), which converges only linearly with the log link. Started from statsmodels' optimum
  /// moved by 0.05 on every coefficient, the fit is back in 4 iterations (Fisher scoring: 7).
  @Test func negativeBinomialStepIsNewtons() throws {
    let ref = try glmReference().overdispersed
    let start = (coefficients: ref.nb2.coefficients.map { $0 + 0.05 }, alpha: ref.nb2.alpha)
    let fit = try LogLinearGLM(family: .negativeBinomial).fit(design: DenseDesign(try Matrix(rows: ref.X)), CountResponse(counts: ref.y), offset: ref.offset, start: start)
    #expect(approxMismatch(fit.coefficients, ref.nb2.coefficients, abs: 1e-8, rel: 1e-6) == nil)
    #expect(fit.diagnostics.converged && fit.diagnostics.iterations <= 4, "\(fit.diagnostics.iterations) iterations (Fisher scoring takes 7)")
  }

  /// NB2's step is Newton's in β and log α together (`jointStep`): from a point off statsmodels' optimum
  /// (coefficients moved by 0.05, α by a tenth) it equals the Newton step of the penalised
  /// log-likelihood built from central differences; near the optimum its chord step (the next Newton
  /// step with this step's Hessian, which decides convergence) goes most of the way there; the fit from
  /// that start ends at statsmodels' optimum.
  @Test func negativeBinomialStepsInBetaAndAlphaTogether() throws {
    let ref = try glmReference().overdispersed
    let x = DenseDesign(try Matrix(rows: ref.X)), response = CountResponse(counts: ref.y)
    let glm = LogLinearGLM(family: .negativeBinomial, ridge: 0.5)
    let p = x.columns, pen = Array(1..<p)
    let beta = ref.nb2.coefficients.map { $0 + 0.05 }, alpha = ref.nb2.alpha * 1.1
    func eta(_ b: [Double]) -> [Double] { zip(x.linearPredictor(b), ref.offset).map { $0 + $1 } }
    // ℓ(β, log α) − λ/2 Σ β² over the penalised columns, from the full NB2 likelihood.
    func objective(_ theta: [Double]) -> Double {
      let b = Array(theta[0..<p])
      return response.logLikelihood(eta(b).map { exp($0) }, alpha: exp(theta[p])) - 0.5 * 0.5 * pen.reduce(0) { $0 + b[$1] * b[$1] }
    }
    let theta = beta + [log(alpha)], h = 1e-4
    var gradient = [Double](repeating: 0, count: p + 1), hessian = Matrix(rows: p + 1, columns: p + 1)
    for i in 0...p {
      var up = theta, down = theta
      up[i] += h; down[i] -= h
      gradient[i] = (objective(up) - objective(down)) / (2 * h)
      for j in 0...p {
        var pp = theta, pm = theta, mp = theta, mm = theta
        pp[i] += h; pp[j] += h; pm[i] += h; pm[j] -= h; mp[i] -= h; mp[j] += h; mm[i] -= h; mm[j] -= h
        hessian[i, j] = -(objective(pp) - objective(pm) - objective(mp) + objective(mm)) / (4 * h * h)
      }
    }
    let newton = try Cholesky(hessian).solve(gradient)
    let e = eta(beta), mu = e.map { exp($0) }, y = response.means
    var w = [Double](repeating: 0, count: y.count), z = w
    for i in y.indices {
      let a = 1 + alpha * mu[i], b = 1 + alpha * y[i]
      w[i] = mu[i] * b / (a * a); z[i] = e[i] - ref.offset[i] + (y[i] - mu[i]) * a / (mu[i] * b)
    }
    func penalty(_ b: [Double]) -> Double { 0.5 * pen.reduce(0) { $0 + b[$1] * b[$1] } }
    let step = try #require(try glm.jointStep(x, response, weights: w, z: z, beta: beta, eta: e, mu: mu, offset: ref.offset,
                                              alpha: alpha, penalty: penalty, penalised: pen))
    let taken = zip(step.beta, beta).map { $0 - $1 } + [log(step.alpha / alpha)]
    #expect(approxMismatch(taken, newton, abs: 1e-6, rel: 1e-5) == nil, "\(taken) against \(newton)")
    // Near the optimum (a second step from there) the chord step is what is left of the way to it.
    let e2 = step.eta, mu2 = step.mu, alpha2 = step.alpha
    for i in y.indices {
      let a = 1 + alpha2 * mu2[i], b = 1 + alpha2 * y[i]
      w[i] = mu2[i] * b / (a * a); z[i] = e2[i] - ref.offset[i] + (y[i] - mu2[i]) * a / (mu2[i] * b)
    }
    let second = try #require(try glm.jointStep(x, response, weights: w, z: z, beta: step.beta, eta: e2, mu: mu2, offset: ref.offset,
                                                alpha: alpha2, penalty: penalty, penalised: pen))
    let optimum = try glm.fit(design: x, response, offset: ref.offset)
    let toOptimum = zip(optimum.coefficients, second.beta).map { $0 - $1 } + [log(optimum.alpha / second.alpha)]
    let chord = second.nextBeta + [second.nextLogAlpha]
    let left = zip(toOptimum, chord).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
    let before = toOptimum.map { $0 * $0 }.reduce(0, +).squareRoot()
    #expect(left < 0.5 * before, "\(chord) against \(toOptimum)")
    let unpenalised = try LogLinearGLM(family: .negativeBinomial).fit(design: x, response, offset: ref.offset,
                                                                     start: (coefficients: beta, alpha: alpha))
    #expect(approxMismatch(unpenalised.coefficients, ref.nb2.coefficients, abs: 1e-8, rel: 1e-6) == nil)
    #expect(approxEqual(unpenalised.alpha, ref.nb2.alpha, rel: 1e-6), "\(unpenalised.alpha) against statsmodels' \(ref.nb2.alpha)")
  }

  /// Counts that are not overdispersed (Poisson) take NB2's α to its lower bound: far from α's optimum
  /// the joint step hands over to the search on α alone, which gets there at once, so the fit from a warm
  /// start at α = 0.5 converges in a few steps (Newton in log α would move it by about 1 a step) to the
  /// Poisson fit's coefficients.
  @Test func negativeBinomialOnPoissonCountsReachesAlphasLowerBoundQuickly() throws {
    var rng = SeededRNG(seed: 12)
    let n = 2_000
    var x = Matrix(rows: n, columns: 2)
    var y = [Double](repeating: 0, count: n)
    for i in 0..<n {
      x[i, 0] = 1; x[i, 1] = rng.normal()
      y[i] = Double(rng.poisson(exp(0.5 + 0.3 * x[i, 1])))
    }
    let poisson = try LogLinearGLM().fit(x, y)
    let nb = try LogLinearGLM(family: .negativeBinomial).fit(design: DenseDesign(x), CountResponse(counts: y),
                                                             start: (coefficients: poisson.coefficients, alpha: 0.5))
    #expect(nb.alpha < 1e-6, "\(nb.alpha)")
    #expect(nb.diagnostics.converged && nb.diagnostics.iterations <= 4, "\(nb.diagnostics.iterations) iterations")
    #expect(approxMismatch(nb.coefficients, poisson.coefficients, abs: 1e-5, rel: 1e-4) == nil)
  }

  /// The factored XᵀWX + λ solves a second right-hand side as the formed matrix does, with one factor
  /// absorbed (the grid cells) and with a nested factor absorbed beside a smaller one.
  @Test func aFactoredSystemSolvesAnyRightHandSide() throws {
    var rng = SeededRNG(seed: 8)
    let n = 3_000
    let unit = (0..<n).map { _ in Int32(rng.uniform() * 80) }
    let band = unit.map { $0 * 4 + Int32(rng.uniform() * 4) }
    var dense = Matrix(rows: n, columns: 2)
    for i in 0..<n { dense[i, 0] = rng.normal(); dense[i, 1] = rng.uniform() }
    let w = (0..<n).map { _ in 0.2 + rng.uniform() }, z = (0..<n).map { _ in rng.normal() }
    for design in [FactorDesign(factors: [unit], levels: [80], dense: dense),
                   FactorDesign(factors: [unit, band], levels: [80, 320], dense: dense)] {
      let p = design.columns, pen = Array(1..<p)
      let b = (0..<p).map { _ in rng.normal() }
      let system = try design.factorPenalised(weights: w, z: z, ridge: 0.3, penalised: pen)
      let formed = try DenseDesign(design.materialise()).factorPenalised(weights: w, z: z, ridge: 0.3, penalised: pen)
      #expect(approxMismatch(system.beta, formed.beta, abs: 1e-9, rel: 1e-8) == nil)
      #expect(approxMismatch(try system.solve(b), try formed.solve(b), abs: 1e-9, rel: 1e-8) == nil)
    }
  }

  /// The factor design's sums run over runs of rows at one level when a factor's levels come in runs
  /// and row by row when they change every row: both kinds, with dense columns and without, Poisson and
  /// NB2, fit as the formed matrix does.
  @Test(arguments: [LogLinearGLM.Family.poisson, .negativeBinomial])
  func runsAndRowByRowSumsFitAsTheFormedMatrix(family: LogLinearGLM.Family) throws {
    var rng = SeededRNG(seed: 23)
    let units = 90, perUnit = 40, n = units * perUnit
    // The unit in runs of 40 rows (absorbed, > 64 levels), the hour changing every row.
    let unit = (0..<n).map { Int32($0 / perUnit) }, hour = (0..<n).map { Int32(($0 * 7) % 24) }
    var dense = Matrix(rows: n, columns: 2)
    for i in 0..<n { dense[i, 0] = rng.normal(); dense[i, 1] = rng.uniform() }
    let y = (0..<n).map { i in Double(rng.poisson(exp(-0.5 + 0.01 * Double(unit[i] % 9) + 0.2 * sin(Double(hour[i])) + 0.3 * dense[i, 0]))) }
    for design in [FactorDesign(factors: [unit, hour], levels: [units, 24], dense: dense),
                   FactorDesign(factors: [unit, hour], levels: [units, 24], dense: Matrix(rows: n, columns: 0)),
                   FactorDesign(factors: [hour], levels: [24], dense: dense)] {
      let glm = LogLinearGLM(family: family, ridge: 0.5)
      let a = try glm.fit(design: design, y), b = try glm.fit(design.materialise(), y)
      #expect(approxMismatch(a.coefficients, b.coefficients, abs: 1e-8, rel: 1e-7) == nil)
      #expect(approxMismatch(a.standardErrors, b.standardErrors, abs: 1e-8, rel: 1e-6) == nil)
      #expect(abs(a.alpha - b.alpha) <= 1e-6 * (1 + b.alpha), "α \(a.alpha) against \(b.alpha) (Poisson counts: α near its lower bound, where the likelihood is flat)")
    }
  }

  @Test func ridgeMatchesPenalisedOptimum() throws {
    let ref = try glmReference()
    let fit = try LogLinearGLM(ridge: ref.ridge.lambda).fit(try Matrix(rows: ref.overdispersed.X), ref.overdispersed.y)
    // scipy BFGS with gtol 1e-12 on the penalised objective: agreement to 1e-7.
    #expect(approxMismatch(fit.coefficients, ref.ridge.coefficients, abs: 1e-9, rel: 1e-7) == nil)
  }

  @Test func interceptOnlyGivesTheMean() throws {
    let y: [Double] = [0, 3, 1, 4, 2, 2]
    let fit = try LogLinearGLM().fit(Matrix(rows: 6, columns: 1, repeating: 1), y)
    #expect(approxEqual(exp(fit.coefficients[0]), 2, rel: 1e-12))
  }

  @Test func unitWeightsEqualNoWeightsAndWeightTwoEqualsADuplicatedRow() throws {
    let ref = try glmReference().dobson
    let x = try Matrix(rows: ref.X)
    let a = try LogLinearGLM().fit(x, ref.y)
    let b = try LogLinearGLM().fit(x, ref.y, weights: Array(repeating: 1, count: ref.y.count))
    #expect(a.coefficients == b.coefficients)
    var w = Array(repeating: 1.0, count: ref.y.count); w[0] = 2
    let c = try LogLinearGLM().fit(x, ref.y, weights: w)
    let d = try LogLinearGLM().fit(try Matrix(rows: ref.X + [ref.X[0]]), ref.y + [ref.y[0]])
    #expect(approxMismatch(c.coefficients, d.coefficients, abs: 1e-12, rel: 1e-10) == nil)
  }

  /// A fit for forecasts only (`standardErrors = false`) ends where the full fit does and leaves out
  /// what forecasts do not use: standard errors, deviance, null deviance and log-likelihood.
  @Test(arguments: [LogLinearGLM.Family.poisson, .negativeBinomial])
  func aForecastingFitSkipsOnlyTheDiagnostics(family: LogLinearGLM.Family) throws {
    let ref = try glmReference().overdispersed
    let x = try Matrix(rows: ref.X)
    var glm = LogLinearGLM(family: family)
    let full = try glm.fit(x, ref.y)
    glm.standardErrors = false
    let lean = try glm.fit(x, ref.y)
    #expect(lean.coefficients == full.coefficients && lean.alpha == full.alpha)
    #expect(full.standardErrors.allSatisfy(\.isFinite) && full.diagnostics.logLikelihood.isFinite && full.diagnostics.nullDeviance > 0)
    #expect(lean.standardErrors.allSatisfy(\.isNaN) && lean.diagnostics.deviance.isNaN && lean.diagnostics.nullDeviance.isNaN
            && lean.diagnostics.logLikelihood.isNaN)
  }

  @Test func constantColumnIsACollinearityErrorNotNaN() throws {
    let x = try Matrix(rows: [[1, 1], [1, 1], [1, 1], [1, 1]])
    #expect(throws: FitError.self) { try LogLinearGLM().fit(x, [1, 2, 3, 4]) }
  }

  @Test func separationIsReportedNotNaN() throws {
    // Group 2 has all-zero counts: its coefficient runs to −∞ without a penalty.
    let x = try Matrix(rows: [[1, 0], [1, 0], [1, 1], [1, 1]])
    let fit = try LogLinearGLM(maxIterations: 50).fit(x, [3, 5, 0, 0])
    #expect(fit.coefficients.allSatisfy { $0.isFinite })
    #expect(fit.diagnostics.notes.contains { $0.contains("separation") })
    let ridged = try LogLinearGLM(ridge: 1).fit(x, [3, 5, 0, 0])
    #expect(ridged.diagnostics.converged && ridged.diagnostics.notes.isEmpty)
  }

  @Test func nonConvergenceIsReported() throws {
    let ref = try glmReference().dobson
    let fit = try LogLinearGLM(maxIterations: 1).fit(try Matrix(rows: ref.X), ref.y)
    #expect(!fit.diagnostics.converged)
    #expect(fit.diagnostics.notes.contains { $0.contains("did not converge") })
  }

  @Test func countQuantiles() {
    // Poisson(2): P(X ≤ 0) = 0.135, P(X ≤ 4) = 0.947, P(X ≤ 5) = 0.983.
    #expect(CountDistribution.quantile(0.05, mean: 2) == 0)
    #expect(CountDistribution.quantile(0.95, mean: 2) == 5)
    #expect(CountDistribution.quantile(0.95, mean: 0) == 0)
    // NB with more dispersion gives a wider interval.
    #expect(CountDistribution.quantile(0.95, mean: 2, alpha: 1) > 5)
  }
}

@Suite("Factor-design GLM")
struct FactorGLMTests {
  @Test func factorPathEqualsDensePath() throws {
    // 30 units × 7 × 24 hours, two factors plus 2 dense covariates: same coefficients and SEs as the dense fit.
    var rng = SeededRNG(seed: 12)
    let n = 30 * 168
    var unit = [Int32](repeating: 0, count: n), how = unit
    var dense = Matrix(rows: n, columns: 2)
    var y = [Double](repeating: 0, count: n)
    for i in 0..<n {
      unit[i] = Int32(i / 168); how[i] = Int32(i % 168)
      dense[i, 0] = rng.normal(); dense[i, 1] = rng.uniform()
      let eta = -1 + 0.02 * Double(unit[i]) + 0.5 * sin(Double(how[i]) / 24 * 2 * .pi) + 0.3 * dense[i, 0]
      y[i] = Double(rng.poisson(exp(eta)))
    }
    let design = FactorDesign(factors: [unit, how], levels: [30, 168], dense: dense)
    let glm = LogLinearGLM(ridge: 0.5)
    let a = try glm.fit(design: design, y)
    let b = try glm.fit(design.materialise(), y)
    // Two exact algorithms for the same optimum: agreement to 1e-8 (coefficients) and 1e-6 (SEs).
    #expect(approxMismatch(a.coefficients, b.coefficients, abs: 1e-9, rel: 1e-8) == nil)
    #expect(approxMismatch(a.standardErrors, b.standardErrors, abs: 1e-9, rel: 1e-6) == nil)
    #expect(approxEqual(a.diagnostics.deviance, b.diagnostics.deviance, rel: 1e-10))
    // A unit × time-of-day band factor nested in the units (the hotspot model's): its 120 levels are
    // absorbed, the 30 units factored with the dense columns.
    let band = (0..<n).map { Int32(Int(unit[$0]) * 4 + Int(how[$0] % 24) / 6) }
    let nested = FactorDesign(factors: [unit, band], levels: [30, 120], dense: dense)
    let c = try glm.fit(design: nested, y)
    let d = try glm.fit(nested.materialise(), y)
    #expect(approxMismatch(c.coefficients, d.coefficients, abs: 1e-9, rel: 1e-8) == nil)
    #expect(approxMismatch(c.standardErrors, d.standardErrors, abs: 1e-9, rel: 1e-6) == nil)
  }

  /// The factor path honours the negative-binomial family, prior weights and an offset (it ignored
  /// family and weights before the one IRLS): the same fit as the dense design, whose NB2 fit is
  /// checked against statsmodels above.
  @Test func factorPathHonoursFamilyWeightsAndOffset() throws {
    var rng = SeededRNG(seed: 21)
    let n = 12 * 168
    var unit = [Int32](repeating: 0, count: n)
    var dense = Matrix(rows: n, columns: 2)
    var y = [Double](repeating: 0, count: n), w = y, off = y
    for i in 0..<n {
      unit[i] = Int32(i / 168)
      let a = 2 * Double.pi * Double(i % 168) / 168
      dense[i, 0] = sin(a); dense[i, 1] = cos(a)
      off[i] = log(1 + rng.uniform())
      w[i] = 0.5 + rng.uniform()
      let mu = exp(-0.5 + 0.05 * Double(unit[i]) + 0.6 * dense[i, 0] + off[i])
      // NB2 with α = 0.5: Poisson with a gamma(1/α, α) multiplier.
      let g = -log(rng.uniform() + 1e-300) - log(rng.uniform() + 1e-300)  // Gamma(2, 1)
      y[i] = Double(rng.poisson(mu * g / 2))
    }
    let design = FactorDesign(factors: [unit], levels: [12], dense: dense)
    let glm = LogLinearGLM(family: .negativeBinomial, ridge: 0.1)
    let a = try glm.fit(design: design, y, offset: off, weights: w)
    let b = try glm.fit(design.materialise(), y, offset: off, weights: w)
    // α on a flat likelihood: the two paths' sums differ in rounding, so 1e-5 relative.
    #expect(a.alpha > 0.2 && approxEqual(a.alpha, b.alpha, rel: 1e-5), "\(a.alpha) \(b.alpha)")
    // β follows α: 1e-7 here, not 1e-8.
    #expect(approxMismatch(a.coefficients, b.coefficients, abs: 1e-9, rel: 1e-7) == nil)
    #expect(approxMismatch(a.standardErrors, b.standardErrors, abs: 1e-9, rel: 1e-6) == nil)
    let unweighted = try glm.fit(design: design, y, offset: off)
    #expect(approxMismatch(unweighted.coefficients, a.coefficients, abs: 1e-6, rel: 1e-6) != nil, "weights change the fit")
  }

  /// One factor of many levels (grid cells) is absorbed by its Schur complement, never forming
  /// levels × levels: the same coefficients and standard errors as the formed matrix, with a level
  /// that has no rows (kept finite by the ridge alone) and one whose counts are all zero; without a
  /// ridge the empty level is refused, naming it.
  @Test func manyLevelsAreAbsorbedWithoutFormingTheirBlock() throws {
    var rng = SeededRNG(seed: 5)
    let levels = 400, perLevel = 20
    var unit: [Int32] = [], rows: [[Double]] = [], y: [Double] = []
    for u in 0..<levels where u != 17 {
      for t in 0..<perLevel {
        let x0 = rng.normal(), x1 = Double(t % 7) / 7
        unit.append(Int32(u)); rows.append([x0, x1])
        y.append(u == 33 ? 0 : Double(rng.poisson(exp(-1.5 + 0.002 * Double(u) + 0.4 * x0 - 0.3 * x1))))
      }
    }
    var dense = Matrix(rows: y.count, columns: 2)
    for i in rows.indices { dense[i, 0] = rows[i][0]; dense[i, 1] = rows[i][1] }
    let design = FactorDesign(factors: [unit], levels: [levels], dense: dense)
    let glm = LogLinearGLM(ridge: 1)
    let a = try glm.fit(design: design, y)
    let b = try glm.fit(design.materialise(), y)
    #expect(approxMismatch(a.coefficients, b.coefficients, abs: 1e-9, rel: 1e-8) == nil)
    #expect(approxMismatch(a.standardErrors, b.standardErrors, abs: 1e-9, rel: 1e-6) == nil)
    #expect(a.coefficients[17] == 0 || abs(a.coefficients[17]) < 1e-12, "a level with no rows stays at the ridge's 0")
    #expect(performing: { _ = try LogLinearGLM(ridge: 0).fit(design: design, y) },
            throws: { "\($0)".contains("level 17") || "\($0)".contains("singular") })
  }

  /// Rows with the same factor levels, covariates and offset collapsed into one design row with their
  /// number and summed count give the same fit as the rows one by one — coefficients, standard errors,
  /// deviance, null deviance, likelihood and NB2 α — for Poisson and NB2, with an offset and a level
  /// whose counts are all zero.
  @Test(arguments: [LogLinearGLM.Family.poisson, .negativeBinomial])
  func collapsedRowsFitLikeTheRowsOneByOne(family: LogLinearGLM.Family) throws {
    var rng = SeededRNG(seed: 41)
    let levels = 30, days = 200
    var builder = CollapsedDesignBuilder(factors: 1, denseColumns: 3, offset: true)
    var unit: [Int32] = [], rows: [[Double]] = [], y: [Double] = [], off: [Double] = []
    for u in 0..<levels {
      builder.beginBlock()
      for d in 0..<days {
        let a = 2 * Double.pi * Double(d % 7) / 7
        let recent = rng.uniform() < 0.2 ? log1p(Double(1 + d % 3)) : 0
        let o = u % 2 == 0 ? 0 : log(2.0)
        let row = [sin(a), cos(a), recent]
        let mu = exp(-1 + 0.03 * Double(u) + 0.5 * row[0] + 0.4 * recent + o)
        let g = -log(rng.uniform() + 1e-300) - log(rng.uniform() + 1e-300)  // Gamma(2, 1): NB2 α = 0.5
        let count = u == 7 ? 0 : Double(rng.poisson(family == .poisson ? mu : mu * g / 2))
        unit.append(Int32(u)); rows.append(row); y.append(count); off.append(o)
        builder.add(levels: [Int32(u)], dense: row, offset: o, count: count)
      }
    }
    let (collapsed, response, collapsedOffset) = builder.finish(levels: [levels])
    #expect(collapsed.rows < y.count / 5, "\(collapsed.rows) distinct rows of \(y.count)")
    #expect(response.observations == y.count && response.totals.reduce(0, +) == y.reduce(0, +))
    var dense = Matrix(rows: y.count, columns: 3)
    for i in rows.indices { for j in 0..<3 { dense[i, j] = rows[i][j] } }
    let glm = LogLinearGLM(family: family, ridge: 0.5)
    let a = try glm.fit(design: collapsed, response, offset: collapsedOffset)
    let b = try glm.fit(design: FactorDesign(factors: [unit], levels: [levels], dense: dense), y, offset: off)
    #expect(approxMismatch(a.coefficients, b.coefficients, abs: 1e-9, rel: 1e-7) == nil)
    #expect(approxMismatch(a.standardErrors, b.standardErrors, abs: 1e-9, rel: 1e-6) == nil)
    #expect(approxEqual(a.diagnostics.deviance, b.diagnostics.deviance, rel: 1e-8))
    #expect(approxEqual(a.diagnostics.nullDeviance, b.diagnostics.nullDeviance, rel: 1e-8))
    #expect(approxEqual(a.diagnostics.logLikelihood, b.diagnostics.logLikelihood, rel: 1e-9))
    #expect(a.diagnostics.observations == y.count && a.diagnostics.converged)
    if family == .negativeBinomial { #expect(a.alpha > 0.2 && approxEqual(a.alpha, b.alpha, rel: 1e-6), "\(a.alpha) \(b.alpha)") }
  }

  /// A design extended with a longer history's new bins (a backtest's next window) holds the rows of
  /// the design built from scratch on that history: the same distinct rows with the same sizes and
  /// totals (in another order), so the same fit. With exposure offsets and the unit × band factor.
  /// A history whose earlier counts differ (a gap filled differently) is built afresh.
  @Test func aDesignExtendedWithNewBinsEqualsOneBuiltAtOnce() throws {
    let table = syntheticTable(units: 6, days: 20)
    var spec = PoissonHotspotModel()
    spec.exposureOffset = true
    func rows(_ d: (FactorDesign, CountResponse, [Double]?)) -> [String] {
      let (x, y, off) = d
      return (0..<x.rows).map { i in
        x.factors.map { "\($0[i])" }.joined(separator: ",") + "|" + (0..<x.dense.columns).map { "\(x.dense[i, $0])" }.joined(separator: ",")
          + "|\(off?[i] ?? 0)|\(y.sizes[i])|\(y.totals[i])"
      }.sorted()
    }
    let whole = spec.design(table, clock: .utc)
    let cache = PoissonDesignCache()
    _ = spec.design(table.slice(bins: 0..<(12 * 24)), clock: .utc, reusing: cache)
    _ = spec.design(table.slice(bins: 0..<(17 * 24)), clock: .utc, reusing: cache)
    let extended = spec.design(table, clock: .utc, reusing: cache)
    #expect(cache.extensions == 2, "the two longer histories extended the design")
    #expect(rows(extended) == rows(whole))
    #expect(extended.1.observations == whole.1.observations && extended.1.values == whole.1.values && extended.1.valueWeights == whole.1.valueWeights)
    let a = try LogLinearGLM(ridge: 1).fit(design: whole.0, whole.1, offset: whole.2)
    let b = try LogLinearGLM(ridge: 1).fit(design: extended.0, extended.1, offset: extended.2)
    #expect(zip(a.coefficients, b.coefficients).allSatisfy { abs($0 - $1) < 1e-9 }, "\(a.coefficients) \(b.coefficients)")
    // An earlier count changed: the kept design does not describe this table, so it is built afresh.
    var changed = table
    changed.counts[3] += 5
    let afresh = spec.design(changed, clock: .utc, reusing: cache)
    #expect(rows(afresh) == rows(spec.design(changed, clock: .utc)) && cache.extensions == 2)
  }

  /// ψ and ψ′ (behind the NB2 α score) against closed forms; and α by Newton equals the golden-section
  /// search on counts that are not whole (which go through the series, not the exact sums).
  @Test func digammaAndAlphaByNewton() throws {
    let euler = 0.57721566490153286
    #expect(approxEqual(CountResponse.digamma(1), -euler, rel: 1e-13))
    #expect(approxEqual(CountResponse.digamma(0.5), -euler - 2 * log(2.0), rel: 1e-13))
    #expect(approxEqual(CountResponse.digamma(20), 2.9705239922421490509, rel: 1e-13))  // H₁₉ − γ
    #expect(approxEqual(CountResponse.trigamma(1), Double.pi * Double.pi / 6, rel: 1e-13))
    #expect(approxEqual(CountResponse.trigamma(0.5), Double.pi * Double.pi / 2, rel: 1e-13))
    let whole = CountResponse.digammaDifference(3, 0.7), series = (CountResponse.digamma(3.7) - CountResponse.digamma(0.7), CountResponse.trigamma(3.7) - CountResponse.trigamma(0.7))
    #expect(approxEqual(whole.0, series.0, rel: 1e-12) && approxEqual(whole.1, series.1, rel: 1e-12))
    var rng = SeededRNG(seed: 9)
    let mu = (0..<500).map { _ in 0.5 + 3 * rng.uniform() }
    let y = mu.map { m in Double(rng.poisson(m * (-log(rng.uniform() + 1e-300)))) * 0.5 }  // half-counts: not whole
    let r = CountResponse(counts: y)
    let newton = r.maximiseAlpha(mu, start: 0.1), golden = r.goldenSectionAlpha(mu, lo: -20, hi: 5)
    #expect(newton > 0.1 && approxEqual(newton, golden, rel: 1e-5), "\(newton) \(golden)")
    #expect(r.logLikelihood(mu, alpha: newton) >= r.logLikelihood(mu, alpha: golden) - 1e-9)
  }

  /// The one-pass α profile the Newton search uses: its likelihood differs from the full NB2
  /// log-likelihood by a term that does not depend on α, and its gradient and curvature in log α equal
  /// central differences of that likelihood, on whole counts with rows of several observations, for α
  /// from e⁻⁸ to e². (Much nearer α's lower bound the lgamma differences of the likelihood itself lose the
  /// digits a finite difference needs.)
  @Test func alphaProfileIsTheLikelihoodAndItsDerivatives() {
    var rng = SeededRNG(seed: 21)
    let mu = (0..<300).map { _ in 0.2 + 4 * rng.uniform() }
    let y = mu.map { m in Double(rng.poisson(m * (-log(rng.uniform() + 1e-300)))) }
    // Rows of 1–3 observations: totals and sizes summed as a collapsed design does.
    var totals: [Double] = [], sizes: [Double] = [], means: [Double] = [], frequencies: [Double: Double] = [:]
    var i = 0
    while i < y.count {
      let k = min(y.count - i, 1 + i % 3)
      totals.append(y[i..<(i + k)].reduce(0, +)); sizes.append(Double(k)); means.append(mu[i])
      for v in y[i..<(i + k)] { frequencies[v, default: 0] += 1 }
      i += k
    }
    let r = CountResponse(totals: totals, sizes: sizes, frequencies: frequencies, observations: y.count)
    let constant = r.logLikelihood(means, alpha: exp(-1.0)) - r.alphaProfile(means, logAlpha: -1).logLikelihood
    for t in [-8.0, -3, -1, 0.5, 2] {
      let p = r.alphaProfile(means, logAlpha: t), h = t < -5 ? 1e-3 : 1e-4
      #expect(approxEqual(r.logLikelihood(means, alpha: exp(t)) - p.logLikelihood, constant, rel: 1e-9), "t \(t)")
      let up = r.alphaProfile(means, logAlpha: t + h).logLikelihood, down = r.alphaProfile(means, logAlpha: t - h).logLikelihood
      let slope = (up - down) / (2 * h), bend = (up - 2 * p.logLikelihood + down) / (h * h)
      #expect(abs(p.gradient - slope) <= 1e-5 * abs(slope) + 1e-5, "t \(t): \(p.gradient) against \(slope)")
      #expect(abs(p.curvature - bend) <= 1e-3 * abs(bend) + 1e-3, "t \(t): \(p.curvature) against \(bend)")
    }
  }
}
