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

  /// Parses a force's shift pattern: `07-15,15-23,23-07`, or with names `early=07-15,late=15-23,night=23-07`
  /// (local hours; a shift past midnight is the night that starts on its day). Unnamed shifts are named by
  /// their hours (`07-15`). Throws naming the part that is wrong.
  public static func parseList(_ text: String) throws -> [Shift] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard !parts.isEmpty, !parts.contains(where: \.isEmpty) else { throw SpecError.invalid("shifts '\(text)': give HH-HH[,HH-HH…], e.g. 07-15,15-23,23-07") }
    var out: [Shift] = []
    for part in parts {
      let named = part.split(separator: "=", maxSplits: 1).map(String.init)
      let hours = named.last!
      let bounds = hours.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
      guard bounds.count == 2, let a = Int(bounds[0]), let b = Int(bounds[1]), bounds.allSatisfy({ (1...2).contains($0.count) }),
            (0...23).contains(a), (0...24).contains(b), a != b % 24 else {
        throw SpecError.invalid("shift '\(part)': hours must be HH-HH with a start 00–23 and a different end 00–24, e.g. 23-07")
      }
      let name = named.count == 2 ? named[0] : String(format: "%02d-%02d", a, b)
      guard !name.isEmpty, !out.contains(where: { $0.name == name }) else { throw SpecError.invalid("shift '\(part)': the name '\(name)' is empty or used twice") }
      out.append(Shift(name: name, window: ShiftWindow(startHour: a, endHour: b)))
    }
    return out
  }
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
  /// Local date the shift starts on (`YYYY-MM-DD`), or nil for a plan over every day of the forecast.
  public var day: String? = nil
  /// Forecast hours the shift covers (less than its length at the end of the forecast).
  public var hours: Double = 0
  /// Expected activity per hour in the area over the shift, with a 90% interval for one hour's count.
  public var perHour: Double = 0
  public var perHourLower90: Double = 0
  public var perHourUpper90: Double = 0
}

/// For each shift, at most `officers` compact areas (disjoint site clusters of radius `radiusMetres`),
/// chosen greedily to cover the most forecast activity — the greedy rule is within a factor 1 − 1/e of
/// the best possible cover (Nemhauser, Wolsey & Fisher 1978) and is what a planner can explain. With
/// `byDay`, one plan per local day and shift (a night shift is the night that starts on that day), each
/// chosen for that shift's own forecast; otherwise one plan per shift over the whole forecast.
public func patrolPlan(_ f: HotspotForecast, shifts: [Shift] = Shift.standard, officers: Int = 3, radiusMetres: Double = 600,
                       clock: LocalClock, byDay: Bool = false) -> [PatrolArea] {
  let n = f.units.count
  let near: [[Int]] = (0..<n).map { u in
    (0..<n).filter { haversineMetres(f.units[u].latitude, f.units[u].longitude, f.units[$0].latitude, f.units[$0].longitude) <= radiusMetres }
  }
  let binSeconds = f.binStarts.count > 1 ? Double(f.binStarts[1] - f.binStarts[0]) : 3600
  var plan: [PatrolArea] = []
  for shift in shifts {
    let bins = f.bins(in: shift.window, clock: clock)
    // The local day each bin's shift started on: hours after midnight of a night shift belong to the day before.
    let wraps = shift.window.startHour >= shift.window.endHour
    let byStartDay = Dictionary(grouping: bins) { b -> Int64 in
      let t = f.binStarts[b]
      return clock.day(t) - (wraps && clock.hourOfDay(t) < shift.window.endHour ? 1 : 0)
    }
    let parts: [(day: String?, bins: [Int])] = byDay
      ? byStartDay.keys.sorted().map { (String(Timestamp.iso8601($0 * 86400).prefix(10)), byStartDay[$0]!) }
      : [(nil, bins)]
    for part in parts {
      let totals = f.totals(bins: part.bins)
      let all = totals.reduce(0, +)
      let hours = Double(part.bins.count) * binSeconds / 3600
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
        let perHour = hours > 0 ? bestValue / hours : 0
        plan.append(PatrolArea(
          shift: shift.name, rank: rank, centre: f.units[best].id, sites: members.map { f.units[$0].id }.sorted(),
          latitude: f.units[best].latitude, longitude: f.units[best].longitude, expected: bestValue,
          lower90: CountDistribution.quantile(0.05, mean: bestValue, alpha: f.alpha),
          upper90: CountDistribution.quantile(0.95, mean: bestValue, alpha: f.alpha), share: all > 0 ? bestValue / all : 0,
          day: part.day, hours: hours, perHour: perHour,
          perHourLower90: CountDistribution.quantile(0.05, mean: perHour, alpha: f.alpha),
          perHourUpper90: CountDistribution.quantile(0.95, mean: perHour, alpha: f.alpha)))
      }
    }
  }
  return plan
}

