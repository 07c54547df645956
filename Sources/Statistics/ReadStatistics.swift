import Foundation
import Hotspots
import Reads
import Routes

/// The statistics every model learns from, as one mergeable value: the map step of a map-and-merge
/// (`anpr stats` on a shard, `anpr merge` over shards, or the same map step inside a Spark job).
///
/// What it holds is a pure function of the reads, and every part adds up exactly:
/// - reads per camera site and 15-minute bin, for all reads and per keeper type (integers: any
///   hotspot bin of 15 minutes or more, and calendar months, are sums of them);
/// - transitions within trips (contexts of up to three sites, with and without the local time band,
///   to the next site or the end of the trip) with travel-time sums (integers in units of 2⁻²⁰ of a
///   log-second, so float sums do not depend on the order they were added in);
/// - the vehicle registry by pseudonym: keeper type, reads, first and last read, and, until the
///   statistics are complete, each stretch of the vehicle's reads not yet joined to its neighbours
///   ("pieces", with their first and last trip as reads): a trip cut by a shard's edge is put back
///   together when the shards are merged;
/// - the ingest accounting (read = accepted + rejected + duplicates).
///
/// Trips are a vehicle's reads with no gap over `tripGap`; a vehicle's first and last trip in a shard
/// may continue in another shard, so only the trips between them are counted until the shards meet
/// (or the statistics are declared complete: every vehicle's reads all seen). Shards may split the
/// reads by time (days) or by vehicle (cluster partitions), not both ways inside one vehicle: two
/// shards whose reads of one vehicle overlap in time are refused at merge.
public struct ReadStatistics: Sendable, Equatable {
  public static let format = "anprkit-statistics"
  public static let formatVersion = 1
  /// Width of the count bins, seconds.
  public static let binSeconds: Int64 = 900
  /// Longest transition context kept (what the route model's order may be at most).
  public static let order = 3

  public struct Site: Codable, Sendable, Equatable {
    public var id: String
    public var latitude: Double
    public var longitude: Double
  }

  /// What must agree between shards that merge.
  public struct Header: Codable, Sendable, Equatable {
    public var format = ReadStatistics.format
    public var formatVersion = ReadStatistics.formatVersion
    /// The zone of the local time bands of transitions.
    public var timeZone: String
    /// Fingerprint of the pseudonymisation key, or nil for raw plates.
    public var keyFingerprint: String?
    public var tripGap: Int64
    /// Ingest's de-duplication window (seconds, at the site): a repeat split by a shard edge is found at merge.
    public var dedupeWindow: Int64?
    public var binSeconds = ReadStatistics.binSeconds
    public var order = ReadStatistics.order
    /// Camera sites in the registry's order (counts and transitions refer to them by index).
    public var sites: [Site]
    /// Every vehicle's reads are all here: no pieces left to join, and no later shard may hold the same vehicle.
    public var complete = false
  }

  /// A count cell: target (an index into `targetNames`: `all`, `keeper=rental`, ...), 15-minute bin
  /// since the epoch, site.
  public struct CountKey: Hashable, Sendable, Comparable {
    public var target: Int, bin: Int64, site: Int
    public static func < (a: Self, b: Self) -> Bool { (a.target, a.bin, a.site) < (b.target, b.bin, b.site) }
  }
  /// The count targets, in file order: every read, and the reads of each keeper type.
  public static let targetNames = (["all"] + KeeperType.allCases.map { "keeper=\($0.rawValue)" }).sorted()
  public struct NextKey: Hashable, Sendable, Comparable {
    public var context: UInt64, next: Int
    public static func < (a: Self, b: Self) -> Bool { (a.context, a.next) < (b.context, b.next) }
  }
  /// Moves, Σ log s and Σ (log s)², the sums in units of 2⁻²⁰.
  public struct TravelSums: Sendable, Equatable {
    public var moves: Int64, sumLog: Int64, sumLogSquared: Int64
    static func + (a: Self, b: Self) -> Self {
      TravelSums(moves: a.moves + b.moves, sumLog: a.sumLog + b.sumLog, sumLogSquared: a.sumLogSquared + b.sumLogSquared)
    }
  }
  /// One trip's reads as they were stored (sites and times), before repeats at one site collapse.
  public struct Fragment: Sendable, Equatable {
    public var sites: [Int], times: [Int64]
    var first: Int64 { times.first ?? 0 }
    var last: Int64 { times.last ?? 0 }
  }
  /// A stretch of one vehicle's reads seen whole (a shard's, or several adjacent shards' joined):
  /// its first and last read, and its first and last trip (one when they are the same), which may
  /// continue beyond it; the trips between them are counted.
  public struct Piece: Sendable, Equatable {
    public var first: Int64, last: Int64
    public var trips: [Fragment]
  }
  public struct Vehicle: Sendable, Equatable {
    public var keeper: KeeperType
    public var nonstandardPlate: Bool
    public var reads: Int64
    public var first: Int64, last: Int64
    /// How many shards held this vehicle (a vehicle in two shards of complete statistics is an error).
    public var shards: Int64 = 1
    /// The stretches of reads not yet joined to their neighbours, in time order (none once complete).
    public var pieces: [Piece] = []
  }

