import Foundation
import Modelling
import Reads

/// When and where a repeat vehicle will next enter: a discrete-time renewal model on its visit days
/// times an hour-of-week profile times an entry-site distribution, each shrunk towards the population
/// of repeat vehicles (Dirichlet/Beta pseudo-counts), so a vehicle seen twice still gets a usable forecast.
/// ```
/// P(first visit on day d) = h(g₀ + d) · Π_{d' < d} (1 − h(g₀ + d')),  h(g) = P(gap = g | gap ≥ g)
/// P(hour | weekday) ∝ n_v(weekday, hour) + a · P_pop(hour | weekday)
/// P(entry site)      ∝ n_v(site) + b · P_pop(site)
/// P(stops at site s on the visit) = (visits of v with a stop at s + c · r_pop(s)) / (visits of v + c)
/// ```
/// where the population's gap distribution is a life table over repeat vehicles (each one's unfinished
/// spell away counted as open, `gapLifeTable`), r_pop(s) is the share of repeat vehicles' visits with a
/// stop at s (`Trip.stops`) and c, per site, is learned from the store (beta-binomial method of moments,
/// `chooseStopStrengths`).
public struct NextAppearanceModel: ModelSpec, Equatable {
  public static let kind: ModelKind = "next-appearance"
  public static let family = ModelFamily.nextAppearance
  public typealias Context = SiteContext
  /// Pseudo-visits of the population profile added to each vehicle's hour-of-week profile.
  public var profileStrength = 4.0
  /// Pseudo-visits of the population gap distribution added to each vehicle's gaps.
  public var gapStrength = 3.0
  /// Pseudo-entries of the population entry distribution.
  public var entryStrength = 2.0
  /// Longest gap (days) the life table resolves day by day; longer ones share one learned daily hazard.
  public var maxGapDays = 28
  public init() {}

