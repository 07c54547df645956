import Foundation
import Hotspots
import ModelCatalogue
import Modelling
import Reads

/// Rolling-origin backtest windows: train on everything before origin t, forecast [t, t + horizon),
/// then slide by `step`. Every model sees the same windows.
public struct BacktestPlan: Codable, Sendable, Equatable {
  /// History required before the first origin.
  public var minimumTrainingDays = 9
  public var horizonDays = 1
  public var stepDays = 1
  /// At most this many windows (the latest ones); 0 = all.
  public var maxWindows = 0
  public init() {}

  /// Origins (bin indices into `table`) of each window.
  public func origins(_ table: CountTable) -> [Int] {
    guard let w = table.binning.nominalSeconds else {
      // Monthly bins: one-month horizon, step one month, after at least three months of history.
      let first = max(minimumTrainingDays / 30, 3)
      let out = first < table.binCount ? Array(first..<table.binCount) : []
      return maxWindows > 0 && out.count > maxWindows ? Array(out.suffix(maxWindows)) : out
    }
    let perDay = 86400 / w
    var out: [Int] = []
    var o = minimumTrainingDays * perDay
    while o + horizonDays * perDay <= table.binCount { out.append(o); o += stepDays * perDay }
    if maxWindows > 0 && out.count > maxWindows { out = Array(out.suffix(maxWindows)) }
    return out
  }

  public func horizonBins(_ table: CountTable) -> Int {
    guard let w = table.binning.nominalSeconds else { return 1 }
    return horizonDays * 86400 / w
  }
}

/// One window's scores for one model.
public struct WindowScore: Codable, Sendable {
  public var origin: Int64
  public var metrics: [String: Double]
  /// Why the model could not fit or forecast on this window (its metrics are then empty); the other
  /// models' windows are scored as usual.
  public var failure: String?
  /// The forecast's largest expected count per bin when it is over 10× the largest count in the
  /// training data (the model is extrapolating), else nil.
  public var extrapolated: Double?
  /// Predicted against observed per quintile of the forecast's cells (hotspot windows).
  public var calibration: [CalibrationPoint]?
  /// The PIT histogram of the window's cells (`HotspotMetrics.pitHistogram`, hotspot windows).
  public var pit: [Double]?
  /// The target's total in the window's scored cells (hotspot windows): what a hit rate pooled over
  /// windows weighs the window by.
  public var observedTotal: Double?

  public init(origin: Int64, metrics: [String: Double], failure: String? = nil, extrapolated: Double? = nil,
              calibration: [CalibrationPoint]? = nil, pit: [Double]? = nil, observedTotal: Double? = nil) {
    self.origin = origin; self.metrics = metrics; self.failure = failure; self.extrapolated = extrapolated
    self.calibration = calibration; self.pit = pit; self.observedTotal = observedTotal
  }

  /// A hotspot window's score.
  init(origin: Int64, scored: HotspotScore, extrapolated: Double? = nil) {
    self.init(origin: origin, metrics: scored.metrics, extrapolated: extrapolated, calibration: scored.calibration, pit: scored.pit,
              observedTotal: scored.observedTotal)
  }
}

/// A hotspot window's metrics, its calibration by quintile, its PIT histogram and the observed total.
public typealias HotspotScore = (metrics: [String: Double], calibration: [CalibrationPoint], pit: [Double], observedTotal: Double)

/// The metric names hotspot comparisons report, in table order.
public let hotspotMetricNames = Metric.hotspotTable.map(\.name)

