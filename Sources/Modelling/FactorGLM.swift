import Foundation
import Linalg

/// A design made of an intercept, categorical factors (one-hot, first level dropped) and a few dense
/// columns, without ever forming the one-hot matrix. Column order: intercept, each factor's levels
/// 1…L−1, then the dense columns.
public struct FactorDesign: Sendable {
  /// Level of each row for each factor (0 = the reference level).
  public private(set) var factors: [[Int32]]
  public private(set) var levels: [Int]
  /// Dense columns, rows × q, column-major.
  public private(set) var dense: Matrix
  public var rows: Int { dense.rows }
  /// - Precondition: one level count per factor, each factor one level per row of `dense`, every level
  ///   in 0..<its count (the sums run through unchecked buffers).
  public init(factors: [[Int32]], levels: [Int], dense: Matrix) {
    precondition(factors.count == levels.count && zip(factors, levels).allSatisfy { f, l in
      f.count == dense.rows && f.allSatisfy { $0 >= 0 && Int($0) < l }
    }, "FactorDesign: each factor needs one level in 0..<its count per row")
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
    precondition(beta.count == columns, "Xβ: \(beta.count) coefficients for \(columns) columns")
    var eta = [Double](repeating: beta[0], count: rows)
    eta.withUnsafeMutableBufferPointer { E in
      beta.withUnsafeBufferPointer { B in
        for f in factors.indices {
          let o = offset(f) - 1
          factors[f].withUnsafeBufferPointer { L in for i in 0..<L.count where L[i] > 0 { E[i] += B[o + Int(L[i])] } }
        }
      }
    }
    if dense.columns > 0 {
      let tail = Array(beta[denseOffset...])
      var d = [Double](repeating: 0, count: rows)
      try? BLAS.gemv(dense, tail, into: &d)  // dgemv
      for i in 0..<rows { eta[i] += d[i] }
    }
    return eta
  }

  /// Each row's one-hot column per factor (−1 at the reference level), row-major: row i's factor f at
  /// i · factors + f (empty without factors).
  func oneHotColumns() -> [Int32] {
    let n = rows, nf = factors.count
    guard nf > 0 else { return [] }
    var onehot = [Int32](repeating: -1, count: n * nf)
    onehot.withUnsafeMutableBufferPointer { H in
      for f in 0..<nf {
        let o = Int32(offset(f) - 1)
        factors[f].withUnsafeBufferPointer { L in for i in 0..<n where L[i] > 0 { H[i * nf + f] = o + L[i] } }
      }
    }
    return onehot
  }

