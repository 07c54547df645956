import Foundation
import Modelling
import Reads

/// A period of use of one car by one driver (one hire), found by segmenting the car's visits: the unit
/// linkage compares, because a hire car is re-hired and a plate is not a person.
public struct Episode: Codable, Sendable, Hashable {
  /// Store vehicle index.
  public var vehicle: Int
  /// Time of the episode's first and last read (epoch seconds, UTC).
  public var first: Int64
  public var last: Int64
  /// Visits (runs of reads with no gap over the visit gap) in the episode.
  public var visits: Int
  /// Posterior probability that exactly these visits form one period of use: both boundaries where they
  /// are and no cut inside (1 for a plate not segmented).
  public var confidence: Double
  /// The cut that starts this episode and the one that ends it (nil at the plate's first or last read).
  public var cutBefore: Cut?
  public var cutAfter: Cut?

  public init(vehicle: Int, first: Int64, last: Int64, visits: Int, confidence: Double = 1, cutBefore: Cut? = nil, cutAfter: Cut? = nil) {
    self.vehicle = vehicle; self.first = first; self.last = last; self.visits = visits
    self.confidence = confidence; self.cutBefore = cutBefore; self.cutAfter = cutAfter
  }

  /// `VEHICLE#FROM..TO` (`EpisodeID`), e.g. `K3F9…#2026-03-02T14:05Z..2026-03-06T18:41Z`.
  public func id(vehicleID: String) -> String { EpisodeID.format(vehicle: vehicleID, first: first, last: last) }
}

/// Why a plate's history was cut between two visits: the posterior probability of a cut there, the
/// idle time, and the log Bayes factor of each kind of behaviour for "two drivers" against "one".
public struct Cut: Codable, Sendable, Hashable {
  public var probability: Double
  public var idleDays: Double
  /// Log Bayes factors (natural log) by behaviour: entry road, exit road, start hours, stop places, activity.
  public var entry: Double, exit: Double, hours: Double, stops: Double, activity: Double

  /// The evidence in words, strongest first.
  public var evidence: String {
    let parts = [("entry road", entry), ("exit road", exit), ("hours", hours), ("stop places", stops), ("days in use", activity)]
      .filter { $0.1 > 0.5 }.sorted { $0.1 > $1.1 }.map { "\($0.0) changed (log BF \(String(format: "%.1f", $0.1)))" }
    let idle = String(format: "idle %.1f days", idleDays)
    return ([idle] + parts).joined(separator: ", ") + String(format: "; P(cut) %.2f", probability)
  }
}