  public var header: Header
  /// The time the shards cover, as disjoint closed intervals (first and last second) in order: a vehicle's stretches of
  /// reads join when the time between them is covered (no shard still to come can hold reads there).
  /// Complete statistics have none.
  public var coverage: [ClosedRange<Int64>] = []
  /// Ingest accounting: read, accepted, rejected, duplicates.
  public var accounting: [String: Int64] = [:]
  public var counts: [CountKey: Int64] = [:]
  public var next: [NextKey: Int64] = [:]
  public var travel: [UInt64: TravelSums] = [:]
  /// First site of each trip → trips.
  public var entries: [Int: Int64] = [:]
  public var vehicles: [String: Vehicle] = [:]

  public init(header: Header) { self.header = header }

  /// The count targets a shard records: every read, and the reads of each keeper type.
  public static func targetName(_ keeper: KeeperType?) -> String { keeper.map { "keeper=\($0.rawValue)" } ?? "all" }
  public static func targetIndex(_ keeper: KeeperType?) -> Int { targetNames.firstIndex(of: targetName(keeper))! }
}

// MARK: - The map step

extension ReadStatistics {
  /// Statistics of every read in a store: one pass over the reads for counts, one over each
  /// vehicle's reads for trips. With `complete`, every vehicle's trips are counted (the store holds
  /// all of its reads); otherwise each vehicle's reads are one piece, its first and last trip kept.
  /// - Parameter span: the time the shard covers (default: its first to its last read); a day shard
  ///   says its whole day, so that its vehicles' trips join those of the next day's shard at merge.
  /// - Parameter dedupeWindow: the de-duplication window the reads were ingested with (`anpr ingest
  ///   --dedupe-window`, default 10 s), so that a repeat split by the shard's edge is dropped at merge.
  public static func build(store: ReadStore, clock: LocalClock, tripGap: Int64 = ReadStore.defaultTripGap,
                           complete: Bool = false, span: ClosedRange<Int64>? = nil, dedupeWindow: Int64? = 10) throws -> ReadStatistics {
    let sites = zip(store.sites, store.siteLocations).map { Site(id: $0, latitude: $1.latitude, longitude: $1.longitude) }
    var s = ReadStatistics(header: Header(timeZone: clock.timeZone.identifier, keyFingerprint: store.header.keyFingerprint,
                                          tripGap: tripGap, dedupeWindow: dedupeWindow, sites: sites, complete: complete))
    for r in store.header.ingests {
      s.accounting["read", default: 0] += Int64(r.read); s.accounting["accepted", default: 0] += Int64(r.accepted)
      s.accounting["rejected", default: 0] += Int64(r.rejected); s.accounting["duplicates", default: 0] += Int64(r.duplicates)
    }
    if let first = store.header.timeStart, let last = store.header.timeEnd {
      if let span, !(span.contains(first) && span.contains(last)) {
        throw StatisticsError("the shard's reads run from \(Timestamp.iso8601(first)) to \(Timestamp.iso8601(last)), outside its declared span \(Timestamp.iso8601(span.lowerBound))..\(Timestamp.iso8601(span.upperBound))")
      }
      if !complete { s.coverage = [span ?? first...last] }
    } else if let span, !complete { s.coverage = [span] }
    // Reads purged since they were ingested, so that accepted − removed is the reads held.
    if let accepted = s.accounting["accepted"], accepted > Int64(store.count) { s.accounting["removed"] = accepted - Int64(store.count) }
    // Counts: the store is in time order, so each 15-minute bin is counted in a small array
    // (targets × sites) and its cells written when the bin ends.
    let keeperTarget = store.vehicles.map { targetIndex($0.keeper) }, all = targetIndex(nil)
    let nt = targetNames.count, ns = sites.count
    var cells = [Int64](repeating: 0, count: nt * ns)
    var currentBin: Int64? = nil
    func flush() {
      guard let b = currentBin else { return }
      for k in cells.indices where cells[k] != 0 { s.counts[CountKey(target: k / ns, bin: b, site: k % ns)] = cells[k]; cells[k] = 0 }
    }
    for i in 0..<store.count {
      let bin = floorDiv(store.time(i), binSeconds), site = store.site(i)
      if bin != currentBin { flush(); currentBin = bin }
      cells[all * ns + site] += 1
      cells[keeperTarget[store.vehicle(i)] * ns + site] += 1
    }
    flush()
    // Trips: vehicles in contiguous ranges, one per core, each counted into its own tables (integers,
    // so the order the parts are added in does not matter).
    let nv = store.vehicles.count, parts = max(1, min(workerThreads, nv / 2000 + 1))
    let results = ParallelSlots<(TripCounter, [(String, Vehicle)])>(count: parts)
    DispatchQueue.concurrentPerform(iterations: parts) { part in
      var counter = TripCounter(order: order, siteCount: sites.count, clock: clock)
      var out: [(String, Vehicle)] = []
      for v in (nv * part / parts)..<(nv * (part + 1) / parts) {
        let trips = store.trips(ofVehicle: v, gap: tripGap).map { Fragment(sites: $0.sites, times: $0.times) }
        guard let first = trips.first, let last = trips.last else { continue }
        let record = store.vehicles[v]
        var vehicle = Vehicle(keeper: record.keeper, nonstandardPlate: record.nonstandardPlate, reads: Int64(trips.reduce(0) { $0 + $1.times.count }),
                              first: first.first, last: last.last)
        if complete {
          for t in trips { counter.add(t) }
        } else {
          for t in trips.dropFirst().dropLast() { counter.add(t) }
          vehicle.pieces = [Piece(first: vehicle.first, last: vehicle.last, trips: trips.count == 1 ? [trips[0]] : [trips[0], trips[trips.count - 1]])]
        }
        out.append((record.id, vehicle))
      }
      results.set(part, (counter, out))
    }
    s.vehicles.reserveCapacity(nv)
    for part in 0..<parts {
      var (counter, out) = results.get(part)!
      counter.flush(into: &s)
      for (id, v) in out { s.vehicles[id] = v }
    }
    return s
  }

