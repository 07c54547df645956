import Foundation
import Modelling
import Reads
@testable import Simulation
import Testing

func tmpDir() -> String {
  let p = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-sim-\(UUID().uuidString)").path
  try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
  return p
}

func smallConfig(seed: UInt64 = 7) -> SimulationConfig {
  var c = SimulationConfig()
  c.seed = seed
  c.days = 7
  c.scale = 0.5
  c.oracleReplicates = 5
  c.nextSiteReplicates = 50
  c.malformedRate = 0.002
  return c
}

/// One shared small simulation (the suite reads it several ways).
let shared: (dir: String, summary: SimulationSummary, truth: SimulationTruth) = {
  let dir = tmpDir()
  let s = try! Simulator(config: smallConfig()).run(to: dir)
  let t = try! JSONDecoder().decode(SimulationTruth.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/truth.json")))
  return (dir, s, t)
}()

func csvRows(_ path: String) throws -> [[String]] {
  let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
  return lines.dropFirst().filter { !$0.isEmpty }.map { $0.components(separatedBy: ",") }
}

@Suite("Simulator")
struct SimulatorTests {
  @Test func sameSeedSameBytesDifferentSeedDifferentBytes() throws {
    var c = smallConfig(seed: 11)
    c.days = 2
    let a = tmpDir(), b = tmpDir(), d = tmpDir()
    _ = try Simulator(config: c).run(to: a)
    _ = try Simulator(config: c).run(to: b)
    for f in ["reads.csv", "cameras.csv", "vehicles.csv", "truth.json", "truth-passes.csv", "truth-expected-counts.csv", "truth-next-site.csv"] {
      let x = try Data(contentsOf: URL(fileURLWithPath: a + "/" + f)), y = try Data(contentsOf: URL(fileURLWithPath: b + "/" + f))
      #expect(x == y, "\(f) differs between two runs with the same seed")
    }
    c.seed = 12
    _ = try Simulator(config: c).run(to: d)
    #expect(try Data(contentsOf: URL(fileURLWithPath: a + "/reads.csv")) != Data(contentsOf: URL(fileURLWithPath: d + "/reads.csv")))
  }

  /// `--gzip` writes the same bytes, compressed: reading the .gz back (as ingest does) gives the text run's files.
  @Test func gzipOutputDecompressesToTheTextOutput() throws {
    var c = smallConfig(seed: 11)
    c.days = 2; c.oracleReplicates = 0
    let a = tmpDir(), g = tmpDir()
    _ = try Simulator(config: c).run(to: a)
    let summary = try Simulator(config: c).run(to: g, gzip: true)
    #expect(summary.files.contains("reads.csv.gz") && summary.files.contains("truth-passes.csv.gz"))
    for f in ["reads.csv", "truth-passes.csv"] {
      var text: [UInt8] = []
      let source = try ByteSource(path: g + "/" + f + ".gz")
      var chunk = [UInt8](repeating: 0, count: 1 << 16)
      while true {
        let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0.baseAddress!, count: $0.count) }
        if n == 0 { break }
        text += chunk[0..<n]
      }
      #expect(Data(text) == (try Data(contentsOf: URL(fileURLWithPath: a + "/" + f))), "\(f)")
      #expect(!FileManager.default.fileExists(atPath: g + "/" + f))
    }
  }

  @Test func townShapeScalesWithScale() throws {
    var rng = SeededRNG(seed: 1)
    let town = Town(scale: 1, rng: &rng)
    #expect((55...65).contains(town.cameras.count))
    #expect(town.gateways.count >= 2)
    #expect(town.cameras.contains { $0.road == "A127 London Road" })
    var rng2 = SeededRNG(seed: 1)
    let county = Town(scale: 20, rng: &rng2)
    #expect(county.cameras.count >= 1100)
    // Every node reaches every other (paths are complete).
    let p = town.path(from: town.londonGateway, to: town.seafront[0])
    #expect(p.first == town.londonGateway && p.last == town.seafront[0])
  }

  @Test func ratesMatchTheConfiguration() throws {
    let s = shared.summary, t = shared.truth
    // Detection: the fraction of passes detected is the mean detection probability, within 4 SE.
    let meanP = t.cameraDetection.values.reduce(0, +) / Double(t.cameraDetection.count)
    let frac = Double(s.detectedPasses) / Double(s.truePasses)
    let se = (meanP * (1 - meanP) / Double(s.truePasses)).squareRoot()
    #expect(abs(frac - meanP) < 4 * se + 0.01, "detected \(frac), configured mean \(meanP)")
    // Double reads ≈ 2% of detected passes (binomial, 4 SE).
    let dr = Double(s.doubleReads) / Double(s.detectedPasses)
    #expect(abs(dr - 0.02) < 4 * (0.02 * 0.98 / Double(s.detectedPasses)).squareRoot())
    // Malformed rows ≈ 0.2% of rows.
    let mr = Double(s.malformedRows) / Double(s.readRows - s.malformedRows)
    #expect(abs(mr - 0.002) < 4 * (0.002 / Double(s.readRows)).squareRoot() + 0.0005)
    // Row accounting: every row is a detection, a double read or a fault.
    #expect(s.readRows == s.detectedPasses + s.doubleReads + s.malformedRows)
    // Weekday morning peak: 07–09 local hours carry more reads than 02–04.
    let reads = try csvRows(shared.dir + "/reads.csv")
    var byHour = [Int](repeating: 0, count: 24)
    for r in reads where r.count == 5 { if let h = Int(r[3].dropFirst(11).prefix(2)), h < 24 { byHour[h] += 1 } }
    #expect(byHour[7] + byHour[8] > 20 * (byHour[2] + byHour[3] + 1))
    // Actors rotate cars every 3–9 days, and their plates are rentals.
    let vehicles = try csvRows(shared.dir + "/vehicles.csv")
    let keeper = Dictionary(uniqueKeysWithValues: vehicles.map { ($0[0], $0[1]) })
    for h in t.hires {
      #expect(keeper[h.plate] == "rental")
      if h.holder.hasPrefix("actor-") && h.fromDay > 0 { #expect((1...9).contains(h.toDay - h.fromDay)) }
    }
    #expect(t.actors.count == 3)
  }

  /// A hirer with two cars out at once (the next collected before the last goes back) drives one of
  /// them at a time: no two trips of one actor group in two cars overlap in time. (Before, both cars
  /// were driven on the overlap day, each on the group's habit, so one "driver" was on the road twice.)
  @Test func anActorWithTwoCarsOutDrivesOneAtATime() throws {
    var c = smallConfig(seed: 23)
    c.days = 21; c.oracleReplicates = 0; c.nextSiteReplicates = 0
    c.fleet = .shared; c.twoCarsAtOnce = 1
    let dir = tmpDir()
    let truth = try JSONDecoder().decode(SimulationTruth.self, from: Data(contentsOf: URL(fileURLWithPath: try { _ = try Simulator(config: c).run(to: dir); return dir + "/truth.json" }())))
    // Hires of one actor do overlap by a day (the setting is 1)...
    let actorHires = Dictionary(grouping: truth.hires.filter { $0.holder.hasPrefix("actor-") }, by: \.holder)
    #expect(actorHires.values.contains { hs in hs.contains { a in hs.contains { b in a.plate != b.plate && a.fromDay < b.toDay && b.fromDay < a.toDay } } })
    // ...but the trips do not.
    var trips: [String: (holder: String, plate: String, start: String, end: String)] = [:]
    for p in try csvRows(dir + "/truth-passes.csv") where p[2].hasPrefix("actor-") {
      if let t = trips[p[0]] { trips[p[0]] = (t.holder, t.plate, min(t.start, p[5]), max(t.end, p[5])) } else { trips[p[0]] = (p[2], p[1], p[5], p[5]) }
    }
    let byHolder = Dictionary(grouping: trips.values, by: \.holder)
    #expect(!byHolder.isEmpty)
    for (holder, ts) in byHolder {
      for a in ts { for b in ts where a.plate < b.plate {
        #expect(!(a.start <= b.end && b.start <= a.end), "\(holder) drove \(a.plate) and \(b.plate) at once: \(a.start)…\(a.end) and \(b.start)…\(b.end)")
      } }
    }
  }

  /// With a branch, every hire begins with the drive out of it, so (nearly) every hirer's first read of a
  /// car is at the branch's nearest camera site, and most last reads (a car out at once with the next is
  /// returned unseen); without one, hires begin and end wherever the hirer comes in and leaves.
  @Test func aBranchStartsEveryHire() throws {
    func firstSiteShare(depot: Bool) throws -> (first: Double, last: Double) {
      var c = smallConfig(seed: 29)
      c.days = 14; c.oracleReplicates = 0; c.nextSiteReplicates = 0
      c.fleet = .shared; c.depot = depot
      let dir = tmpDir()
      _ = try Simulator(config: c).run(to: dir)
      var first: [String: (time: String, site: String)] = [:], last = first
      for p in try csvRows(dir + "/truth-passes.csv") where ["actor", "renter", "business", "family"].contains(p[2].split(separator: "-").first ?? "") {
        let k = p[1] + "|" + p[2]
        if first[k].map({ p[5] < $0.time }) ?? true { first[k] = (p[5], p[4]) }
        if last[k].map({ p[5] > $0.time }) ?? true { last[k] = (p[5], p[4]) }
      }
      func topShare(_ d: [String: (time: String, site: String)]) -> Double {
        Double(Dictionary(grouping: d.values, by: \.site).values.map(\.count).max() ?? 0) / Double(max(1, d.count))
      }
      return (topShare(first), topShare(last))
    }
    let with = try firstSiteShare(depot: true), without = try firstSiteShare(depot: false)
    #expect(with.first >= 0.9 && with.last >= 0.7, "\(with)")
    #expect(without.first <= 0.7 && without.last <= 0.7, "\(without)")
  }

  @Test func truthIsConsistentWithTheReads() throws {
    let reads = try csvRows(shared.dir + "/reads.csv").filter { $0.count == 5 }
    var seen = Set<String>()
    for r in reads { seen.insert("\(r[1])|\(r[2])|\(r[3])") }
    let skew = shared.truth.clockSkewSeconds
    let misread = Set(shared.truth.misreads.map(\.truePlate))
    var missing = 0, detected = 0
    for p in try csvRows(shared.dir + "/truth-passes.csv") where p[6] == "1" {
      detected += 1
      let t = Int64(try Timestamp.parse(p[5]).get()) + (skew[p[3]] ?? 0)
      if !seen.contains("\(p[1])|\(p[3])|\(Timestamp.iso8601(t))") && !misread.contains(p[1]) { missing += 1 }
    }
    #expect(detected == shared.summary.detectedPasses)
    #expect(missing == 0, "\(missing) detected passes have no read row")
  }

  @Test func everyInjectedFaultIsRejectedWithTheRightReason() throws {
    let dir = shared.dir
    var o = IngestOptions(readsPath: dir + "/reads.csv", camerasPath: dir + "/cameras.csv")
    o.vehiclesPath = dir + "/vehicles.csv"
    o.pseudonymiser = try Pseudonymiser(keyBytes: Array("simulation test key 0123456789ab".utf8))
    o.rejectsPath = dir + "/rejects.csv"
    let (_, report) = try Ingest.run(o)
    #expect(report.balances)
    #expect(report.rejected == shared.truth.faults.count)
    let rejects = try String(contentsOfFile: dir + "/rejects.csv", encoding: .utf8).split(separator: "\n").dropFirst()
    var byLine: [Int: String] = [:]
    for r in rejects { let f = r.components(separatedBy: ","); byLine[Int(f[1])!] = String(r) }
    var expectedCounts: [String: Int] = [:]
    for f in shared.truth.faults {
      #expect(byLine[f.line] != nil, "fault at line \(f.line) (\(f.kind)) was not rejected")
      expectedCounts[f.expectedReason, default: 0] += 1
    }
    #expect(report.rejectedByReason == expectedCounts)
    #expect(report.misreadMerges > 0 || shared.summary.misreads < 20)
  }

  @Test func oracleFilesAreWellFormed() throws {
    let counts = try csvRows(shared.dir + "/truth-expected-counts.csv")
    let sites = Set(counts.map { $0[0] })
    #expect(counts.count == sites.count * (7 + 7) * 24)
    #expect(counts.allSatisfy { Double($0[2])! >= Double($0[3])! && Double($0[3])! >= 0 })
    #expect(counts.contains { Double($0[3])! > 0 })
    // Next-site probabilities sum to one per context.
    var sums: [String: Double] = [:]
    for r in try csvRows(shared.dir + "/truth-next-site.csv") { sums["\(r[0])|\(r[1])|\(r[2])", default: 0] += Double(r[4])! }
    #expect(!sums.isEmpty && sums.values.allSatisfy { abs($0 - 1) < 1e-5 })
  }
}

