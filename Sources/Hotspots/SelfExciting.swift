import Foundation
import Modelling
import Reads

/// Self-exciting point process (Mohler, Short, Brantingham, Schoenberg & Tita 2011,
/// doi:10.1198/jasa.2011.ap09546), on events at unit locations:
/// ```
/// λ(u, t) = μ_u · s(t) + Σ_{j: t_j < t} θ · ω e^{−ω (t − t_j)} · k(u | u_j),
/// k(u | v) = exp(−d(u,v)² / 2σ²) / Σ_w exp(−d(w,v)² / 2σ²)
/// ```
/// μ_u is a background rate per unit (shrunk towards the mean unit's by empirical Bayes), s(t) a seasonal
/// profile (by hour of the week or day, averaging 1 over the history), θ the expected number of
/// events each event triggers, 1/ω their mean delay, σ their spatial spread. Fitted by EM with
/// stochastic-declustering probabilities (Veen & Schoenberg 2008); pairs further apart than the
/// cut-offs are never considered, so fitting is linear in events × (events within the cut-off).
/// Counts in a bin are events at the bin's midpoint.
public struct SelfExcitingModel: HotspotModel, Equatable {
  public static let kind: ModelKind = "self-exciting"
  public var cutoffDays = 7.0
  public var cutoffMetres = 1500.0
  public var maxIterations = 300
  public var tolerance = 1e-6
  /// Upper bound on (event, candidate parent) pairs examined per EM iteration.
  public var maxCandidatePairs = 3_000_000
  public init() {}
  enum CodingKeys: String, CodingKey, CaseIterable {
    case cutoffDays = "cutoff_days", cutoffMetres = "cutoff_metres", maxIterations = "max_iterations", tolerance
  }
  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), kind: Self.kind)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    cutoffDays = try c.decodeIfPresent(Double.self, forKey: .cutoffDays) ?? 7
    cutoffMetres = try c.decodeIfPresent(Double.self, forKey: .cutoffMetres) ?? 1500
    maxIterations = try c.decodeIfPresent(Int.self, forKey: .maxIterations) ?? 300
    tolerance = try c.decodeIfPresent(Double.self, forKey: .tolerance) ?? 1e-6
    guard cutoffDays > 0, cutoffMetres > 0, maxIterations > 0 else { throw SpecError.invalid("self-exciting: cut-offs and max_iterations must be > 0") }
  }

  /// An event: unit index, time (seconds), multiplicity.
  struct Event: Equatable { var unit: Int; var time: Double; var count: Double }

  public func fit(_ data: CountTable, clock: LocalClock) throws -> FittedSelfExciting {
    try fit(data, clock: clock, startingFrom: nil)
  }

  /// EM from `previous`'s parameters when it is a fit of this model on the same units (a backtest's
  /// last window: a day more of history moves them little), else from fixed starting values.
  public func fit(_ data: CountTable, clock: LocalClock, startingFrom previous: (any FittedHotspotModel)?) throws -> FittedSelfExciting {
    let starts = data.binStarts
    var events: [Event] = []
    for b in 0..<data.binCount {
      let mid = Double(starts[b] + data.binning.next(starts[b])) / 2
      for u in 0..<data.units.count where data[u, b] > 0 { events.append(Event(unit: u, time: mid, count: data[u, b])) }
    }
    events.sort { $0.time < $1.time }
    let totalCount = events.reduce(0) { $0 + $1.count }
    guard totalCount > 0 else { throw FitError.noData("no target events to fit the self-exciting model") }
    let T = Double(data.end - data.firstBin)
    let n = data.units.count
    // Units within the cut-off of each other, found once (memory and work in pairs within the cut-off,
    // not units²: 9 000 cells of a city make 81 M pairs, a few hundred thousand near ones).
    let near = UnitNeighbours.cached(units: data.units, cutoffMetres: cutoffMetres)
    // Seasonal profile of the background by local hour of the week (168 slots) when the history holds
    // a week, else by hour of the day (24), normalised as below, re-estimated each iteration from the
    // declustered background events and shrunk towards flat: estimating it from all counts would let
    // it absorb the clusters the triggering kernel should explain. (By hour of the day alone, Bath's
    // traffic was forecast on a Saturday like on a Friday, 38% too high.)
    let hourly = (data.binning.nominalSeconds ?? 86400) < 86400
    let weekly = hourly && T >= 7 * 86400
    let binSeconds = Double(data.binning.nominalSeconds ?? 86400)
    var profile = [Double](repeating: 1, count: weekly ? 168 : 24)
    /// The slot of the bin an event was counted in, by the bin's start (as the forecast takes it; an
    /// event's time is its bin's middle).
    func hourSlot(_ t: Double) -> Int {
      guard hourly else { return 0 }
      let start = Int64(t - binSeconds / 2)
      return weekly ? clock.hourOfWeek(start) : clock.hourOfDay(start)
    }
    // Each slot's share of the history's time: a slot seen on two weekdays of a 9-day history has
    // twice the exposure of one seen once. The profile is background events per unit of a slot's time,
    // normalised so that Σ_k s_k·E_k = T: the background's integral over the history is then Σμ·T.
    var exposure = [Double](repeating: 0, count: profile.count)
    for b in 0..<data.binCount { exposure[hourSlot(Double(starts[b]) + binSeconds / 2)] += binSeconds }
    let usedSlots = Double(max(1, exposure.filter { $0 > 0 }.count))
    /// Shares scaled so that Σ_k s_k·E_k = T.
    func normalised(_ s: [Double]) -> [Double] {
      let total = s.indices.reduce(0.0) { $0 + s[$1] * exposure[$1] }
      return total > 0 ? s.map { $0 * T / total } : s
    }
    /// Shares from background events per slot. By hour of the day: with `shrink` pseudo-events per slot
    /// of average exposure pulling them towards flat. By hour of the week: each weekday's hour shrunk
    /// towards that hour's rate over the whole week by as many pseudo-bins as the counts themselves
    /// ask for (`learnedSmoothing`, the historical mean's empirical Bayes) — Bath's traffic keeps its
    /// weekends, sparse rental reads (a hundred a week over 168 slots) keep little more than the day's
    /// shape, where shrinking towards flat alone had cost them (simulated towns' log score −0.71 → −1.20).
    /// Slots the history never holds keep 1.
    func shares(_ events: [Double], shrink: Double) -> [Double] {
      let raw: [Double]
      if weekly {
        var hourEvents = [Double](repeating: 0, count: 24), hourExposure = hourEvents
        for k in events.indices { hourEvents[k % 24] += events[k]; hourExposure[k % 24] += exposure[k] }
        let usedHours = Double(max(1, hourExposure.filter { $0 > 0 }.count))
        // Each hour's rate per bin over the week, shrunk towards flat as by hour of the day.
        let hourRate = (0..<24).map { h in
          hourExposure[h] > 0 ? (hourEvents[h] + shrink * hourExposure[h] * usedHours / T) / hourExposure[h] * binSeconds : 0
        }
        // Hours as units and weekdays as slots: a weekday's bins of an hour are its exposure over a bin.
        var byDay = [Double](repeating: 0, count: 24 * 7), dayBins = [Double](repeating: 0, count: 7)
        for k in events.indices { byDay[(k % 24) * 7 + k / 24] = events[k] }
        for d in 0..<7 { dayBins[d] = exposure[(d * 24)..<(d * 24 + 24)].reduce(0, +) / 24 / binSeconds }
        let a = learnedSmoothing(sums: byDay, slotBins: dayBins, means: hourRate)
        raw = events.indices.map { k in
          exposure[k] > 0 ? (events[k] + a * hourRate[k % 24]) / (exposure[k] / binSeconds + a) / binSeconds : 0
        }
      } else {
        let meanExposure = T / usedSlots
        raw = events.indices.map { k in exposure[k] > 0 ? (events[k] + shrink * exposure[k] / meanExposure) / exposure[k] : 0 }
      }
      guard raw.contains(where: { $0 > 0 }) else { return [Double](repeating: 1, count: events.count) }
      return zip(normalised(raw), exposure).map { $1 > 0 ? $0 : 1 }
    }
    // Each event's slot, found once (the EM steps read it for every event).
    let eventSlot = events.map { hourSlot($0.time) }
    if weekly {
      // Started from the counts' own shares by hour of the week, not flat: from flat the triggering
      // first takes the weekly cycle for clustering and EM needs many iterations to hand it back.
      var byHour = [Double](repeating: 0, count: profile.count)
      for (e, k) in zip(events, eventSlot) { byHour[k] += e.count }
      profile = shares(byHour, shrink: 10)
    }
    var theta = 0.2, omega = 1 / 14400.0, sigma = cutoffMetres / 3
    var mu = [Double](repeating: totalCount * 0.8 / T / Double(n), count: n)
    if let p = previous as? FittedSelfExciting, p.specification == self, p.units == data.units.map(\.id), p.background.count == n,
       p.theta.isFinite, p.theta > 0, p.theta < 1, p.omegaPerSecond > 0, p.sigmaMetres > 0,
       p.seasonalShares.count == profile.count, p.background.allSatisfy({ $0.isFinite && $0 >= 0 }) {
      theta = p.theta; omega = p.omegaPerSecond; sigma = p.sigmaMetres
      if hourly { profile = p.seasonalShares }
      // A unit with no background left at the last fit starts from a little, so it can come back.
      let floor = totalCount * 0.8 / T / Double(n) * 1e-3
      mu = p.background.map { max($0, floor) }
    }
    // Bound the E-step's work: when the cut-offs would give more than `maxCandidatePairs` parent
    // candidates (busy targets such as all reads), shorten the time cut-off and say so.
    var cutT = cutoffDays * 86400
    var budgetNote: String? = nil
    func estimatePairs(_ window: Double) -> Double {
      var total = 0.0, lo = 0
      for i in events.indices {
        while events[lo].time < events[i].time - window { lo += 1 }
        total += Double(i - lo)
      }
      return total * Double(near.count) / (Double(n) * Double(n))
    }
    while estimatePairs(cutT) > Double(maxCandidatePairs) && cutT > 3600 {
      cutT /= 2
      budgetNote = String(format: "time cut-off shortened to %.1f h to keep the fit tractable (%d events)", cutT / 3600, events.count)
    }
    var iterations = 0
    var converged = false
    // Candidate parents within the cut-offs. Events in the same bin have no known order: each may be
    // the other's parent with probability ½ at a lag of a third of the bin (the mean gap of two uniform
    // points); the other events counted in the same unit-bin likewise. Ignoring same-bin pairs would push
    // every short-lag child onto older parents and inflate the estimated delay (by ~25% at 1 h bins, 12 h delays).
    // Candidates are stored flat; a lag is a whole number of bins (index 0 = same bin, lag w/3), so
    // exp(−ω·lag) is a table per iteration and each pair costs two lookups and a multiply.
    let binWidth = Double(data.binning.nominalSeconds ?? 30 * 86400)
    let pairEstimate = estimatePairs(cutT)
    // After shortening, a target this busy would still need more pairs than a fit can hold: say so
    // rather than run for hours (all reads of a county at hourly bins are millions of events an hour apart
    // at most; the model is for sparse events).
    if pairEstimate > 20 * Double(maxCandidatePairs) {
      throw FitError.noData(String(format: "self-exciting: %d events (cells with counts) would need about %.2g parent candidates even with the time cut-off at %.1f h (limit %d): the model is for sparse events — fit it to a rarer target (keeper=rental, a watch list, recorded crime), with a shorter cutoff_metres or longer bins, or use the Poisson or negative-binomial GLM for busy counts", events.count, pairEstimate, cutT / 3600, 20 * maxCandidatePairs))
    }
    // A backtest's next window has the last one's events and a day more: their candidates are extended.
    let cache = (previous as? FittedSelfExciting)?.candidateCache ?? SelfExcitingCandidateCache()
    let cands = cache.candidates(events, near: near, key: .init(units: data.units.map(\.id), cutoffMetres: cutoffMetres, cutoffSeconds: cutT, binWidth: binWidth))
    let candStart = cands.start, candJ = cands.parent, candLag = cands.lag, candFactor = cands.factor, candPair = cands.pair
    // Each unit's background is shrunk towards the mean unit's (empirical Bayes, as the historical
    // mean's slots): the M-step's rate is the posterior mean under a gamma prior holding as many bins of
    // the mean unit's rate as the units' counts ask for (`learnedSmoothing`, the units as one unit's
    // slots over the history). A cell with no event in the history kept no background at all by
    // maximum likelihood, so an event there was near-impossible (SEPP benchmark log score −0.052 →
    // −0.039, the best of the models; BENCHMARKS.md).
    var unitCounts = [Double](repeating: 0, count: n)
    for e in events { unitCounts[e.unit] += e.count }
    let historyBins = T / binWidth
    let priorSeconds = learnedSmoothing(sums: unitCounts, slotBins: [Double](repeating: historyBins, count: n),
                                        means: [totalCount / (historyBins * Double(n))]) * binWidth
    let maxLag = Int(candLag.max() ?? 0)
    let lagSeconds = (0...maxLag).map { $0 == 0 ? binWidth / 3 : Double($0) * binWidth }
    var contributions = [Double](repeating: 0, count: candJ.count)
    /// One EM step from `x`: the next parameters and the log-likelihood at `x` (up to a constant).
    func emStep(_ x: Parameters) -> (next: Parameters, objective: Double, logLikelihood: Double) {
      let (mu, theta, omega, sigma) = (x.mu, x.theta, x.omega, x.sigma)
      profile = x.profile
      let kernel = near.kernel(sigmaMetres: sigma)  // k(u | v) per (v, u) entry
      // The delay density is the exponential truncated at the cut-off (no parent is sought further
      // back), so θ is the expected offspring within it and ω is not biased by the unseen tail.
      let mass = -expm1(-omega * cutT)
      let decay = lagSeconds.map { theta * omega * exp(-omega * $0) / mass }
      var bgSum = [Double](repeating: 0, count: n)
      var bgHour = [Double](repeating: 0, count: profile.count)
      var trig = 0.0, trigDt = 0.0
      var pairQ = [Double](repeating: 0, count: near.count)  // expected offspring at u from parents at v, per (v, u) entry
      var sumLogIntensity = 0.0
      for (i, e) in events.enumerated() {
        let bg = mu[e.unit] * profile[eventSlot[i]]
        var total = bg
        for c in candStart[i]..<candStart[i + 1] {
          let p = events[Int(candJ[c])]
          let g = candFactor[c] * p.count * decay[Int(candLag[c])] * kernel[Int(candPair[c])]
          contributions[c] = g; total += g
        }
        sumLogIntensity += e.count * log(max(total, 1e-300))
        // An event these parameters give no intensity at all (a jump that zeroed its unit's background
        // and θ): the likelihood says so, and it has no shares to hand out.
        guard total > 0 else { continue }
        bgSum[e.unit] += e.count * bg / total
        bgHour[eventSlot[i]] += e.count * bg / total
        let scale = e.count / total
        for c in candStart[i]..<candStart[i + 1] {
          let q = contributions[c] * scale
          trig += q; trigDt += q * lagSeconds[Int(candLag[c])]; pairQ[Int(candPair[c])] += q
        }
      }
      var next = x
      let meanRate = bgSum.reduce(0, +) / (T * Double(n))
      next.mu = bgSum.map { ($0 + priorSeconds * meanRate) / (T + priorSeconds) }  // shrunk towards the mean unit
      next.theta = min(0.95, trig / totalCount)
      next.omega = trig > 0 ? truncatedExponentialRate(meanLag: trigDt / trig, cutoff: cutT) : omega
      // σ: maximise Σ q log k(u|v; σ) for the kernel normalised over the discrete units (the
      // continuous-plane formula Σqd²/2Σq collapses σ when most offspring land at their parent's unit).
      next.sigma = trig > 0 ? near.maximumLikelihoodSigma(offspring: pairQ, lowerMetres: 10, upperMetres: cutoffMetres * 2, start: sigma) : sigma
      if hourly { next.profile = shares(bgHour, shrink: 10) }  // 10 pseudo-events a slot pulling towards flat
      // The log-likelihood at x: Σ n log λ minus the compensator, background Σμ·T (the seasonal
      // shares integrate to T over the history) plus θ per event. EM climbs it with the background's
      // gamma prior added, Σ_u A(m log μ_u − μ_u) (A the prior's seconds, m the mean unit's rate; the
      // M-step above is its maximiser): the objective that convergence and SQUAREM's jumps are judged by.
      let logLikelihood = sumLogIntensity - (mu.reduce(0, +) * T + theta * totalCount)
      let m = mu.reduce(0, +) / Double(n)
      let prior = priorSeconds > 0 && m > 0 ? priorSeconds * mu.reduce(0.0) { $0 + m * log(max($1, 1e-300)) - $1 } : 0
      return (next, logLikelihood + prior, logLikelihood)
    }
    /// How far EM moved the parameters (relative), the convergence yardstick.
    func change(_ a: Parameters, _ b: Parameters) -> Double {
      abs(b.theta - a.theta) + abs(b.omega - a.omega) / a.omega + abs(b.sigma - a.sigma) / a.sigma
        + zip(b.mu, a.mu).map { abs($0 - $1) }.reduce(0, +) / max(a.mu.reduce(0, +), 1e-300)
    }
    // EM converges linearly, and slowly where background and triggering can explain the same counts
    // (Bath's traffic with a weekly background: ~300 iterations). SQUAREM (Varadhan & Roland 2008,
    // scheme S3) extrapolates along two EM steps and takes the result only when its objective (the
    // log-likelihood with the background's prior) is no worse than the first step's; every evaluation of
    // the EM map counts as an iteration.
    var x = Parameters(mu: mu, theta: theta, omega: omega, sigma: sigma, profile: profile)
    var logLik = -Double.infinity, lastChange = Double.nan, lastLLChange = Double.nan
    var reportedLogLikelihood = -Double.infinity  // the plain log-likelihood where `logLik` (the objective) was taken
    func converge(_ from: Parameters, _ to: Parameters, ll: Double, plain: Double) -> Bool {
      reportedLogLikelihood = plain
      lastChange = change(from, to)
      lastLLChange = ll - logLik
      let done = lastChange < tolerance || (iterations > 2 && abs(lastLLChange) <= 1e-8 * max(1, abs(ll)))
      logLik = ll
      return done
    }
    while iterations < maxIterations {
      iterations += 1
      let (x1, ll0, plain0) = emStep(x)
      if converge(x, x1, ll: ll0, plain: plain0) { x = x1; converged = true; break }
      guard iterations < maxIterations else { x = x1; break }
      iterations += 1
      let (x2, ll1, plain1) = emStep(x1)
      if converge(x1, x2, ll: ll1, plain: plain1) { x = x2; converged = true; break }
      guard iterations < maxIterations,
            let jump = Parameters.squarem(x, x1, x2, lowerSigma: 10, upperSigma: cutoffMetres * 2, normalise: normalised) else { x = x2; continue }
      iterations += 1
      let (x3, llJump, plainJump) = emStep(jump)
      // The jump is kept (one EM step on from it) when it is at least as likely as the first step.
      if llJump.isFinite && llJump >= ll1 && x3.isFinite { logLik = llJump; reportedLogLikelihood = plainJump; x = x3 } else { x = x2 }
    }
    mu = x.mu; theta = x.theta; omega = x.omega; sigma = x.sigma; profile = x.profile
    let diagnosis = String(format: "EM did not converge in %d iterations: in the last one the parameters moved by %.2g (relative; tolerance %.2g) and the penalised log-likelihood by %.3g; raise max_iterations, or the model may not suit these counts (θ = %.3f)",
                           maxIterations, lastChange, tolerance, lastLLChange, theta)
    var fitted = FittedSelfExciting(
      specification: self, units: data.units.map(\.id), background: mu, seasonalShares: profile, theta: theta,
      omegaPerSecond: omega, sigmaMetres: sigma,
      diagnostics: FitDiagnostics(converged: converged, iterations: iterations, deviance: .nan, nullDeviance: .nan,
                                  logLikelihood: reportedLogLikelihood, observations: events.count, parameters: n + 3,
                                  notes: (converged ? [] : [diagnosis]) + (budgetNote.map { [$0] } ?? [])))
    fitted.candidateCache = cache
    return fitted
  }

  /// The self-exciting model's parameters as EM moves them.
  struct Parameters {
    var mu: [Double]; var theta: Double; var omega: Double; var sigma: Double; var profile: [Double]

    /// The SQUAREM jump from x0 through two EM steps x1, x2 (step length α = −‖r‖/‖v‖, r = x1 − x0,
    /// v = x2 − 2x1 + x0, at most −1), in coordinates where every value of them is a valid parameter and
    /// the parameters are comparable: logit(θ/0.95), log ω, log σ, log of each background rate over
    /// their mean, log of each seasonal share. A rate or θ at 0 in any of the three (a boundary EM
    /// reached) stays at x2's value and is left out of the norms; σ is kept within its bounds and the
    /// shares are renormalised by `normalise`. Nil when the two steps leave nothing to extrapolate (v
    /// within rounding of 0, or α ≥ −1: x2 itself); α is kept above −1 000.
    static func squarem(_ x0: Parameters, _ x1: Parameters, _ x2: Parameters, lowerSigma: Double, upperSigma: Double,
                        normalise: ([Double]) -> [Double] = { $0 }) -> Parameters? {
      let scale = max(x0.mu.reduce(0, +) / Double(max(1, x0.mu.count)), 1e-300)
      func logit(_ t: Double) -> Double { log(t / 0.95) - log1p(-t / 0.95) }
      func coordinates(_ p: Parameters) -> [Double] {
        [logit(p.theta), log(p.omega), log(p.sigma)] + p.mu.map { log($0 / scale) } + p.profile.map { log($0) }
      }
      let c0 = coordinates(x0), c1 = coordinates(x1), c2 = coordinates(x2)
      let free = c0.indices.map { c0[$0].isFinite && c1[$0].isFinite && c2[$0].isFinite }
      var rr = 0.0, vv = 0.0
      for i in c0.indices where free[i] {
        let r = c1[i] - c0[i], v = c2[i] - 2 * c1[i] + c0[i]
        rr += r * r; vv += v * v
      }
      // v within rounding of 0: the steps are not slowing (or have stopped), nothing to extrapolate;
      // and a jump of over 1 000 steps is not trusted.
      guard rr.isFinite, vv.isFinite, vv > 1e-20 * rr else { return nil }
      let alpha = max(-1000, -(rr / vv).squareRoot())
      guard alpha < -1 else { return nil }
      let c = c0.indices.map { i in
        free[i] ? c0[i] - 2 * alpha * (c1[i] - c0[i]) + alpha * alpha * (c2[i] - 2 * c1[i] + c0[i]) : c2[i]
      }
      guard zip(c, free).allSatisfy({ $0.isFinite || !$1 }) else { return nil }
      var out = x2
      if free[0] { out.theta = 0.95 / (1 + exp(-c[0])) }
      if free[1] { out.omega = exp(c[1]) }
      if free[2] { out.sigma = min(upperSigma, max(lowerSigma, exp(c[2]))) }
      let n = x0.mu.count
      for u in 0..<n where free[3 + u] { out.mu[u] = scale * exp(c[3 + u]) }
      if !x0.profile.isEmpty {
        out.profile = normalise((0..<x0.profile.count).map { free[3 + n + $0] ? exp(c[3 + n + $0]) : x2.profile[$0] })
      }
      return out.isFinite ? out : nil
    }

    /// Whether every parameter is a finite number.
    var isFinite: Bool {
      theta.isFinite && omega.isFinite && sigma.isFinite && mu.allSatisfy(\.isFinite) && profile.allSatisfy(\.isFinite)
    }
  }

  /// How `candidates` finds each event's possible parents: the cheaper way per event, or one way for all
  /// (tests check the two give the same list).
  enum CandidateSearch { case cheaper, window, neighbours }

  /// Every event's candidate parents within the cut-offs, flat (event i's at `start[i]..<start[i + 1]`),
  /// in event order: the parent event, the lag in bins (0 = same bin), the pair's weight (1; ½ for two
  /// events of one bin; the share of an event's other counts in its own bin) and the (parent unit, child
  /// unit) entry of `near`.
  struct Candidates: Equatable { var start: [Int]; var parent: [Int32]; var lag: [Int32]; var factor: [Double]; var pair: [Int32] }

  /// `extending` holds the candidates of the first events, found before: only the later events' are
  /// searched (an event's candidates are events no later than it, so the earlier lists do not change
  /// when the later events all come after the last of them — the caller checks that).
  static func candidates(_ events: [Event], near: UnitNeighbours, units n: Int, cutoffSeconds cutT: Double, binWidth: Double,
                         search: CandidateSearch = .cheaper, extending prior: Candidates? = nil) -> Candidates {
    let done = prior.map { $0.start.count - 1 } ?? 0
    var candStart = prior?.start ?? [0]
    candStart.reserveCapacity(events.count + 1)
    // candPair: the (parent unit, child unit) entry of `near`, where the kernel and the expected offspring are kept.
    var candJ: [Int32] = prior?.parent ?? [], candLag: [Int32] = prior?.lag ?? [], candFactor: [Double] = prior?.factor ?? [], candPair: [Int32] = prior?.pair ?? []
    // Each unit's events in time order, and for each entry (u → v) of `near` the entry (v → u): a child's
    // candidates come from the events of the units near it when the window holds more events than
    // there are such units (busy counts), else from a scan of the window (sparse events).
    var byUnit = [[Int32]](repeating: [], count: n)
    for (i, e) in events.enumerated() { byUnit[e.unit].append(Int32(i)) }
    let mirror = near.mirror
    var first = [Int](repeating: 0, count: n)  // per unit: its first event not before the window
    var found: [(j: Int32, pair: Int32)] = []
    var lo = 0
    for i in done..<events.count {
      let child = events[i], u = child.unit
      found.removeAll(keepingCapacity: true)
      while events[lo].time < child.time - cutT { lo += 1 }
      if search == .window || (search == .cheaper && i - lo < near.start[u + 1] - near.start[u]) {
        // Fewer events in the window than units near the child (sparse events): scan the window.
        var j = lo
        while j < events.count && events[j].time <= child.time {
          if let k = near.entry(from: events[j].unit, to: u) { found.append((Int32(j), Int32(k))) }
          j += 1
        }
      } else {
        for e in near.start[u]..<near.start[u + 1] where mirror[e] >= 0 {
          let v = Int(near.unit[e]), list = byUnit[v]
          var k = first[v]
          while k < list.count && events[Int(list[k])].time < child.time - cutT { k += 1 }
          first[v] = k
          while k < list.count && events[Int(list[k])].time <= child.time { found.append((list[k], mirror[e])); k += 1 }
        }
        found.sort { $0.j < $1.j }  // in event order, as the sums over candidates have always run
      }
      for (jj, pair) in found {
        let j = Int(jj)
        if events[j].time < child.time {
          candJ.append(jj); candFactor.append(1); candPair.append(pair)
          candLag.append(Int32(((child.time - events[j].time) / binWidth).rounded()))
        } else if j != i {
          candJ.append(jj); candFactor.append(0.5); candLag.append(0); candPair.append(pair)
        } else if child.count > 1 {
          candJ.append(jj); candFactor.append(0.5 * (child.count - 1) / child.count); candLag.append(0); candPair.append(pair)
        }
      }
      candStart.append(candJ.count)
    }
    return Candidates(start: candStart, parent: candJ, lag: candLag, factor: candFactor, pair: candPair)
  }
}

