import Foundation
import Linalg
import Modelling
import Reads

/// A forecast of expected target counts per unit per bin, with the predictive distribution's
/// dispersion (α = 0: Poisson) for intervals.
public struct HotspotForecast: Codable, Sendable {
  public var model: String
  public var units: [SpatialUnit]
  public var binStarts: [Int64]
  /// Unit-major expected counts, `expected[u * bins + b]`.
  public var expected: [Double]
  /// NB2 dispersion of the predictive distribution (0 = Poisson).
  public var alpha: Double
  /// Dispersion of a factor shared by every cell of a forecast window (a gamma variable of mean 1 and
  /// this variance multiplying every expected count of the window): the whole town has busy and quiet
  /// days that no cell's own dispersion carries, so a window's total varies more than the sum of
  /// independent cells. 0 = no shared factor. Learned with `alpha` (`HotspotModel.predictiveDispersion`)
  /// over windows of `windowBins` bins.
  public var windowAlpha: Double = 0
  /// Bins of the window `windowAlpha` is shared over (one factor per run of this many bins from the
  /// first); 0 = the whole forecast.
  public var windowBins = 0
  /// Units the model had no history for, forecast by a fallback (said, not hidden).
  public var fallbackUnits: [String]

  public init(model: String, units: [SpatialUnit], binStarts: [Int64], expected: [Double], alpha: Double, fallbackUnits: [String]) {
    self.model = model; self.units = units; self.binStarts = binStarts; self.expected = expected
    self.alpha = alpha; self.fallbackUnits = fallbackUnits
  }

  public func expected(unit u: Int, bin b: Int) -> Double { expected[u * binStarts.count + b] }

  /// The window factor's window of bin `b`.
  public func window(ofBin b: Int) -> Int { windowBins > 0 ? b / windowBins : 0 }

  /// A single cell's NB2 dispersion with the shared window factor G integrated out: given G the cell is
  /// NB2(μG, α), so its variance is μ + (α + τ² + ατ²)μ².
  public var cellAlpha: Double { alpha + windowAlpha + alpha * windowAlpha }

  /// The NB2 dispersion of a sum of cells (means and their windows, `window(ofBin:)`), matched by
  /// moments: given the factors the cells are independent NB2, so the variance is
  /// M + αΣμ² + τ²Σ_w(M_w² + αΣ_wμ²) over the windows w, and the sum's α is that less M, over M².
  /// With one cell it is `cellAlpha`.
  public func sumAlpha(_ cells: [(mean: Double, window: Int)]) -> Double {
    var m = 0.0, s = 0.0
    var perWindow = [(m: Double, s: Double)](repeating: (0, 0), count: (cells.map(\.window).max() ?? 0) + 1)
    for c in cells {
      m += c.mean; s += c.mean * c.mean
      perWindow[c.window].m += c.mean; perWindow[c.window].s += c.mean * c.mean
    }
    guard m > 0 else { return 0 }
    let shared = perWindow.reduce(0) { $0 + $1.m * $1.m + alpha * $1.s }
    return (alpha * s + windowAlpha * shared) / (m * m)
  }

  /// Expected count per unit summed over bins `bins` (e.g. the bins of a shift).
  public func totals(bins: [Int]? = nil) -> [Double] {
    let bs = bins ?? Array(0..<binStarts.count)
    return (0..<units.count).map { u in bs.reduce(0) { $0 + expected(unit: u, bin: $1) } }
  }
}