  /// Joins every vehicle's pieces and counts their trips (each vehicle's reads are all here): the statistics become
  /// complete, and equal to those of one pass over all the reads.
  public mutating func complete() throws {
    let clock = try LocalClock(identifier: header.timeZone)
    var counter = TripCounter(order: header.order, siteCount: header.sites.count, clock: clock)
    for id in vehicles.keys.sorted() where !vehicles[id]!.pieces.isEmpty {
      // Everything is here: each stretch joins the next, and every trip left is counted.
      var v = vehicles[id]!
      var piece = v.pieces[0]
      for next in v.pieces.dropFirst() { piece = join(piece, next, keeper: v.keeper, reads: &v.reads, counter: &counter) }
      for t in piece.trips { counter.add(t) }
      v.pieces = []
      vehicles[id] = v
    }
    counter.flush(into: &self)
    // Nothing is left to join, so the time covered no longer matters (and the canonical form has none).
    coverage = []
    header.complete = true
  }

  /// Two adjacent stretches of one vehicle's reads as one: the last trip of the first and the first
  /// of the second are one trip when no more than the trip gap apart; the trips that are then
  /// neither the first nor the last are counted.
  ///
  /// A read at the start of the second that repeats one of the first's at the same site within the
  /// de-duplication window is the duplicate one ingest of both would have dropped: it is taken out of
  /// the counts and the vehicle's reads, and counted as a duplicate.
  mutating func join(_ p: Piece, _ q: Piece, keeper: KeeperType, reads: inout Int64, counter: inout TripCounter) -> Piece {
    var head = q.trips[0]
    let tail = p.trips[p.trips.count - 1]
    if let window = header.dedupeWindow, head.first - tail.last <= window {
      var k = 0
      while k < head.times.count, head.times.count > 1, head.times[k] - tail.last <= window {
        let (site, t) = (head.sites[k], head.times[k])
        if zip(tail.sites, tail.times).contains(where: { $0 == site && t - $1 <= window }) {
          for target in [Self.targetIndex(nil), Self.targetIndex(keeper)] {
            let key = CountKey(target: target, bin: floorDiv(t, Self.binSeconds), site: site)
            counts[key, default: 0] -= 1
            if counts[key] == 0 { counts[key] = nil }
          }
          accounting["accepted", default: 0] -= 1; accounting["duplicates", default: 0] += 1
          reads -= 1
          head.sites.remove(at: k); head.times.remove(at: k)
        } else { k += 1 }
      }
    }
    var list: [Fragment]
    if head.first - tail.last <= header.tripGap {
      var joined = tail
      joined.sites += head.sites; joined.times += head.times
      list = p.trips.dropLast() + [joined] + q.trips.dropFirst()
    } else { list = p.trips + [head] + q.trips.dropFirst() }
    for t in list.dropFirst().dropLast() { counter.add(t) }
    return Piece(first: p.first, last: q.last, trips: list.count == 1 ? list : [list[0], list[list.count - 1]])
  }

