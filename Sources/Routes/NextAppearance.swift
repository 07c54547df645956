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
/// ```
public struct NextAppearanceModel: Codable, Sendable, Equatable {
  public static let kind = "next-appearance"
  /// Pseudo-visits of the population profile added to each vehicle's hour-of-week profile.
  public var profileStrength = 4.0
  /// Pseudo-visits of the population gap distribution added to each vehicle's gaps.
  public var gapStrength = 3.0
  /// Pseudo-entries of the population entry distribution.
  public var entryStrength = 2.0
  /// Longest gap (days) modelled; longer gaps share the last bucket.
  public var maxGapDays = 28
  public init() {}

  public struct Visit: Codable, Sendable {
    public var day: Int64; public var hourOfWeek: Int; public var entrySite: Int
    public init(day: Int64, hourOfWeek: Int, entrySite: Int) { self.day = day; self.hourOfWeek = hourOfWeek; self.entrySite = entrySite }
  }

  /// Visits (trip starts) of each vehicle before `until`; for a vehicle in `spans`, only trips that start
  /// inside one of its spans (its periods of use by the selected actor).
  public static func visits(store: ReadStore, until: Int64, clock: LocalClock, vehicles: [Int]? = nil,
                            spans: [Int: [ClosedRange<Int64>]] = [:]) -> [Int: [Visit]] {
    var out: [Int: [Visit]] = [:]
    for v in vehicles ?? Array(0..<store.vehicles.count) {
      for t in store.trips(ofVehicle: v) where t.start < until && EpisodeID.inUse(spans, vehicle: v, at: t.start) {
        out[v, default: []].append(Visit(day: clock.day(t.start), hourOfWeek: clock.hourOfWeek(t.start), entrySite: t.entrySite))
      }
    }
    return out
  }

  /// Fits the population parts from the visits of repeat vehicles (seen on ≥ 2 days).
  public func fit(visits: [Int: [Visit]], siteCount: Int) -> FittedNextAppearance {
    var profile = [Double](repeating: 1e-3, count: 168)
    var gaps = [Double](repeating: 0.1, count: maxGapDays + 1)
    var entries = [Double](repeating: 0.1, count: siteCount)
    for (_, vs) in visits {
      let days = Set(vs.map(\.day)).sorted()
      guard days.count >= 2 else { continue }
      for v in vs { profile[v.hourOfWeek] += 1; if v.entrySite < siteCount { entries[v.entrySite] += 1 } }
      for (a, b) in zip(days, days.dropFirst()) { gaps[min(maxGapDays, Int(b - a))] += 1 }
    }
    return FittedNextAppearance(specification: self, populationProfile: profile.map { $0 / profile.reduce(0, +) },
                                populationGaps: gaps.map { $0 / gaps.reduce(0, +) }, populationEntries: entries.map { $0 / entries.reduce(0, +) })
  }
}

/// A (site, hour) window where a vehicle may next appear.
public struct AppearanceWindow: Codable, Sendable {
  public var site: Int
  public var hourStart: Int64
  public var probability: Double
}

public struct FittedNextAppearance: Codable, Sendable {
  public let specification: NextAppearanceModel
  public let populationProfile: [Double]
  public let populationGaps: [Double]
  public let populationEntries: [Double]

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

