import Foundation
import Linalg
import Modelling
import Reads

/// Variable-order Markov chain over camera sites within trips, conditioned on the time band, with
/// interpolated absolute discounting (Ney, Essen & Kneser 1994; the interpolated form of Chen &
/// Goodman 1999, doi:10.1006/csla.1999.0128) backing off
/// `order-k context + band → order-k context → … → order-1 → site frequency → uniform`:
/// ```
/// P_l(w | h) = max(c_l(h, w) − D, 0) / c_l(h) + D · N₁₊(h) / c_l(h) · P_{l+1}(w | h)
/// ```
/// so unseen contexts and unseen moves keep probability (a fifth of real moves go to places the
/// vehicle was never seen at). Travel times are log-normal per (from, to, band), backing off to
/// (from, to) and then to the straight-line distance at the median network speed.
public struct MarkovRouteModel: ModelSpec, Equatable {
  public static let kind: ModelKind = "markov-route"
  public static let family = ModelFamily.route
  public typealias Context = SiteContext
  /// Longest context (1 = first order).
  public var order = 2
  /// Absolute discount D in (0, 1): used for a level whose counts cannot estimate their own
  /// (`FittedMarkovRoute.levelDiscounts`), or for every level when `learnDiscounts` is off.
  public var discount = 0.75
  /// Estimate each level's discount from its counts of counts (D = n₁ / (n₁ + 2 n₂), Ney, Essen &
  /// Kneser 1994) instead of one fixed `discount`: thin contexts (a time band's) then pass more of
  /// their probability to the context without the band.
  public var learnDiscounts = true
  /// Condition on the time-of-day band (weekday/weekend).
  public var timeBands = true
  /// Dirichlet prior strength pulling a vehicle's (or actor group's) own counts towards the population.
  public var personalStrength = 5.0
  /// Travel-time samples needed before a (from, to, band) estimate is used.
  public var minimumTravelSamples = 5

  public init() {}
  enum CodingKeys: String, CodingKey, CaseIterable {
    case order, discount, timeBands = "time_bands", personalStrength = "personal_strength", minimumTravelSamples = "minimum_travel_samples"
    case learnDiscounts = "learn_discounts"
  }
  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), kind: Self.kind)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = MarkovRouteModel()
    order = try c.decodeIfPresent(Int.self, forKey: .order) ?? d.order
    discount = try c.decodeIfPresent(Double.self, forKey: .discount) ?? d.discount
    // A spec or model file from before 2026-12-06 has no such key and learns them too (from the
    // counts it holds): its predictions move a little, towards the pair table's.
    learnDiscounts = try c.decodeIfPresent(Bool.self, forKey: .learnDiscounts) ?? d.learnDiscounts
    timeBands = try c.decodeIfPresent(Bool.self, forKey: .timeBands) ?? d.timeBands
    personalStrength = try c.decodeIfPresent(Double.self, forKey: .personalStrength) ?? d.personalStrength
    minimumTravelSamples = try c.decodeIfPresent(Int.self, forKey: .minimumTravelSamples) ?? d.minimumTravelSamples
    guard (1...3).contains(order), discount > 0, discount < 1, personalStrength >= 0, minimumTravelSamples >= 1 else {
      throw SpecError.invalid("markov-route: order 1–3, discount in (0, 1), personal_strength ≥ 0, minimum_travel_samples ≥ 1")
    }
  }

  /// Fits on the moves between sites (`RouteStatistic`).
  public func fit(_ statistic: RouteStatistic, clock: LocalClock) throws -> FittedMarkovRoute {
    try fit(statistic.counts, sites: statistic.locations)
  }

  /// Fits on transition counts (the model keeps only these sufficient statistics) and the site locations.
  public func fit(_ counts: TransitionCounts, sites: [(latitude: Double, longitude: Double)]) throws -> FittedMarkovRoute {
    guard counts.siteCount <= ContextKey.maxSiteIndex + 1 else {
      throw FitError.invalidSpec("route contexts hold site indices up to \(ContextKey.maxSiteIndex); \(counts.siteCount) sites (split the area into stores of fewer sites)")
    }
    guard counts.order >= order else { throw FitError.invalidSpec("counts were built with order \(counts.order) < model order \(order)") }
    guard !(counts.next[0]?.isEmpty ?? true) else { throw FitError.noData("no trips to learn routes from") }
    // Median network speed from the pooled travel times, for pairs never observed.
    var speeds: [Double] = []
    for (k, v) in counts.travel where v[0] > 0 {
      let p = ContextKey.travelParts(k)
      guard p.band == nil, p.from >= 0, p.to >= 0, p.from < sites.count, p.to < sites.count else { continue }
      let d = haversineMetres(sites[p.from].latitude, sites[p.from].longitude, sites[p.to].latitude, sites[p.to].longitude)
      if d > 100 { speeds.append(d / exp(v[1] / v[0])) }
    }
    speeds.sort()
    let median = speeds.isEmpty ? 8.0 : speeds[speeds.count / 2]
    return FittedMarkovRoute(specification: self, counts: counts, siteLatitude: sites.map(\.latitude),
                             siteLongitude: sites.map(\.longitude), medianSpeed: median)
  }
}