/// The hotspot family of the model contract: a spec (hyper-parameters only) fits a `CountTable` (all
/// bins strictly before the forecast origin) and returns a fitted model, which forecasts the bins after
/// the history it is given.
public protocol HotspotModel: ModelSpec where Statistic == CountTable, Context == HotspotContext, Fitted: FittedHotspotModel {
  /// Fits on `data` starting from `previous`, this model's fit on a shorter history of the same units
  /// (a backtest's last window), when it has an iterative fit that can start there; the default fits
  /// from scratch. The result is the same model to the fit's tolerance, reached in fewer iterations.
  func fit(_ data: CountTable, clock: LocalClock, startingFrom previous: (any FittedHotspotModel)?) throws -> Fitted
  /// The same fit when only its forecasts are used (a backtest window, a held-out fit that learns the
  /// predictive dispersion): a model may leave out what only a saved model shows, such as standard
  /// errors. The default is `fit(_:clock:startingFrom:)`.
  func fitForForecasting(_ data: CountTable, clock: LocalClock, startingFrom previous: (any FittedHotspotModel)?) throws -> Fitted
}

extension HotspotModel {
  public static var family: ModelFamily { .hotspot }
  public func fit(_ data: CountTable, clock: LocalClock, startingFrom previous: (any FittedHotspotModel)?) throws -> Fitted {
    try fit(data, clock: clock)
  }
  public func fitForForecasting(_ data: CountTable, clock: LocalClock, startingFrom previous: (any FittedHotspotModel)?) throws -> Fitted {
    try fit(data, clock: clock, startingFrom: previous)
  }
}

public protocol FittedHotspotModel: FittedModel {
  /// The kind forecasts and tables show.
  var kind: String { get }
  /// Expected counts for `bins` bins after `history` ends. `history` holds only data before the origin.
  func forecast(history: CountTable, bins: Int, clock: LocalClock) -> HotspotForecast
  var diagnostics: FitDiagnostics? { get }
}

extension FittedHotspotModel {
  public var diagnostics: FitDiagnostics? { nil }
  public func summary() -> ModelSummary {
    var s = ModelSummary(kind: ModelKind(kind))
    if let d = diagnostics { s.add(d) }
    return s
  }
}

/// What a saved hotspot model needs besides its parameters: the bins and the target it was trained for.
public struct HotspotContext: ModelContext, Equatable {
  public var binning: Binning
  public var target: Target
  /// The NB2 dispersion of the model's forecast errors, learned at training on the last day of its
  /// history (`HotspotModel.predictiveDispersion`): forecasts from a model whose own distribution is
  /// Poisson use it for their intervals. Nil in files from before 2026-12-06 (Poisson intervals).
  public var predictiveAlpha: Double?
  /// The dispersion of the factor shared by a whole forecast window (`HotspotForecast.windowAlpha`),
  /// learned with `predictiveAlpha`. Nil in files written before it was added (2026-12-06): no shared factor.
  public var predictiveWindowAlpha: Double?
  /// For a model trained on point events: the grid its units are the cells of, so later events are
  /// counted into the same cells. Nil for camera sites.
  public var eventGrid: EventGrid?
  public init(binning: Binning, target: Target, predictiveAlpha: Double? = nil, predictiveWindowAlpha: Double? = nil, eventGrid: EventGrid? = nil) {
    self.binning = binning; self.target = target; self.predictiveAlpha = predictiveAlpha; self.predictiveWindowAlpha = predictiveWindowAlpha
    self.eventGrid = eventGrid
  }
  public func contextProblem() -> String? {
    if let a = predictiveAlpha, !a.isFinite || a < 0 { return "predictiveAlpha \(a) is not a dispersion (a finite number ≥ 0)" }
    if let a = predictiveWindowAlpha, !a.isFinite || a < 0 { return "predictiveWindowAlpha \(a) is not a dispersion (a finite number ≥ 0)" }
    if let g = eventGrid, !(g.cellMetres.isFinite && g.cellMetres > 0 && g.columns > 0 && g.rows > 0 && g.originLatitude.isFinite && g.originLongitude.isFinite && g.scaleLatitude.isFinite) {
      return "eventGrid is not a grid (positive cell size and counts, finite corner)"
    }
    return binning.problem
  }
}