  enum CodingKeys: String, CodingKey, CaseIterable {
    case profileStrength = "profile_strength", gapStrength = "gap_strength", entryStrength = "entry_strength", maxGapDays = "max_gap_days"
  }
  /// Spec `params` (snake_case; every key optional, unknown keys refused).
  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), kind: Self.kind)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = NextAppearanceModel()
    profileStrength = try c.decodeIfPresent(Double.self, forKey: .profileStrength) ?? d.profileStrength
    gapStrength = try c.decodeIfPresent(Double.self, forKey: .gapStrength) ?? d.gapStrength
    entryStrength = try c.decodeIfPresent(Double.self, forKey: .entryStrength) ?? d.entryStrength
    maxGapDays = try c.decodeIfPresent(Int.self, forKey: .maxGapDays) ?? d.maxGapDays
    guard profileStrength > 0, gapStrength > 0, entryStrength > 0, (2...365).contains(maxGapDays),
      profileStrength.isFinite, gapStrength.isFinite, entryStrength.isFinite
    else { throw SpecError.invalid("next-appearance: strengths must be finite and > 0, max_gap_days 2–365") }
  }

  /// One visit (trip): its local day and hour of the week, the site it entered by, and the sites it
  /// stopped at (`Trip.stops`, each once, in order).
  public struct Visit: Codable, Sendable, Equatable {
    public var day: Int64; public var hourOfWeek: Int; public var entrySite: Int
    public var stopSites: [Int]
    public init(day: Int64, hourOfWeek: Int, entrySite: Int, stopSites: [Int] = []) {
      self.day = day; self.hourOfWeek = hourOfWeek; self.entrySite = entrySite; self.stopSites = stopSites
    }

    /// The visit a trip makes: its start's local day and hour of the week, its entry site, its stops
    /// (those known before `until`: a trip that runs past a forecast origin shows only what was seen by then).
    public init(trip t: Trip, clock: LocalClock, travel: [Int: Double], siteCount: Int, until: Int64 = .max) {
      var stops: [Int] = []
      for s in t.stops(travel: travel, siteCount: siteCount, before: until) where !stops.contains(s.site) { stops.append(s.site) }
      self.init(day: clock.day(t.start), hourOfWeek: clock.hourOfWeek(t.start), entrySite: t.entrySite, stopSites: stops)
    }
  }

  /// Visits (trips) of each vehicle before `until`; for a vehicle in `spans`, only trips that start
  /// inside one of its spans (its periods of use by the selected actor). Stops are judged against
  /// `travel` (`ReadStore.typicalTravelSeconds`, computed when not given).
  public static func visits(store: ReadStore, until: Int64, clock: LocalClock, vehicles: [Int]? = nil,
                            spans: [Int: [ClosedRange<Int64>]] = [:], travel: [Int: Double]? = nil) -> [Int: [Visit]] {
    let travel = travel ?? store.typicalTravelSeconds(until: until)
    var out: [Int: [Visit]] = [:]
    for v in vehicles ?? Array(0..<store.vehicles.count) {
      for t in store.trips(ofVehicle: v) where t.start < until && EpisodeID.inUse(spans, vehicle: v, at: t.start) {
        out[v, default: []].append(Visit(trip: t, clock: clock, travel: travel, siteCount: store.sites.count, until: until))
      }
    }
    return out
  }

  /// Fits on every vehicle's visits (`VisitHistory`).
  /// - Throws: `FitError.noData` when no vehicle was seen on two days (nothing to learn a gap from).
  public func fit(_ statistic: VisitHistory, clock: LocalClock) throws -> FittedNextAppearance {
    let repeats = statistic.visits.values.filter { Set($0.map(\.day)).count >= 2 }.count
    guard repeats > 0 else { throw FitError.noData("no vehicle was seen on two different days: no gaps between visits to learn from") }
    return fit(visits: statistic.visits, siteCount: statistic.siteCount)
  }

  /// Fits the population parts from the visits of repeat vehicles (seen on ≥ 2 days).
  public func fit(visits: [Int: [Visit]], siteCount: Int) -> FittedNextAppearance {
    var profile = [Double](repeating: 1e-3, count: 168)
    var entries = [Double](repeating: 0.1, count: siteCount)
    var stops = [Double](repeating: 0, count: siteCount)
    var repeatVisits = 0.0
    // In vehicle order: float sums in dictionary (hash) order would differ between processes.
    for k in visits.keys.sorted() {
      let vs = visits[k]!
      let days = Set(vs.map(\.day)).sorted()
      guard days.count >= 2 else { continue }
      for v in vs {
        profile[v.hourOfWeek] += 1; repeatVisits += 1
        if v.entrySite < siteCount { entries[v.entrySite] += 1 }
        for s in Set(v.stopSites).sorted() where s < siteCount { stops[s] += 1 }
      }
    }
    let population = profile.map { $0 / profile.reduce(0, +) }
    let gaps = Self.gapLifeTable(visits, maxGapDays: maxGapDays)
    let (pooling, smoothing) = Self.chooseHourShape(visits, population: population, profileStrength: profileStrength)
    var fitted = FittedNextAppearance(specification: self, populationProfile: population,
                                      populationGaps: gaps.pmf, populationEntries: entries.map { $0 / entries.reduce(0, +) },
                                      hourPooling: pooling, hourSmoothing: smoothing,
                                      populationStopRates: stops.map { $0 / max(repeatVisits, 1) })
    fitted.tailHazard = gaps.tailHazard
    fitted.renewalWeight = Self.chooseRenewalWeight(visits, fitted: fitted)
    fitted.stopStrengths = Self.chooseStopStrengths(visits, rates: fitted.populationStopRates!)
    fitted.siteHourStrength = Self.chooseSiteHourStrength(visits, entries: fitted.populationEntries, entryStrength: entryStrength)
    return fitted
  }

  /// Pseudo-visits of a vehicle's whole entry-site mix at each hour (`FittedNextAppearance.entrySites`).
  public static let siteHourStrengthGrid: [Double] = [0.5, 1, 2, 4, 8, 16, 64]

  /// Learns from the store whether a repeat vehicle's entry site depends on the hour: the strength on
  /// the grid, or none (nil: one site mix at every hour), with the highest leave-one-out likelihood of
  /// each visit's entry site given its hour of the day, over the repeat vehicles (at most 500, in
  /// vehicle order).
  static func chooseSiteHourStrength(_ visits: [Int: [Visit]], entries: [Double], entryStrength: Double) -> Double? {
    let subjects = visits.keys.sorted().compactMap { k -> [Visit]? in
      let vs = visits[k]!.filter { $0.entrySite < entries.count }
      return Set(vs.map(\.day)).count >= 2 && vs.count >= 3 ? vs : nil
    }.prefix(500)
    guard !subjects.isEmpty else { return nil }
    let grid: [Double?] = [nil] + siteHourStrengthGrid.map { $0 }
    var ll = [Double](repeating: 0, count: grid.count)
    let sites = entries.count
    for vs in subjects {
      // The vehicle's entries by site, and near each hour of the day (all, and by hour × site).
      var own: [Int: Double] = [:], nearBySite: [Int: Double] = [:]
      var near = [Double](repeating: 0, count: 24)
      for v in vs {
        own[v.entrySite, default: 0] += 1
        for dh in -1...1 {
          let h = (v.hourOfWeek % 24 + dh + 24) % 24, w = FittedNextAppearance.nearHourWeight(v.hourOfWeek % 24, h)
          near[h] += w; nearBySite[h * sites + v.entrySite, default: 0] += w
        }
      }
      let n = Double(vs.count)
      for v in vs {
        let s = v.entrySite, h = v.hourOfWeek % 24
        // The vehicle's mix without this visit, and its other visits' entries near this hour (the visit
        // itself weighs 1 at its own hour).
        let base = (own[s]! - 1 + entryStrength * entries[s]) / (n - 1 + entryStrength)
        let nearSite = nearBySite[h * sites + s]! - 1, nearAll = near[h] - 1
        for (g, c) in grid.enumerated() {
          ll[g] += log(max(c.map { (nearSite + $0 * base) / (nearAll + $0) } ?? base, 1e-300))
        }
      }
    }
    let best = ll.indices.max { ll[$0] != ll[$1] ? ll[$0] < ll[$1] : $0 > $1 }!
    return grid[best]
  }

  /// The gap between a repeat vehicle's visit days, learned from the store by the life table
  /// (Kaplan–Meier): the hazard of a gap ending on day g is the gaps that ended at g over the spells away
  /// still open at g, each vehicle's last, unfinished spell (to the end of the data) counted as open —
  /// so visitors who never came back keep the hazard of a long absence low, where counting finished gaps
  /// alone said that every repeat vehicle comes back. Returns P(gap = g) for g < `maxGapDays` and
  /// P(gap ≥ maxGapDays) in the last place, and the daily hazard beyond that: returns after `maxGapDays`
  /// or more over the days spent away beyond it (a constant hazard, with one pseudo-day at the overall
  /// hazard).
  static func gapLifeTable(_ visits: [Int: [Visit]], maxGapDays: Int) -> (pmf: [Double], tailHazard: Double) {
    precondition(maxGapDays >= 2, "max_gap_days below 2")
    let endDay = (visits.values.compactMap { $0.map(\.day).max() }.max() ?? 0) + 1
    var atRisk = [Double](repeating: 0, count: maxGapDays), ended = [Double](repeating: 0, count: maxGapDays)
    var tailReturns = 0.0, tailDays = 0.0
    /// A spell away of `length` days: ended by a visit on its last day, or still open (censored).
    func add(_ length: Int, closed: Bool) {
      guard length >= 1 else { return }
      for g in 1..<min(length + 1, maxGapDays) { atRisk[g] += 1 }
      if length < maxGapDays {
        if closed { ended[length] += 1 }
      } else {
        tailDays += Double(length - maxGapDays + 1)
        if closed { tailReturns += 1 }
      }
    }
    for k in visits.keys.sorted() {
      let days = Set(visits[k]!.map(\.day)).sorted()
      guard days.count >= 2 else { continue }
      for (a, b) in zip(days, days.dropFirst()) { add(Int(b - a), closed: true) }
      // Not seen on the days after its last visit up to the end of the data: open that long.
      add(Int(endDay - 1 - days.last!), closed: false)
    }
    // Each day's hazard is shrunk towards the overall one (returns over days away) by a tenth of a
    // spell, so a gap length few or no spells reached is neither impossible nor certain.
    // (No repeat vehicle at all, so no spell: one return in max_gap_days, not none.)
    let spellDays = atRisk.reduce(0, +) + tailDays
    let overall = spellDays > 0 ? (ended.reduce(0, +) + tailReturns) / spellDays : 1 / Double(maxGapDays)
    var pmf = [Double](repeating: 0, count: maxGapDays + 1)
    var survive = 1.0
    for g in 1..<maxGapDays {
      pmf[g] = survive * (ended[g] + 0.1 * overall) / (atRisk[g] + 0.1)
      survive -= pmf[g]
    }
    pmf[maxGapDays] = max(survive, 0)
    let total = pmf.reduce(0, +)
    return (pmf.map { $0 / total }, (tailReturns + overall) / (tailDays + 1))
  }

  /// Learns from the store, site by site, how far a vehicle's own stops outweigh the population's:
  /// the beta-binomial prior strength c_s = 1/ρ_s − 1 by the method of moments over repeat vehicles,
  /// where ρ_s is the intra-vehicle correlation of stopping at s — the spread of vehicles' shares
  /// beyond binomial noise, Σ n_v (x_v − r)² = r(1 − r) Σ (1 + (n_v − 1) ρ). A place everyone stops
  /// at now and then (small ρ) keeps a strong prior; a place only some vehicles stop at, and those
  /// nearly every time (an actor's meeting place), a weak one, so their own habit shows.
  static func chooseStopStrengths(_ visits: [Int: [Visit]], rates: [Double]) -> [Double] {
    var sumK2overN = [Double](repeating: 0, count: rates.count), sumK = [Double](repeating: 0, count: rates.count)
    var vehicles = 0.0, sumN = 0.0, sumNminus1 = 0.0
    for key in visits.keys.sorted() {
      let vs = visits[key]!
      guard Set(vs.map(\.day)).count >= 2 else { continue }
      let n = Double(vs.count)
      vehicles += 1; sumN += n; sumNminus1 += n - 1
      var own: [Int: Double] = [:]
      for v in vs { for s in Set(v.stopSites) where s < rates.count { own[s, default: 0] += 1 } }
      for s in own.keys.sorted() { let k = own[s]!; sumK2overN[s] += k * k / n; sumK[s] += k }
    }
    return rates.indices.map { s in
      let r = rates[s]
      guard r > 0, r < 1, sumNminus1 > 0 else { return 2 }
      let spread = sumK2overN[s] - 2 * r * sumK[s] + r * r * sumN
      let rho = min(max((spread / (r * (1 - r)) - vehicles) / sumNminus1, 1e-3), 0.999)
      return 1 / rho - 1
    }
  }

  public static let renewalWeightGrid: [Double] = [0, 0.25, 0.5, 0.75, 1]

  /// Learns from the store whether repeat vehicles come back after regular gaps (renewal) or on
  /// regular weekdays (weekly slots), or a mix: the weight on the grid with the highest one-day-ahead
  /// likelihood of "visited or not" on every day after each repeat vehicle's second visit day (at most
  /// 500 vehicles, in vehicle order; days up to the last visit day in the data).
  static func chooseRenewalWeight(_ visits: [Int: [Visit]], fitted: FittedNextAppearance) -> Double {
    guard let lastDay = visits.values.compactMap({ $0.map(\.day).max() }).max() else { return 1 }
    let subjects = visits.keys.sorted().compactMap { k -> [Visit]? in
      let vs = visits[k]!.sorted { $0.day < $1.day }
      return Set(vs.map(\.day)).count >= 3 ? vs : nil
    }.prefix(500)
    guard !subjects.isEmpty else { return 1 }
    var ll = [Double](repeating: 0, count: renewalWeightGrid.count)
    for vs in subjects {
      let days = Set(vs.map(\.day)).sorted()
      var t = days[1] + 1
      while t <= lastDay {
        let before = vs.filter { $0.day < t }
        let (hr, hw) = fitted.dayHazards(before, day: t)
        let y = days.contains(t)
        for (i, l) in renewalWeightGrid.enumerated() {
          let h = min(max(l * hr + (1 - l) * hw, 1e-6), 1 - 1e-6)
          ll[i] += y ? log(h) : log(1 - h)
        }
        t += 1
      }
    }
    return renewalWeightGrid[ll.indices.max { ll[$0] < ll[$1] }!]
  }

  /// The grids `chooseHourShape` searches: pseudo-visits of the vehicle's own all-week hour profile
  /// added to each weekday's, and the share of a visit spread to each neighbouring hour.
  public static let hourPoolingGrid: [Double] = [0, 1, 3, 10, 30]
  public static let hourSmoothingGrid: [Double] = [0, 0.15, 0.3]

  /// Learns from the store how a repeat vehicle's hours carry across weekdays and to neighbouring
  /// hours: the (pooling, smoothing) pair on the grids with the highest leave-one-out likelihood of
  /// each visit's hour given its weekday, over the repeat vehicles (at most 500, in vehicle order).
  /// A habit kept on several weekdays at one hour is pooled; a vehicle whose hours differ by weekday
  /// is not; jittered entry times are smoothed.
  static func chooseHourShape(_ visits: [Int: [Visit]], population: [Double], profileStrength: Double) -> (Double, Double) {
    let subjects = visits.keys.sorted().compactMap { k -> [Visit]? in
      let vs = visits[k]!
      return Set(vs.map(\.day)).count >= 2 && vs.count >= 3 ? vs : nil
    }.prefix(500)
    guard !subjects.isEmpty else { return (0, 0) }
    var best = (ll: -Double.infinity, pooling: 0.0, smoothing: 0.0)
    for k in hourSmoothingGrid {
      for alpha in hourPoolingGrid {
        var ll = 0.0
        for vs in subjects {
          var own = [Double](repeating: 0, count: 168), all = [Double](repeating: 0, count: 24)
          for v in vs { own[v.hourOfWeek] += 1; all[v.hourOfWeek % 24] += 1 }
          let n = Double(vs.count)
          for v in vs {
            let wd = v.hourOfWeek / 24, h0 = v.hourOfWeek % 24
            var w = [Double](repeating: 0, count: 24)
            for h in 0..<24 {
              // Leave this visit out, then smooth (linear, so the two commute).
              func raw(_ x: Int, _ isOwn: Bool) -> Double {
                let hh = (x + 24) % 24
                return isOwn ? own[wd * 24 + hh] - (hh == h0 ? 1 : 0) : all[hh] - (hh == h0 ? 1 : 0)
              }
              let o = (1 - 2 * k) * raw(h, true) + k * (raw(h - 1, true) + raw(h + 1, true))
              let a = (1 - 2 * k) * raw(h, false) + k * (raw(h - 1, false) + raw(h + 1, false))
              w[h] = max(0, o) + alpha * max(0, a) / max(n - 1, 1) + profileStrength * population[wd * 24 + h]
            }
            ll += log(max(w[h0], 1e-300) / w.reduce(0, +))
          }
        }
        if ll > best.ll { best = (ll, alpha, k) }
      }
    }
    return (best.pooling, best.smoothing)
  }
}

