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
  /// Log Bayes factor from where the car was collected and returned (nil unless boundary places were used).
  public var branch: Double? = nil

  /// The evidence in words, strongest first.
  public var evidence: String {
    let parts = ([("entry road", entry), ("exit road", exit), ("hours", hours), ("stop places", stops), ("days in use", activity)]
      .map { ($0.0 + " changed", $0.1) } + [("returned and collected at the branch", branch ?? 0)])
      .filter { $0.1 > 0.5 }.sorted { $0.1 > $1.1 }.map { "\($0.0) (log BF \(String(format: "%.1f", $0.1)))" }
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
  /// Whether the entry road of a period's first visit and the exit road of its last count as evidence of
  /// a boundary (a hire car is collected from and returned to a branch): where periods begin and end is
  /// estimated from a first segmentation's posterior cuts, and the segmentation repeated with it.
  /// `.auto` counts it when a branch shows — one road at least `branchRatio` times as common at the
  /// periods' starts as at other visits, and one as common at their ends — because on towns without a
  /// branch the top road is the main road in (×1.2–2.2), which actors also use on every visit, and
  /// counting it splits their hires (BENCHMARKS.md, "Boundary places").
  public var boundaryPlaces = BoundaryPlacesMode.auto
  public enum BoundaryPlacesMode: String, Codable, Sendable, CaseIterable { case auto, on, off }
  public var branchRatio = 3.0
  /// Weight, in visits, of the town's own mix in the estimate of where periods begin and end (so a town
  /// without such a place gives no boundary evidence).
  public var boundaryPriorWeight = 20.0
  /// Rounds of estimating the boundary places and segmenting again (EM), with `boundaryPlaces`.
  public var boundaryRounds = 3
  public init() {}

  enum CodingKeys: String, CodingKey {
    case visitGap, concentrations, changeProbabilities, minimumStopSeconds, boundaryPlaces, boundaryPriorWeight, branchRatio, boundaryRounds
  }
  /// Settings missing from a saved model (one saved before they existed) keep their defaults.
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self), d = EpisodeSegmenter()
    visitGap = try c.decodeIfPresent(Int64.self, forKey: .visitGap) ?? d.visitGap
    concentrations = try c.decodeIfPresent([Double].self, forKey: .concentrations) ?? d.concentrations
    changeProbabilities = try c.decodeIfPresent([Double].self, forKey: .changeProbabilities) ?? d.changeProbabilities
    minimumStopSeconds = try c.decodeIfPresent(Int64.self, forKey: .minimumStopSeconds) ?? d.minimumStopSeconds
    boundaryPlaces = try c.decodeIfPresent(BoundaryPlacesMode.self, forKey: .boundaryPlaces) ?? d.boundaryPlaces
    boundaryPriorWeight = try c.decodeIfPresent(Double.self, forKey: .boundaryPriorWeight) ?? d.boundaryPriorWeight
    branchRatio = try c.decodeIfPresent(Double.self, forKey: .branchRatio) ?? d.branchRatio
    boundaryRounds = try c.decodeIfPresent(Int.self, forKey: .boundaryRounds) ?? d.boundaryRounds
  }

  /// The segmentation of some cars, with the hyperparameters empirical Bayes chose.
  public struct Result: Codable, Sendable {
    public var episodes: [Episode]
    public var concentration: Double
    public var changeProbability: Double
    public var logEvidence: Double
    /// The entry road at which periods of use most often begin, against other visits (site index and
    /// ratio of shares), and the exit road at which they most often end; from the first segmentation.
    public var boundaryStart: BoundaryPlace?, boundaryEnd: BoundaryPlace?
    /// Whether the segmentation counted them as evidence of a boundary.
    public var boundaryPlacesUsed: Bool
  }

  /// A road at which periods of use begin (or end) more often than other visits do.
  public struct BoundaryPlace: Codable, Sendable, Equatable {
    /// Store site index.
    public var site: Int
    /// Its share of the entry (exit) roads at cuts over its share at other visits.
    public var ratio: Double
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
    var background = Background(histories: histories, sites: sites)
    // Empirical Bayes: the (α, q) on the grid with the highest total log marginal likelihood. Then where
    // periods of use begin and end is estimated from the posterior cuts, and (α, q) chosen again.
    var best = (alpha: concentrations.first ?? 1, q: changeProbabilities.first ?? 0.01, evidence: -Double.infinity)
    var costs: [Double: [[Double]]] = [:]
    var boundaryStart: BoundaryPlace?, boundaryEnd: BoundaryPlace?
    var usePlaces = false
    for iteration in 0...max(1, boundaryRounds) {  // boundaryRounds ≥ 1 (LinkageModel.parameterProblem)
      best = (concentrations.first ?? 1, changeProbabilities.first ?? 0.01, -Double.infinity)
      costs = [:]
      for alpha in concentrations {
        let segs = histories.map { background.segmentLogLikelihoods($0, alpha: alpha) }
        costs[alpha] = segs
        for q in changeProbabilities {
          var total = 0.0
          for (h, s) in zip(histories, segs) where !h.isEmpty { total += Recursions(seg: s, n: h.count, q: q).z }
          if total > best.evidence { best = (alpha, q, total) }
        }
      }
      guard iteration == 0 || (usePlaces && iteration < boundaryRounds), histories.contains(where: { $0.count > 1 }) else { break }
      // The entry roads of visits after a cut against those of visits after none (and the exit roads of
      // visits before one): the town's mix tilted by their ratio, so a road every visit uses is no
      // evidence of a new period, and a place cars are collected from is. A car's first and last visits
      // in the store are left out: the store's window starts and ends in the middle of hires.
      let w = boundaryPriorWeight
      var startCut = background.p[0].map { $0 * w }, startStay = startCut, endCut = background.p[1].map { $0 * w }, endStay = endCut
      for (k, h) in histories.enumerated() where h.count > 1 {
        let r = Recursions(seg: costs[best.alpha]![k], n: h.count, q: best.q)
        for e in 1..<h.count {
          let pc = r.cutProbability(at: e)
          startCut[h[e].entry] += pc; startStay[h[e].entry] += 1 - pc
          endCut[h[e - 1].exit] += pc; endStay[h[e - 1].exit] += 1 - pc
        }
      }
      let (startRatio, endRatio) = (Background.ratio(cut: startCut, stay: startStay), Background.ratio(cut: endCut, stay: endStay))
      // The place that adds most to the divergence of the boundaries' mix from the other visits'.
      func top(_ r: [Double], _ cut: [Double]) -> BoundaryPlace? {
        let c = cut.reduce(0, +), gain = r.indices.map { cut[$0] / c * log(r[$0]) }
        return gain.indices.max { (gain[$0], $1) < (gain[$1], $0) }.map { BoundaryPlace(site: $0, ratio: r[$0]) }
      }
      if iteration == 0 {
        (boundaryStart, boundaryEnd) = (top(startRatio, startCut), top(endRatio, endCut))
        switch boundaryPlaces {
        case .on: usePlaces = true
        case .off: usePlaces = false
        case .auto: usePlaces = (boundaryStart?.ratio ?? 0) >= branchRatio && (boundaryEnd?.ratio ?? 0) >= branchRatio
        }
      }
      guard usePlaces else { break }
      background.setBoundaryRatios(start: startRatio, end: endRatio)
    }
    var episodes: [Episode] = []
    for (k, v) in vehicles.enumerated() {
      let h = histories[k]
      guard !h.isEmpty else { continue }
      let seg = costs[best.alpha]![k]
      let r = Recursions(seg: seg, n: h.count, q: best.q)
      let bounds = r.mapSegments()
      var cuts: [Cut] = []
      var habits = background
      habits.boundaryActive = false
      for b in 1..<bounds.count {
        let (s0, e0, e1) = (bounds[b - 1].0, bounds[b].0, bounds[b].1)
        let f = habits.familyBayesFactors(h, left: s0..<e0, right: e0..<e1, alpha: best.alpha)
        var cut = Cut(probability: r.cutProbability(at: e0), idleDays: Double(h[e0].start - h[e0 - 1].end) / 86400,
                      entry: f[0], exit: f[1], hours: f[2], stops: f[3], activity: f[4])
        if usePlaces {
          // What the boundary terms add to the entry and exit roads' evidence.
          cut.branch = background.logBayesFactor(h, left: s0..<e0, right: e0..<e1, alpha: best.alpha, families: [0, 1], activity: false) - f[0] - f[1]
        }
        cuts.append(cut)
      }
      for (b, (s, e)) in bounds.enumerated() {
        episodes.append(Episode(vehicle: v, first: h[s].start, last: h[e - 1].end, visits: e - s,
                                confidence: r.segmentProbability(s, e),
                                cutBefore: b > 0 ? cuts[b - 1] : nil, cutAfter: b < cuts.count ? cuts[b] : nil))
      }
    }
    return Result(episodes: episodes, concentration: best.alpha, changeProbability: best.q, logEvidence: best.evidence,
                  boundaryStart: boundaryStart, boundaryEnd: boundaryEnd, boundaryPlacesUsed: usePlaces)
  }
}

