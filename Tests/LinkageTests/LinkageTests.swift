import Foundation
import Linalg
import Modelling
import Reads
import Simulation
import Testing
import TestSupport
@testable import Linkage
import Evaluation

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

  /// The heap-driven average linkage (group row sums, stale merges skipped) makes the same merges, in
  /// the same order, as rescanning every edge and every cross pair before each merge — on clustered
  /// rows with cannot-link pairs, an extra pair score and edges from a sparse neighbour set.
  @Test(arguments: [0, 1, 2]) func averageLinkageEqualsTheRescan(seed: Int) throws {
    var rng = SeededRNG(seed: UInt64(40 + seed))
    let n = 120, d = 8
    var x = Matrix(rows: n, columns: d)
    let centres = (0..<10).map { _ in (0..<d).map { _ in rng.normal() } }
    for i in 0..<n {
      var row = centres[i % 10].map { $0 + 0.6 * rng.normal() }
      let norm = BLAS.nrm2(row); row = row.map { $0 / norm }
      for k in 0..<d { x[i, k] = row[k] }
    }
    var banned = Set<Int>()
    for _ in 0..<300 { let (a, b) = (Int(rng.next() % UInt64(n)), Int(rng.next() % UInt64(n))); banned.insert(min(a, b) * n + max(a, b)) }
    func cannot(_ i: Int, _ j: Int) -> Bool { banned.contains(min(i, j) * n + max(i, j)) }
    func extra(_ i: Int, _ j: Int) -> Double { (i + j) % 7 == 0 ? 0.05 : 0 }
    let t = 0.55
    let nn = try topKNeighbours(x, k: 6)
    var edges = Set<Int>()
    for i in 0..<n { for (j, s) in nn[i] where !cannot(i, j) && s + extra(i, j) >= t { edges.insert(min(i, j) * n + max(i, j)) } }
    let sorted = edges.sorted().map { ($0 / n, $0 % n) }
    let rows = RowMajor(x)
    let fast = AverageLinkage(rows: rows, n: n, edges: sorted, cannotLink: cannot, extra: extra, accept: { $0 >= t })
    // The rescan: every round, every edge's two groups, every cross pair.
    var parent = Array(0..<n), members = (0..<n).map { [$0] }
    var merges: [([Int], [Int])] = []
    func find(_ a: Int) -> Int { var a = a; while parent[a] != a { a = parent[a] }; return a }
    while true {
      var best: (Int, Int, Double)? = nil
      var tried = Set<Int>()
      for (i, j) in sorted {
        let (ra, rb) = (find(i), find(j))
        guard ra != rb, tried.insert(min(ra, rb) * n + max(ra, rb)).inserted else { continue }
        if members[ra].contains(where: { p in members[rb].contains { cannot(p, $0) } }) { continue }
        var total = 0.0
        for p in members[ra] { for q in members[rb] { total += rows.dot(p, q) + extra(p, q) } }
        let mean = total / Double(members[ra].count * members[rb].count)
        if mean >= t && mean > (best?.2 ?? -.infinity) { best = (ra, rb, mean) }
      }
      guard let (ra, rb, _) = best else { break }
      merges.append((members[ra], members[rb]))
      parent[ra] = rb; members[rb] += members[ra]; members[ra] = []
    }
    #expect(merges.count > 20, "the test needs merges to compare")
    #expect(fast.merges.map(\.from) == merges.map(\.0) && fast.merges.map(\.into) == merges.map(\.1))
    var group = Array(0..<n)
    for (r, ms) in fast.members.enumerated() { for p in ms { group[p] = r } }
    #expect(group == (0..<n).map(find))
  }

  /// The profile pass beyond its pair limit (blocks of a few candidates' similarities to every group; the
  /// null and admissible pairs enumerated, as they are fewer than the draws) attaches the same periods to
  /// the same groups as the pass over the whole similarity matrix, on drawn periods of use.
  @Test func profilePassInBlocksAttachesAsTheWholePass() throws {
    let model = LinkageModel()
    let sig = Signatures.drawnPeriodsOfUse(200, seed: 14).signatures
    let x = sig.features(model.weights), n = sig.vehicles.count
    let whole = try model.cluster(signatures: sig, features: x, candidates: n)
    #expect(!whole.attachments.isEmpty, "the data need attachments to compare")
    let blocks = try model.cluster(signatures: sig, features: x, candidates: n, profilePairLimit: 0, profileBlockRows: 3, profileDraws: 50_000)
    #expect(blocks.attachments.map { [$0.i, $0.j] } == whole.attachments.map { [$0.i, $0.j] })
    for (a, b) in zip(blocks.attachments, whole.attachments) { #expect(abs(a.similarity - b.similarity) < 1e-12) }
    #expect(blocks.group == whole.group)
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

  /// A small simulated town (21 days), ingested with a key: the store and every hire located in it.
  static func simulatedTown(seed: UInt64, fleet: SimulationConfig.Fleet) -> (ReadStore, [LinkageEvaluation.TrueHire]) {
    var cfg = SimulationConfig()
    cfg.seed = seed; cfg.days = 21; cfg.scale = 1; cfg.oracleReplicates = 0; cfg.fleet = fleet
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-link-\(UUID())").path
    _ = try! Simulator(config: cfg).run(to: dir)
    var o = IngestOptions(readsPath: dir + "/reads.csv", camerasPath: dir + "/cameras.csv")
    o.vehiclesPath = dir + "/vehicles.csv"
    let key = try! Pseudonymiser(keyBytes: Array("linkage test key 0123456789abcdef".utf8))
    o.pseudonymiser = key
    let (c, _) = try! Ingest.run(o)
    try! StoreWriter.write(c, to: dir + "/s.anpr")
    let store = try! ReadStore(path: dir + "/s.anpr")
    return (store, try! LinkageEvaluation.hires(store: store, truthDirectory: dir, pseudonymiser: key))
  }
  static let town = simulatedTown(seed: 3, fleet: .oneHirer)
  static let sharedTown = simulatedTown(seed: 6, fleet: .shared)

  @Test func signaturesMergeByAddition() throws {
    let (store, _) = Self.town
    let vs = Array(0..<200)
    let whole = Signatures.build(store: store, clock: .utc, vehicles: vs)
    let a = Signatures.build(store: store, clock: .utc, vehicles: Array(vs[0..<120]))
    let b = Signatures.build(store: store, clock: .utc, vehicles: Array(vs[120...]))
    let m = try a.merged(with: b)
    #expect(m.vehicles == whole.vehicles && m.sums == whole.sums && m.trips == whole.trips)
  }

  /// What every linkage result must satisfy: groups hold periods of use never in use at the same time
  /// (beyond the tolerance), ids are pseudonymous episode ids, links carry a confidence and evidence.
  func checkContract(_ r: LinkageResult, store: ReadStore) throws {
    let units = Dictionary(uniqueKeysWithValues: r.units.map { ($0.id, $0) })
    for g in r.groups {
      let spans = try g.map { id -> (Int64, Int64) in let u = try #require(units[id]); return (u.first, u.last) }
      for i in spans.indices { for j in spans.indices where i < j {
        #expect(min(spans[i].1, spans[j].1) - max(spans[i].0, spans[j].0) <= 12 * 3600)
      } }
    }
    #expect(Set(r.groups.flatMap { $0 }).count == r.groups.reduce(0) { $0 + $1.count })  // a unit in one group at most
    for u in r.units {
      let p = try #require(EpisodeID.parse(u.id))
      #expect(p.vehicle == u.vehicle && u.vehicle.hasPrefix("V") && p.from <= u.first && p.to >= u.last)
      #expect(u.boundaryConfidence > 0 && u.boundaryConfidence <= 1)
    }
    for l in r.links {
      #expect(l.confidence >= 0 && l.confidence <= 1 && l.confidence >= r.model.minimumConfidence - 1e-12 || l.basis == .groupProfile)
      #expect(!l.evidence.isEmpty)
    }
    #expect(Set(LinkBasis.allCases.map(\.rawValue)) == ["pair", "group average", "group profile"])  // the file format's words
    if r.groups.contains(where: { $0.count == 2 }) { #expect(r.notes.contains { $0.contains("two vehicles") }) }
  }

  /// Spec values out of range are refused naming the setting (unknown keys are refused by the contract).
  @Test func linkageAndCoTravelSpecValuesAreChecked() throws {
    func refusal<S: ModelSpec>(_ type: S.Type, _ json: String) -> String {
      do { _ = try type.decodeParameters(Data(json.utf8)); return "accepted" } catch { return "\(error)" }
    }
    #expect(refusal(LinkageModel.self, #"{"threshold": -5}"#).contains("threshold -5"))
    #expect(refusal(LinkageModel.self, #"{"minimum_confidence": 1.5}"#).contains("minimum_confidence"))
    #expect(refusal(LinkageModel.self, #"{"weights": {"hour": -1}}"#).contains("weights"))
    #expect(refusal(LinkageModel.self, #"{"segmenter": {"change_probabilities": [1.0]}}"#).contains("segmenter"))
    #expect(refusal(CoTravelDetector.self, #"{"max_p_value": 5}"#).contains("max_p_value"))
    #expect(try LinkageModel.decodeParameters(Data(#"{"threshold": 0.7, "weights": {"hour": 5}}"#.utf8)).weights.hour == 5)
  }

  /// links.csv, episodes.csv and convoys.csv read back as written (to the file's precision), and a
  /// damaged row is refused naming the file, line and field.
  @Test func linkageFilesReadBackAsWritten() throws {
    let (store, _) = Self.sharedTown
    let r = try LinkageModel().link(store: store, clock: .utc)
    #expect(!r.links.isEmpty && !r.units.isEmpty, "the check needs links and periods of use")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-linkfiles-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try writeAtomically(LinksFile.table(r.links).encoded(), to: dir + "/links.csv")
    try writeAtomically(EpisodesFile.table(r.units).encoded(), to: dir + "/episodes.csv")
    let links = try LinksFile.read(path: dir + "/links.csv")
    #expect(links.map(\.a) == r.links.map(\.a) && links.map(\.b) == r.links.map(\.b) && links.map(\.basis) == r.links.map(\.basis))
    #expect(zip(links, r.links).allSatisfy {
      abs($0.confidence - $1.confidence) <= 0.0005 && abs($0.similarity - $1.similarity) <= 0.00005 && abs($0.score - $1.score) <= 0.00005
        && $0.succession == $1.succession && $0.evidence == $1.evidence
    })
    let units = try EpisodesFile.read(path: dir + "/episodes.csv")
    #expect(units.map(\.id) == r.units.map(\.id) && units.map(\.vehicle) == r.units.map(\.vehicle) && units.map(\.first) == r.units.map(\.first)
      && units.map(\.last) == r.units.map(\.last) && units.map(\.visits) == r.units.map(\.visits)
      && units.map(\.cutBefore) == r.units.map(\.cutBefore) && units.map(\.cutAfter) == r.units.map(\.cutAfter))
    #expect(zip(units, r.units).allSatisfy { abs($0.boundaryConfidence - $1.boundaryConfidence) <= 0.0005 })
    let pair = CoTravel(a: "V1", b: "V2", sites: ["S1", "S2", "S3"], together: 4, expected: 0.0123, pValue: 2.5e-9, evidence: "4 journeys")
    try writeAtomically(ConvoysFile.table([pair]).encoded(), to: dir + "/convoys.csv")
    #expect(try ConvoysFile.read(path: dir + "/convoys.csv") == [.init(a: "V1", b: "V2", sites: 3, together: 4, expected: 0.0123, pValue: 2.5e-9, evidence: "4 journeys")])
    let text = try String(contentsOfFile: dir + "/links.csv", encoding: .utf8)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let damaged = ([String(lines[0]), lines[1].replacingOccurrences(of: ",\(r.links[0].basis.rawValue),", with: ",hunch,")] + lines.dropFirst(2).map(String.init)).joined(separator: "\n")
    try writeAtomically(damaged, to: dir + "/bad.csv")
    #expect(performing: { _ = try LinksFile.read(path: dir + "/bad.csv") },
            throws: { "\($0)".contains("bad.csv:2: basis") })
  }

  /// The one-hirer world (each plate one hirer): periods of use linked as well as plates were.
  @Test func oneHirerTownIsLinked() throws {
    let (store, hires) = Self.town
    let r = try LinkageModel().link(store: store, clock: .utc)
    #expect(r.candidates >= 4, "candidates \(r.candidates)")
    try checkContract(r, store: store)
    // Recorded figures are in BENCHMARKS.md; these are floors well under them.
    let s = LinkageEvaluation.score(r, hires: hires, store: store)
    #expect(s.pairPrecision >= 0.85, "pairwise precision \(s.pairPrecision)")
    #expect(s.pairRecall >= 0.6, "pairwise recall \(s.pairRecall)")
    #expect(s.bcubedF1 >= 0.9, "B-cubed F1 \(s.bcubedF1)")
    for l in r.links where l.basis == .groupProfile { #expect(l.evidence.hasPrefix("matches the combined profile of")) }
    for l in r.links where l.basis == .groupAverage { #expect(l.evidence.hasPrefix("groups of")) }
  }

  /// The shared fleet: every plate re-hired; linking plates finds nothing right, linking periods of use does.
  @Test func sharedFleetTownIsLinkedByPeriodOfUse() throws {
    let (store, hires) = Self.sharedTown
    #expect(Dictionary(grouping: hires, by: \.vehicle).values.contains { Set($0.map(\.holder)).count >= 3 })  // plates re-hired
    let r = try LinkageModel().link(store: store, clock: .utc)
    try checkContract(r, store: store)
    let s = LinkageEvaluation.score(r, hires: hires, store: store)
    #expect(s.pairPrecision >= 0.8, "pairwise precision \(s.pairPrecision)")
    #expect(s.bcubedF1 >= 0.85, "B-cubed F1 \(s.bcubedF1)")
    #expect(r.groups.count >= 2)
    // Some car serves two holders in the groups found, or a group holds two periods of one car: the
    // unit is the period of use, not the plate.
    let plates = r.groups.map { g in g.map { EpisodeID.parse($0)!.vehicle } }
    #expect(plates.contains { Set($0).count < $0.count } || Set(plates.flatMap { Set($0) }).count < plates.reduce(0) { $0 + Set($1).count })
    let b = LinkageEvaluation.boundaryAccuracy(r, hires: hires, store: store)
    #expect(b.hires > 5 && b.share >= 0.6, "boundaries \(b)")
    var plateModel = LinkageModel()
    plateModel.unit = .plate
    let byPlate = LinkageEvaluation.score(try plateModel.link(store: store, clock: .utc), hires: hires, store: store)
    #expect(s.pairF1 > byPlate.pairF1 + 0.2, "episodes \(s.pairF1), plates \(byPlate.pairF1)")
  }

  /// Stricter thresholds keep precision.
  @Test(arguments: [0.7, 0.75, 0.8]) func precisionHoldsAcrossThresholds(threshold: Double) throws {
    let (store, hires) = Self.town
    var model = LinkageModel()
    model.threshold = threshold
    let s = LinkageEvaluation.score(try model.link(store: store, clock: .utc), hires: hires, store: store)
    #expect(s.pairPrecision >= 0.9, "threshold \(threshold): pairwise precision \(s.pairPrecision)")
  }

  /// The reliability table bins links by stated confidence against the share right.
  @Test func reliabilityTableCountsEveryLink() throws {
    let (store, hires) = Self.sharedTown
    let r = try LinkageModel().link(store: store, clock: .utc)
    let truth = LinkageEvaluation.truth(r, store: store, hires: hires)
    let bins = LinkageEvaluation.reliability(r, truth: truth)
    #expect(bins.reduce(0) { $0 + $1.links } == r.links.count)
    for b in bins { #expect(b.stated >= b.from && b.stated <= b.to && b.observed >= 0 && b.observed <= 1) }
  }

  /// Combined profiles: per block, the normalised sum of a group's rows, so that its dot product with
  /// a row is the weighted mean of the per-block cosines, as between two rows.
  @Test func groupProfileIsPerBlock() throws {
    let (w1, w2) = (0.75.squareRoot(), 0.25.squareRoot())
    let blocks: [(range: Range<Int>, scale: Double)] = [(0..<2, w1), (2..<3, w2)]
    // Rows with block norms √0.75 and √0.25 (centred blocks may be negative).
    let x = try Matrix(rows: [[w1, 0, w2], [w1 * 0.8, w1 * 0.6, w2], [0, w1, -w2]])
    let p = profile(RowMajor(x), [0, 1], blocks: blocks)
    #expect(abs(p.reduce(0) { $0 + $1 * $1 } - 1) < 1e-12)
    // Block 1: (1.8, 0.6)/√3.6 against (0, 1) → 0.6/√3.6; block 2: 1 against −1.
    #expect(abs(RowMajor(x).dot(2, p) - (0.75 * 0.6 / 3.6.squareRoot() - 0.25)) < 1e-12)
    // A single row's profile is the row itself.
    #expect(zip(profile(RowMajor(x), [2], blocks: blocks), [0, w1, -w2]).allSatisfy { abs($0 - $1) < 1e-12 })
  }

  /// Centred features: two vehicles whose many ordinary visits average out to the town's usual pattern
  /// look alike before centring and not after; two with the same unusual habit look alike either way.
  @Test func centringRemovesTheSharedBackground() throws {
    var rng = SeededRNG(seed: 5)
    let layout = Signatures.Layout(sites: 4)
    let d = layout.dimension, n = 60
    var sums = [Double](repeating: 0, count: n * d)
    for r in 0..<n {
      // Each vehicle: 12 trip starts drawn around 11:00 (σ 2 h); rows 0 and 1 instead start at 03:00 each time.
      for _ in 0..<12 {
        let h = r < 2 ? 3 : min(23, max(0, Int((11 + 2 * rng.normal()).rounded())))
        sums[r * d + layout.hour.lowerBound + h] += 1
      }
    }
    let sig = Signatures(layout: layout, vehicles: Array(0..<n), sums: sums, firstSeen: Array(repeating: 0, count: n),
                         lastSeen: Array(repeating: 0, count: n), trips: Array(repeating: 12, count: n),
                         visitStarts: Array(repeating: [], count: n), visitEnds: Array(repeating: [], count: n))
    var w = Signatures.Weights()
    (w.entry, w.exit, w.stops, w.stopPairs, w.stopArea, w.dwell, w.weekday, w.bigrams, w.durations, w.rental, w.entryHour) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    let raw = sig.features(w, centred: false), centred = sig.features(w)
    #expect(RowMajor(raw).dot(2, 3) > 0.8, "uncentred ordinary pair \(RowMajor(raw).dot(2, 3))")
    #expect(RowMajor(centred).dot(2, 3) < 0.5, "centred ordinary pair \(RowMajor(centred).dot(2, 3))")
    #expect(RowMajor(centred).dot(0, 1) > 0.99 && RowMajor(raw).dot(0, 1) > 0.99)
    for r in 0..<n { #expect(abs(RowMajor(centred).dot(r, r) - 1) < 1e-9) }
  }
}

@Suite("Co-travel")
struct CoTravelTests {
  @Test func convoyIsFoundAndCommutersAreNot() throws {
    // Four sites along a road. Two "commuters" pass every site every weekday morning at 08:00 ± a few
    // minutes (many co-occurrences by habit); a convoy pair passes together (10 s apart) on four days at an hour they are otherwise never seen.
    let dir = try makeTemporaryDirectory("convoy")
    try "camera_id,latitude,longitude\nA,51.54,0.70\nB,51.54,0.71\nC,51.54,0.72\nD,51.54,0.73\n".write(toFile: dir + "/c.csv", atomically: false, encoding: .utf8)
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
    try rows.write(toFile: dir + "/r.csv", atomically: false, encoding: .utf8)
    var o = IngestOptions(readsPath: dir + "/r.csv", camerasPath: dir + "/c.csv")
    o.pseudonymiser = nil
    let (c, _) = try Ingest.run(o)
    try StoreWriter.write(c, to: dir + "/s.anpr")
    let found = CoTravelDetector().detect(store: try ReadStore(path: dir + "/s.anpr"))
    #expect(found.contains { Set([$0.a, $0.b]) == ["CC33CCC", "DD44DDD"] }, "\(found)")
    #expect(!found.contains { Set([$0.a, $0.b]) == ["AA11AAA", "BB22BBB"] }, "commuters flagged: \(found.map { ($0.a, $0.b, $0.together, $0.expected, $0.pValue) })")
    #expect(CountDistribution.poissonUpperTail(0, mean: 1) == 1 && abs(CountDistribution.poissonUpperTail(1, mean: 1) - (1 - exp(-1))) < 1e-12)
  }

  /// The pairs seen together, found vehicle by vehicle, are those of every pair of reads at one site
  /// within the window (checked by brute force on 3 000 random reads: 40 vehicles, 5 sites, two hours),
  /// with the same co-occurrence times and sites.
  @Test func coOccurrencesAreEveryPairOfReadsWithinTheWindow() throws {
    let dir = try makeTemporaryDirectory("convoy-brute")
    try "camera_id,latitude,longitude\nA,51.54,0.70\nB,51.54,0.71\nC,51.54,0.72\nD,51.54,0.73\nE,51.54,0.74\n".write(toFile: dir + "/c.csv", atomically: false, encoding: .utf8)
    var rows = "plate,camera_id,timestamp\n"
    var rng = SeededRNG(seed: 11)
    let base = 1_772_438_400
    for _ in 0..<3000 {
      rows += "V\(rng.int(10...49))XYZ,\(["A", "B", "C", "D", "E"][rng.int(0...4)]),\(base + rng.int(0...7200))\n"
    }
    try rows.write(toFile: dir + "/r.csv", atomically: false, encoding: .utf8)
    var o = IngestOptions(readsPath: dir + "/r.csv", camerasPath: dir + "/c.csv")
    o.pseudonymiser = nil
    try StoreWriter.write(try Ingest.run(o).0, to: dir + "/s.anpr")
    let store = try ReadStore(path: dir + "/s.anpr")
    var detector = CoTravelDetector()
    detector.minimumSites = 2
    var expected: [[Int]: (times: [Int64], sites: Set<Int>)] = [:]
    for i in 0..<store.count {
      for j in (i + 1)..<store.count where store.site(i) == store.site(j) && abs(store.time(i) - store.time(j)) <= detector.windowSeconds {
        let (a, b) = (store.vehicle(i), store.vehicle(j))
        guard a != b else { continue }
        let key = [min(a, b), max(a, b)]
        expected[key, default: ([], [])].times.append(max(store.time(i), store.time(j)))
        expected[key]!.sites.insert(store.site(i))
      }
    }
    let brute = expected.filter { $0.value.sites.count >= 2 }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    var found: [(a: Int, b: Int, times: [Int64], sites: Set<Int>)] = []
    detector.forEachCoOccurrence(store: store) { found.append(($0, $1, $2, $3)) }
    #expect(brute.count > 20, "the check needs pairs: \(brute.count)")
    #expect(found.map { [$0.a, $0.b] } == brute.map(\.key))
    #expect(zip(found, brute).allSatisfy { $0.times.sorted() == $1.value.times.sorted() && $0.sites == $1.value.sites })
  }
}