/// A (site, hour) window where a vehicle may next appear.
public struct AppearanceWindow: Codable, Sendable {
  public var site: Int
  public var hourStart: Int64
  public var probability: Double
}

/// What a next-appearance model learns from: each vehicle's visits (trip starts) and how many sites
/// entry sites index into.
public struct VisitHistory: Sendable {
  public var visits: [Int: [NextAppearanceModel.Visit]]
  public var siteCount: Int
  public init(visits: [Int: [NextAppearanceModel.Visit]], siteCount: Int) { self.visits = visits; self.siteCount = siteCount }
}

public struct FittedNextAppearance: FittedModel, SiteIndexedModel {
  public let specification: NextAppearanceModel
  public let populationProfile: [Double]
  public let populationGaps: [Double]
  /// The daily hazard of a return after `maxGapDays` or more days away (`NextAppearanceModel.gapLifeTable`);
  /// nil in fits from before 2026-12-07, which used 0.5.
  public var tailHazard: Double?
  public let populationEntries: [Double]
  /// Learned at fit time (`NextAppearanceModel.chooseHourShape`); nil in fits from before 2026-12: 0.
  public var hourPooling: Double?
  public var hourSmoothing: Double?
  /// Weight of the renewal hazard against the weekday hazard (1 = renewal only, the rule before 2026-12).
  public var renewalWeight: Double?
  /// Per site, the share of repeat vehicles' visits with a stop there (nil in fits from before
  /// 2026-12-06: no stop forecast).
  public var populationStopRates: [Double]?
  /// Per site, pseudo-visits of the population's stop rate added to a vehicle's own (learned at fit
  /// time, `NextAppearanceModel.chooseStopStrengths`).
  public var stopStrengths: [Double]?
  /// Pseudo-visits of the vehicle's whole entry-site mix added to its entries at each hour of the day
  /// (`entrySites(_:)`; learned at fit time, `NextAppearanceModel.chooseSiteHourStrength`). nil: the
  /// entry site does not depend on the hour (fits from before 2026-12-07, or where the store said so).
  public var siteHourStrength: Double?