/// Scores a forecast against held-out counts over the same bins: the metrics, and predicted against
/// observed per quintile of the forecast's cells (for the calibration plot).
/// `excluded` (unit-major over the test bins): cells left out of every score — recording gaps, where
/// the count says nothing about the forecast.
public func scoreHotspot(_ f: HotspotForecast, actual test: CountTable, excluded: [Bool]? = nil) -> HotspotScore {
  let n = test.units.count
  var fT = [Double](repeating: 0, count: n), aT = [Double](repeating: 0, count: n)
  var expectedCells: [Double] = [], actualCells: [Double] = [], windows: [Int] = []
  for u in 0..<n {
    for b in 0..<test.binCount where !(excluded?[u * test.binCount + b] ?? false) {
      let e = f.expected(unit: u, bin: b), a = test[u, b]
      expectedCells.append(e); actualCells.append(a); windows.append(f.window(ofBin: b)); fT[u] += e; aT[u] += a
    }
  }
  let nTest = HotspotMetrics.nTest(expectedTotal: fT.reduce(0, +), observedTotal: aT.reduce(0, +),
                                  totalAlpha: f.sumAlpha(Array(zip(expectedCells, windows))))
  var curve: [String: Double] = [:]
  for c in Metric.hitRateCurve { curve[Metric.hitRate(coverage: c).name] = HotspotMetrics.hitRate(forecast: fT, actual: aT, coverage: c) }
  let calibration = HotspotMetrics.calibration(expected: expectedCells, actual: actualCells, groups: 5)
    .map { CalibrationPoint(predicted: $0.predicted, observed: $0.observed) }
  return (curve.merging([
    Metric.pai10.name: HotspotMetrics.pai(forecast: fT, actual: aT, coverage: 0.10),
    Metric.peiStar10.name: HotspotMetrics.peiStar(forecast: fT, actual: aT, coverage: 0.10),
    Metric.logScore.name: HotspotMetrics.logScore(expected: expectedCells, actual: actualCells, alpha: f.cellAlpha),
    Metric.deviance.name: HotspotMetrics.deviance(expected: expectedCells, actual: actualCells),
    Metric.nTestP.name: nTest,
    Metric.nTestIn90.name: nTest >= 0.1 ? 1 : 0,
  ]) { a, _ in a }, calibration, HotspotMetrics.pitHistogram(expected: expectedCells, actual: actualCells, alpha: f.cellAlpha), aT.reduce(0, +))
}

/// The simulator's oracle forecast (`truth-expected-counts.csv`), as a lookup by site and hour.
public struct HotspotOracle: Sendable {
  var expected: [String: [Int64: Double]]
  /// Loads `column` ("expected_rental_reads" or "expected_actor_reads") from the truth file.
  public init(path: String, column: String = "expected_rental_reads") throws {
    expected = [:]
    var col = -1
    try CSVReader(source: ByteSource(path: path)).forEachRecord { r in
      if r.line == 1 {
        col = (0..<r.count).first { r.string($0) == column } ?? -1
        if col < 0 { throw SpecError.invalid("\(path): no column '\(column)'") }
        return
      }
      guard r.count > col, case .success(let t) = Timestamp.parse(r.bytes(1)), let v = Double(r.string(col)) else { return }
      expected[r.string(0), default: [:]][Int64(t)] = v
    }
  }

  /// The oracle's forecast for the bins of `like` (hourly bins; other binnings sum the hours inside).
  public func forecast(like test: CountTable) -> HotspotForecast {
    let starts = test.binStarts
    var e = [Double](repeating: 0, count: test.units.count * test.binCount)
    for (u, unit) in test.units.enumerated() {
      guard let m = expected[unit.id] else { continue }
      for (b, s) in starts.enumerated() {
        var t = s, sum = 0.0
        let end = test.binning.next(s)
        while t < end { sum += m[t] ?? 0; t += 3600 }
        e[u * test.binCount + b] = sum
      }
    }
    return HotspotForecast(model: "oracle", units: test.units, binStarts: starts, expected: e, alpha: 0, fallbackUnits: [])
  }
}

/// A named model spec in a comparison.
public struct NamedHotspotModel: Sendable {
  public var name: String
  public var model: any HotspotModel
  public init(name: String, model: any HotspotModel) { self.name = name; self.model = model }

