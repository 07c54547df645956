import Foundation
import Modelling
import Reads

/// Time-of-day band of a move, in local time, split weekday/weekend: 10 bands.
/// 0 night 00–06, 1 morning peak 06–10, 2 day 10–16, 3 evening peak 16–19, 4 evening 19–24; +5 at weekends.
public func timeBand(_ t: Int64, clock: LocalClock) -> Int {
  let (day, h) = clock.dayAndHour(t)  // one offset lookup for both hour and weekday
  let weekday = LocalClock.weekday(ofDay: day)
  let b = weekdayBand(hour: h)
  return weekday >= 5 ? b + 5 : b
}

/// The time band of a local hour of day on a weekday (0 night, 1 morning peak, 2 day, 3 evening peak, 4 evening).
@inlinable public func weekdayBand(hour h: Int) -> Int { h < 6 ? 0 : h < 10 ? 1 : h < 16 ? 2 : h < 19 ? 3 : 4 }
public let timeBandCount = 10

/// The end-of-trip symbol in next-site distributions.
public let endOfTrip = -1

/// Counts of next sites after each context (the last 1…k sites of a trip, with and without the time
/// band), and travel-time sufficient statistics per (from, to, band): count, Σ log s, Σ (log s)².
/// Built in one pass over trips; two shards' counts merge by addition (`merge`).
public struct TransitionCounts: Codable, Sendable, Equatable {
  /// Longest context kept.
  public var order: Int
  public var siteCount: Int
  /// Context key (`key(_:band:)`) → (next site or `endOfTrip`) → count.
  public var next: [UInt64: [Int: Double]] = [:]
  /// `travelKey(from, to, band)` → [n, Σ log s, Σ log² s].
  public var travel: [UInt64: [Double]] = [:]
  /// First site of each trip (entries) → count.
  public var entries: [Int: Double] = [:]

  public init(order: Int, siteCount: Int) { self.order = order; self.siteCount = siteCount }

  enum CodingKeys: String, CodingKey { case order, siteCount, next, travel, entries }