  public init(specification: NextAppearanceModel, populationProfile: [Double], populationGaps: [Double], populationEntries: [Double],
              hourPooling: Double? = nil, hourSmoothing: Double? = nil, renewalWeight: Double? = nil, populationStopRates: [Double]? = nil) {
    self.specification = specification; self.populationProfile = populationProfile; self.populationGaps = populationGaps
    self.populationEntries = populationEntries; self.hourPooling = hourPooling; self.hourSmoothing = hourSmoothing
    self.renewalWeight = renewalWeight; self.populationStopRates = populationStopRates
  }

  /// P(the next visit stops at site s), per site: the vehicle's share of visits with a stop at s,
  /// shrunk towards the population's rate by the site's `stopStrengths` pseudo-visits (a beta-binomial mean).
  /// Sites are not exclusive: a visit may stop at several or none. Empty for fits without stop rates.
  public func stopProbabilities(_ visits: [NextAppearanceModel.Visit]) -> [Double] {
    guard let rates = populationStopRates else { return [] }
    var own = [Double](repeating: 0, count: rates.count)
    for v in visits { for s in Set(v.stopSites) where s < own.count { own[s] += 1 } }
    let n = Double(visits.count)
    return rates.indices.map { s in let c = stopStrengths?[s] ?? 2; return (own[s] + c * rates[s]) / (n + c) }
  }

