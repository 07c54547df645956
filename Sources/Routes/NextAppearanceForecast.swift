import Foundation
import Modelling
import Reads

/// `anpr next-appearance`'s forecast as a library call: for a vehicle or a linked group (its periods of
/// use), from an origin, the probability of a first appearance on each day and the top (entry site,
/// hour) windows, each with why it is there.
public struct NextAppearanceForecast: Sendable {
  /// One (entry site, hour) window.
  public struct Window: Codable, Sendable, Equatable {
    public var site: String
    /// The hour's start, ISO 8601 UTC.
    public var hourStart: String
    /// Weekday and time on the forecast's clock (`Thu 16:00`).
    public var local: String
    public var probability: Double
    /// Why it is forecast: visits on that weekday and near that hour, the road it enters by.
    public var why: String
  }

  /// A site the subject may stop at on its next visit.
  public struct Stop: Codable, Sendable, Equatable {
    public var site: String
    /// P(the next visit stops near this site); sites are not exclusive (a visit may stop at several).
    public var probability: Double
    public var why: String
  }

  /// The subject's visits before the origin, oldest first.
  public var visits: [NextAppearanceModel.Visit]
  /// P(first appearance on day d) for d = 0 ..< days (day 0 starts at the origin).
  public var dayProbabilities: [Double]
  public var windows: [Window]
  /// The likeliest stop sites of the next visit (at most `top`, probability ≥ 0.01), most likely first.
  public var stops: [Stop]
  /// Days with a visit before the origin.
  public var seenDays: Int { Set(visits.map(\.day)).count }
  /// P(seen within the first `days` days).
  public func pSeen(within days: Int) -> Double { dayProbabilities.prefix(days).reduce(0, +) }

  /// The forecast for `vehicles` (only visits inside `spans` for a vehicle that has them) from `origin`.
  /// - Throws: `FitError.noData` when the subject has no visit before the origin.
  public static func make(store: ReadStore, model: FittedNextAppearance, vehicles: [Int], spans: [Int: [ClosedRange<Int64>]],
                          origin: Int64, days: Int, top: Int, clock: LocalClock, travel: [Int: Double]? = nil) throws -> NextAppearanceForecast {
    let mine = NextAppearanceModel.visits(store: store, until: origin, clock: clock, vehicles: vehicles, spans: spans, travel: travel)
    let visits = vehicles.flatMap { mine[$0] ?? [] }.sorted { $0.day < $1.day }
    guard !visits.isEmpty else {
      throw FitError.noData("no visits before the origin \(Timestamp.iso8601(origin)); nothing to forecast from (try a later --at)")
    }
    let (dayP, _) = model.dayProbabilities(visits, from: origin, days: days, clock: clock)
    let windows = model.topWindows(visits, from: origin, days: days, k: top, clock: clock).map { w in
      Window(site: store.sites[w.site], hourStart: Timestamp.iso8601(w.hourStart), local: clock.label(w.hourStart), probability: w.probability,
             why: model.explanation(hourStart: w.hourStart, site: w.site, siteName: store.siteName(w.site), visits: visits, from: origin, clock: clock))
    }
    let p = model.stopProbabilities(visits)
    let stops = p.indices.filter { p[$0] >= 0.01 }.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }.prefix(top).map { s in
      Stop(site: store.sites[s], probability: p[s], why: model.stopExplanation(site: s, siteName: store.siteName(s), visits: visits))
    }
    return NextAppearanceForecast(visits: visits, dayProbabilities: dayP, windows: windows, stops: Array(stops))
  }
}

extension ReadStore {
  /// A site's name for people: `ROAD (SITE)` from the camera registry, else the site id.
  public func siteName(_ s: Int) -> String {
    let id = sites[s]
    return cameras.first { $0.site == id && $0.road != nil }?.road.map { "\($0) (\(id))" } ?? id
  }
}