  /// The union of two coverages, touching or overlapping intervals made one.
  static func union(_ a: [ClosedRange<Int64>], _ b: [ClosedRange<Int64>]) -> [ClosedRange<Int64>] {
    var out: [ClosedRange<Int64>] = []
    for r in (a + b).sorted(by: { $0.lowerBound < $1.lowerBound }) {
      if let last = out.last, r.lowerBound <= last.upperBound + 1 { out[out.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound) }
      else { out.append(r) }
    }
    return out
  }

  /// First and last read over every vehicle (nil with no reads).
  public var span: (first: Int64, last: Int64)? {
    guard let a = vehicles.values.map(\.first).min(), let b = vehicles.values.map(\.last).max() else { return nil }
    return (a, b)
  }
  public var readCount: Int64 { vehicles.values.reduce(0) { $0 + $1.reads } }
}

/// Counts trips as `TransitionCounts.build` does — repeats at one site collapse, local time bands,
/// then the same accumulator — and `flush` adds the counts to the statistics as integers.
struct TripCounter {
  let clock: LocalClock
  var counts: TransitionCounts.Accumulator
  init(order: Int, siteCount: Int, clock: LocalClock) {
    self.clock = clock; counts = .init(order: order, siteCount: siteCount)
  }

  mutating func add(_ trip: ReadStatistics.Fragment) {
    var sites: [Int32] = [], times: [Int64] = [], bands: [Int32] = []
    for (site, t) in zip(trip.sites, trip.times) where sites.last != Int32(site) {
      sites.append(Int32(site)); times.append(t); bands.append(Int32(timeBand(t, clock: clock)))
    }
    sites.withUnsafeBufferPointer { s in
      times.withUnsafeBufferPointer { t in bands.withUnsafeBufferPointer { b in counts.add(sites: s, times: t, bands: b, weight: 1) } }
    }
  }

  /// Adds what was counted to `s` and starts afresh. The tables hold whole numbers, and travel sums
  /// multiples of 2⁻²⁰ (exact in a double), so the integers are exact.
  mutating func flush(into s: inout ReadStatistics) {
    counts.next.forEach { k, n, c in s.next[.init(context: k, next: Int(n)), default: 0] += Int64(c) }
    counts.travel.forEach { k, j, v in
      var t = s.travel[k] ?? .init(moves: 0, sumLog: 0, sumLogSquared: 0)
      let units = Int64((v * TransitionCounts.travelResolution).rounded())
      switch j { case 0: t.moves += Int64(v); case 1: t.sumLog += units; default: t.sumLogSquared += units }
      s.travel[k] = t
    }
    for (site, c) in counts.entries.enumerated() where c != 0 { s.entries[site, default: 0] += Int64(c) }
    counts = .init(order: counts.order, siteCount: counts.entries.count)
  }
}

