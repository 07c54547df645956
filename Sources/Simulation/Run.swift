import CZlib
import Foundation
import Modelling
import Reads

/// Buffered text output through `OutputFile` (a temporary file, renamed into place on `close()`;
/// removed on an error or a signal); optionally gzip-compressed (level 1, for county-scale runs, the
/// file name then gains `.gz`). Hot lines are built field by field as bytes (`int`, `text`,
/// `iso8601`, `fixed2`, `end`), not through `String`. A failed write (a full disk) is kept and thrown
/// by `close()`, so nothing half-written is ever renamed into place.
final class TextFileWriter {
  let path: String
  private let file: OutputFile
  private var deflater = z_stream()
  private let gzip: Bool
  private var buffer: [UInt8] = []
  private var compressed: [UInt8] = []
  private var failure: IngestError?
  private(set) var lines = 0

  init(_ path: String, gzip: Bool = false) throws {
    self.path = gzip ? path + ".gz" : path
    self.gzip = gzip
    file = try OutputFile(path: self.path)
    if gzip {
      // 15 + 16: a gzip wrapper; level 1.
      guard deflateInit2_(&deflater, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw Simulator.SimulationError.cannotWrite(self.path)
      }
      compressed = [UInt8](repeating: 0, count: 1 << 18)
    }
    buffer.reserveCapacity(1 << 20 + 4096)
  }

  deinit { if gzip { deflateEnd(&deflater) } }

  func line(_ s: String) {
    buffer.append(contentsOf: s.utf8)
    end()
  }

