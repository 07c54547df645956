/// A vehicle's consecutive reads with no gap longer than the trip gap: one journey.
public struct Trip: Sendable, Hashable {
  public var vehicle: Int
  /// Read indices into the store, in time order.
  public var reads: [UInt32]
  /// Time of the first and last read (epoch seconds).
  public var start: Int64
  public var end: Int64
  /// Site index of each read.
  public var sites: [Int]
  /// Time of each read.
  public var times: [Int64]

  public init(vehicle: Int, reads: [UInt32], start: Int64, end: Int64, sites: [Int], times: [Int64]) {
    self.vehicle = vehicle; self.reads = reads; self.start = start; self.end = end; self.sites = sites; self.times = times
  }

  /// Site where the trip was first seen (its entry).
  public var entrySite: Int { sites[0] }
  /// Site where the trip was last seen (its exit).
  public var exitSite: Int { sites[sites.count - 1] }
  /// Seconds from the first to the last read.
  public var duration: Int64 { end - start }

  /// The trip's sites with consecutive repeats at one site collapsed (two cameras at a site, or a
  /// dwell read twice), each with the time of its first read: the moves of the trip. The one rule
  /// every route statistic, backtest and prediction uses.
  public var collapsed: (sites: [Int], times: [Int64]) { Trip.collapseRepeats(sites: sites, times: times) }

  /// `sites` with consecutive repeats collapsed, each kept with the time of its first read.
  public static func collapseRepeats(sites: [Int], times: [Int64]) -> (sites: [Int], times: [Int64]) {
    var s: [Int] = [], t: [Int64] = []
    s.reserveCapacity(sites.count); t.reserveCapacity(sites.count)
    for (a, b) in zip(sites, times) where s.last != a { s.append(a); t.append(b) }
    return (s, t)
  }

  /// `sites` with consecutive repeats collapsed.
  public static func collapseRepeats(_ sites: [Int]) -> [Int] {
    var s: [Int] = []
    for a in sites where s.last != a { s.append(a) }
    return s
  }

  /// Seconds between read k and the next read of the trip (the dwell or travel time after k).
  public func secondsAfter(_ k: Int) -> Int64? { k + 1 < times.count ? times[k + 1] - times[k] : nil }

  /// Stops inferred from gaps: after read k the vehicle went unseen for at least `minimum` seconds
  /// (but less than the trip gap), so it most likely stopped near site k or the next site.
  public func stops(minimum: Int64 = 300) -> [(site: Int, nextSite: Int, arrival: Int64, seconds: Int64)] {
    var out: [(Int, Int, Int64, Int64)] = []
    for k in 0..<(times.count - 1) where times[k + 1] - times[k] >= minimum {
      out.append((sites[k], sites[k + 1], times[k], times[k + 1] - times[k]))
    }
    return out
  }
}

extension Trip {
  /// Stops inside the trip: the time between two reads exceeds the usual time for that move
  /// (`travel`, from `ReadStore.typicalTravelSeconds`; 120 s for a move never seen) by at least
  /// `minimumExcess` seconds — a missed camera or a slow road is not a stop, a parked car is. Each stop
  /// is at the site read before it, with the site after it and the excess seconds. The one rule linkage
  /// signatures, episodes and next-appearance forecasts use. `before`: only stops known by then (the
  /// read after the stop is earlier), for a history cut at a forecast origin.
  public func stops(travel: [Int: Double], siteCount n: Int, minimumExcess: Int64 = 300, before: Int64 = .max) -> [(site: Int, nextSite: Int, seconds: Int64)] {
    var out: [(Int, Int, Int64)] = []
    for k in 0..<(times.count - 1) where times[k + 1] < before {
      let gap = times[k + 1] - times[k]
      let usual = sites[k] == sites[k + 1] ? 0 : (travel[sites[k] * n + sites[k + 1]] ?? 120)
      let excess = gap - Int64(usual)
      if excess >= minimumExcess { out.append((sites[k], sites[k + 1], excess)) }
    }
    return out
  }
}

extension ReadStore {
  /// The default trip gap: 30 minutes without a read ends a trip.
  public static let defaultTripGap: Int64 = 1800