/// A next-site distribution for one moment of one trip.
public struct NextSitePrediction: Sendable {
  /// Candidate next sites (or `endOfTrip`) with probabilities, most likely first. Sites not listed
  /// share `remainderPerSite` each (the uniform floor of the back-off).
  public var ranked: [(site: Int, probability: Double)]
  public var remainderPerSite: Double
  /// The most specific level that had data ("order 2 + band", "order 1", "site frequency", "uniform").
  public var level: String
  /// Set when the current site or vehicle was unknown and the model fell back.
  public var fallback: String?
}

/// A travel-time estimate: log-normal median and an 80% interval, seconds.
public struct TravelTime: Codable, Sendable {
  public var median: Double
  public var low80: Double
  public var high80: Double
  public var samples: Double
  public var level: String
}

/// What a route model learns from: the transition counts of trips, and where each site is.
public struct RouteStatistic: Sendable {
  public var counts: TransitionCounts
  public var locations: [(latitude: Double, longitude: Double)]
  public init(counts: TransitionCounts, locations: [(latitude: Double, longitude: Double)]) {
    self.counts = counts; self.locations = locations
  }
}

public struct FittedMarkovRoute: FittedModel, SiteIndexedModel {
  public let specification: MarkovRouteModel
  public let counts: TransitionCounts
  public let siteLatitude: [Double]
  public let siteLongitude: [Double]
  /// Median network speed, m/s (travel-time fallback).
  public let medianSpeed: Double
  /// Per context: total count and number of distinct next symbols (derived from `counts`, not saved).
  let rowTotals: [UInt64: (total: Double, types: Double)]
  /// Per level class (context length × 2 + 1 with a band), the absolute discount (derived, not saved).
  let levelDiscounts: [Int: Double]
  /// Whether the time-band levels raise the leave-one-out likelihood of the counts (derived, not
  /// saved; `bandsEarnTheirKeep`): when they do not, the model backs off to the pooled contexts.
  public private(set) var bandsHelp: Bool
  /// Whether predictions condition on the time band: asked for in the spec, and earning their keep.
  public var usesBands: Bool { specification.timeBands && bandsHelp }

  enum CodingKeys: String, CodingKey { case specification, counts, siteLatitude, siteLongitude, medianSpeed }

  init(specification: MarkovRouteModel, counts: TransitionCounts, siteLatitude: [Double], siteLongitude: [Double], medianSpeed: Double) {
    self.specification = specification; self.counts = counts; self.siteLatitude = siteLatitude
    self.siteLongitude = siteLongitude; self.medianSpeed = medianSpeed
    // Summed in site order: counts from transitions.csv may be fractional, and a sum in dictionary
    // (hash) order would then differ in its last bits between processes.
    rowTotals = counts.next.mapValues { ($0.orderedSum, Double($0.count)) }
    levelDiscounts = specification.learnDiscounts ? Self.estimateDiscounts(counts, fallback: specification.discount) : [:]
    bandsHelp = true
    if specification.timeBands { bandsHelp = bandsEarnTheirKeep() }
  }

