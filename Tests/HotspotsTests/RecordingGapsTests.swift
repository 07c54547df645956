import Foundation
import Modelling
import Reads
import Testing
@testable import Hotspots

/// Recording gaps (issue 17) on hand-built series: a time of day never recorded and a camera down for
/// a day are found, named, filled from the unit's other weeks, and nothing else is touched (scoring
/// without them: `EvaluationTests`).
@Suite("Recording gaps")
struct RecordingGapsTests {
  /// 3 units, 15 days of hourly bins from Monday 2026-03-02 00:00 UTC. Every unit counts 10 + unit an
  /// hour, except: hour 00:00–01:00 records 1 (a system reset), and unit U2 records nothing on day 4.
  func table() -> CountTable {
    let units = (0..<3).map { SpatialUnit(id: "U\($0)", latitude: 51.5, longitude: 0.7 + Double($0) * 0.01) }
    var t = CountTable(units: units, binning: .hourly, firstBin: 1_772_409_600, binCount: 15 * 24, withExposure: false)
    for u in 0..<3 {
      for b in 0..<t.binCount {
        t.counts[u * t.binCount + b] = b % 24 == 0 ? 1 : u == 2 && b / 24 == 4 ? 0 : Double(10 + u)
      }
    }
    return t
  }

  @Test func gapsAreFoundFilledAndLeftOutOfScores() {
    let t = table()
    let gaps = RecordingGaps.find(in: t)
    // The midnight hour on all 15 days for 3 units, and U2's day 4 (its midnight already counted).
    #expect(gaps.count == 15 * 3 + 23, "\(gaps.count)")
    #expect(gaps.findings.count == 2 && gaps.findings[0].hasPrefix("00:00–01:00 UTC") && gaps.findings[1].hasPrefix("U2 on 2026-03-06"), "\(gaps.findings)")
    for u in 0..<3 {
      for b in 0..<t.binCount {
        let expected = b % 24 == 0 || (u == 2 && b / 24 == 4)
        #expect(gaps.mask[u * t.binCount + b] == expected, "unit \(u) bin \(b)")
      }
    }
    // Filled from the unit's own other weeks at that hour of the week: U2's day 4 (Friday) from the
    // Friday a week later (12 an hour); the midnight hour, never recorded, from the recorded hours
    // either side of it (10 for U0: 23:00 the day before and 01:00; only 01:00 on the first day).
    let filled = gaps.filled(t)
    #expect(filled[2, 4 * 24 + 10] == 12 && filled[2, 4 * 24 + 10 + 24 * 7] == 12)
    #expect(filled[0, 0] == 10 && filled[0, 24] == 10 && filled[2, 4 * 24] == 12, "\(filled[0, 0]) \(filled[0, 24]) \(filled[2, 4 * 24])")
    #expect(filled[1, 5] == 11, "cells that are not gaps keep their counts")
  }

  /// A sparse target is quiet, not unrecorded: hire-car reads of 0–2 an hour at night are not a gap,
  /// and with all traffic as the exposure the gaps are judged on that.
  @Test func aQuietTargetIsNoGap() {
    var t = table()
    for i in t.counts.indices { t.counts[i] = i % 24 < 6 ? 0 : 1 }
    #expect(RecordingGaps.find(in: t).count == 0, "neighbours under 20 a slot: not judged")
    var withTraffic = CountTable(units: t.units, binning: .hourly, firstBin: t.firstBin, binCount: t.binCount, withExposure: true)
    withTraffic.counts = t.counts
    withTraffic.exposure = table().counts.map { $0 * 10 }
    #expect(RecordingGaps.find(in: withTraffic).count == 15 * 3 + 23, "the outages of all traffic")
  }

  /// No gaps in steady counts, and none looked for in daily bins.
  @Test func steadyCountsHaveNoGaps() {
    var t = table()
    for i in t.counts.indices { t.counts[i] = 10 }
    #expect(RecordingGaps.find(in: t).count == 0)
    var daily = CountTable(units: t.units, binning: .seconds(86400), firstBin: 1_772_409_600, binCount: 15, withExposure: false)
    for i in daily.counts.indices { daily.counts[i] = i % 15 == 3 ? 0 : 240 }
    #expect(RecordingGaps.find(in: daily).count == 0)
  }
}
