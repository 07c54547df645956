/// A quick end-to-end check that BLAS and LAPACK are linked and give known answers;
/// `anpr selfcheck` and `make demo` print it.
public enum LinalgSelfCheck {
  /// One line per check: name, passed, detail.
  public static func run() -> [(name: String, passed: Bool, detail: String)] {
    var out: [(String, Bool, String)] = []
    do {
      // Integer Cholesky factor of a classic SPD matrix.
      let a = try Matrix(rows: [[4, 12, -16], [12, 37, -43], [-16, -43, 98]])
      let l = try Cholesky(a).factor
      let expected: [[Double]] = [[2, 0, 0], [6, 1, 0], [-8, 5, 3]]
      out.append(("dpotrf on [[4,12,-16],[12,37,-43],[-16,-43,98]]", l.rowArrays == expected, "L = \(l.rowArrays)"))
      let b = try Matrix(rows: [[1, 2], [3, 4]])
      let c = try BLAS.multiply(b, b)
      out.append(("dgemm [[1,2],[3,4]]²", c.rowArrays == [[7, 10], [15, 22]], "\(c.rowArrays)"))
      let (w, _) = try LAPACK.symmetricEigen(try Matrix(rows: [[2, 1], [1, 2]]))
      out.append(("dsyevd [[2,1],[1,2]]", abs(w[0] - 1) < 1e-14 && abs(w[1] - 3) < 1e-14, "eigenvalues \(w)"))
      out.append(("BLAS threads", BLAS.threadCount >= 1, "\(BLAS.threadCount) (kernel \(BLAS.coreName))"))
    } catch {
      out.append(("linear algebra", false, "\(error)"))
    }
    return out
  }
}
