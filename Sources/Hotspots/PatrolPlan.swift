import Foundation
import Modelling
import Reads

/// A named shift in local time.
public struct Shift: Codable, Sendable, Hashable {
  public var name: String
  public var window: ShiftWindow
  public init(name: String, window: ShiftWindow) { self.name = name; self.window = window }
  /// Early 06–14, late 14–22, night 22–06.
  public static let standard = [Shift(name: "early", window: ShiftWindow(startHour: 6, endHour: 14)),
                                Shift(name: "late", window: ShiftWindow(startHour: 14, endHour: 22)),
                                Shift(name: "night", window: ShiftWindow(startHour: 22, endHour: 6))]
}

/// One patrol area: a compact cluster of sites (within `radiusMetres` of a centre site).
public struct PatrolArea: Codable, Sendable {
  public var shift: String
  public var rank: Int
  public var centre: String
  public var sites: [String]
  public var latitude: Double
  public var longitude: Double
  /// Expected target activity in the area over the shift's hours in the forecast, with a 90% interval.
  public var expected: Double
  public var lower90: Double
  public var upper90: Double
  /// Share of the shift's forecast activity this area covers.
  public var share: Double
}

/// For each shift, at most `officers` compact areas (disjoint site clusters of radius `radiusMetres`),
/// chosen greedily to cover the most forecast activity — the greedy rule is within a factor 1 − 1/e of
/// the best possible cover (Nemhauser, Wolsey & Fisher 1978) and is what a planner can explain.
public func patrolPlan(_ f: HotspotForecast, shifts: [Shift] = Shift.standard, officers: Int = 3, radiusMetres: Double = 600,
                       clock: LocalClock) -> [PatrolArea] {
  var plan: [PatrolArea] = []
  let n = f.units.count
  let near: [[Int]] = (0..<n).map { u in
    (0..<n).filter { haversineMetres(f.units[u].latitude, f.units[u].longitude, f.units[$0].latitude, f.units[$0].longitude) <= radiusMetres }
  }
  for shift in shifts {
    let totals = f.totals(bins: f.bins(in: shift.window, clock: clock))
    let all = totals.reduce(0, +)
    var used = Set<Int>()
    for rank in 1...max(1, officers) {
      var best = -1, bestValue = 0.0
      for c in 0..<n where !used.contains(c) {
        let v = near[c].filter { !used.contains($0) }.reduce(0) { $0 + totals[$1] }
        if v > bestValue { best = c; bestValue = v }
      }
      guard best >= 0, bestValue > 0 else { break }
      let members = near[best].filter { !used.contains($0) }
      used.formUnion(members)
      plan.append(PatrolArea(
        shift: shift.name, rank: rank, centre: f.units[best].id, sites: members.map { f.units[$0].id }.sorted(),
        latitude: f.units[best].latitude, longitude: f.units[best].longitude, expected: bestValue,
        lower90: CountDistribution.quantile(0.05, mean: bestValue, alpha: f.alpha),
        upper90: CountDistribution.quantile(0.95, mean: bestValue, alpha: f.alpha), share: all > 0 ? bestValue / all : 0))
    }
  }
  return plan
}