@inline(__always) func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

// MARK: - Merge

/// Why two statistics cannot be merged, naming the inputs.
public struct StatisticsError: Error, CustomStringConvertible, Equatable {
  public var description: String
  public init(_ d: String) { description = d }
}

extension ReadStatistics {
  /// The sum of two shards' statistics: counts added; a vehicle in both has its stretches of reads
  /// joined where the time between them is covered (one's last trip and the other's first are one
  /// trip when no more than the trip gap apart), and the trips that are then inside are counted. Commutative and associative: the
  /// result does not depend on the order shards are merged in.
  /// - Throws: when headers differ (zone, key, sites, trip gap), when both are complete and share a
  ///   vehicle, or when one vehicle's reads in the two overlap in time.
  public func merged(with o: ReadStatistics, names: (String, String) = ("first", "second")) throws -> ReadStatistics {
    var out = self
    try out.merge(o, names: names)
    return out
  }

  /// Adds `o` to these statistics in place (what `merged(with:)` returns).
  public mutating func merge(_ o: ReadStatistics, names: (String, String) = ("first", "second")) throws {
    var ha = header, hb = o.header
    ha.complete = false; hb.complete = false
    guard ha == hb else {
      throw StatisticsError("\(names.0) and \(names.1) cannot be merged: \(Self.difference(header, o.header))")
    }
    let shared = o.vehicles.keys.filter { vehicles[$0] != nil }.sorted()
    if let id = shared.first, header.complete || o.header.complete {
      throw StatisticsError("\(names.0) and \(names.1) both hold vehicle \(id), and \(header.complete ? names.0 : names.1) was declared complete (every vehicle's reads all in it): merge shards before completing them")
    }
    // Check every shared vehicle before changing anything: a refused merge leaves both as they were.
    var ordered: [String: [Piece]] = [:]
    for id in shared {
      let (a, b) = (vehicles[id]!, o.vehicles[id]!)
      guard a.keeper == b.keeper, a.nonstandardPlate == b.nonstandardPlate else {
        throw StatisticsError("\(names.0) and \(names.1) give vehicle \(id) different keeper types (\(a.keeper.rawValue), \(b.keeper.rawValue)): use one vehicles file for every shard")
      }
      let pieces = (a.pieces + b.pieces).sorted { $0.first < $1.first }
      for (p, q) in zip(pieces, pieces.dropFirst()) where q.first <= p.last {
        throw StatisticsError("\(names.0) and \(names.1) both hold reads of vehicle \(id) between \(Timestamp.iso8601(q.first)) and \(Timestamp.iso8601(min(p.last, q.last))): shards must split the reads by time or by vehicle, and each read must be in one shard")
      }
      ordered[id] = pieces
    }
    header.complete = header.complete && o.header.complete
    for (k, v) in o.accounting { accounting[k, default: 0] += v }
    for (k, v) in o.counts { counts[k, default: 0] += v }
    for (k, v) in o.next { next[k, default: 0] += v }
    for (k, v) in o.travel { travel[k] = (travel[k] ?? .init(moves: 0, sumLog: 0, sumLogSquared: 0)) + v }
    for (k, v) in o.entries { entries[k, default: 0] += v }
    coverage = Self.union(coverage, o.coverage)
    for (id, v) in o.vehicles where vehicles[id] == nil { vehicles[id] = v }
    var counter = TripCounter(order: header.order, siteCount: header.sites.count, clock: try LocalClock(identifier: header.timeZone))
    for id in shared {
      let (a, b) = (vehicles[id]!, o.vehicles[id]!)
      var reads = a.reads + b.reads
      // Stretches join where the time between them is covered: no shard still to come can hold reads there.
      var joined: [Piece] = []
      for q in ordered[id]! {
        if let p = joined.last, coverage.contains(where: { $0.contains(p.last) && $0.contains(q.first) }) {
          joined[joined.count - 1] = join(p, q, keeper: a.keeper, reads: &reads, counter: &counter)
        } else { joined.append(q) }
      }
      vehicles[id] = Vehicle(keeper: a.keeper, nonstandardPlate: a.nonstandardPlate, reads: reads,
                             first: min(a.first, b.first), last: max(a.last, b.last), pieces: joined)
    }
    counter.flush(into: &self)
  }