  /// The models of `specs`, each under its spec's name; a name that two specs share (two files of one
  /// kind without a `name:`) gets its file's name in brackets, and a number if that is shared too, so
  /// no two models' scores are pooled under one name.
  public static func distinctlyNamed(_ specs: [SpecFile]) throws -> [NamedHotspotModel] {
    try zip(SpecFile.distinctNames(specs), specs).map { NamedHotspotModel(name: $0, model: try $1.hotspotModel()) }
  }
}

extension SpecFile {
  /// Each spec's name; a name that two specs share (two files of one kind without a `name:`) gets its
  /// file's name in brackets, and a number if that is shared too.
  public static func distinctNames(_ specs: [SpecFile]) -> [String] {
    var names = specs.map(\.name)
    let repeated = Set(names.filter { n in names.filter { $0 == n }.count > 1 })
    for i in names.indices where repeated.contains(names[i]) {
      names[i] += " (\(URL(fileURLWithPath: specs[i].path).deletingPathExtension().lastPathComponent))"
    }
    var used = Set<String>()
    for i in names.indices {
      var name = names[i], k = 1
      while used.contains(name) { k += 1; name = names[i] + " #\(k)" }
      names[i] = name
      used.insert(name)
    }
    return names
  }
}

extension NamedHotspotModel {
  /// The models `compare` runs when no spec is given: every kind with its defaults, and the GLM's
  /// negative-binomial family beside its Poisson one (counts of real traffic are overdispersed: on the
  /// Bath counts the NB GLM's log score is −5.2 against the Poisson's −19.6).
  public static func defaults() throws -> [NamedHotspotModel] {
    var out: [NamedHotspotModel] = []
    for r in ModelRegistry.standard.all where r.family == .hotspot {
      out.append(NamedHotspotModel(name: r.kind.rawValue, model: try hotspotSpec(r.defaultSpec())))
      if r.kind == PoissonHotspotModel.kind {
        var nb = PoissonHotspotModel()
        nb.family = .negativeBinomial
        out.append(NamedHotspotModel(name: "negative-binomial-hotspot", model: nb))
      }
    }
    return out
  }
}