  /// Deleted estimation of the time bands' worth, from the counts alone: every move seen with a full
  /// context (the spec's order, in a band) is predicted with itself left out of every level's counts,
  /// once down the chain with the band levels and once without; the bands are kept when their summed
  /// log-likelihood of the next site, given the trip goes on, is the higher. Moves at the start of a
  /// trip (shorter contexts) are not scored.
  func bandsEarnTheirKeep() -> Bool {
    let bandMask: UInt64 = 0xFF << 48
    func shorter(_ key: UInt64) -> UInt64 { ((key & ~bandMask) >> 16) | (key & bandMask) }
    // P(w) with the move left out (`leaveOut`), or as the counts stand.
    func interpolated(_ chain: [UInt64], _ w: Int, leaveOut: Bool = true) -> Double {
      var p = 1.0 / Double(siteCount + 1)
      let out = leaveOut ? 1.0 : 0.0
      for key in chain.reversed() {
        guard let t = rowTotals[key], let row = counts.next[key] else { continue }
        let c = (row[w] ?? 0) - out, total = t.total - out
        guard total > 0 else { continue }
        let types = t.types - (leaveOut && c <= 0 ? 1 : 0)
        let d = discount(key)
        p = max(c - d, 0) / total + d * types / total * p
      }
      return max(p, 1e-300)
    }
    var with = 0.0, without = 0.0
    for key in counts.next.keys.sorted() where key & bandMask != 0 && ContextKey.length(key) == specification.order {
      var banded: [UInt64] = [], pooled: [UInt64] = []
      var k = key
      while ContextKey.length(k) > 0 { banded += [k, k & ~bandMask]; pooled.append(k & ~bandMask); k = shorter(k) }
      banded.append(0); pooled.append(0)
      let row = counts.next[key]!
      // Moves only, given the trip goes on (what next-site accuracy scores): P(w) / (1 − P(end)).
      let goesOnWith = max(1 - interpolated(banded, endOfTrip, leaveOut: false), 1e-12)
      let goesOnWithout = max(1 - interpolated(pooled, endOfTrip, leaveOut: false), 1e-12)
      for w in row.keys.sorted() where w != endOfTrip {
        let c = row[w]!
        with += c * log(interpolated(banded, w) / goesOnWith); without += c * log(interpolated(pooled, w) / goesOnWithout)
      }
    }
    return with >= without
  }

  /// The level class of a context key: its length × 2, plus 1 when it holds a time band.
  @inline(__always) static func levelClass(_ key: UInt64) -> Int { ContextKey.length(key) * 2 + ((key >> 48) & 0xFF != 0 ? 1 : 0) }

  /// Per level class, D = n₁ / (n₁ + 2 n₂) from the number of (context, next) cells seen exactly once
  /// (n₁) and twice (n₂) — the leave-one-out estimate of the absolute discount (Ney, Essen & Kneser
  /// 1994) — held within [0.05, 0.95]; `fallback` where a class has no such cells.
  static func estimateDiscounts(_ counts: TransitionCounts, fallback: Double) -> [Int: Double] {
    var n1: [Int: Double] = [:], n2: [Int: Double] = [:]
    for (key, row) in counts.next {
      let c = levelClass(key)
      for v in row.values { if v == 1 { n1[c, default: 0] += 1 } else if v == 2 { n2[c, default: 0] += 1 } }
    }
    var out: [Int: Double] = [:]
    for c in Set(n1.keys).union(n2.keys) {
      let a = n1[c] ?? 0, b = n2[c] ?? 0
      out[c] = a + 2 * b > 0 && a > 0 ? min(max(a / (a + 2 * b), 0.05), 0.95) : fallback
    }
    return out
  }

  /// The discount of the level of `key`.
  @inline(__always) func discount(_ key: UInt64) -> Double {
    levelDiscounts.isEmpty ? specification.discount : levelDiscounts[Self.levelClass(key)] ?? specification.discount
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(specification: try c.decode(MarkovRouteModel.self, forKey: .specification),
              counts: try c.decode(TransitionCounts.self, forKey: .counts),
              siteLatitude: try c.decode([Double].self, forKey: .siteLatitude),
              siteLongitude: try c.decode([Double].self, forKey: .siteLongitude),
              medianSpeed: try c.decode(Double.self, forKey: .medianSpeed))
  }

