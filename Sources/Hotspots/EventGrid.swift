import Foundation
import Modelling
import Reads

/// A square grid over point events (recorded crime, calls for service): cells of `cellMetres` on a
/// local equirectangular projection anchored at the grid's south-west corner. A model trained on events
/// keeps its grid (`HotspotContext.eventGrid`), so later events — a newer export, another month — are
/// counted into the same cells it learned from, whatever their own extent.
public struct EventGrid: Codable, Sendable, Equatable {
  /// The south-west corner of cell (0, 0), degrees (WGS 84).
  public var originLatitude: Double
  public var originLongitude: Double
  public var cellMetres: Double
  public var columns: Int
  public var rows: Int
  /// Only events of this category were counted (nil: every category).
  public var category: String?
  /// The latitude whose parallel sets the metres in a degree of longitude (the events' southern edge).
  public var scaleLatitude: Double

  public init(originLatitude: Double, originLongitude: Double, cellMetres: Double, columns: Int, rows: Int, category: String? = nil,
              scaleLatitude: Double? = nil) {
    self.originLatitude = originLatitude; self.originLongitude = originLongitude; self.cellMetres = cellMetres
    self.columns = columns; self.rows = rows; self.category = category; self.scaleLatitude = scaleLatitude ?? originLatitude
  }

  static let metresPerDegreeLatitude = 111_200.0
  var metresPerDegreeLongitude: Double { Self.metresPerDegreeLatitude * cos(scaleLatitude * .pi / 180) }

  /// The grid whose cells cover every point, its corner `offsetMetres` (east, north) south-west of the
  /// points' bounding box; refused when it would have more than 50 million cells (a grid too fine, or a
  /// stray point far away).
  public static func covering(latitudes: [Double], longitudes: [Double], cellMetres: Double, offsetMetres: (Double, Double) = (0, 0),
                              category: String? = nil, source: String) throws -> EventGrid {
    guard cellMetres.isFinite, cellMetres > 0 else { throw SpecError.invalid("cell size \(cellMetres) m: give a positive number of metres") }
    guard let lat0 = latitudes.min(), let lon0 = longitudes.min(), let lat1 = latitudes.max(), let lon1 = longitudes.max() else {
      throw SpecError.invalid("\(source): no events to lay a grid over")
    }
    var g = EventGrid(originLatitude: lat0, originLongitude: lon0, cellMetres: cellMetres, columns: 1, rows: 1, category: category)
    g.originLatitude = lat0 - offsetMetres.1 / metresPerDegreeLatitude
    g.originLongitude = lon0 - offsetMetres.0 / g.metresPerDegreeLongitude
    let nx = Int(floor(((lon1 - g.originLongitude) * g.metresPerDegreeLongitude) / cellMetres)) + 1
    let ny = Int(floor(((lat1 - g.originLatitude) * metresPerDegreeLatitude) / cellMetres)) + 1
    guard nx.multipliedReportingOverflow(by: ny).overflow == false, nx * ny <= 50_000_000 else {
      throw SpecError.invalid("\(source): the events span \(nx) × \(ny) cells of \(Int(cellMetres)) m; use a larger --cell-metres (or check for events with wrong coordinates)")
    }
    g.columns = nx; g.rows = ny
    return g
  }

  /// The index of the cell holding a point (row-major from the south-west), or nil outside the grid.
  public func cell(latitude: Double, longitude: Double) -> Int? {
    let x = floor((longitude - originLongitude) * metresPerDegreeLongitude / cellMetres)
    let y = floor((latitude - originLatitude) * Self.metresPerDegreeLatitude / cellMetres)
    guard x >= 0, y >= 0, x < Double(columns), y < Double(rows) else { return nil }
    return Int(y) * columns + Int(x)
  }

  /// One unit per cell, `cell-X-Y`, at the cell's centre, row-major from the south-west.
  public var units: [SpatialUnit] {
    var units: [SpatialUnit] = []
    units.reserveCapacity(columns * rows)
    for y in 0..<rows {
      for x in 0..<columns {
        units.append(SpatialUnit(id: "cell-\(x)-\(y)", latitude: originLatitude + (Double(y) + 0.5) * cellMetres / Self.metresPerDegreeLatitude,
                                 longitude: originLongitude + (Double(x) + 0.5) * cellMetres / metresPerDegreeLongitude, cellMetres: cellMetres))
      }
    }
    return units
  }

  public var description: String {
    "\(columns) × \(rows) cells of \(Int(cellMetres)) m from (\(String(format: "%.5f", originLatitude)), \(String(format: "%.5f", originLongitude)))"
      + (category.map { ", category \($0)" } ?? "")
  }
}

