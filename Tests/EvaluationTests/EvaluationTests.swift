import Foundation
import ModelCatalogue
import Modelling
import Reads
import Testing
import TestSupport
@testable import Evaluation
@testable import Hotspots
import Routes

@Suite("Metrics on hand-worked examples")
struct MetricTests {
  /// The next-appearance oracle's time forecast from a simulated habit: visits on habit weekdays with
  /// probability .85 (.06 otherwise), the entry time normal around 17:30 (sd 0.4 h).
  @Test func habitOracleIsTheGenerativeProcess() {
    let h = NextAppearanceBacktest.Habit(weekdays: [3], entryHour: 17.5, visitProbabilityHabitDay: 0.85, visitProbabilityOtherDay: 0.06, entryHourSD: 0.4)
    let monday: Int64 = 20_514  // 2026-03-02, a Monday (weekday 0)
    let slots = h.slots(originDay: monday, days: 7)
    let none = [0.06, 0.06, 0.06, 0.85, 0.06, 0.06, 0.06].reduce(1.0) { $0 * (1 - $1) }
    #expect(abs(slots.reduce(0, +) - (1 - none)) < 1e-12)
    // Thursday: 17:30 ± 0.4 h puts Φ(1.25) − Φ(−1.25) = 0.789 of the day in the 17:00 hour, the same
    // either side; the day before holds 0.06 of what survives.
    let thursday = 0.85 * 0.94 * 0.94 * 0.94
    let thu17 = slots[3 * 24 + 17], thu16 = slots[3 * 24 + 16], thu18 = slots[3 * 24 + 18]
    #expect(abs(thu17 - thursday * 0.788700) < 1e-5, "\(thu17)")
    #expect(abs(thu16 - thu18) < 1e-12)
    let wednesday: Double = slots[48..<72].reduce(0, +)
    let expected: Double = 0.06 * 0.94 * 0.94
    #expect(abs(wednesday - expected) < 1e-12)
  }

  /// Reliability of P(seen): bins of tenths, mean stated against share seen.
  @Test func nextAppearanceReliabilityBins() {
    let pairs: [(p: Double, seen: Bool)] = [(0.05, false), (0.15, false), (0.15, true), (0.95, true), (1.0, true), (0.92, false)]
    let bins = NextAppearanceBacktest.reliability(pairs)
    #expect(bins.map(\.subjects) == [1, 2, 3])
    #expect(abs(bins[1].stated - 0.15) < 1e-12 && bins[1].observed == 0.5)
    #expect(abs(bins[2].stated - (0.95 + 1 + 0.92) / 3) < 1e-12 && abs(bins[2].observed - 2.0 / 3) < 1e-12)
  }

  /// Next-appearance metrics (issue 15) on a factored forecast: hours × sites.
  @Test func nextAppearanceMetrics() {
    // Windows: slot 0 → .30 .15 .05; slot 1 → .12 .06 .02; slot 2 → .06 .03 .01. P(seen) = 0.8.
    // Stops: site 0 .2, site 1 .7, site 2 .1 (the visit stops at 0 and 2: 0 is second of 3).
    let f = NextAppearanceBacktest.Forecast(slots: [0.5, 0.2, 0.1], sites: [0.6, 0.3, 0.1], stops: [0.2, 0.7, 0.1])
    var m = NextAppearanceBacktest.score(f, actual: (slot: 1, site: 0, stops: [0, 2]))  // .12: two windows above it
    #expect(m["hit@1"] == 0 && m["hit@3"] == 1 && m["hit@10"] == 1)
    #expect(abs(m["log_score"]! - log(0.12)) < 1e-12)
    #expect(abs(m["seen7_brier"]! - 0.04) < 1e-12)
    #expect(m["hour_hit@3"] == 1 && m["site_hit@1"] == 1)
    #expect(m["arrival_coverage80"] == 1, "slots 0 and 1 hold .7 of .8: 80% needs both")
    #expect(m["stop_hit@3"] == 1)
    #expect(abs(m["stop_brier"]! - (0.64 + 0.49 + 0.81)) < 1e-12)
    m = NextAppearanceBacktest.score(f, actual: (slot: 2, site: 0, stops: []))  // .06, tied with (1, 1); .30 .15 .12 above
    #expect(m["hit@3"] == 0 && m["hit@10"] == 1 && m["arrival_coverage80"] == 0 && m["site_hit@1"] == 1)
    #expect(m["stop_hit@3"]!.isNaN, "no stop on this visit: not a stop forecast to score")
    #expect(abs(m["stop_brier"]! - (0.04 + 0.49 + 0.01)) < 1e-12)
    // Stop ties share credit: the visit stopped at site 2, tied with 3 and 4 for third place.
    let stopTies = NextAppearanceBacktest.Forecast(slots: [1], sites: [1, 0, 0, 0, 0], stops: [0.9, 0.8, 0.1, 0.1, 0.1])
    #expect(abs(NextAppearanceBacktest.score(stopTies, actual: (slot: 0, site: 0, stops: [2]))["stop_hit@3"]! - 1.0 / 3) < 1e-12)
    // Two of the three tied sites were stopped at: one of them takes the one place left 2 times in 3.
    #expect(abs(NextAppearanceBacktest.score(stopTies, actual: (slot: 0, site: 0, stops: [2, 4]))["stop_hit@3"]! - 2.0 / 3) < 1e-12)
    // Ties share credit: two windows at .30, the one that came is one of them.
    let tied = NextAppearanceBacktest.Forecast(slots: [0.6, 0.4], sites: [0.5, 0.5], stops: [])
    #expect(NextAppearanceBacktest.score(tied, actual: (slot: 0, site: 1, stops: []))["hit@1"] == 0.5)
    // Not seen: scored by P(not seen); hit rates are over subjects that were seen.
    m = NextAppearanceBacktest.score(f, actual: nil)
    #expect(abs(m["log_score"]! - log(0.2)) < 1e-12 && abs(m["seen7_brier"]! - 0.64) < 1e-12 && m["hit@10"]!.isNaN)
  }

  // 10 units; forecast ranks unit 0 first, then 1, ...; actual events: 4 at unit 0, 1 at unit 3, 5 at unit 9.
  let forecast: [Double] = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
  let actual: [Double] = [4, 0, 0, 1, 0, 0, 0, 0, 0, 5]

