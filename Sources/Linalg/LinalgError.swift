/// What went wrong in a linear-algebra call, in words an analyst or developer can act on.
///
/// `lapackArgument` means this wrapper passed LAPACK a bad argument (a bug here); every other case
/// is a fact about the data (shapes that don't fit, a matrix that is not positive definite, ...).
public enum LinalgError: Error, Sendable, Equatable, CustomStringConvertible {
  /// Operand shapes do not fit the operation.
  case shapeMismatch(operation: String, left: Shape, right: Shape)
  /// A square matrix was required.
  case notSquare(operation: String, shape: Shape)
  /// Rows (or columns) of differing length given to a constructor.
  case raggedRows(row: Int, expected: Int, found: Int)
  /// Cholesky failed: the leading minor of this order is not positive definite.
  case notPositiveDefinite(leadingMinor: Int)
  /// LU (or a triangular solve) found an exactly zero pivot at this (1-based) position.
  case singular(pivot: Int)
  /// Least squares: the design does not have full rank (zero diagonal element of R at this 1-based index).
  case rankDeficient(column: Int)
  /// The symmetric eigen-solver failed to converge (off-diagonal elements that did not go to zero).
  case eigenNotConverged(offDiagonal: Int)
  /// An input held NaN or infinity.
  case nonFinite(operation: String)
  /// LAPACK reported an invalid argument: a bug in this wrapper, please report it.
  case lapackArgument(routine: String, position: Int)

  public var description: String {
    switch self {
    case let .shapeMismatch(op, l, r): return "\(op): shape mismatch, \(l) and \(r) do not fit"
    case let .notSquare(op, s): return "\(op): needs a square matrix, got \(s)"
    case let .raggedRows(row, e, f): return "row \(row) has \(f) values, expected \(e) like the first"
    case let .notPositiveDefinite(k): return "matrix is not positive definite (leading minor \(k) is not positive)"
    case let .singular(p): return "matrix is singular (zero pivot U[\(p),\(p)])"
    case let .rankDeficient(c): return "design matrix is rank deficient (column \(c) is a combination of the others)"
    case let .eigenNotConverged(k): return "symmetric eigen-decomposition did not converge (\(k) off-diagonal elements)"
    case let .nonFinite(op): return "\(op): input contains NaN or infinity"
    case let .lapackArgument(routine, p): return "internal error: \(routine) rejected argument \(p) (a bug in Linalg; please report)"
    }
  }
}
