import Foundation
import Linalg
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
  /// The prior chance of a new period of use at this gap, before the behaviour on either side: learned
  /// from the store by idle time and the sites the car was last and next read at (`GapPrior`).
  public var prior: Double? = nil

  /// The evidence in words, strongest first.
  public var evidence: String {
    let parts = [("entry road", entry), ("exit road", exit), ("hours", hours), ("stop places", stops), ("days in use", activity)]
      .filter { $0.1 > 0.5 }.sorted { $0.1 > $1.1 }.map { "\($0.0) changed (log BF \(String(format: "%.1f", $0.1)))" }
    let idle = String(format: "idle %.1f days", idleDays) + (prior.map { String(format: " (prior P(new period) %.2f)", $0) } ?? "")
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
/// probability q. The concentration α and a single q are chosen by empirical Bayes — the values on a grid
/// that maximise the marginal likelihood of every segmented car's history — and then q is learned per gap
/// by EM (`GapPrior`: by the idle time, and by the sites the car was last and next read at, so a hire
/// depot where cars are returned and collected is found in the data), all from the store, not tuned to
/// a simulator. Periods are the maximum a posteriori segmentation; each carries the exact posterior
/// probability of its boundaries and the evidence for each cut.
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
    /// The single q of the grid search; with a learned gap prior, its mean over the gaps.
    public var changeProbability: Double
    public var logEvidence: Double
    /// The learned prior of a new period at a gap (nil when there were too few gaps to learn it).
    public var gapPrior: GapPrior? = nil
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
    let segs = costs[best.alpha]!
    let prior = GapPrior.learn(histories: histories, segments: segs, sites: sites, start: best.q)
    var episodes: [Episode] = []
    var priorSum = 0.0, gaps = 0
    for (k, v) in vehicles.enumerated() {
      let h = histories[k]
      guard !h.isEmpty else { continue }
      let seg = segs[k]
      let q = prior.map { $0.probabilities(h) }
      if let q { priorSum += q.dropFirst().reduce(0, +); gaps += h.count - 1 }
      let r = q.map { Recursions(seg: seg, n: h.count, gapPriors: $0) } ?? Recursions(seg: seg, n: h.count, q: best.q)
      let bounds = r.mapSegments()
      var cuts: [Cut] = []
      for b in 1..<bounds.count {
        let (s0, e0, e1) = (bounds[b - 1].0, bounds[b].0, bounds[b].1)
        let f = background.familyBayesFactors(h, left: s0..<e0, right: e0..<e1, alpha: best.alpha)
        cuts.append(Cut(probability: r.cutProbability(at: e0), idleDays: Double(h[e0].start - h[e0 - 1].end) / 86400,
                        entry: f[0], exit: f[1], hours: f[2], stops: f[3], activity: f[4], prior: q?[e0]))
      }
      for (b, (s, e)) in bounds.enumerated() {
        episodes.append(Episode(vehicle: v, first: h[s].start, last: h[e - 1].end, visits: e - s,
                                confidence: r.segmentProbability(s, e),
                                cutBefore: b > 0 ? cuts[b - 1] : nil, cutAfter: b < cuts.count ? cuts[b] : nil))
      }
    }
    guard let prior else {
      return Result(episodes: episodes, concentration: best.alpha, changeProbability: best.q, logEvidence: best.evidence)
    }
    return Result(episodes: episodes, concentration: best.alpha, changeProbability: gaps > 0 ? priorSum / Double(gaps) : best.q,
                  logEvidence: prior.logEvidence, gapPrior: prior)
  }
}