  @Test func hitRatePAIAndPEI() {
    // Top 10% = 1 unit (unit 0): 4 of 10 events.
    #expect(HotspotMetrics.hitRate(forecast: forecast, actual: actual, coverage: 0.10) == 0.4)
    // PAI = 0.4 / 0.1 = 4.
    #expect(abs(HotspotMetrics.pai(forecast: forecast, actual: actual, coverage: 0.10) - 4) < 1e-12)
    // PEI* = 4 / (best single unit: 5) = 0.8.
    #expect(HotspotMetrics.peiStar(forecast: forecast, actual: actual, coverage: 0.10) == 0.8)
    // Top 40% = 4 units (0–3): 5 of 10.
    #expect(HotspotMetrics.hitRate(forecast: forecast, actual: actual, coverage: 0.40) == 0.5)
    #expect(HotspotMetrics.hitRate(forecast: forecast, actual: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], coverage: 0.1).isNaN)
  }

  /// Ties at the cut share the places left (the expectation under random tie-breaking), so a forecast
  /// that is the same everywhere scores the coverage share of events, not the first units' events.
  @Test func tiesShareCredit() {
    // Top 20% = 2 units: unit 0 (10) above the cut, then units 1, 2, 3 tied at 5 for 1 place: 4 + (0+1+3)/3.
    let tied: [Double] = [10, 5, 5, 5, 0, 0, 0, 0, 0, 0]
    let events: [Double] = [4, 0, 1, 3, 0, 0, 0, 0, 0, 2]
    #expect(abs(HotspotMetrics.expectedHits(forecast: tied, actual: events, k: 2) - (4 + 4.0 / 3)) < 1e-12)
    #expect(abs(HotspotMetrics.hitRate(forecast: tied, actual: events, coverage: 0.2) - (4 + 4.0 / 3) / 10) < 1e-12)
    // Zero everywhere: 10% of units hold, in expectation, 10% of the events (order-broken: unit 0's 40%).
    let zero = [Double](repeating: 0, count: 10)
    #expect(abs(HotspotMetrics.hitRate(forecast: zero, actual: events, coverage: 0.1) - 0.1) < 1e-12)
    // PEI* uses the same expectation: (10% of 10 events) / the best single unit (4).
    #expect(abs(HotspotMetrics.peiStar(forecast: zero, actual: events, coverage: 0.1) - 0.25) < 1e-12)
    // Without ties nothing changes.
    #expect(HotspotMetrics.expectedHits(forecast: forecast, actual: actual, k: 4) == 5)
  }

  /// Cells excluded from scoring (recording gaps) count in no score: a flat forecast of 11 against 11
  /// everywhere but a recorded 1 in the excluded cells scores as if those cells were not there.
  @Test func excludedCellsAreLeftOutOfEveryScore() {
    let units = (0..<2).map { SpatialUnit(id: "U\($0)", latitude: 51.5, longitude: 0.7 + Double($0) * 0.01) }
    var t = CountTable(units: units, binning: .hourly, firstBin: 0, binCount: 4, withExposure: false)
    t.counts = [1, 11, 11, 11, 1, 11, 11, 11]
    let f = HotspotForecast(model: "flat", units: units, binStarts: t.binStarts, expected: [Double](repeating: 11, count: 8), alpha: 0, fallbackUnits: [])
    let excluded = [true, false, false, false, true, false, false, false]
    let with = scoreHotspot(f, actual: t, excluded: excluded).metrics
    let clean = HotspotMetrics.logScore(expected: [Double](repeating: 11, count: 6), actual: [Double](repeating: 11, count: 6))
    #expect(abs(with["log_score"]! - clean) < 1e-12)
    #expect(with["n_test_p"]! > 0.9, "66 expected, 66 seen outside the gaps")
    #expect(with["n_test_in90"] == 1 && scoreHotspot(f, actual: t).metrics["n_test_in90"] == 0, "68 seen against 88 expected is outside the 90% interval")
    #expect(scoreHotspot(f, actual: t).metrics["log_score"]! < clean)
  }

  /// When the hit rate cannot tell the best two models apart, the comparison says whether the log score
  /// can: here it can (one model's log score is better in every window).
  @Test func aProperScoreSeparatesWhatTheHitRateCannot() {
    var scores: [String: [WindowScore]] = [:]
    for w in 0..<10 {
      let wobble = w % 2 == 0 ? 0.001 : -0.001
      scores["a", default: []].append(WindowScore(origin: Int64(w), metrics: ["hit_rate@10%": 0.5 + wobble, "log_score": -1.0 - 0.01 * Double(w % 3)]))
      scores["b", default: []].append(WindowScore(origin: Int64(w), metrics: ["hit_rate@10%": 0.5 - wobble, "log_score": -1.5 - 0.01 * Double(w % 3)]))
    }
    let c = Comparison.summarise(hotspot: scores, order: ["a", "b"], family: .hotspot, target: "t")
    #expect(c.pairedTest.map { $0.pValue >= 0.05 } == true)
    #expect(c.notes.contains { $0.hasPrefix("hit_rate@10% does not separate the best two models") && $0.contains("the log score, a proper score, does:") }, "\(c.notes)")
  }

  @Test func logScoreAndDevianceClosedForms() {
    // Poisson(2) at y = 1: log p = log 2 − 2; at y = 0: −2.
    let ls = HotspotMetrics.logScore(expected: [2, 2], actual: [1, 0])
    #expect(abs(ls - ((log(2.0) - 2) + (-2)) / 2) < 1e-12)
    // Deviance of a perfect forecast is 0.
    #expect(HotspotMetrics.deviance(expected: [1, 3], actual: [1, 3]) == 0)
    // N-test: observing exactly the mean is plausible; 30 when 10 expected is not.
    #expect(HotspotMetrics.nTest(expectedTotal: 10, observedTotal: 10) > 0.5)
    #expect(HotspotMetrics.nTest(expectedTotal: 10, observedTotal: 30) < 1e-4)
    // With overdispersed cells the total varies more: 30 when 10 expected is then less surprising. Two
    // cells of mean 5 and α = 0.5: the total's α is 0.5 · 50 / 100 = 0.25, variance 10 + 25 = 35.
    let nb = HotspotMetrics.nTest(expectedTotal: 10, observedTotal: 30, alpha: 0.5, sumOfSquaredMeans: 50)
    #expect(nb > 1e-3 && nb < 0.05, "\(nb)")
    // NB2(mean 4, α 0.5) = NB(r 2, p 1/3): P(0) = 1/9, P(1) = 2 · (1/3)² · (2/3) = 4/27.
    #expect(abs(CountDistribution.negativeBinomialCDF(1, mean: 4, alpha: 0.5) - (1.0 / 9 + 4.0 / 27)) < 1e-12)
    // Beyond 10⁵ the normal approximation: 2σ above the mean gives p ≈ 0.0455.
    let big = HotspotMetrics.nTest(expectedTotal: 200_000, observedTotal: 200_000 + 2 * (200_000 + 0.01 * 4e10).squareRoot(), alpha: 0.01, sumOfSquaredMeans: 4e10)
    #expect(abs(big - 0.0455) < 1e-3, "\(big)")
  }