public struct FittedSelfExciting: FittedHotspotModel, Codable {
  enum CodingKeys: String, CodingKey { case specification, units, background, seasonalShares, theta, omegaPerSecond, sigmaMetres, fitDiagnostics }
  /// The events and parent candidates this fit was made on, for a fit on a longer history (not saved).
  var candidateCache: SelfExcitingCandidateCache? = nil
  public var kind: String { SelfExcitingModel.kind.rawValue }
  public static var legacyBodyKeys: [String] { ["selfExciting"] }
  public let specification: SelfExcitingModel
  public let units: [String]
  /// Background events per second per unit (before the seasonal profile).
  public let background: [Double]
  public let seasonalShares: [Double]
  /// Expected events triggered by each event (branching ratio).
  public let theta: Double
  public let omegaPerSecond: Double
  public let sigmaMetres: Double
  let fitDiagnostics: FitDiagnostics
  public var diagnostics: FitDiagnostics? {
    var d = fitDiagnostics
    if d.deviance.isNaN { d.deviance = 0; d.nullDeviance = 0 }; if !d.logLikelihood.isFinite { d.logLikelihood = 0 }
    return d
  }

  init(specification: SelfExcitingModel, units: [String], background: [Double], seasonalShares: [Double], theta: Double,
       omegaPerSecond: Double, sigmaMetres: Double, diagnostics: FitDiagnostics) {
    self.specification = specification; self.units = units; self.background = background; self.seasonalShares = seasonalShares
    self.theta = theta; self.omegaPerSecond = omegaPerSecond; self.sigmaMetres = sigmaMetres
    var d = diagnostics; if d.deviance.isNaN { d.deviance = 0; d.nullDeviance = 0 }; if !d.logLikelihood.isFinite { d.logLikelihood = 0 }
    fitDiagnostics = d
  }

