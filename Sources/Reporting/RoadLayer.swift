import Foundation

/// Roads to draw under the report's maps, from a GeoJSON file (RFC 7946, WGS 84 longitude/latitude) —
/// for example OS Open Roads converted with `ogr2ogr -t_srs EPSG:4326 roads.geojson RoadLink.shp`.
/// Only `LineString` and `MultiLineString` geometries are roads; other geometries are counted and left
/// out, and lines wholly outside the area of interest are dropped so a national file makes a small report.
public struct RoadLayer: Sendable {
  /// Each road as a polyline of (longitude, latitude).
  public var lines: [[(Double, Double)]]
  /// Features that were not lines, and lines outside the area.
  public var skippedNotLines: Int, skippedOutside: Int

  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// Reads `path`, keeping lines with a point inside the box (longitude and latitude ranges, widened by
  /// `margin` of their span on each side).
  /// - Throws: `Failure` naming the file and, for a bad coordinate, the feature.
  public static func read(path: String, longitudes: ClosedRange<Double>, latitudes: ClosedRange<Double>, margin: Double = 0.1) throws -> RoadLayer {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw Failure(description: "\(path): cannot read the road layer (\(error.localizedDescription))") }
    guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any], root["type"] as? String == "FeatureCollection",
          let features = root["features"] as? [Any] else {
      throw Failure(description: "\(path): not a GeoJSON FeatureCollection (the road layer must be GeoJSON in WGS 84 longitude/latitude)")
    }
    let dLon = (longitudes.upperBound - longitudes.lowerBound) * margin, dLat = (latitudes.upperBound - latitudes.lowerBound) * margin
    let lonBox = (longitudes.lowerBound - dLon)...(longitudes.upperBound + dLon), latBox = (latitudes.lowerBound - dLat)...(latitudes.upperBound + dLat)
    var out = RoadLayer(lines: [], skippedNotLines: 0, skippedOutside: 0)
    for (k, f) in features.enumerated() {
      guard let geometry = (f as? [String: Any])?["geometry"] as? [String: Any], let type = geometry["type"] as? String,
            type == "LineString" || type == "MultiLineString" else { out.skippedNotLines += 1; continue }
      let parts = type == "LineString" ? [geometry["coordinates"] as Any] : (geometry["coordinates"] as? [Any] ?? [])
      for part in parts {
        guard let points = part as? [[Any]] else { throw Failure(description: "\(path): feature \(k + 1): a \(type) without a list of positions") }
        let line = try points.map { p -> (Double, Double) in
          guard p.count >= 2, let lon = (p[0] as? NSNumber)?.doubleValue, let lat = (p[1] as? NSNumber)?.doubleValue,
                (-180...180).contains(lon), (-90...90).contains(lat) else {
            throw Failure(description: "\(path): feature \(k + 1): position \(p) is not longitude, latitude in degrees (WGS 84; convert a British National Grid file with ogr2ogr -t_srs EPSG:4326)")
          }
          return (lon, lat)
        }
        if line.count >= 2 && line.contains(where: { lonBox.contains($0.0) && latBox.contains($0.1) }) { out.lines.append(line) } else { out.skippedOutside += 1 }
      }
    }
    return out
  }
}