/// The patrol plan as CSV (one row per area, per day and shift), for a printed sheet or Excel, and
/// read back by the same names.
public enum PatrolPlanFile {
  public static let header = ["day", "shift", "hours", "area", "centre", "sites", "latitude", "longitude", "per_hour", "per_hour_lower90",
                              "per_hour_upper90", "expected", "lower90", "upper90", "share"]

  public static func table(_ plan: [PatrolArea]) -> CSVTable {
    var t = CSVTable(header: header)
    func g(_ x: Double) -> String { String(format: "%.6g", x) }
    for a in plan {
      t.append([a.day ?? "", a.shift, g(a.hours), "\(a.rank)", a.centre, a.sites.joined(separator: " "), "\(a.latitude)", "\(a.longitude)",
                g(a.perHour), g(a.perHourLower90), g(a.perHourUpper90), g(a.expected), g(a.lower90), g(a.upper90), g(a.share)])
    }
    return t
  }

  /// - Throws: `IngestError.badRegistry` naming the file, line and field.
  public static func read(path: String) throws -> [PatrolArea] {
    let t = try CSVTable.read(path: path)
    guard t.header == header else {
      throw IngestError.badRegistry(file: path, line: 1, field: t.header.first ?? "", reason: "not a patrol plan from 'anpr report --patrol-csv' (header \(t.header.joined(separator: ",")))")
    }
    return try t.records.enumerated().map { k, r in
      func number(_ name: String) throws -> Double {
        guard let v = Double(r[name] ?? ""), v.isFinite else {
          throw IngestError.badRegistry(file: path, line: k + 2, field: name, reason: "'\(r[name] ?? "")' is not a number")
        }
        return v
      }
      guard let rank = Int(r["area"] ?? ""), rank >= 1 else {
        throw IngestError.badRegistry(file: path, line: k + 2, field: "area", reason: "'\(r["area"] ?? "")' is not an area number")
      }
      return PatrolArea(shift: r["shift"]!, rank: rank, centre: r["centre"]!, sites: r["sites"]!.split(separator: " ").map(String.init),
                        latitude: try number("latitude"), longitude: try number("longitude"), expected: try number("expected"),
                        lower90: try number("lower90"), upper90: try number("upper90"), share: try number("share"),
                        day: r["day"]!.isEmpty ? nil : r["day"], hours: try number("hours"), perHour: try number("per_hour"),
                        perHourLower90: try number("per_hour_lower90"), perHourUpper90: try number("per_hour_upper90"))
    }
  }
}

extension PatrolPlanFile {
  /// The plan as a GeoPackage layer `anprkit_patrol_areas` for a force's GIS or dispatch map: each area
  /// a polygon (a 32-sided circle of `radiusMetres` around its centre site) with its day, shift, rank,
  /// sites and expected counts per hour and over the shift with their 90% intervals.
  public static func geoPackage(_ plan: [PatrolArea], radiusMetres: Double = 600, lastChange: String) throws -> Data {
    let features = plan.map { a -> GeoPackage.Feature in
      let dLat = radiusMetres / 111_200, dLon = radiusMetres / (111_200 * cos(a.latitude * .pi / 180))
      var ring = (0..<32).map { k -> (Double, Double) in
        let t = Double(k) / 32 * 2 * .pi
        return (a.longitude + dLon * cos(t), a.latitude + dLat * sin(t))
      }
      ring.append(ring[0])
      return GeoPackage.Feature(geometry: .polygon(ring), values: [
        .text(a.day ?? ""), .text(a.shift), .integer(a.rank), .text(a.centre), .text(a.sites.joined(separator: " ")), .real(a.hours),
        .real(a.perHour), .real(a.perHourLower90), .real(a.perHourUpper90), .real(a.expected), .real(a.lower90), .real(a.upper90), .real(a.share),
      ])
    }
    return try GeoPackage.bytes(
      table: "anprkit_patrol_areas", description: "Patrol areas by day and shift (local time): sites within \(Int(radiusMetres)) m of a centre, with expected target activity per hour and over the shift and 90% intervals.",
      lastChange: lastChange,
      columns: [.init("day", "TEXT"), .init("shift", "TEXT"), .init("area", "INTEGER"), .init("centre", "TEXT"), .init("sites", "TEXT"), .init("hours", "REAL"),
                .init("per_hour", "REAL"), .init("per_hour_lower90", "REAL"), .init("per_hour_upper90", "REAL"), .init("expected", "REAL"),
                .init("lower90", "REAL"), .init("upper90", "REAL"), .init("share", "REAL")],
      features: features)
  }
}
