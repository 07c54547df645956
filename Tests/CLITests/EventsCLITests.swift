import Foundation
import Testing

/// Recorded crime forecast, not only scored: `train`, `forecast` and `report` on point events, through
/// the binary, on the committed Southend extract (police.uk, OGL v3.0).
@Suite("anpr on point events")
struct EventsCLITests {
  static let events = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Data/essex/southend-events-2018.csv").path
  static let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Models/essex-monthly-hotspot.yaml").path

  @Test func trainForecastAndReportOnTheModelsGrid() throws {
    let dir = try freshDirectory("events-cli")
    let t = try runANPR(["train", "--events", Self.events, "--category", "Drugs", "--cell-metres", "500", "--spec", Self.spec,
                         "--until", "2018-12-01T00:00:00Z", "--out", dir + "/drugs.model.json"])
    #expect(t.status == 0, "\(t.out)\(t.err)")
    #expect(t.out.contains("grid cells ×") && t.out.contains("grid: ") && t.out.contains("category Drugs"))
    #expect(t.out.contains("events at or after the cut left out") && t.out.contains("events of other categories left out"))

    // The forecast counts the whole file on the model's grid: the category comes from the model, and
    // events outside the grid are counted and said.
    let f = try runANPR(["forecast", "--model", dir + "/drugs.model.json", "--events", Self.events, "--days", "31",
                         "--geojson", dir + "/cells.geojson", "--out", dir + "/f.csv", "--top", "3"])
    #expect(f.status == 0, "\(f.out)\(f.err)")
    #expect(f.out.contains("Drugs events per grid cell") && f.out.contains("fall outside the model's grid"))
    let geo = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/cells.geojson"))) as! [String: Any]
    let features = geo["features"] as! [[String: Any]]
    #expect(features.count == 24 * 11)
    #expect(features.allSatisfy { ($0["geometry"] as! [String: Any])["type"] as? String == "Polygon" })
    let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/f.csv.meta.json"))) as! [String: Any]
    #expect((meta["notes"] as? [String])?.contains { $0.contains("outside the model's grid") } == true)

    let r = try runANPR(["report", "--events", Self.events, "--model", dir + "/drugs.model.json", "--days", "31", "--out", dir + "/r.html"],
                        environment: ["SOURCE_DATE_EPOCH": "1700000000"])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    let html = try String(contentsOfFile: dir + "/r.html", encoding: .utf8)
    #expect(html.contains("<rect class=\"cell\"") && html.contains("in each grid cell of 500 m") && html.contains("<b>Where:</b>"))
    #expect(!html.contains("Patrol plan"), "monthly bins have no shifts")
    #expect(html.contains("outside the model&apos;s grid"))

    // What cannot be honoured is refused, with the reason.
    let patrol = try runANPR(["report", "--events", Self.events, "--model", dir + "/drugs.model.json", "--patrol-csv", dir + "/p.csv", "--out", dir + "/r2.html"])
    #expect(patrol.status != 0 && patrol.err.contains("bins of a day or longer"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/r2.html"))
    let noGrid = try runANPR(["forecast", "--model", dir + "/drugs.model.json", "--counts", dir + "/f.csv", "--units", dir + "/f.csv"])
    #expect(noGrid.status != 0 && noGrid.err.contains("give its history with --events"))
    let at = try runANPR(["forecast", "--model", dir + "/drugs.model.json", "--events", Self.events, "--at", "2019-01-01"])
    #expect(at.status != 0 && at.err.contains("--at needs --store"))
  }

  @Test func aCameraSiteModelIsNotGivenEvents() throws {
    let dir = try freshDirectory("events-cli-sites")
    try "unit_id,latitude,longitude\nA,51.5,0.1\nB,51.51,0.11\n".write(toFile: dir + "/units.csv", atomically: false, encoding: .utf8)
    var counts = "unit_id,bin_start,count\n"
    for m in 1...6 { counts += "A,2026-0\(m)-01T00:00:00Z,\(m)\nB,2026-0\(m)-01T00:00:00Z,2\n" }
    try counts.write(toFile: dir + "/counts.csv", atomically: false, encoding: .utf8)
    let t = try runANPR(["train", "--counts", dir + "/counts.csv", "--units", dir + "/units.csv", "--spec", Self.spec, "--out", dir + "/m.json"])
    #expect(t.status == 0, "\(t.out)\(t.err)")
    let f = try runANPR(["forecast", "--model", dir + "/m.json", "--events", Self.events])
    #expect(f.status != 0 && f.err.contains("trained on camera sites"))
  }
}
