import Foundation
import Modelling
import Reads

/// A pair of vehicles seen together (a convoy), scored against chance.
public struct CoTravel: Codable, Sendable, Equatable {
  public var a: String
  public var b: String
  /// Distinct sites where the two were read within the window of each other.
  public var sites: [String]
  /// Journeys together (co-occurrences less than 30 minutes apart count once).
  public var together: Int
  /// Expected co-occurrences by chance given how often each vehicle passes each site.
  public var expected: Double
  /// Poisson probability of at least `together` co-occurrences by chance.
  public var pValue: Double
  public var evidence: String
}

/// Co-travel (convoy) detection: pairs of vehicles read at `minimumSites` or more of the same sites
/// within `windowSeconds` of each other, scored against chance. Raw co-occurrence counts flag every pair
/// of commuters on a busy road; here a pair's expected coincidences condition on each vehicle's habits,
/// `E = Σ_s Σ_h n_a(s, h) · n_b(s, h) · 2Δt / (D · 3600)` — reads at site s in hour of day h, spread over
/// that hour on each of the D days — so two commuters who both pass at 8 am are expected to meet, and the
/// pair is reported when `P(X ≥ together | Poisson(E))` is below `maxPValue` (default 1e-6, a
/// Bonferroni-like guard for the many pairs examined).
public struct CoTravelDetector: Codable, Sendable, Equatable {
  public var windowSeconds: Int64 = 60
  public var minimumSites = 3
  public var maxPValue = 1e-6
  public init() {}

  /// - Parameter clock: the analyst's clock: a vehicle's chance of being at a site is taken per local
  ///   hour of the day (commuting hours follow local time across the clock change).
  public func detect(store: ReadStore, clock: LocalClock = .utc) -> [CoTravel] {
    guard let start = store.header.timeStart, let end = store.header.timeEnd, store.count > 1 else { return [] }
    let days = max(1, Double(end - start) / 86400)
    let habits = SiteHourCounts(store: store, clock: clock)
    // The largest expected count at which `k` journeys together are still unlikely enough to report
    // (P(X ≥ k) ≤ maxPValue), per k: a pair's chance sum stops as soon as it passes that (times its
    // co-occurrences per journey), as most pairs — commuters on one road — pass it on their first shared
    // hours. Bisection on the Poisson tail, which grows with the mean; a margin keeps the cut exact.
    var largestMean: [Int: Double] = [:]
    func meanLimit(_ k: Int) -> Double {
      if let m = largestMean[k] { return m }
      var lo = 0.0, hi = Double(k) + 10
      while CountDistribution.poissonUpperTail(Double(k), mean: hi) <= maxPValue && hi < 1e12 { hi *= 2 }
      for _ in 0..<200 { let mid = (lo + hi) / 2; if CountDistribution.poissonUpperTail(Double(k), mean: mid) <= maxPValue { lo = mid } else { hi = mid } }
      largestMean[k] = hi * (1 + 1e-6)
      return hi * (1 + 1e-6)
    }
    var out: [CoTravel] = []
    forEachCoOccurrence(store: store) { a, b, times, sites in
      // Episodes: co-occurrences less than 30 minutes apart are one journey together. Passes on one
      // journey are not independent across sites, so both the count and the chance expectation are per
      // episode: the chance co-occurrences summed over sites, divided by the pair's co-occurrences per
      // episode (two vans roaming all day meet at many sites by chance, one site per meeting; a convoy
      // meets at every site of a journey).
      let sorted = times.sorted()
      var together = sorted.isEmpty ? 0 : 1
      for (x, y) in zip(sorted, sorted.dropFirst()) where y - x > 1800 { together += 1 }
      // Summed in key order (a float sum in a dictionary's order would change from process to process).
      let perEpisode = Double(times.count) / Double(max(1, together))
      let limit = meanLimit(together) * max(1, perEpisode)
      var chance = 0.0
      let complete = habits.forEachShared(a, b) { ca, cb in
        chance += ca * cb * 2 * Double(windowSeconds) / (days * 3600)
        return chance <= limit
      }
      guard complete else { return }  // chance alone would give this many journeys together
      let expected = chance / max(1, perEpisode)
      let p = CountDistribution.poissonUpperTail(Double(together), mean: expected)
      guard p <= maxPValue else { return }
      let names = sites.sorted().map { store.sites[$0] }
      out.append(CoTravel(
        a: store.vehicles[a].id, b: store.vehicles[b].id, sites: names, together: together, expected: expected, pValue: p,
        evidence: "read within \(windowSeconds) s of each other on \(together) journeys at \(names.count) sites (\(names.prefix(6).joined(separator: ", "))); chance would give \(String(format: "%.2g", expected))"))
    }
    return out.sorted { $0.pValue != $1.pValue ? $0.pValue < $1.pValue : ($0.a, $0.b) < ($1.a, $1.b) }
  }

