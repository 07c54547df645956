import Foundation
import Reads

/// `anpr predict-route`'s workflow as a library call: for each chosen vehicle, the trip it was on at
/// the cut, the next sites ranked given that the trip goes on (with P(trip ends here) beside them,
/// never ranked among places) and the arrival window at each; a linked group is predicted for the
/// member seen last, personalised with the moves of all its periods of use.
public enum RoutePrediction {
  /// One ranked next site of one vehicle's trip.
  public struct Row: Codable, Sendable, Equatable {
    public var vehicle: String
    public var lastSite: String
    public var lastSeen: String
    public var rank: Int
    public var nextSite: String
    /// P(next site | the trip goes on); the trip's end has its own probability, `tripEndsHere`.
    public var probability: Double
    public var tripEndsHere: Double
    public var arrivalMedian: String?
    public var arrivalLow80: String?
    public var arrivalHigh80: String?
    public var evidence: String
    public var fallback: String?
  }

  /// Whose next sites: chosen vehicles (one car, or a linked group's cars with their periods of use),
  /// or every vehicle read in the hours before the cut.
  public enum Subject: Sendable {
    case vehicles([Int], spans: [Int: [ClosedRange<Int64>]])
    case seenInLast(hours: Int)
  }

  /// Rows for `subject` as of `cut` (reads at or after it are not used), `top` sites per vehicle.
  /// - Parameter clock: the model's clock (its time bands as it learned them).
  public static func predict(store: ReadStore, route: FittedMarkovRoute, subject: Subject, cut: Int64, top: Int, clock: LocalClock) -> [Row] {
    var vehicles: [Int]
    var personal: TransitionCounts? = nil
    var spans: [Int: [ClosedRange<Int64>]] = [:]
    switch subject {
    case .seenInLast(let hours):
      vehicles = Array(Set(store.reads(from: cut - Int64(hours) * 3600, to: cut).map { store.vehicle($0) })).sorted()
    case .vehicles(let members, let s):
      spans = s
      vehicles = members
      if members.count > 1 || !spans.isEmpty {
        // A linked group: the member seen last, personalised with the whole group's moves (inside its
        // periods of use only: a re-hired car's other hirers are not the group).
        func tripsInUse(_ v: Int) -> [Trip] { store.trips(ofVehicle: v, before: cut).filter { EpisodeID.inUse(spans, vehicle: v, at: $0.start) } }
        var pooled = TransitionCounts(order: 1, siteCount: store.sites.count)
        for v in members { for t in tripsInUse(v) { pooled.add(sites: t.sites, times: t.times, clock: clock) } }
        personal = pooled
        vehicles = members.max { (tripsInUse($0).last?.end ?? 0) < (tripsInUse($1).last?.end ?? 0) }.map { [$0] } ?? []
      }
    }
    var rows: [Row] = []
    for v in vehicles {
      guard let trip = store.trips(ofVehicle: v, before: cut).filter({ EpisodeID.inUse(spans, vehicle: v, at: $0.start) }).last else { continue }
      let s = Trip.collapseRepeats(trip.sites)
      let t = trip.end
      let pred = route.predict(history: s, time: t, clock: clock, personal: personal)
      let pEnd = pred.ranked.first { $0.site == endOfTrip }?.probability ?? 0
      for (k, c) in pred.ranked.filter({ $0.site != endOfTrip }).prefix(top).enumerated() {
        let tt = route.travelTime(from: s.last!, to: c.site, band: timeBand(t, clock: clock))
        rows.append(Row(vehicle: store.vehicles[v].id, lastSite: store.sites[s.last!], lastSeen: Timestamp.iso8601(t), rank: k + 1,
                        nextSite: store.sites[c.site], probability: min(1, c.probability / max(1 - pEnd, 1e-12)), tripEndsHere: pEnd,
                        arrivalMedian: Timestamp.iso8601(t + Int64(tt.median)), arrivalLow80: Timestamp.iso8601(t + Int64(tt.low80)),
                        arrivalHigh80: Timestamp.iso8601(t + Int64(tt.high80)), evidence: pred.level, fallback: pred.fallback))
      }
    }
    return rows
  }

  public static let header = ["vehicle", "last_site", "last_seen", "rank", "next_site", "probability_if_it_goes_on", "p_trip_ends_here",
                              "arrival_median", "arrival_low80", "arrival_high80", "evidence", "fallback"]

  /// The rows as `anpr predict-route --out` writes them.
  public static func table(_ rows: [Row]) -> CSVTable {
    var t = CSVTable(header: header)
    for r in rows {
      t.append([r.vehicle, r.lastSite, r.lastSeen, "\(r.rank)", r.nextSite, String(format: "%.4f", r.probability),
                String(format: "%.4f", r.tripEndsHere), r.arrivalMedian ?? "", r.arrivalLow80 ?? "", r.arrivalHigh80 ?? "",
                r.evidence, r.fallback ?? ""])
    }
    return t
  }
}

extension ReadStore {
  /// A vehicle's trips as known at `cut`: those begun before it, the last cut short at it (reads at or
  /// after the cut are not used).
  public func trips(ofVehicle v: Int, before cut: Int64, gap: Int64 = ReadStore.defaultTripGap) -> [Trip] {
    var ts = trips(ofVehicle: v, gap: gap).filter { $0.start < cut }
    if var last = ts.last, last.end >= cut {
      let keep = last.times.firstIndex { $0 >= cut } ?? last.times.count
      last.reads = Array(last.reads.prefix(keep)); last.sites = Array(last.sites.prefix(keep))
      last.times = Array(last.times.prefix(keep)); last.end = last.times.last ?? last.start
      ts[ts.count - 1] = last
    }
    return ts
  }
}