extension HotspotModel {
  /// Fits on `history` and forecasts the next `bins`, with a predictive distribution learned from the
  /// data: a model whose forecast is Poisson (α = 0) gets the NB2 dispersion of its own errors — real
  /// counts are overdispersed (Bath's traffic: a Poisson predictive distribution scores a log score four
  /// times worse than the negative binomial's), and its intervals then say so — and every model gets the
  /// shared window factor τ². Both come from `pastWindows`, forecasts this model made earlier whose
  /// counts are now in `history` (a backtest's earlier windows, oldest first), or when there are none
  /// from `predictiveDispersion`, which fits the model again on shorter histories.
  public func fitForecast(_ history: CountTable, bins: Int, clock: LocalClock, pastWindows: [HeldOutWindow] = []) throws -> HotspotForecast {
    var f = try fitForForecasting(history, clock: clock, startingFrom: nil).forecast(history: history, bins: bins, clock: clock)
    learnDispersion(&f, history: history, clock: clock, pastWindows: pastWindows)
    return f
  }

  /// One window of a backtest: the fit on `history`, started from `previous` (this model's fit of the
  /// window before), its forecast of `bins` bins (`own`, the model's own α), and that forecast with the
  /// learned dispersion (`forecast`). When no earlier window's counts are known (`pastWindows` empty) the
  /// dispersion comes from held-out fits first, and the fit starts where the last of them ended, as
  /// `anpr train` does, rather than from nothing.
  public func backtestWindow(_ history: CountTable, bins: Int, clock: LocalClock, startingFrom previous: (any FittedHotspotModel)?,
                             pastWindows: [HeldOutWindow]) throws -> (fitted: Fitted, own: HotspotForecast, forecast: HotspotForecast) {
    var early: (alpha: Double, windowAlpha: Double)? = nil
    var start = previous
    if pastWindows.isEmpty, let d = predictiveDispersion(history, bins: bins, clock: clock) {
      early = (d.alpha, d.windowAlpha)
      if start == nil { start = d.lastFit }
    }
    let fitted = try fitForForecasting(history, clock: clock, startingFrom: start)
    let own = fitted.forecast(history: history, bins: bins, clock: clock)
    var f = own
    if let d = pastWindows.isEmpty ? early : HeldOutWindow.dispersion(pastWindows) {
      if f.alpha == 0 { f.alpha = d.alpha }
      f.windowAlpha = d.windowAlpha
    }
    return (fitted, own, f)
  }

  /// Gives forecast `f` (made from `history`) the learned α (if its own is 0) and τ², as `fitForecast` does.
  public func learnDispersion(_ f: inout HotspotForecast, history: CountTable, clock: LocalClock, pastWindows: [HeldOutWindow] = []) {
    let learned = pastWindows.isEmpty ? predictiveDispersion(history, bins: f.binStarts.count, clock: clock).map { ($0.alpha, $0.windowAlpha) }
                                      : HeldOutWindow.dispersion(pastWindows)
    guard let d = learned else { return }
    if f.alpha == 0 { f.alpha = d.alpha }
    f.windowAlpha = d.windowAlpha
  }