  public var siteCount: Int { counts.siteCount }

  /// Context keys from most to least specific for a history (oldest first) and band.
  public func levels(_ history: [Int], band: Int?) -> [(key: UInt64, name: String)] {
    var out: [(UInt64, String)] = []
    let h = history.suffix(specification.order)
    for k in stride(from: h.count, through: 1, by: -1) {
      let ctx = h.suffix(k)
      if usesBands, let band { out.append((TransitionCounts.key(ctx, band: band), "order \(k) + band")) }
      out.append((TransitionCounts.key(ctx, band: nil), "order \(k)"))
    }
    out.append((0, "site frequency"))
    return out
  }

  /// P(next = w | history, band) by interpolated absolute discounting down the levels, then uniform
  /// over sites and end-of-trip.
  public func probability(of w: Int, history: [Int], band: Int?) -> Double {
    let lv = levels(history, band: band)
    var p = 1.0 / Double(siteCount + 1)
    for (key, _) in lv.reversed() {
      guard let t = rowTotals[key], t.total > 0, let row = counts.next[key] else { continue }
      let d = discount(key)
      p = max((row[w] ?? 0) - d, 0) / t.total + d * t.types / t.total * p
    }
    return p
  }

  /// The interpolated distribution over every symbol, dense: entries `0..<siteCount` are sites and entry
  /// `siteCount` is end-of-trip. Also returns the floor (the probability of a symbol no level has seen)
  /// and which symbols some level has seen. Same arithmetic, in the same order, as `probability(of:)`.
  func denseDistribution(_ lv: [(key: UInt64, name: String)], into p: inout [Double], seen: inout [Bool]) -> Double {
    let n = siteCount + 1
    if p.count != n { p = [Double](repeating: 0, count: n); seen = [Bool](repeating: false, count: n) }
    var floor = 1.0 / Double(n)
    for i in 0..<n { p[i] = floor; seen[i] = false }
    for (key, _) in lv.reversed() {
      guard let t = rowTotals[key], t.total > 0, let row = counts.next[key] else { continue }
      let d = discount(key)
      let lambda = d * t.types / t.total
      // Seen at this level: p ← max(c − D, 0)/T + λ·p; unseen: p ← λ·p (the same with c = 0).
      var updated: [(Int, Double)] = []
      updated.reserveCapacity(row.count)
      for (w, c) in row {
        let i = w == endOfTrip ? n - 1 : w
        guard i >= 0 && i < n else { continue }
        updated.append((i, max(c - d, 0) / t.total + lambda * p[i]))
      }
      for i in 0..<n { p[i] = lambda * p[i] }
      floor = lambda * floor
      for (i, v) in updated { p[i] = v; seen[i] = true }
    }
    return floor
  }

  /// The full next-site distribution (sparse candidates plus a uniform floor), optionally personalised
  /// with a vehicle's or group's own first-order counts.
  public func predict(history: [Int], time: Int64, clock: LocalClock, personal: TransitionCounts? = nil) -> NextSitePrediction {
    let band = usesBands ? timeBand(time, clock: clock) : nil
    let lv = levels(history, band: band)
    var fallback: String? = nil
    if let last = history.last, counts.next[TransitionCounts.key([last], band: nil)] == nil {
      fallback = "site \(last) never seen in training: population site frequencies used"
    }
    if history.isEmpty || history.last! < 0 || history.last! >= siteCount { fallback = "unknown site: population site frequencies used" }
    let level = lv.first { counts.next[$0.key] != nil }?.name ?? "uniform"
    var dense: [Double] = [], seen: [Bool] = []
    let floor = denseDistribution(lv, into: &dense, seen: &seen)
    var ranked: [(Int, Double)] = []
    for i in seen.indices where seen[i] { ranked.append((i == siteCount ? endOfTrip : i, dense[i])) }
    if let personal, let last = history.last, let own = personal.next[TransitionCounts.key([last], band: nil)] {
      let n = own.orderedSum, beta = specification.personalStrength
      var set = Dictionary(uniqueKeysWithValues: ranked)
      for k in own.keys where set[k] == nil { set[k] = floor }
      ranked = set.map { ($0.key, ((own[$0.key] ?? 0) + beta * $0.value) / (n + beta)) }
      let remainder = beta * floor / (n + beta)
      ranked.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
      return NextSitePrediction(ranked: ranked, remainderPerSite: remainder, level: "personal + " + level, fallback: fallback)
    }
    ranked.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    return NextSitePrediction(ranked: ranked, remainderPerSite: floor, level: level, fallback: fallback)
  }