  /// Probability of the first appearance on each of the next `days` local days — day 0 runs from `from`
  /// (an origin inside a day counts only the part of that day's habit still to come) — and of none in
  /// the period. `from` should be on a whole hour (the CLI rounds up).
  public func dayProbabilities(_ visits: [NextAppearanceModel.Visit], from: Int64, days: Int, clock: LocalClock) -> (days: [Double], none: Double) {
    let s = specification
    var gaps = populationGaps.map { $0 * s.gapStrength }
    let vd = Set(visits.map(\.day)).sorted()
    for (a, b) in zip(vd, vd.dropFirst()) { gaps[min(s.maxGapDays, Int(b - a))] += 1 }
    let total = gaps.reduce(0, +)
    let pmf = gaps.map { $0 / total }
    let g0 = vd.last.map { Int(clock.day(from) - $0) } ?? 0
    // Weekday habit: the share of visits on each weekday (own visits + population pseudo-visits),
    // scaling the gap hazard so habitual days carry the probability; within a day, the share of the
    // day's hour profile inside the forecast (all of it but on the origin's day).
    let prof = hourProfile(visits)
    let weekday = (0..<7).map { d in (0..<24).reduce(0.0) { $0 + prof[d * 24 + $1] } }
    let wTotal = weekday.reduce(0, +)
    var survive = 1.0
    var out: [Double] = []
    for (d, day) in Self.horizon(from: from, days: days, clock: clock).enumerated() {
      let g = max(1, g0 + d)
      let tail = pmf[min(g, s.maxGapDays)...].reduce(0, +)
      let h0 = g >= s.maxGapDays ? pmf[s.maxGapDays] / max(tail, 1e-12) * 0.5 : pmf[g] / max(tail, 1e-12)
      let wd = day.weekday
      let inside = Set(day.hours.map(\.hour)).reduce(0.0) { $0 + prof[wd * 24 + $1] } / max(weekday[wd], 1e-12)
      let h = min(1, h0 * 7 * weekday[wd] / max(wTotal, 1e-12)) * min(1, inside)
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
  public func forecast(_ visits: [NextAppearanceModel.Visit], from: Int64, days: Int, clock: LocalClock) -> (slots: [Double], sites: [Double]) {
    let s = specification
    let (dayP, _) = dayProbabilities(visits, from: from, days: days, clock: clock)
    let prof = hourProfile(visits)
    var slots = [Double](repeating: 0, count: days * 24)
    for (d, day) in Self.horizon(from: from, days: days, clock: clock).enumerated() {
      let hours = day.hours.map { prof[day.weekday * 24 + $0.hour] }
      let ht = hours.reduce(0, +)
      guard ht > 0 else { continue }
      for (i, hour) in day.hours.enumerated() { slots[d * 24 + hour.hour] += dayP[d] * hours[i] / ht }
    }
    var ent = populationEntries.map { $0 * s.entryStrength }
    for v in visits where v.entrySite < ent.count { ent[v.entrySite] += 1 }
    let total = ent.reduce(0, +)
    return (slots, ent.map { $0 / total })
  }

  /// The top `k` (entry site, hour) windows over the next `days` local days from `from`, with
  /// probabilities; over every site and hour the windows add up to P(seen in the period).
  public func topWindows(_ visits: [NextAppearanceModel.Visit], from: Int64, days: Int = 7, k: Int = 10, clock: LocalClock) -> [AppearanceWindow] {
    let s = specification
    let (dayP, _) = dayProbabilities(visits, from: from, days: days, clock: clock)
    let prof = hourProfile(visits)
    var ent = populationEntries.map { $0 * s.entryStrength }
    for v in visits where v.entrySite < ent.count { ent[v.entrySite] += 1 }
    let entTotal = ent.reduce(0, +)
    let topSites = ent.indices.sorted { ent[$0] > ent[$1] }.prefix(max(1, k))
    var out: [AppearanceWindow] = []
    for (d, day) in Self.horizon(from: from, days: days, clock: clock).enumerated() {
      let hours = day.hours.map { prof[day.weekday * 24 + $0.hour] }
      let ht = hours.reduce(0, +)
      for (i, hour) in day.hours.enumerated() where ht > 0 {
        for site in topSites {
          out.append(AppearanceWindow(site: site, hourStart: hour.t, probability: dayP[d] * hours[i] / ht * ent[site] / entTotal))
        }
      }
    }
    out.sort { $0.probability != $1.probability ? $0.probability > $1.probability : ($0.hourStart, $0.site) < ($1.hourStart, $1.site) }
    return Array(out.prefix(k))
  }
}
