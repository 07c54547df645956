import CBLAS

/// Level 1–3 BLAS on `Matrix` and `[Double]`, backed by OpenBLAS's CBLAS interface.
///
/// Shapes are checked before the call; a mismatch throws `LinalgError.shapeMismatch` naming both
/// shapes. Leading dimensions are `max(1, rows)` so empty matrices are valid operands.
public enum BLAS {
  /// The number of threads OpenBLAS uses (`openblas_get_num_threads`).
  public static var threadCount: Int { Int(openblas_get_num_threads()) }

  /// Sets the number of threads OpenBLAS uses (`openblas_set_num_threads`). Record it beside timings.
  public static func setThreadCount(_ n: Int) {
    precondition(n >= 1, "BLAS thread count must be at least 1")
    openblas_set_num_threads(Int32(n))
  }

  /// Runs `body` with OpenBLAS on `n` threads, then puts the count back. For large products whose bytes
  /// do not depend on the count (`dgemm` splits its output among the threads; each element is summed over
  /// k in the same order), in a process that otherwise keeps OpenBLAS on one thread (`anpr` does: its
  /// model fits' `dsyrk`/`dpotrf` give different last digits on different thread counts). The count is
  /// the process's: call it from one thread at a time.
  public static func withThreadCount<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
    let saved = threadCount
    setThreadCount(n)
    defer { setThreadCount(saved) }
    return try body()
  }

  /// The CPU kernel OpenBLAS chose (`openblas_get_corename`), e.g. "Haswell"; the environment
  /// variable `OPENBLAS_CORETYPE` overrides it. Record it beside timings.
  public static var coreName: String { String(cString: openblas_get_corename()) }

  // MARK: Level 3

  /// General matrix product, `C ← α·op(A)·op(B) + β·C` (`dgemm`).
  ///
  /// - Parameters:
  ///   - transposeA, transposeB: use `Aᵀ` / `Bᵀ` in place of `A` / `B` (no copy is made).
  ///   - c: the output; its shape must be `rows(op(A)) × columns(op(B))`.
  /// - Complexity: 2·m·n·k flops.
  public static func gemm(
    _ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false,
    alpha: Double = 1, beta: Double = 0, into c: inout Matrix
  ) throws(LinalgError) {
    let m = transposeA ? a.columns : a.rows
    let k = transposeA ? a.rows : a.columns
    let kb = transposeB ? b.columns : b.rows
    let n = transposeB ? b.rows : b.columns
    guard k == kb else {
      throw .shapeMismatch(
        operation: "gemm(\(transposeA ? "Aᵀ" : "A")·\(transposeB ? "Bᵀ" : "B"))", left: a.shape, right: b.shape)
    }
    guard c.rows == m, c.columns == n else {
      throw .shapeMismatch(operation: "gemm output", left: Shape(m, n), right: c.shape)
    }
    if m == 0 || n == 0 { return }
    if k == 0 {  // product of empty inner dimension is zero: C ← β·C
      scal(beta, &c.elements)
      return
    }
    a.elements.withUnsafeBufferPointer { pa in
      b.elements.withUnsafeBufferPointer { pb in
        c.elements.withUnsafeMutableBufferPointer { pc in
          cblas_dgemm(
            CblasColMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, pa.baseAddress, blasint(max(1, a.rows)),
            pb.baseAddress, blasint(max(1, b.rows)), beta, pc.baseAddress, blasint(max(1, m)))
        }
      }
    }
  }

  /// `op(A)·op(B)` as a new matrix (`dgemm`).
  public static func multiply(
    _ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false
  ) throws(LinalgError) -> Matrix {
    var c = Matrix(rows: transposeA ? a.columns : a.rows, columns: transposeB ? b.rows : b.columns)
    try gemm(a, b, transposeA: transposeA, transposeB: transposeB, into: &c)
    return c
  }

  /// Symmetric rank-k update, `C ← α·AᵀA + β·C` when `transpose` (the Gram matrix of A's columns,
  /// e.g. XᵀWX after scaling rows by √w) or `C ← α·AAᵀ + β·C` otherwise (`dsyrk`).
  /// Both triangles of `C` are filled on return.
  /// - Complexity: n²·k flops (half of `gemm`'s).
  public static func syrk(
    _ a: Matrix, transpose: Bool = true, alpha: Double = 1, beta: Double = 0, into c: inout Matrix
  ) throws(LinalgError) {
    let n = transpose ? a.columns : a.rows
    let k = transpose ? a.rows : a.columns
    guard c.rows == n, c.columns == n else {
      throw .shapeMismatch(operation: "syrk output", left: Shape(n, n), right: c.shape)
    }
    if n == 0 { return }
    if k == 0 { scal(beta, &c.elements); return }
    a.elements.withUnsafeBufferPointer { pa in
      c.elements.withUnsafeMutableBufferPointer { pc in
        cblas_dsyrk(
          CblasColMajor, CblasLower, transpose ? CblasTrans : CblasNoTrans, blasint(n), blasint(k),
          alpha, pa.baseAddress, blasint(max(1, a.rows)), beta, pc.baseAddress, blasint(max(1, n)))
      }
    }
    c.symmetrizeFromLower()
  }

  /// The Gram matrix `AᵀA` (`dsyrk`), both triangles filled.
  public static func gram(_ a: Matrix) -> Matrix {
    var c = Matrix(rows: a.columns, columns: a.columns)
    try! syrk(a, transpose: true, into: &c)  // shapes fit by construction
    return c
  }

  // MARK: Level 2

  /// Matrix–vector product, `y ← α·op(A)·x + β·y` (`dgemv`).
  public static func gemv(
    _ a: Matrix, _ x: [Double], transpose: Bool = false, alpha: Double = 1, beta: Double = 0,
    into y: inout [Double]
  ) throws(LinalgError) {
    let m = transpose ? a.columns : a.rows
    let n = transpose ? a.rows : a.columns
    guard x.count == n else {
      throw .shapeMismatch(operation: "gemv(\(transpose ? "Aᵀ" : "A")·x)", left: a.shape, right: Shape(x.count, 1))
    }
    guard y.count == m else {
      throw .shapeMismatch(operation: "gemv output", left: Shape(m, 1), right: Shape(y.count, 1))
    }
    if m == 0 { return }
    if n == 0 { scal(beta, &y); return }
    a.elements.withUnsafeBufferPointer { pa in
      x.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
          cblas_dgemv(
            CblasColMajor, transpose ? CblasTrans : CblasNoTrans, blasint(a.rows), blasint(a.columns),
            alpha, pa.baseAddress, blasint(max(1, a.rows)), px.baseAddress, 1, beta, py.baseAddress, 1)
        }
      }
    }
  }

  /// `op(A)·x` as a new vector (`dgemv`).
  public static func multiply(_ a: Matrix, _ x: [Double], transpose: Bool = false) throws(LinalgError) -> [Double] {
    var y = [Double](repeating: 0, count: transpose ? a.columns : a.rows)
    try gemv(a, x, transpose: transpose, into: &y)
    return y
  }

  // MARK: Level 1

  /// Inner product `xᵀy` (`ddot`).
  public static func dot(_ x: [Double], _ y: [Double]) throws(LinalgError) -> Double {
    guard x.count == y.count else {
      throw .shapeMismatch(operation: "dot", left: Shape(x.count, 1), right: Shape(y.count, 1))
    }
    if x.isEmpty { return 0 }
    return cblas_ddot(blasint(x.count), x, 1, y, 1)
  }

  /// `y ← α·x + y` (`daxpy`).
  public static func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) throws(LinalgError) {
    guard x.count == y.count else {
      throw .shapeMismatch(operation: "axpy", left: Shape(x.count, 1), right: Shape(y.count, 1))
    }
    if x.isEmpty { return }
    let n = blasint(x.count)
    y.withUnsafeMutableBufferPointer { py in cblas_daxpy(n, alpha, x, 1, py.baseAddress, 1) }
  }

  /// `x ← α·x` (`dscal`). With α = 0 the result is exactly zero, even where x held NaN.
  public static func scal(_ alpha: Double, _ x: inout [Double]) {
    if x.isEmpty { return }
    if alpha == 0 { for i in x.indices { x[i] = 0 }; return }
    let n = blasint(x.count)
    x.withUnsafeMutableBufferPointer { px in cblas_dscal(n, alpha, px.baseAddress, 1) }
  }

  /// Euclidean norm `‖x‖₂` without overflow (`dnrm2`).
  public static func nrm2(_ x: [Double]) -> Double {
    if x.isEmpty { return 0 }
    return cblas_dnrm2(blasint(x.count), x, 1)
  }
}

extension Matrix {
  /// `self · other` (`dgemm`).
  public static func * (lhs: Matrix, rhs: Matrix) throws(LinalgError) -> Matrix {
    try BLAS.multiply(lhs, rhs)
  }
}