  /// Integrates the intensity over each future bin: background (scaled by 1/(1 − θ) for the
  /// offspring of future events) plus the decaying triggering of every past event within the cut-off.
  public func forecast(history h: CountTable, bins: Int, clock: LocalClock) -> HotspotForecast {
    let starts = futureBins(after: h, count: bins)
    let index = Dictionary(uniqueKeysWithValues: units.enumerated().map { ($1, $0) })
    let n = h.units.count
    let meanBg = background.reduce(0, +) / Double(max(1, background.count))
    var fallback: [String] = []
    let bg = h.units.map { u -> Double in
      if let k = index[u.id] { return background[k] }
      fallback.append(u.id); return meanBg
    }
    let near = UnitNeighbours.cached(units: h.units, cutoffMetres: specification.cutoffMetres)
    let kernel = near.kernel(sigmaMetres: sigmaMetres)
    var e = [Double](repeating: 0, count: n * bins)
    let hs = h.binStarts
    let cutT = specification.cutoffDays * 86400
    for b in 0..<bins {
      let a = Double(starts[b]), z = Double(h.binning.next(starts[b]))
      let hourly = (h.binning.nominalSeconds ?? 86400) < 86400
      // One share per hour of the week (a fit on a week or more), else per hour of the day.
      let s = hourly ? seasonalShares[seasonalShares.count == 168 ? clock.hourOfWeek(starts[b]) : clock.hourOfDay(starts[b])] : 1
      for u in 0..<n { e[u * bins + b] = bg[u] * s * (z - a) / (1 - theta) }
      for pb in 0..<h.binCount where Double(hs[pb]) >= Double(h.end) - cutT {
        let t = Double(hs[pb] + h.binning.next(hs[pb])) / 2
        // The truncated delay density integrated over the bin (up to the cut-off).
        let lagEnd = min(z - t, cutT)
        guard lagEnd > a - t else { continue }
        let integral = (exp(-omegaPerSecond * (a - t)) - exp(-omegaPerSecond * lagEnd)) / -expm1(-omegaPerSecond * cutT)
        for v in 0..<n where h[v, pb] > 0 {
          for k in near.start[v]..<near.start[v + 1] {
            e[Int(near.unit[k]) * bins + b] += h[v, pb] * theta * integral * kernel[k]
          }
        }
      }
    }
    return HotspotForecast(model: kind, units: h.units, binStarts: starts, expected: e, alpha: 0, fallbackUnits: fallback)
  }
}