  /// Appends text (a field, or literal punctuation).
  @inline(__always) func text(_ s: String) { buffer.append(contentsOf: s.utf8) }
  @inline(__always) func byte(_ b: UInt8) { buffer.append(b) }
  /// Appends a non-negative or negative integer in decimal.
  func int(_ v: Int) {
    if v < 0 { buffer.append(UInt8(ascii: "-")); int(-v); return }
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
      (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var n = 0, x = v
    withUnsafeMutableBytes(of: &digits) { d in
      repeat { d[n] = UInt8(48 + x % 10); x /= 10; n += 1 } while x > 0
      for k in stride(from: n - 1, through: 0, by: -1) { buffer.append(d[k]) }
    }
  }
  /// Appends `x` with two decimals (rounded half away from zero), e.g. `0.93`.
  func fixed2(_ x: Double) {
    let c = Int((abs(x) * 100).rounded())
    if x < 0 && c > 0 { buffer.append(UInt8(ascii: "-")) }
    int(c / 100); buffer.append(UInt8(ascii: ".")); buffer.append(UInt8(48 + c / 10 % 10)); buffer.append(UInt8(48 + c % 10))
  }
  /// Appends `YYYY-MM-DDTHH:MM:SSZ` for epoch seconds (as `Timestamp.iso8601`).
  func iso8601(_ t: Int64) {
    let days = Int(t >= 0 ? t / 86400 : (t - 86399) / 86400)
    let rem = Int(t - Int64(days) * 86400)
    let (y, m, d) = Timestamp.civilFromDays(days)
    @inline(__always) func two(_ v: Int) { buffer.append(UInt8(48 + v / 10)); buffer.append(UInt8(48 + v % 10)) }
    int(y); buffer.append(UInt8(ascii: "-")); two(m); buffer.append(UInt8(ascii: "-")); two(d); buffer.append(UInt8(ascii: "T"))
    two(rem / 3600); buffer.append(UInt8(ascii: ":")); two(rem / 60 % 60); buffer.append(UInt8(ascii: ":")); two(rem % 60)
    buffer.append(UInt8(ascii: "Z"))
  }
  /// Ends the current line.
  func end() {
    buffer.append(0x0A)
    lines += 1
    if buffer.count >= 1 << 20 { flush() }
  }

  private func flush(finish: Bool = false) {
    defer { buffer.removeAll(keepingCapacity: true) }
    guard failure == nil else { return }
    do {
      if !gzip { try file.write(buffer); return }
      try buffer.withUnsafeMutableBufferPointer { input throws(IngestError) in
        deflater.next_in = input.baseAddress
        deflater.avail_in = uInt(input.count)
        var status = Z_OK
        repeat {
          let produced: Int = compressed.withUnsafeMutableBufferPointer { out in
            deflater.next_out = out.baseAddress
            deflater.avail_out = uInt(out.count)
            status = deflate(&deflater, finish ? Z_FINISH : Z_NO_FLUSH)
            return out.count - Int(deflater.avail_out)
          }
          if status == Z_STREAM_ERROR { throw IngestError.cannotWrite(file: path, reason: "gzip compression failed") }
          if produced > 0 { try file.write(Array(compressed[0..<produced])) }
        } while deflater.avail_out == 0 || (finish && status != Z_STREAM_END)
      }
    } catch { failure = error }
  }

  func close() throws {
    flush(finish: true)
    if let failure { file.discard(); throw failure }
    try file.commit()
  }
}

/// What a simulation run wrote, for the caller to print.
public struct SimulationSummary: Sendable, Codable {
  public var days: Int
  public var cameras: Int
  public var sites: Int
  public var vehicles: Int
  public var readRows: Int
  public var truePasses: Int
  public var detectedPasses: Int
  public var misreads: Int
  public var doubleReads: Int
  public var malformedRows: Int
  public var actorGroups: Int
  public var hires: Int
  public var files: [String]
}

/// A malformed row the simulator wrote on purpose, and the rejection ingest must give it.
public struct InjectedFault: Sendable, Codable, Hashable {
  public var line: Int
  public var kind: String
  /// The `RejectReason.code` ingest must report.
  public var expectedReason: String
}

/// The ground truth a simulation writes to `truth.json` (the bulk tables go to CSV beside it).
public struct SimulationTruth: Sendable, Codable {
  public var format = "anprkit-sim-truth"
  public var formatVersion = 1
  public var toolkitVersion = ToolkitInfo.version
  public var config: SimulationConfig
  public var startUTC: Int64
  public var summary: SimulationSummary
  /// Every rental hire: which plate, which holder (actor-N or renter-N), which days.
  public var hires: [Hire]
  /// Plates of each actor group (from `hires`).
  public var actors: [String: [String]]
  public var actorHabits: [String: ActorHabit]
  public var cameraDetection: [String: Double]
  public var clockSkewSeconds: [String: Int64]
  public var faults: [InjectedFault]
  public var misreads: [Misread]

