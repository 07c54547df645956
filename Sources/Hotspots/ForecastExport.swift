import Foundation
import Modelling
import Reads

/// A ranked hotspot for a time window, with a 90% prediction interval.
public struct RankedHotspot: Codable, Sendable {
  public var rank: Int
  public var unit: String
  public var latitude: Double
  public var longitude: Double
  public var expected: Double
  public var lower90: Double
  public var upper90: Double
  /// Share of all expected activity in the window.
  public var share: Double
}

/// A time-of-day window on chosen weekdays, in the analyst's local time ("Thu 16:00–19:00").
public struct ShiftWindow: Codable, Sendable, Hashable, CustomStringConvertible {
  /// 0 = Monday … 6 = Sunday; empty = every day.
  public var weekdays: [Int]
  public var startHour: Int
  /// Exclusive; ≤ `startHour` for a shift past midnight, which is the night that *starts* on each of
  /// `weekdays` (`Wed 22-06` is Wednesday 22:00 to Thursday 06:00).
  public var endHour: Int

  public init(weekdays: [Int] = [], startHour: Int, endHour: Int) {
    self.weekdays = weekdays; self.startHour = startHour; self.endHour = endHour
  }

  /// Parses `16-19`, `Thu 16-19`, `Mon,Tue 22-06`.
  public static func parse(_ s: String) throws -> ShiftWindow {
    let names = LocalClock.weekdayShortNames.map { $0.lowercased() }
    var parts = s.split(separator: " ").map(String.init)
    var days: [Int] = []
    if parts.count == 2 {
      for d in parts[0].lowercased().split(separator: ",") {
        guard let i = names.firstIndex(of: String(d.prefix(3))) else { throw SpecError.invalid("window '\(s)': unknown day '\(d)'") }
        days.append(i)
      }
      parts.removeFirst()
    }
    let hs = parts.first?.split(separator: "-").compactMap { Int($0.prefix(2)) } ?? []
    guard parts.count == 1, hs.count == 2, (0...23).contains(hs[0]), (0...24).contains(hs[1]) else {
      throw SpecError.invalid("window '\(s)': use HH-HH with optional days, e.g. 'Thu 16-19'")
    }
    return ShiftWindow(weekdays: days, startHour: hs[0], endHour: hs[1])
  }

  /// Whether local time `t` is in the window. A window past midnight belongs to the day it starts on:
  /// its hours after midnight count for the previous weekday.
  public func contains(_ t: Int64, clock: LocalClock) -> Bool {
    let h = clock.hourOfDay(t), d = clock.weekday(t)
    func onDay(_ day: Int) -> Bool { weekdays.isEmpty || weekdays.contains(day) }
    if startHour < endHour { return h >= startHour && h < endHour && onDay(d) }
    return (h >= startHour && onDay(d)) || (h < endHour && onDay((d + 6) % 7))
  }

  public var description: String {
    let names = LocalClock.weekdayShortNames
    let days = weekdays.isEmpty ? "every day" : weekdays.map { names[$0] }.joined(separator: ",")
    let overnight = startHour >= endHour && !weekdays.isEmpty ? " (the night from that day)" : ""
    return String(format: "%@ %02d:00–%02d:00%@", days, startHour, endHour, overnight)
  }
}

extension HotspotForecast {
  /// Bins whose start falls in `window` (all bins when nil).
  public func bins(in window: ShiftWindow?, clock: LocalClock) -> [Int] {
    binStarts.indices.filter { window?.contains(binStarts[$0], clock: clock) ?? true }
  }

  /// Units ranked by expected activity in the window, with 90% Poisson/NB prediction intervals of
  /// their sums over the window's bins (NB2 matched by moments, `sumAlpha`: the cells' dispersion and
  /// the shared window factor).
  public func ranked(window: ShiftWindow?, clock: LocalClock, top: Int? = nil) -> [RankedHotspot] {
    let bs = bins(in: window, clock: clock)
    let tot = totals(bins: bs)
    let all = tot.reduce(0, +)
    let order = tot.indices.sorted { tot[$0] != tot[$1] ? tot[$0] > tot[$1] : units[$0].id < units[$1].id }
    return order.prefix(top ?? order.count).enumerated().map { r, u in
      let a = sumAlpha(bs.map { (expected(unit: u, bin: $0), self.window(ofBin: $0)) })
      return RankedHotspot(rank: r + 1, unit: units[u].id, latitude: units[u].latitude, longitude: units[u].longitude,
                           expected: tot[u], lower90: CountDistribution.quantile(0.05, mean: tot[u], alpha: a),
                           upper90: CountDistribution.quantile(0.95, mean: tot[u], alpha: a), share: all > 0 ? tot[u] / all : 0)
    }
  }