  /// Travel time from one site to the next (log-normal), with its level of evidence.
  public func travelTime(from a: Int, to b: Int, band: Int?) -> TravelTime {
    let z = 1.2816  // 80% interval: 10th–90th percentiles
    func fromStats(_ v: [Double], _ level: String) -> TravelTime {
      let m = v[1] / v[0]
      let sd = v[0] > 1 ? max(0.05, ((v[2] - v[0] * m * m) / (v[0] - 1)).squareRoot()) : 0.35
      return TravelTime(median: exp(m), low80: exp(m - z * sd), high80: exp(m + z * sd), samples: v[0], level: level)
    }
    let minN = Double(specification.minimumTravelSamples)
    if let band, let v = counts.travel[TransitionCounts.travelKey(a, b, band: band)], v[0] >= minN { return fromStats(v, "pair + band") }
    if let v = counts.travel[TransitionCounts.travelKey(a, b, band: nil)], v[0] >= 2 { return fromStats(v, "pair") }
    let d = (a >= 0 && b >= 0 && a < siteCount && b < siteCount)
      ? haversineMetres(siteLatitude[a], siteLongitude[a], siteLatitude[b], siteLongitude[b]) * 1.3 : 1000
    let m = log(max(30, d / medianSpeed))
    return TravelTime(median: exp(m), low80: exp(m - z * 0.5), high80: exp(m + z * 0.5), samples: 0, level: "distance at median speed")
  }

  /// First-order transition matrix P[s][s'] (rows sum to the probability of not ending the trip).
  public func transitionMatrix(band: Int?) -> Matrix {
    let n = siteCount
    var m = Matrix(rows: n, columns: n)
    for s in 0..<n { for t in 0..<n { m[s, t] = probability(of: t, history: [s], band: band) } }
    return m
  }

  /// "Where and when": probability of the vehicle's next reads falling at each site in each time slot
  /// of `slotMinutes` over the next `horizonMinutes`, by propagating the first-order chain with
  /// travel-time distributions discretised to the minute. Dense chains propagate with `dgemv`.
  /// Returns `[site][slot]` arrival probabilities (a site may be reached more than once) and, per site,
  /// the probability of at least one arrival within the horizon (approximated as the capped sum).
  public func whereAndWhen(from site: Int, time: Int64, clock: LocalClock, horizonMinutes: Int = 60, slotMinutes: Int = 15)
    -> (slots: [[Double]], within: [Double])
  {
    let n = siteCount
    let band = usesBands ? timeBand(time, clock: clock) : nil
    let H = horizonMinutes
    // Travel-time pmf per (s, t) by minute, from the log-normal.
    var arrival = [[Double]](repeating: [Double](repeating: 0, count: n), count: H + 1)
    guard site >= 0 && site < n else {
      return ([[Double]](repeating: [Double](repeating: 0, count: (H + slotMinutes - 1) / slotMinutes), count: n), [Double](repeating: 0, count: n))
    }
    arrival[0][site] = 1
    let p = transitionMatrix(band: band)
    // Per-lag matrices P_τ[s][t] = P(t | s) · P(travel ∈ minute τ); built once, applied with gemv.
    var lagMatrices: [Int: Matrix] = [:]
    for s in 0..<n {
      for t in 0..<n where p[s, t] > 1e-6 {
        let tt = travelTime(from: s, to: t, band: band)
        let mu = log(tt.median), sd = max(0.05, (log(tt.high80) - mu) / 1.2816)
        for tau in 1...H {
          let a = Double(tau) - 0.5, b = Double(tau) + 0.5
          let mass = normalCDF((log(b * 60) - mu) / sd) - normalCDF((log(max(a, 0.01) * 60) - mu) / sd)
          if mass > 1e-9 {
            if lagMatrices[tau] == nil { lagMatrices[tau] = Matrix(rows: n, columns: n) }
            lagMatrices[tau]![s, t] += p[s, t] * mass
          }
        }
      }
    }
    for t0 in 0..<H {
      let v = arrival[t0]
      if v.allSatisfy({ $0 == 0 }) { continue }
      for (tau, m) in lagMatrices where t0 + tau <= H {
        var out = arrival[t0 + tau]
        try? BLAS.gemv(m, v, transpose: true, alpha: 1, beta: 1, into: &out)  // out += Pτᵀ v
        arrival[t0 + tau] = out
      }
    }
    let nSlots = (H + slotMinutes - 1) / slotMinutes
    var slots = [[Double]](repeating: [Double](repeating: 0, count: nSlots), count: n)
    var within = [Double](repeating: 0, count: n)
    for t0 in 1...H { for s in 0..<n { slots[s][(t0 - 1) / slotMinutes] += arrival[t0][s]; within[s] += arrival[t0][s] } }
    return (slots, within.map { min(1, $0) })
  }
}