  static func difference(_ a: Header, _ b: Header) -> String {
    if a.format != b.format || a.formatVersion != b.formatVersion { return "format \(a.format) \(a.formatVersion) against \(b.format) \(b.formatVersion)" }
    if a.timeZone != b.timeZone { return "time zone \(a.timeZone) against \(b.timeZone) (use one --timezone for every shard)" }
    if a.keyFingerprint != b.keyFingerprint {
      return "pseudonymised under different keys (\(a.keyFingerprint ?? "raw plates") against \(b.keyFingerprint ?? "raw plates")): use one key for every shard"
    }
    if a.tripGap != b.tripGap { return "trip gap \(a.tripGap) s against \(b.tripGap) s" }
    if a.dedupeWindow != b.dedupeWindow { return "de-duplication window \(a.dedupeWindow.map { "\($0) s" } ?? "unknown") against \(b.dedupeWindow.map { "\($0) s" } ?? "unknown") (use one --dedupe-window)" }
    if a.sites != b.sites { return "different camera sites (\(a.sites.count) against \(b.sites.count)): use one camera registry for every shard" }
    return "headers differ"
  }
}

// MARK: - What models learn from

extension ReadStatistics {
  /// The count table of `target` (`all` or `keeper=TYPE`) in `binning` over every bin from the first
  /// read's to the last read's, with all reads as the exposure: what `CountTable.build` gives on a store
  /// of the same reads.
  public func countTable(target: Target, binning: Binning) throws -> CountTable {
    let name: String
    switch target {
    case .allReads: name = "all"
    case .keeper(let k): name = Self.targetName(k)
    case .vehicles, .linkedGroups:
      throw StatisticsError("statistics hold counts for all reads and per keeper type, not per vehicle: train a watch list or group's model on a store")
    }
    if case .seconds(let w) = binning, Int64(w) % Self.binSeconds != 0 {
      throw StatisticsError("statistics are kept in 15-minute bins; \(binning) is not a whole number of them")
    }
    guard let span = span else { throw StatisticsError("the statistics hold no reads") }
    let units = header.sites.map { SpatialUnit(id: $0.id, latitude: $0.latitude, longitude: $0.longitude) }
    let first = binning.start(of: span.first)
    var n = 0, s = first
    while s < span.last + 1 { s = binning.next(s); n += 1 }
    var t = CountTable(units: units, binning: binning, firstBin: first, binCount: n, withExposure: true)
    let wanted = Self.targetNames.firstIndex(of: name)!, all = Self.targetIndex(nil)
    for (k, c) in counts where k.target == wanted || k.target == all {
      guard let b = t.binIndex(k.bin * Self.binSeconds), k.site < units.count else { continue }
      if k.target == all { t.exposure![k.site * n + b] += Double(c) }
      if k.target == wanted { t.counts[k.site * n + b] += Double(c) }
    }
    return t
  }

  /// Transition counts of `order` (≤ 3), every piece still open joined and counted.
  public func transitionCounts(order: Int) throws -> TransitionCounts {
    guard (1...header.order).contains(order) else { throw StatisticsError("statistics hold contexts of up to \(header.order) sites; order \(order) asked") }
    var s = self
    if !s.header.complete { try s.complete() }
    var c = TransitionCounts(order: order, siteCount: header.sites.count)
    for (k, v) in s.next {
      guard ContextKey.length(k.context) <= order else { continue }
      c.next[k.context, default: [:]][k.next] = Double(v)
    }
    for (k, v) in s.travel {
      c.travel[k] = [Double(v.moves), Double(v.sumLog) / TransitionCounts.travelResolution, Double(v.sumLogSquared) / TransitionCounts.travelResolution]
    }
    for (k, v) in s.entries { c.entries[k] = Double(v) }
    return c
  }
}
