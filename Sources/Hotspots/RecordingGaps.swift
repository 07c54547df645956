import Foundation
import Reads

/// Recording gaps in a count table: cells where the cameras did not record, which a model must not
/// learn as "no traffic" and a backtest must not score. Two kinds, each found from the counts alone:
///
/// - **A time of day the system does not record** (Bath's 00:00–00:15 bin, about a tenth of the
///   quarter-hours either side): a slot of the day whose total over all units is, on the median day,
///   under `slotRatio` of the smaller of the slots before and after it — a dip below both, not the
///   ramp into a morning peak. Every unit's bins at that slot are gaps, on every day.
/// - **A unit down for a day** (a camera out of service): a unit-day whose total is under `dayRatio`
///   of that unit's median daily total (and the median is at least `minimumDailyCount`). All its bins
///   that day are gaps.
///
/// Both are judged on all traffic (`exposure`) when the table has it — a sparse target (hire cars at
/// night) is quiet, not unrecorded — else on the counts; a slot is judged only where the slots either
/// side hold at least `minimumNeighbourCount` on the median day. Days and slots are UTC days of the
/// table's bins (a recording system's own clock); nothing is looked for in bins of a day or longer.
public struct RecordingGaps: Sendable, Equatable {
  /// Unit-major over the table: `true` where a cell is a gap.
  public var mask: [Bool]
  /// What was found, in words (one line per slot or unit-day).
  public var findings: [String]
  public var count: Int { mask.filter { $0 }.count }

  public init(mask: [Bool], findings: [String]) { self.mask = mask; self.findings = findings }

  public static let slotRatio = 0.3
  public static let dayRatio = 0.1
  public static let minimumDailyCount = 50.0
  public static let minimumNeighbourCount = 20.0

  /// Finds the gaps of `table` (none for bins of a day or longer).
  public static func find(in table: CountTable) -> RecordingGaps {
    var mask = [Bool](repeating: false, count: table.counts.count)
    var findings: [String] = []
    guard case .seconds(let w) = table.binning, w < 86400, 86400 % w == 0, table.binCount > 0 else {
      return RecordingGaps(mask: mask, findings: [])
    }
    let perDay = 86400 / w
    let starts = table.binStarts
    let day0 = Int(starts[0] >= 0 ? starts[0] / 86400 : (starts[0] - 86399) / 86400)
    func dayIndex(_ b: Int) -> Int { Int((starts[b] >= 0 ? starts[b] / 86400 : (starts[b] - 86399) / 86400)) - day0 }
    func slotOfDay(_ b: Int) -> Int { Int(((starts[b] % 86400) + 86400) % 86400) / w }
    let days = dayIndex(table.binCount - 1) + 1
    let signal = table.exposure ?? table.counts
    // Totals over units per (day, slot), flat (day × perDay + slot, so the slot before a day's first is
    // the day before's last); nil where the table has no bin.
    var total = [Double?](repeating: nil, count: days * perDay)
    for b in 0..<table.binCount {
      var s = 0.0
      for u in 0..<table.units.count { s += signal[u * table.binCount + b] }
      total[dayIndex(b) * perDay + slotOfDay(b)] = s
    }
    func median(_ xs: [Double]) -> Double? {
      guard !xs.isEmpty else { return nil }
      let v = xs.sorted(); return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
    }
    var gapSlots = Set<Int>()
    for slot in 0..<perDay {
      var ratios: [Double] = [], neighbours: [Double] = []
      for d in 0..<days {
        let k = d * perDay + slot
        guard k >= 1, k + 1 < total.count, let here = total[k], let before = total[k - 1], let after = total[k + 1] else { continue }
        // A dip below both neighbours, not a ramp: compared with the smaller of the two.
        neighbours.append(min(before, after))
        if min(before, after) > 0 { ratios.append(here / min(before, after)) }
      }
      if ratios.count >= 3, let m = median(ratios), m < slotRatio, let n = median(neighbours), n >= minimumNeighbourCount {
        gapSlots.insert(slot)
        let hh = slot * w / 3600, mm = slot * w % 3600 / 60, end = (slot + 1) * w
        findings.append(String(format: "%02d:%02d–%02d:%02d UTC records %.0f%% of the traffic of the quieter slot either side of it on the median day: not recorded, left out",
                               hh, mm, end / 3600 % 24, end % 3600 / 60, m * 100))
      }
    }
    for u in 0..<table.units.count {
      var daily = [Double](repeating: 0, count: days), binsOn = [Int](repeating: 0, count: days)
      for b in 0..<table.binCount { daily[dayIndex(b)] += signal[u * table.binCount + b]; binsOn[dayIndex(b)] += 1 }
      // Whole days only (a partial first or last day is not compared).
      let whole = (0..<days).filter { binsOn[$0] == perDay }
      guard let m = median(whole.map { daily[$0] }), m >= minimumDailyCount else { continue }
      for d in whole where daily[d] < dayRatio * m {
        for b in 0..<table.binCount where dayIndex(b) == d { mask[u * table.binCount + b] = true }
        findings.append(String(format: "%@ on %@: %.0f counts against a median day of %.0f: down, left out", table.units[u].id,
                               String(Timestamp.iso8601(Int64(day0 + d) * 86400).prefix(10)), daily[d], m))
      }
    }
    for b in 0..<table.binCount where gapSlots.contains(slotOfDay(b)) {
      for u in 0..<table.units.count { mask[u * table.binCount + b] = true }
    }
    return RecordingGaps(mask: mask, findings: findings)
  }

