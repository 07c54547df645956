import Foundation
import Testing
import TestSupport
@testable import Hotspots
import Reads

@Suite("Point events on a grid")
struct EventGridTests {
  /// A grid of 2 × 2 cells of 1 000 m from (51.5, 0.0): hand-checked cells of points either side of its edges.
  @Test func pointsFallInTheCellsWorkedByHand() {
    let g = EventGrid(originLatitude: 51.5, originLongitude: 0, cellMetres: 1000, columns: 2, rows: 2)
    let mLon = 111_200 * cos(51.5 * .pi / 180)  // 69 221 m a degree of longitude here
    #expect(g.cell(latitude: 51.5 + 500 / 111_200, longitude: 500 / mLon) == 0)
    #expect(g.cell(latitude: 51.5 + 500 / 111_200, longitude: 1500 / mLon) == 1)
    #expect(g.cell(latitude: 51.5 + 1500 / 111_200, longitude: 500 / mLon) == 2)
    #expect(g.cell(latitude: 51.5 + 1500 / 111_200, longitude: 1999 / mLon) == 3)
    #expect(g.cell(latitude: 51.5 + 1500 / 111_200, longitude: 2001 / mLon) == nil)  // east of the grid
    #expect(g.cell(latitude: 51.5 - 1 / 111_200, longitude: 500 / mLon) == nil)  // south of it
    let u = g.units
    #expect(u.map(\.id) == ["cell-0-0", "cell-1-0", "cell-0-1", "cell-1-1"])
    #expect(abs(u[3].latitude - (51.5 + 1500 / 111_200)) < 1e-12 && abs(u[3].longitude - 1500 / mLon) < 1e-12)
    #expect(u.allSatisfy { $0.cellMetres == 1000 })
  }

  /// Every row is accounted for: counted + outside the grid + other category + after the cut + unusable = rows.
  @Test func everyRowIsCountedOrSaidWhyNot() throws {
    let dir = try makeTemporaryDirectory("event-grid")
    let mLon = 111_200 * cos(51.5 * .pi / 180)
    func lon(_ m: Double) -> String { String(format: "%.7f", m / mLon) }
    func lat(_ m: Double) -> String { String(format: "%.7f", 51.5 + m / 111_200) }
    let csv = """
      event_id,timestamp,latitude,longitude,category
      e1,2026-03-02T08:00:00Z,\(lat(500)),\(lon(500)),Drugs
      e2,2026-03-02T09:00:00Z,\(lat(1600)),\(lon(1600)),Drugs
      e3,2026-03-03T09:00:00Z,\(lat(1600)),\(lon(1600)),Drugs
      e4,2026-03-03T10:00:00Z,\(lat(500)),\(lon(5000)),Drugs
      e5,2026-03-03T10:00:00Z,\(lat(500)),\(lon(500)),Burglary
      e6,2026-03-03T11:00:00Z,,,Drugs
      e7,yesterday,\(lat(500)),\(lon(500)),Drugs
      e8,2026-03-09T11:00:00Z,\(lat(500)),\(lon(500)),Drugs

      """
    try csv.write(toFile: dir + "/events.csv", atomically: false, encoding: .utf8)
    let g = EventGrid(originLatitude: 51.5, originLongitude: 0, cellMetres: 1000, columns: 2, rows: 2, category: "Drugs")
    let c = try CountTable.events(path: dir + "/events.csv", grid: g, binning: .seconds(86400), before: Int64(try Timestamp.parse("2026-03-09T00:00:00Z").get()))
    #expect(c.rows == 8)
    #expect(c.counted == 3 && c.outside == 1 && c.otherCategory == 1)
    #expect(c.afterCut == 1 && c.unusable == 2)
    let accounted: Int = c.counted + c.outside + c.otherCategory + c.afterCut + c.unusable
    #expect(accounted == c.rows)
    #expect(c.unusableExamples == ["line 7: no location ('', '')", "line 8: timestamp 'yesterday'"])
    #expect(c.notes.count == 4)
    // Counts per cell and day: e1 in cell 0 on day 0; e2 and e3 in cell 3 on days 0 and 1.
    #expect(c.table.binCount == 2 && c.table.units.count == 4)
    #expect(c.table[0, 0] == 1 && c.table[3, 0] == 1 && c.table[3, 1] == 1 && c.table.counts.reduce(0, +) == 3)
    // A grid laid over the events themselves covers them all (the one far east included).
    let own = try CountTable.events(path: dir + "/events.csv", cellMetres: 1000, binning: .seconds(86400), category: "Drugs")
    #expect(own.outside == 0 && own.counted == 5 && own.grid.columns == 5 && own.grid.rows == 2)
    // A category asked of a file without a category column is an error naming the file and column.
    try "timestamp,latitude,longitude\n2026-03-02T08:00:00Z,51.5,0.01\n".write(toFile: dir + "/plain.csv", atomically: false, encoding: .utf8)
    #expect(performing: { _ = try CountTable.events(path: dir + "/plain.csv", binning: .seconds(86400), category: "Drugs") },
            throws: { "\($0)".contains("plain.csv") && "\($0)".contains("category") })
  }
}
