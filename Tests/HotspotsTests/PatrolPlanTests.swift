import Foundation
import Modelling
import Reads
import Testing
import TestSupport
@testable import Hotspots

/// Patrol plans by day and shift (issue 21): the force's own shifts, a plan chosen for each shift's own
/// forecast, counts per hour with intervals, and a CSV that reads back.
@Suite("Patrol plan")
struct PatrolPlanTests {
  /// Two sites 5 km apart over two days from Monday 2026-03-02 00:00 UTC: site M is busy 07–12 and site E
  /// 17–22 on day 0; on day 1 the roles swap. Hour-by-hour values are hand-set, so every number in the
  /// plan is known.
  static func forecast() -> HotspotForecast {
    let start: Int64 = 1_772_409_600
    let units = [SpatialUnit(id: "M", latitude: 51.50, longitude: 0.60), SpatialUnit(id: "E", latitude: 51.545, longitude: 0.60)]
    let bins = (0..<48).map { start + Int64($0) * 3600 }
    var expected = [Double](repeating: 0.1, count: 2 * 48)
    for b in 0..<48 {
      let (day, h) = (b / 24, b % 24)
      let morning = (7..<12).contains(h), evening = (17..<22).contains(h)
      expected[0 * 48 + b] = (day == 0 ? morning : evening) ? 4 : 0.1   // M
      expected[1 * 48 + b] = (day == 0 ? evening : morning) ? 4 : 0.1   // E
    }
    return HotspotForecast(model: "hand", units: units, binStarts: bins, expected: expected, alpha: 0, fallbackUnits: [])
  }

  @Test func shiftsParseAndBadOnesAreNamed() throws {
    let s = try Shift.parseList("07-15,15-23,23-07")
    #expect(s.map(\.name) == ["07-15", "15-23", "23-07"] && s[2].window.startHour == 23 && s[2].window.endHour == 7)
    let named = try Shift.parseList("early=06-14, late=14-22,night=22-06")
    #expect(named.map(\.name) == ["early", "late", "night"])
    for bad in ["", "07-15,", "7-", "25-03", "07-07", "a=07-15,a=15-23", "07:00-15:00"] {
      #expect(throws: SpecError.self, "\(bad)") { try Shift.parseList(bad) }
    }
  }

  /// Each day's plan follows that day's forecast (the week-long plan cannot: it mixes both days), with
  /// the count per hour and a Poisson 90% interval for one hour.
  @Test func eachDayAndShiftHasItsOwnPlan() throws {
    let shifts = try Shift.parseList("day=07-15,evening=15-23,night=23-07")
    let plan = patrolPlan(Self.forecast(), shifts: shifts, officers: 1, clock: .utc, byDay: true)
    func top(_ day: String, _ shift: String) -> PatrolArea? { plan.first { $0.day == day && $0.shift == shift && $0.rank == 1 } }
    #expect(top("2026-03-02", "day")?.centre == "M" && top("2026-03-02", "evening")?.centre == "E")
    #expect(top("2026-03-03", "day")?.centre == "E" && top("2026-03-03", "evening")?.centre == "M")
    let d = try #require(top("2026-03-02", "day"))
    // 07–15: five hours at 4 and three at 0.1 → 20.3 over 8 hours.
    #expect(abs(d.expected - 20.3) < 1e-9 && d.hours == 8 && abs(d.perHour - 20.3 / 8) < 1e-9)
    #expect(d.perHourLower90 == CountDistribution.quantile(0.05, mean: 20.3 / 8, alpha: 0) && d.perHourUpper90 == CountDistribution.quantile(0.95, mean: 20.3 / 8, alpha: 0))
    // The night that starts on day 0 runs 23:00–07:00 into day 1 (8 h); the one starting on day 1 has one
    // hour left in the forecast; the forecast's first hours, 00–07, end the night begun the day before.
    #expect(plan.first { $0.day == "2026-03-02" && $0.shift == "night" }?.hours == 8)
    #expect(plan.first { $0.day == "2026-03-03" && $0.shift == "night" }?.hours == 1)
    #expect(plan.first { $0.day == "2026-03-01" && $0.shift == "night" }?.hours == 7)
    #expect(Set(plan.compactMap(\.day)) == ["2026-03-01", "2026-03-02", "2026-03-03"])
    // Every forecast hour is in exactly one shift of one day.
    #expect(plan.filter { $0.rank == 1 }.map(\.hours).reduce(0, +) == 48)
  }

  @Test func planCSVReadsBack() throws {
    let plan = patrolPlan(Self.forecast(), shifts: Shift.standard, officers: 2, clock: .utc, byDay: true)
    let dir = try makeTemporaryDirectory("patrol")
    try writeAtomically(PatrolPlanFile.table(plan).encoded(), to: dir + "/p.csv")
    let back = try PatrolPlanFile.read(path: dir + "/p.csv")
    #expect(back.count == plan.count)
    for (a, b) in zip(plan, back) {
      #expect(a.day == b.day && a.shift == b.shift && a.rank == b.rank && a.centre == b.centre && a.sites == b.sites)
      #expect(abs(a.perHour - b.perHour) <= 1e-5 * max(1, a.perHour) && abs(a.expected - b.expected) <= 1e-5 * max(1, a.expected))
    }
    try "day,shift\n2026-03-02,late\n".write(toFile: dir + "/bad.csv", atomically: false, encoding: .utf8)
    #expect(throws: IngestError.self) { try PatrolPlanFile.read(path: dir + "/bad.csv") }
  }
}