/// The units within a distance of each unit (itself included), found once through buckets: per
/// unit v, the units u near it in unit order with d(u, v)², stored flat (entry k of v at
/// `start[v]..<start[v + 1]`). The self-exciting model's spatial kernel, its expected offspring and its
/// σ step live on these entries, so they cost the pairs within the cut-off, not units².
struct UnitNeighbours {
  var start: [Int]
  var unit: [Int32]
  var squaredMetres: [Double]
  /// Each unit's entries again, nearest first (indices into the entries): sums of exp(−a d²) stop where
  /// a d² passes 37, as every list holds the unit itself (d = 0, a term of 1) and e^−37 ≈ 8.5·10⁻¹⁷ is
  /// under half the spacing of doubles at 1 (1.1·10⁻¹⁶): added to a sum that holds 1 it changes nothing.
  /// (The σ step's moments Σ w d² and Σ w d⁴ have no such term, and move by ~10⁻¹⁴ relative.)
  var nearestFirst: [Int32]
  /// For each entry (v → u), the entry (u → v), or −1 (never, as distance is symmetric, unless rounding
  /// puts one of the pair just past the cut-off).
  var mirror: [Int32]
  var count: Int { unit.count }
  static let negligibleExponent = 37.0

  /// The lists for `units` within `cutoffMetres`; the last sixteen (grid, cut-off) pairs' lists are kept,
  /// as a backtest asks for the same grid in every window's fit and forecast, each model with its own
  /// cut-off (building them is haversines and sorts; with four kept, eight models taking turns window
  /// by window rebuilt them every window — half of a comparison's time).
  static func cached(units: [SpatialUnit], cutoffMetres: Double) -> UnitNeighbours {
    cacheLock.lock()
    if let hit = cache.first(where: { $0.cutoff == cutoffMetres && $0.units == units }) { cacheLock.unlock(); return hit.lists }
    cacheLock.unlock()
    let lists = UnitNeighbours(units: units, cutoffMetres: cutoffMetres)
    cacheLock.lock()
    cache.append((units, cutoffMetres, lists))
    if cache.count > 16 { cache.removeFirst() }
    cacheLock.unlock()
    return lists
  }
  nonisolated(unsafe) private static var cache: [(units: [SpatialUnit], cutoff: Double, lists: UnitNeighbours)] = []
  private static let cacheLock = NSLock()

