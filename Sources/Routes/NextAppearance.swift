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

  public struct Visit: Codable, Sendable { public var day: Int64; public var hourOfWeek: Int; public var entrySite: Int }

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

  /// Probability of the first appearance in each of the next `days` days (index 0 = the day after `from`'s
  /// day starts at `from`), and of none in the period.
  public func dayProbabilities(_ visits: [NextAppearanceModel.Visit], from: Int64, days: Int, clock: LocalClock) -> (days: [Double], none: Double) {
    let s = specification
    var gaps = populationGaps.map { $0 * s.gapStrength }
    let vd = Set(visits.map(\.day)).sorted()
    for (a, b) in zip(vd, vd.dropFirst()) { gaps[min(s.maxGapDays, Int(b - a))] += 1 }
    let total = gaps.reduce(0, +)
    let pmf = gaps.map { $0 / total }
    let g0 = vd.last.map { Int(clock.day(from) - $0) } ?? 0
    // Weekday habit: the share of visits on each weekday (own visits + population pseudo-visits),
    // scaling the gap hazard so habitual days carry the probability.
    var weekday = (0..<7).map { d in (0..<24).reduce(0.0) { $0 + populationProfile[d * 24 + $1] } * s.profileStrength }
    for v in visits { weekday[v.hourOfWeek / 24] += 1 }
    let wTotal = weekday.reduce(0, +)
    var survive = 1.0
    var out: [Double] = []
    let fromDay = clock.day(from)
    for d in 0..<days {
      let g = max(1, g0 + d)
      let tail = pmf[min(g, s.maxGapDays)...].reduce(0, +)
      let h0 = g >= s.maxGapDays ? pmf[s.maxGapDays] / max(tail, 1e-12) * 0.5 : pmf[g] / max(tail, 1e-12)
      let wd = Int(((fromDay + Int64(d) + 3) % 7 + 7) % 7)
      let h = h0 * 7 * weekday[wd] / max(wTotal, 1e-12)
      let p = survive * min(1, h)
      out.append(p)
      survive -= p
    }
    return (out, max(0, survive))
  }

  /// The top `k` (entry site, hour) windows over the next `days` days, with probabilities.
  public func topWindows(_ visits: [NextAppearanceModel.Visit], from: Int64, days: Int = 7, k: Int = 10, clock: LocalClock) -> [AppearanceWindow] {
    let s = specification
    let (dayP, _) = dayProbabilities(visits, from: from, days: days, clock: clock)
    var prof = populationProfile.map { $0 * s.profileStrength }
    for v in visits { prof[v.hourOfWeek] += 1 }
    var ent = populationEntries.map { $0 * s.entryStrength }
    for v in visits where v.entrySite < ent.count { ent[v.entrySite] += 1 }
    let entTotal = ent.reduce(0, +)
    let topSites = ent.indices.sorted { ent[$0] > ent[$1] }.prefix(max(1, k))
    var out: [AppearanceWindow] = []
    let dayStart = from - ((clock.local(from) % 86400) + 86400) % 86400
    for d in 0..<days {
      let start = dayStart + Int64(d) * 86400
      let wd = clock.weekday(start + 43200)
      let hours = (0..<24).map { prof[wd * 24 + $0] }
      let ht = hours.reduce(0, +)
      for h in 0..<24 {
        let t = start + Int64(h) * 3600
        if t < from { continue }
        for site in topSites {
          out.append(AppearanceWindow(site: site, hourStart: t, probability: dayP[d] * hours[h] / ht * ent[site] / entTotal))
        }
      }
    }
    out.sort { $0.probability != $1.probability ? $0.probability > $1.probability : ($0.hourStart, $0.site) < ($1.hourStart, $1.site) }
    return Array(out.prefix(k))
  }
}