  /// Overdispersion found when it is there, not when it is not (issue 17): 20 000 NB2 counts with
  /// α = 0.5 around known means give α̂ ≈ 0.5 and a large likelihood-ratio statistic; Poisson counts
  /// give α = 0 (the test does not find overdispersion).
  @Test func overdispersionIsFoundWhenItIsThere() {
    var rng = SeededRNG(seed: 17)
    var mu: [Double] = [], nb: [Double] = [], pois: [Double] = []
    for i in 0..<20_000 {
      let m = 1 + Double(i % 10)
      // NB2 as a gamma–Poisson mixture: λ ~ Gamma(shape 1/α, scale α m), here α = 0.5 (shape 2: the sum of two exponentials).
      let lambda = 0.5 * m * (-log(1 - rng.uniform()) - log(1 - rng.uniform()))
      mu.append(m); nb.append(Double(rng.poisson(lambda))); pois.append(Double(rng.poisson(m)))
    }
    let over = CountDistribution.overdispersion(nb, mu)
    #expect(abs(over.alpha - 0.5) < 0.05 && over.statistic > 100, "\(over)")
    let none = CountDistribution.overdispersion(pois, mu)
    #expect(none.alpha == 0 && none.statistic < 2.706, "\(none)")
  }

  @Test func bootstrapIntervalsCoverTheMean() {
    // Coverage check on simulated scores: 200 experiments of 30 N(0.5, 0.1) window scores.
    var rng = SeededRNG(seed: 5)
    var covered = 0
    for e in 0..<200 {
      let xs = (0..<30).map { _ in rng.normal(mean: 0.5, sd: 0.1) }
      let est = Bootstrap.mean(xs, resamples: 1000, seed: UInt64(e))
      if est.ciLow <= 0.5 && 0.5 <= est.ciHigh { covered += 1 }
    }
    // Nominal 95%; percentile bootstrap with n = 30 under-covers slightly: accept 88–99%.
    #expect((176...198).contains(covered), "covered \(covered)/200")
  }

  @Test func pairedTestDetectsARealDifference() {
    var rng = SeededRNG(seed: 9)
    let a = (0..<20).map { _ in 0.6 + rng.normal(mean: 0, sd: 0.02) }
    let b = a.map { $0 - 0.05 }
    let (d, p) = Bootstrap.paired(a, b)
    #expect(abs(d.value - 0.05) < 1e-12 && p < 0.01)
    let (_, p2) = Bootstrap.paired(a, a.map { $0 + rng.normal(mean: 0, sd: 0.02) })
    #expect(p2 > 0.01)
  }
}

@Suite("Backtest")
struct BacktestTests {
  func table() -> CountTable {
    let units = (0..<6).map { SpatialUnit(id: "S\($0)", latitude: 51.5, longitude: 0.7 + Double($0) * 0.01) }
    var t = CountTable(units: units, binning: .hourly, firstBin: 1_772_409_600, binCount: 14 * 24, withExposure: true)
    var rng = SeededRNG(seed: 1)
    for u in 0..<6 { for b in 0..<t.binCount { t.counts[u * t.binCount + b] = Double(rng.poisson(0.1 * Double(u + 1))) } }
    return t
  }