  init(units: [SpatialUnit], cutoffMetres: Double) {
    let n = units.count
    // Buckets one cut-off wide: a unit's neighbours are in its own bucket and the eight around it. A
    // great-circle distance is at least R·Δφ, and at least R·cos φ·Δλ (φ the larger |latitude|, up to
    // the Δλ³ term; the buckets are 2% wider for it), so nothing within the cut-off is missed.
    let radius = 6_371_008.8
    let maxAbsLatitude = min(89.0, units.map { abs($0.latitude) }.max() ?? 0)
    let latWidth = cutoffMetres / radius * 180 / .pi * 1.02
    let lonWidth = min(360, latWidth / cos(maxAbsLatitude * .pi / 180))
    func bucket(_ u: SpatialUnit) -> (Int, Int) { (Int(floor(u.longitude / lonWidth)), Int(floor(u.latitude / latWidth))) }
    var buckets: [Int64: [Int32]] = [:]
    func key(_ x: Int, _ y: Int) -> Int64 { Int64(x) << 32 | Int64(UInt32(bitPattern: Int32(truncatingIfNeeded: y))) }
    for (i, u) in units.enumerated() { let (x, y) = bucket(u); buckets[key(x, y), default: []].append(Int32(i)) }
    start = [0]; unit = []; squaredMetres = []; nearestFirst = []; mirror = []
    var list: [(Int32, Double)] = []
    for v in 0..<n {
      list.removeAll(keepingCapacity: true)
      let (bx, by) = bucket(units[v])
      for dx in -1...1 {
        for dy in -1...1 {
          for u in buckets[key(bx + dx, by + dy)] ?? [] {
            let d = distanceMetres(units[Int(u)], units[v])
            if d <= cutoffMetres { list.append((u, d * d)) }
          }
        }
      }
      list.sort { $0.0 < $1.0 }
      let first = unit.count
      for (u, d2) in list { unit.append(u); squaredMetres.append(d2) }
      nearestFirst += list.indices.sorted { list[$0].1 != list[$1].1 ? list[$0].1 < list[$1].1 : $0 < $1 }.map { Int32(first + $0) }
      start.append(unit.count)
    }
    mirror = [Int32](repeating: -1, count: unit.count)
    for u in 0..<n {
      for e in start[u]..<start[u + 1] { mirror[e] = Int32(entry(from: Int(unit[e]), to: u) ?? -1) }
    }
  }