/// Runs the backtest for every model (and the oracle when given) on the same windows.
public enum HotspotBacktest {
  /// Scores per model name (oracle under "oracle"), in window order.
  /// `scoredOn`: score the forecasts on this table's counts instead of `table`'s (same units and bins):
  /// models trained on one target (linked groups) judged on another (the truth's actors).
  /// `gaps`: recording gaps of `table` (`RecordingGaps.find`), left out of every window's scores; each
  /// window's history has its own gaps (found on the history alone) filled (`RecordingGaps.filled`).
  public static func run(table: CountTable, models: [NamedHotspotModel], plan: BacktestPlan, clock: LocalClock,
                         oracle: HotspotOracle? = nil, scoredOn: CountTable? = nil, gaps: RecordingGaps? = nil,
                         progress: ((Int, Int) -> Void)? = nil) throws -> [String: [WindowScore]] {
    if let s = scoredOn, s.units != table.units || s.binning != table.binning || s.firstBin != table.firstBin || s.binCount != table.binCount {
      throw SpecError.invalid("the table a backtest is scored on must have the training table's units and bins")
    }
    let origins = plan.origins(table)
    guard !origins.isEmpty else {
      if case .month = table.binning {
        throw SpecError.invalid("not enough history for a backtest: monthly bins need at least \(max(plan.minimumTrainingDays / 30, 3) + 1) months (\(max(plan.minimumTrainingDays / 30, 3)) of history and one to forecast)")
      }
      throw SpecError.invalid("not enough history for a backtest: need \(plan.minimumTrainingDays) days of training plus \(plan.horizonDays) of horizon")
    }
    let h = plan.horizonBins(table)
    var out: [String: [WindowScore]] = [:]
    // Window by window, the models run side by side on the worker threads; each model's windows stay
    // in order (a fit starts from the model's fit of the window before, and its predictive dispersion
    // is learned from its earlier windows), and models share nothing but the window's history, which
    // they only read, so the scores do not depend on the number of threads. The history is sliced
    // (and its gaps filled) once a window for all the models.
    /// One model's state across the windows and its scores.
    final class ModelRun: @unchecked Sendable {
      let model: NamedHotspotModel
      var scores: [WindowScore] = []
      /// Earlier forecasts (origin bin, forecast): once their counts are in a window's history, the
      /// predictive dispersion is learned from them instead of from fits on shorter histories.
      var past: [(origin: Int, expected: [Double], ownAlpha: Double)] = []
      /// The last fit: an iterative fit (IRLS, the self-exciting EM) starts from it in the next window.
      var lastFit: (any FittedHotspotModel)? = nil
      init(_ m: NamedHotspotModel) { model = m }
    }
    let runs = models.map(ModelRun.init)
    for (k, o) in origins.enumerated() {
      var history = table.slice(bins: 0..<o)  // strictly before the origin
      let testBins = o..<min(table.binCount, o + h)
      let test = (scoredOn ?? table).slice(bins: testBins)
      var excluded: [Bool]? = nil
      if let gaps, gaps.mask.count == table.counts.count {
        // Filled from the history's own gaps, found on the history alone; the table's gaps are left
        // out of the scores.
        let own = RecordingGaps.find(in: history)
        if own.count > 0 { history = own.filled(history) }
        excluded = gaps.slice(bins: testBins, binCount: table.binCount, units: table.units.count)
        // A window that is all recording gap has nothing to score: skipped for every model.
        if let excluded, !excluded.contains(false) { progress?(k + 1, origins.count); continue }
      }
      let largestCount = history.counts.max() ?? 0
      let window = UncheckedSendable((history, test, excluded))
      let taken = LockedCounter()
      DispatchQueue.concurrentPerform(iterations: max(1, min(workerThreads, runs.count))) { _ in
        while true {
          let i = taken.next() - 1
          guard i < runs.count else { return }
          let run = runs[i], (history, test, excluded) = window.value
          // A model that cannot fit on a window fails that window alone, said in the comparison.
          do {
            // Up to seven earlier windows whose counts are in this history (the history's, gaps filled).
            let known = run.past.filter { $0.origin + h <= o }.suffix(7).map { p in
              HeldOutWindow(expected: p.expected, actual: history.slice(bins: p.origin..<(p.origin + h)).counts, alpha: p.ownAlpha)
            }
            let fit = try run.model.model.backtestWindow(history, bins: test.binCount, clock: clock, startingFrom: run.lastFit,
                                                         pastWindows: Array(known))
            run.lastFit = fit.fitted
            if fit.own.expected.count == test.units.count * h { run.past.append((o, fit.own.expected, fit.own.alpha)) }
            let f = fit.forecast
            let top = f.expected.max() ?? 0
            run.scores.append(WindowScore(origin: table.binStarts[o], scored: scoreHotspot(f, actual: test, excluded: excluded),
                                          extrapolated: top > 10 * max(1, largestCount) ? top : nil))
          } catch {
            run.scores.append(WindowScore(origin: table.binStarts[o], metrics: [:], failure: "\(error)"))
          }
        }
      }
      if let oracle {
        out["oracle", default: []].append(WindowScore(origin: table.binStarts[o], scored: scoreHotspot(oracle.forecast(like: test), actual: test, excluded: excluded)))
      }
      progress?(k + 1, origins.count)
    }
    for run in runs { out[run.model.name, default: []] += run.scores }
    return out
  }
}

/// The spec as a hotspot model (a registry entry of the hotspot family is one).
func hotspotSpec(_ s: any ModelSpec) throws -> any HotspotModel {
  guard let h = s as? any HotspotModel else { throw SpecError.invalid("\(type(of: s).kind) is not a hotspot model") }
  return h
}

/// A count shared by threads.
final class LockedCounter: @unchecked Sendable {
  private var value = 0
  private let lock = NSLock()
  /// Adds one and returns the new count.
  func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