  /// The backtest never shows a model data at or after a window's origin: a spy model, run by
  /// `HotspotBacktest.run` itself, records the end of every table it is given to fit on and to forecast
  /// from, and each must be at or before that window's origin (and every window is seen). A backtest
  /// that handed models the whole table would fail here.
  @Test func theBacktestNeverShowsAModelItsFuture() throws {
    let t = table()
    var plan = BacktestPlan()
    plan.minimumTrainingDays = 9
    let spy = LeakageSpy()
    let scores = try HotspotBacktest.run(table: t, models: [NamedHotspotModel(name: "spy", model: spy)], plan: plan, clock: .utc)
    let origins = scores["spy"]!.map(\.origin)
    #expect(origins.count == 5)
    let seen = spy.recorder.seen()
    // Per window: a fit on all the history (the forecast). The first window has no earlier forecast to
    // learn its predictive dispersion from, so before it fits on all but its last k days (k = min(7, a
    // quarter of the history's days)) and, when k > 1, on all but its last day (the fit on all the history
    // starts where that one ended); later windows learn from the earlier windows' forecasts and fit once.
    var expected: [Int64] = []
    for (w, origin) in origins.enumerated() {
      let k = min(7, Int((origin - t.binStarts[0]) / 86400) / 4)
      expected += (w > 0 ? [] : [origin - Int64(k) * 86400] + (k > 1 ? [origin - 86400] : [])) + [origin]
    }
    #expect(seen.fits == expected, "every fit ends at or before its window's origin, where the plan says")
    #expect(seen.forecasts.count == expected.count)
    for (f, e) in zip(seen.forecasts, expected) { #expect(f <= e) }
  }

  @Test func windowsAreTheSameForEveryModelAndCompareIsDeterministic() throws {
    let t = table()
    var plan = BacktestPlan()
    plan.minimumTrainingDays = 9
    let models = [NamedHotspotModel(name: "hm", model: HistoricalMeanModel()), NamedHotspotModel(name: "glm", model: PoissonHotspotModel())]
    let s1 = try HotspotBacktest.run(table: t, models: models, plan: plan, clock: .utc)
    let s2 = try HotspotBacktest.run(table: t, models: models, plan: plan, clock: .utc)
    #expect(s1["hm"]!.map(\.origin) == s1["glm"]!.map(\.origin))
    #expect(s1["hm"]!.count == 5)
    let c1 = Comparison.summarise(hotspot: s1, order: ["hm", "glm"], family: .hotspot, target: "test")
    let c2 = Comparison.summarise(hotspot: s2, order: ["hm", "glm"], family: .hotspot, target: "test")
    let enc = JSONEncoder(); enc.outputFormatting = .sortedKeys
    #expect(try enc.encode(c1) == enc.encode(c2))
    #expect(c1.pairedTest != nil)
    #expect(c1.table(metrics: ["hit_rate@10%"]).contains("glm"))
  }

  /// Two spec files of one kind without a `name:` are two models, not one name with both models'
  /// windows pooled under it: each gets its file's name.
  @Test func specsThatShareANameAreTellApart() throws {
    let d = NSTemporaryDirectory() + "anprkit-names-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: d) }
    try "kind: poisson-hotspot\n".write(toFile: d + "/pois.yaml", atomically: true, encoding: .utf8)
    try "kind: poisson-hotspot\nparams:\n  family: negative-binomial\n".write(toFile: d + "/nb.yaml", atomically: true, encoding: .utf8)
    try "kind: historical-mean\n".write(toFile: d + "/hm.yaml", atomically: true, encoding: .utf8)
    let specs = try ["pois", "nb", "hm", "pois"].map { try SpecFile.load(d + "/\($0).yaml") }
    let names = try NamedHotspotModel.distinctlyNamed(specs).map(\.name)
    #expect(names == ["poisson-hotspot (pois)", "poisson-hotspot (nb)", specs[2].name, "poisson-hotspot (pois) #2"])
    // Route specs likewise (compare's route table).
    try "kind: markov-route\nparams:\n  order: 1\n".write(toFile: d + "/o1.yaml", atomically: true, encoding: .utf8)
    try "kind: markov-route\nparams:\n  order: 2\n".write(toFile: d + "/o2.yaml", atomically: true, encoding: .utf8)
    let routes = try ["o1", "o2"].map { try SpecFile.load(d + "/\($0).yaml") }
    #expect(SpecFile.distinctNames(routes) == ["\(routes[0].name) (o1)", "\(routes[1].name) (o2)"])
    let t = table()
    var plan = BacktestPlan()
    plan.minimumTrainingDays = 9
    let scores = try HotspotBacktest.run(table: t, models: try NamedHotspotModel.distinctlyNamed(Array(specs.prefix(2))), plan: plan, clock: .utc)
    #expect(scores.count == 2 && scores.values.allSatisfy { $0.count == 5 })
  }
}

/// A model whose forecast is a hundred times anything it saw.
struct Extrapolates: HotspotModel {
  static let kind: ModelKind = "test-extrapolates"
  struct Fitted: FittedHotspotModel {
    var kind: String { Extrapolates.kind.rawValue }
    func bodyProblem() -> String? { nil }
    let top: Double
    func forecast(history: CountTable, bins: Int, clock: LocalClock) -> HotspotForecast {
      HotspotForecast(model: kind, units: history.units, binStarts: futureBins(after: history, count: bins),
                      expected: Array(repeating: top * 100, count: history.units.count * bins), alpha: 0, fallbackUnits: [])
    }
  }
  func fit(_ data: CountTable, clock: LocalClock) throws -> Fitted { Fitted(top: max(1, data.counts.max() ?? 1)) }
}

/// A model that cannot fit on short history (as the Poisson model's recent-activity terms cannot).
struct NeedsLongHistory: HotspotModel {
  static let kind: ModelKind = "test-needs-long-history"
  var days = 11
  func fit(_ data: CountTable, clock: LocalClock) throws -> HistoricalMeanModel.Fitted {
    guard data.binCount >= days * 24 else { throw FitError.noData("need \(days) days of history") }
    return try HistoricalMeanModel().fit(data, clock: clock)
  }
}

@Suite("Backtest with failing models")
struct FailingModelTests {
  /// One model that cannot fit on some windows fails those windows alone: the others are scored on
  /// every window, the failures are counted and said, the paired test uses the windows both have.
  @Test func aModelThatCannotFitFailsItsWindowsNotTheComparison() throws {
    let t = BacktestTests().table()
    var plan = BacktestPlan()
    plan.minimumTrainingDays = 9
    let models = [NamedHotspotModel(name: "hm", model: HistoricalMeanModel()), NamedHotspotModel(name: "long", model: NeedsLongHistory()),
                  NamedHotspotModel(name: "never", model: NeedsLongHistory(days: 99))]
    let scores = try HotspotBacktest.run(table: t, models: models, plan: plan, clock: .utc)
    #expect(scores["hm"]!.count == 5 && scores["hm"]!.allSatisfy { $0.failure == nil })
    #expect(scores["long"]!.filter { $0.failure != nil }.count == 2 && scores["never"]!.allSatisfy { $0.failure != nil })
    let c = Comparison.summarise(hotspot: scores, order: ["hm", "long", "never"], family: .hotspot, target: "test")
    let row = { (name: String) in c.models.first { $0.name == name }! }
    #expect(row("hm").windows == 5 && row("hm").failedWindows == nil)
    #expect(row("long").windows == 3 && row("long").failedWindows == 2 && row("long").failure?.contains("need 11 days") == true)
    #expect(row("never").windows == 0 && row("never").metrics.isEmpty)
    #expect(c.notes.contains { $0.hasPrefix("long could not fit on 2 of 5 windows") })
    #expect(c.notes.contains { $0.hasPrefix("never could not fit on 5 of 5 windows") && $0.contains("no scores") })
    #expect(c.pairedTest != nil)
    #expect(c.table(metrics: ["hit_rate@10%"]).contains("never"))
    #expect(!c.notes.contains { $0.contains("extrapolating") })
    let wild = try HotspotBacktest.run(table: t, models: [NamedHotspotModel(name: "wild", model: Extrapolates())], plan: plan, clock: .utc)
    let cw = Comparison.summarise(hotspot: wild, order: ["wild"], family: .hotspot, target: "test")
    #expect(cw.notes.contains { $0.hasPrefix("wild forecast up to") && $0.contains("in 5 of 5 windows") && $0.contains("extrapolating") })
  }
}

/// Route models on transitions with hours but no dates: each hour held out in turn.
@Suite("Transitions backtest")
struct TransitionsBacktestTests {
  /// From site 0, morning-peak moves (06–10) go to site 1 and all other hours' to site 2. Held out, a
  /// peak hour is predicted right only by the model that conditions on the time band, and the scores
  /// are the counts' shares, exactly.
  @Test func theBandModelWinsOnPeakHoursOnly() throws {
    var rows: [TransitionCounts.Row] = []
    for h in 0..<24 {
      let peak = (6..<10).contains(h)
      rows.append(.init(from: 0, to: peak ? 1 : 2, hour: h, count: 30, meanSeconds: 120))
      rows.append(.init(from: 0, to: peak ? 2 : 1, hour: h, count: 10, meanSeconds: 120))
    }
    let sites = [(latitude: 51.5, longitude: 0.6), (latitude: 51.51, longitude: 0.6), (latitude: 51.5, longitude: 0.61)]
    let scores = try TransitionsBacktest.run(rows: rows, sites: sites, models: TransitionsBacktest.builtIn)
    let pooled = scores["markov-order1"]!, banded = scores["markov-order1-bands"]!
    #expect(pooled.count == 24 && banded.count == 24)
    for (p, b) in zip(pooled, banded) {
      let peak = (6..<10).contains(Int(p.origin))
      // Pooled: site 2 is the majority overall, right on 30 of 40 moves off-peak and 10 of 40 at the peak.
      #expect(abs(p.metrics["top1"]! - (peak ? 0.25 : 0.75)) < 1e-12, "hour \(p.origin)")
      // Banded: the other peak hours teach it the peak (one held out of four): right on 30 of 40 everywhere.
      #expect(abs(b.metrics["top1"]! - 0.75) < 1e-12, "hour \(b.origin)")
      #expect(b.metrics["top3"]! == 1 && b.metrics["arrival_abs_error_min"]! < 1e-9)
      if peak { #expect(b.metrics["log_loss"]! < p.metrics["log_loss"]!) }
    }
    var order2 = MarkovRouteModel(); order2.order = 2
    #expect(throws: SpecError.self) { try TransitionsBacktest.run(rows: rows, sites: sites, models: [NamedRouteModel(name: "o2", model: order2)]) }
  }

  /// On real moves (Bath's 66 ANPR sites, 1.35 M moves, `Data/bath`), held out hour by hour, both
  /// route models at least match the plain count table of the next site (issue 15).
  @Test func routeModelsMatchTheCountTableOnBathMoves() throws {
    let units = try CountTable.readUnits(path: "Data/bath/units.csv")
    let rows = try TransitionCounts.readRows(path: "Data/bath/transitions.csv", sites: units.map(\.id))
    let scores = try TransitionsBacktest.run(rows: rows, sites: units.map { (latitude: $0.latitude, longitude: $0.longitude) }, models: TransitionsBacktest.builtIn)
    func mean(_ name: String, _ m: String) -> Double { let w = scores[name]!; return w.map { $0.metrics[m]! }.reduce(0, +) / Double(w.count) }
    let table = TransitionsBacktest.countTableName
    #expect(scores[table]!.count == 24)
    for model in ["markov-order1", "markov-order1-bands"] {
      #expect(mean(model, "top1") >= mean(table, "top1") - 0.002, "\(model) top-1 \(mean(model, "top1")) vs the table's \(mean(table, "top1"))")
      #expect(mean(model, "log_loss") <= mean(table, "log_loss") + 0.002, "\(model) log loss \(mean(model, "log_loss")) vs \(mean(table, "log_loss"))")
    }
  }
}

/// Model files edited by hand or damaged are refused with the field that is wrong.
@Suite("Model file bodies")
struct ModelBodyTests {
  @Test func damagedBodiesAreRefusedNamingTheField() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-body-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try "kind: historical-mean\nname: hm\nparams: {}\n".write(toFile: dir + "/hm.yaml", atomically: false, encoding: .utf8)
    let units = (0..<3).map { SpatialUnit(id: "S\($0)", latitude: 51.5, longitude: 0.6 + Double($0) * 0.01) }
    var table = CountTable(units: units, binning: .hourly, firstBin: 1_772_668_800, binCount: 24 * 14, withExposure: false)
    for i in table.counts.indices { table.counts[i] = Double(i % 5) }
    let path = dir + "/hm.model.json"
    try Training.train(spec: try SpecFile.load(dir + "/hm.yaml"), table: table, target: .allReads, clock: .utc, to: path)
    _ = try Training.loadHotspot(path)  // the file as written loads
    let original = try String(contentsOfFile: path, encoding: .utf8)
    func refused(_ edit: (String) -> String, naming field: String) throws {
      let p = dir + "/edited.model.json"
      try edit(original).write(toFile: p, atomically: false, encoding: .utf8)
      #expect(performing: { _ = try Training.loadHotspot(p) }, throws: { "\($0)".contains(field) })
    }
    try refused({ $0.replacingOccurrences(of: "\"S1\"", with: "\"S0\"") }, naming: "listed twice")
    try refused({ $0.replacingOccurrences(of: "\"_0\" : 3600", with: "\"_0\" : 0") }, naming: "binning")
    try refused({ s in
      // The first rate made negative.
      guard let r = s.range(of: "\"rate\" : [\n") else { return s }
      var t = s; t.insert(contentsOf: "-", at: t.index(r.upperBound, offsetBy: t[r.upperBound...].prefix { $0 == " " }.count)); return t
    }, naming: "fitted.rate[0]")
    try refused({ $0.replacingOccurrences(of: "\"period\" : 168", with: "\"period\" : 24") }, naming: "fitted.rate has")
    try refused({ s in s.replacingOccurrences(of: "\"fitted\"", with: "\"unusedKey\"") }, naming: "no fitted model")
  }