func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

extension FittedMarkovRoute {
  /// Batch prediction: the distribution of each distinct (context, band) is computed once and its top
  /// three kept in flat arrays, so scoring millions of trip steps costs one open-addressing lookup per
  /// step for contexts already seen. Not thread-safe: use one per thread (`predictEveryStep` does).
  final class BatchPredictor {
    let model: FittedMarkovRoute
    var slots = FlatCountTable()
    /// Top three symbols per slot (`endOfTrip` for the end), most likely first.
    var topSites: [Int32] = []
    var dense: [Double] = [], seen: [Bool] = []
    init(_ model: FittedMarkovRoute) { self.model = model }

    /// Slot of the top-three entry for the last `order` sites of `sites[..<end]` in `band`.
    @inline(__always) func top3Slot(_ sites: UnsafeBufferPointer<Int32>, end: Int, band: Int) -> Int {
      let k = min(model.specification.order, end)
      // The context's key with its length in the top bits (a context of fewer sites is another slot).
      var key = UInt64(k) << 60 | ContextKey.make(sites, end: end, count: k)
      if model.usesBands { key |= ContextKey.bandBits(band) }
      if let slot = slots.value(key, 0) { return Int(slot) }
      let history = (0..<k).map { Int(sites[end - k + $0]) }
      let lv = model.levels(history, band: model.usesBands ? band : nil)
      _ = model.denseDistribution(lv, into: &dense, seen: &seen)
      var best: [(Int32, Double)] = [(-2, -1), (-2, -1), (-2, -1)]
      let n = dense.count
      for i in 0..<n {
        let v = dense[i]
        let sym = Int32(i == n - 1 ? endOfTrip : i)
        // Ties broken by the smaller symbol, as in `predict` (end-of-trip is -1, so it sorts first).
        if v > best[2].1 || (v == best[2].1 && sym < best[2].0) {
          best[2] = (sym, v)
          if best[2].1 > best[1].1 || (best[2].1 == best[1].1 && best[2].0 < best[1].0) { best.swapAt(1, 2) }
          if best[1].1 > best[0].1 || (best[1].1 == best[0].1 && best[1].0 < best[0].0) { best.swapAt(0, 1) }
        }
      }
      let slot = topSites.count / 3
      for b in best { topSites.append(b.0) }
      slots.add(key, 0, Double(slot))
      return slot
    }
  }

  /// Next-site predictions for every step of every trip in a store (a step: a read followed by a read
  /// at another site in the same trip), the top three per step, computed on `shards` threads.
  public struct EveryStepPredictions: Sendable {
    public init() {}
    /// Per step: the actual next site and the top-three predictions (3 per step; `endOfTrip` = -1).
    public var actual: [Int32] = []
    public var top3: [Int32] = []
    /// Share of steps whose actual next site was the first, or among the first three, predictions.
    public var top1Accuracy: Double { hits(1) }
    public var top3Accuracy: Double { hits(3) }
    public var steps: Int { actual.count }
    func hits(_ k: Int) -> Double {
      guard !actual.isEmpty else { return 0 }
      var h = 0
      for i in actual.indices where (0..<k).contains(where: { top3[3 * i + $0] == actual[i] }) { h += 1 }
      return Double(h) / Double(actual.count)
    }
  }

