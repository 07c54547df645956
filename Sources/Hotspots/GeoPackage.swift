import CSQLite
import Foundation
import Reads

/// A writer of OGC GeoPackage 1.3 files (OGC 12-128r18) holding one feature table of points or polygons
/// in WGS 84 (EPSG:4326) — the format QGIS, ArcGIS and GDAL open as a layer. The database is built in
/// memory with SQLite and returned as the file's bytes, so it is written like every other output
/// (atomically, never half a file). Same features, same bytes: no clock is read.
public enum GeoPackage {
  public enum Geometry: Sendable {
    /// Longitude, latitude.
    case point(Double, Double)
    /// One closed ring of (longitude, latitude).
    case polygon([(Double, Double)])
  }
  public enum Value: Sendable {
    case integer(Int), real(Double), text(String)
  }
  public struct Column: Sendable {
    public var name: String
    /// `INTEGER`, `REAL` or `TEXT`.
    public var type: String
    public init(_ name: String, _ type: String) { self.name = name; self.type = type }
  }
  public struct Feature: Sendable {
    public var geometry: Geometry
    public var values: [Value]
    public init(geometry: Geometry, values: [Value]) { self.geometry = geometry; self.values = values }
  }

  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// The GeoPackage file's bytes: the required `gpkg_spatial_ref_sys`, `gpkg_contents` and
  /// `gpkg_geometry_columns` tables and one feature table `table` (primary key `fid`, geometry column
  /// `geom` as GeoPackage binary over little-endian WKB, then `columns`).
  /// - Parameter lastChange: the time recorded in `gpkg_contents` (ISO 8601), e.g. the forecast origin.
  public static func bytes(table: String, description: String, lastChange: String, columns: [Column], features: [Feature]) throws -> Data {
    for c in columns where !["INTEGER", "REAL", "TEXT"].contains(c.type) { throw Failure(description: "GeoPackage column \(c.name): type \(c.type) is not INTEGER, REAL or TEXT") }
    for f in features where f.values.count != columns.count { throw Failure(description: "GeoPackage feature with \(f.values.count) values for \(columns.count) columns") }
    var db: OpaquePointer?
    guard sqlite3_open(":memory:", &db) == SQLITE_OK, let db else { throw Failure(description: "cannot open an in-memory SQLite database") }
    defer { sqlite3_close(db) }
    func exec(_ sql: String) throws {
      var message: UnsafeMutablePointer<CChar>?
      if sqlite3_exec(db, sql, nil, nil, &message) != SQLITE_OK {
        let m = message.map { String(cString: $0) } ?? "unknown error"
        sqlite3_free(message)
        throw Failure(description: "GeoPackage: \(m) in \(sql.prefix(80))")
      }
    }
    func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
    let points = features.allSatisfy { if case .point = $0.geometry { return true } else { return false } }
    let polygons = features.allSatisfy { if case .polygon = $0.geometry { return true } else { return false } }
    let typeName = features.isEmpty ? "GEOMETRY" : points ? "POINT" : polygons ? "POLYGON" : "GEOMETRY"
    try exec("PRAGMA application_id = 1196444487; PRAGMA user_version = 10300; PRAGMA page_size = 4096; BEGIN;")
    try exec("""
      CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
      INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system');
      INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
      INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
      CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
        description TEXT DEFAULT '', last_change DATETIME NOT NULL, min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
        srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
      CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
        srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT uk_gc_table_name UNIQUE (table_name), CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
      CREATE TABLE \(quoted(table)) (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom \(typeName)\(columns.map { ", \(quoted($0.name)) \($0.type)" }.joined()));
      """)
    var minX = Double.infinity, minY = Double.infinity, maxX = -Double.infinity, maxY = -Double.infinity
    for f in features {
      for (x, y) in coordinates(f.geometry) { minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y) }
    }
    let bounds: [Value] = features.isEmpty ? [] : [.real(minX), .real(minY), .real(maxX), .real(maxY)]
    try insert(db, "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change\(bounds.isEmpty ? "" : ", min_x, min_y, max_x, max_y"), srs_id) VALUES (?, 'features', ?, ?, ?\(bounds.isEmpty ? "" : ", ?, ?, ?, ?"), 4326)",
               [.text(table), .text(table), .text(description), .text(lastChange)] + bounds, blob: nil)
    try insert(db, "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, 4326, 0, 0)", [.text(table), .text(typeName)], blob: nil)
    let sql = "INSERT INTO \(quoted(table)) (geom\(columns.map { ", \(quoted($0.name))" }.joined())) VALUES (?\(String(repeating: ", ?", count: columns.count)))"
    for f in features { try insert(db, sql, f.values, blob: geometryBlob(f.geometry)) }
    try exec("COMMIT;")
    var size: sqlite3_int64 = 0
    guard let p = sqlite3_serialize(db, "main", &size, 0) else { throw Failure(description: "GeoPackage: SQLite could not serialise the database") }
    defer { sqlite3_free(p) }
    return Data(bytes: p, count: Int(size))
  }

  /// Runs `sql` with the blob (if any) bound first and then `values`.
  static func insert(_ db: OpaquePointer, _ sql: String, _ values: [Value], blob: [UInt8]?) throws {
    var stmt: OpaquePointer?
    guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
      throw Failure(description: "GeoPackage: \(String(cString: sqlite3_errmsg(db))) in \(sql.prefix(80))")
    }
    defer { sqlite3_finalize(stmt) }
    // SQLITE_TRANSIENT: SQLite copies the bytes before the call returns.
    let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    var index: Int32 = 1
    if let blob {
      _ = blob.withUnsafeBytes { sqlite3_bind_blob(stmt, index, $0.baseAddress, Int32($0.count), transient) }
      index += 1
    }
    for v in values {
      switch v {
      case .integer(let i): sqlite3_bind_int64(stmt, index, sqlite3_int64(i))
      case .real(let d): sqlite3_bind_double(stmt, index, d)
      case .text(let s): sqlite3_bind_text(stmt, index, s, -1, transient)
      }
      index += 1
    }
    guard sqlite3_step(stmt) == SQLITE_DONE else { throw Failure(description: "GeoPackage: \(String(cString: sqlite3_errmsg(db)))") }
  }

  static func coordinates(_ g: Geometry) -> [(Double, Double)] {
    switch g {
    case .point(let x, let y): return [(x, y)]
    case .polygon(let ring): return ring
    }
  }

  /// GeoPackage binary (clause 2.1.3): "GP", version 0, flags (little-endian; an [minx, maxx, miny, maxy]
  /// envelope for polygons, none for points), the SRS id, then the geometry as little-endian WKB.
  static func geometryBlob(_ g: Geometry) -> [UInt8] {
    var out: [UInt8] = [0x47, 0x50, 0]
    func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
    func f64(_ v: Double) { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
    switch g {
    case .point(let x, let y):
      out.append(0b0000_0001)  // little-endian, no envelope
      u32(4326)
      out.append(1); u32(1); f64(x); f64(y)
    case .polygon(let ring):
      out.append(0b0000_0011)  // little-endian, envelope [minx, maxx, miny, maxy]
      u32(4326)
      let xs = ring.map(\.0), ys = ring.map(\.1)
      f64(xs.min() ?? 0); f64(xs.max() ?? 0); f64(ys.min() ?? 0); f64(ys.max() ?? 0)
      out.append(1); u32(3); u32(1); u32(UInt32(ring.count))
      for (x, y) in ring { f64(x); f64(y) }
    }
    return out
  }
}