  /// Found by fuzz-model (kept in Fuzz/Corpus/model/): a Poisson file whose specification was edited
  /// after fitting (more harmonics) loaded, then indexed past its coefficients in the forecast.
  @Test func poissonSpecificationMustMatchItsCoefficients() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-body-glm-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try "kind: poisson-hotspot\nname: glm\nparams: {recent_activity: false, weekly_harmonics: 1, daily_harmonics: 1}\n"
      .write(toFile: dir + "/glm.yaml", atomically: false, encoding: .utf8)
    let units = (0..<3).map { SpatialUnit(id: "S\($0)", latitude: 51.5, longitude: 0.6 + Double($0) * 0.01) }
    var table = CountTable(units: units, binning: .hourly, firstBin: 1_772_668_800, binCount: 24 * 10, withExposure: false)
    for i in table.counts.indices { table.counts[i] = Double(i % 4) }
    let path = dir + "/glm.model.json"
    try Training.train(spec: try SpecFile.load(dir + "/glm.yaml"), table: table, target: .allReads, clock: .utc, to: path)
    _ = try Training.loadHotspot(path)
    let edited = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\"daily_harmonics\" : 1", with: "\"daily_harmonics\" : 6")
    try edited.write(toFile: path, atomically: false, encoding: .utf8)
    #expect(performing: { _ = try Training.loadHotspot(path) }, throws: { "\($0)".contains("fitted.coefficients has 18 values where the specification's terms need 28") })
  }

  /// A finite coefficient no fit gives (found by fuzz-model: 8.9e75, whose forecast overflowed to
  /// infinity) is refused naming it; the committed regression file is refused on load.
  @Test func poissonRefusesAnEffectNoFitGives() throws {
    #expect(performing: { _ = try Training.loadHotspot("Fuzz/Corpus/model/regression-poisson-huge-coefficient.json") },
            throws: { "\($0)".contains("is not a log-rate effect a fit gives") })
    _ = try Training.loadHotspot("Fuzz/Corpus/model/poisson-hotspot.v2.model.json")  // the file it was made from loads
  }

  /// Found by fuzz-model (its input is kept in Fuzz/Corpus/model/): a self-exciting file with fewer
  /// than 24 seasonal shares loaded, then crashed the forecast (index out of range).
  @Test func selfExcitingNeedsOneSeasonalSharePerHour() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-body-se-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try "kind: self-exciting\nname: se\nparams: {max_iterations: 5}\n".write(toFile: dir + "/se.yaml", atomically: false, encoding: .utf8)
    let units = (0..<3).map { SpatialUnit(id: "S\($0)", latitude: 51.5, longitude: 0.6 + Double($0) * 0.01) }
    var table = CountTable(units: units, binning: .hourly, firstBin: 1_772_668_800, binCount: 24 * 10, withExposure: false)
    for i in table.counts.indices { table.counts[i] = Double(i % 3 == 0 ? 1 : 0) }
    let path = dir + "/se.model.json"
    try Training.train(spec: try SpecFile.load(dir + "/se.yaml"), table: table, target: .allReads, clock: .utc, to: path)
    _ = try Training.loadHotspot(path)
    var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    var body = json["body"] as! [String: Any]
    var se = body["fitted"] as! [String: Any]
    #expect((se["seasonalShares"] as! [Double]).count == 168, "ten days of history: one share per hour of the week")
    se["seasonalShares"] = Array((se["seasonalShares"] as! [Double]).prefix(15))
    body["fitted"] = se
    json["body"] = body
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    #expect(performing: { _ = try Training.loadHotspot(path) }, throws: { "\($0)".contains("seasonalShares (one per hour of the day, or of the week) has 15 values") })
  }
}

