import Foundation
import Modelling
import Reads
import Testing
import TestSupport
@testable import Hotspots

/// GeoPackage output (issue 21): the bytes of a geometry checked by hand against the standard, and
/// whole files read back by GDAL's `ogrinfo`, an independent reader (`make test` installs gdal-bin and
/// sets ANPRKIT_REQUIRE_GDAL, so there the read-back cannot be skipped).
@Suite("GeoPackage")
struct GeoPackageTests {
  @Test func pointBlobIsGeoPackageBinaryOverWKB() {
    let blob = GeoPackage.geometryBlob(.point(0.5, 51.5))
    var expected: [UInt8] = [0x47, 0x50, 0x00, 0x01, 0xE6, 0x10, 0x00, 0x00]  // "GP", v0, LE no envelope, srs 4326
    expected += [0x01, 0x01, 0x00, 0x00, 0x00]  // WKB little-endian Point
    withUnsafeBytes(of: (0.5).bitPattern.littleEndian) { expected += $0 }
    withUnsafeBytes(of: (51.5).bitPattern.littleEndian) { expected += $0 }
    #expect(blob == expected)
    let polygon = GeoPackage.geometryBlob(.polygon([(0, 0), (1, 0), (1, 2), (0, 2), (0, 0)]))
    #expect(polygon[3] == 0x03 && polygon.count == 8 + 32 + 9 + 4 + 5 * 16)  // header, envelope, WKB head, ring count, points
  }

  static func forecast(cells: Bool) -> HotspotForecast {
    let units = (0..<4).map { k in SpatialUnit(id: cells ? "cell-\(k)" : "S00\(k)", latitude: 51.5 + 0.01 * Double(k), longitude: 0.6 + 0.02 * Double(k), cellMetres: cells ? 500 : nil) }
    let bins = (0..<24).map { 1_772_409_600 + Int64($0) * 3600 }
    let expected = (0..<(4 * 24)).map { Double(($0 / 24) + 1) * 0.5 }
    return HotspotForecast(model: "hand \"quoted\"", units: units, binStarts: bins, expected: expected, alpha: 0.1, fallbackUnits: [])
  }

  func ogrinfo() -> String? {
    ["/usr/bin/ogrinfo", "/usr/local/bin/ogrinfo"].first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  @Test(arguments: [false, true]) func gdalReadsTheForecastBack(cells: Bool) throws {
    let f = Self.forecast(cells: cells)
    let bytes = try f.geoPackage(window: nil, clock: .utc)
    #expect(try f.geoPackage(window: nil, clock: .utc) == bytes, "same forecast, same bytes")
    #expect(bytes.prefix(16) == Data("SQLite format 3\0".utf8))
    guard let tool = ogrinfo() else {
      #expect(ProcessInfo.processInfo.environment["ANPRKIT_REQUIRE_GDAL"] == nil, "ogrinfo (Debian gdal-bin) is needed to read the GeoPackage back")
      return
    }
    let dir = try makeTemporaryDirectory("gpkg")
    let path = dir + "/h.gpkg"
    try writeAtomically(bytes, to: path)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = ["-ro", "-al", path]
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let warnings = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(p.terminationStatus == 0, "\(warnings)")
    #expect(!warnings.contains("ERROR") && !warnings.contains("Warning"), "\(warnings)")
    #expect(text.contains("using driver `GPKG'") && text.contains("Layer name: anprkit_hotspots") && text.contains("Feature Count: 4"), "\(text)")
    #expect(text.contains("Geometry: \(cells ? "Polygon" : "Point")") && text.contains("ID[\"EPSG\",4326]"), "\(text)")
    for field in ["rank: Integer64", "unit: String", "expected: Real", "lower90: Real", "upper90: Real", "share: Real", "model: String", "window: String"] {
      #expect(text.contains(field), "\(field)")
    }
    // Rank 1 is the busiest unit (the last one), with its value and the quoted model name intact.
    let top = f.ranked(window: nil, clock: .utc)[0]
    #expect(text.contains("rank (Integer64) = 1") && text.contains("unit (String) = \(top.unit)") && text.contains("model (String) = hand \"quoted\""), "\(text)")
    #expect(text.contains(cells ? "POLYGON ((0.6" : "POINT (0.66 51.53)"), "\(text)")
  }

  /// Patrol areas as polygons for a GIS: one feature per area, day and shift, read back by GDAL.
  @Test func patrolAreasAreALayerGDALReads() throws {
    let plan = patrolPlan(Self.forecast(cells: false), shifts: Shift.standard, officers: 2, clock: .utc, byDay: true)
    let bytes = try PatrolPlanFile.geoPackage(plan, lastChange: "2026-03-02T00:00:00Z")
    #expect(try PatrolPlanFile.geoPackage(plan, lastChange: "2026-03-02T00:00:00Z") == bytes)
    guard let tool = ogrinfo() else {
      #expect(ProcessInfo.processInfo.environment["ANPRKIT_REQUIRE_GDAL"] == nil, "ogrinfo (Debian gdal-bin) is needed to read the GeoPackage back")
      return
    }
    let dir = try makeTemporaryDirectory("gpkg-patrol")
    try writeAtomically(bytes, to: dir + "/p.gpkg")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = ["-ro", "-al", "-so", dir + "/p.gpkg"]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    #expect(text.contains("Layer name: anprkit_patrol_areas") && text.contains("Geometry: Polygon") && text.contains("Feature Count: \(plan.count)"), "\(text)")
    for field in ["day: String", "shift: String", "area: Integer64", "per_hour: Real", "per_hour_upper90: Real", "share: Real"] { #expect(text.contains(field), "\(field)") }
  }

  @Test func badColumnsAreRefused() {
    #expect(throws: GeoPackage.Failure.self) {
      try GeoPackage.bytes(table: "t", description: "", lastChange: "2026-01-01T00:00:00Z", columns: [.init("a", "BLOB")], features: [])
    }
    #expect(throws: GeoPackage.Failure.self) {
      try GeoPackage.bytes(table: "t", description: "", lastChange: "2026-01-01T00:00:00Z", columns: [.init("a", "REAL")],
                           features: [.init(geometry: .point(0, 0), values: [])])
    }
  }
}
