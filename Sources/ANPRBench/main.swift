// ANPRBench: release-built benchmarks that print one JSON object per measurement (medians).
// Run through `make bench`, which runs the Python peers on the same inputs in the same run and
// writes the side-by-side table into BENCHMARKS.md. Usage: ANPRBench SUITE [--repeats N]
// Suites: linalg, ingest FILE CAMERAS, simulate
import Foundation
import Linalg

func now() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func median(_ xs: [Double]) -> Double {
  let s = xs.sorted()
  return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Times `body` `repeats` times after one warm-up; returns the median seconds.
func time(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
  try body()
  var ts: [Double] = []
  for _ in 0..<repeats {
    let t0 = now()
    try body()
    ts.append(now() - t0)
  }
  return median(ts)
}

func emit(_ fields: [String: Any]) {
  let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
  print(String(decoding: data, as: UTF8.self))
}

func randomMatrix(_ r: Int, _ c: Int, seed: UInt64) -> Matrix {
  var state = seed
  var m = Matrix(rows: r, columns: c)
  for i in m.elements.indices {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    m.elements[i] = Double(state >> 11) / Double(1 << 53) - 0.5
  }
  return m
}

func linalgSuite(repeats: Int) throws {
  for n in [500, 1000, 2000] {
    let a = randomMatrix(n, n, seed: 1), b = randomMatrix(n, n, seed: 2)
    var c = Matrix(rows: n, columns: n)
    let t = try time(repeats: repeats) { try BLAS.gemm(a, b, into: &c) }
    emit(["suite": "linalg", "bench": "gemm", "n": n, "median_s": t, "gflops": 2 * pow(Double(n), 3) / t / 1e9,
          "threads": BLAS.threadCount, "core": BLAS.coreName, "impl": "ANPRKit"])
  }
  let n = 1000
  let x = randomMatrix(n, n, seed: 3)
  var s = BLAS.gram(x)
  for i in 0..<n { s[i, i] += Double(n) }
  let rhs = randomMatrix(n, 1, seed: 4)
  // Factor + solve, as scipy.linalg.cho_solve(cho_factor(S), b) does.
  let t = try time(repeats: repeats) { _ = try Cholesky(s).solve(rhs) }
  let flops = pow(Double(n), 3) / 3 + 2 * pow(Double(n), 2)
  emit(["suite": "linalg", "bench": "cholesky_solve", "n": n, "median_s": t, "gflops": flops / t / 1e9,
        "threads": BLAS.threadCount, "core": BLAS.coreName, "impl": "ANPRKit"])
}

var args = Array(CommandLine.arguments.dropFirst())
var repeats = 5
if let i = args.firstIndex(of: "--repeats"), i + 1 < args.count {
  repeats = Int(args[i + 1]) ?? 5
  args.removeSubrange(i...(i + 1))
}
let suite = args.first ?? "linalg"
switch suite {
case "linalg": try linalgSuite(repeats: repeats)
default:
  FileHandle.standardError.write("unknown suite '\(suite)'; use linalg\n".data(using: .utf8)!)
  exit(2)
}