  /// Why a stop is forecast, in words: how many of the vehicle's visits stopped there, beside the
  /// share of repeat vehicles' visits that did.
  public func stopExplanation(site: Int, siteName: String, visits: [NextAppearanceModel.Visit]) -> String {
    let n = visits.filter { $0.stopSites.contains(site) }.count
    let share = (populationStopRates?[site] ?? 0) * 100
    return "stopped near \(siteName) on \(n) of its \(visits.count) visits (repeat vehicles: \(String(format: "%.1f", share))% of visits)"
  }

  /// Weights of the hours within each weekday (168, hour-of-week order): the vehicle's visits on that
  /// weekday, spread to neighbouring hours by `hourSmoothing`, plus `hourPooling` pseudo-visits of its
  /// own hours on every weekday, plus the population's profile.
  func hourWeights(_ visits: [NextAppearanceModel.Visit]) -> [Double] {
    let k = hourSmoothing ?? 0, alpha = hourPooling ?? 0
    var own = [Double](repeating: 0, count: 168), all = [Double](repeating: 0, count: 24)
    for v in visits { own[v.hourOfWeek] += 1; all[v.hourOfWeek % 24] += 1 }
    let n = Double(max(visits.count, 1))
    var w = [Double](repeating: 0, count: 168)
    for wd in 0..<7 {
      for h in 0..<24 {
        let l = (h + 23) % 24, r = (h + 1) % 24
        let o = (1 - 2 * k) * own[wd * 24 + h] + k * (own[wd * 24 + l] + own[wd * 24 + r])
        let a = (1 - 2 * k) * all[h] + k * (all[l] + all[r])
        w[wd * 24 + h] = o + alpha * a / n + specification.profileStrength * populationProfile[wd * 24 + h]
      }
    }
    return w
  }

  /// The hour-of-week profile of `visits` (own visits plus population pseudo-visits).
  func hourProfile(_ visits: [NextAppearanceModel.Visit]) -> [Double] {
    var prof = populationProfile.map { $0 * specification.profileStrength }
    for v in visits { prof[v.hourOfWeek] += 1 }
    return prof
  }

