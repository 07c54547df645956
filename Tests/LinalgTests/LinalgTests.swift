import Foundation
import Linalg
import Testing
import TestSupport

struct Reference: Decodable {
  var A: [[Double]], b: [Double], AtA: [[Double]], lstsq_x: [Double]
  var S: [[Double]], cholesky_L: [[Double]], S_inverse: [[Double]], S_eigenvalues: [Double], S_logdet: Double
  var G: [[Double]], g: [Double], G_solve: [Double], cho_solve_S_b: [Double]
}

func reference() throws -> Reference { try Fixture.load(Reference.self, "linalg-reference", from: .module) }

func randomMatrix(_ r: Int, _ c: Int, seed: UInt64) -> Matrix {
  var rng = TestRNG(seed: seed)
  var m = Matrix(rows: r, columns: c)
  for i in m.elements.indices { m.elements[i] = Double.random(in: -1...1, using: &rng) }
  return m
}

func maxAbsDiff(_ a: Matrix, _ b: Matrix) -> Double {
  zip(a.elements, b.elements).map { abs($0 - $1) }.max() ?? 0
}

@Suite("Matrix basics")
struct MatrixBasics {
  @Test func layoutIsColumnMajor() throws {
    let m = try Matrix(rows: [[1, 2, 3], [4, 5, 6]])
    #expect(m.elements == [1, 4, 2, 5, 3, 6])
    #expect(m[1, 2] == 6)
    #expect(m.row(1) == [4, 5, 6])
    #expect(m.column(2) == [3, 6])
    #expect(m.transposed.rowArrays == [[1, 4], [2, 5], [3, 6]])
    #expect(try Matrix(columns: [[1, 4], [2, 5], [3, 6]]) == m)
    #expect(m.columns(1..<3).rowArrays == [[2, 3], [5, 6]])
    #expect(m.rows(1..<2).rowArrays == [[4, 5, 6]])
    #expect(Matrix.identity(2).rowArrays == [[1, 0], [0, 1]])
  }

  @Test func raggedRowsThrow() {
    #expect(throws: LinalgError.raggedRows(row: 1, expected: 2, found: 1)) { try Matrix(rows: [[1, 2], [3]]) }
    #expect(throws: LinalgError.self) { try Matrix(rows: 2, columns: 2, columnMajor: [1, 2, 3]) }
  }
}

@Suite("BLAS")
struct BLASTests {
  @Test func gemmHandComputed() throws {
    let a = try Matrix(rows: [[1, 2, 3], [4, 5, 6]])  // 2×3
    let b = try Matrix(rows: [[7, 8], [9, 10], [11, 12]])  // 3×2
    #expect(try BLAS.multiply(a, b).rowArrays == [[58, 64], [139, 154]])
    // Aᵀ·Aᵀᵀ... transposed operands: Bᵀ·Aᵀ = (A·B)ᵀ
    #expect(try BLAS.multiply(b, a, transposeA: true, transposeB: true).rowArrays == [[58, 139], [64, 154]])
    // α and β
    var c = Matrix(rows: 2, columns: 2, repeating: 1)
    try BLAS.gemm(a, b, alpha: 2, beta: -1, into: &c)
    #expect(c.rowArrays == [[115, 127], [277, 307]])
  }

  @Test func gemmShapeMismatchNamesBothShapes() throws {
    let a = Matrix(rows: 2, columns: 3)
    do {
      _ = try BLAS.multiply(a, a)
      Issue.record("expected a throw")
    } catch {
      #expect(error == .shapeMismatch(operation: "gemm(A·B)", left: Shape(2, 3), right: Shape(2, 3)))
      #expect("\(error)".contains("2×3"))
    }
  }

  @Test func emptyAndOneByOne() throws {
    let e = Matrix(rows: 0, columns: 3)
    #expect(try BLAS.multiply(e, Matrix(rows: 3, columns: 2)).shape == Shape(0, 2))
    // inner dimension zero gives a zero matrix
    let z = try BLAS.multiply(Matrix(rows: 2, columns: 0), Matrix(rows: 0, columns: 2))
    #expect(z.rowArrays == [[0, 0], [0, 0]])
    #expect(try BLAS.multiply(try Matrix(rows: [[3]]), try Matrix(rows: [[4]])).rowArrays == [[12]])
    #expect(try BLAS.dot([], []) == 0)
    #expect(BLAS.nrm2([]) == 0)
    #expect(try BLAS.multiply(Matrix(rows: 0, columns: 0), [Double]()) == [])
  }