  /// Median seconds between consecutive reads at each ordered site pair (key `from × sites + to`),
  /// over every vehicle's trips (how long the move usually takes; at most 400 samples a pair, the
  /// first in vehicle order), capped at the trip gap; from moves before `until` only.
  public func typicalTravelSeconds(until: Int64 = .max) -> [Int: Double] {
    var samples: [Int: [Int64]] = [:]
    let n = sites.count
    forEachMove(until: until) { from, to, seconds in
      let key = from * n + to
      if (samples[key]?.count ?? 0) < 400 { samples[key, default: []].append(seconds) }
    }
    return samples.mapValues { s in let x = s.sorted(); return Double(x[x.count / 2]) }
  }

  /// Splits one vehicle's reads into trips at gaps longer than `gap` seconds.
  public func trips(ofVehicle v: Int, gap: Int64 = ReadStore.defaultTripGap) -> [Trip] {
    var out: [Trip] = []
    var cur: Trip?
    for r in reads(ofVehicle: v) {
      let i = Int(r)
      let t = time(i), s = site(i)
      if var c = cur, t - c.end <= gap {
        c.reads.append(r); c.sites.append(s); c.times.append(t); c.end = t
        cur = c
      } else {
        if let c = cur { out.append(c) }
        cur = Trip(vehicle: v, reads: [r], start: t, end: t, sites: [s], times: [t])
      }
    }
    if let c = cur { out.append(c) }
    return out
  }

  /// The trip stream transition counting and batch route predictions walk: for each vehicle in `vehicles` that passes
  /// `include`, its trips — reads split at gaps longer than `gap` over all its reads, as
  /// `trips(ofVehicle:)` splits them — as the sites and times of the reads in `[from, to)`, consecutive
  /// reads at one site collapsed (`Trip.collapsed`'s rule). The buffers are reused from trip to trip:
  /// no allocation per trip.
  public func forEachCollapsedTrip(vehicles: Range<Int>, include: (Int) -> Bool = { _ in true }, gap: Int64 = ReadStore.defaultTripGap,
                                   from: Int64 = .min, to: Int64 = .max,
                                   _ body: (_ vehicle: Int, _ sites: UnsafeBufferPointer<Int32>, _ times: UnsafeBufferPointer<Int64>) -> Void) {
    var s: [Int32] = [], t: [Int64] = []
    s.reserveCapacity(256); t.reserveCapacity(256)
    for v in vehicles where include(v) {
      func flush() {
        guard !s.isEmpty else { return }
        s.withUnsafeBufferPointer { sp in t.withUnsafeBufferPointer { tp in body(v, sp, tp) } }
        s.removeAll(keepingCapacity: true); t.removeAll(keepingCapacity: true)
      }
      var last = Int64.min
      for r in reads(ofVehicle: v) {
        let i = Int(r), ti = time(i)
        if last != .min && ti - last > gap { flush() }
        last = ti
        guard ti >= from && ti < to else { continue }
        let si = Int32(site(i))
        if s.last == si { continue }
        s.append(si); t.append(ti)
      }
      flush()
    }
  }

  /// Calls `body` for every trip of every vehicle (vehicles in index order, trips in time order).
  public func forEachTrip(gap: Int64 = ReadStore.defaultTripGap, _ body: (Trip) throws -> Void) rethrows {
    for v in 0..<vehicles.count { for t in trips(ofVehicle: v, gap: gap) { try body(t) } }
  }
}

extension ReadStore {
  /// Every move a vehicle makes between two camera sites: consecutive reads of one vehicle at different
  /// sites no more than `gap` seconds apart (consecutive reads of one trip), read from the store's
  /// columns without building trips. Vehicles in index order, reads in time order.
  /// Moves that end at or after `until` are left out.
  public func forEachMove(within gap: Int64 = ReadStore.defaultTripGap, until: Int64 = .max, _ body: (_ from: Int, _ to: Int, _ seconds: Int64) -> Void) {
    for v in 0..<vehicles.count {
      var previous: (site: Int, time: Int64)? = nil
      for r in reads(ofVehicle: v) {
        let i = Int(r), site = self.site(i), time = self.time(i)
        if time >= until { break }
        if let p = previous, time - p.time <= gap, p.site != site { body(p.site, site, time - p.time) }
        previous = (site, time)
      }
    }
  }
}