/// A write that fails (here a full device) is an error at close, for plain and gzip output, never a
/// crash or a file reported written; output that succeeds is renamed into place whole.
@Suite("Simulator output files")
struct SimulatorOutputTests {
  @Test func failedWritesAreErrorsNotCrashes() throws {
    let d = tmpDir()
    // x.csv.gz is a link to the full device: both outputs are written through to it.
    try FileManager.default.createSymbolicLink(atPath: d + "/x.csv.gz", withDestinationPath: "/dev/full")
    for w in [try TextFileWriter("/dev/full"), try TextFileWriter(d + "/x.csv", gzip: true)] {
      for i in 0..<300_000 { w.text("row"); w.int(i * 7919 % 100_003); w.end() }
      #expect(throws: (any Error).self, "\(w.path)") { try w.close() }
    }
    try FileManager.default.removeItem(atPath: d + "/x.csv.gz")
    let w = try TextFileWriter(d + "/out.csv", gzip: true)
    for i in 0..<10_000 { w.int(i); w.end() }
    #expect(!FileManager.default.fileExists(atPath: d + "/out.csv.gz"), "nothing at the target before close")
    try w.close()
    let z = Process()
    z.executableURL = URL(fileURLWithPath: "/bin/gzip")
    z.arguments = ["-t", d + "/out.csv.gz"]
    try z.run(); z.waitUntilExit()
    #expect(z.terminationStatus == 0)
    #expect(try FileManager.default.contentsOfDirectory(atPath: d) == ["out.csv.gz"])
  }
}

@Suite struct TruthReaderTests {
  @Test func theSampleTruthReadsAndAMissingOneNamesTheFile() throws {
    let t = try SimulationTruth.read(directory: "Data/sample")
    #expect(!t.hires.isEmpty && t.hires.contains { $0.holder.hasPrefix("actor-") })
    #expect(performing: { _ = try SimulationTruth.read(directory: "/no/such/dir") }, throws: { "\($0)".contains("/no/such/dir/truth.json") })
  }
}