  /// The forecast's days: day 0 from `from` to the next local midnight, then whole local days (23 or
  /// 25 hours on clock-change days), with their hours (start instant, local hour of day) and weekday.
  public static func horizon(from: Int64, days: Int, clock: LocalClock) -> [(weekday: Int, hours: [(t: Int64, hour: Int)])] {
    let d0 = clock.day(from)
    return (0..<days).map { d in
      let start = d == 0 ? from : clock.startOfDay(d0 + Int64(d))
      let end = clock.startOfDay(d0 + Int64(d) + 1)
      var hours: [(Int64, Int)] = []
      var t = start
      while t < end { hours.append((t, clock.hourOfDay(t))); t += 3600 }
      return (clock.weekday(start), hours)
    }
  }

  /// The two hazards of a first visit on local day `day`, given the visits before it:
  /// - renewal: P(gap = g | gap ≥ g) from the gap distribution (own gaps + population pseudo-gaps; for
  ///   g ≥ `maxGapDays`, the population's `tailHazard`), scaled by the vehicle's weekday share;
  /// - weekday: the share of days of that weekday with a visit since the first visit (with 2
  ///   population pseudo-days), a habit of weekly slots.
  func dayHazards(_ visits: [NextAppearanceModel.Visit], day: Int64) -> (renewal: Double, weekday: Double) {
    let s = specification
    let vd = Set(visits.map(\.day)).sorted()
    guard let first = vd.first, let last = vd.last else { return (0, 0) }
    var gaps = populationGaps.map { $0 * s.gapStrength }
    for (a, b) in zip(vd, vd.dropFirst()) { gaps[min(s.maxGapDays, Int(b - a))] += 1 }
    let total = gaps.reduce(0, +)
    let pmf = gaps.map { $0 / total }
    let g = max(1, Int(day - last))
    let tail = pmf[min(g, s.maxGapDays)...].reduce(0, +)
    let h0 = g >= s.maxGapDays ? tailHazard ?? 0.5 : pmf[g] / max(tail, 1e-12)
    let prof = hourProfile(visits)
    let weekday = (0..<7).map { d in (0..<24).reduce(0.0) { $0 + prof[d * 24 + $1] } }
    let wTotal = weekday.reduce(0, +)
    let wd = LocalClock.weekday(ofDay: day)
    let renewal = min(1, h0 * 7 * weekday[wd] / max(wTotal, 1e-12))
    var visitDaysOn = 0.0, daysOn = 0.0
    for d in vd where LocalClock.weekday(ofDay: d) == wd { visitDaysOn += 1 }
    var d = first
    while d < day { if LocalClock.weekday(ofDay: d) == wd { daysOn += 1 }; d += 1 }
    // Population prior: the vehicle's own mean daily rate, shaped by the population's weekdays.
    let popDay = (0..<24).reduce(0.0) { $0 + populationProfile[wd * 24 + $1] }
    let meanRate = Double(vd.count) / Double(max(1, day - first))
    let prior = min(1, popDay * 7 * meanRate)
    return (renewal, (visitDaysOn + 2 * prior) / (daysOn + 2))
  }

  /// Probability of the first appearance on each of the next `days` local days — day 0 runs from `from`
  /// (an origin inside a day counts only the part of that day's habit still to come) — and of none in
  /// the period. The daily hazard mixes the renewal and weekday hazards (`dayHazards`) with the weight
  /// learned at fit time (`renewalWeight`). `from` should be on a whole hour (the CLI rounds up).
  public func dayProbabilities(_ visits: [NextAppearanceModel.Visit], from: Int64, days: Int, clock: LocalClock) -> (days: [Double], none: Double) {
    let hw = hourWeights(visits)
    let lambda = renewalWeight ?? 1
    let fromDay = clock.day(from)
    var survive = 1.0
    var out: [Double] = []
    for (d, day) in Self.horizon(from: from, days: days, clock: clock).enumerated() {
      let (hr, hwk) = dayHazards(visits, day: fromDay + Int64(d))
      let wd = day.weekday
      let dayWeights = (0..<24).reduce(0.0) { $0 + hw[wd * 24 + $1] }
      let inside = Set(day.hours.map(\.hour)).sorted().reduce(0.0) { $0 + hw[wd * 24 + $1] } / max(dayWeights, 1e-12)
      let h = min(1, lambda * hr + (1 - lambda) * hwk) * min(1, inside)
      let p = survive * h
      out.append(p)
      survive -= p
    }
    return (out, max(0, survive))
  }