  /// Predicts the next site at every trip step of `store` (trips split at `tripGap`; consecutive reads
  /// at one site count once, as in training).
  public func predictEveryStep(store: ReadStore, clock: LocalClock, tripGap: Int64 = ReadStore.defaultTripGap,
                               shards: Int = workerThreads) -> EveryStepPredictions {
    let parts = inVehicleShards(store: store, shards: shards) { vehicles in
      let batch = BatchPredictor(self)
      var out = EveryStepPredictions()
      forEachTrip(store: store, vehicles: vehicles, gap: tripGap, clock: clock) { sites, _, bands in
        for i in 0..<(sites.count - 1) {
          let slot = batch.top3Slot(sites, end: i + 1, band: Int(bands[i]))
          out.actual.append(sites[i + 1])
          out.top3.append(contentsOf: batch.topSites[(3 * slot)..<(3 * slot + 3)])
        }
      }
      return out
    }
    var all = EveryStepPredictions()
    for part in parts { all.actual += part.actual; all.top3 += part.top3 }
    return all
  }
}

extension FittedMarkovRoute {
  public static var legacyBodyKeys: [String] { ["route"] }

  /// What is wrong with the body (nil when it can be used): one location per site, finite coordinates
  /// and speed, counts finite and non-negative, next sites within the registry.
  public func bodyProblem() -> String? {
    let n = siteLatitude.count
    if siteLongitude.count != n || counts.siteCount != n {
      return "fitted: \(n) latitudes, \(siteLongitude.count) longitudes, counts for \(counts.siteCount) sites"
    }
    if let i = siteLatitude.indices.first(where: { !(abs(siteLatitude[$0]) <= 90) || !(abs(siteLongitude[$0]) <= 180) }) {
      return "fitted.siteLatitude/siteLongitude[\(i)] is not a WGS84 position"
    }
    if !(medianSpeed.isFinite && medianSpeed > 0) { return "fitted.medianSpeed = \(medianSpeed) must be > 0" }
    for k in counts.next.keys.sorted() {
      for (site, c) in counts.next[k]!.sorted(by: { $0.key < $1.key }) where !(c.isFinite && c >= 0) || site < endOfTrip || site >= n {
        return "fitted.counts.next[\(k)]: site \(site) with count \(c) (sites are 0…\(n - 1), or -1 for the end of a trip)"
      }
    }
    for k in counts.travel.keys.sorted() {
      let v = counts.travel[k]!
      if v.count != 3 || !v.allSatisfy(\.isFinite) || v[0] < 0 { return "fitted.counts.travel[\(k)] = \(v) is not [n ≥ 0, Σ log s, Σ log² s]" }
    }
    return nil
  }

  public func summary() -> ModelSummary {
    let moves = counts.next[0]?.orderedSum ?? 0
    return ModelSummary(kind: MarkovRouteModel.kind, facts: [
      .init("sites", "\(siteCount)"), .init("moves learned from", "\(Int(moves))"), .init("order", "\(specification.order)"),
      .init("contexts", "\(counts.next.count)"), .init("median network speed", String(format: "%.1f m/s", medianSpeed)),
      .init("time bands", !specification.timeBands ? "off" : bandsHelp ? "used (they raise the leave-one-out likelihood of the next site)"
                                                    : "asked for, not used (they lower the leave-one-out likelihood of the next site)"),
      .init("discounts", levelDiscounts.isEmpty ? String(format: "%.2f (fixed)", specification.discount)
                                                : levelDiscounts.keys.sorted().map { String(format: "order %d%@ %.2f", $0 / 2, $0 % 2 == 1 ? "+band" : "", levelDiscounts[$0]!) }.joined(separator: ", ")),
    ])
  }
}

extension Dictionary where Key: Comparable, Value == Double {
  /// The values summed in key order: the same bits in every process, whatever the hash seed.
  public var orderedSum: Double { keys.sorted().reduce(0) { $0 + self[$1]! } }
}