@Suite("Routes against the count tables")
struct RouteBaselineTests {
  /// Issue 15: on the sample town (Data/sample, 14 days, last 2 windows) the route models are scored
  /// beside the plain count tables of their order — the next site by raw counts from the current
  /// site, or from the (previous, current) pair — over the same moves. Order 1 matches its table; the
  /// order-2 chain without time bands matches the pair table (to 0.002: its discount moves a few ties)
  /// with a better log loss; personalised, it beats it. With time bands asked for, the bands split the
  /// contexts of a 14-day town too thinly (they cost a point of top-1 when always used): the model's
  /// leave-one-out check on its own counts turns them off here, so it matches the pair table too.
  @Test func routeModelsAgainstTheCountTables() throws {
    let dir = try makeTemporaryDirectory("route-baselines")
    let o = IngestOptions(readsPath: "Data/sample/reads.csv.gz", camerasPath: "Data/sample/cameras.csv")
    let (contents, _) = try Ingest.run(o)
    try StoreWriter.write(contents, to: dir + "/s.anpr")
    let store = try ReadStore(path: dir + "/s.anpr")
    var plan = BacktestPlan()
    plan.maxWindows = 2
    var models = NamedRouteModel.builtIn
    var plain = MarkovRouteModel(); plain.timeBands = false
    models.append(NamedRouteModel(name: "markov-order2", model: plain))
    let scores = try RouteBacktest.run(store: store, models: models, plan: plan, clock: try LocalClock(identifier: "Europe/London"))
    func mean(_ name: String, _ m: String = "top1") -> Double { let w = scores[name]!; return w.map { $0.metrics[m]! }.reduce(0, +) / Double(w.count) }
    let current = CountTableRoutes.names[0], pair = CountTableRoutes.names[1]
    #expect(mean("markov-order1") >= mean(current) - 1e-9, "order 1 \(mean("markov-order1")) vs \(mean(current))")
    #expect(mean("markov-order2") >= mean(pair) - 0.002, "order 2 \(mean("markov-order2")) vs \(mean(pair))")
    #expect(mean("markov-order2", "log_loss") <= mean(pair, "log_loss") + 0.002)
    #expect(mean("markov-order2-personal") >= mean(pair), "personalised \(mean("markov-order2-personal")) vs \(mean(pair))")
    // With time bands (the default model): it learns from its own counts (leave-one-out) whether
    // the bands earn their keep and backs off to the pooled contexts when not, so it matches the pair
    // table too (issue 15; it was a point below).
    #expect(mean("markov-order2-bands") >= mean(pair) - 0.002, "order 2 + bands \(mean("markov-order2-bands")) vs \(mean(pair))")
    #expect(mean("markov-order2-bands", "log_loss") <= mean(pair, "log_loss") + 0.002)
  }
}

/// The route and next-appearance backtests never show a model data at or after its origin: spies
/// record what each is shown, checked against counts made by an independent path (the trips' reads
/// before the origin added one by one) and against the origin's day.
@Suite("Leakage: route and next-appearance backtests")
struct BacktestLeakageTests {
  static let store: ReadStore = {
    let dir = try! makeTemporaryDirectory("leakage")
    let o = IngestOptions(readsPath: "Data/sample/reads.csv.gz", camerasPath: "Data/sample/cameras.csv")
    try! StoreWriter.write(try! Ingest.run(o).0, to: dir + "/s.anpr")
    return try! ReadStore(path: dir + "/s.anpr")
  }()

  @Test func routeModelsSeeOnlyMovesBeforeTheOrigin() throws {
    let store = Self.store, clock = try LocalClock(identifier: "Europe/London")
    var plan = BacktestPlan()
    plan.maxWindows = 2
    let lock = NSLock()
    nonisolated(unsafe) var seen: [(Int64, TransitionCounts, [Int: TransitionCounts])] = []
    _ = try RouteBacktest.run(store: store, models: [NamedRouteModel.builtIn[0]], plan: plan, clock: clock, maxTestMoves: 200,
                              shown: { origin, counts, personal in lock.lock(); seen.append((origin, counts, personal)); lock.unlock() })
    #expect(seen.count == 2)
    for (origin, counts, personal) in seen {
      var reference = TransitionCounts(order: counts.order, siteCount: store.sites.count)
      var own: [Int: TransitionCounts] = [:]
      for v in 0..<store.vehicles.count {
        for trip in store.trips(ofVehicle: v) where trip.start < origin {
          let keep = trip.times.indices.filter { trip.times[$0] < origin }
          reference.add(sites: keep.map { trip.sites[$0] }, times: keep.map { trip.times[$0] }, clock: clock)
          own[v, default: TransitionCounts(order: 1, siteCount: store.sites.count)].add(sites: keep.map { trip.sites[$0] }, times: keep.map { trip.times[$0] }, clock: clock)
        }
      }
      #expect(counts.next == reference.next && counts.travel == reference.travel, "origin \(Timestamp.iso8601(origin))")
      // Each scored vehicle's own moves (the personalised model's; kept for the window's vehicles only):
      // the same cut.
      #expect(!personal.isEmpty && personal.allSatisfy { own[$0.key]?.next == $0.value.next },
              "personal counts at \(Timestamp.iso8601(origin))")
    }
  }

  @Test func nextAppearanceSeesOnlyVisitsBeforeTheOrigin() throws {
    let store = Self.store, clock = try LocalClock(identifier: "Europe/London")
    var plan = BacktestPlan()
    plan.maxWindows = 2
    nonisolated(unsafe) var shown: [(Int64, [NextAppearanceModel.Visit])] = []
    plan.minimumTrainingDays = 5  // the sample town has 14 days: 5 of history, 7 to forecast, 2 origins
    _ = try NextAppearanceBacktest.run(store: store, plan: plan, clock: clock, maxSubjects: 50, shown: { shown.append(($0, $1)) })
    #expect(shown.count > 2, "the fit and the forecasts at each origin")
    for (origin, visits) in shown {
      #expect(visits.allSatisfy { $0.day < clock.day(origin) }, "a visit on or after the origin's day was shown at \(Timestamp.iso8601(origin))")
    }
    // The fit at each origin is shown every trip start before it (nothing left out either).
    let origins = Array(Set(shown.map(\.0))).sorted()
    for origin in origins {
      let starts = (0..<store.vehicles.count).reduce(0) { n, v in n + store.trips(ofVehicle: v).filter { $0.start < origin }.count }
      #expect(shown.first { $0.0 == origin }?.1.count == starts)
    }
  }
}