  @Test func gemvAndLevel1() throws {
    let a = try Matrix(rows: [[1, 2, 3], [4, 5, 6]])
    #expect(try BLAS.multiply(a, [1, 0, -1]) == [-2, -2])
    #expect(try BLAS.multiply(a, [1, 1], transpose: true) == [5, 7, 9])
    var y = [1.0, 1.0]
    try BLAS.gemv(a, [1, 1, 1], alpha: 2, beta: 3, into: &y)
    #expect(y == [15, 33])
    #expect(try BLAS.dot([1, 2, 3], [4, 5, 6]) == 32)
    var v = [1.0, 2.0]
    try BLAS.axpy(2, [10, 20], &v)
    #expect(v == [21, 42])
    BLAS.scal(0.5, &v)
    #expect(v == [10.5, 21])
    #expect(BLAS.nrm2([3, 4]) == 5)
    #expect(BLAS.nrm2([1e300, 1e300]).isFinite)  // no overflow
    #expect(throws: LinalgError.self) { try BLAS.dot([1], [1, 2]) }
    #expect(throws: LinalgError.self) { try BLAS.multiply(a, [1, 2]) }
  }

  @Test func syrkMatchesGemmAndReference() throws {
    let ref = try reference()
    let a = try Matrix(rows: ref.A)
    let g = BLAS.gram(a)
    #expect(g.rowArrays == ref.AtA)  // integer inputs: exact
    let x = randomMatrix(50, 7, seed: 3)
    let viaGemm = try BLAS.multiply(x, x, transposeA: true)
    #expect(maxAbsDiff(BLAS.gram(x), viaGemm) < 1e-13)
    var aat = Matrix(rows: 50, columns: 50)
    try BLAS.syrk(x, transpose: false, into: &aat)
    #expect(maxAbsDiff(aat, try BLAS.multiply(x, x, transposeB: true)) < 1e-13)
  }

  @Test func threadCount() {
    let before = BLAS.threadCount
    BLAS.setThreadCount(1)
    #expect(BLAS.threadCount == 1)
    BLAS.setThreadCount(before)
  }
}

@Suite("LAPACK")
struct LAPACKTests {
  @Test func integerCholesky() throws {
    let a = try Matrix(rows: [[4, 12, -16], [12, 37, -43], [-16, -43, 98]])
    let chol = try Cholesky(a)
    #expect(chol.factor.rowArrays == [[2, 0, 0], [6, 1, 0], [-8, 5, 3]])  // exact in binary
    #expect(abs(chol.logDeterminant - log(36.0)) < 1e-14)
  }

  @Test func choleskyAgainstNumpy() throws {
    let ref = try reference()
    let s = try Matrix(rows: ref.S)
    let chol = try Cholesky(s)
    // Direct LAPACK results: tolerance ~1e-12 relative, absolute floor 1e-14 for entries near zero.
    for (r, e) in zip(chol.factor.rowArrays, ref.cholesky_L) {
      #expect(approxMismatch(r, e, abs: 1e-14, rel: 1e-12) == nil)
    }
    // L·Lᵀ = A
    let llt = try BLAS.multiply(chol.factor, chol.factor, transposeB: true)
    #expect(maxAbsDiff(llt, s) < 1e-12)
    let inv = try chol.inverse()
    for (r, e) in zip(inv.rowArrays, ref.S_inverse) { #expect(approxMismatch(r, e, abs: 1e-15, rel: 1e-11) == nil) }
    #expect(maxAbsDiff(try BLAS.multiply(s, inv), .identity(4)) < 1e-12)
    let rhs = try BLAS.multiply(try Matrix(rows: ref.A), ref.b, transpose: true)
    #expect(approxMismatch(try chol.solve(rhs), ref.cho_solve_S_b, abs: 1e-14, rel: 1e-11) == nil)
    #expect(approxEqual(chol.logDeterminant, ref.S_logdet, rel: 1e-12))
  }

  @Test func notPositiveDefiniteNamesTheMinor() throws {
    let a = try Matrix(rows: [[1, 2, 0], [2, 1, 0], [0, 0, 1]])
    #expect(throws: LinalgError.notPositiveDefinite(leadingMinor: 2)) { try Cholesky(a) }
    #expect("\(LinalgError.notPositiveDefinite(leadingMinor: 2))".contains("leading minor 2"))
  }

  @Test func illConditionedCholeskyThrows() throws {
    // Positive semi-definite to rounding: rank-1 plus a tiny ridge.
    let a = try Matrix(rows: [[1, 1], [1, 1 + 1e-17]])
    #expect(throws: LinalgError.self) { try Cholesky(a) }
    let nan = try Matrix(rows: [[Double.nan]])
    #expect(throws: LinalgError.nonFinite(operation: "Cholesky (dpotrf)")) { try Cholesky(nan) }
    #expect(throws: LinalgError.notSquare(operation: "Cholesky (dpotrf)", shape: Shape(2, 3))) {
      try Cholesky(Matrix(rows: 2, columns: 3))
    }
  }