  public struct ActorHabit: Sendable, Codable {
    public var weekdays: [Int]  // 0 = Monday
    public var entryHour: Double
    public var placeSites: [String]  // nearest camera site of each preferred place, or "-"
    public var placeWeights: [Double]
    /// P(a visit) on a habit weekday and on another day, and the spread (hours) of the entry time: the
    /// generative process, for the next-appearance oracle (absent in truth files before 2026-12).
    public var visitProbabilityHabitDay: Double?
    public var visitProbabilityOtherDay: Double?
    public var entryHourSD: Double?
  }
  public struct Misread: Sendable, Codable, Hashable {
    public var line: Int
    public var truePlate: String
    public var readPlate: String
  }
}

extension Simulator {
  /// Simulates and writes reads.csv, cameras.csv, vehicles.csv and the truth files into `directory`.
  /// - Parameter progress: called after each day with (day, days).
  /// - Parameter gzip: write reads.csv and truth-passes.csv gzip-compressed (`.csv.gz`), for runs too
  ///   large to keep as text (ingest reads them directly).
  public func run(to directory: String, gzip: Bool = false, progress: ((Int, Int) -> Void)? = nil) throws -> SimulationSummary {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    func p(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
    let cfg = config
    // Registry.
    let cams = try TextFileWriter(p("cameras.csv"))
    var registry = CSVTable(header: ["camera_id", "site_id", "latitude", "longitude", "bearing", "road", "description"])
    for c in town.cameras {
      registry.append([c.id, c.site, String(c.latitude), String(c.longitude), c.bearing.map { String(Int($0)) } ?? "", c.road ?? "", c.description ?? ""])
    }
    cams.line(String(registry.encoded().dropLast()))
    try cams.close()

    let reads = try TextFileWriter(p("reads.csv"), gzip: gzip)
    reads.line("read_id,plate,camera_id,timestamp,confidence")
    let passes = try TextFileWriter(p("truth-passes.csv"), gzip: gzip)
    passes.line("trip_id,plate,holder,camera_id,site_id,true_time,detected")
    var readID = 0
    var faults: [InjectedFault] = []
    var misreads: [SimulationTruth.Misread] = []
    var truePasses = 0, detected = 0, doubles = 0
    var oneOffPlates: [String: KeeperType] = [:]
    var tripID = 0
    struct Row { var time: Int64; var camera: Int; var plate: String; var conf: Double; var truePlate: String }
    var pending: [Row] = []
    let letters = Array("ABCDEFGHJKLMNPRSTUVWXY")
    var faultRNG = SeededRNG(seed: cfg.seed, 7)

    func flush(before cutoff: Int64?) {
      pending.sort { ($0.time, $0.camera, $0.plate) < ($1.time, $1.camera, $1.plate) }
      let n = cutoff.map { c in pending.firstIndex { $0.time >= c } ?? pending.count } ?? pending.count
      for r in pending[0..<n] {
        readID += 1
        if r.plate != r.truePlate { misreads.append(.init(line: reads.lines + 1, truePlate: r.truePlate, readPlate: r.plate)) }
        reads.int(readID); reads.byte(0x2C); reads.text(r.plate); reads.byte(0x2C); reads.text(town.cameras[r.camera].id)
        reads.byte(0x2C); reads.iso8601(r.time); reads.byte(0x2C); reads.fixed2(r.conf); reads.end()
        if faultRNG.bernoulli(cfg.malformedRate) {
          readID += 1
          let line = reads.lines + 1
          let cam = town.cameras[r.camera].id, ts = Timestamp.iso8601(r.time)
          switch faultRNG.int(0...4) {
          case 0: reads.line("\(readID),,\(cam),\(ts),0.50"); faults.append(.init(line: line, kind: "empty plate", expectedReason: "empty_plate"))
          case 1: reads.line("\(readID),\(r.plate),CAM9999,\(ts),0.50"); faults.append(.init(line: line, kind: "unknown camera", expectedReason: "unknown_camera"))
          case 2: reads.line("\(readID),\(r.plate),\(cam),2026-13-45T99:00:00Z,0.50"); faults.append(.init(line: line, kind: "bad timestamp", expectedReason: "bad_timestamp"))
          case 3: reads.line("\(readID),\(r.plate),\(cam)"); faults.append(.init(line: line, kind: "truncated row", expectedReason: "wrong_column_count"))
          default: reads.line("\(readID),\(r.plate),\(cam),\(ts.dropLast()),0.50"); faults.append(.init(line: line, kind: "time without zone", expectedReason: "timestamp_without_zone"))
          }
        }
      }
      pending.removeFirst(n)
    }

    func sense(_ trips: [PlannedTrip], plate: String, holder: String, rng: inout SeededRNG, sensor: inout SeededRNG) {
      for trip in trips {
        tripID += 1
        for (c, t) in drive(trip, rng: &rng) {
          let tu = utc(t)
          let hit = sensor.bernoulli(detection[c])
          truePasses += 1
          passes.int(tripID); passes.byte(0x2C); passes.text(plate); passes.byte(0x2C); passes.text(holder); passes.byte(0x2C)
          passes.text(town.cameras[c].id); passes.byte(0x2C); passes.text(town.cameras[c].site); passes.byte(0x2C)
          passes.iso8601(tu); passes.byte(0x2C); passes.byte(hit ? 0x31 : 0x30); passes.end()
          guard hit else { continue }
          detected += 1
          let observed = tu + (skew[c] ?? 0)
          // OCR: each read (including a double read) can misread one confusable character.
          func ocr() -> (String, Double) {
            guard sensor.bernoulli(cfg.misreadRate) else { return (plate, 0.80 + 0.19 * sensor.uniform()) }
            var b = Array(plate.utf8)
            let positions = b.indices.filter { i in Plate.confusablePairs.contains { $0.0 == b[i] || $0.1 == b[i] } }
            guard !positions.isEmpty else { return (plate, 0.80 + 0.19 * sensor.uniform()) }
            let i = positions[sensor.int(0...(positions.count - 1))]
            let pair = Plate.confusablePairs.first { $0.0 == b[i] || $0.1 == b[i] }!
            b[i] = b[i] == pair.0 ? pair.1 : pair.0
            return (String(decoding: b, as: UTF8.self), 0.5 + 0.3 * sensor.uniform())
          }
          let (shown, conf) = ocr()
          pending.append(Row(time: observed, camera: c, plate: shown, conf: conf, truePlate: plate))
          if sensor.bernoulli(cfg.doubleReadRate) {
            doubles += 1
            let site = town.camerasAtNode[town.cameraNode[c]]
            let other = site.count > 1 && sensor.bernoulli(0.5) ? site.first { $0 != c }! : c
            let (shown2, conf2) = ocr()
            pending.append(Row(time: observed + Int64(sensor.int(1...4)) + (skew[other] ?? 0) - (skew[c] ?? 0), camera: other,
                               plate: shown2, conf: conf2, truePlate: plate))
          }
        }
      }
    }

    for day in 0..<cfg.days {
      var sensor = SeededRNG(seed: cfg.seed, 5, UInt64(day))
      for (i, a) in agents.enumerated() where [.resident, .visitor, .van, .taxi].contains(a.kind) {
        var rng = SeededRNG(seed: cfg.seed, 2, UInt64(i), UInt64(day))
        sense(plan(a, day: day, rng: &rng), plate: plates[i], holder: a.kind.rawValue, rng: &rng, sensor: &sensor)
      }
      var oneRNG = SeededRNG(seed: cfg.seed, 3, UInt64(day))
      let weekend = (startWeekday + day) % 7 >= 5
      for _ in 0..<oneRNG.poisson(cfg.oneOffVisitorsPerDay * cfg.scale * (weekend ? 1.8 : 1)) {
        var plate: String
        repeat {  // prior-format (older car) plates: A123BCD, never clashing with current-format ones
          plate = String(letters[oneRNG.int(0...(letters.count - 1))]) + String(oneRNG.int(1...999))
            + String((0..<3).map { _ in letters[oneRNG.int(0...(letters.count - 1))] })
        } while oneOffPlates[plate] != nil
        oneOffPlates[plate] = .private
        let a = Agent(kind: .oneOff, id: -1, home: 0, work: 0, gateway: randomGateway(&oneRNG))
        sense(plan(a, day: day, rng: &oneRNG), plate: plate, holder: "one-off", rng: &oneRNG, sensor: &sensor)
      }
      for h in drivenHires(on: day) {
        let hire = hires[h]
        var rng = SeededRNG(seed: cfg.seed, 4, UInt64(h), UInt64(day))
        sense(hirePlan(h, day: day, rng: &rng), plate: hire.plate, holder: hire.holder, rng: &rng, sensor: &sensor)
      }
      flush(before: utc(Double(day + 1) * 86400) - 120)  // a little slack for skewed and late reads
      progress?(day + 1, cfg.days)
    }
    flush(before: nil)
    try reads.close()
    try passes.close()

    // Vehicles registry: every real plate (misread spellings are not vehicles).
    let veh = try TextFileWriter(p("vehicles.csv"))
    veh.line("plate,keeper_type,make,colour")
    var allPlates = keeper
    for (k, v) in oneOffPlates { allPlates[k] = v }
    for plate in allPlates.keys.sorted() {
      let mc = makeColour[plate] ?? ("Unknown", "unknown")
      veh.line("\(plate),\(allPlates[plate]!.rawValue),\(mc.0),\(mc.1)")
    }
    try veh.close()

    var files = [reads.path, "cameras.csv", "vehicles.csv", "truth.json", passes.path].map { ($0 as NSString).lastPathComponent }
    if cfg.oracleReplicates > 0 {
      try writeExpectedCounts(to: p("truth-expected-counts.csv"))
      try writeNextSite(to: p("truth-next-site.csv"))
      files += ["truth-expected-counts.csv", "truth-next-site.csv"]
    }
    let summary = SimulationSummary(
      days: cfg.days, cameras: town.cameras.count, sites: Set(town.cameras.map(\.site)).count, vehicles: veh.lines - 1,
      readRows: reads.lines - 1, truePasses: truePasses, detectedPasses: detected, misreads: misreads.count,
      doubleReads: doubles, malformedRows: faults.count, actorGroups: agents.filter { $0.kind == .actor }.count,
      hires: hires.count, files: files)
    var actors: [String: [String]] = [:]
    for h in hires where h.holder.hasPrefix("actor-") { actors[h.holder, default: []].append(h.plate) }
    var habits: [String: SimulationTruth.ActorHabit] = [:]
    for (g, a) in agents.filter({ $0.kind == .actor }).enumerated() {
      habits["actor-\(g + 1)"] = .init(
        weekdays: a.habitDays.sorted(), entryHour: a.entryHour,
        placeSites: a.places.map { n in town.camerasAtNode[n].first.map { town.cameras[$0].site } ?? "-" },
        placeWeights: a.placeWeights, visitProbabilityHabitDay: ActorBehaviour.habitDayVisitProbability,
        visitProbabilityOtherDay: ActorBehaviour.otherDayVisitProbability, entryHourSD: ActorBehaviour.entryHourSD)
    }
    let truth = SimulationTruth(
      config: cfg, startUTC: startUTC, summary: summary, hires: hires, actors: actors, actorHabits: habits,
      cameraDetection: Dictionary(uniqueKeysWithValues: town.cameras.enumerated().map { ($1.id, detection[$0]) }),
      clockSkewSeconds: Dictionary(uniqueKeysWithValues: skew.map { (town.cameras[$0.key].id, $0.value) }),
      faults: faults, misreads: misreads)
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .prettyPrinted]
    let truthFile = try OutputFile(path: p("truth.json"))
    try truthFile.write(try enc.encode(truth))
    try truthFile.commit()
    return summary
  }