  /// The entry of unit `u` in the list of `v`, or nil when they are further apart than the cut-off.
  func entry(from v: Int, to u: Int) -> Int? {
    var lo = start[v], hi = start[v + 1]
    let target = Int32(u)
    while lo < hi { let m = (lo + hi) / 2; if unit[m] < target { lo = m + 1 } else { hi = m } }
    return lo < start[v + 1] && unit[lo] == target ? lo : nil
  }

  /// k(u | v) = exp(−d²/2σ²) / Σ_w exp(−d(w, v)²/2σ²) over the units near v, per entry.
  func kernel(sigmaMetres sigma: Double) -> [Double] {
    let a = 1 / (2 * sigma * sigma)
    var k = [Double](repeating: 0, count: count)
    for v in 0..<(start.count - 1) {
      var z = 0.0
      for i in start[v]..<start[v + 1] {
        let e = Int(nearestFirst[i]), x = a * squaredMetres[e]
        if x >= Self.negligibleExponent { break }
        let w = exp(-x); k[e] = w; z += w
      }
      let inv = 1 / max(z, 1e-300)
      for e in start[v]..<start[v + 1] { k[e] *= inv }
    }
    return k
  }

  /// The σ that maximises Σ_entries q log k(u | v; σ) within [lower, upper]. In a = 1/2σ² the objective
  /// −a Σ q d² − Σ_v q_v log Σ_u exp(−a d²) is concave (its second derivative is −Σ_v q_v Var_v(d²)), so
  /// its derivative falls with a and the root is found by Newton steps kept inside a shrinking bracket.
  func maximumLikelihoodSigma(offspring q: [Double], lowerMetres: Double, upperMetres: Double, start sigma0: Double) -> Double {
    var weighted = 0.0
    var parents: [(v: Int, q: Double)] = []
    for v in 0..<(start.count - 1) {
      var qv = 0.0
      for e in start[v]..<start[v + 1] where q[e] > 0 { qv += q[e]; weighted += q[e] * squaredMetres[e] }
      if qv > 0 { parents.append((v, qv)) }
    }
    guard !parents.isEmpty else { return sigma0 }
    // g(a) = dObjective/da = −Σ q d² + Σ_v q_v E_v[d²], and g'(a) = −Σ_v q_v Var_v(d²).
    func slope(_ a: Double) -> (g: Double, dg: Double) {
      var g = -weighted, dg = 0.0
      for (v, qv) in parents {
        var z = 0.0, m1 = 0.0, m2 = 0.0
        for i in start[v]..<start[v + 1] {
          let d2 = squaredMetres[Int(nearestFirst[i])], x = a * d2
          if x >= Self.negligibleExponent { break }
          let w = exp(-x)
          z += w; m1 += w * d2; m2 += w * d2 * d2
        }
        guard z > 0 else { continue }
        let mean = m1 / z
        g += qv * mean
        dg -= qv * max(0, m2 / z - mean * mean)
      }
      return (g, dg)
    }
    // From the current σ; when the root lies beyond a bound the iterates close on that bound.
    let (aMin, aMax) = (1 / (2 * upperMetres * upperMetres), 1 / (2 * lowerMetres * lowerMetres))
    var lo = aMin, hi = aMax
    var a = min(max(1 / (2 * sigma0 * sigma0), lo), hi)
    for _ in 0..<200 {
      let (g, dg) = slope(a)
      if g > 0 { lo = a } else { hi = a }
      var next = dg < 0 ? a - g / dg : (lo + hi) / 2
      let inBracket = next > lo && next < hi
      if !inBracket { next = (lo + hi) / 2 }
      // A Newton step under 10⁻⁷ of a is taken and ends the search: the error left after it is of the
      // order of its square (~10⁻¹⁴), where a further pass over the lists only confirmed it.
      if abs(next - a) <= 1e-10 * a || hi - lo <= 1e-10 * hi || (inBracket && dg < 0 && abs(next - a) <= 1e-7 * a) { a = next; break }
      a = next
    }
    return (1 / (2 * min(max(a, aMin), aMax))).squareRoot()
  }
}

