import Foundation
import Modelling
import Reads
import Testing
import TestSupport
@testable import Linkage

/// Hand-built plate histories: a small road of six sites, drivers with distinct habits.
struct HandBuiltTown {
  var rows = "plate,camera_id,timestamp\n"
  var keepers: [String: String] = [:]
  static let base: Int64 = 1_772_409_600  // 2026-03-02T00:00:00Z, a Monday

  /// One visit: reads at `sites` starting at `hour` on `day`, two minutes apart, with a stop of
  /// `stopMinutes` after the read at index `stopAfter` (nil: no stop).
  mutating func visit(_ plate: String, day: Int, hour: Double, sites: [String], stopAfter: Int? = nil, stopMinutes: Int = 15) {
    var t = Self.base + Int64(day) * 86400 + Int64(hour * 3600)
    for (k, s) in sites.enumerated() {
      rows += "\(plate),\(s),\(t)\n"
      t += 120 + (k == stopAfter ? Int64(stopMinutes) * 60 : 0)
    }
  }

  /// Writes the files and ingests them (raw plates) into a store.
  func store(_ dir: String) throws -> ReadStore {
    var cams = "camera_id,latitude,longitude\n"
    for (k, s) in ["A", "B", "C", "D", "E", "F"].enumerated() { cams += "\(s),51.5\(k),0.7\(k)\n" }
    try cams.write(toFile: dir + "/c.csv", atomically: false, encoding: .utf8)
    try rows.write(toFile: dir + "/r.csv", atomically: false, encoding: .utf8)
    var v = "plate,keeper_type\n"
    for (p, k) in keepers.sorted(by: { $0.key < $1.key }) { v += "\(p),\(k)\n" }
    try v.write(toFile: dir + "/v.csv", atomically: false, encoding: .utf8)
    var o = IngestOptions(readsPath: dir + "/r.csv", camerasPath: dir + "/c.csv")
    o.vehiclesPath = dir + "/v.csv"
    o.pseudonymiser = nil
    let (c, _) = try Ingest.run(o)
    try StoreWriter.write(c, to: dir + "/s.anpr")
    return try ReadStore(path: dir + "/s.anpr")
  }

  /// A town: commuters that make the usual travel times (so that a 15-minute gap is a stop), and three hire cars.
  static func make(commuters: Int = 6) -> HandBuiltTown {
    var town = HandBuiltTown()
    for c in 0..<commuters {
      let p = String(format: "COMM%02d", c)
      town.keepers[p] = "private"
      for d in 0..<24 { town.visit(p, day: d, hour: 7.5 + Double(c) * 0.05, sites: ["A", "B", "C", "D", "E", "F"]) }
    }
    // HIRE01: driver 1 (afternoons, in at A, stops after B) days 0–4; depot; driver 2 (mornings, in at F,
    // no stops) days 9–13.
    town.keepers["HIRE01"] = "rental"
    for d in 0..<5 { town.visit("HIRE01", day: d, hour: 15, sites: ["A", "B", "C", "A"], stopAfter: 1) }
    for d in 9..<14 { town.visit("HIRE01", day: d, hour: 9, sites: ["F", "E", "D", "F"]) }
    // HIRE02: one driver all month, every third day, the same habit: one period of use despite idle days.
    town.keepers["HIRE02"] = "rental"
    for d in stride(from: 0, to: 22, by: 3) { town.visit("HIRE02", day: d, hour: 16, sites: ["A", "B", "C", "A"], stopAfter: 1) }
    // HIRE03: handed over the next day: driver 1 days 0–5 (afternoons, stop after B), driver 2 days 6–11
    // (mornings, in at F, stop after E).
    town.keepers["HIRE03"] = "rental"
    for d in 0..<6 { town.visit("HIRE03", day: d, hour: 14.5, sites: ["A", "B", "C", "A"], stopAfter: 1) }
    for d in 6..<12 { town.visit("HIRE03", day: d, hour: 8.5, sites: ["F", "E", "D", "F"], stopAfter: 1, stopMinutes: 25) }
    return town
  }
}

