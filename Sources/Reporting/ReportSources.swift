import Evaluation
import Foundation
import Linkage
import Modelling
import Reads
import Routes

// What the report reads besides a forecast, each from the file or store that holds it: the comparison
// file `anpr compare --out` writes, the linked groups, the site labels and the roads between cameras.

/// `comparison.json`, as `anpr compare --out` writes it and `anpr report --comparison` reads it.
public enum ComparisonFile {
  /// Writes `c` as pretty, sorted JSON, atomically.
  public static func write(_ c: Comparison, to path: String) throws { try writeJSON(c, to: path) }

  /// Reads a comparison file (files from earlier versions too).
  /// - Throws: `SpecError` naming the file when it is not a comparison from `anpr compare --out`.
  public static func read(path: String) throws -> Comparison {
    let c: Comparison
    do { c = try JSONDecoder().decode(Comparison.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
      throw SpecError.invalid("\(path): not a comparison file from 'anpr compare --out' (\(error))")
    }
    guard c.format == "anprkit-comparison" else { throw SpecError.invalid("\(path): format '\(c.format)' is not 'anprkit-comparison'") }
    return c
  }
}

extension ReportInput {
  /// `SITE (road)` for every site whose cameras name a road (the first camera's road).
  public static func siteNames(_ store: ReadStore) -> [String: String] {
    var names: [String: String] = [:]
    for c in store.cameras where names[c.site] == nil {
      if let road = c.road, !road.isEmpty { names[c.site] = "\(c.site) (\(road))" }
    }
    return names
  }

  /// Each linked group's next appearance from `origin`: its periods of use pooled, the top 3 (entry
  /// site, hour) windows and stops over the next 7 days and P(seen within them). A group with no
  /// visit before the origin (or no member in this store) has none.
  public static func groupOutlooks(_ file: GroupsFile, store: ReadStore, model: FittedNextAppearance, origin: Int64,
                                   clock: LocalClock, travel: [Int: Double]? = nil) -> [String: GroupOutlook] {
    let travel = travel ?? store.typicalTravelSeconds(until: origin)
    var out: [String: GroupOutlook] = [:]
    let index = EpisodeID.vehicleIndex(store)
    for g in file.groups {
      let r = EpisodeID.resolve(file.members(of: g).map(\.vehicle), index: index)
      guard !r.vehicles.isEmpty,
            let f = try? NextAppearanceForecast.make(store: store, model: model, vehicles: r.vehicles, spans: r.spans, origin: origin,
                                                     days: 7, top: 3, clock: clock, travel: travel) else { continue }
      out[g] = GroupOutlook(pSeen7: f.pSeen(within: 7), windows: f.windows, stops: f.stops)
    }
    return out
  }

  /// The linked groups to check: id, members, the weakest member's confidence, the first evidence.
  public static func groups(_ file: GroupsFile) -> [(String, [String], Double, String)] {
    file.groups.map { g in
      let members = file.members(of: g)
      return (g, members.map(\.vehicle), members.map(\.confidence).min() ?? 1, members.first?.evidence ?? "")
    }
  }

  /// Moves between camera sites recorded in the store (consecutive reads of a vehicle within the trip
  /// gap, at two sites; either direction), for the map's roads. A road joins neighbouring cameras: a
  /// pair is kept when it is among the three commonest moves of either site (a move between distant
  /// sites, where the cameras between missed the car, is not); at most 300, commonest first.
  public static func recordedMoves(_ store: ReadStore) -> [(a: String, b: String, count: Int)] {
    var counts: [Int: Int] = [:]
    let n = store.sites.count
    store.forEachMove { from, to, _ in counts[min(from, to) * n + max(from, to), default: 0] += 1 }
    var bySite: [Int: [(key: Int, count: Int)]] = [:]
    for (k, c) in counts { bySite[k / n, default: []].append((k, c)); bySite[k % n, default: []].append((k, c)) }
    var keep = Set<Int>()
    for (_, pairs) in bySite { for p in pairs.sorted(by: { $0.count != $1.count ? $0.count > $1.count : $0.key < $1.key }).prefix(3) { keep.insert(p.key) } }
    return counts.filter { keep.contains($0.key) }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(300)
      .map { (store.sites[$0.key / n], store.sites[$0.key % n], $0.value) }
  }
}

/// A linked group's next appearance, for the report: P(seen within 7 days), its likeliest windows and stops.
public struct GroupOutlook: Sendable {
  public var pSeen7: Double
  public var windows: [NextAppearanceForecast.Window]
  public var stops: [NextAppearanceForecast.Stop]
  public init(pSeen7: Double, windows: [NextAppearanceForecast.Window], stops: [NextAppearanceForecast.Stop]) {
    self.pSeen7 = pSeen7; self.windows = windows; self.stops = stops
  }
}
