import CLAPACKE
#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

@inline(__always) private func ch(_ s: String) -> CChar { CChar(UInt8(ascii: s.unicodeScalars.first!)) }

@inline(__always) private func checkArgument(_ info: clapack_int, _ routine: String) throws(LinalgError) {
  if info < 0 { throw .lapackArgument(routine: routine, position: Int(-info)) }
}

private func requireFinite(_ m: Matrix, _ operation: String) throws(LinalgError) {
  for v in m.elements where !v.isFinite { throw .nonFinite(operation: operation) }
}

/// Reciprocal condition numbers below this are treated as numerically singular: the solution
/// would carry no correct digits (machine epsilon, 2.2e-16).
public let singularityThreshold = Double.ulpOfOne

/// A Cholesky factorisation `A = L·Lᵀ` of a symmetric positive-definite matrix (`dpotrf`).
public struct Cholesky: Sendable {
  /// The lower-triangular factor `L` (upper triangle zero).
  public let factor: Matrix
  /// Estimated reciprocal condition number of `A` in the 1-norm (`dpocon`).
  public let reciprocalCondition: Double

  /// Factors `a` (only its lower triangle is read).
  /// - Throws: `notSquare`; `notPositiveDefinite(leadingMinor:)` when `dpotrf` fails at minor k;
  ///   `notPositiveDefinite` too when the matrix is numerically singular (rcond < ε), because a
  ///   solve with it would be meaningless; `nonFinite` for NaN/∞ input.
  public init(_ a: Matrix) throws(LinalgError) {
    guard a.rows == a.columns else { throw .notSquare(operation: "Cholesky (dpotrf)", shape: a.shape) }
    try requireFinite(a, "Cholesky (dpotrf)")
    let n = a.rows
    var l = a
    if n == 0 {
      factor = l; reciprocalCondition = .infinity; return
    }
    // 1-norm of the symmetric matrix from its lower triangle (dlansy), for the condition estimate.
    let anorm = a.elements.withUnsafeBufferPointer { p in
      LAPACKE_dlansy(LAPACK_COL_MAJOR, ch("1"), ch("L"), clapack_int(n), p.baseAddress, clapack_int(n))
    }
    let info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, ch("L"), clapack_int(n), &l.elements, clapack_int(max(1, n)))
    if info > 0 { throw .notPositiveDefinite(leadingMinor: Int(info)) }
    try checkArgument(info, "dpotrf")
    var rcond = 0.0
    let cinfo = LAPACKE_dpocon(LAPACK_COL_MAJOR, ch("L"), clapack_int(n), l.elements, clapack_int(n), anorm, &rcond)
    try checkArgument(cinfo, "dpocon")
    if rcond < singularityThreshold { throw .notPositiveDefinite(leadingMinor: n) }
    l.zeroUpperTriangle()
    factor = l
    reciprocalCondition = rcond
  }

  /// Solves `A·X = B` for `X` (`dpotrs`).
  public func solve(_ b: Matrix) throws(LinalgError) -> Matrix {
    let n = factor.rows
    guard b.rows == n else { throw .shapeMismatch(operation: "Cholesky solve (dpotrs)", left: factor.shape, right: b.shape) }
    if n == 0 || b.columns == 0 { return b }
    var x = b
    let info = LAPACKE_dpotrs(
      LAPACK_COL_MAJOR, ch("L"), clapack_int(n), clapack_int(b.columns), factor.elements, clapack_int(n),
      &x.elements, clapack_int(n))
    try checkArgument(info, "dpotrs")
    return x
  }

  /// Solves `A·x = b` for a vector (`dpotrs`).
  public func solve(_ b: [Double]) throws(LinalgError) -> [Double] {
    try solve(Matrix(rows: b.count, columns: 1, columnMajor: b)).elements
  }

  /// `A⁻¹` from the factor (`dpotri`), both triangles filled.
  public func inverse() throws(LinalgError) -> Matrix {
    let n = factor.rows
    if n == 0 { return factor }
    var inv = factor
    let info = LAPACKE_dpotri(LAPACK_COL_MAJOR, ch("L"), clapack_int(n), &inv.elements, clapack_int(n))
    if info > 0 { throw .singular(pivot: Int(info)) }
    try checkArgument(info, "dpotri")
    inv.symmetrizeFromLower()
    return inv
  }

  /// `log det A = 2·Σ log Lᵢᵢ`.
  public var logDeterminant: Double { 2 * factor.diagonalElements.reduce(0) { $0 + log($1) } }
}

/// An LU factorisation with partial pivoting, `P·A = L·U` (`dgetrf`).
public struct LUFactorization: Sendable {
  /// L (unit lower, below the diagonal) and U (on and above) packed together, as LAPACK returns them.
  public let packed: Matrix
  /// 1-based pivot indices from `dgetrf`.
  public let pivots: [Int32]
  /// Estimated reciprocal condition number in the 1-norm (`dgecon`).
  public let reciprocalCondition: Double

