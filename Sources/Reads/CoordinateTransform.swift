import CPROJ
import Foundation

/// Converts coordinates from a projected or geographic reference system (an EPSG code such as
/// `EPSG:27700`, British National Grid, or any PROJ string) to WGS84 latitude and longitude, with
/// PROJ (the library QGIS, GDAL and PostGIS use). BNG → WGS84 uses the OSTN15 grid when PROJ has it
/// installed and a 7-parameter Helmert otherwise (metre-level), exactly as PROJ's own `cs2cs` does.
/// Not thread-safe: one transform per thread (each has its own PROJ context).
public final class CoordinateTransform {
  /// The source system as given.
  public let source: String
  private let context: OpaquePointer
  private let transform: OpaquePointer

  /// - Throws: `IngestError.badRegistry` naming the system PROJ does not know.
  public init(from source: String) throws(IngestError) {
    self.source = source
    guard let ctx = proj_context_create() else { throw .badRegistry(file: "--crs", line: 0, field: "crs", reason: "cannot start PROJ") }
    proj_log_level(ctx, PJ_LOG_NONE)
    guard let raw = proj_create_crs_to_crs(ctx, source, "EPSG:4326", nil) else {
      proj_context_destroy(ctx)
      throw .badRegistry(file: "--crs", line: 0, field: "crs", reason: "'\(source)' is not a coordinate reference system PROJ knows (e.g. EPSG:27700 for British National Grid)")
    }
    // Longitude, latitude order for EPSG:4326 whatever the authority's axis order.
    guard let normalised = proj_normalize_for_visualization(ctx, raw) else {
      proj_destroy(raw); proj_context_destroy(ctx)
      throw .badRegistry(file: "--crs", line: 0, field: "crs", reason: "PROJ cannot orient '\(source)'")
    }
    proj_destroy(raw)
    context = ctx
    transform = normalised
  }

  deinit {
    proj_destroy(transform)
    proj_context_destroy(context)
  }

  /// WGS84 (latitude, longitude) in degrees of a point given as (x, y) in the source system: easting
  /// and northing for a projected system, longitude and latitude for a geographic one. Nil when PROJ
  /// cannot transform the point (outside the system's area, or not finite).
  public func wgs84(x: Double, y: Double) -> (latitude: Double, longitude: Double)? {
    guard x.isFinite, y.isFinite else { return nil }
    let out = proj_trans(transform, PJ_FWD, proj_coord(x, y, 0, 0))
    let lon = out.xy.x, lat = out.xy.y
    guard lon.isFinite, lat.isFinite, abs(lat) <= 90, abs(lon) <= 180 else { return nil }
    return (lat, lon)
  }

  /// Whether `crs` names WGS84 itself (no conversion needed).
  public static func isWGS84(_ crs: String) -> Bool {
    ["EPSG:4326", "WGS84", "WGS 84", "OGC:CRS84"].contains(crs.uppercased())
  }
}

/// Reads a point's WGS84 position from a registry row: `latitude`/`longitude` columns, or with a
/// transform `easting`/`northing` (projected) in its system.
public struct RegistryPosition {
  let transform: CoordinateTransform?
  /// The canonical columns this reads, for header resolution.
  public var columns: [String] { transform == nil ? ["latitude", "longitude"] : ["easting", "northing"] }

  public init(crs: String?) throws(IngestError) {
    transform = try crs.flatMap { c throws(IngestError) -> CoordinateTransform? in CoordinateTransform.isWGS84(c) ? nil : try CoordinateTransform(from: c) }
  }

  /// The position from the two fields (as text), or the reason it is not one.
  public func position(_ a: String, _ b: String) -> Result<(latitude: Double, longitude: Double), RegistryProblem> {
    guard let t = transform else {
      guard let first = Double(a), (-90.0...90.0).contains(first) else {
        return .failure(RegistryProblem(field: "latitude", reason: "'\(a)' is not a number in \(-90.0...90.0)"))
      }
      guard let second = Double(b), (-180.0...180.0).contains(second) else {
        return .failure(RegistryProblem(field: "longitude", reason: "'\(b)' is not a number in \(-180.0...180.0)"))
      }
      return .success((first, second))
    }
    guard let first = Double(a) else { return .failure(RegistryProblem(field: columns[0], reason: "'\(a)' is not a number")) }
    guard let second = Double(b) else { return .failure(RegistryProblem(field: columns[1], reason: "'\(b)' is not a number")) }
    guard let p = t.wgs84(x: first, y: second) else {
      return .failure(RegistryProblem(field: "easting/northing", reason: "(\(a), \(b)) cannot be converted from \(t.source) (outside its area?)"))
    }
    return .success(p)
  }
}

public struct RegistryProblem: Error { public var field: String; public var reason: String }