@Suite("Episodes")
struct EpisodeTests {
  @Test func episodeIDsRoundTrip() throws {
    let id = EpisodeID.format(vehicle: "V0AB#x", first: 1_772_460_300, last: 1_772_805_661)
    #expect(id == "V0AB#x#2026-03-02T14:05Z..2026-03-06T14:02Z")  // the last read, 14:01:01, rounded up to its minute
    let p = try #require(EpisodeID.parse(id))
    #expect(p.vehicle == "V0AB#x" && p.from == 1_772_460_300 && p.to == 1_772_805_720 + 59)
    #expect(p.from <= 1_772_460_300 && p.to >= 1_772_805_661)  // the span holds every read
    #expect(EpisodeID.parse("V0AB") == nil && EpisodeID.parse("V0AB#2026-03-02..x") == nil)
    // A span that ends before it starts (a hand-edited groups file) names no period of use.
    #expect(EpisodeID.parse("V0AB#2026-03-06T14:02Z..2026-03-02T14:05Z") == nil)
  }

  @Test func segmentationFindsEachChangeOfDriver() throws {
    let dir = try makeTemporaryDirectory("episodes")
    let store = try HandBuiltTown.make().store(dir)
    let index = Dictionary(uniqueKeysWithValues: store.vehicles.enumerated().map { ($1.id, $0) })
    let rentals = ["HIRE01", "HIRE02", "HIRE03"].map { index[$0]! }
    let r = EpisodeSegmenter().segment(store: store, clock: .utc, vehicles: rentals)
    func episodes(_ p: String) -> [Episode] { r.episodes.filter { $0.vehicle == index[p]! }.sorted { $0.first < $1.first } }
    let day = 86400 as Int64, base = HandBuiltTown.base
    // A change of driver across a depot gap: two periods, cut between day 4 and day 9.
    let h1 = episodes("HIRE01")
    #expect(h1.count == 2, "\(h1)")
    #expect(h1[0].last < base + 5 * day && h1[1].first >= base + 9 * day)
    #expect(h1[0].visits == 5 && h1[1].visits == 5)
    let cut = try #require(h1[1].cutBefore)
    #expect(cut.probability > 0.5 && cut.idleDays > 4 && cut.idleDays < 5)
    #expect(cut.entry > 1 && cut.evidence.contains("entry road changed"))
    #expect(h1[0].cutAfter == cut && h1[0].cutBefore == nil && h1[1].cutAfter == nil)
    // One driver with idle days between visits: one period of use.
    let h2 = episodes("HIRE02")
    #expect(h2.count == 1 && h2[0].visits == 8, "\(h2)")
    #expect(h2[0].confidence > 0.5)
    // A handover with no idle day: the change of habit alone places the cut.
    let h3 = episodes("HIRE03")
    #expect(h3.count == 2, "\(h3)")
    #expect(h3[0].last < base + 6 * day && h3[1].first >= base + 6 * day)
    #expect(h3[1].cutBefore!.idleDays < 1 && h3[1].cutBefore!.probability > 0.5)
    for e in r.episodes { #expect(e.confidence > 0 && e.confidence <= 1) }
    // Empirical Bayes picked values on its grids.
    #expect(EpisodeSegmenter().concentrations.contains(r.concentration) && EpisodeSegmenter().changeProbabilities.contains(r.changeProbability))
  }

  /// A fleet collected from and returned to a branch at E: with boundary places, a hand-over between two
  /// drivers of nearly the same habits is found by the visits to the branch; without, it is one period.
  @Test func boundaryPlacesFindAHandOverAtTheBranch() throws {
    let dir = try makeTemporaryDirectory("episodes-branch")
    var town = HandBuiltTown.make()
    // Eight cars, each hired by an afternoon driver (in at A, stop after B) and then a morning driver (in
    // at F): each hire's first visit leaves the branch at E and its last returns there.
    for c in 0..<8 {
      let p = String(format: "FLEET%02d", c)
      town.keepers[p] = "rental"
      for d in 0..<4 { town.visit(p, day: d, hour: 15, sites: [d == 0 ? "E" : "A", "B", "C", d == 3 ? "E" : "A"], stopAfter: 1) }
      for d in 4..<8 { town.visit(p, day: d, hour: 9, sites: [d == 4 ? "E" : "F", "E", "D", d == 7 ? "E" : "F"]) }
    }
    // HANDOVER: two hires of nearly the same habit (the second an hour later), back to back, the car
    // returned to the branch in between.
    town.keepers["HANDOVER"] = "rental"
    for d in 0..<8 {
      town.visit("HANDOVER", day: d, hour: d < 4 ? 15 : 16, sites: [d == 0 || d == 4 ? "E" : "A", "B", "C", d == 3 || d == 7 ? "E" : "A"], stopAfter: 1)
    }
    let store = try town.store(dir)
    let index = Dictionary(uniqueKeysWithValues: store.vehicles.enumerated().map { ($1.id, $0) })
    let cars = store.vehicles.indices.filter { store.vehicles[$0].keeper == .rental }
    var segmenter = EpisodeSegmenter()
    segmenter.boundaryPlaces = .off
    let without = segmenter.segment(store: store, clock: .utc, vehicles: cars)
    segmenter.boundaryPlaces = .auto
    let with = segmenter.segment(store: store, clock: .utc, vehicles: cars)
    let e = store.sites.firstIndex(of: "E")
    // The branch is named either way; only 'auto' (which finds it a branch) and 'on' use it.
    #expect(without.boundaryStart?.site == e && without.boundaryEnd?.site == e && (without.boundaryStart?.ratio ?? 0) >= 3)
    #expect(with.boundaryStart == without.boundaryStart && with.boundaryPlacesUsed && !without.boundaryPlacesUsed)
    segmenter.boundaryPlaces = .on
    #expect(segmenter.segment(store: store, clock: .utc, vehicles: cars).episodes == with.episodes)
    let h = index["HANDOVER"]!, base = HandBuiltTown.base
    let before = without.episodes.filter { $0.vehicle == h }, after = with.episodes.filter { $0.vehicle == h }.sorted { $0.first < $1.first }
    #expect(before.count == 1, "\(before)")
    #expect(after.count == 2, "\(after)")
    if after.count == 2 { #expect(after[0].last < base + 4 * 86400 && after[1].first >= base + 4 * 86400) }
    // The fleet's own hand-overs are found either way.
    for c in 0..<8 {
      let v = index[String(format: "FLEET%02d", c)]!
      #expect(without.episodes.filter { $0.vehicle == v }.count == 2 && with.episodes.filter { $0.vehicle == v }.count == 2)
    }
  }

  /// The boundary terms: with ratios set, a period's last exit road is the driver's predictive tilted by
  /// the end ratios and renormalised (its probabilities over every road sum to 1), its first entry road
  /// the town's mix tilted by the start ratios; with none set, the likelihood has no boundary term.
  @Test func boundaryTermsAreProperDistributions() {
    typealias V = EpisodeSegmenter.Visit
    func visit(entry: Int, exit: Int) -> V { V(start: 0, end: 60, day: 0, entry: entry, exit: exit, hour: 9, stops: [3]) }
    let town = [[visit(entry: 0, exit: 1), visit(entry: 1, exit: 2), visit(entry: 2, exit: 0), visit(entry: 0, exit: 0)]]
    var bg = Background(histories: town, sites: 3)
    let alpha = 2.0
    // Without ratios: the exit family's marginal of two visits is the plain Dirichlet-multinomial.
    let plain = bg.segmentLogLikelihoods([visit(entry: 0, exit: 1), visit(entry: 0, exit: 1)], alpha: alpha, families: [1], activity: false)[1]
    let p1 = bg.p[1][1]
    #expect(abs(plain - (log(p1) + log((alpha * p1 + 1) / (alpha + 1)))) < 1e-12)
    bg.setBoundaryRatios(start: [4, 0.5, 1], end: [0.25, 3, 1])
    var total = 0.0
    for k in 0..<3 {
      let ll = bg.segmentLogLikelihoods([visit(entry: 0, exit: 1), visit(entry: 0, exit: k)], alpha: alpha, families: [1], activity: false)[1]
      total += exp(ll)
    }
    // Σ_k P(first exit 1) P(last exit k | first) = P(first exit 1) = p_1.
    #expect(abs(total - p1) < 1e-12, "\(total) vs \(p1)")
    var starts = 0.0
    for k in 0..<3 { starts += exp(bg.segmentLogLikelihoods([visit(entry: k, exit: 0)], alpha: alpha, families: [0], activity: false)[0]) }
    #expect(abs(starts - 1) < 1e-12)
    // The start mix leans to the road with the high ratio.
    #expect(bg.logStart[0] > log(bg.p[0][0]) && bg.logStart[1] < log(bg.p[0][1]))
  }

  /// A segmenter saved before the boundary settings existed still loads, with their defaults.
  @Test func aSegmenterSavedBeforeBoundaryPlacesLoads() throws {
    var s = EpisodeSegmenter()
    s.concentrations = [1, 4]
    var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as! [String: Any]
    for k in ["boundaryPlaces", "boundaryPriorWeight", "branchRatio", "boundaryRounds"] { #expect(json.removeValue(forKey: k) != nil) }
    let old = try JSONDecoder().decode(EpisodeSegmenter.self, from: JSONSerialization.data(withJSONObject: json))
    #expect(old.concentrations == [1, 4] && old.boundaryPlaces == .auto && old.branchRatio == 3 && old.boundaryRounds == 3)
    var bad = LinkageModel()
    bad.segmenter.branchRatio = 0
    #expect(bad.parameterProblem?.contains("branch_ratio") == true)
  }

  /// The recursions against brute force: every partition of a short history enumerated.
  @Test func posteriorRecursionsMatchEnumeration() {
    let n = 5, q = 0.3
    var rng = SeededRNG(seed: 11)
    let seg = (0..<(n * n)).map { _ in -3 * rng.uniform() }
    let r = Recursions(seg: seg, n: n, q: q)
    var z = 0.0, cutMass = [Double](repeating: 0, count: n), segmentMass: [String: Double] = [:]
    var best = (p: -1.0, bounds: [(Int, Int)]())
    for mask in 0..<(1 << (n - 1)) {  // bit k set: a cut between visits k and k + 1
      var bounds: [(Int, Int)] = [], s = 0
      for k in 0..<(n - 1) where mask & (1 << k) != 0 { bounds.append((s, k + 1)); s = k + 1 }
      bounds.append((s, n))
      let cuts = bounds.count - 1
      let logp = bounds.reduce(0) { $0 + seg[$1.0 * n + $1.1 - 1] } + Double(cuts) * log(q) + Double(n - 1 - cuts) * log(1 - q)
      let p = exp(logp)
      z += p
      for (a, _) in bounds.dropFirst() { cutMass[a] += p }
      for b in bounds { segmentMass["\(b.0)-\(b.1)", default: 0] += p }
      if p > best.p { best = (p, bounds) }
    }
    #expect(abs(r.z - log(z)) < 1e-10)
    for e in 1..<n { #expect(abs(r.cutProbability(at: e) - cutMass[e] / z) < 1e-10) }
    for (key, mass) in segmentMass {
      let ab = key.split(separator: "-").map { Int($0)! }
      #expect(abs(r.segmentProbability(ab[0], ab[1]) - mass / z) < 1e-10)
    }
    #expect(r.mapSegments().map { "\($0.0)-\($0.1)" } == best.bounds.map { "\($0.0)-\($0.1)" })
  }
}

@Suite("Linkage on bad input")
struct LinkageBadInputTests {
  @Test func storeWithoutRentalVehiclesSaysSo() throws {
    var town = HandBuiltTown.make()
    for k in town.keepers.keys { town.keepers[k] = "private" }
    let r = try LinkageModel().link(store: try town.store(try makeTemporaryDirectory("norental")), clock: .utc)
    #expect(r.candidates == 0 && r.links.isEmpty && r.groups.isEmpty)
    #expect(r.notes.contains { $0.contains("no rental vehicles") })
  }

  @Test func plateSeenOnceIsNoCandidateAndNoCrash() throws {
    var town = HandBuiltTown.make()
    town.keepers["ONCE01"] = "rental"
    town.rows += "ONCE01,A,\(HandBuiltTown.base + 50_000)\n"
    let store = try town.store(try makeTemporaryDirectory("once"))
    let r = try LinkageModel().link(store: store, clock: .utc)
    #expect(!r.units.contains { $0.vehicle == "ONCE01" })  // one read: no stop, so not a candidate
    #expect(r.groups.allSatisfy { $0.count >= 2 })
  }

  /// 1 000 hire cars with the same behaviour, some at the same time: nothing tells them apart, so
  /// nothing may be linked with confidence.
  @Test func identicalBehaviourIsNotLinked() throws {
    var town = HandBuiltTown.make(commuters: 20)  // enough that the usual B → C time is the commuters'
    for k in 0..<1000 {
      let p = String(format: "ID%04d", k)
      town.keepers[p] = "rental"
      for d in 0..<2 { town.visit(p, day: (k % 20) + d, hour: 12, sites: ["A", "B", "C", "A"], stopAfter: 1) }
    }
    let r = try LinkageModel().link(store: try town.store(try makeTemporaryDirectory("identical")), clock: .utc)
    #expect(r.candidates >= 1000)
    #expect(r.links.allSatisfy { $0.confidence < 0.99 }, "\(r.links.prefix(3))")
    #expect(r.groups.count <= 5, "\(r.groups.count) groups of indistinguishable cars")
  }

  /// One driver drives one car at a time: two hire cars on the road at the same moments, alike in every
  /// other way, are two drivers, so no group holds both; a third car with the same habit later in the
  /// month may join either. With the rule off (`separateSimultaneousDrivers = false`) the two are linked
  /// (their spans overlap by minutes, within the handover tolerance), which shows the test can fail.
  @Test func carsOnTheRoadTogetherAreTwoDrivers() throws {
    var town = HandBuiltTown.make(commuters: 20)
    for p in ["TWIN1", "TWIN2", "LATER"] { town.keepers[p] = "rental" }
    // Their periods of use overlap by minutes (under the 12 h tolerance for a handover), but on day 3
    // both are on the road at 15:00.
    for d in 0...3 { town.visit("TWIN1", day: d, hour: 15, sites: ["A", "B", "C", "A"], stopAfter: 1) }
    for d in 3...6 { town.visit("TWIN2", day: d, hour: 15.05, sites: ["A", "B", "C", "A"], stopAfter: 1) }
    for d in 12..<18 { town.visit("LATER", day: d, hour: 15, sites: ["A", "B", "C", "A"], stopAfter: 1) }
    // Background hire cars with other habits, so the confidence has pairs to learn from.
    let sites = ["A", "B", "C", "D", "E", "F"]
    for k in 0..<60 {
      let p = String(format: "BG%03d", k)
      town.keepers[p] = "rental"
      let route = (0..<4).map { sites[(k + $0 * (1 + k % 2)) % 6] }
      for d in 0..<3 {
        town.visit(p, day: (k % 20) + d, hour: 6 + Double((k * 7) % 15) + 0.3 * Double(d), sites: route, stopAfter: k % 3, stopMinutes: 8 + (k * 5) % 30)
      }
    }
    let store = try town.store(try makeTemporaryDirectory("twins"))
    func together(_ r: LinkageResult) -> Bool { r.groups.contains { g in g.contains { $0.hasPrefix("TWIN1") } && g.contains { $0.hasPrefix("TWIN2") } } }
    let r = try LinkageModel().link(store: store, clock: .utc)
    #expect(!together(r), "\(r.groups)")
    var off = LinkageModel()
    off.separateSimultaneousDrivers = false
    let o = try off.link(store: store, clock: .utc)
    #expect(together(o), "\(o.groups) \(o.notes)")
  }

  /// The entry × hour block holds "in by this road at this hour": a visit entering at A at 15:00 puts
  /// its weight at (A, 15) and the hours either side, nothing under another road; and the block is
  /// weighted by rarity (an entry road and hour every car uses says less than one few cars use).
  @Test func entryHourIsTheRoadInAtTheHour() throws {
    var town = HandBuiltTown.make(commuters: 4)
    town.keepers["HIRE09"] = "rental"
    town.visit("HIRE09", day: 1, hour: 15, sites: ["A", "B", "C", "A"], stopAfter: 1)
    let store = try town.store(try makeTemporaryDirectory("entryhour"))
    let v = try #require(store.vehicles.firstIndex { $0.id == "HIRE09" })
    let sig = Signatures.build(store: store, clock: .utc, vehicles: [v])
    let L = sig.layout, a = try #require(store.sites.firstIndex(of: "A"))
    func at(_ site: Int, _ hour: Int) -> Double { sig.sums[L.entryHour.lowerBound + (site % L.siteBuckets) * L.hours + hour] }
    #expect(at(a, 15) > 0.85 && at(a, 14) > 0.85 && at(a, 16) > 0.3 && at(a, 9) == 0, "\((12..<19).map { at(a, $0) })")
    let b = try #require(store.sites.firstIndex(of: "B"))
    #expect((0..<24).allSatisfy { at(b, $0) == 0 })
    #expect(sig.blocks(Signatures.Weights()).contains { $0.range == L.entryHour && $0.weight > 0 && $0.idf })
  }

  /// `drivenTogether`: visits that share a minute are on the road together; back-to-back ones are not.
  @Test func drivenTogetherNeedsASharedMinute() {
    let layout = Signatures.Layout(sites: 4)
    var sig = Signatures(layout: layout, vehicles: [0, 1, 2], sums: Array(repeating: 0, count: 3 * layout.dimension),
                         firstSeen: [0, 1000, 1700], lastSeen: [2000, 1900, 3000], trips: [2, 1, 1],
                         visitStarts: [[0, 1500], [1000], [1700]], visitEnds: [[600, 2000], [1900], [3000]])
    #expect(sig.drivenTogether(0, 1))       // 1500–1900 shared
    #expect(sig.drivenTogether(1, 2))       // 1700–1900 shared
    #expect(sig.drivenTogether(0, 2))       // 1700–2000 shared
    sig.visitStarts[2] = [1960]
    #expect(!sig.drivenTogether(0, 2))      // 40 s shared: under a minute
    sig.visitStarts[1] = [700]; sig.visitEnds[1] = [1500]
    #expect(!sig.drivenTogether(0, 1))      // 600–700 gap, then ends as the other starts
  }

  /// Two actors who swap the same three cars every four days: each car serves both, so the groups
  /// must be of periods of use, and no group may mix the two (one drives afternoons in at A with a stop
  /// after B, the other mornings in at F with a stop after E).
  @Test func twoGroupsSharingEveryCarAreNotMixed() throws {
    var town = HandBuiltTown.make()
    let cars = ["SWAP01", "SWAP02", "SWAP03"]
    for c in cars { town.keepers[c] = "rental" }
    for block in 0..<6 {
      for d in (block * 4)..<(block * 4 + 3) {
        town.visit(cars[block % 3], day: d, hour: 15, sites: ["A", "B", "C", "A"], stopAfter: 1)
        town.visit(cars[(block + 1) % 3], day: d, hour: 8, sites: ["F", "E", "D", "F"], stopAfter: 1, stopMinutes: 25)
      }
    }
    let r = try LinkageModel().link(store: try town.store(try makeTemporaryDirectory("swap")), clock: .utc)
    let units = Dictionary(uniqueKeysWithValues: r.units.map { ($0.id, $0) })
    for g in r.groups {
      let afternoon = g.compactMap { units[$0] }.map { ($0.first % 86400) / 3600 >= 12 }
      #expect(Set(afternoon).count == 1, "mixed group \(g)")
    }
    for l in r.links { #expect(l.confidence <= 1 && l.confidence >= 0) }
  }
}
