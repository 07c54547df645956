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

  /// XᵀWX and XᵀWz from the block structure, in one pass over the rows: each row adds its weight to
  /// the cells of its one-hot columns (intercept and one level per factor), w·d to the factor–dense
  /// cells, and w·dᵢdⱼ to the dense–dense block (`dsyrk` on √W·D when there are many dense columns).
  /// - Complexity: O(rows · (factors + q)²), instead of O(rows · p²) for the formed X.
  func gram(weights w: [Double], z: [Double]) -> (Matrix, [Double]) {
    let p = columns, n = rows, q = dense.columns, d0 = denseOffset, nf = factors.count
    var g = Matrix(rows: p, columns: p)
    var b = [Double](repeating: 0, count: p)
    // Each row's one-hot column per factor (−1 at the reference level), row-major.
    var onehot = [Int32](repeating: -1, count: n * max(1, nf))
    onehot.withUnsafeMutableBufferPointer { H in
      for f in 0..<nf {
        let o = Int32(offset(f) - 1)
        factors[f].withUnsafeBufferPointer { L in for i in 0..<n where L[i] > 0 { H[i * nf + f] = o + L[i] } }
      }
    }
    g.elements.withUnsafeMutableBufferPointer { G in
      b.withUnsafeMutableBufferPointer { B in
        w.withUnsafeBufferPointer { W in
          z.withUnsafeBufferPointer { Z in
            onehot.withUnsafeBufferPointer { H in
              // Factor blocks, row by row: intercept and each one-hot column, and their cross cells.
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
              // Factor–dense cells and Xᵀwz for the dense columns, column by column (contiguous reads):
              // per-column sums by one-hot column, kept in a small array, then copied into G.
              guard q > 0 else { return }
              dense.elements.withUnsafeBufferPointer { D in
                var byColumn = [Double](repeating: 0, count: d0)
                byColumn.withUnsafeMutableBufferPointer { S in
                  for j in 0..<q {
                    let col = D.baseAddress! + j * n
                    for c in 0..<d0 { S[c] = 0 }
                    var total = 0.0, tz = 0.0
                    for i in 0..<n {
                      let t = W[i] * col[i]
                      total += t
                      tz += t * Z[i]
                      for f in 0..<nf { let h = Int(H[i * nf + f]); if h >= 0 { S[h] += t } }
                    }
                    S[0] = total
                    B[d0 + j] = tz
                    for c in 0..<d0 { G[(d0 + j) + c * p] = S[c] }
                  }
                }
              }
            }
          }
        }
      }
    }
    if q > 0 {
      // Dense–dense block: `dsyrk` on √W·D.
      var ds = dense
      let root = w.map { $0.squareRoot() }
      ds.elements.withUnsafeMutableBufferPointer { E in
        root.withUnsafeBufferPointer { R in for j in 0..<q { for i in 0..<n { E[i + j * n] *= R[i] } } }
      }
      var dd = Matrix(rows: q, columns: q)
      try? BLAS.syrk(ds, transpose: true, into: &dd)
      for j in 0..<q { for m in 0...j { g[d0 + j, d0 + m] = dd[j, m] } }
    }
    // Lower triangle is filled (row ≥ column by construction); mirror it.
    for j in 0..<p { for i in (j + 1)..<p { g[j, i] = g[i, j] } }
    return (g, b)
  }
}

extension FactorDesign: GLMDesign {
  public func weightedGram(weights: [Double], z: [Double]) throws(FitError) -> (Matrix, [Double]) { gram(weights: weights, z: z) }
}
