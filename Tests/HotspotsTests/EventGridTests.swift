import Foundation
import Testing
import TestSupport
@testable import Hotspots
import Reads
import Modelling

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

@Suite("Self-exciting model: units within the cut-off")
struct UnitNeighboursTests {
  /// SQUAREM's jump: where EM moves every coordinate (in the jump's own coordinates: logit θ, log ω,
  /// log σ, log rates, log shares) a fixed fraction ρ of the way to its fixed point (linear
  /// convergence, the slow case), the jump from two steps lands on the fixed point itself. A jump far
  /// past the range stays a valid parameter (θ in [0, 0.95], rates > 0, σ within its bounds); a rate
  /// at 0 (a boundary EM reached) stays 0; two steps that do not slow down give no jump.
  @Test func squaremJumpsToTheFixedPointOfALinearMap() throws {
    typealias P = SelfExcitingModel.Parameters
    let fixed = P(mu: [0.002, 0.001, 0], theta: 0.3, omega: 1e-5, sigma: 120, profile: [0.5, 1.5, 1])
    let start = P(mu: [0.004, 0.0005, 0], theta: 0.1, omega: 4e-5, sigma: 300, profile: [1, 1, 1])
    let rho = 0.9
    func logit(_ t: Double) -> Double { log(t / 0.95) - log1p(-t / 0.95) }
    func towards(_ x: Double, _ f: Double) -> Double { exp(log(f) + rho * (log(x) - log(f))) }
    func step(_ x: P) -> P {
      P(mu: zip(x.mu, fixed.mu).map { $1 == 0 ? 0 : towards($0, $1) },
        theta: 0.95 / (1 + exp(-(logit(fixed.theta) + rho * (logit(x.theta) - logit(fixed.theta))))),
        omega: towards(x.omega, fixed.omega), sigma: towards(x.sigma, fixed.sigma), profile: zip(x.profile, fixed.profile).map { towards($0, $1) })
    }
    let x1 = step(start), x2 = step(x1)
    let jump = try #require(P.squarem(start, x1, x2, lowerSigma: 10, upperSigma: 3000))
    #expect(abs(jump.theta - fixed.theta) < 1e-12 && abs(jump.omega / fixed.omega - 1) < 1e-9 && abs(jump.sigma / fixed.sigma - 1) < 1e-9)
    #expect(zip(jump.mu, fixed.mu).allSatisfy { abs($0 - $1) < 1e-12 } && zip(jump.profile, fixed.profile).allSatisfy { abs($0 - $1) < 1e-12 })
    #expect(jump.mu[2] == 0)
    // Steps racing towards θ's top: the jump goes further and stays a valid parameter.
    var up1 = x1, up2 = x2
    up1.theta = 0.9; up2.theta = 0.94; up1.sigma = 14; up2.sigma = 11
    let far = try #require(P.squarem(start, up1, up2, lowerSigma: 10, upperSigma: 3000))
    #expect(far.theta > 0.94 && far.theta < 0.95 && far.sigma >= 10 && far.sigma <= 3000 && far.mu.allSatisfy { $0 >= 0 } && far.isFinite)
    // Steps of equal length (no slowing): nothing to extrapolate.
    var line = start; line.theta = logitInverse(logit(0.1) + 0.5)
    var line2 = start; line2.theta = logitInverse(logit(0.1) + 1)
    #expect(P.squarem(start, line, line2, lowerSigma: 10, upperSigma: 3000) == nil)
    func logitInverse(_ c: Double) -> Double { 0.95 / (1 + exp(-c)) }
  }

  /// The background's seasonal shares count each slot's time in the history: on 10 days of flat
  /// hourly counts (three weekdays seen twice, four once) the next day's forecast is the rate it was
  /// drawn with, whichever weekday it is (shares by summed events alone made the once-seen weekdays
  /// about half as busy).
  @Test func theBackgroundShareOfASlotIsPerHourOfItsTime() throws {
    let units = (0..<4).map { SpatialUnit(id: "S\($0)", latitude: 51.5, longitude: 0.6 + Double($0) * 0.05) }
    var t = CountTable(units: units, binning: .hourly, firstBin: 1_772_668_800, binCount: 10 * 24, withExposure: false)
    var rng = SeededRNG(seed: 9)
    for i in t.counts.indices { t.counts[i] = Double(rng.poisson(5)) }
    let f = try SelfExcitingModel().fit(t, clock: .utc)
    #expect(f.seasonalShares.count == 168)
    let fc = f.forecast(history: t, bins: 24, clock: .utc)
    let perHour = fc.expected.reduce(0, +) / Double(4 * 24)
    #expect(abs(perHour / 5 - 1) < 0.08, "forecast \(perHour) an hour against 5")
  }