extension HotspotForecast {
  /// The ranked forecast as a GeoPackage layer `anprkit_hotspots`: a point per camera site, a square
  /// polygon per grid cell, with rank, unit, expected count, 90% interval, share, model and window.
  public func geoPackage(window: ShiftWindow?, clock: LocalClock) throws -> Data {
    let byID = Dictionary(units.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    let what = window?.description ?? "all hours"
    let features = ranked(window: window, clock: clock).map { r -> GeoPackage.Feature in
      let u = byID[r.unit]!
      let geometry: GeoPackage.Geometry
      if let c = u.cellMetres {
        let dLat = c / 2 / 111_200, dLon = c / 2 / (111_200 * cos(u.latitude * .pi / 180))
        geometry = .polygon([(-1.0, -1.0), (1, -1), (1, 1), (-1, 1), (-1, -1)].map { (u.longitude + $0.0 * dLon, u.latitude + $0.1 * dLat) })
      } else {
        geometry = .point(u.longitude, u.latitude)
      }
      return GeoPackage.Feature(geometry: geometry, values: [.integer(r.rank), .text(r.unit), .real(r.expected), .real(r.lower90), .real(r.upper90),
                                                             .real(r.share), .text(model), .text(what)])
    }
    return try GeoPackage.bytes(
      table: "anprkit_hotspots", description: "Expected target activity per unit over \(what) (\(clock.timeZone.identifier) time), with 90% intervals; rank 1 is the busiest.",
      lastChange: Timestamp.iso8601(binStarts.first ?? 0),
      columns: [.init("rank", "INTEGER"), .init("unit", "TEXT"), .init("expected", "REAL"), .init("lower90", "REAL"), .init("upper90", "REAL"),
                .init("share", "REAL"), .init("model", "TEXT"), .init("window", "TEXT")],
      features: features)
  }
}