/// Splits each car's history into periods of use by one driver: Bayesian change-point segmentation
/// (a product-partition model, Barry & Hartigan 1993; exact recursions as in Fearnhead 2006) over the
/// car's visits. Within a period of use the visits' entry roads, exit roads, start hours and stop places
/// are draws from the driver's own categorical distributions, each with a Dirichlet prior centred on the
/// town's own mix of rental visits (so a habit few hire cars share is strong evidence, the retail park
/// everyone visits is not), and the days it is driven are Bernoulli draws with a uniform prior (so a long
/// idle spell inside a period is unlikely). Between consecutive visits a new period starts with prior
/// probability q. The concentration α and q are chosen by empirical Bayes — the values on a grid that
/// maximise the marginal likelihood of every segmented car's history — so they are learned from the
/// store, not tuned to a simulator. Periods are the maximum a posteriori segmentation; each carries the
/// exact posterior probability of its boundaries and the evidence for each cut.
public struct EpisodeSegmenter: Codable, Sendable, Equatable {
  /// Reads with no gap over this (seconds) are one visit.
  public var visitGap: Int64 = LinkageModel.defaultVisitGap
  /// Grids for the empirical-Bayes choice of the Dirichlet concentration and the change probability.
  public var concentrations: [Double] = [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64]
  public var changeProbabilities: [Double] = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5]
  /// A stop: the time between two reads exceeds the usual move by at least this (seconds).
  public var minimumStopSeconds: Int64 = 300
  public init() {}

  /// The segmentation of some cars, with the hyperparameters empirical Bayes chose.
  public struct Result: Codable, Sendable {
    public var episodes: [Episode]
    public var concentration: Double
    public var changeProbability: Double
    public var logEvidence: Double
  }

  /// One visit's categorical draws.
  struct Visit {
    var start: Int64, end: Int64
    var day: Int
    var entry: Int, exit: Int, hour: Int
    var stops: [Int]  // stop sites, or [sites] (the "no stop" category) when it made none
  }

  /// Segments each vehicle in `vehicles` (store indices); a vehicle without reads gives no episode.
  /// - Parameter travel: `store.typicalTravelSeconds()`, if the caller has it.
  public func segment(store: ReadStore, clock: LocalClock, vehicles: [Int], travel: [Int: Double]? = nil) -> Result {
    let travel = travel ?? store.typicalTravelSeconds()
    let sites = max(1, store.sites.count)
    let histories: [[Visit]] = vehicles.map { v in
      store.trips(ofVehicle: v, gap: visitGap).map { t in
        let stops = t.stops(travel: travel, siteCount: sites, minimumExcess: minimumStopSeconds).map(\.site)
        return Visit(start: t.start, end: t.end, day: Int(clock.day(t.start)), entry: t.entrySite, exit: t.exitSite,
                     hour: clock.hourOfDay(t.start), stops: stops.isEmpty ? [sites] : stops)
      }
    }
    let background = Background(histories: histories, sites: sites)
    // Empirical Bayes: the (α, q) on the grid with the highest total log marginal likelihood.
    var best = (alpha: concentrations.first ?? 1, q: changeProbabilities.first ?? 0.01, evidence: -Double.infinity)
    var costs: [Double: [[Double]]] = [:]
    for alpha in concentrations {
      let segs = histories.map { background.segmentLogLikelihoods($0, alpha: alpha) }
      costs[alpha] = segs
      for q in changeProbabilities {
        var total = 0.0
        for (h, s) in zip(histories, segs) where !h.isEmpty { total += Recursions(seg: s, n: h.count, q: q).z }
        if total > best.evidence { best = (alpha, q, total) }
      }
    }
    var episodes: [Episode] = []
    for (k, v) in vehicles.enumerated() {
      let h = histories[k]
      guard !h.isEmpty else { continue }
      let seg = costs[best.alpha]![k]
      let r = Recursions(seg: seg, n: h.count, q: best.q)
      let bounds = r.mapSegments()
      var cuts: [Cut] = []
      for b in 1..<bounds.count {
        let (s0, e0, e1) = (bounds[b - 1].0, bounds[b].0, bounds[b].1)
        let f = background.familyBayesFactors(h, left: s0..<e0, right: e0..<e1, alpha: best.alpha)
        cuts.append(Cut(probability: r.cutProbability(at: e0), idleDays: Double(h[e0].start - h[e0 - 1].end) / 86400,
                        entry: f[0], exit: f[1], hours: f[2], stops: f[3], activity: f[4]))
      }
      for (b, (s, e)) in bounds.enumerated() {
        episodes.append(Episode(vehicle: v, first: h[s].start, last: h[e - 1].end, visits: e - s,
                                confidence: r.segmentProbability(s, e),
                                cutBefore: b > 0 ? cuts[b - 1] : nil, cutAfter: b < cuts.count ? cuts[b] : nil))
      }
    }
    return Result(episodes: episodes, concentration: best.alpha, changeProbability: best.q, logEvidence: best.evidence)
  }
}

/// The town's mix of visits by behaviour: the centre of each Dirichlet prior.
struct Background {
  /// Category probabilities per family: entry, exit, hour, stops (sites + "no stop").
  var p: [[Double]]

  init(histories: [[EpisodeSegmenter.Visit]], sites: Int) {
    var c = [[Double](repeating: 0.5, count: sites), [Double](repeating: 0.5, count: sites),
             [Double](repeating: 0.5, count: 24), [Double](repeating: 0.5, count: sites + 1)]
    for h in histories {
      for v in h {
        c[0][v.entry] += 1; c[1][v.exit] += 1; c[2][v.hour] += 1
        for s in v.stops { c[3][s] += 1 }
      }
    }
    p = c.map { row in let t = row.reduce(0, +); return row.map { $0 / t } }
  }

  /// Draws of visit `v` in family `f`.
  @inline(__always) func draws(_ v: EpisodeSegmenter.Visit, _ f: Int) -> [Int] {
    switch f {
    case 0: return [v.entry]
    case 1: return [v.exit]
    case 2: return [v.hour]
    default: return v.stops
    }
  }