  /// The whole forecast in factored form: the probability of the first appearance in each local hour
  /// slot of the next `days` days (slot = day offset × 24 + local hour; an hour the clocks repeat adds
  /// into its slot, one they skip stays 0), and the entry-site distribution (sums to 1). A window's
  /// probability is `slots[h] × sites[s]`; `slots` sums to P(seen in the period).
  /// With `sitesByHour` (when the model learned that entry sites depend on the hour), a window's
  /// probability is `slots[h] × sitesByHour[h % 24][s]` and `sites` is the period's mix of them.
  public func forecast(_ visits: [NextAppearanceModel.Visit], from: Int64, days: Int, clock: LocalClock)
    -> (slots: [Double], sites: [Double], sitesByHour: [[Double]]?) {
    let (dayP, _) = dayProbabilities(visits, from: from, days: days, clock: clock)
    let prof = hourWeights(visits)
    var slots = [Double](repeating: 0, count: days * 24)
    for (d, day) in Self.horizon(from: from, days: days, clock: clock).enumerated() {
      let hours = day.hours.map { prof[day.weekday * 24 + $0.hour] }
      let ht = hours.reduce(0, +)
      guard ht > 0 else { continue }
      for (i, hour) in day.hours.enumerated() { slots[d * 24 + hour.hour] += dayP[d] * hours[i] / ht }
    }
    let (sites, byHour) = entrySites(visits)
    guard let byHour else { return (slots, sites, nil) }
    var mix = [Double](repeating: 0, count: sites.count)
    for (slot, p) in slots.enumerated() where p > 0 { for s in mix.indices { mix[s] += p * byHour[slot % 24][s] } }
    let total = mix.reduce(0, +)
    return (slots, total > 0 ? mix.map { $0 / total } : sites, byHour)
  }

  /// P(entry site) for the next visit: the vehicle's entries plus `entryStrength` pseudo-entries of the
  /// population's; and, when `siteHourStrength` is set, P(entry site | local hour of the day) for each
  /// hour: the vehicle's entries within an hour of it (weight 1 at the hour, ½ either side) plus
  /// `siteHourStrength` pseudo-entries of that whole mix — a car collected at a depot in the afternoon
  /// and driven in by the A13 in the evening enters by each at its own hours.
  public func entrySites(_ visits: [NextAppearanceModel.Visit]) -> (sites: [Double], byHour: [[Double]]?) {
    var ent = populationEntries.map { $0 * specification.entryStrength }
    for v in visits where v.entrySite < ent.count { ent[v.entrySite] += 1 }
    let total = ent.reduce(0, +)
    let sites = ent.map { $0 / total }
    guard let c = siteHourStrength else { return (sites, nil) }
    return (sites, Self.sitesByHour(visits.filter { $0.entrySite < sites.count }.map { ($0.hourOfWeek % 24, $0.entrySite) },
                                    mix: sites, strength: c))
  }

  /// The weight a visit at hour of day `a` gives hour `b`: 1 at the hour, ½ an hour either side (on the
  /// 24-hour circle), else 0.
  static func nearHourWeight(_ a: Int, _ b: Int) -> Double {
    let d = abs(a - b) % 24
    switch min(d, 24 - d) { case 0: return 1; case 1: return 0.5; default: return 0 }
  }

  /// P(site | hour of day) for each hour from (hour, site) entries: the entries near the hour
  /// (`nearHourWeight`) plus `strength` pseudo-entries of `mix` — `mix` itself at an hour no entry is near.
  public static func sitesByHour(_ entries: [(hour: Int, site: Int)], mix: [Double], strength c: Double) -> [[Double]] {
    (0..<24).map { h in
      var row: [Double]? = nil
      var n = c
      for e in entries {
        let w = nearHourWeight(e.hour, h)
        if w > 0 {
          if row == nil { row = mix.map { c * $0 } }
          row![e.site] += w; n += w
        }
      }
      return row.map { $0.map { $0 / n } } ?? mix
    }
  }

  /// Why a window is forecast, in words, from the vehicle's own visits before `from`: how many of the
  /// weekdays of its kind since the first visit had a visit, how many of those within an hour of the
  /// window, and how often it entered by the window's site (`siteName`, e.g. the road).
  public func explanation(hourStart t: Int64, site: Int, siteName: String, visits: [NextAppearanceModel.Visit], from: Int64,
                          clock: LocalClock) -> String {
    let names = LocalClock.weekdayNames
    let wd = clock.weekday(t), h = clock.hourOfDay(t)
    func near(_ v: NextAppearanceModel.Visit) -> Bool { let d = abs(v.hourOfWeek % 24 - h); return min(d, 24 - d) <= 1 }
    let days = Set(visits.map(\.day)).sorted()
    var weekdaysSeen = 0
    if let first = days.first { var d = first; while d < clock.day(from) { if LocalClock.weekday(ofDay: d) == wd { weekdaysSeen += 1 }; d += 1 } }
    let onDay = Set(visits.filter { $0.hourOfWeek / 24 == wd }.map(\.day))
    let onDayNear = Set(visits.filter { $0.hourOfWeek / 24 == wd && near($0) }.map(\.day))
    let band = String(format: "%02d–%02dh", (h + 23) % 24, (h + 2) % 24)
    var parts: [String] = []
    if onDay.isEmpty {
      let anyNear = visits.filter(near).count
      parts.append("no \(names[wd]) visit yet; \(anyNear) of its \(visits.count) visits on other days were \(band)")
    } else {
      parts.append("\(names[wd])s: visited on \(onDay.count) of \(max(weekdaysSeen, onDay.count)), \(onDayNear.count) of them \(band)")
    }
    let bySite = visits.filter { $0.entrySite == site }.count
    var entered = "entered by \(siteName) on \(bySite) of \(visits.count) visits"
    if siteHourStrength != nil {
      let nearHour = visits.filter(near)
      entered += " (\(nearHour.filter { $0.entrySite == site }.count) of the \(nearHour.count) \(band))"
    }
    parts.append(entered)
    return parts.joined(separator: "; ")
  }