  /// The dispersion of this model's forecast errors, learned on its own history. The last k windows of
  /// `bins` bins (k up to 7, at most a quarter of the history, fewer if the model cannot fit without
  /// them) are held out and forecast from a fit on the rest; the last of them is forecast again from
  /// everything before it (one window ahead, as the model is used). `HeldOutWindow.dispersion` turns
  /// them into α and τ² (the earlier windows are forecast further ahead, so τ² errs wide rather than
  /// narrow). Nil when the history is too short or the model cannot fit on the shorter part.
  /// Each fit starts from the one before it (`fitForForecasting`: no standard errors or likelihood), and `lastFit`,
  /// the fit on the longest of these histories, is where a fit on the whole history can start.
  public func predictiveDispersion(_ history: CountTable, bins: Int, clock: LocalClock) -> (alpha: Double, windowAlpha: Double, lastFit: Fitted)? {
    let h = min(bins, history.binCount / 4)
    guard h >= 1 else { return nil }
    var lastFit: Fitted? = nil
    /// A fit on all but the last `k × h` bins and its forecast of them, cut into windows of h bins.
    func heldOut(_ k: Int) -> [HeldOutWindow]? {
      let cut = history.binCount - k * h
      let train = history.slice(bins: 0..<cut), held = history.slice(bins: cut..<history.binCount)
      guard let fitted = try? fitForForecasting(train, clock: clock, startingFrom: lastFit) else { return nil }
      lastFit = fitted
      let f = fitted.forecast(history: train, bins: k * h, clock: clock)
      guard f.expected.count == held.counts.count else { return nil }
      return (0..<k).map { w in
        HeldOutWindow(expected: windowCells(f.expected, window: w, bins: h, units: held.units.count),
                      actual: windowCells(held.counts, window: w, bins: h, units: held.units.count), alpha: f.alpha)
      }
    }
    // The most windows (up to 7, a quarter of the history) the model can be fitted without; a model
    // that needs more history (recent-activity terms) is tried with fewer.
    var found: [HeldOutWindow]? = nil
    for k in stride(from: max(1, min(7, history.binCount / 4 / h)), through: 1, by: -1) {
      found = heldOut(k)
      if found != nil { break }
    }
    guard var windows = found else { return nil }
    // The last window again, one window ahead (a model with its own α needs it for nothing else).
    if windows.count > 1, windows[0].alpha == 0, let last = heldOut(1) { windows[windows.count - 1] = last[0] }
    guard let d = HeldOutWindow.dispersion(windows), let lastFit else { return nil }
    return (d.alpha, d.windowAlpha, lastFit)
  }
}

/// The cells of window `w` (bins w·h..<(w+1)·h) of a unit-major array over `units` × k·h bins, unit-major.
func windowCells(_ v: [Double], window w: Int, bins h: Int, units n: Int) -> [Double] {
  let span = v.count / max(1, n)
  var out: [Double] = []
  out.reserveCapacity(n * h)
  for u in 0..<n { let from: Int = u * span + w * h; out += v[from..<(from + h)] }
  return out
}

/// A forecast window whose counts are known: the expected counts, the counts that came (same cells, same
/// order) and the model's own dispersion in that forecast (0 = Poisson; not a learned one).
public struct HeldOutWindow: Sendable {
  public var expected: [Double], actual: [Double], alpha: Double
  public init(expected: [Double], actual: [Double], alpha: Double) { self.expected = expected; self.actual = actual; self.alpha = alpha }

  /// α and τ² from windows forecast before the counts were known, oldest first. α: the model's own
  /// dispersion if its forecasts carry one (the negative-binomial GLM), else the NB2 α of the last
  /// window's counts around its forecast scaled to the window's observed total (so the window's shared
  /// level, which τ² carries, is not counted again as cell dispersion), kept when a likelihood-ratio test
  /// finds overdispersion at the 5% level (`CountDistribution.overdispersion`), else 0. τ², the variance
  /// of a factor shared by every cell of a window, by the method of moments on the windows' totals T
  /// against their expected totals M, whose variance is M + αΣμ² + τ²(M² + αΣμ²) (`sumAlpha`):
  /// τ² = max(0, Σ[(T − M)² − M − αΣμ²] / Σ(M² + αΣμ²)).
  public static func dispersion(_ windows: [HeldOutWindow]) -> (alpha: Double, windowAlpha: Double)? {
    guard let last = windows.last else { return nil }
    let lastM = last.expected.reduce(0, +), lastT = last.actual.reduce(0, +)
    let level = lastM > 0 && lastT > 0 ? lastT / lastM : 1
    let alpha = last.alpha > 0 ? last.alpha : CountDistribution.overdispersion(last.actual, last.expected.map { $0 * level }).alpha
    var excess = 0.0, scale = 0.0
    for w in windows {
      let m = w.expected.reduce(0, +), t = w.actual.reduce(0, +), s = w.expected.reduce(0) { $0 + $1 * $1 }
      excess += (t - m) * (t - m) - m - alpha * s
      scale += m * m + alpha * s
    }
    return (alpha, scale > 0 ? max(0, excess / scale) : 0)
  }
}