  /// Every unit and bin: `unit_id,latitude,longitude,bin_start,expected,lower90,upper90` (times UTC,
  /// ISO 8601; what the numbers are is in `metadata`, for the file's `.meta.json` sidecar).
  public func table() -> CSVTable {
    var t = CSVTable(header: ["unit_id", "latitude", "longitude", "bin_start", "expected", "lower90", "upper90"])
    for (u, unit) in units.enumerated() {
      for (b, start) in binStarts.enumerated() {
        let m = expected(unit: u, bin: b)
        t.append([unit.id, "\(unit.latitude)", "\(unit.longitude)", Timestamp.iso8601(start), String(format: "%.6f", m),
                  "\(Int(CountDistribution.quantile(0.05, mean: m, alpha: cellAlpha)))", "\(Int(CountDistribution.quantile(0.95, mean: m, alpha: cellAlpha)))"])
      }
    }
    return t
  }

  /// The ranked units of a window: `rank,unit_id,latitude,longitude,expected,lower90,upper90,share,window`.
  public func rankedTable(window: ShiftWindow?, clock: LocalClock, top: Int? = nil) -> CSVTable {
    var t = CSVTable(header: ["rank", "unit_id", "latitude", "longitude", "expected", "lower90", "upper90", "share", "window"])
    for r in ranked(window: window, clock: clock, top: top) {
      t.append(["\(r.rank)", r.unit, "\(r.latitude)", "\(r.longitude)", String(format: "%.6f", r.expected), "\(Int(r.lower90))",
                "\(Int(r.upper90))", String(format: "%.6f", r.share), window?.description ?? "all hours"])
    }
    return t
  }

  /// What a forecast file holds, written beside it as `FILE.meta.json`.
  public struct Metadata: Codable, Sendable, Equatable {
    public var format = "anprkit-forecast v1"
    public var model: String
    public var intervals: String
    /// Zone of the local windows and shifts; bin starts in the CSV are UTC.
    public var timeZone: String
    public var binSeconds: Int64?
    public var firstBin: String?
    public var fallbackUnits: [String]
    public var window: String?
    /// What the history left out (events outside a model's grid, rows without a location), when anything.
    public var notes: [String]? = nil
  }

  public func metadata(clock: LocalClock, window: ShiftWindow? = nil) -> Metadata {
    Metadata(model: model, intervals: "90% prediction interval, \(alpha > 0 ? "negative binomial (alpha \(alpha))" : "Poisson")"
               + (windowAlpha > 0 ? "; sums over bins (ranked files) also carry a factor shared by the whole window (variance \(windowAlpha))" : ""),
             timeZone: clock.timeZone.identifier, binSeconds: binStarts.count > 1 ? binStarts[1] - binStarts[0] : nil,
             firstBin: binStarts.first.map(Timestamp.iso8601), fallbackUnits: fallbackUnits, window: window?.description)
  }