  /// The oracle hotspot forecast: expected detected reads of rental vehicles (and of actor groups
  /// alone) per camera site per hour over the simulated and forecast days. For each hire active on a
  /// day it averages `oracleReplicates` independent draws of that holder's day, weighting each camera
  /// pass by the camera's detection probability: the best forecast anyone could make without
  /// seeing the future draws (Monte Carlo error shrinks as 1/√replicates).
  func writeExpectedCounts(to path: String) throws {
    let horizon = config.days + config.forecastDays
    let sites = Array(Set(town.cameras.map(\.site))).sorted()
    let siteIndex = Dictionary(uniqueKeysWithValues: sites.enumerated().map { ($1, $0) })
    let camSite = town.cameras.map { siteIndex[$0.site]! }
    let hoursN = horizon * 24
    var rental = [Double](repeating: 0, count: sites.count * hoursN)
    var actor = [Double](repeating: 0, count: sites.count * hoursN)
    let R = config.oracleReplicates
    for day in 0..<horizon {
      for h in drivenHires(on: day) {
        let hire = hires[h]
        let isActor = hire.holder.hasPrefix("actor-")
        for rep in 0..<R {
          var rng = SeededRNG(seed: config.seed, 6, UInt64(h), UInt64(day), UInt64(rep))
          for trip in hirePlan(h, day: day, rng: &rng) {
            for (c, t) in drive(trip, rng: &rng) {
              let hour = Int(t / 3600)
              guard hour >= 0 && hour < hoursN else { continue }
              let w = detection[c] / Double(R)
              rental[camSite[c] * hoursN + hour] += w
              if isActor { actor[camSite[c] * hoursN + hour] += w }
            }
          }
        }
      }
    }
    let out = try TextFileWriter(path)
    out.line("site_id,hour_start,expected_rental_reads,expected_actor_reads,in_simulated_period")
    for s in sites.indices {
      for h in 0..<hoursN {
        let r = rental[s * hoursN + h], a = actor[s * hoursN + h]
        out.line("\(sites[s]),\(Timestamp.iso8601(utc(Double(h) * 3600))),\(String(format: "%.6f", r)),\(String(format: "%.6f", a)),\(h < config.days * 24 ? 1 : 0)")
      }
    }
    try out.close()
  }