/// Seasonal slot of a bin: its local position in the week in bins (hour of week for hourly bins,
/// quarter-hour of week for 15-minute bins), else 0. Sub-hour bins used to be placed by their hour
/// alone: three slots in four were never used, and models spreading a total over slots (KDE,
/// prospective) forecast 4× too much at 15 minutes.
func slot(_ binStart: Int64, _ binning: Binning, _ clock: LocalClock) -> Int {
  let p = binning.seasonalPeriod
  guard p > 1, case .seconds(let w) = binning else { return 0 }
  return (clock.secondOfWeek(binStart) / w) % p
}

extension CountTable {
  /// Throws when there is nothing to learn from: no sites, no bins, or not one target count in the
  /// history (a model fitted on that forecasts zeros everywhere, which is no forecast).
  func requireHistory() throws {
    guard binCount > 0, !units.isEmpty else { throw FitError.noData("no bins of history before the origin") }
    guard counts.contains(where: { $0 > 0 }) else {
      throw FitError.noData("no target counts in the \(binCount) bins of history before the origin")
    }
  }
}

func futureBins(after history: CountTable, count: Int) -> [Int64] {
  var out: [Int64] = []
  var s = history.end
  for _ in 0..<count { out.append(s); s = history.binning.next(s) }
  return out
}

// MARK: - Baselines

/// Seasonal naive: each future bin gets the count at the same unit one period (a week for hourly
/// bins) earlier — "what happened last week", the baseline analysts use by habit.
public struct LastWindowModel: HotspotModel, Equatable {
  public static let kind: ModelKind = "last-window"
  public init() {}
  public init(from decoder: Decoder) throws { try rejectUnknownKeys(decoder, allowed: [], kind: Self.kind) }
  public func encode(to encoder: Encoder) throws { _ = encoder.container(keyedBy: AnyCodingKey.self) }  // {}: no parameters
  public func fit(_ data: CountTable, clock: LocalClock) throws -> Fitted {
    try data.requireHistory()
    return Fitted()
  }

  public struct Fitted: FittedHotspotModel, Codable {
    public var kind: String { LastWindowModel.kind.rawValue }
    public static var legacyBodyKeys: [String] { ["lastWindow"] }
    public init() {}
    public func forecast(history h: CountTable, bins: Int, clock: LocalClock) -> HotspotForecast {
      let p = max(1, h.binning.seasonalPeriod)
      var e = [Double](repeating: 0, count: h.units.count * bins)
      for u in 0..<h.units.count {
        for b in 0..<bins {
          var src = h.binCount - p + (b % p)
          while src >= h.binCount { src -= p }
          e[u * bins + b] = src >= 0 ? h[u, src] : 0
        }
      }
      return HotspotForecast(model: kind, units: h.units, binStarts: futureBins(after: h, count: bins), expected: e, alpha: 0, fallbackUnits: [])
    }
  }
}