  /// Factors a square matrix.
  /// - Throws: `notSquare`; `singular(pivot:)` for an exactly zero pivot or rcond < ε; `nonFinite`.
  public init(_ a: Matrix) throws(LinalgError) {
    guard a.rows == a.columns else { throw .notSquare(operation: "LU (dgetrf)", shape: a.shape) }
    try requireFinite(a, "LU (dgetrf)")
    let n = a.rows
    var lu = a
    var ipiv = [clapack_int](repeating: 0, count: n)
    if n == 0 { packed = lu; pivots = []; reciprocalCondition = .infinity; return }
    let anorm = a.elements.withUnsafeBufferPointer { p in
      LAPACKE_dlange(LAPACK_COL_MAJOR, ch("1"), clapack_int(n), clapack_int(n), p.baseAddress, clapack_int(n))
    }
    let info = LAPACKE_dgetrf(LAPACK_COL_MAJOR, clapack_int(n), clapack_int(n), &lu.elements, clapack_int(n), &ipiv)
    if info > 0 { throw .singular(pivot: Int(info)) }
    try checkArgument(info, "dgetrf")
    var rcond = 0.0
    let cinfo = LAPACKE_dgecon(LAPACK_COL_MAJOR, ch("1"), clapack_int(n), lu.elements, clapack_int(n), anorm, &rcond)
    try checkArgument(cinfo, "dgecon")
    if rcond < singularityThreshold {
      // Report the smallest |U_ii| as the offending pivot.
      let d = lu.diagonalElements.map(abs)
      throw .singular(pivot: (d.indices.min { d[$0] < d[$1] } ?? 0) + 1)
    }
    packed = lu
    pivots = ipiv.map { Int32($0) }
    reciprocalCondition = rcond
  }

  /// Solves `A·X = B` (`dgetrs`).
  public func solve(_ b: Matrix) throws(LinalgError) -> Matrix {
    let n = packed.rows
    guard b.rows == n else { throw .shapeMismatch(operation: "LU solve (dgetrs)", left: packed.shape, right: b.shape) }
    if n == 0 || b.columns == 0 { return b }
    var x = b
    let ipiv = pivots.map { clapack_int($0) }
    let info = LAPACKE_dgetrs(
      LAPACK_COL_MAJOR, ch("N"), clapack_int(n), clapack_int(b.columns), packed.elements, clapack_int(n), ipiv,
      &x.elements, clapack_int(n))
    try checkArgument(info, "dgetrs")
    return x
  }

  /// Solves `A·x = b` for a vector (`dgetrs`).
  public func solve(_ b: [Double]) throws(LinalgError) -> [Double] {
    try solve(Matrix(rows: b.count, columns: 1, columnMajor: b)).elements
  }
}

/// Linear least squares and eigenproblems.
public enum LAPACK {
  /// Minimises `‖A·x − b‖₂` for a full-column-rank `A` with `rows ≥ columns` by QR (`dgels`);
  /// with several right-hand sides, one column of `B` each.
  /// - Returns: the `columns(A) × columns(B)` solution.
  /// - Throws: `rankDeficient(column:)` when R has an exactly zero diagonal element or
  ///   its estimated reciprocal condition (`dtrcon`) is below ε; `shapeMismatch` when
  ///   `rows(B) ≠ rows(A)` or `rows(A) < columns(A)` (underdetermined systems are not supported).
  public static func leastSquares(_ a: Matrix, _ b: Matrix) throws(LinalgError) -> Matrix {
    guard b.rows == a.rows, a.rows >= a.columns else {
      throw .shapeMismatch(operation: "least squares (dgels)", left: a.shape, right: b.shape)
    }
    try requireFinite(a, "least squares (dgels)")
    try requireFinite(b, "least squares (dgels)")
    let m = a.rows, n = a.columns, nrhs = b.columns
    if n == 0 || nrhs == 0 { return Matrix(rows: n, columns: nrhs) }
    var qr = a
    var bx = b
    let info = LAPACKE_dgels(
      LAPACK_COL_MAJOR, ch("N"), clapack_int(m), clapack_int(n), clapack_int(nrhs), &qr.elements,
      clapack_int(max(1, m)), &bx.elements, clapack_int(max(1, m)))
    if info > 0 { throw .rankDeficient(column: Int(info)) }
    try checkArgument(info, "dgels")
    var rcond = 0.0
    let cinfo = LAPACKE_dtrcon(
      LAPACK_COL_MAJOR, ch("1"), ch("U"), ch("N"), clapack_int(n), qr.elements, clapack_int(max(1, m)), &rcond)
    try checkArgument(cinfo, "dtrcon")
    if rcond < singularityThreshold {
      let d = qr.diagonalElements.map(abs)
      throw .rankDeficient(column: (d.indices.min { d[$0] < d[$1] } ?? 0) + 1)
    }
    return bx.rows(0..<n)
  }

  /// Least squares for one right-hand side (`dgels`).
  public static func leastSquares(_ a: Matrix, _ b: [Double]) throws(LinalgError) -> [Double] {
    try leastSquares(a, Matrix(rows: b.count, columns: 1, columnMajor: b)).elements
  }

  /// Solves a square system `A·x = b` by LU (`dgetrf` + `dgetrs`).
  public static func solve(_ a: Matrix, _ b: [Double]) throws(LinalgError) -> [Double] {
    try LUFactorization(a).solve(b)
  }

  /// Eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric matrix
  /// by divide and conquer (`dsyevd`); only the lower triangle is read.
  public static func symmetricEigen(_ a: Matrix) throws(LinalgError) -> (values: [Double], vectors: Matrix) {
    guard a.rows == a.columns else { throw .notSquare(operation: "symmetric eigen (dsyevd)", shape: a.shape) }
    try requireFinite(a, "symmetric eigen (dsyevd)")
    let n = a.rows
    if n == 0 { return ([], a) }
    var v = a
    var w = [Double](repeating: 0, count: n)
    let info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, ch("V"), ch("L"), clapack_int(n), &v.elements, clapack_int(n), &w)
    if info > 0 { throw .eigenNotConverged(offDiagonal: Int(info)) }
    try checkArgument(info, "dsyevd")
    return (w, v)
  }
}