  /// With a week or more of hourly history the background's profile is by hour of the week: a town
  /// quiet at weekends is forecast quiet on Saturday (by hour of the day alone, Saturday was Friday).
  @Test func theBackgroundKnowsTheWeekend() throws {
    let units = (0..<4).map { SpatialUnit(id: "S\($0)", latitude: 51.5, longitude: 0.6 + Double($0) * 0.05) }
    // From Thursday 2026-03-05 00:00 UTC, 22 days: history ends on a Friday at midnight.
    var t = CountTable(units: units, binning: .hourly, firstBin: 1_772_668_800, binCount: 22 * 24, withExposure: false)
    var rng = SeededRNG(seed: 5)
    for u in 0..<4 {
      for b in 0..<t.binCount {
        let weekday = (b / 24 + 3) % 7  // 0 = Monday
        t.counts[u * t.binCount + b] = Double(rng.poisson(weekday >= 5 ? 0.5 : 3))
      }
    }
    let f = try SelfExcitingModel().fit(t, clock: .utc)
    #expect(f.seasonalShares.count == 168)
    let fc = f.forecast(history: t, bins: 48, clock: .utc)
    func day(_ d: Int) -> Double { (0..<4).reduce(0) { s, u in s + (d * 24..<(d + 1) * 24).reduce(0) { $0 + fc.expected[u * 48 + $1] } } }
    #expect(day(1) < 0.4 * day(0), "Friday \(day(0)), Saturday \(day(1))")
  }

  /// The latitude sweep finds exactly the pairs an all-pairs search finds, and the σ step lands where a
  /// brute-force search of the same objective over every pair does.
  @Test func neighboursAndTheSigmaStepMatchAnAllPairsSearch() {
    var rng = SeededRNG(seed: 7)
    let units = (0..<120).map { SpatialUnit(id: "U\($0)", latitude: 51.5 + rng.uniform() * 0.03, longitude: 0.1 + rng.uniform() * 0.05) }
    let cutoff = 900.0
    let near = UnitNeighbours(units: units, cutoffMetres: cutoff)
    var pairs = 0
    for v in units.indices {
      for u in units.indices {
        let d = distanceMetres(units[u], units[v])
        let found: Bool = near.entry(from: v, to: u) != nil
        #expect(found == (d <= cutoff))
        if d <= cutoff { pairs += 1 }
      }
    }
    #expect(near.count == pairs)
    // Offspring near their parents, σ about 200 m.
    var q = [Double](repeating: 0, count: near.count)
    for v in units.indices {
      for e in near.start[v]..<near.start[v + 1] { q[e] = exp(-near.squaredMetres[e] / (2 * 200 * 200)) * rng.uniform() }
    }
    func objective(_ sigma: Double) -> Double {
      var total = 0.0
      for v in units.indices {
        var z = 0.0, qv = 0.0
        for e in near.start[v]..<near.start[v + 1] { z += exp(-near.squaredMetres[e] / (2 * sigma * sigma)); total -= q[e] * near.squaredMetres[e] / (2 * sigma * sigma); qv += q[e] }
        total -= qv * log(z)
      }
      return total
    }
    let fitted = near.maximumLikelihoodSigma(offspring: q, lowerMetres: 10, upperMetres: 2 * cutoff, start: 300)
    let grid = stride(from: 10.0, through: 1800, by: 0.5).max { objective($0) < objective($1) }!
    #expect(abs(fitted - grid) <= 0.5, "σ \(fitted) against \(grid) by grid search")
    #expect(objective(fitted) >= objective(grid) - 1e-9)
    // The kernel of each parent sums to one over the units near it.
    let k = near.kernel(sigmaMetres: fitted)
    for v in units.indices {
      var sum = 0.0
      for e in near.start[v]..<near.start[v + 1] { sum += k[e] }
      #expect(abs(sum - 1) < 1e-12)
    }
  }
}

