import Foundation
import Linalg

/// A design made of an intercept, categorical factors (one-hot, first level dropped) and a few dense
/// columns, without ever forming the one-hot matrix. Column order: intercept, each factor's levels
/// 1…L−1, then the dense columns.
public struct FactorDesign: Sendable {
  /// Level of each row for each factor (0 = the reference level).
  public var factors: [[Int32]]
  public var levels: [Int]
  /// Dense columns, rows × q, column-major.
  public var dense: Matrix
  public var rows: Int { dense.rows }
  public init(factors: [[Int32]], levels: [Int], dense: Matrix) {
    self.factors = factors; self.levels = levels; self.dense = dense
  }
  /// Number of coefficients.
  public var columns: Int { 1 + levels.reduce(0) { $0 + $1 - 1 } + dense.columns }
  /// First coefficient index of factor f.
  func offset(_ f: Int) -> Int { 1 + levels[..<f].reduce(0) { $0 + $1 - 1 } }
  var denseOffset: Int { 1 + levels.reduce(0) { $0 + $1 - 1 } }

  /// The same design as a dense matrix (for checks and small problems).
  public func materialise() -> Matrix {
    var x = Matrix(rows: rows, columns: columns)
    for i in 0..<rows {
      x[i, 0] = 1
      for f in factors.indices where factors[f][i] > 0 { x[i, offset(f) + Int(factors[f][i]) - 1] = 1 }
      for j in 0..<dense.columns { x[i, denseOffset + j] = dense[i, j] }
    }
    return x
  }

  /// η = Xβ without forming X.
  public func linearPredictor(_ beta: [Double]) -> [Double] {
    var eta = [Double](repeating: beta[0], count: rows)
    for f in factors.indices {
      let o = offset(f) - 1
      let lv = factors[f]
      for i in 0..<rows where lv[i] > 0 { eta[i] += beta[o + Int(lv[i])] }
    }
    if dense.columns > 0 {
      let tail = Array(beta[denseOffset...])
      var d = [Double](repeating: 0, count: rows)
      try? BLAS.gemv(dense, tail, into: &d)  // dgemv
      for i in 0..<rows { eta[i] += d[i] }
    }
    return eta
  }

  /// XᵀWX and XᵀWz from the block structure: factor–factor blocks are weighted cross-tabulations,
  /// factor–dense blocks weighted sums per level, and dense–dense is `dsyrk` on √W·D.
  /// - Complexity: O(rows · (factors² + q)) + O(rows · q²) in BLAS, instead of O(rows · p²).
  func gram(weights w: [Double], z: [Double]) -> (Matrix, [Double]) {
    let p = columns, n = rows, q = dense.columns, d0 = denseOffset
    var g = Matrix(rows: p, columns: p)
    var b = [Double](repeating: 0, count: p)
    var sw = 0.0, swz = 0.0
    for i in 0..<n { sw += w[i]; swz += w[i] * z[i] }
    g[0, 0] = sw; b[0] = swz
    for f in factors.indices {
      let o = offset(f) - 1
      for i in 0..<n where factors[f][i] > 0 {
        let c = o + Int(factors[f][i])
        g[c, c] += w[i]; g[c, 0] += w[i]; b[c] += w[i] * z[i]
      }
      for f2 in 0..<f {
        let o2 = offset(f2) - 1
        for i in 0..<n where factors[f][i] > 0 && factors[f2][i] > 0 {
          g[o + Int(factors[f][i]), o2 + Int(factors[f2][i])] += w[i]
        }
      }
    }
    if q > 0 {
      var ds = dense
      var zs = [Double](repeating: 0, count: n)
      for i in 0..<n { let r = w[i].squareRoot(); zs[i] = r * z[i]; for j in 0..<q { ds.elements[i + j * n] *= r } }
      var dd = Matrix(rows: q, columns: q)
      try? BLAS.syrk(ds, transpose: true, into: &dd)
      let dz = (try? BLAS.multiply(ds, zs, transpose: true)) ?? []
      for j in 0..<q {
        b[d0 + j] = dz[j]
        for k in 0...j { g[d0 + j, d0 + k] = dd[j, k] }
        var s0 = 0.0
        for i in 0..<n { s0 += w[i] * dense.elements[i + j * n] }
        g[d0 + j, 0] = s0
      }
      for f in factors.indices {
        let o = offset(f) - 1
        for j in 0..<q {
          let col = j * n
          for i in 0..<n where factors[f][i] > 0 { g[d0 + j, o + Int(factors[f][i])] += w[i] * dense.elements[col + i] }
        }
      }
    }
    // Lower triangle is filled (row ≥ column by construction); mirror it.
    for j in 0..<p { for i in (j + 1)..<p { g[j, i] = g[i, j] } }
    return (g, b)
  }
}