/// Records what a backtest shows a model: the end (exclusive, epoch seconds) of each table it fits on
/// and of each history it forecasts from, in call order.
final class LeakageRecorder: @unchecked Sendable {
  private let lock = NSLock()
  private var fits: [Int64] = [], forecasts: [Int64] = []
  func fit(_ end: Int64) { lock.lock(); fits.append(end); lock.unlock() }
  func forecast(_ end: Int64) { lock.lock(); forecasts.append(end); lock.unlock() }
  func seen() -> (fits: [Int64], forecasts: [Int64]) { lock.lock(); defer { lock.unlock() }; return (fits, forecasts) }
}

/// A model that forecasts its training mean and tells the recorder what it was shown.
struct LeakageSpy: HotspotModel {
  static let kind: ModelKind = "test-leakage-spy"
  var recorder = LeakageRecorder()
  enum CodingKeys: CodingKey {}  // nothing to save: a spy lives in one test
  struct Fitted: FittedHotspotModel {
    var kind: String { LeakageSpy.kind.rawValue }
    func bodyProblem() -> String? { nil }
    var recorder = LeakageRecorder()
    var mean: Double
    enum CodingKeys: CodingKey { case mean }
    func forecast(history: CountTable, bins: Int, clock: LocalClock) -> HotspotForecast {
      recorder.forecast(history.end)
      return HotspotForecast(model: kind, units: history.units, binStarts: futureBins(after: history, count: bins),
                             expected: Array(repeating: mean, count: history.units.count * bins), alpha: 0, fallbackUnits: [])
    }
  }
  func fit(_ data: CountTable, clock: LocalClock) throws -> Fitted {
    recorder.fit(data.end)
    return Fitted(recorder: recorder, mean: max(0.01, data.counts.reduce(0, +) / Double(max(1, data.counts.count))))
  }
}

/// A shared day factor (issue 17: Bath's daily totals vary more than the cells' own dispersion carries):
/// counts Poisson(m · G_d) with one gamma G_d per day for every site (mean 1, variance 0.1). The
/// window factor is learned near 0.1 and not found without it; with it the N-test's 90% interval of
/// the daily total covers the held-out days about as often as it says, without it far less often.
@Suite("Window factor")
struct WindowFactorTests {
  func table(dayVariance: Double, days: Int, seed: UInt64) -> CountTable {
    let units = (0..<20).map { SpatialUnit(id: "S\($0)", latitude: 51.54, longitude: 0.70 + Double($0) * 0.0072) }
    var t = CountTable(units: units, binning: .hourly, firstBin: 1_772_409_600, binCount: days * 24, withExposure: false)
    var rng = SeededRNG(seed: seed)
    // Gamma of integer shape k = 1/variance: the mean of k unit exponentials.
    let k = dayVariance > 0 ? Int((1 / dayVariance).rounded()) : 0
    let factors = (0..<days).map { _ in k > 0 ? (0..<k).reduce(0.0) { s, _ in s - log(1 - rng.uniform()) } / Double(k) : 1 }
    for u in 0..<20 {
      for b in 0..<t.binCount {
        let m = 2 + Double(u % 5) + 3 * (1 + sin(2 * .pi * (Double(b % 24) - 9) / 24))
        t.counts[u * t.binCount + b] = Double(rng.poisson(m * factors[b / 24]))
      }
    }
    return t
  }

  @Test func aSharedDayFactorIsLearnedAndCoversTheTotal() throws {
    let shocked = table(dayVariance: 0.1, days: 63, seed: 21), calm = table(dayVariance: 0, days: 63, seed: 22)
    let hm = HistoricalMeanModel()
    let w = try #require(hm.predictiveDispersion(shocked, bins: 24, clock: .utc))
    #expect(w.windowAlpha > 0.03 && w.windowAlpha < 0.3, "\(w.windowAlpha)")
    let none = try #require(hm.predictiveDispersion(calm, bins: 24, clock: .utc))
    #expect(none.windowAlpha < 0.01, "\(none.windowAlpha)")
    // The N-test's 90% interval of each held-out day's total, with and without the factor.
    var covered = 0, coveredWithout = 0, days = 0
    for day in 35..<63 {
      let history = shocked.slice(bins: 0..<(day * 24)), test = shocked.slice(bins: (day * 24)..<((day + 1) * 24))
      let f = try hm.fitForecast(history, bins: 24, clock: .utc)
      let m = f.expected.reduce(0, +), s = f.expected.reduce(0) { $0 + $1 * $1 }, t = test.counts.reduce(0, +)
      if HotspotMetrics.nTest(expectedTotal: m, observedTotal: t, alpha: f.alpha, sumOfSquaredMeans: s, windowAlpha: f.windowAlpha) >= 0.1 { covered += 1 }
      if HotspotMetrics.nTest(expectedTotal: m, observedTotal: t, alpha: f.alpha, sumOfSquaredMeans: s) >= 0.1 { coveredWithout += 1 }
      days += 1
    }
    #expect(Double(covered) / Double(days) >= 0.8, "\(covered) of \(days)")
    #expect(Double(coveredWithout) / Double(days) < 0.6, "\(coveredWithout) of \(days)")
  }
}