/// The self-exciting fit's candidate parents, found by scanning the time window (sparse events) or the
/// events of the units near the child (busy counts): the same list either way; and a target too busy for
/// the model is refused with a diagnosis, not fitted for hours.
@Suite("Self-exciting candidates")
struct SelfExcitingCandidateTests {
  func busyTable() -> CountTable {
    let units = (0..<36).map { k in SpatialUnit(id: "c\(k)", latitude: 51.5 + Double(k / 6) * 0.003, longitude: Double(k % 6) * 0.005) }
    var t = CountTable(units: units, binning: .hourly, firstBin: 1_767_571_200, binCount: 72, withExposure: false)
    var rng = SeededRNG(seed: 3)
    for i in t.counts.indices { t.counts[i] = Double(rng.poisson(rng.uniform() < 0.5 ? 0.3 : 4)) }
    return t
  }

  @Test func bothSearchesFindTheSameCandidates() {
    let t = busyTable(), starts = t.binStarts
    var events: [SelfExcitingModel.Event] = []
    for b in 0..<t.binCount {
      for u in 0..<t.units.count where t[u, b] > 0 { events.append(.init(unit: u, time: Double(starts[b]) + 1800, count: t[u, b])) }
    }
    let near = UnitNeighbours(units: t.units, cutoffMetres: 700)
    let args = (cut: 6 * 3600.0, width: 3600.0)
    let window = SelfExcitingModel.candidates(events, near: near, units: t.units.count, cutoffSeconds: args.cut, binWidth: args.width, search: .window)
    let byUnit = SelfExcitingModel.candidates(events, near: near, units: t.units.count, cutoffSeconds: args.cut, binWidth: args.width, search: .neighbours)
    let cheaper = SelfExcitingModel.candidates(events, near: near, units: t.units.count, cutoffSeconds: args.cut, binWidth: args.width)
    #expect(window.parent.count > 10_000 && window.parent.count < events.count * events.count / 4)
    #expect(window == byUnit && window == cheaper)
  }

  /// A backtest's next window adds a day of events: the candidates of the earlier events are kept and
  /// only the new ones searched; the result is the list searched at once. A history whose earlier
  /// events differ is searched afresh.
  @Test func candidatesExtendedWithLaterEventsEqualOneSearch() {
    let t = busyTable(), starts = t.binStarts
    func events(bins: Int, changed: Bool = false) -> [SelfExcitingModel.Event] {
      var out: [SelfExcitingModel.Event] = []
      for b in 0..<bins {
        for u in 0..<t.units.count where t[u, b] > 0 { out.append(.init(unit: u, time: Double(starts[b]) + 1800, count: t[u, b])) }
      }
      if changed { out[5].count += 1 }
      return out
    }
    let near = UnitNeighbours(units: t.units, cutoffMetres: 700)
    let key = SelfExcitingCandidateCache.Key(units: t.units.map(\.id), cutoffMetres: 700, cutoffSeconds: 6 * 3600, binWidth: 3600)
    let cache = SelfExcitingCandidateCache()
    for bins in [40, 41, 55, 72] {
      let e = events(bins: bins)
      let once = SelfExcitingModel.candidates(e, near: near, units: t.units.count, cutoffSeconds: 6 * 3600, binWidth: 3600)
      #expect(cache.candidates(e, near: near, key: key) == once)
    }
    #expect(cache.extensions == 3)
    let other = events(bins: 72, changed: true)
    #expect(cache.candidates(other, near: near, key: key) == SelfExcitingModel.candidates(other, near: near, units: t.units.count, cutoffSeconds: 6 * 3600, binWidth: 3600))
    #expect(cache.extensions == 3)
    var longerCutoff = key; longerCutoff.cutoffSeconds = 12 * 3600
    _ = cache.candidates(events(bins: 72, changed: true), near: near, key: longerCutoff)
    #expect(cache.extensions == 3)
  }

  @Test func aTargetTooBusyIsRefusedWithADiagnosis() throws {
    var model = SelfExcitingModel()
    model.maxCandidatePairs = 50
    #expect(performing: { _ = try model.fit(busyTable(), clock: .utc) },
            throws: { "\($0)".contains("sparse events") && "\($0)".contains("Poisson") })
  }
}
