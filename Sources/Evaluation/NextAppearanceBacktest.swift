import Foundation
import ModelCatalogue
import Modelling
import Reads
import Routes

/// "Where and when will they next appear", backtested: at each origin (a local midnight), every
/// subject — a repeat vehicle, or an actor group pooled over its cars — with visits on at least two
/// days before it gets a forecast of its first visit (trip start) in the next `days` days: a probability
/// for every (local hour, entry site) window. The forecast is scored on the visit that came.
///
/// Metrics per window (means over subjects): `hit@1/3/10` — the visit's (hour, site) window among the
/// forecast's top 1/3/10 (ties share credit); `hour_hit@3` and `site_hit@1` — the hour alone among the
/// top 3 hours, the entry site alone first; `log_score` — log P(the window that came), or log P(not
/// seen) for a subject not seen; `seen7_brier` — Brier score of P(seen in the period);
/// `arrival_coverage80` — the visit's hour inside the smallest set of hours holding 80% of the time
/// distribution; `stop_hit@3` — a site the visit stopped at among the 3 forecast likeliest (over visits
/// with a stop); `stop_brier` — Σ over sites of (P(stops there) − stopped)². Hit rates, coverage and
/// stop scores are over subjects that were seen.
public enum NextAppearanceBacktest {
  public static let metricNames = Metric.nextAppearanceTable.map(\.name)
  public static let modelName = NextAppearanceModel.kind.rawValue
  public static let baselines = ["same hour next week", "most frequent hour-of-week", "population profile"]
  /// The row of forecasts made from linked groups' histories (`linkedHistories`).
  public static let linkedRowName = "next-appearance (groups from anpr link)"

  /// The backtest's scores per forecaster and window, and the reliability of the model's P(seen in
  /// the period): subjects grouped by the probability stated (tenths), each bin's mean stated and
  /// observed share seen.
  public struct Result: Sendable {
    public var scores: [String: [WindowScore]]
    public var reliability: [ReliabilityBin]
  }
  public struct ReliabilityBin: Codable, Sendable, Equatable {
    public var from: Double, to: Double
    public var subjects: Int
    public var stated: Double, observed: Double
  }

  /// Reliability bins (tenths of probability) of stated probabilities against outcomes.
  public static func reliability(_ pairs: [(p: Double, seen: Bool)]) -> [ReliabilityBin] {
    var bins: [ReliabilityBin] = []
    for b in 0..<10 {
      let lo = Double(b) / 10, hi = Double(b + 1) / 10
      let inBin = pairs.filter { $0.p >= lo && ($0.p < hi || (b == 9 && $0.p <= 1)) }
      guard !inBin.isEmpty else { continue }
      bins.append(ReliabilityBin(from: lo, to: hi, subjects: inBin.count, stated: inBin.map(\.p).reduce(0, +) / Double(inBin.count),
                                 observed: Double(inBin.filter(\.seen).count) / Double(inBin.count)))
    }
    return bins
  }

  /// A forecast in factored form: P(first visit in hour slot h) and P(entry site s | a visit).
  /// `stops`: P(the visit stops at site s), per site (not exclusive).
  /// With `sitesByHour`, a window's probability is `slots[h] × sitesByHour[h % 24][s]` (the entry
  /// site depends on the hour); without, `slots[h] × sites[s]`.
  struct Forecast {
    var slots: [Double]; var sites: [Double]; var stops: [Double]; var sitesByHour: [[Double]]? = nil
    /// The entry-site distribution for hour slot `slot`.
    func sites(atSlot slot: Int) -> [Double] { sitesByHour?[slot % 24] ?? sites }
  }

  /// An actor group's habit as the simulator drew it (from `truth.json`): the oracle forecasts its
  /// next visit from the generative process — P(visit) per day by weekday, the entry time normal
  /// around the habitual hour — and, for the entry road (not in the truth), the group's own entry sites
  /// over the whole data by the hour of the day (`FittedNextAppearance.sitesByHour`, one pseudo-entry of
  /// its whole mix), hindsight included. No forecast from the data can do better on the time; on the
  /// site it is an upper bound for a forecast that conditions the site on the hour as the model does.
  public struct Habit: Sendable {
    public var weekdays: [Int]
    public var entryHour: Double
    public var visitProbabilityHabitDay: Double
    public var visitProbabilityOtherDay: Double
    public var entryHourSD: Double
    public init(weekdays: [Int], entryHour: Double, visitProbabilityHabitDay: Double, visitProbabilityOtherDay: Double, entryHourSD: Double) {
      self.weekdays = weekdays; self.entryHour = entryHour; self.visitProbabilityHabitDay = visitProbabilityHabitDay
      self.visitProbabilityOtherDay = visitProbabilityOtherDay; self.entryHourSD = entryHourSD
    }

