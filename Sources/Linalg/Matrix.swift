/// A dense matrix of `Double`, stored column-major to match BLAS and LAPACK.
///
/// Element `(i, j)` lives at `elements[i + j * rows]`. `Matrix` is a value type (copy-on-write
/// through its `Array` storage); every BLAS/LAPACK wrapper in this module takes and returns it
/// without reordering, so no operation copies to change layout.
public struct Matrix: Sendable, Hashable, Codable {
  /// Number of rows.
  public let rows: Int
  /// Number of columns.
  public let columns: Int
  /// Column-major storage, `rows * columns` values.
  public var elements: [Double]

  /// A `rows × columns` matrix filled with `value`.
  public init(rows: Int, columns: Int, repeating value: Double = 0) {
    precondition(rows >= 0 && columns >= 0, "Matrix shape must be non-negative, got \(rows)×\(columns)")
    self.rows = rows
    self.columns = columns
    self.elements = Array(repeating: value, count: rows * columns)
  }

  /// A matrix over existing column-major storage.
  /// - Throws: `LinalgError.shapeMismatch` when `elements.count != rows * columns`.
  public init(rows: Int, columns: Int, columnMajor elements: [Double]) throws(LinalgError) {
    guard rows >= 0, columns >= 0, elements.count == rows * columns else {
      throw .shapeMismatch(
        operation: "Matrix(columnMajor:)", left: Shape(rows, columns), right: Shape(elements.count, 1))
    }
    self.rows = rows
    self.columns = columns
    self.elements = elements
  }

  /// A matrix from an array of rows (each the same length).
  /// - Throws: `LinalgError.raggedRows` when the rows differ in length.
  public init(rows rowArrays: [[Double]]) throws(LinalgError) {
    let r = rowArrays.count
    let c = rowArrays.first?.count ?? 0
    for (i, row) in rowArrays.enumerated() where row.count != c {
      throw .raggedRows(row: i, expected: c, found: row.count)
    }
    var m = Matrix(rows: r, columns: c)
    for i in 0..<r { for j in 0..<c { m.elements[i + j * r] = rowArrays[i][j] } }
    self = m
  }

  /// A matrix from an array of columns (each the same length).
  /// - Throws: `LinalgError.raggedRows` when the columns differ in length.
  public init(columns columnArrays: [[Double]]) throws(LinalgError) {
    let c = columnArrays.count
    let r = columnArrays.first?.count ?? 0
    for (j, col) in columnArrays.enumerated() where col.count != r {
      throw .raggedRows(row: j, expected: r, found: col.count)
    }
    self.rows = r
    self.columns = c
    self.elements = columnArrays.flatMap { $0 }
  }

  /// The `n × n` identity.
  public static func identity(_ n: Int) -> Matrix {
    var m = Matrix(rows: n, columns: n)
    for i in 0..<n { m.elements[i + i * n] = 1 }
    return m
  }

  /// A diagonal matrix with `diagonal` on its diagonal.
  public static func diagonal(_ diagonal: [Double]) -> Matrix {
    let n = diagonal.count
    var m = Matrix(rows: n, columns: n)
    for i in 0..<n { m.elements[i + i * n] = diagonal[i] }
    return m
  }

  /// The shape as a value that prints as `rows×columns`.
  public var shape: Shape { Shape(rows, columns) }

  /// `true` when the matrix has no elements.
  public var isEmpty: Bool { elements.isEmpty }

  /// Element access by `(row, column)`; traps when out of range.
  public subscript(row: Int, column: Int) -> Double {
    get {
      precondition(row >= 0 && row < rows && column >= 0 && column < columns, "index (\(row), \(column)) outside \(shape)")
      return elements[row + column * rows]
    }
    set {
      precondition(row >= 0 && row < rows && column >= 0 && column < columns, "index (\(row), \(column)) outside \(shape)")
      elements[row + column * rows] = newValue
    }
  }

  /// A copy of column `j` (contiguous in storage).
  public func column(_ j: Int) -> [Double] {
    precondition(j >= 0 && j < columns, "column \(j) outside \(shape)")
    return Array(elements[(j * rows)..<((j + 1) * rows)])
  }

  /// A copy of row `i` (strided in storage).
  public func row(_ i: Int) -> [Double] {
    precondition(i >= 0 && i < rows, "row \(i) outside \(shape)")
    return (0..<columns).map { elements[i + $0 * rows] }
  }

  /// The rows as arrays (for printing and tests).
  public var rowArrays: [[Double]] { (0..<rows).map(row) }

  /// The transpose, as a new matrix.
  public var transposed: Matrix {
    var t = Matrix(rows: columns, columns: rows)
    for j in 0..<columns {
      for i in 0..<rows { t.elements[j + i * columns] = elements[i + j * rows] }
    }
    return t
  }

  /// Columns `range` as a new matrix (a contiguous block of storage).
  public func columns(_ range: Range<Int>) -> Matrix {
    precondition(range.lowerBound >= 0 && range.upperBound <= columns, "columns \(range) outside \(shape)")
    var m = Matrix(rows: rows, columns: range.count)
    m.elements = Array(elements[(range.lowerBound * rows)..<(range.upperBound * rows)])
    return m
  }

  /// Rows `range` as a new matrix.
  public func rows(_ range: Range<Int>) -> Matrix {
    precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) outside \(shape)")
    var m = Matrix(rows: range.count, columns: columns)
    for j in 0..<columns {
      for (k, i) in range.enumerated() { m.elements[k + j * range.count] = elements[i + j * rows] }
    }
    return m
  }

  /// Copies the lower triangle into the upper (after `syrk`/`potri`, which fill one triangle).
  public mutating func symmetrizeFromLower() {
    precondition(rows == columns, "symmetrize needs a square matrix, got \(shape)")
    for j in 0..<columns { for i in (j + 1)..<max(rows, j + 1) { elements[j + i * rows] = elements[i + j * rows] } }
  }

  /// Zeroes the strict upper triangle (to expose a Cholesky factor `L`).
  public mutating func zeroUpperTriangle() {
    for j in 0..<columns { for i in 0..<min(j, rows) { elements[i + j * rows] = 0 } }
  }

  /// The diagonal as an array.
  public var diagonalElements: [Double] { (0..<min(rows, columns)).map { elements[$0 + $0 * rows] } }
}

/// A matrix shape that prints as `rows×columns` in error messages.
public struct Shape: Sendable, Hashable, Codable, CustomStringConvertible {
  public var rows: Int
  public var columns: Int
  public init(_ rows: Int, _ columns: Int) { self.rows = rows; self.columns = columns }
  public var description: String { "\(rows)×\(columns)" }
}

extension Matrix: CustomStringConvertible {
  public var description: String {
    let body = rowArrays.map { "[" + $0.map { "\($0)" }.joined(separator: ", ") + "]" }.joined(separator: ",\n ")
    return "Matrix \(shape) [\(body)]"
  }
}
