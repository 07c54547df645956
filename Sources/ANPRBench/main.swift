// ANPRBench: release-built benchmarks that print one JSON object per measurement (medians).
// Run through `make bench`, which runs the Python peers on the same inputs in the same run and
// writes the side-by-side table into BENCHMARKS.md. Usage: ANPRBench SUITE [--repeats N]
// Suites: linalg, ingest FILE CAMERAS, simulate
import Evaluation
import Foundation
import Hotspots
import Linalg
import ModelCatalogue
import Modelling

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

/// Poisson GLM benchmark (issue 5): 200 units × 8 weeks of hourly bins = 268 800 rows; unit and
/// hour-of-week one-hot plus 4 continuous covariates (372 parameters). Writes the data as CSV for the
/// Python peers and ANPRKit's linear predictor for the agreement check.
func glmSuite(repeats: Int, dir: String) throws {
  let units = 200, hours = 8 * 168, n = units * hours
  var rng = SeededRNG(seed: 2026)
  var unit = [Int32](repeating: 0, count: n), how = unit
  var dense = Matrix(rows: n, columns: 4)
  var y = [Double](repeating: 0, count: n)
  let unitEffect = (0..<units).map { _ in rng.normal(mean: 0, sd: 0.5) }
  let howEffect = (0..<168).map { h in 0.6 * sin(2 * Double.pi * Double(h % 24) / 24) + (h >= 120 ? 0.3 : 0) }
  var csv = "unit,how,c1,c2,c3,c4,y\n"
  csv.reserveCapacity(n * 40)
  for i in 0..<n {
    unit[i] = Int32(i / hours); how[i] = Int32((i % hours) % 168)
    let c = [rng.normal(), rng.uniform(), rng.normal(mean: 0, sd: 0.5), Double(rng.poisson(2)) / 2]
    for j in 0..<4 { dense[i, j] = c[j] }
    let eta = 0.2 + unitEffect[Int(unit[i])] + howEffect[Int(how[i])] + 0.3 * c[0] - 0.2 * c[1] + 0.1 * c[2] + 0.05 * c[3]
    y[i] = Double(rng.poisson(exp(eta)))
    csv += "\(unit[i]),\(how[i]),\(c[0]),\(c[1]),\(c[2]),\(c[3]),\(Int(y[i]))\n"
  }
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  try csv.write(toFile: dir + "/glm.csv", atomically: false, encoding: .utf8)
  let design = FactorDesign(factors: [unit, how], levels: [units, 168], dense: dense)
  let glm = LogLinearGLM(tolerance: 1e-8)
  var result: LogLinearGLM.Result?
  let t = try time(repeats: repeats) { result = try glm.fit(design: design, y) }
  emit(["suite": "glm", "bench": "poisson_glm", "n": n, "median_s": t, "per_s": 1 / t, "iterations": result!.diagnostics.iterations,
        "params": design.columns, "impl": "ANPRKit"])
  // Linear predictor for the agreement check with the peers.
  let eta = design.linearPredictor(result!.coefficients)
  try eta.map { String($0) }.joined(separator: "\n").write(toFile: dir + "/glm-eta-anprkit.txt", atomically: false, encoding: .utf8)
  if ProcessInfo.processInfo.environment["GLM_DENSE"] != nil {
    let x = design.materialise()
    var r2: LogLinearGLM.Result?
    let t2 = try time(repeats: 1) { r2 = try glm.fit(x, y) }
    emit(["suite": "glm", "bench": "poisson_glm", "n": n, "median_s": t2, "per_s": 1 / t2, "iterations": r2!.diagnostics.iterations,
          "params": design.columns, "impl": "ANPRKit dense (syrk on X)"])
  }
}

/// The Poisson hotspot model (Models/poisson-hotspot.yaml) fitted through `Training.train` on the GLM
/// suite's 268 800 rows as a count table (200 units × 8 weeks hourly): unit factor plus 6 seasonal
/// harmonics and 3 recent-activity covariates. With HOTSPOT_DENSE set, the same design is also fitted
/// with its unit one-hot columns formed (the path the model used before), for the ratio.
func hotspotGLMSuite(repeats: Int) throws {
  let units: [SpatialUnit] = (0..<200).map { (k: Int) -> SpatialUnit in
    SpatialUnit(id: String(format: "S%03d", k), latitude: 51.5 + Double(k / 20) * 0.01, longitude: 0.5 + Double(k % 20) * 0.01)
  }
  let hours = 8 * 168
  var rng = SeededRNG(seed: 2026)
  let unitEffect = (0..<200).map { _ in rng.normal(mean: 0, sd: 0.5) }
  var table = CountTable(units: units, binning: .hourly, firstBin: 1_767_571_200, binCount: hours, withExposure: false)  // a Monday 00:00 UTC
  for u in 0..<200 {
    for b in 0..<hours {
      let h = b % 168
      let eta = 0.2 + unitEffect[u] + 0.6 * sin(2 * Double.pi * Double(h % 24) / 24) + (h >= 120 ? 0.3 : 0)
      table.counts[u * hours + b] = Double(rng.poisson(exp(eta)))
    }
  }
  let spec = try SpecFile.load("Models/poisson-hotspot.yaml")
  let out = NSTemporaryDirectory() + "anprkit-bench-hotspot-glm-\(getpid()).model.json"
  defer { unlink(out) }
  var summary = ""
  let t = try time(repeats: repeats) { summary = try Training.train(spec: spec, table: table, target: .allReads, clock: .utc, to: out).1 }
  emit(["suite": "hotspot-glm", "bench": "poisson_hotspot_train", "n": 200 * hours, "median_s": t, "per_s": 1 / t, "impl": "ANPRKit", "note": summary])
  if ProcessInfo.processInfo.environment["HOTSPOT_DENSE"] != nil, let model = try spec.hotspotModel() as? PoissonHotspotModel {
    let (design, y, off) = model.design(table, clock: .utc)
    let x = design.materialise()
    let glm = LogLinearGLM(family: model.family, ridge: model.ridge, maxIterations: model.maxIterations, tolerance: model.tolerance)
    var r: LogLinearGLM.Result?
    let t2 = try time(repeats: 1) { r = try glm.fit(design: DenseDesign(x), y, offset: off) }
    emit(["suite": "hotspot-glm", "bench": "poisson_hotspot_train", "n": 200 * hours, "median_s": t2, "per_s": 1 / t2,
          "impl": "ANPRKit dense design (unit one-hot formed)", "iterations": r!.diagnostics.iterations, "params": x.columns])
  }
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
case "hotspot-glm": try hotspotGLMSuite(repeats: repeats)
case "glm": try glmSuite(repeats: repeats, dir: args.count > 1 ? args[1] : "/tmp/anprkit-bench")
case "linkage": try linkageSuite(dir: args.count > 1 ? args[1] : "/tmp/anprkit-bench/linkage", n: Int(ProcessInfo.processInfo.environment["LINK_N"] ?? "100000")!)
case "linkage-groups": try linkageGroupsSuite(n: Int(ProcessInfo.processInfo.environment["LINK_N"] ?? "100000")!)
case "audit": try auditSuite(repeats: repeats, dir: args.count > 1 ? args[1] : "/var/tmp/anprkit-bench/audit")
case "routes": try routesSuite(storePath: args.count > 1 ? args[1] : "/tmp/anprkit-bench/ingest/store.anpr")
default:
  FileHandle.standardError.write("unknown suite '\(suite)'; use linalg, hotspot-glm, glm, linkage, routes or audit\n".data(using: .utf8)!)
  exit(2)
}