  /// log P(visits i...j) for every i ≤ j (row-major n × n, upper triangle): the Dirichlet-multinomial
  /// marginal of each family plus the Beta(1, 1)–Bernoulli marginal of the days in use, built
  /// incrementally (adding a draw of category k to a family with counts c and total N multiplies the
  /// marginal by (α p_k + c_k) / (α + N)).
  func segmentLogLikelihoods(_ h: [EpisodeSegmenter.Visit], alpha: Double, families: [Int] = [0, 1, 2, 3], activity: Bool = true) -> [Double] {
    let n = h.count
    var out = [Double](repeating: 0, count: n * n)
    var counts = p.map { [Double](repeating: 0, count: $0.count) }
    for i in 0..<n {
      var total = [Double](repeating: 0, count: 4)
      var touched: [(Int, Int)] = []
      var ll = 0.0
      var activeDays = 0, lastDay = Int.min
      for j in i..<n {
        for f in families {
          for k in draws(h[j], f) {
            ll += log(alpha * p[f][k] + counts[f][k]) - log(alpha + total[f])
            if counts[f][k] == 0 { touched.append((f, k)) }
            counts[f][k] += 1; total[f] += 1
          }
        }
        if h[j].day != lastDay { activeDays += 1; lastDay = h[j].day }
        let span = h[j].day - h[i].day + 1
        // Sequence probability of `activeDays` days in use out of `span` under a uniform prior on the rate.
        let act = activity ? lgamma(Double(activeDays) + 1) + lgamma(Double(span - activeDays) + 1) - lgamma(Double(span) + 2) : 0
        out[i * n + j] = ll + act
      }
      for (f, k) in touched { counts[f][k] = 0 }
    }
    return out
  }

  /// Log Bayes factors for "left and right are two periods" against "one", by family
  /// (entry, exit, hours, stops, activity).
  func familyBayesFactors(_ h: [EpisodeSegmenter.Visit], left: Range<Int>, right: Range<Int>, alpha: Double) -> [Double] {
    func logML(_ r: Range<Int>, families: [Int], activity: Bool) -> Double {
      let sub = Array(h[r])
      return segmentLogLikelihoods(sub, alpha: alpha, families: families, activity: activity)[sub.count - 1]
    }
    let both = left.lowerBound..<right.upperBound
    var out: [Double] = []
    for f in 0..<4 { out.append(logML(left, families: [f], activity: false) + logML(right, families: [f], activity: false) - logML(both, families: [f], activity: false)) }
    out.append(logML(left, families: [], activity: true) + logML(right, families: [], activity: true) - logML(both, families: [], activity: true))
    return out
  }
}

/// Forward and backward sums of the product-partition model over one history (log space).
struct Recursions {
  let seg: [Double], n: Int, lq: Double, l1q: Double
  /// forward[e]: log P(visits 0..<e, a period ends at e − 1); backward[s]: log P(visits s..<n | a period starts at s).
  var forward: [Double], backward: [Double]
  var z: Double { forward[n] }

  init(seg: [Double], n: Int, q: Double) {
    self.seg = seg; self.n = n; lq = log(q); l1q = log1p(-q)
    var f = [Double](repeating: -.infinity, count: n + 1), b = [Double](repeating: -.infinity, count: n + 1)
    f[0] = 0; b[n] = 0
    for e in 1...max(1, n) where n > 0 {
      var terms: [Double] = []
      for s in 0..<e { terms.append(f[s] + (s > 0 ? lq : 0) + Double(e - 1 - s) * l1q + seg[s * n + e - 1]) }
      f[e] = logSumExp(terms)
    }
    for s in stride(from: n - 1, through: 0, by: -1) {
      var terms: [Double] = []
      for e in (s + 1)...n { terms.append(seg[s * n + e - 1] + Double(e - 1 - s) * l1q + (e < n ? lq + b[e] : 0)) }
      b[s] = logSumExp(terms)
    }
    forward = f; backward = b
  }

  /// Posterior probability that visits s..<e form exactly one period.
  func segmentProbability(_ s: Int, _ e: Int) -> Double {
    min(1, exp(forward[s] + (s > 0 ? lq : 0) + seg[s * n + e - 1] + Double(e - 1 - s) * l1q + (e < n ? lq + backward[e] : 0) - z))
  }

  /// Posterior probability of a cut between visits e − 1 and e.
  func cutProbability(at e: Int) -> Double { min(1, exp(forward[e] + lq + backward[e] - z)) }

  /// The maximum a posteriori segmentation as (start, end) visit ranges.
  func mapSegments() -> [(Int, Int)] {
    guard n > 0 else { return [] }
    var best = [Double](repeating: -.infinity, count: n + 1), from = [Int](repeating: 0, count: n + 1)
    best[0] = 0
    for e in 1...n {
      for s in 0..<e {
        let v = best[s] + (s > 0 ? lq : 0) + Double(e - 1 - s) * l1q + seg[s * n + e - 1]
        if v > best[e] { best[e] = v; from[e] = s }
      }
    }
    var out: [(Int, Int)] = []
    var e = n
    while e > 0 { out.append((from[e], e)); e = from[e] }
    return out.reversed()
  }
}

func logSumExp(_ x: [Double]) -> Double {
  guard let m = x.max(), m > -.infinity else { return -.infinity }
  return m + log(x.reduce(0) { $0 + exp($1 - m) })
}
