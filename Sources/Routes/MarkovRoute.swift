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
public struct MarkovRouteModel: Codable, Sendable, Equatable {
  public static let kind = "markov-route"
  /// Longest context (1 = first order).
  public var order = 2
  /// Absolute discount D in (0, 1).
  public var discount = 0.75
  /// Condition on the time-of-day band (weekday/weekend).
  public var timeBands = true
  /// Dirichlet prior strength pulling a vehicle's (or actor group's) own counts towards the population.
  public var personalStrength = 5.0
  /// Travel-time samples needed before a (from, to, band) estimate is used.
  public var minimumTravelSamples = 5

  public init() {}
  enum CodingKeys: String, CodingKey, CaseIterable {
    case order, discount, timeBands = "time_bands", personalStrength = "personal_strength", minimumTravelSamples = "minimum_travel_samples"
  }
  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), kind: Self.kind)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = MarkovRouteModel()
    order = try c.decodeIfPresent(Int.self, forKey: .order) ?? d.order
    discount = try c.decodeIfPresent(Double.self, forKey: .discount) ?? d.discount
    timeBands = try c.decodeIfPresent(Bool.self, forKey: .timeBands) ?? d.timeBands
    personalStrength = try c.decodeIfPresent(Double.self, forKey: .personalStrength) ?? d.personalStrength
    minimumTravelSamples = try c.decodeIfPresent(Int.self, forKey: .minimumTravelSamples) ?? d.minimumTravelSamples
    guard (1...3).contains(order), discount > 0, discount < 1, personalStrength >= 0, minimumTravelSamples >= 1 else {
      throw SpecError.invalid("markov-route: order 1–3, discount in (0, 1), personal_strength ≥ 0, minimum_travel_samples ≥ 1")
    }
  }

  /// Fits on transition counts (the model keeps only these sufficient statistics) and the site locations.
  public func fit(_ counts: TransitionCounts, sites: [(latitude: Double, longitude: Double)]) throws -> FittedMarkovRoute {
    guard counts.order >= order else { throw FitError.invalidSpec("counts were built with order \(counts.order) < model order \(order)") }
    guard !(counts.next[0]?.isEmpty ?? true) else { throw FitError.noData("no trips to learn routes from") }
    // Median network speed from the pooled travel times, for pairs never observed.
    var speeds: [Double] = []
    for (k, v) in counts.travel where k >> 40 == 0 && v[0] > 0 {
      let p = [Int(k & 0xFFFFF) - 1, Int((k >> 20) & 0xFFFFF) - 1]
      guard p[0] >= 0, p[1] >= 0, p[0] < sites.count, p[1] < sites.count else { continue }
      let d = haversineMetres(sites[p[0]].latitude, sites[p[0]].longitude, sites[p[1]].latitude, sites[p[1]].longitude)
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

public struct FittedMarkovRoute: Codable, Sendable {
  public let specification: MarkovRouteModel
  public let counts: TransitionCounts
  public let siteLatitude: [Double]
  public let siteLongitude: [Double]
  /// Median network speed, m/s (travel-time fallback).
  public let medianSpeed: Double
  /// Per context: total count and number of distinct next symbols (derived from `counts`, not saved).
  let rowTotals: [UInt64: (total: Double, types: Double)]

  enum CodingKeys: String, CodingKey { case specification, counts, siteLatitude, siteLongitude, medianSpeed }

  init(specification: MarkovRouteModel, counts: TransitionCounts, siteLatitude: [Double], siteLongitude: [Double], medianSpeed: Double) {
    self.specification = specification; self.counts = counts; self.siteLatitude = siteLatitude
    self.siteLongitude = siteLongitude; self.medianSpeed = medianSpeed
    rowTotals = counts.next.mapValues { ($0.values.reduce(0, +), Double($0.count)) }
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(specification: try c.decode(MarkovRouteModel.self, forKey: .specification),
              counts: try c.decode(TransitionCounts.self, forKey: .counts),
              siteLatitude: try c.decode([Double].self, forKey: .siteLatitude),
              siteLongitude: try c.decode([Double].self, forKey: .siteLongitude),
              medianSpeed: try c.decode(Double.self, forKey: .medianSpeed))
  }

  var siteCount: Int { counts.siteCount }

  /// Context keys from most to least specific for a history (oldest first) and band.
  public func levels(_ history: [Int], band: Int?) -> [(key: UInt64, name: String)] {
    var out: [(UInt64, String)] = []
    let h = history.suffix(specification.order)
    for k in stride(from: h.count, through: 1, by: -1) {
      let ctx = h.suffix(k)
      if specification.timeBands, let band { out.append((TransitionCounts.key(ctx, band: band), "order \(k) + band")) }
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
    let d = specification.discount
    for (key, _) in lv.reversed() {
      guard let t = rowTotals[key], t.total > 0, let row = counts.next[key] else { continue }
      p = max((row[w] ?? 0) - d, 0) / t.total + d * t.types / t.total * p
    }
    return p
  }

  /// The full next-site distribution (sparse candidates plus a uniform floor), optionally personalised
  /// with a vehicle's or group's own first-order counts.
  public func predict(history: [Int], time: Int64, clock: LocalClock, personal: TransitionCounts? = nil) -> NextSitePrediction {
    let band = specification.timeBands ? timeBand(time, clock: clock) : nil
    let lv = levels(history, band: band)
    var fallback: String? = nil
    if let last = history.last, counts.next[TransitionCounts.key([last], band: nil)] == nil {
      fallback = "site \(last) never seen in training: population site frequencies used"
    }
    if history.isEmpty || history.last! < 0 || history.last! >= siteCount { fallback = "unknown site: population site frequencies used" }
    let level = lv.first { counts.next[$0.key] != nil }?.name ?? "uniform"
    var candidates = Set<Int>()
    for (key, _) in lv { for k in counts.next[key]?.keys ?? [:].keys { candidates.insert(k) } }
    var ranked = candidates.map { ($0, probability(of: $0, history: history, band: band)) }
    let floor = probability(of: Int.min, history: history, band: band)  // a never-seen symbol gets the floor
    if let personal, let last = history.last, let own = personal.next[TransitionCounts.key([last], band: nil)] {
      let n = own.values.reduce(0, +), beta = specification.personalStrength
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
    let band = specification.timeBands ? timeBand(time, clock: clock) : nil
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
  /// Batch prediction: the full next-site distribution of each distinct (context, band) is computed
  /// once and reused, so scoring millions of trip steps costs one hash lookup per step for contexts
  /// already seen. Not thread-safe: use one per thread.
  public final class BatchPredictor {
    let model: FittedMarkovRoute
    let clock: LocalClock
    var memo: [UInt64: NextSitePrediction] = [:]
    public init(_ model: FittedMarkovRoute, clock: LocalClock) { self.model = model; self.clock = clock }

    /// The prediction for a history (oldest first) at time `t`.
    public func predict(history: ArraySlice<Int>, time t: Int64) -> NextSitePrediction {
      let band = model.specification.timeBands ? timeBand(t, clock: clock) : nil
      let ctx = history.suffix(model.specification.order)
      let key = TransitionCounts.key(ctx, band: band) ^ (UInt64(ctx.count) << 60)
      if let p = memo[key] { return p }
      let p = model.predict(history: Array(ctx), time: t, clock: clock)
      memo[key] = p
      return p
    }
    public var distinctContexts: Int { memo.count }
  }
}