  /// Encodes as the synthesised form does (a dictionary with `UInt64` keys is an array of alternating
  /// keys and values), but in key order: a dictionary's own order changes from process to process,
  /// so two identical `anpr train` runs wrote different bytes.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(order, forKey: .order)
    try c.encode(siteCount, forKey: .siteCount)
    var n = c.nestedUnkeyedContainer(forKey: .next)
    for k in next.keys.sorted() { try n.encode(k); try n.encode(next[k]!) }
    var t = c.nestedUnkeyedContainer(forKey: .travel)
    for k in travel.keys.sorted() { try t.encode(k); try t.encode(travel[k]!) }
    try c.encode(entries, forKey: .entries)
  }

  /// Key of a context: up to three sites oldest-first in 16 bits each (site + 1; 0 = none), the band + 1
  /// in bits 48–55 (0 = any band). The empty context (key 0) holds how often each site comes next at all.
  @inlinable public static func key(_ sites: ArraySlice<Int>, band: Int?) -> UInt64 { ContextKey.make(sites, band: band) }
  @inlinable public static func key(_ sites: [Int], band: Int?) -> UInt64 { key(sites[...], band: band) }

  /// Key of a travel-time cell: from, to, and band (nil = any band).
  @inlinable public static func travelKey(_ a: Int, _ b: Int, band: Int?) -> UInt64 { ContextKey.travel(a, b, band: band) }

  /// Resolution of the travel-time sums: log s and (log s)² are rounded to multiples of 2⁻²⁰ before
  /// they are added, so every sum is an exact multiple of it and adding moves, shards or partitions
  /// in any order gives the same bits (exact up to ~10⁸ moves per cell); 2⁻²⁰ of a log-second is a
  /// millionth of the travel time.
  public static let travelResolution = 1_048_576.0

  /// log s and (log s)² of a move of `seconds` (at least 1), each rounded to a multiple of 2⁻²⁰.
  @inlinable public static func logSeconds(_ seconds: Int64) -> (Double, Double) {
    let l = log(Double(max(1, seconds)))
    return ((l * travelResolution).rounded() / travelResolution, (l * l * travelResolution).rounded() / travelResolution)
  }

  /// Adds one trip's moves (sites in order, times in epoch seconds).
  public mutating func add(sites: [Int], times: [Int64], clock: LocalClock, weight: Double = 1) {
    // Collapse consecutive repeats at one site (two cameras at a site, or a dwell read twice).
    let (s, t) = Trip.collapseRepeats(sites: sites, times: times)
    guard !s.isEmpty else { return }
    entries[s[0], default: 0] += weight
    for i in 0..<s.count {
      let nxt = i + 1 < s.count ? s[i + 1] : endOfTrip
      let band = timeBand(t[i], clock: clock)
      for k in 1...order where i - k + 1 >= 0 {
        let ctx = s[(i - k + 1)...i]
        next[Self.key(ctx, band: band), default: [:]][nxt, default: 0] += weight
        next[Self.key(ctx, band: nil), default: [:]][nxt, default: 0] += weight
      }
      next[0, default: [:]][nxt, default: 0] += weight  // order 0: how often each site comes next at all
      if nxt != endOfTrip {
        let (l, l2) = Self.logSeconds(t[i + 1] - t[i])
        for key in [Self.travelKey(s[i], nxt, band: nil), Self.travelKey(s[i], nxt, band: band)] {
          var v = travel[key] ?? [0, 0, 0]
          v[0] += weight; v[1] += weight * l; v[2] += weight * l2
          travel[key] = v
        }
      }
    }
  }

  /// The sum of two shards' counts.
  public func merged(with o: TransitionCounts) throws -> TransitionCounts {
    guard order == o.order, siteCount == o.siteCount else { throw SpecError.invalid("transition counts differ in order or sites; cannot merge") }
    var out = self
    for (k, row) in o.next { for (n, c) in row { out.next[k, default: [:]][n, default: 0] += c } }
    for (k, v) in o.travel { let a = out.travel[k] ?? [0, 0, 0]; out.travel[k] = zip(a, v).map { $0 + $1 } }
    for (k, c) in o.entries { out.entries[k, default: 0] += c }
    return out
  }

  /// Counts from every trip in a store with reads in `[from, to)` (trips split at `tripGap` on all of a
  /// vehicle's reads). One streaming pass over the store's vehicle index, no per-trip allocation; the
  /// vehicles are cut into `shards` ranges of about equal reads counted in parallel and merged by
  /// addition (the same map-and-merge a cluster engine would run per day or district).
  public static func build(store: ReadStore, order: Int, from: Int64 = .min, to: Int64 = .max, tripGap: Int64 = ReadStore.defaultTripGap,
                           clock: LocalClock, vehicles: Set<Int>? = nil,
                           shards: Int = workerThreads) -> TransitionCounts {
    let parts = inVehicleShards(store: store, shards: shards) { range in
      var acc = Accumulator(order: order, siteCount: store.sites.count)
      forEachTrip(store: store, vehicles: range, include: { vehicles?.contains($0) ?? true }, gap: tripGap, from: from, to: to,
                  clock: clock) { sites, times, bands in acc.add(sites: sites, times: times, bands: bands, weight: 1) }
      return acc
    }
    var total = parts[0]
    for part in parts.dropFirst() { total.merge(part) }
    return total.counts(siteCount: store.sites.count)
  }

  /// One row of `transitions.csv`: moves from one site to the next (or `endOfTrip`) starting in a local
  /// hour of day, and their mean travel time when known.
  public struct Row: Sendable, Equatable {
    public var from: Int, to: Int, hour: Int
    public var count: Double
    public var meanSeconds: Double?
    public init(from: Int, to: Int, hour: Int, count: Double, meanSeconds: Double?) {
      self.from = from; self.to = to; self.hour = hour; self.count = count; self.meanSeconds = meanSeconds
    }
  }

  /// Reads `transitions.csv` (`from_site,to_site,hour,count[,mean_seconds]`) computed elsewhere (a
  /// database query, a cluster job, a published survey); `to_site` may be `END`.
  /// - Throws: an error naming the file, line and field for unknown sites and bad numbers.
  public static func readRows(path: String, sites: [String]) throws -> [Row] {
    let index = Dictionary(sites.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    var cols: [String: Int] = [:]
    var rows: [Row] = []
    try CSVReader(source: ByteSource(path: path)).forEachRecord { r in
      if r.line == 1 {
        for i in 0..<r.count { cols[r.string(i).trimmingCharacters(in: .whitespaces).lowercased()] = i }
        for n in ["from_site", "to_site", "hour", "count"] where cols[n] == nil {
          throw IngestError.missingColumn(file: path, column: n, header: (0..<r.count).map(r.string))
        }
        return
      }
      if r.count == 1 && r.bytes(0).isEmpty { return }
      guard r.count >= cols.values.max()! + 1 else {
        throw IngestError.badRegistry(file: path, line: r.line, field: "-", reason: "\(r.count) fields for \(cols.count) columns")
      }
      guard let f = index[r.string(cols["from_site"]!)] else {
        throw IngestError.badRegistry(file: path, line: r.line, field: "from_site", reason: "unknown site '\(r.string(cols["from_site"]!))'")
      }
      let toName = r.string(cols["to_site"]!)
      guard let to = toName == "END" ? endOfTrip : index[toName] else {
        throw IngestError.badRegistry(file: path, line: r.line, field: "to_site", reason: "unknown site '\(toName)'")
      }
      guard let h = Int(r.string(cols["hour"]!)), (0...23).contains(h) else {
        throw IngestError.badRegistry(file: path, line: r.line, field: "hour", reason: "'\(r.string(cols["hour"]!))' is not an hour 0–23")
      }
      guard let n = Double(r.string(cols["count"]!)), n >= 0, n.isFinite else {
        throw IngestError.badRegistry(file: path, line: r.line, field: "count", reason: "'\(r.string(cols["count"]!))' is not a count ≥ 0")
      }
      let mean = cols["mean_seconds"].flatMap { Double(r.string($0)) }.flatMap { $0 > 0 && $0.isFinite ? $0 : nil }
      rows.append(Row(from: f, to: to, hour: h, count: n, meanSeconds: mean))
    }
    return rows
  }

  /// First-order counts from rows (the hour's weekday band; weekday assumed).
  public init(rows: [Row], siteCount: Int) {
    self.init(order: 1, siteCount: siteCount)
    for row in rows {
      let (f, to, n, h) = (row.from, row.to, row.count, row.hour)
      let band = weekdayBand(hour: h)
      next[Self.key([f], band: band), default: [:]][to, default: 0] += n
      next[Self.key([f], band: nil), default: [:]][to, default: 0] += n
      next[0, default: [:]][to, default: 0] += n
      if to != endOfTrip, let m = row.meanSeconds {
        // Only the mean is known: treat all n moves as taking the mean time (zero spread at this level).
        for k in [Self.travelKey(f, to, band: nil), Self.travelKey(f, to, band: band)] {
          var v = travel[k] ?? [0, 0, 0]
          v[0] += n; v[1] += n * log(m); v[2] += n * log(m) * log(m)
          travel[k] = v
        }
      }
    }
  }

  /// Reads `transitions.csv` into first-order counts for the population chain.
  public static func fromCSV(path: String, sites: [String]) throws -> TransitionCounts {
    TransitionCounts(rows: try readRows(path: path, sites: sites), siteCount: sites.count)
  }
}