  /// XᵀWX and XᵀWz from the block structure: each row adds its weight to the cells of its one-hot
  /// columns (intercept and one level per factor), each dense column its w·d to the factor–dense cells
  /// (summed over runs of one level), and w·dᵢdⱼ goes to the dense–dense block (`dsyrk` on √W·D, a few
  /// thousand rows at a time).
  /// - Complexity: O(rows · (factors + q)²), instead of O(rows · p²) for the formed X.
  /// - Parameter onehot: `oneHotColumns()`, when the caller has it already.
  func gram(weights w: [Double], z: [Double], onehot given: [Int32]? = nil) -> (Matrix, [Double]) {
    let p = columns, n = rows, q = dense.columns, d0 = denseOffset, nf = factors.count
    var g = Matrix(rows: p, columns: p)
    var b = [Double](repeating: 0, count: p)
    let onehot = given ?? oneHotColumns()
    g.elements.withUnsafeMutableBufferPointer { G in
      b.withUnsafeMutableBufferPointer { B in
        w.withUnsafeBufferPointer { W in
          z.withUnsafeBufferPointer { Z in
            onehot.withUnsafeBufferPointer { H in
              // Factor blocks, row by row: intercept and each one-hot column, and their cross cells
              // (with no factor, the intercept's Σw and Σwz).
              if nf == 0 {
                (G[0], B[0]) = partialSums(0..<n) { (W[$0], W[$0] * Z[$0]) }
              } else {
                var cols = [Int](repeating: 0, count: nf + 1)
                cols.withUnsafeMutableBufferPointer { C in
                  for i in 0..<n {
                    let wi = W[i], wz = wi * Z[i]
                    var k = 1
                    for f in 0..<nf where H[i * nf + f] >= 0 { C[k] = Int(H[i * nf + f]); k += 1 }
                    for a in 0..<k {
                      let ca = C[a]
                      B[ca] += wz
                      for m in 0...a { G[ca + C[m] * p] += wi }  // row ca ≥ column C[m]: lower triangle
                    }
                  }
                }
              }
              // Factor–dense cells and Xᵀwz for the dense columns, dense column by dense column through
              // the rows in storage order: Σ w·d and Σ w·d·z over all rows, and per factor each run of
              // rows at one level (a collapsed design comes unit by unit) summed and added to the level's
              // cell (none at the reference level) — row by row for a factor that changes every few rows.
              guard q > 0 else { return }
              let runs = (0..<nf).map { f in levelRuns(count: n) { H[$0 * nf + f] } }
              dense.elements.withUnsafeBufferPointer { D in
                for j in 0..<q {
                  let column = D.baseAddress! + j * n
                  let (s, sz) = partialSums(0..<n) { let t = W[$0] * column[$0]; return (t, t * Z[$0]) }
                  B[d0 + j] = sz; G[d0 + j] = s  // intercept column
                  for f in 0..<nf {
                    if let levelRuns = runs[f] {
                      for run in levelRuns where run.value >= 0 {
                        G[(d0 + j) + Int(run.value) * p] += weightedColumnSum(column, W.baseAddress!, run.range)
                      }
                    } else {
                      // Row by row into one small array (the cells of G lie a column apart).
                      var acc = [Double](repeating: 0, count: d0)
                      acc.withUnsafeMutableBufferPointer { A in
                        for i in 0..<n where H[i * nf + f] >= 0 { A[Int(H[i * nf + f])] += W[i] * column[i] }
                      }
                      for c in 1..<d0 where acc[c] != 0 { G[(d0 + j) + c * p] += acc[c] }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    if q > 0 {
      // Dense–dense block: `dsyrk` on √W·D, a few thousand rows at a time into one small buffer (a
      // scaled copy of all of D was tens of megabytes, allocated and paged in on every IRLS step).
      let chunk = min(n, 4096)
      var ds = Matrix(rows: chunk, columns: q), dd = Matrix(rows: q, columns: q)
      var root = [Double](repeating: 0, count: chunk)
      var from = 0
      while from < n {
        let len = min(chunk, n - from)
        if len < ds.rows { ds = Matrix(rows: len, columns: q) }
        root.withUnsafeMutableBufferPointer { R in
          w.withUnsafeBufferPointer { W in for i in 0..<len { R[i] = W[from + i].squareRoot() } }
        }
        ds.elements.withUnsafeMutableBufferPointer { E in
          dense.elements.withUnsafeBufferPointer { D in
            root.withUnsafeBufferPointer { R in
              for j in 0..<q {
                let src = D.baseAddress! + (from + j * n), dst = E.baseAddress! + j * len, r = R.baseAddress!
                for i in 0..<len { dst[i] = r[i] * src[i] }
              }
            }
          }
        }
        try? BLAS.syrk(ds, transpose: true, beta: from == 0 ? 0 : 1, into: &dd)
        from += len
      }
      for j in 0..<q { for m in 0...j { g[d0 + j, d0 + m] = dd[j, m] } }
    }
    // Lower triangle is filled (row ≥ column by construction); mirror it.
    for j in 0..<p { for i in (j + 1)..<p { g[j, i] = g[i, j] } }
    return (g, b)
  }
}

extension FactorDesign: GLMDesign {
  public func weightedGram(weights: [Double], z: [Double]) throws(FitError) -> (Matrix, [Double]) { gram(weights: weights, z: z) }

  /// A factor's block of XᵀWX is diagonal: the levels of the factor with the most levels are absorbed
  /// by the Schur complement and only the rest — intercept, the other factors' levels and the dense
  /// columns — is factored. With one factor that is (1 + dense)², O(rows · q² + levels · q²), where the
  /// formed matrix is levels² (9 000 grid cells: 650 MB and a 2.5 · 10¹¹-flop Cholesky per step); with
  /// a unit factor and a unit × time-of-day factor (200 sites × 4 bands) it is 215² instead of 1 015².
  public func factorPenalised(weights: [Double], z: [Double], ridge: Double, penalised: [Int]) throws(FitError) -> PenalisedSystem {
    guard let b = absorbedBlocks(weights: weights, z: z, ridge: ridge, penalised: penalised) else {
      let (g, rhs) = gram(weights: weights, z: z)
      return try factorFormed(g, rhs, ridge: ridge, penalised: penalised)
    }
    if let l = b.diagonal.firstIndex(where: { !($0 > 0) }) {
      throw .collinear("XᵀWX is singular: level \(l + 1) of the factor has no weight (no rows, or a unit with no data); set ridge > 0")
    }
    let (schur, reduced) = b.schur()
    let chol: Cholesky
    do { chol = try Cholesky(schur) } catch {
      throw .collinear("XᵀWX is singular (\(error)): a constant, all-zero or duplicated column; drop it or set ridge > 0")
    }
    let small: [Double]
    do { small = try chol.solve(reduced) } catch { throw .numerical("\(error)") }
    let p = columns
    // Any other right-hand side is reduced through the same blocks and solved by the same factor.
    return PenalisedSystem(beta: b.coefficients(small: small, columns: p)) { (c: [Double]) throws(LinalgError) -> [Double] in
      let level = Array(c[b.levelStart..<(b.levelStart + b.levelCount)])
      let small = try chol.solve(b.reduced(level: level, small: b.smallColumns.map { c[$0] }))
      return b.coefficients(small: small, level: level, columns: p)
    }
  }

  /// Xᵀv without forming X.
  public func transposeTimes(_ v: [Double]) -> [Double] {
    precondition(v.count == rows, "Xᵀv: \(v.count) values for \(rows) rows")
    var out = [Double](repeating: 0, count: columns)
    let n = rows
    out.withUnsafeMutableBufferPointer { O in
      v.withUnsafeBufferPointer { V in
        // The intercept: Σv in four partial sums. A factor's levels: each run of rows at one level
        // (a collapsed design comes unit by unit) summed, then added to the level's cell.
        O[0] = partialSums(0..<n) { (V[$0], 0) }.0
        for f in factors.indices {
          let o = offset(f) - 1
          factors[f].withUnsafeBufferPointer { L in
            var from = 0
            while from < n {
              let level = L[from]
              var to = from, run = 0.0
              while to < n && L[to] == level { run += V[to]; to += 1 }
              if level > 0 { O[o + Int(level)] += run }
              from = to
            }
          }
        }
      }
    }
    if dense.columns > 0 {
      // dgemv; it fails only on shapes that do not match, which the design's own arrays rule out.
      guard let d = try? BLAS.multiply(dense, v, transpose: true) else { preconditionFailure("Xᵀv: \(v.count) values for \(rows) rows") }
      for j in 0..<dense.columns { out[denseOffset + j] = d[j] }
    }
    return out
  }

  public func penalisedInverseDiagonal(weights: [Double], ridge: Double, penalised: [Int]) -> [Double]? {
    guard let b = absorbedBlocks(weights: weights, z: nil, ridge: ridge, penalised: penalised) else {
      return formedInverseDiagonal(gram(weights: weights, z: [Double](repeating: 0, count: rows)).0, ridge: ridge, penalised: penalised)
    }
    guard b.diagonal.allSatisfy({ $0 > 0 }), let c = try? Cholesky(b.schur().0), let inv = try? c.inverse() else { return nil }
    // diag of the inverse: the small block's from S⁻¹; level l's 1/d_l + (E_l/d_l)ᵀ S⁻¹ (E_l/d_l),
    // over the cells of E_l that are not zero.
    let s = b.small
    var out = [Double](repeating: 0, count: columns)
    for j in 0..<s { out[b.smallColumns[j]] = inv[j, j] }
    var nz: [Int] = []
    for l in 0..<b.levelCount {
      let d = b.diagonal[l]
      nz.removeAll(keepingCapacity: true)
      for k in 0..<s where b.cross[l * s + k] != 0 { nz.append(k) }
      var quad = 0.0
      for k in nz {
        var row = 0.0
        for m in nz { row += inv[k, m] * b.cross[l * s + m] }
        quad += b.cross[l * s + k] * row
      }
      out[b.levelStart + l] = 1 / d + quad / (d * d)
    }
    return out
  }

  /// The blocks for the factor with the most levels absorbed, or nil when absorbing cannot pay: another
  /// factor beside a few levels, or a cross block over 50 M cells.
  func absorbedBlocks(weights: [Double], z: [Double]?, ridge: Double, penalised: [Int]) -> OneFactorBlocks? {
    guard !factors.isEmpty else { return nil }
    let a = levels.indices.max { levels[$0] < levels[$1] }!
    let m = levels[a] - 1, s = columns - m
    guard factors.count == 1 || m >= 64, m * s <= 50_000_000 else { return nil }
    return blocks(absorbing: a, weights: weights, z: z, ridge: ridge, penalised: penalised)
  }

  /// The blocks of XᵀWX + penalty with factor `a`'s levels 1…L−1 as the diagonal and every other column
  /// (in design order) as the small block, formed by `gram` on the design without factor `a`.
  func blocks(absorbing a: Int, weights w: [Double], z: [Double]?, ridge: Double, penalised: [Int]) -> OneFactorBlocks {
    let n = rows, m = levels[a] - 1, start = offset(a), s = columns - m, q = dense.columns
    let rest = FactorDesign(factors: factors.enumerated().filter { $0.offset != a }.map(\.element),
                            levels: levels.enumerated().filter { $0.offset != a }.map(\.element), dense: dense)
    let zs = z ?? [Double](repeating: 0, count: n)
    // The other factors' one-hot columns are the rest's: built once for its XᵀWX and the cross cells.
    let otherCell = rest.oneHotColumns()
    var (g, smallRHS) = rest.gram(weights: w, z: zs, onehot: otherCell)
    let smallColumns = Array(0..<start) + Array((start + m)..<columns)
    let denseStart = s - q
    var diag = [Double](repeating: 0, count: m), cross = [Double](repeating: 0, count: m * s), levelRHS = diag
    let absorbed = factors[a]
    // The absorbed factor's levels come in runs of rows (a collapsed design comes unit by unit): each
    // level's cells are sums over its runs, taken through the rows in storage order (row by row when
    // its levels change every few rows). The other factors' columns in the small block (the rest's
    // columns) row by row.
    let no = rest.factors.count
    absorbed.withUnsafeBufferPointer { L in
      let runs = levelRuns(count: n) { L[$0] }
      w.withUnsafeBufferPointer { W in
        zs.withUnsafeBufferPointer { Z in
          otherCell.withUnsafeBufferPointer { O in
            cross.withUnsafeMutableBufferPointer { C in
              func others(_ rows: Range<Int>, _ row: Int) {
                guard no > 0 else { return }
                for i in rows { for k in 0..<no where O[i * no + k] >= 0 { C[row + Int(O[i * no + k])] += W[i] } }
              }
              if let runs {
                for run in runs where run.value > 0 {
                  let l = Int(run.value) - 1, row = l * s
                  let (sw, swz) = partialSums(run.range) { (W[$0], W[$0] * Z[$0]) }
                  diag[l] += sw; levelRHS[l] += swz; C[row] += sw
                  others(run.range, row)
                }
              } else {
                for i in 0..<n where L[i] > 0 {
                  let l = Int(L[i]) - 1, row = l * s
                  diag[l] += W[i]; levelRHS[l] += W[i] * Z[i]; C[row] += W[i]
                  others(i..<(i + 1), row)
                }
              }
              // The level–dense cells, dense column by dense column.
              dense.elements.withUnsafeBufferPointer { D in
                for j in 0..<q {
                  let column = D.baseAddress! + j * n
                  if let runs {
                    for run in runs where run.value > 0 {
                      C[(Int(run.value) - 1) * s + denseStart + j] += weightedColumnSum(column, W.baseAddress!, run.range)
                    }
                  } else {
                    // Row by row into one small array (the cells of the cross block lie a row apart).
                    var acc = [Double](repeating: 0, count: m)
                    acc.withUnsafeMutableBufferPointer { A in
                      for i in 0..<n where L[i] > 0 { A[Int(L[i]) - 1] += W[i] * column[i] }
                    }
                    for l in 0..<m where acc[l] != 0 { C[l * s + denseStart + j] += acc[l] }
                  }
                }
              }
            }
          }
        }
      }
    }
    for idx in penalised {
      if idx >= start && idx < start + m { diag[idx - start] += ridge } else { let k = idx < start ? idx : idx - m; g[k, k] += ridge }
    }
    return OneFactorBlocks(levelCount: m, small: s, diagonal: diag, cross: cross, smallGram: g, levelRHS: levelRHS, smallRHS: smallRHS,
                           levelStart: start, smallColumns: smallColumns)
  }

  /// The blocks of XᵀWX + penalty with one factor's levels as a diagonal, the "small" block of every
  /// other column, and their cross products; with the right-hand sides.
  struct OneFactorBlocks {
    var levelCount: Int
    var small: Int
    var diagonal: [Double]
    /// levels × small, row-major.
    var cross: [Double]
    var smallGram: Matrix
    var levelRHS: [Double]
    var smallRHS: [Double]
    /// The design column of the absorbed factor's first level, and of each small-block column.
    var levelStart: Int
    var smallColumns: [Int]

    /// S = C − Eᵀ D⁻¹ E and the reduced right-hand side b_S − Eᵀ D⁻¹ b_F, each level adding over the
    /// cells of its row of E that are not zero (a unit × band level touches the intercept, its unit
    /// and the dense columns, not every unit).
    func schur() -> (Matrix, [Double]) {
      var sc = smallGram
      var nz: [Int] = []
      for l in 0..<levelCount {
        let d = diagonal[l]
        guard d > 0 else { continue }
        let row = l * small
        nz.removeAll(keepingCapacity: true)
        for j in 0..<small where cross[row + j] != 0 { nz.append(j) }
        for j in nz {
          let ej = cross[row + j] / d
          for k in nz where k <= j { sc[j, k] -= ej * cross[row + k] }
        }
      }
      for j in 0..<small { for k in 0..<j { sc[k, j] = sc[j, k] } }
      return (sc, reduced(level: levelRHS, small: smallRHS))
    }

    /// A right-hand side (its level and small-block parts) reduced by the absorbed levels: b_S − Eᵀ D⁻¹ b_F
    /// (`schur` reduces the blocks' own with it).
    func reduced(level: [Double], small rhs: [Double]) -> [Double] {
      var r = rhs
      for l in 0..<levelCount where diagonal[l] > 0 {
        let row = l * small, d = diagonal[l]
        for j in 0..<small where cross[row + j] != 0 { r[j] -= cross[row + j] / d * level[l] }
      }
      return r
    }

    /// Coefficients in design order from the small block's solution (for the right-hand side whose
    /// level part is `level`; the blocks' own by default).
    func coefficients(small beta: [Double], level: [Double]? = nil, columns: Int) -> [Double] {
      let level = level ?? levelRHS
      var out = [Double](repeating: 0, count: columns)
      for j in 0..<small { out[smallColumns[j]] = beta[j] }
      for l in 0..<levelCount {
        var t = level[l]
        for k in 0..<small { t -= cross[l * small + k] * beta[k] }
        out[levelStart + l] = t / diagonal[l]
      }
      return out
    }
  }
}

/// Σ aᵢ and Σ bᵢ over `rows` for (aᵢ, bᵢ) = `term(i)`, in four interleaved partial sums added in a fixed
/// order (independent chains of additions, not one; the result depends on nothing but the values).
@inline(__always)
func partialSums(_ rows: Range<Int>, _ term: (Int) -> (Double, Double)) -> (Double, Double) {
  var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0
  var i = rows.lowerBound
  let end = rows.upperBound
  while i + 4 <= end {
    let (a0, b0) = term(i), (a1, b1) = term(i + 1), (a2, b2) = term(i + 2), (a3, b3) = term(i + 3)
    s0 += a0; s1 += a1; s2 += a2; s3 += a3
    t0 += b0; t1 += b1; t2 += b2; t3 += b3
    i += 4
  }
  while i < end { let (a, b) = term(i); s0 += a; t0 += b; i += 1 }
  return ((s0 + s1) + (s2 + s3), (t0 + t1) + (t2 + t3))
}

/// Σ wᵢdᵢ over `rows` (one dense column's cell).
@inline(__always)
func weightedColumnSum(_ d: UnsafePointer<Double>, _ w: UnsafePointer<Double>, _ rows: Range<Int>) -> Double {
  partialSums(rows) { (w[$0] * d[$0], 0) }.0
}

/// The runs of equal values among `n` entries (`value(i)`) in order, or nil when there are more than
/// n/8 of them: a factor that changes every few rows is summed row by row instead (a list of runs of one
/// or two rows costs more than it saves).
@inline(__always)
func levelRuns(count n: Int, _ value: (Int) -> Int32) -> [(range: Range<Int>, value: Int32)]? {
  var changes = 0
  for i in 1..<max(n, 1) where value(i) != value(i - 1) { changes += 1 }
  guard (changes + 1) * 8 <= n else { return nil }
  var out: [(range: Range<Int>, value: Int32)] = []
  out.reserveCapacity(changes + 1)
  var from = 0
  for i in 1..<(n + 1) where i == n || value(i) != value(from) {
    out.append((from..<i, value(from)))
    from = i
  }
  return out
}
