import Foundation
import Testing
@testable import Reads

/// British National Grid (and any EPSG system) to WGS84 with PROJ, checked against PROJ's own `cs2cs`
/// (fixture made by Fixtures/make_bng_fixture.sh).
@Suite("Coordinate reference systems")
struct CoordinateTests {
  func fixture() throws -> [[String]] {
    let url = try #require(Bundle.module.url(forResource: "bng-wgs84", withExtension: "csv", subdirectory: "Fixtures"))
    return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
  }

  @Test func britishNationalGridMatchesCs2cs() throws {
    let t = try CoordinateTransform(from: "EPSG:27700")
    let rows = try fixture()
    #expect(rows.count >= 10)
    for r in rows {
      let p = try #require(t.wgs84(x: Double(r[0])!, y: Double(r[1])!))
      #expect(abs(p.latitude - Double(r[2])!) < 1e-9, "\(r[4])")
      #expect(abs(p.longitude - Double(r[3])!) < 1e-9, "\(r[4])")
    }
  }

  @Test func aRegistryInBNGLoadsAsWGS84() throws {
    let rows = try fixture()
    var text = "camera_id,site_id,easting,northing\n"
    for (i, r) in rows.enumerated() { text += "C\(i),S\(i),\(r[0]),\(r[1])\n" }
    let d = tempDir()
    let path = write(text, d, "cams.csv")
    let cams = try loadCameras(path: path, crs: "EPSG:27700")
    for (c, r) in zip(cams, rows) {
      #expect(abs(c.latitude - Double(r[2])!) < 1e-9 && abs(c.longitude - Double(r[3])!) < 1e-9)
    }
    // Without --crs the registry needs latitude and longitude, and says so.
    #expect { try loadCameras(path: path) } throws: { "\($0)".contains("latitude") && "\($0)".contains("--columns") }
    #expect { try CoordinateTransform(from: "EPSG:999999") } throws: { "\($0)".contains("EPSG:999999") }
    let bad = write("camera_id,easting,northing\nC1,375000,165000\nC2,abc,165000\n", d, "bad.csv")
    #expect { try loadCameras(path: bad, crs: "EPSG:27700") } throws: { "\($0)".contains("bad.csv:3") }
    #expect(CoordinateTransform.isWGS84("epsg:4326"))
    let wgs = try loadCameras(path: write("camera_id,latitude,longitude\nC1,51.5,0.6\n", d, "w.csv"), crs: "EPSG:4326")
    #expect(wgs[0].latitude == 51.5)
  }
}

/// Stores written before the header checksum (format 1) still open: `Fixtures/v1-store.anpr` was
/// written by `anpr ingest` of three reads (two cameras, raw plates) with the binary of 2026-12-01.
@Suite("Store format versions")
struct StoreVersionTests {
  @Test func aFormatOneStoreStillOpens() throws {
    let url = try #require(Bundle.module.url(forResource: "v1-store", withExtension: "anpr", subdirectory: "Fixtures"))
    let s = try ReadStore(path: url.path)
    #expect(s.header.formatVersion == 1 && s.count == 3 && s.vehicles.count == 2)
    #expect(s.time(0) == Int64(try Timestamp.parse("2026-03-05T17:00:00Z").get()))
  }
}