/// The prior probability that a new period of use starts at the gap between two visits of a car, learned
/// from the store: logit q = θ[idle class] + φ_last[site the car was last read at] + φ_next[site it is
/// next read at]. The site terms have a normal prior around 0 (sd 1), so a site moves q only when many
/// gaps say so — a hire depot, where cars are returned and collected between hires, earns a large one; the
/// idle classes (under 6 h, 6–18 h, 18–36 h, 1.5–3 days, 3–7 days, longer) learn how much an idle spell
/// says. Fitted by EM on the product-partition model's marginal likelihood at the chosen concentration:
/// the E-step is each gap's posterior probability of a cut (the exact forward–backward sums), the M-step
/// a penalised logistic regression of those probabilities on the gap's features (Newton steps).
public struct GapPrior: Codable, Sendable, Equatable {
  /// Upper bounds (hours) of the idle classes but the last.
  public static let idleClassHours: [Double] = [6, 18, 36, 72, 168]
  public var idle: [Double]
  public var lastSite: [Double]
  public var nextSite: [Double]
  /// Log marginal likelihood of every car's history under the learned prior.
  public var logEvidence: Double
  /// EM iterations taken.
  public var iterations: Int

  static func idleClass(_ seconds: Int64) -> Int {
    let hours = Double(seconds) / 3600
    return idleClassHours.firstIndex { hours < $0 } ?? idleClassHours.count
  }

  /// q at each gap of a history: element g is the gap before visit g (element 0 unused, 0).
  func probabilities(_ h: [EpisodeSegmenter.Visit]) -> [Double] {
    var q = [Double](repeating: 0, count: h.count)
    for g in h.indices.dropFirst() {
      let x = idle[Self.idleClass(h[g].start - h[g - 1].end)] + lastSite[h[g - 1].exit] + nextSite[h[g].entry]
      q[g] = min(max(1 / (1 + exp(-x)), 1e-6), 1 - 1e-6)
    }
    return q
  }