/// Historical mean by seasonal slot (local hour of week), shrunk towards the unit's overall mean:
/// `λ(u, s) = (S(u, s) + a·m(u)) / (N(s) + a)` so sparse units don't forecast zero from few weeks.
/// `a` is learned from the counts (`learnedSmoothing`) unless the spec gives it.
public struct HistoricalMeanModel: HotspotModel, Equatable {
  public static let kind: ModelKind = "historical-mean"
  /// Pseudo-observations of the unit mean added to each slot (0 = raw slot means); nil (`auto`, the
  /// default) learns it from the counts.
  public var smoothing: Double? = nil
  /// Only the last this many days of history count (0 = all).
  public var lookbackDays = 0
  public init() {}
  enum CodingKeys: String, CodingKey, CaseIterable { case smoothing, lookbackDays = "lookback_days" }
  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), kind: Self.kind)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    smoothing = try decodeSmoothing(c, key: .smoothing, kind: Self.kind)
    lookbackDays = try c.decodeIfPresent(Int.self, forKey: .lookbackDays) ?? 0
  }

  public func fit(_ data: CountTable, clock: LocalClock) throws -> Fitted {
    try data.requireHistory()
    let p = max(1, data.binning.seasonalPeriod)
    let starts = data.binStarts
    let from = lookbackDays > 0 ? max(0, starts.firstIndex { $0 >= data.end - Int64(lookbackDays) * 86400 } ?? 0) : 0
    var sums = [Double](repeating: 0, count: data.units.count * p)
    var n = [Double](repeating: 0, count: p)
    var mean = [Double](repeating: 0, count: data.units.count)
    for b in from..<data.binCount {
      let s = slot(starts[b], data.binning, clock)
      n[s] += 1
      for u in 0..<data.units.count { sums[u * p + s] += data[u, b]; mean[u] += data[u, b] }
    }
    let total = Double(data.binCount - from)
    mean = mean.map { total > 0 ? $0 / total : 0 }
    let a = smoothing ?? learnedSmoothing(sums: sums, slotBins: n, means: mean)
    var rate = sums
    for u in 0..<data.units.count { for s in 0..<p { rate[u * p + s] = (sums[u * p + s] + a * mean[u]) / (n[s] + a) } }
    return Fitted(units: data.units.map(\.id), period: p, rate: rate, overall: mean.reduce(0, +) / Double(max(1, mean.count)))
  }

  public struct Fitted: FittedHotspotModel, Codable {
    public var kind: String { HistoricalMeanModel.kind.rawValue }
    public static var legacyBodyKeys: [String] { ["historicalMean"] }
    var units: [String]
    var period: Int
    var rate: [Double]
    var overall: Double
    public func forecast(history h: CountTable, bins: Int, clock: LocalClock) -> HotspotForecast {
      let starts = futureBins(after: h, count: bins)
      let index = Dictionary(uniqueKeysWithValues: units.enumerated().map { ($1, $0) })
      var fallback: [String] = []
      var e = [Double](repeating: 0, count: h.units.count * bins)
      for (u, unit) in h.units.enumerated() {
        guard let k = index[unit.id] else { fallback.append(unit.id); for b in 0..<bins { e[u * bins + b] = overall }; continue }
        for b in 0..<bins { e[u * bins + b] = rate[k * period + slot(starts[b], h.binning, clock)] }
      }
      return HotspotForecast(model: kind, units: h.units, binStarts: starts, expected: e, alpha: 0, fallbackUnits: fallback)
    }
  }
}

/// A spec's `smoothing`: a number ≥ 0, or `auto` (or absent): nil, learned from the counts.
func decodeSmoothing<K: CodingKey>(_ c: KeyedDecodingContainer<K>, key: K, kind: ModelKind) throws -> Double? {
  let a: Double
  if let text = try? c.decodeIfPresent(String.self, forKey: key) {
    if text == "auto" { return nil }
    guard let number = Double(text) else { throw SpecError.invalid("\(kind): smoothing is a number ≥ 0 or auto, not '\(text)'") }
    a = number
  } else {
    guard let number = try c.decodeIfPresent(Double.self, forKey: key) else { return nil }
    a = number
  }
  guard a >= 0, a.isFinite else { throw SpecError.invalid("\(kind): smoothing must be a number ≥ 0 (or auto)") }
  return a
}