  /// The top `k` (entry site, hour) windows over the next `days` local days from `from`, with
  /// probabilities; over every site and hour the windows add up to P(seen in the period).
  public func topWindows(_ visits: [NextAppearanceModel.Visit], from: Int64, days: Int = 7, k: Int = 10, clock: LocalClock) -> [AppearanceWindow] {
    let (dayP, _) = dayProbabilities(visits, from: from, days: days, clock: clock)
    let prof = hourWeights(visits)
    let (sites, byHour) = entrySites(visits)
    // The k likeliest entry sites at each hour of the day (the same k at every hour without `byHour`).
    let rows = byHour ?? [sites]
    let topSites = rows.map { row in row.indices.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }.prefix(max(1, k)) }
    var out: [AppearanceWindow] = []
    for (d, day) in Self.horizon(from: from, days: days, clock: clock).enumerated() {
      let hours = day.hours.map { prof[day.weekday * 24 + $0.hour] }
      let ht = hours.reduce(0, +)
      for (i, hour) in day.hours.enumerated() where ht > 0 {
        let r = byHour == nil ? 0 : hour.hour
        for site in topSites[r] {
          out.append(AppearanceWindow(site: site, hourStart: hour.t, probability: dayP[d] * hours[i] / ht * rows[r][site]))
        }
      }
    }
    out.sort { $0.probability != $1.probability ? $0.probability > $1.probability : ($0.hourStart, $0.site) < ($1.hourStart, $1.site) }
    return Array(out.prefix(k))
  }
}

extension FittedNextAppearance {
  public var siteCount: Int { populationEntries.count }

  /// The median of `stopStrengths` over sites anyone stopped at (0 when none).
  public var medianStopStrength: Double {
    guard let c = stopStrengths, let r = populationStopRates else { return 0 }
    let xs = c.indices.filter { r[$0] > 0 }.map { c[$0] }.sorted()
    return xs.isEmpty ? 0 : xs[xs.count / 2]
  }

  /// What is wrong with the body (nil when it can be used): array lengths that match the model's
  /// terms, probabilities finite, non-negative and summing to 1, shape weights in range.
  public func bodyProblem() -> String? {
    let checks: [(String, [Double], Int)] = [("fitted.populationProfile", populationProfile, 168),
                                           ("fitted.populationGaps", populationGaps, specification.maxGapDays + 1)]
    for (name, xs, n) in checks where xs.count != n { return "\(name) has \(xs.count) values where \(n) are needed" }
    if let r = populationStopRates {
      if r.count != populationEntries.count { return "fitted.populationStopRates has \(r.count) values where \(populationEntries.count) are needed" }
      if r.contains(where: { !$0.isFinite || $0 < 0 || $0 > 1 }) { return "fitted.populationStopRates holds a value that is not a probability" }
    }
    if let c = stopStrengths {
      if c.count != populationEntries.count { return "fitted.stopStrengths has \(c.count) values where \(populationEntries.count) are needed" }
      if c.contains(where: { !$0.isFinite || $0 < 0 }) { return "fitted.stopStrengths holds a value that is not a non-negative number" }
    }
    for (name, xs) in [("fitted.populationProfile", populationProfile), ("fitted.populationGaps", populationGaps),
                       ("fitted.populationEntries", populationEntries)] {
      if xs.contains(where: { !$0.isFinite || $0 < 0 }) { return "\(name) holds a value that is not a probability" }
      if abs(xs.reduce(0, +) - 1) > 1e-6 { return "\(name) does not sum to 1" }
    }
    for (name, v, range) in [("hourPooling", hourPooling, 0.0...1e6), ("hourSmoothing", hourSmoothing, 0.0...0.5),
                             ("renewalWeight", renewalWeight, 0.0...1.0), ("tailHazard", tailHazard, 0.0...1.0),
                             ("siteHourStrength", siteHourStrength, 1e-9...1e6)] {
      if let v, !range.contains(v) { return "fitted.\(name) \(v) is outside \(range)" }
    }
    return nil
  }

  public func summary() -> ModelSummary {
    ModelSummary(kind: NextAppearanceModel.kind, facts: [
      .init("sites", "\(siteCount)"),
      .init("hours pooled across weekdays", String(format: "%.0f", hourPooling ?? 0)),
      .init("spread to neighbouring hours", String(format: "%.2f", hourSmoothing ?? 0)),
      .init("renewal weight", String(format: "%.2f", renewalWeight ?? 1)),
      .init("daily chance of a return after \(specification.maxGapDays)+ days away", String(format: "%.3f", tailHazard ?? 0.5)),
      .init("stop pseudo-visits (median over sites stopped at)", String(format: "%.1f", medianStopStrength)),
      .init("entry site by hour of day", siteHourStrength.map { String(format: "yes (%.1f pseudo-visits of the whole mix)", $0) } ?? "no: one mix at every hour"),
    ])
  }
}
