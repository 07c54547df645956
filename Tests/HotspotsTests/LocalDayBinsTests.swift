import Foundation
import Testing
import TestSupport
@testable import Hotspots
import Reads
import Modelling

/// Daily bins follow the analyst's zone: local midnight to local midnight, 23 or 25 hours on the days
/// the clocks change, and events counted into the local day they happened on.
@Suite("Local-day bins")
struct LocalDayBinsTests {
  func t(_ s: String) throws -> Int64 { Int64(try Timestamp.parse(s).get()) }

  @Test func daysRunFromLocalMidnightAcrossClockChanges() throws {
    let london = try LocalClock(identifier: "Europe/London")
    let day = Binning.seconds(86400).localised(london)
    #expect(day == .localDays(1, zone: "Europe/London"))
    #expect(Binning.seconds(86400).localised(.utc) == .seconds(86400), "UTC days stay fixed 24-hour bins")
    #expect(Binning.hourly.localised(london) == .hourly, "sub-day bins are not touched")
    #expect(day.localised(.utc) == .seconds(86400))
    // Summer: 2024-06-03 00:30 BST is 2024-06-02T23:30Z, on the 3rd locally.
    #expect(day.start(of: try t("2024-06-02T23:30:00Z")) == (try t("2024-06-02T23:00:00Z")))
    #expect(day.start(of: try t("2024-06-02T22:59:59Z")) == (try t("2024-06-01T23:00:00Z")))
    // The clocks go forward on 2024-03-31 (a 23-hour day) and back on 2024-10-27 (25 hours).
    let march31 = try t("2024-03-31T00:00:00Z")
    #expect(day.next(march31) - march31 == 23 * 3600)
    let october27 = try t("2024-10-26T23:00:00Z")
    #expect(day.start(of: try t("2024-10-27T23:30:00Z")) == october27)
    #expect(day.next(october27) - october27 == 25 * 3600)
    // Bin indices count local days, whatever their length.
    #expect(day.binsBetween(march31, try t("2024-04-01T22:59:00Z")) == 1)
    #expect(day.binsBetween(march31, try t("2024-04-01T23:00:00Z")) == 2)
    #expect(day.binsBetween(march31, try t("2024-03-30T23:59:00Z")) == -1)
    // Runs of 7 local days, and the binning survives a model file.
    let week = Binning.seconds(7 * 86400).localised(london)
    #expect(week.next(week.start(of: march31)) - week.start(of: march31) == 7 * 86400 - 3600)
    let decoded = try JSONDecoder().decode(Binning.self, from: try JSONEncoder().encode(day))
    #expect(decoded == day && "\(day)" == "1d" && day.problem == nil)
    #expect(Binning.localDays(1, zone: "Mars/Olympus").problem != nil)
  }

  /// Events in New York, where a UTC day runs 19:00–19:00 (20:00 in winter): an evening theft is
  /// counted on its own day, not the next one; every event is in exactly one bin.
  @Test func eventsAreCountedOnTheirLocalDay() throws {
    let dir = try makeTemporaryDirectory("local-days")
    let csv = """
      event_id,timestamp,latitude,longitude
      a,2024-06-03T02:00:00Z,40.7001,-74.0001
      b,2024-06-03T03:59:00Z,40.7001,-74.0001
      c,2024-06-03T04:00:00Z,40.7001,-74.0001
      d,2024-06-03T23:00:00Z,40.7001,-74.0001
      e,2024-06-04T05:00:00Z,40.7001,-74.0001

      """
    try csv.write(toFile: dir + "/events.csv", atomically: false, encoding: .utf8)
    let ny = try LocalClock(identifier: "America/New_York")
    let local = try CountTable.events(path: dir + "/events.csv", cellMetres: 500, binning: Binning.seconds(86400).localised(ny))
    #expect(local.table.binStarts == [try t("2024-06-02T04:00:00Z"), try t("2024-06-03T04:00:00Z"), try t("2024-06-04T04:00:00Z")])
    #expect(local.table.units.count == 1 && local.table.counts == [2, 2, 1], "\(local.table.counts)")
    let utc = try CountTable.events(path: dir + "/events.csv", cellMetres: 500, binning: .seconds(86400))
    #expect(utc.table.counts == [4, 1], "UTC days put the evening of the 2nd on the 3rd")
  }
}