  /// Calls `body` for every pair of vehicles (a < b) read within `windowSeconds` of each other at
  /// `minimumSites` or more distinct sites, in (a, b) order, with the time of each co-occurrence (the
  /// later read's) and the sites. Found vehicle by vehicle: for each read of a, the reads at its site
  /// within the window either side (the site's reads in time order, each read knowing its place there),
  /// so only one vehicle's co-occurrences are held at a time, and a pair is scored and dropped before the
  /// next vehicle. (A table of every pair seen together — hundreds of millions of chance meetings in
  /// 2 × 10⁸ reads — passed 21 GB; keeping every pair at 3 sites or more, 14 GB; BENCHMARKS.md.)
  /// - Complexity: O(reads · reads within the window at a site); memory O(reads) for the site lists.
  func forEachCoOccurrence(store: ReadStore, _ body: (_ a: Int, _ b: Int, _ times: [Int64], _ sites: Set<Int>) -> Void) {
    let n = store.count, siteCount = store.sites.count
    guard n > 0 else { return }
    var siteStart = [Int](repeating: 0, count: siteCount + 1)
    for i in 0..<n { siteStart[store.site(i) + 1] += 1 }
    for s in 0..<siteCount { siteStart[s + 1] += siteStart[s] }
    // Each site's reads in time order (the store's order) as (time, vehicle), and each read's place in
    // its site's list.
    var siteTime = [Int64](repeating: 0, count: n), siteVehicle = [UInt32](repeating: 0, count: n), place = [UInt32](repeating: 0, count: n)
    var fill = siteStart
    for i in 0..<n {
      let s = store.site(i), k = fill[s]
      siteTime[k] = store.time(i); siteVehicle[k] = UInt32(store.vehicle(i)); place[i] = UInt32(k); fill[s] += 1
    }
    // One vehicle's meetings with vehicles after it, (other vehicle, time, site), sorted and cut by pair.
    var hits: [(b: UInt32, time: Int64, site: Int32)] = []
    var sites: [Int32] = []
    siteTime.withUnsafeBufferPointer { T in
      siteVehicle.withUnsafeBufferPointer { V in
        for a in 0..<store.vehicles.count {
          hits.removeAll(keepingCapacity: true)
          for r in store.reads(ofVehicle: a) {
            let p = Int(place[Int(r)]), s = store.site(Int(r)), t = T[p]
            var k = p - 1
            while k >= siteStart[s] && T[k] >= t - windowSeconds {
              if Int(V[k]) > a { hits.append((V[k], t, Int32(s))) }  // the later read is a's
              k -= 1
            }
            k = p + 1
            while k < siteStart[s + 1] && T[k] <= t + windowSeconds {
              if Int(V[k]) > a { hits.append((V[k], T[k], Int32(s))) }
              k += 1
            }
          }
          hits.sort { ($0.b, $0.time, $0.site) < ($1.b, $1.time, $1.site) }
          var g = 0
          while g < hits.count {
            var e = g
            while e < hits.count && hits[e].b == hits[g].b { e += 1 }
            sites.removeAll(keepingCapacity: true)
            for h in g..<e where !sites.contains(hits[h].site) { sites.append(hits[h].site) }
            if sites.count >= minimumSites {
              body(a, Int(hits[g].b), hits[g..<e].map(\.time), Set(sites.map(Int.init)))
            }
            g = e
          }
        }
      }
    }
  }
}

/// Each vehicle's reads by (site, local hour of day), as sorted keys site · 24 + hour with their counts,
/// for every vehicle at once (flat, vehicle by vehicle): the habits a pair's chance meetings are
/// expected from.
struct SiteHourCounts {
  var start: [Int]
  var keys: [Int32]
  var counts: [Double]

  init(store: ReadStore, clock: LocalClock) {
    start = [0]; keys = []; counts = []
    var own: [Int32] = []
    for v in 0..<store.vehicles.count {
      own.removeAll(keepingCapacity: true)
      for r in store.reads(ofVehicle: v) { own.append(Int32(store.site(Int(r)) * 24 + clock.hourOfDay(store.time(Int(r))))) }
      own.sort()
      var k = 0
      while k < own.count {
        var e = k
        while e < own.count && own[e] == own[k] { e += 1 }
        keys.append(own[k]); counts.append(Double(e - k))
        k = e
      }
      start.append(keys.count)
    }
  }

  /// Calls `body` with the two vehicles' counts at each (site, hour) both have, in key order, while it
  /// returns true; whether every shared key was visited.
  func forEachShared(_ a: Int, _ b: Int, _ body: (Double, Double) -> Bool) -> Bool {
    var i = start[a], j = start[b]
    while i < start[a + 1] && j < start[b + 1] {
      if keys[i] == keys[j] {
        guard body(counts[i], counts[j]) else { return false }
        i += 1; j += 1
      } else if keys[i] < keys[j] { i += 1 } else { j += 1 }
    }
    return true
  }
}
