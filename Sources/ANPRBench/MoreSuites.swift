import Foundation
import Governance
import Linalg
import Linkage
import Modelling
import Reads
import Routes

/// Linkage benchmark (issue 7): 100 000 unit vectors of dimension 256 (seeded), top-10 cosine
/// neighbours of every row by blockwise `dgemm`. Writes the vectors (float64, row-major) for the peers.
func linkageSuite(dir: String, n: Int = 100_000, d: Int = 256) throws {
  var rng = SeededRNG(seed: 77)
  var x = Matrix(rows: n, columns: d)
  var rowMajor = [Double](repeating: 0, count: n * d)
  for i in 0..<n {
    var row = (0..<d).map { _ in max(0, rng.normal()) }  // non-negative, like count signatures
    let norm = BLAS.nrm2(row)
    row = row.map { $0 / norm }
    for k in 0..<d { x.elements[i + k * n] = row[k]; rowMajor[i * d + k] = row[k] }
  }
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  try rowMajor.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: dir + "/vectors.f64"))
  var result: [[(index: Int, similarity: Double)]] = []
  let t0 = now()
  result = try topKNeighbours(x, k: 10)
  let t = now() - t0
  // First rows' neighbour ids for the agreement check.
  let check = (0..<100).map { result[$0].map { String($0.index) }.joined(separator: " ") }.joined(separator: "\n")
  try check.write(toFile: dir + "/neighbours-anprkit.txt", atomically: false, encoding: .utf8)
  emit(["suite": "linkage", "bench": "top10_cosine", "n": n, "median_s": t, "per_s": Double(n) / t, "dimension": d,
        "peak_mb": peakMB(), "threads": BLAS.threadCount, "impl": "ANPRKit"])
  // The same block products alone (blocks of 2048 rows, each block against those at or below it, as
  // `topKNeighbours` does) with no selection: this machine's dgemm bound for the job, n²·d flops.
  let block = 2048
  let t1 = now()
  var a = 0
  while a < n {
    let rowsA = x.rows(a..<min(n, a + block))
    var b = 0
    while b <= a {
      _ = try BLAS.multiply(rowsA, b == a ? rowsA : x.rows(b..<min(n, b + block)), transposeB: true)
      b += block
    }
    a += block
  }
  let tGemm = now() - t1
  emit(["suite": "linkage", "bench": "block_dgemm_only", "n": n, "median_s": tGemm, "per_s": Double(n) / tGemm, "dimension": d,
        "gflops": Double(n) * Double(n) * Double(d) / tGemm / 1e9, "threads": BLAS.threadCount, "impl": "ANPRKit"])
}

/// Linkage at scale (issue 14): `LinkageModel.cluster` on n drawn periods of use
/// (`Signatures.drawnPeriodsOfUse`), from raw signature sums through the weighted, centred features,
/// neighbours, null, average linkage and the profile pass. Prints the time of each step, the peak memory,
/// the groups found and pairwise scores against the drawn actors.
func linkageGroupsSuite(n: Int) throws {
  let (sig, actorOf) = Signatures.drawnPeriodsOfUse(n, seed: 14)
  let actors = max(1, n / 100)
  let model = LinkageModel()
  let t0 = now()
  let features = sig.features(model.weights)
  let t1 = now()
  let c = try model.cluster(signatures: sig, features: features, candidates: n)
  let t2 = now()
  var byGroup: [Int: [Int]] = [:]
  for (i, g) in c.group.enumerated() { byGroup[g, default: []].append(i) }
  let grouped = byGroup.values.filter { $0.count >= 2 }
  // Pairwise precision and recall against the drawn actors (other periods are their own drivers).
  var right = 0, wrong = 0
  for g in grouped { for a in 0..<g.count { for b in (a + 1)..<g.count {
    if let held = actorOf[g[a]], held == actorOf[g[b]] { right += 1 } else { wrong += 1 }
  } } }
  var perActor = [Int](repeating: 0, count: actors)
  for case let a? in actorOf { perActor[a] += 1 }
  let truePairs = perActor.reduce(0) { $0 + $1 * ($1 - 1) / 2 }
  emit(["suite": "linkage", "bench": "cluster_periods", "n": n, "dimension": sig.layout.dimension, "features_s": t1 - t0, "cluster_s": t2 - t1,
        "median_s": t2 - t0, "pair_precision": Double(right) / Double(max(1, right + wrong)),
        "pair_recall": Double(right) / Double(max(1, truePairs)), "merges": c.merges.count, "attachments": c.attachments.count, "groups": grouped.count,
        "peak_mb": peakMB(), "threads": BLAS.threadCount, "impl": "ANPRKit"])
}