  /// EM from q = `start` at every gap; nil when the histories have fewer than 20 gaps.
  static func learn(histories: [[EpisodeSegmenter.Visit]], segments: [[Double]], sites: Int, start: Double,
                    maxIterations: Int = 50) -> GapPrior? {
    let gapCount = histories.reduce(0) { $0 + max(0, $1.count - 1) }
    guard gapCount >= 20 else { return nil }
    let classes = idleClassHours.count + 1
    let logit0 = log(start / (1 - start))
    var prior = GapPrior(idle: [Double](repeating: logit0, count: classes), lastSite: [Double](repeating: 0, count: sites),
                         nextSite: [Double](repeating: 0, count: sites), logEvidence: -.infinity, iterations: 0)
    // Each gap's features (idle class, last site, next site) as parameter indices.
    var features: [(Int, Int, Int)] = []
    for h in histories {
      for g in h.indices.dropFirst() {
        features.append((idleClass(h[g].start - h[g - 1].end), classes + h[g - 1].exit, classes + sites + h[g].entry))
      }
    }
    let p = classes + 2 * sites
    // The normal prior's precision: sd 1 on the site terms, a weak one (sd 10) on the idle classes.
    let precision = (0..<p).map { $0 < classes ? 0.01 : 1.0 }
    var parameters = prior.idle + prior.lastSite + prior.nextSite
    var previous = -Double.infinity
    for iteration in 1...maxIterations {
      // E-step: the posterior probability of a cut at every gap, and the evidence.
      var posterior: [Double] = []
      posterior.reserveCapacity(gapCount)
      var evidence = 0.0
      for (h, seg) in zip(histories, segments) where !h.isEmpty {
        let r = Recursions(seg: seg, n: h.count, gapPriors: prior.probabilities(h))
        evidence += r.z
        for g in h.indices.dropFirst() { posterior.append(r.cutProbability(at: g)) }
      }
      var penalty = 0.0
      for j in 0..<p { penalty += 0.5 * precision[j] * parameters[j] * parameters[j] }
      prior.logEvidence = evidence; prior.iterations = iteration
      if evidence - penalty - previous < 1e-6 * abs(evidence) { break }
      previous = evidence - penalty
      // M-step: Newton steps on the penalised Bernoulli likelihood of the posteriors.
      for _ in 0..<3 {
        var gradient = (0..<p).map { -precision[$0] * parameters[$0] }
        var hessian = Matrix(rows: p, columns: p)
        for j in 0..<p { hessian[j, j] = precision[j] }
        for (k, (a, b, c)) in features.enumerated() {
          let x = parameters[a] + parameters[b] + parameters[c]
          let q = 1 / (1 + exp(-x)), w = q * (1 - q), residual = posterior[k] - q
          for i in [a, b, c] {
            gradient[i] += residual
            for j in [a, b, c] { hessian[i, j] += w }
          }
        }
        guard let step = try? Cholesky(hessian).solve(gradient) else { break }
        for j in 0..<p { parameters[j] += step[j] }
      }
      prior.idle = Array(parameters[0..<classes])
      prior.lastSite = Array(parameters[classes..<(classes + sites)])
      prior.nextSite = Array(parameters[(classes + sites)...])
    }
    return prior
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
  let seg: [Double], n: Int
  /// log q at the gap before visit g (element g; element 0 unused), and the running sum of log(1 − q)
  /// over gaps 1…g, so that the gaps inside visits s…e − 1 contribute stay[e − 1] − stay[s].
  let lq: [Double], stay: [Double]
  /// forward[e]: log P(visits 0..<e, a period ends at e − 1); backward[s]: log P(visits s..<n | a period starts at s).
  var forward: [Double], backward: [Double]
  var z: Double { forward[n] }

  /// One prior probability q of a new period at every gap.
  init(seg: [Double], n: Int, q: Double) { self.init(seg: seg, n: n, gapPriors: [Double](repeating: q, count: n)) }

  /// q per gap: element g for the gap before visit g.
  init(seg: [Double], n: Int, gapPriors q: [Double]) {
    self.seg = seg; self.n = n
    var lq = [Double](repeating: 0, count: max(1, n)), stay = lq
    for g in 1..<max(1, n) { lq[g] = log(q[g]); stay[g] = stay[g - 1] + log1p(-q[g]) }
    self.lq = lq; self.stay = stay
    var f = [Double](repeating: -.infinity, count: n + 1), b = [Double](repeating: -.infinity, count: n + 1)
    f[0] = 0; b[n] = 0
    for e in 1...max(1, n) where n > 0 {
      var terms: [Double] = []
      for s in 0..<e { terms.append(f[s] + (s > 0 ? lq[s] : 0) + stay[e - 1] - stay[s] + seg[s * n + e - 1]) }
      f[e] = logSumExp(terms)
    }
    for s in stride(from: n - 1, through: 0, by: -1) {
      var terms: [Double] = []
      for e in (s + 1)...n { terms.append(seg[s * n + e - 1] + stay[e - 1] - stay[s] + (e < n ? lq[e] + b[e] : 0)) }
      b[s] = logSumExp(terms)
    }
    forward = f; backward = b
  }

  /// Posterior probability that visits s..<e form exactly one period.
  func segmentProbability(_ s: Int, _ e: Int) -> Double {
    min(1, exp(forward[s] + (s > 0 ? lq[s] : 0) + seg[s * n + e - 1] + stay[e - 1] - stay[s] + (e < n ? lq[e] + backward[e] : 0) - z))
  }

  /// Posterior probability of a cut between visits e − 1 and e.
  func cutProbability(at e: Int) -> Double { min(1, exp(forward[e] + lq[e] + backward[e] - z)) }

  /// The maximum a posteriori segmentation as (start, end) visit ranges.
  func mapSegments() -> [(Int, Int)] {
    guard n > 0 else { return [] }
    var best = [Double](repeating: -.infinity, count: n + 1), from = [Int](repeating: 0, count: n + 1)
    best[0] = 0
    for e in 1...n {
      for s in 0..<e {
        let v = best[s] + (s > 0 ? lq[s] : 0) + stay[e - 1] - stay[s] + seg[s * n + e - 1]
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