  /// The next-site oracle for actor trips: P(next site | group, previous site, current site),
  /// estimated from `nextSiteReplicates` simulated visits per group with detection applied
  /// ("END" = the trip's last read).
  func writeNextSite(to path: String) throws {
    let out = try TextFileWriter(path)
    out.line("actor,prev_site,site,next_site,probability,count")
    for (g, a) in agents.filter({ $0.kind == .actor }).enumerated() {
      var counts: [String: [String: Int]] = [:]
      let habitual = (0..<7).filter { a.habitDays.contains((startWeekday + $0) % 7) }
      for rep in 0..<config.nextSiteReplicates {
        var rng = SeededRNG(seed: config.seed, 8, UInt64(g), UInt64(rep))
        let day = habitual.isEmpty ? 0 : habitual[rep % habitual.count]
        for trip in plan(a, day: day, rng: &rng) {
          var sites: [String] = []
          for (c, _) in drive(trip, rng: &rng) where rng.bernoulli(detection[c]) {
            let s = town.cameras[c].site
            if sites.last != s { sites.append(s) }
          }
          guard !sites.isEmpty else { continue }
          for k in sites.indices {
            let ctx = (k > 0 ? sites[k - 1] : "-") + "|" + sites[k]
            counts[ctx, default: [:]][k + 1 < sites.count ? sites[k + 1] : "END", default: 0] += 1
          }
        }
      }
      for ctx in counts.keys.sorted() {
        let row = counts[ctx]!
        let total = Double(row.values.reduce(0, +))
        let parts = ctx.split(separator: "|").map(String.init)
        for next in row.keys.sorted() {
          out.line("actor-\(g + 1),\(parts[0]),\(parts[1]),\(next),\(String(format: "%.6f", Double(row[next]!) / total)),\(row[next]!)")
        }
      }
    }
    try out.close()
  }
}

extension SimulationTruth {
  /// What evaluations read from `truth.json`: when the simulation starts, every hire, and each actor
  /// group's habit. The one reader of the file outside the simulator (tolerant of files written before
  /// a field was added: the habits are optional).
  public struct Essentials: Sendable, Decodable {
    public var startUTC: Int64
    public var hires: [Hire]
    public var actorHabits: [String: ActorHabit]?
  }

  /// Reads `truth.json` in `directory`.
  /// - Throws: an error naming the file when it cannot be read or is not a simulator's truth.
  public static func read(directory: String) throws -> Essentials {
    let path = (directory as NSString).appendingPathComponent("truth.json")
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw IngestError.cannotOpen(file: path, reason: error.localizedDescription) }
    do { return try JSONDecoder().decode(Essentials.self, from: data) } catch {
        throw IngestError.corruptInput(file: path, reason: "not a simulator truth file (\(error))")
    }
  }
}
