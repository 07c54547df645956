import Foundation
import Linalg
import Modelling
import Reads
import Simulation
import Testing
import TestSupport
@testable import Linkage

@Suite("Linkage")
struct LinkageTests {
  @Test func blockwiseTopKEqualsBruteForce() throws {
    var rng = SeededRNG(seed: 8)
    let n = 300, d = 20
    var x = Matrix(rows: n, columns: d)
    for i in 0..<n {
      var row = (0..<d).map { _ in rng.normal() }
      let norm = BLAS.nrm2(row); row = row.map { $0 / norm }
      for k in 0..<d { x[i, k] = row[k] }
    }
    let fast = try topKNeighbours(x, k: 5, blockRows: 64)  // several blocks, exercising symmetry
    for i in stride(from: 0, to: n, by: 37) {
      var sims: [(Int, Double)] = []
      for j in 0..<n where j != i { sims.append((j, (0..<d).reduce(0) { $0 + x[i, $1] * x[j, $1] })) }
      sims.sort { $0.1 > $1.1 }
      #expect(fast[i].map(\.index) == sims.prefix(5).map(\.0), "row \(i)")
      for (a, b) in zip(fast[i], sims.prefix(5)) { #expect(abs(a.similarity - b.1) < 1e-12) }
    }
  }

  @Test func pairwiseAndBCubedOnAHandWorkedExample() {
    // Truth: a1 = {A, B, C}, a2 = {D, E}; F innocent. Predicted: {A, B}, {C, D}, E, F alone.
    let truth = ["A": "a1", "B": "a1", "C": "a1", "D": "a2", "E": "a2"]
    let s = LinkageScores.score(groups: [["A", "B"], ["C", "D"]], truth: truth, universe: ["A", "B", "C", "D", "E", "F"])
    // Predicted pairs: AB (right), CD (wrong) → precision 1/2. True pairs: AB AC BC DE → recall 1/4.
    #expect(s.pairPrecision == 0.5 && s.pairRecall == 0.25)
    #expect(abs(s.pairF1 - 1.0 / 3) < 1e-12)
    // B-cubed precision: A 1, B 1, C 1/2, D 1/2, E 1, F 1 → 5/6; recall: A 2/3, B 2/3, C 1/3, D 1/2, E 1/2, F 1 → 11/18.
    #expect(abs(s.bcubedPrecision - 5.0 / 6) < 1e-12)
    #expect(abs(s.bcubedRecall - 11.0 / 18) < 1e-12)
  }

  /// A small simulated town (21 days), ingested with a key.
  static let town: (ReadStore, [String: String]) = {
    var cfg = SimulationConfig()
    cfg.seed = 3; cfg.days = 21; cfg.scale = 1; cfg.oracleReplicates = 0
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-link-\(UUID())").path
    _ = try! Simulator(config: cfg).run(to: dir)
    var o = IngestOptions(readsPath: dir + "/reads.csv", camerasPath: dir + "/cameras.csv")
    o.vehiclesPath = dir + "/vehicles.csv"
    let key = try! Pseudonymiser(keyBytes: Array("linkage test key 0123456789abcdef".utf8))
    o.pseudonymiser = key
    let (c, _) = try! Ingest.run(o)
    try! StoreWriter.write(c, to: dir + "/s.anpr")
    struct T: Decodable { struct H: Decodable { var plate: String; var holder: String }; var hires: [H] }
    let t = try! JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/truth.json")))
    var truth: [String: String] = [:]
    for h in t.hires where h.holder.hasPrefix("actor-") { truth[key.pseudonym(plate: h.plate)!] = h.holder }
    return (try! ReadStore(path: dir + "/s.anpr"), truth)
  }()

  @Test func signaturesMergeByAddition() throws {
    let (store, _) = Self.town
    let vs = Array(0..<200)
    let whole = Signatures.build(store: store, clock: .utc, vehicles: vs)
    let a = Signatures.build(store: store, clock: .utc, vehicles: Array(vs[0..<120]))
    let b = Signatures.build(store: store, clock: .utc, vehicles: Array(vs[120...]))
    let m = try a.merged(with: b)
    #expect(m.vehicles == whole.vehicles && m.sums == whole.sums && m.trips == whole.trips)
  }

  @Test func linksRespectOneCarAtATimeAndCarEvidence() throws {
    let (store, truth) = Self.town
    let r = try LinkageModel().link(store: store, clock: .utc)
    #expect(r.candidates >= 4, "candidates \(r.candidates)")
    // No group holds two vehicles in use at the same time (beyond the 12 h tolerance).
    let index = Dictionary(uniqueKeysWithValues: store.vehicles.enumerated().map { ($1.id, $0) })
    for g in r.groups {
      let spans = g.map { id -> (Int64, Int64) in let t = store.trips(ofVehicle: index[id]!); return (t.first!.start, t.last!.end) }
      for i in spans.indices { for j in spans.indices where i < j {
        #expect(min(spans[i].1, spans[j].1) - max(spans[i].0, spans[j].0) <= 12 * 3600)
      } }
    }
    for l in r.links {
      #expect(l.confidence >= 0 && l.confidence <= 1)
      #expect(!l.evidence.isEmpty)
      #expect(l.a.hasPrefix("V") && l.b.hasPrefix("V"))  // pseudonyms, never raw plates
    }
    // Better than chance: most linked pairs are the same actor (recorded figures are in BENCHMARKS.md).
    let universe = store.vehicles.filter { $0.keeper == .rental }.map(\.id)
    let s = LinkageScores.score(groups: r.groups, truth: truth, universe: universe)
    #expect(s.pairPrecision > 0.5, "pairwise precision \(s.pairPrecision)")
    #expect(s.bcubedF1 > 0.7, "B-cubed F1 \(s.bcubedF1)")
    // Group-profile attachments carry their basis and pass their own gates.
    let model = LinkageModel()
    for l in r.links where l.basis == "group profile" {
      #expect(l.confidence >= model.groupProfileConfidence && l.similarity >= model.groupProfileFloor)
      #expect(l.evidence.hasPrefix("matches the combined profile of"))
    }
    #expect(r.links.allSatisfy { $0.basis == "pair" || $0.basis == "group profile" })
  }

  /// Precision holds off the default threshold too: at a stricter pair threshold some actors' groups do
  /// not form, and their cars must not be attached to a look-alike actor's group by profile.
  @Test(arguments: [0.6, 0.7, 0.8]) func precisionHoldsAcrossThresholds(threshold: Double) throws {
    let (store, truth) = Self.town
    var model = LinkageModel()
    model.threshold = threshold
    let r = try model.link(store: store, clock: .utc)
    let universe = store.vehicles.filter { $0.keeper == .rental }.map(\.id)
    let s = LinkageScores.score(groups: r.groups, truth: truth, universe: universe)
    #expect(s.pairPrecision >= 0.95, "threshold \(threshold): pairwise precision \(s.pairPrecision)")
  }

  /// Combined profiles: the cosine of the normalised sums of two groups' rows.
  @Test func groupProfileSimilarity() throws {
    // Rows: two alike (0, 1), one orthogonal (2), one opposite in mix (3).
    let x = try Matrix(rows: [[1, 0, 0], [0.8, 0.6, 0], [0, 0, 1], [0, 1, 0]])
    let m = LinkageModel()
    #expect(abs(m.profileSimilarity(x, [0, 1], [0, 1]) - 1) < 1e-12)
    #expect(abs(m.profileSimilarity(x, [0], [2])) < 1e-12)
    // (1.8, 0.6, 0) vs (0, 1, 1): 0.6 / (√3.6 · √2)
    #expect(abs(m.profileSimilarity(x, [0, 1], [2, 3]) - 0.6 / (3.6.squareRoot() * 2.0.squareRoot())) < 1e-12)
  }
}

@Suite("Co-travel")
struct CoTravelTests {
  @Test func convoyIsFoundAndCommutersAreNot() throws {
    // Four sites along a road. Two "commuters" pass every site every weekday morning at 08:00 ± a few
    // minutes (many co-occurrences by habit); a convoy pair passes together (10 s apart) on four days at an hour they are otherwise never seen.
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-convoy-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try "camera_id,latitude,longitude\nA,51.54,0.70\nB,51.54,0.71\nC,51.54,0.72\nD,51.54,0.73\n".write(toFile: dir + "/c.csv", atomically: true, encoding: .utf8)
    var rows = "plate,camera_id,timestamp\n"
    var rng = SeededRNG(seed: 3)
    let base = 1_772_438_400  // 2026-03-02 08:00Z
    for d in 0..<20 {
      for (p, offset) in [("AA11AAA", 0), ("BB22BBB", 0)] {
        let jitter = rng.int(-900...900) + offset
        for (k, cam) in ["A", "B", "C", "D"].enumerated() { rows += "\(p),\(cam),\(base + d * 86400 + jitter + k * 60)\n" }
      }
    }
    for trip in [3, 7, 11, 16] {
      let t = base + trip * 86400 + 5 * 3600
      for (k, cam) in ["A", "B", "C", "D"].enumerated() {
        rows += "CC33CCC,\(cam),\(t + k * 90)\nDD44DDD,\(cam),\(t + k * 90 + 10)\n"
      }
    }
    try rows.write(toFile: dir + "/r.csv", atomically: true, encoding: .utf8)
    var o = IngestOptions(readsPath: dir + "/r.csv", camerasPath: dir + "/c.csv")
    o.pseudonymiser = nil
    let (c, _) = try Ingest.run(o)
    try StoreWriter.write(c, to: dir + "/s.anpr")
    let found = CoTravelDetector().detect(store: try ReadStore(path: dir + "/s.anpr"))
    #expect(found.contains { Set([$0.a, $0.b]) == ["CC33CCC", "DD44DDD"] }, "\(found)")
    #expect(!found.contains { Set([$0.a, $0.b]) == ["AA11AAA", "BB22BBB"] }, "commuters flagged: \(found.map { ($0.a, $0.b, $0.together, $0.expected, $0.pValue) })")
    #expect(CountDistribution.poissonUpperTail(0, mean: 1) == 1 && abs(CountDistribution.poissonUpperTail(1, mean: 1) - (1 - exp(-1))) < 1e-12)
  }
}