/// The town's mix of visits by behaviour: the centre of each Dirichlet prior.
struct Background {
  /// Category probabilities per family: entry, exit, hour, stops (sites + "no stop").
  var p: [[Double]]
  /// Log probabilities of a period's first entry road (at first the town's mix), and the ratio by which
  /// a period's last exit road is more likely at a period's end than elsewhere (at first 1).
  var logStart: [Double], endRatio: [Double]
  /// Whether the boundary terms are in the likelihood (after `setBoundaryRatios`; before, the model is
  /// exactly the one without them).
  var boundaryActive = false

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
    logStart = p[0].map(log); endRatio = p[1].map { _ in 1 }
  }

  /// Sets where periods begin and end: the ratios, category by category, of the share of entry roads at
  /// visits after a cut to the share at visits after none, and of exit roads before a cut and before none.
  mutating func setBoundaryRatios(start: [Double], end: [Double]) {
    let starts = p[0].indices.map { p[0][$0] * start[$0] }, a = starts.reduce(0, +)
    logStart = starts.map { log($0 / a) }; endRatio = end
    boundaryActive = true
  }

  /// The ratio of the shares in `cut` and in `stay`, category by category.
  static func ratio(cut: [Double], stay: [Double]) -> [Double] {
    let (c, s) = (cut.reduce(0, +), stay.reduce(0, +))
    return cut.indices.map { (cut[$0] / c) / (stay[$0] / s) }
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
  /// marginal by (α p_k + c_k) / (α + N)). The first visit's entry road is drawn from the mix of period
  /// starts; the last visit's exit road from the driver's predictive tilted by the end ratios r and
  /// renormalised: (α p_k + c_k) r_k / Σ_l (α p_l + c_l) r_l.
  /// `rows` limits it to segments starting at visits 0..<rows (1: the marginals of every prefix).
  func segmentLogLikelihoods(_ h: [EpisodeSegmenter.Visit], alpha: Double, families: [Int] = [0, 1, 2, 3], activity: Bool = true,
                             rows: Int? = nil) -> [Double] {
    let n = h.count, rows = min(n, rows ?? n)
    var out = [Double](repeating: 0, count: rows * n)
    var counts = p.map { [Double](repeating: 0, count: $0.count) }
    let (entries, exits) = (boundaryActive && families.contains(0), boundaryActive && families.contains(1))
    let logEndRatio = endRatio.map(log)
    let baseEnd = zip(p[1], endRatio).reduce(0) { $0 + $1.0 * $1.1 }
    for i in 0..<rows {
      var total = [Double](repeating: 0, count: 4)
      var touched: [(Int, Int)] = []
      var ll = entries ? logStart[h[i].entry] - log(p[0][h[i].entry]) : 0  // replaces the first draw's p_k
      var endWeighted = 0.0  // Σ_k c_k r_k over the exit roads so far
      var activeDays = 0, lastDay = Int.min
      for j in i..<n {
        var endTerm = 0.0
        for f in families {
          for k in draws(h[j], f) {
            if f == 1 {
              endTerm = logEndRatio[k] - log((alpha * baseEnd + endWeighted) / (alpha + total[1]))
              endWeighted += endRatio[k]
            }
            ll += log(alpha * p[f][k] + counts[f][k]) - log(alpha + total[f])
            if counts[f][k] == 0 { touched.append((f, k)) }
            counts[f][k] += 1; total[f] += 1
          }
        }
        if h[j].day != lastDay { activeDays += 1; lastDay = h[j].day }
        let span = h[j].day - h[i].day + 1
        // Sequence probability of `activeDays` days in use out of `span` under a uniform prior on the rate.
        let act = activity ? lgamma(Double(activeDays) + 1) + lgamma(Double(span - activeDays) + 1) - lgamma(Double(span) + 2) : 0
        out[i * n + j] = ll + act + (exits ? endTerm : 0)
      }
      for (f, k) in touched { counts[f][k] = 0 }
    }
    return out
  }

  /// Log Bayes factor for "left and right are two periods" against "one", in the given behaviours.
  func logBayesFactor(_ h: [EpisodeSegmenter.Visit], left: Range<Int>, right: Range<Int>, alpha: Double, families: [Int], activity: Bool) -> Double {
    func logML(_ r: Range<Int>) -> Double {
      segmentLogLikelihoods(Array(h[r]), alpha: alpha, families: families, activity: activity, rows: 1)[r.count - 1]
    }
    return logML(left) + logML(right) - logML(left.lowerBound..<right.upperBound)
  }

  /// Log Bayes factors for "left and right are two periods" against "one", by family
  /// (entry, exit, hours, stops, activity).
  func familyBayesFactors(_ h: [EpisodeSegmenter.Visit], left: Range<Int>, right: Range<Int>, alpha: Double) -> [Double] {
    (0..<4).map { logBayesFactor(h, left: left, right: right, alpha: alpha, families: [$0], activity: false) }
      + [logBayesFactor(h, left: left, right: right, alpha: alpha, families: [], activity: true)]
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