/// The rate of an exponential truncated at `cutoff` whose weighted mean is `meanLag`: the root of
/// 1/ω − c/(e^{ωc} − 1) = m̄ (the maximum-likelihood equation), which falls from c/2 at ω → 0 to 0, so
/// bisection on log ω finds it; a mean of c/2 or more (no decay within the cut-off) gives a rate of 10⁻³/c.
func truncatedExponentialRate(meanLag m: Double, cutoff c: Double) -> Double {
  guard m.isFinite, m > 0, c > 0 else { return m > 0 ? 1 / m : 1 / c }
  if m >= c / 2 * (1 - 1e-9) { return 1e-3 / c }
  func mean(_ w: Double) -> Double { let x = w * c; return x < 1e-6 ? c / 2 - x * c / 12 : 1 / w - c / expm1(x) }
  var lo = log(1e-3 / c), hi = log(max(1e3 / c, 10 / m))
  for _ in 0..<200 {
    let mid = (lo + hi) / 2
    if mean(exp(mid)) > m { lo = mid } else { hi = mid }
    if hi - lo < 1e-12 { break }
  }
  return exp((lo + hi) / 2)
}

/// The events of one fit of the self-exciting model and their parent candidates, kept so that a fit on
/// a longer history of the same units (the next window of a backtest, the next held-out fit) searches
/// only the new events' candidates. Used only when the earlier events are the same (compared one by one)
/// and every new event comes after the last of them. A reference type: the fits hand it on.
final class SelfExcitingCandidateCache: @unchecked Sendable {
  struct Key: Equatable { var units: [String]; var cutoffMetres: Double; var cutoffSeconds: Double; var binWidth: Double }
  private var kept: (key: Key, events: [SelfExcitingModel.Event], candidates: SelfExcitingModel.Candidates)?
  private let lock = NSLock()
  /// How many searches extended the kept candidates rather than starting afresh.
  private(set) var extensions = 0

  func candidates(_ events: [SelfExcitingModel.Event], near: UnitNeighbours, key: Key) -> SelfExcitingModel.Candidates {
    lock.lock()
    var prior: SelfExcitingModel.Candidates? = nil
    if let k = kept, k.key == key, k.events.count <= events.count, events[..<k.events.count].elementsEqual(k.events),
       k.events.count == events.count || k.events.last.map({ events[k.events.count].time > $0.time }) ?? true {
      prior = k.candidates
      extensions += 1
    }
    kept = nil
    lock.unlock()
    let found = SelfExcitingModel.candidates(events, near: near, units: key.units.count, cutoffSeconds: key.cutoffSeconds,
                                             binWidth: key.binWidth, extending: prior)
    lock.lock()
    kept = (key, events, found)
    lock.unlock()
    return found
  }
}
