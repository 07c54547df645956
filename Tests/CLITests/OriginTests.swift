import Foundation
import Testing

/// The forecast origin (issue 15): explicit, said in the output, never the last read by accident.
@Suite("forecast origin")
struct OriginTests {
  @Test func theOriginIsTheEndOfTheLastFullDayOrAsGiven() throws {
    let d = try freshDirectory("origin")
    #expect(try runANPR(["keygen", "--out", d + "/key"]).status == 0)
    var r = try runANPR(["ingest", "Data/sample/reads.csv.gz", "--cameras", "Data/sample/cameras.csv", "--store", d + "/s.anpr",
                         "--key-file", d + "/key"])
    #expect(r.status == 0, "\(r.err)")
    // Data/sample's last read is 2026-03-15T23:34:50Z: that day is full, so the origin is the midnight after it.
    let plate = "XN13XAJ"
    let na = ["next-appearance", "--store", d + "/s.anpr", "--plate", plate, "--key-file", d + "/key", "--reason", "test origin"]
    r = try runANPR(na)
    #expect(r.status == 0 && r.out.contains("origin 2026-03-16T00:00:00Z") && r.out.contains("end of the last full day"), "\(r.out)\(r.err)")
    r = try runANPR(na + ["--json", "--top", "5000"])
    let rows = try JSONSerialization.jsonObject(with: Data((r.out.split(separator: "\n").last ?? "").utf8)) as! [[String: Any]]
    #expect(rows.allSatisfy { ($0["hourStart"] as! String) >= "2026-03-16T00:00:00Z" && ($0["hourStart"] as! String) < "2026-03-23T00:00:00Z" })
    // An origin inside the data: reads after it are not used, and it is rounded up to the hour.
    r = try runANPR(na + ["--at", "2026-03-10T14:20:00Z"])
    #expect(r.status == 0 && r.out.contains("origin 2026-03-10T15:00:00Z") && r.out.contains("rounded up"), "\(r.out)\(r.err)")
    #expect(r.out.contains("8 past visits"), "only the visits before the origin: \(r.out)")
    r = try runANPR(na + ["--at", "2020-01-01T00:00:00Z"])
    #expect(r.status == 1 && r.err.contains("before the store's first read"), "\(r.err)")
    // Hotspot forecasts start at the same origin.
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/historical-mean.yaml", "--out", d + "/hm.json"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["forecast", "--store", d + "/s.anpr", "--model", d + "/hm.json", "--days", "1", "--at", "2026-03-12T00:00:00Z",
                     "--out", d + "/f.csv"])
    #expect(r.status == 0 && r.out.contains("from 2026-03-12T00:00:00Z") && r.out.contains("origin 2026-03-12T00:00:00Z"), "\(r.out)\(r.err)")
    let csv = try String(contentsOfFile: d + "/f.csv", encoding: .utf8)
    #expect(csv.contains("2026-03-12T00:00:00Z") && !csv.contains("2026-03-13T00:00:00Z"), "one day from the origin")
  }
}