    /// P(first visit in each hour slot) over `days` local days from origin day `originDay`.
    func slots(originDay: Int64, days: Int) -> [Double] {
      func phi(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }
      let hours = (0..<24).map { h in phi((Double(h + 1) - entryHour) / entryHourSD) - phi((Double(h) - entryHour) / entryHourSD) }
      let total = hours.reduce(0, +)
      var out = [Double](repeating: 0, count: days * 24)
      var survive = 1.0
      for d in 0..<days {
        let wd = LocalClock.weekday(ofDay: originDay + Int64(d))
        let p = survive * (weekdays.contains(wd) ? visitProbabilityHabitDay : visitProbabilityOtherDay)
        for h in 0..<24 { out[d * 24 + h] = p * hours[h] / max(total, 1e-300) }
        survive -= p
      }
      return out
    }
  }

  /// - Parameters:
  ///   - groups: subjects as named sets of vehicles, each with the spans it was the subject's (its
  ///     hires, from the truth; empty = all its trips); nil = every repeat vehicle on its own.
  ///   - maxSubjects: at most this many subjects per origin (the first in vehicle-id order).
  ///   - habits: group name → its habit, for an oracle row (simulated towns).
  ///   - linkedHistories: subject name → the vehicles and spans of the linked group that stands for it
  ///     (`anpr link`'s group matched to a truth group): an extra row forecasts each subject from that
  ///     group's visits instead of its own, and is scored on the subject's next visit, so the loss from
  ///     linking rather than knowing the groups shows beside the model's row. A subject without a
  ///     linked group gets the population profile (what an analyst without a group has).
  public static func run(store: ReadStore, plan: BacktestPlan, clock: LocalClock, days: Int = 7, model: NextAppearanceModel = NextAppearanceModel(),
                         groups: [String: [Int: [ClosedRange<Int64>]]]? = nil,
                         habits: [String: Habit] = [:], linkedHistories: [String: [Int: [ClosedRange<Int64>]]]? = nil, maxSubjects: Int = 2000,
                         progress: ((Int, Int) -> Void)? = nil,
                         shown: ((_ origin: Int64, _ visits: [NextAppearanceModel.Visit]) -> Void)? = nil) throws -> Result {
    guard let start = store.header.timeStart, let end = store.header.timeEnd else { throw FitError.noData("the store has no reads") }
    let firstDay = clock.day(start)
    var origins: [Int64] = []
    var d = firstDay + Int64(plan.minimumTrainingDays)
    while clock.startOfDay(d + Int64(days)) <= end + 1 { origins.append(clock.startOfDay(d)); d += Int64(plan.stepDays) }
    if plan.maxWindows > 0 && origins.count > plan.maxWindows { origins = Array(origins.suffix(plan.maxWindows)) }
    guard !origins.isEmpty else {
      throw SpecError.invalid("not enough days for a next-appearance backtest: it needs \(plan.minimumTrainingDays) days of history and \(days) days after each origin")
    }
    // Every trip once, as its start time and the visit it makes, per vehicle; stops judged against
    // the travel times seen before the first origin (what every forecast may know).
    let travel = store.typicalTravelSeconds(until: origins[0])
    let trips = (0..<store.vehicles.count).map { store.trips(ofVehicle: $0) }
    let starts: [[(t: Int64, site: Int, visit: NextAppearanceModel.Visit, vehicle: Int, trip: Int)]] = trips.enumerated().map { v, ts in
      ts.enumerated().map { k, t in (t.start, t.entrySite, NextAppearanceModel.Visit(trip: t, clock: clock, travel: travel, siteCount: store.sites.count), v, k) }
    }
    let subjects: [(name: String, vehicles: [Int: [ClosedRange<Int64>]])] = groups.map { g in g.keys.sorted().map { ($0, g[$0]!) } }
      ?? (0..<store.vehicles.count).sorted { store.vehicles[$0].id < store.vehicles[$1].id }.map { (store.vehicles[$0].id, [$0: []]) }
    var out: [String: [WindowScore]] = [:]
    var stated: [(p: Double, seen: Bool)] = []
    for (k, origin) in origins.enumerated() {
      let originDay = clock.day(origin)
      let horizonEnd = clock.startOfDay(originDay + Int64(days))
      // A visit as known at the origin: a trip that runs past it keeps only the stops seen before it.
      func visit(_ s: (t: Int64, site: Int, visit: NextAppearanceModel.Visit, vehicle: Int, trip: Int)) -> NextAppearanceModel.Visit {
        let trip = trips[s.vehicle][s.trip]
        return trip.end < origin ? s.visit : NextAppearanceModel.Visit(trip: trip, clock: clock, travel: travel, siteCount: store.sites.count, until: origin)
      }
      // Population parts from every vehicle's visits before the origin.
      var before: [Int: [NextAppearanceModel.Visit]] = [:]
      for (v, ss) in starts.enumerated() { let b = ss.filter { $0.t < origin }.map(visit); if !b.isEmpty { before[v] = b } }
      shown?(origin, before.keys.sorted().flatMap { before[$0]! })  // what the model learns from (the leakage test's spy)
      let fitted = model.fit(visits: before, siteCount: store.sites.count)
      // P(seen in a period) for baselines: the share of repeat vehicles seen in the L days before the
      // origin (L = the period, or half the history when shorter), as a constant daily hazard over the period.
      let lookback = max(1, min(Int64(days), (originDay - firstDay) / 2))
      let earlier = clock.startOfDay(originDay - lookback)
      var repeatCount = 0, seenCount = 0
      for ss in starts {
        let days0 = Set(ss.filter { $0.t < earlier }.map { clock.day($0.t) })
        guard days0.count >= 2 else { continue }
        repeatCount += 1
        if ss.contains(where: { $0.t >= earlier && $0.t < origin }) { seenCount += 1 }
      }
      let seenInLookback = repeatCount > 0 ? Double(seenCount) / Double(repeatCount) : 0.5
      let baseRate = 1 - pow(1 - min(seenInLookback, 0.999), Double(days) / Double(lookback))
      var popSlots = [Double](repeating: 0, count: days * 24)
      for h in popSlots.indices {
        let wd = LocalClock.weekday(ofDay: originDay + Int64(h / 24))
        popSlots[h] = fitted.populationProfile[wd * 24 + h % 24]
      }
      let popTotal = popSlots.reduce(0, +)
      popSlots = popSlots.map { $0 / max(popTotal, 1e-300) * baseRate }

      var sums: [String: [String: Double]] = [:], counts: [String: [String: Double]] = [:]
      var scored = 0
      for subject in subjects {
        if scored >= maxSubjects { break }
        let pooled = subject.vehicles.flatMap { v, spans in
          starts[v].filter { s in spans.isEmpty || spans.contains { $0.contains(s.t) } }
        }.sorted { $0.t < $1.t }
        let past = pooled.filter { $0.t < origin }
        guard Set(past.map { clock.day($0.t) }).count >= 2 else { continue }
        scored += 1
        let next = pooled.first { $0.t >= origin && $0.t < horizonEnd }
        let actual = next.map { (slot: Int(clock.day($0.t) - originDay) * 24 + clock.hourOfDay($0.t), site: $0.site, stops: $0.visit.stopSites) }
        let visits = past.map(visit)
        shown?(origin, visits)  // and what each forecast starts from
        var forecasts: [(String, Forecast)] = []
        let f = fitted.forecast(visits, from: origin, days: days, clock: clock)
        let popStops = fitted.populationStopRates ?? Array(repeating: 0, count: store.sites.count)
        forecasts.append((modelName, Forecast(slots: f.slots, sites: f.sites, stops: fitted.stopProbabilities(visits), sitesByHour: f.sitesByHour)))
        stated.append((f.slots.reduce(0, +), actual != nil))
        let n = store.sites.count
        func peaked(_ site: Int) -> [Double] { (0..<n).map { ($0 == site ? 0.9 : 0) + 0.1 / Double(n) } }
        func atHourOfWeek(_ how: Int) -> [Double] {
          var slots = [Double](repeating: 0.1 * baseRate / Double(days * 24), count: days * 24)
          let hits = slots.indices.filter { h in LocalClock.weekday(ofDay: originDay + Int64(h / 24)) * 24 + h % 24 == how }
          for h in hits { slots[h] += 0.9 * baseRate / Double(hits.count) }
          return slots
        }
        // Same hour next week: the last visit's hour of the week, at its entry site.
        let last = visits.last!
        forecasts.append((baselines[0], Forecast(slots: atHourOfWeek(last.hourOfWeek), sites: peaked(last.entrySite),
                                                 stops: popStops.indices.map { last.stopSites.contains($0) ? 0.9 : 0.1 * popStops[$0] })))
        // The subject's most frequent hour of the week and entry site (ties: the earliest).
        var howCount = [Int](repeating: 0, count: 168), siteCount = [Int](repeating: 0, count: n)
        var stopShare = [Double](repeating: 0, count: n)
        for v in visits {
          howCount[v.hourOfWeek] += 1; if v.entrySite < n { siteCount[v.entrySite] += 1 }
          for s in Set(v.stopSites) where s < n { stopShare[s] += 1 / Double(visits.count) }
        }
        let mode = howCount.indices.max { howCount[$0] != howCount[$1] ? howCount[$0] < howCount[$1] : $0 > $1 }!
        let siteMode = siteCount.indices.max { siteCount[$0] != siteCount[$1] ? siteCount[$0] < siteCount[$1] : $0 > $1 }!
        forecasts.append((baselines[1], Forecast(slots: atHourOfWeek(mode), sites: peaked(siteMode), stops: stopShare)))
        // Everyone's habits: the population's hour-of-week profile and entry sites.
        forecasts.append((baselines[2], Forecast(slots: popSlots, sites: fitted.populationEntries, stops: popStops)))
        if let linked = linkedHistories {
          let history = (linked[subject.name] ?? [:]).flatMap { v, spans in
            starts[v].filter { s in s.t < origin && (spans.isEmpty || spans.contains { $0.contains(s.t) }) }
          }.sorted { $0.t < $1.t }.map(visit)
          shown?(origin, history)
          if history.isEmpty {
            forecasts.append((linkedRowName, Forecast(slots: popSlots, sites: fitted.populationEntries, stops: popStops)))
          } else {
            let lf = fitted.forecast(history, from: origin, days: days, clock: clock)
            forecasts.append((linkedRowName, Forecast(slots: lf.slots, sites: lf.sites, stops: fitted.stopProbabilities(history),
                                                      sitesByHour: lf.sitesByHour)))
          }
        }
        if let habit = habits[subject.name] {
          var mix = [Double](repeating: 0.01 / Double(n), count: n)
          var stopMix = [Double](repeating: 0, count: n)
          for s in pooled where s.site < n {
            mix[s.site] += 1
            for st in Set(s.visit.stopSites) where st < n { stopMix[st] += 1 / Double(pooled.count) }
          }
          let total = mix.reduce(0, +)
          // The site by the hour too, in hindsight (the model's forecast conditions the site on the hour).
          let whole = mix.map { $0 / total }
          let byHour = FittedNextAppearance.sitesByHour(pooled.filter { $0.site < n }.map { (clock.hourOfDay($0.t), $0.site) }, mix: whole, strength: 1)
          forecasts.append(("oracle", Forecast(slots: habit.slots(originDay: originDay, days: days), sites: whole, stops: stopMix, sitesByHour: byHour)))
        }
        for (name, fc) in forecasts {
          for (m, v) in score(fc, actual: actual) where !v.isNaN {
            sums[name, default: [:]][m, default: 0] += v
            counts[name, default: [:]][m, default: 0] += 1
          }
        }
      }
      guard scored > 0 else { continue }
      for name in [modelName] + (linkedHistories == nil ? [] : [linkedRowName]) + baselines + (habits.isEmpty ? [] : ["oracle"]) where counts[name] != nil {
        let metrics = Dictionary(uniqueKeysWithValues: metricNames.map { m in
          (m, (counts[name]?[m] ?? 0) > 0 ? sums[name]![m]! / counts[name]![m]! : Double.nan)
        })
        out[name, default: []].append(WindowScore(origin: origin, metrics: metrics))
      }
      progress?(k + 1, origins.count)
    }
    guard !out.isEmpty else {
      throw SpecError.invalid("no subject had visits on two days before any origin: nothing to forecast a next appearance for")
    }
    return Result(scores: out, reliability: reliability(stated))
  }