extension LogLinearGLM {
  /// IRLS on a factor design: the same estimator as `fit(_:_:)` on `design.materialise()`, but XᵀWX is
  /// assembled from the one-hot block structure (never forming X), then solved by Cholesky.
  public func fit(design: FactorDesign, _ y: [Double], offset: [Double]? = nil) throws(FitError) -> Result {
    let n = design.rows, p = design.columns
    guard n > 0, y.count == n else { throw .noData("\(n) rows, \(y.count) counts") }
    guard y.allSatisfy({ $0 >= 0 && $0.isFinite }) else { throw .noData("counts must be finite and non-negative") }
    let off = offset ?? Array(repeating: 0, count: n)
    let ybar = y.reduce(0, +) / Double(n)
    var mu = y.map { ($0 + ybar) / 2 + 1e-3 }
    var eta = mu.map(log)
    var beta = [Double](repeating: 0, count: p)
    var dev = deviance(y, mu, Array(repeating: 1, count: n), 0)
    var converged = false, iterations = 0
    let ones = [Double](repeating: 1, count: n)
    for _ in 0..<maxIterations {
      iterations += 1
      var w = [Double](repeating: 0, count: n), z = w
      for i in 0..<n { w[i] = mu[i]; z[i] = eta[i] - off[i] + (y[i] - mu[i]) / mu[i] }
      var (g, b) = design.gram(weights: w, z: z)
      for j in 1..<p { g[j, j] += ridge }
      let chol: Cholesky
      do { chol = try Cholesky(g) } catch { throw .collinear("XᵀWX is singular (\(error)): a level with no rows, or collinear columns") }
      let target: [Double]
      do { target = try chol.solve(b) } catch { throw .numerical("\(error)") }
      var step = 1.0, accepted = false
      for _ in 0..<30 {
        let cand = zip(beta, target).map { $0 + step * ($1 - $0) }
        var e = design.linearPredictor(cand)
        for i in 0..<n { e[i] += off[i] }
        let m = e.map { exp(min($0, 700)) }
        let d = deviance(y, m, ones, 0)
        if d.isFinite && d <= dev * (1 + 1e-12) + 1e-12 || step < 1e-6 {
          let change = abs(d - dev) / (abs(d) + 0.1)
          beta = cand; eta = e; mu = m.map { max($0, 1e-300) }; dev = d; accepted = true
          if change < tolerance { converged = true }
          break
        }
        step /= 2
      }
      if !accepted || converged { break }
    }
    var (info, _) = design.gram(weights: mu, z: Array(repeating: 0, count: n))
    for j in 1..<p { info[j, j] += ridge }
    var se = [Double](repeating: .nan, count: p)
    if let c = try? Cholesky(info), let inv = try? c.inverse() { se = inv.diagonalElements.map { $0.squareRoot() } }
    return Result(coefficients: beta, standardErrors: se, alpha: 0, diagnostics: FitDiagnostics(
      converged: converged, iterations: iterations, deviance: dev, nullDeviance: deviance(y, Array(repeating: ybar, count: n), ones, 0),
      logLikelihood: logLikelihood(y, mu, ones, 0), observations: n, parameters: p,
      notes: converged ? [] : ["IRLS did not converge in \(maxIterations) iterations"]))
  }
}