/// The `a` of slot means shrunk to their unit's mean, `(S + a·m)/(N + a)`, learned from the counts
/// (empirical Bayes): a unit's slot rates are taken as drawn from a gamma with the unit's mean m and
/// variance m/a, so a slot's sum S over its N bins is negative binomial (size a·m, mean N·m), and `a`
/// maximises the likelihood of every unit's slot sums (a grid on log a over [10⁻⁴, 10⁴], then golden
/// section). Counts whose slots differ far more than chance (traffic by hour of week) get almost no
/// shrinkage; sparse events whose slots differ by little more than chance get much. `sums` is
/// unit-major over the slots of `slotBins`.
func learnedSmoothing(sums: [Double], slotBins n: [Double], means: [Double]) -> Double {
  let p = n.count
  guard p > 1 else { return 0 }
  func logLikelihood(_ t: Double) -> Double {
    let a = exp(t)
    let logShare = n.map { $0 > 0 ? log(a / (a + $0)) : 0 }, logRest = n.map { $0 > 0 ? log($0 / (a + $0)) : 0 }
    var ll = 0.0
    for (u, m) in means.enumerated() where m > 0 {
      let r = a * m, lr: Double = lgamma(r)
      for s in 0..<p where n[s] > 0 {
        let y = sums[u * p + s]
        let lyr: Double = lgamma(y + r)
        ll += lyr - lr + r * logShare[s] + y * logRest[s]
      }
    }
    return ll
  }
  let lo = log(1e-4), hi = log(1e4), steps = 32
  let grid = (0...steps).map { lo + (hi - lo) * Double($0) / Double(steps) }
  let values = grid.map(logLikelihood)
  guard let best = values.indices.max(by: { values[$0] < values[$1] }), values[best].isFinite else { return 2 }
  // Golden section within the grid points either side of the best.
  var a = grid[max(0, best - 1)], b = grid[min(steps, best + 1)]
  let g = (5.0.squareRoot() - 1) / 2
  var x1 = b - g * (b - a), x2 = a + g * (b - a)
  var f1 = logLikelihood(x1), f2 = logLikelihood(x2)
  for _ in 0..<40 {
    if f1 < f2 { a = x1; x1 = x2; f1 = f2; x2 = a + g * (b - a); f2 = logLikelihood(x2) } else { b = x2; x2 = x1; f2 = f1; x1 = b - g * (b - a); f1 = logLikelihood(x1) }
  }
  return exp((a + b) / 2)
}

// MARK: - Kernel density and prospective hotspots

/// Seasonal share of activity per slot (pooled over units), for spreading a spatial surface over time.
func slotShares(_ data: CountTable, clock: LocalClock) -> [Double] {
  let p = max(1, data.binning.seasonalPeriod)
  var s = [Double](repeating: 1e-9, count: p), n = [Double](repeating: 0, count: p)
  let starts = data.binStarts
  for b in 0..<data.binCount {
    let k = slot(starts[b], data.binning, clock)
    n[k] += 1
    for u in 0..<data.units.count { s[k] += data[u, b] }
  }
  let per = zip(s, n).map { $1 > 0 ? $0 / $1 : 0 }
  let mean = per.reduce(0, +) / Double(p)
  return per.map { mean > 0 ? $0 / mean : 1 }  // mean 1 over slots
}

func distanceMetres(_ a: SpatialUnit, _ b: SpatialUnit) -> Double {
  haversineMetres(a.latitude, a.longitude, b.latitude, b.longitude)
}