  /// The data-quality note `compare` prints: how many of `cells` are gaps, and what was found (at most 8).
  public func note(cells: Int, unit: String) -> String {
    "data quality: \(count) of \(cells) cells are recording gaps, filled from the same \(unit)'s other weeks in training and left out of the scores: "
      + findings.prefix(8).joined(separator: "; ") + (findings.count > 8 ? "; and \(findings.count - 8) more" : "")
  }

  /// `table` with every gap filled by what the unit recorded at that time of the week on the weeks it
  /// did record (the mean of its unmasked bins at the same slot of the week); where no week recorded that
  /// slot (a time of day never recorded), by the mean of the nearest recorded bins before and after it
  /// that day; 0 only when the unit recorded nothing at all. A model learns traffic, not outages.
  public func filled(_ table: CountTable) -> CountTable {
    precondition(mask.count == table.counts.count, "a gap mask is for a table of its own shape")
    var out = table
    guard mask.contains(true), case .seconds(let w) = table.binning else { return out }
    let starts = table.binStarts
    let perWeek = 7 * 86400 / w, perDay = 86400 / w
    func slotOfWeek(_ b: Int) -> Int { Int(((starts[b] % (7 * 86400)) + 7 * 86400) % (7 * 86400)) / w }
    for u in 0..<table.units.count {
      var weekSum = [Double](repeating: 0, count: perWeek), weekN = [Double](repeating: 0, count: perWeek)
      var daySum = [Double](repeating: 0, count: perDay), dayN = [Double](repeating: 0, count: perDay)
      for b in 0..<table.binCount where !mask[u * table.binCount + b] {
        let c = table.counts[u * table.binCount + b], s = slotOfWeek(b)
        weekSum[s] += c; weekN[s] += 1; daySum[s % perDay] += c; dayN[s % perDay] += 1
      }
      for b in 0..<table.binCount where mask[u * table.binCount + b] {
        let s = slotOfWeek(b)
        if weekN[s] > 0 { out.counts[u * table.binCount + b] = weekSum[s] / weekN[s]; continue }
        if dayN[s % perDay] > 0 { out.counts[u * table.binCount + b] = daySum[s % perDay] / dayN[s % perDay]; continue }
        // Never recorded at this time of day: between the recorded bins either side.
        var near: [Double] = []
        var i = b - 1
        while i >= 0 && mask[u * table.binCount + i] { i -= 1 }
        if i >= 0 { near.append(table.counts[u * table.binCount + i]) }
        i = b + 1
        while i < table.binCount && mask[u * table.binCount + i] { i += 1 }
        if i < table.binCount { near.append(table.counts[u * table.binCount + i]) }
        out.counts[u * table.binCount + b] = near.isEmpty ? 0 : near.reduce(0, +) / Double(near.count)
      }
    }
    return out
  }

  /// The mask's cells for bins `bins` of the table (unit-major over those bins), as a slice of a table
  /// with `binCount` bins.
  public func slice(bins: Range<Int>, binCount: Int, units: Int) -> [Bool] {
    var out: [Bool] = []
    out.reserveCapacity(units * bins.count)
    for u in 0..<units { for b in bins { out.append(mask[u * binCount + b]) } }
    return out
  }
}