  @Test func luSolveAgainstNumpy() throws {
    let ref = try reference()
    let g = try Matrix(rows: ref.G)
    let x = try LAPACK.solve(g, ref.g)
    #expect(approxMismatch(x, ref.G_solve, abs: 1e-14, rel: 1e-12) == nil)
    // A·x = b identity on a random system
    let r = randomMatrix(30, 30, seed: 9)
    let b = (0..<30).map { Double($0) }
    let xr = try LUFactorization(r).solve(b)
    #expect(approxMismatch(try BLAS.multiply(r, xr), b, abs: 1e-10, rel: 1e-10) == nil)
  }

  @Test func singularLUThrows() throws {
    let exact = try Matrix(rows: [[1, 2], [2, 4]])
    #expect(throws: LinalgError.singular(pivot: 2)) { try LUFactorization(exact) }
    let nearly = try Matrix(rows: [[1, 2], [1, 2 + 1e-17]])
    #expect(throws: LinalgError.self) { try LUFactorization(nearly) }
    #expect(try LUFactorization(Matrix(rows: 0, columns: 0)).solve([Double]()) == [])
    #expect(try LAPACK.solve(try Matrix(rows: [[4]]), [2]) == [0.5])
  }

  @Test func leastSquaresAgainstNumpy() throws {
    let ref = try reference()
    let a = try Matrix(rows: ref.A)
    let x = try LAPACK.leastSquares(a, ref.b)
    #expect(approxMismatch(x, ref.lstsq_x, abs: 1e-14, rel: 1e-11) == nil)
    // Residual is orthogonal to the columns: Aᵀ(b − Ax) = 0.
    var r = ref.b
    try BLAS.gemv(a, x, alpha: -1, beta: 1, into: &r)
    let atr = try BLAS.multiply(a, r, transpose: true)
    #expect(atr.allSatisfy { abs($0) < 1e-12 })
  }

  @Test func leastSquaresRankDeficientThrows() throws {
    let a = try Matrix(rows: [[1, 2], [2, 4], [3, 6]])
    #expect(throws: LinalgError.self) { try LAPACK.leastSquares(a, [1, 2, 3]) }
    #expect(throws: LinalgError.self) { try LAPACK.leastSquares(Matrix(rows: 1, columns: 2), [1]) }
  }

  @Test func symmetricEigen() throws {
    let ref = try reference()
    let s = try Matrix(rows: ref.S)
    let (w, v) = try LAPACK.symmetricEigen(s)
    #expect(approxMismatch(w, ref.S_eigenvalues, abs: 1e-12, rel: 1e-12) == nil)
    // Vᵀ V = I and A V = V Λ
    #expect(maxAbsDiff(BLAS.gram(v), .identity(4)) < 1e-13)
    let av = try BLAS.multiply(s, v)
    let vl = try BLAS.multiply(v, .diagonal(w))
    #expect(maxAbsDiff(av, vl) < 1e-11)
    #expect(try LAPACK.symmetricEigen(try Matrix(rows: [[5]])).values == [5])
    #expect(try LAPACK.symmetricEigen(Matrix(rows: 0, columns: 0)).values.isEmpty)
  }

  @Test func selfCheckPasses() {
    let checks = LinalgSelfCheck.run()
    #expect(checks.allSatisfy { $0.passed }, "\(checks)")
  }
}