/// Retrospective kernel density hotspot: a Gaussian kernel (bandwidth in metres) over all past
/// counts, normalised to the recent total rate and spread over time by the seasonal profile.
public struct KernelDensityModel: HotspotModel, Equatable {
  public static let kind: ModelKind = "kernel-density"
  public var bandwidthMetres = 400.0
  public init() {}
  enum CodingKeys: String, CodingKey, CaseIterable { case bandwidthMetres = "bandwidth_metres" }
  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), kind: Self.kind)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    bandwidthMetres = try c.decodeIfPresent(Double.self, forKey: .bandwidthMetres) ?? 400
    if !(bandwidthMetres > 0) { throw SpecError.invalid("kernel-density: bandwidth_metres must be > 0") }
  }
  public func fit(_ data: CountTable, clock: LocalClock) throws -> Fitted {
    try data.requireHistory()
    return Fitted(bandwidth: bandwidthMetres, shares: slotShares(data, clock: clock), decayDays: nil, kindName: Self.kind.rawValue)
  }

  public struct Fitted: FittedHotspotModel, Codable {
    var bandwidth: Double
    var shares: [Double]
    var decayDays: Double?
    var kindName: String
    public var kind: String { kindName }
    public static var legacyBodyKeys: [String] { ["kernel"] }
    public func forecast(history h: CountTable, bins: Int, clock: LocalClock) -> HotspotForecast {
      let n = h.units.count
      // Weighted event mass per unit: all history (retrospective) or decayed by age (prospective).
      var mass = [Double](repeating: 0, count: n)
      let starts = h.binStarts
      for b in 0..<h.binCount {
        let ageDays = Double(h.end - starts[b]) / 86400
        let w = decayDays.map { 1 / (1 + ageDays / $0) } ?? 1
        for u in 0..<n where h[u, b] > 0 { mass[u] += w * h[u, b] }
      }
      // Over the units within reach of each: 3 bandwidths for the prospective kernel (its support), 8
      // for the Gaussian (beyond, a weight under e^−32 of a unit's own).
      var surface = [Double](repeating: 0, count: n)
      let near = UnitNeighbours.cached(units: h.units, cutoffMetres: (decayDays == nil ? 8 : 3) * bandwidth)
      for u in 0..<n {
        for e in near.start[u]..<near.start[u + 1] {
          let v = Int(near.unit[e])
          guard mass[v] > 0 else { continue }
          let d2 = near.squaredMetres[e]
          let k = decayDays == nil ? exp(-0.5 * d2 / (bandwidth * bandwidth)) : 1 / (1 + d2.squareRoot() / bandwidth)
          surface[u] += k * mass[v]
        }
      }
      let totalSurface = surface.reduce(0, +)
      // Total rate per bin from the last four weeks (or all history if shorter).
      let recent = min(h.binCount, max(1, h.binning.seasonalPeriod) * 4)
      var recentTotal = 0.0
      for u in 0..<n { for b in (h.binCount - recent)..<h.binCount { recentTotal += h[u, b] } }
      let ratePerBin = recent > 0 ? recentTotal / Double(recent) : 0
      let fb = futureBins(after: h, count: bins)
      var e = [Double](repeating: 0, count: n * bins)
      for u in 0..<n {
        let share = totalSurface > 0 ? surface[u] / totalSurface : 1 / Double(n)
        for b in 0..<bins { e[u * bins + b] = ratePerBin * share * shares[slot(fb[b], h.binning, clock) % shares.count] }
      }
      return HotspotForecast(model: kind, units: h.units, binStarts: fb, expected: e, alpha: 0, fallbackUnits: [])
    }
  }
}

/// Prospective hotspot (Bowers, Johnson & Pease 2004, doi:10.1093/bjc/azh036): recent events
/// weigh more, and so do near ones — weight `1/(1 + d/h_s) · 1/(1 + age/h_t)` within 3·h_s —
/// so the surface follows the near-repeat pattern rather than the long-run average.
public struct ProspectiveHotspotModel: HotspotModel, Equatable {
  public static let kind: ModelKind = "prospective-hotspot"
  public var bandwidthMetres = 400.0
  public var bandwidthDays = 7.0
  public init() {}
  enum CodingKeys: String, CodingKey, CaseIterable { case bandwidthMetres = "bandwidth_metres", bandwidthDays = "bandwidth_days" }
  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), kind: Self.kind)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    bandwidthMetres = try c.decodeIfPresent(Double.self, forKey: .bandwidthMetres) ?? 400
    bandwidthDays = try c.decodeIfPresent(Double.self, forKey: .bandwidthDays) ?? 7
    if !(bandwidthMetres > 0 && bandwidthDays > 0) { throw SpecError.invalid("prospective-hotspot: bandwidths must be > 0") }
  }
  public func fit(_ data: CountTable, clock: LocalClock) throws -> KernelDensityModel.Fitted {
    try data.requireHistory()
    return KernelDensityModel.Fitted(bandwidth: bandwidthMetres, shares: slotShares(data, clock: clock), decayDays: bandwidthDays,
                                     kindName: Self.kind.rawValue)
  }
}