/// Route benchmark (issue 6): transition counting over every trip of a store, then next-site
/// prediction for every trip step; medians of three runs each.
func routesSuite(storePath: String) throws {
  let store = try ReadStore(path: storePath)
  let clock = try LocalClock(identifier: "Europe/London")
  var counts: TransitionCounts?
  var trainTimes: [Double] = []
  for _ in 0..<3 {
    let t0 = now()
    counts = TransitionCounts.build(store: store, order: 2, clock: clock)
    trainTimes.append(now() - t0)
  }
  let tTrain = trainTimes.sorted()[1]
  emit(["suite": "routes", "bench": "train_transitions", "n": store.count, "median_s": tTrain, "per_s": Double(store.count) / tTrain,
        "peak_mb": peakMB(), "threads": ProcessInfo.processInfo.activeProcessorCount, "impl": "ANPRKit"])
  let fitted = try MarkovRouteModel().fit(counts!, sites: store.siteLocations)
  var predictions = FittedMarkovRoute.EveryStepPredictions()
  var predTimes: [Double] = []
  for _ in 0..<3 {
    let t1 = now()
    predictions = fitted.predictEveryStep(store: store, clock: clock)
    predTimes.append(now() - t1)
  }
  let tPred = predTimes.sorted()[1]
  let steps = predictions.steps
  emit(["suite": "routes", "bench": "predict_next_site", "n": steps, "median_s": tPred, "per_s": Double(steps) / tPred,
        "top1": predictions.top1Accuracy, "top3": predictions.top3Accuracy, "threads": ProcessInfo.processInfo.activeProcessorCount, "peak_mb": peakMB(), "impl": "ANPRKit"])
}

/// Peak resident memory of this process, MB.
func peakMB() -> Double {
  var u = rusage()
  getrusage(RUSAGE_SELF.rawValue, &u)
  return Double(u.ru_maxrss) / 1024
}

/// What the audit adds to a command: the rules checked, the `query` entry written and synced before it
/// runs and the `result` entry after (two appends, two head rewrites), on a log already holding
/// `prefill` entries in `dir` (on disk, not tmpfs, for the sync to mean something).
func auditSuite(repeats: Int, dir: String) throws {
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  let path = dir + "/bench.audit.jsonl"
  try? FileManager.default.removeItem(atPath: path)
  try? FileManager.default.removeItem(atPath: path + ".head")
  let log = AuditLog(path: path)
  var request = AccessRequest(command: "next-appearance", arguments: ["next-appearance", "--store", "s.anpr", "--plate", "V0123456789abcdef"])
  request.reason = "CASE-1"; request.queriesVehicles = true; request.pseudonyms = ["V0123456789abcdef"]
  let prefill = 1000
  for _ in 0..<(prefill / 2) { try AuditedCommand.begin(request, log: log, policy: .nasple, now: 0).finish(counts: ["windows": 10]) }
  var samples: [Double] = []
  for _ in 0..<max(repeats, 50) {
    let t0 = now()
    let a = try AuditedCommand.begin(request, log: log, policy: .nasple, now: 0)
    try a.finish(counts: ["windows": 10])
    samples.append(now() - t0)
  }
  let verify0 = now()
  let v = try log.verify()
  let verifySeconds = now() - verify0
  emit(["suite": "audit", "bench": "audited_command_overhead", "median_s": median(samples), "p90_s": samples.sorted()[samples.count * 9 / 10],
        "samples": samples.count, "log_entries_before": prefill, "impl": "ANPRKit (flock, append, fsync, head rewrite; twice)"])
  emit(["suite": "audit", "bench": "audit_verify", "entries": v.entries.count, "median_s": verifySeconds, "impl": "ANPRKit (SHA-256 chain)"])
}