  /// GeoJSON FeatureCollection (RFC 7946) of ranked hotspots, encoded by `JSONEncoder`: points for
  /// camera sites, square polygons for grid cells; QGIS opens it as it is. Properties carry rank,
  /// expected count and the 90% interval.
  public func geoJSON(window: ShiftWindow?, clock: LocalClock) throws -> String {
    let byID = Dictionary(units.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    let features = ranked(window: window, clock: clock).map { r -> GeoJSON.Feature in
      let u = byID[r.unit]!
      let geometry: GeoJSON.Geometry
      if let c = u.cellMetres {
        let dLat = c / 2 / 111_200, dLon = c / 2 / (111_200 * cos(u.latitude * .pi / 180))
        geometry = .polygon([[(-1.0, -1.0), (1, -1), (1, 1), (-1, 1), (-1, -1)].map { [u.longitude + $0.0 * dLon, u.latitude + $0.1 * dLat] }])
      } else {
        geometry = .point([u.longitude, u.latitude])
      }
      return GeoJSON.Feature(geometry: geometry, properties: [
        "unit": .string(r.unit), "rank": .number(Double(r.rank)), "expected": .number(r.expected), "lower90": .number(r.lower90),
        "upper90": .number(r.upper90), "share": .number(r.share), "model": .string(model), "window": .string(window?.description ?? "all"),
      ])
    }
    return try GeoJSON.FeatureCollection(name: "anprkit-hotspots", features: features).encoded()
  }
}

extension HotspotForecast {
  /// The ranked forecast as KML 2.2 (OGC 07-147r2; Google Earth and QGIS open it): one placemark per
  /// site (a point) or grid cell (a polygon), named by rank and unit, with the expected count, its 90%
  /// interval and share in `ExtendedData`, and a description an analyst can read; placemarks are in
  /// rank order. Every text is XML-escaped.
  public func kml(window: ShiftWindow?, clock: LocalClock) -> String {
    let x = xmlEscaped
    func n(_ v: Double) -> String { String(format: "%.4f", v) }
    func coordinate(_ lon: Double, _ lat: Double) -> String { String(format: "%.6f,%.6f,0", lon, lat) }
    let byID = Dictionary(units.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    let what = window?.description ?? "all hours"
    var out = """
      <?xml version="1.0" encoding="UTF-8"?>
      <kml xmlns="http://www.opengis.net/kml/2.2">
      <Document>
      <name>\(x("anprkit hotspots: \(model), \(what)"))</name>
      <description>\(x("Expected target activity per unit over \(what) (\(clock.timeZone.identifier) time), with 90% intervals; rank 1 is the busiest."))</description>

      """
    for r in ranked(window: window, clock: clock) {
      let u = byID[r.unit]!
      let geometry: String
      if let c = u.cellMetres {
        let dLat = c / 2 / 111_200, dLon = c / 2 / (111_200 * cos(u.latitude * .pi / 180))
        let ring = [(-1.0, -1.0), (1, -1), (1, 1), (-1, 1), (-1, -1)].map { coordinate(u.longitude + $0.0 * dLon, u.latitude + $0.1 * dLat) }
        geometry = "<Polygon><outerBoundaryIs><LinearRing><coordinates>\(ring.joined(separator: " "))</coordinates></LinearRing></outerBoundaryIs></Polygon>"
      } else {
        geometry = "<Point><coordinates>\(coordinate(u.longitude, u.latitude))</coordinates></Point>"
      }
      out += """
        <Placemark>
        <name>\(x("\(r.rank). \(r.unit)"))</name>
        <description>\(x(String(format: "expected %.2f (90%% interval %.0f–%.0f), %.1f%% of the forecast", r.expected, r.lower90, r.upper90, r.share * 100)))</description>
        <ExtendedData><Data name="rank"><value>\(r.rank)</value></Data><Data name="unit"><value>\(x(r.unit))</value></Data><Data name="expected"><value>\(n(r.expected))</value></Data><Data name="lower90"><value>\(n(r.lower90))</value></Data><Data name="upper90"><value>\(n(r.upper90))</value></Data><Data name="share"><value>\(n(r.share))</value></Data></ExtendedData>
        \(geometry)
        </Placemark>

        """
    }
    return out + "</Document>\n</kml>\n"
  }
}

/// GeoJSON (RFC 7946) as Codable values, so every string is escaped by `JSONEncoder`.
public enum GeoJSON {
  public enum Geometry: Encodable, Sendable {
    case point([Double])
    case lineString([[Double]])
    case polygon([[[Double]]])
    enum Keys: String, CodingKey { case type, coordinates }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: Keys.self)
      switch self {
      case .point(let p): try c.encode("Point", forKey: .type); try c.encode(p, forKey: .coordinates)
      case .lineString(let l): try c.encode("LineString", forKey: .type); try c.encode(l, forKey: .coordinates)
      case .polygon(let p): try c.encode("Polygon", forKey: .type); try c.encode(p, forKey: .coordinates)
      }
    }
  }
  public enum Value: Encodable, Sendable {
    case string(String), number(Double)
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.singleValueContainer()
      switch self {
      case .string(let s): try c.encode(s)
      case .number(let x): try c.encode(x.isFinite ? x : 0)
      }
    }
  }
  public struct Feature: Encodable, Sendable {
    public var type = "Feature"
    public var geometry: Geometry
    public var properties: [String: Value]
    public init(geometry: Geometry, properties: [String: Value]) { self.geometry = geometry; self.properties = properties }
  }
  public struct FeatureCollection: Encodable, Sendable {
    public var type = "FeatureCollection"
    public var name: String
    public var features: [Feature]
    public init(name: String, features: [Feature]) { self.name = name; self.features = features }
    /// The collection as JSON text (sorted keys: the same forecast gives the same bytes).
    public func encoded() throws -> String {
      let enc = JSONEncoder()
      enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
      return String(decoding: try enc.encode(self), as: UTF8.self) + "\n"
    }
  }
}