/// Events counted onto a grid, and what happened to every row of the file: counted + outside the grid
/// + another category + after the cut + unusable = rows.
public struct EventCounts {
  public var table: CountTable
  public var grid: EventGrid
  public var rows = 0
  public var counted = 0
  /// Rows with no usable time or coordinates (police.uk publishes crimes with no location), with the
  /// first few line numbers and why.
  public var unusable = 0
  public var unusableExamples: [String] = []
  /// Events of other categories (when a category was asked for).
  public var otherCategory = 0
  /// Events outside a given grid (a model's), not counted.
  public var outside = 0
  /// Events at or after the cut (`before`), not counted.
  public var afterCut = 0

  /// Notes for the output: what was left out and why, so the counts add up.
  public var notes: [String] {
    var n: [String] = []
    if unusable > 0 { n.append("\(unusable) of \(rows) events have no usable time or coordinates and are not counted (" + unusableExamples.joined(separator: "; ") + (unusable > unusableExamples.count ? "; …" : "") + ")") }
    if otherCategory > 0 { n.append("\(otherCategory) events of other categories left out (only \(grid.category ?? ""))") }
    if afterCut > 0 { n.append("\(afterCut) events at or after the cut left out") }
    if outside > 0 { n.append("\(outside) events fall outside the model's grid (\(grid.description)) and are not counted") }
    return n
  }
}

extension CountTable {
  /// Counts point events (`event_id,timestamp,latitude,longitude,category`) per grid cell and bin: on
  /// `grid` when given (a trained model's: events outside it are counted as such), else on a grid of
  /// `cellMetres` covering the events with its corner `offsetMetres` south-west of their bounding box.
  /// Empty cells are kept (they are where nothing happened). Bins run from the first event's to the
  /// last event's, or to `through` when later.
  public static func events(path: String, grid: EventGrid? = nil, cellMetres: Double = 500, binning: Binning, category: String? = nil,
                            offsetMetres: (Double, Double) = (0, 0), through: Int64? = nil, before cut: Int64? = nil) throws -> EventCounts {
    struct Ev { var t: Int64; var lat: Double; var lon: Double }
    let category = category ?? grid?.category
    var events: [Ev] = []
    var idx: [String: Int] = [:]
    var rows = 0, unusable = 0, other = 0, afterCut = 0
    var examples: [String] = []
    func bad(_ line: Int, _ why: String) {
      unusable += 1
      if examples.count < 3 { examples.append("line \(line): \(why)") }
    }
    try CSVReader(source: ByteSource(path: path)).forEachRecord { r in
      if r.line == 1 {
        let h = (0..<r.count).map { r.string($0).trimmingCharacters(in: .whitespaces).lowercased() }
        for name in ["timestamp", "latitude", "longitude", "category"] { if let i = h.firstIndex(of: name) { idx[name] = i } }
        for name in ["timestamp", "latitude", "longitude"] where idx[name] == nil {
          throw IngestError.missingColumn(file: path, column: name, header: h)
        }
        if category != nil && idx["category"] == nil { throw IngestError.missingColumn(file: path, column: "category", header: h) }
        return
      }
      rows += 1
      let (ti, la, lo) = (idx["timestamp"]!, idx["latitude"]!, idx["longitude"]!)
      guard r.count > max(ti, la, lo) else { bad(r.line, "\(r.count) fields"); return }
      if let category, let ci = idx["category"], ci >= r.count || r.string(ci) != category { other += 1; return }
      guard case .success(let t) = Timestamp.parse(r.trimmed(ti)) else { bad(r.line, "timestamp '\(r.string(ti))'"); return }
      guard let lat = Double(r.string(la)), let lon = Double(r.string(lo)), (-90...90).contains(lat), (-180...180).contains(lon) else {
        bad(r.line, "no location ('\(r.string(la))', '\(r.string(lo))')"); return
      }
      if let cut, Int64(t) >= cut { afterCut += 1; return }
      events.append(Ev(t: Int64(t), lat: lat, lon: lon))
    }
    guard !events.isEmpty else { throw SpecError.invalid("\(path): no usable events\(category.map { " of category '\($0)'" } ?? "") in \(rows) rows") }
    let g = try grid ?? EventGrid.covering(latitudes: events.map(\.lat), longitudes: events.map(\.lon), cellMetres: cellMetres,
                                           offsetMetres: offsetMetres, category: category, source: path)
    let tmin = events.map(\.t).min()!, tmax = max(events.map(\.t).max()!, through ?? .min)
    let units = g.units
    let n = try binCount(from: tmin, through: tmax, binning: binning, units: units.count, source: path)
    var table = CountTable(units: units, binning: binning, firstBin: tmin, binCount: n, withExposure: false)
    var counted = 0, outside = 0
    for e in events {
      guard let c = g.cell(latitude: e.lat, longitude: e.lon) else { outside += 1; continue }
      table.counts[c * n + table.binIndex(e.t)!] += 1
      counted += 1
    }
    return EventCounts(table: table, grid: g, rows: rows, counted: counted, unusable: unusable, unusableExamples: examples,
                       otherCategory: other, outside: outside, afterCut: afterCut)
  }
}