/// The PIT histogram of count forecasts (Czado, Gneiting & Held 2009): hand-worked on one cell, flat for
/// counts drawn from the forecast itself, U-shaped for a Poisson forecast of overdispersed counts.
@Suite("PIT histogram")
struct PITHistogramTests {
  @Test func oneCellByHand() {
    // Poisson mean ln 2, count 0: P(0) = 0.5, so the PIT is uniform on [0, 0.5]: 0.2 in each of the first five bins.
    let h = HotspotMetrics.pitHistogram(expected: [log(2)], actual: [0], alpha: 0)
    for j in 0..<5 { #expect(abs(h[j] - 0.2) < 1e-9) }
    for j in 5..<10 { #expect(h[j] == 0) }
    // Count 1: uniform on [0.5, 0.5 + ln 2 / 2] = [0.5, 0.8466]: 0.1 / 0.3466 in bins 5–7, the rest in bin 8.
    let g = HotspotMetrics.pitHistogram(expected: [log(2)], actual: [1], alpha: 0)
    let width = log(2.0) / 2
    for j in 5..<8 { #expect(abs(g[j] - 0.1 / width) < 1e-9) }
    #expect(abs(g[8] - (0.5 + width - 0.8) / width) < 1e-9)
    #expect(abs(g.reduce(0, +) - 1) < 1e-12)
  }

  @Test func flatWhenCalibratedAndUShapedWhenTooNarrow() {
    var rng = SeededRNG(seed: 5)
    var mu: [Double] = [], y: [Double] = []
    for k in 0..<4000 {
      let m = 1 + Double(k % 20)
      // NB2 with α = 0.5: a gamma of shape 2 (the mean of two unit exponentials) mixed into a Poisson.
      let g = (-log(1 - rng.uniform()) - log(1 - rng.uniform())) / 2
      mu.append(m); y.append(Double(rng.poisson(m * g)))
    }
    let right = HotspotMetrics.pitHistogram(expected: mu, actual: y, alpha: 0.5)
    for v in right { #expect(abs(v - 0.1) < 0.02, "\(right)") }
    let narrow = HotspotMetrics.pitHistogram(expected: mu, actual: y, alpha: 0)
    #expect(narrow[0] + narrow[9] > 0.35, "\(narrow)")
  }
}

/// Hit rates pooled over windows as open_cp sums its hit counts (issue 17): a busy window weighs more
/// than a quiet one, unlike the mean over windows.
@Suite("Pooled hit rate")
struct PooledHitRateTests {
  @Test func busyWindowsWeighMore() {
    // Window 1: 1 event, all in the top 10%; window 2: 3 events, none there. Pooled 1/4, mean 1/2.
    let w1 = WindowScore(origin: 0, metrics: [Metric.hitRate(coverage: 0.1).name: 1], observedTotal: 1)
    let w2 = WindowScore(origin: 86400, metrics: [Metric.hitRate(coverage: 0.1).name: 0], observedTotal: 3)
    let c = Comparison.summarise(hotspot: ["m": [w1, w2]], order: ["m"], family: .hotspot, target: "events", seed: 1)
    let row = c.models[0]
    #expect(row.metrics[Metric.hitRate(coverage: 0.1).name]?.value == 0.5)
    #expect(row.metrics[Metric.pooledHitRate(coverage: 0.1).name]?.value == 0.25)
    #expect(Metric.pooledHitRate(coverage: 0.1).name == "hit_rate_pooled@10%")
    // Resampling two windows gives 1 (window 1 twice), 1/4 or 0 (window 2 twice), each about a quarter,
    // a half and a quarter of the time: the 95% interval is [0, 1].
    let e = Bootstrap.ratio([1, 0], [1, 3])
    #expect(e.value == 0.25 && e.ciLow == 0 && e.ciHigh == 1)
    // The mean over windows is the ratio with every window weighing 1, draw for draw.
    #expect(Bootstrap.mean([0.2, 0.9, 0.4], seed: 3) == Bootstrap.ratio([0.2, 0.9, 0.4], [1, 1, 1], seed: 3))
  }
}

/// The shared window factor's algebra (issue 17): given the factor G of a window, cells are independent
/// NB2(μG, α), so a cell's α is α + τ² + ατ², a window's total has variance M + αΣμ² + τ²(M² + αΣμ²), and
/// windows with their own factors add their variances.
@Suite("Window factor algebra")
struct WindowFactorAlgebraTests {
  func forecast(_ expected: [Double], alpha: Double, windowAlpha: Double, windowBins: Int) -> HotspotForecast {
    var f = HotspotForecast(model: "m", units: [SpatialUnit(id: "S", latitude: 51.5, longitude: 0.7)],
                            binStarts: expected.indices.map { Int64($0) * 3600 }, expected: expected, alpha: alpha, fallbackUnits: [])
    f.windowAlpha = windowAlpha; f.windowBins = windowBins
    return f
  }

  @Test func sumsByHand() {
    let f = forecast([2, 3, 5, 10], alpha: 0.5, windowAlpha: 0.1, windowBins: 2)
    // One cell: its own α with the factor integrated out.
    #expect(abs(f.sumAlpha([(4, 0)]) - (0.5 + 0.1 + 0.05)) < 1e-12 && abs(f.cellAlpha - 0.65) < 1e-12)
    // Bins 0–1 and 2–3 are two windows: M = 20, Σμ² = 138; windows (5, 13) and (15, 125).
    // Variance beyond M: 0.5·138 + 0.1·[(25 + 0.5·13) + (225 + 0.5·125)] = 69 + 31.9 = 100.9.
    let cells = (0..<4).map { (f.expected[$0], f.window(ofBin: $0)) }
    #expect(abs(f.sumAlpha(cells) - 100.9 / 400) < 1e-12)
    // As one window (windowBins 0): 69 + 0.1·(400 + 69) = 115.9.
    let whole = forecast([2, 3, 5, 10], alpha: 0.5, windowAlpha: 0.1, windowBins: 0)
    #expect(abs(whole.sumAlpha((0..<4).map { (whole.expected[$0], whole.window(ofBin: $0)) }) - 115.9 / 400) < 1e-12)
    // The N-test's total uses the same algebra.
    #expect(HotspotMetrics.nTest(expectedTotal: 20, observedTotal: 26, alpha: 0.5, sumOfSquaredMeans: 138, windowAlpha: 0.1)
            == HotspotMetrics.nTest(expectedTotal: 20, observedTotal: 26, totalAlpha: 115.9 / 400))
  }

  @Test func momentsByHand() throws {
    // Two windows of one Poisson cell each (own α 0 is replaced by the learned one; here the last
    // window's counts around its forecast show no overdispersion, so α = 0): τ² = Σ[(T − M)² − M] / ΣM²
    // = [(14 − 10)² − 10 + (25 − 20)² − 20] / (100 + 400) = 11 / 500.
    let d = try #require(HeldOutWindow.dispersion([HeldOutWindow(expected: [10], actual: [14], alpha: 0),
                                                   HeldOutWindow(expected: [20], actual: [25], alpha: 0)]))
    #expect(d.alpha == 0 && abs(d.windowAlpha - 11.0 / 500) < 1e-12)
    // A model's own α is kept and enters the moments: τ² = [16 − 10 − 0.2·100 + 25 − 20 − 0.2·400] /
    // (100 + 20 + 400 + 80) < 0, so 0.
    let own = try #require(HeldOutWindow.dispersion([HeldOutWindow(expected: [10], actual: [14], alpha: 0.2),
                                                     HeldOutWindow(expected: [20], actual: [25], alpha: 0.2)]))
    #expect(own.alpha == 0.2 && own.windowAlpha == 0)
  }
}