  /// The metrics of one forecast against what came (`actual` nil: not seen in the period).
  static func score(_ f: Forecast, actual: (slot: Int, site: Int, stops: [Int])?) -> [String: Double] {
    let seen = f.slots.reduce(0, +)
    var m: [String: Double] = ["seen7_brier": pow(seen - (actual == nil ? 0 : 1), 2)]
    guard let a = actual, a.slot >= 0, a.slot < f.slots.count, a.site < f.sites.count else {
      m["log_score"] = log(max(1 - seen, 1e-12))
      for k in metricNames where k != Metric.logScore.name && k != Metric.seen7Brier.name { m[k] = .nan }
      return m
    }
    let p = f.slots[a.slot] * f.sites(atSlot: a.slot)[a.site]
    m["log_score"] = log(max(p, 1e-12))
    // Windows above and equal to the one that came: for each hour, the sites whose product beats it.
    // Each distinct row sorted once (hours no visit was near share the vehicle's whole mix).
    var sortedOnce: [[Double]: [Double]] = [:]
    let sortedRows = (f.sitesByHour ?? [f.sites]).map { row in
      if let done = sortedOnce[row] { return done }
      let sorted = row.sorted(by: >)
      sortedOnce[row] = sorted
      return sorted
    }
    var greater = 0.0, equal = 0.0
    for (slot, x) in f.slots.enumerated() where x > 0 {
      let sorted = sortedRows[f.sitesByHour == nil ? 0 : slot % 24]
      // Sites with x * s > p, and with x * s == p (to a relative 1e-12).
      var lo = 0, hi = sorted.count
      while lo < hi { let mid = (lo + hi) / 2; if x * sorted[mid] > p * (1 + 1e-12) { lo = mid + 1 } else { hi = mid } }
      let above = lo
      var eq = 0
      var j = above
      while j < sorted.count && abs(x * sorted[j] - p) <= p * 1e-12 { eq += 1; j += 1 }
      greater += Double(above); equal += Double(eq)
    }
    if p == 0 { equal = Double(f.slots.count * f.sites.count) - greater }
    /// The chance that one of `targets` items tied with `e − targets` others, below `g` better ones, is in
    /// the top k when ties are broken at random: 1 − C(e − targets, r) / C(e, r) for the r = k − g places left.
    func hit(_ k: Double, greater g: Double, equal e: Double, targets: Double = 1) -> Double {
      let r = k - g
      guard r > 0 else { return 0 }
      guard r < e else { return 1 }
      var none = 1.0
      for i in 0..<Int(r) { none *= max(0, e - targets - Double(i)) / (e - Double(i)) }
      return 1 - none
    }
    m["hit@1"] = hit(1, greater: greater, equal: equal)
    m["hit@3"] = hit(3, greater: greater, equal: equal)
    m["hit@10"] = hit(10, greater: greater, equal: equal)
    let h = f.slots[a.slot]
    m["hour_hit@3"] = hit(3, greater: Double(f.slots.filter { $0 > h }.count), equal: Double(f.slots.filter { $0 == h }.count))
    let s = f.sites[a.site]
    m["site_hit@1"] = hit(1, greater: Double(f.sites.filter { $0 > s }.count), equal: Double(f.sites.filter { $0 == s }.count))
    // The smallest set of hours holding 80% of the time distribution (ties at the cut share).
    let order = f.slots.indices.sorted { f.slots[$0] > f.slots[$1] }
    var cum = 0.0
    var covered = false
    for i in order {
      if cum >= 0.8 * seen { break }
      cum += f.slots[i]
      if i == a.slot { covered = true; break }
    }
    m["arrival_coverage80"] = covered ? 1 : 0
    // Stops: a site the visit stopped at among the top 3 (ties broken at random: the chance one of the
    // stopped sites tied at the best is in), and the Brier score of the per-site stop probabilities.
    if !f.stops.isEmpty {
      let stopped = Set(a.stops.filter { $0 < f.stops.count })
      m[Metric.stopBrier.name] = f.stops.indices.reduce(0.0) { $0 + pow(f.stops[$1] - (stopped.contains($1) ? 1 : 0), 2) }
      if let best = stopped.map({ f.stops[$0] }).max() {
        m[Metric.stopHit3.name] = hit(3, greater: Double(f.stops.filter { $0 > best }.count), equal: Double(f.stops.filter { $0 == best }.count),
                                      targets: Double(stopped.filter { f.stops[$0] == best }.count))
      } else {
        m[Metric.stopHit3.name] = .nan
      }
    } else {
      m[Metric.stopHit3.name] = .nan; m[Metric.stopBrier.name] = .nan
    }
    return m
  }
}
