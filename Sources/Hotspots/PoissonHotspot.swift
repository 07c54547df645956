import Foundation
import Linalg
import Modelling
import Reads

/// Poisson (or negative-binomial) regression of counts per unit and bin with a log link:
/// ```
/// log E[y(u,b)] = β₀ + α_u + Σ_k (a_k sin + b_k cos)(2πk·hourOfWeek/168) + Σ_k (c_k sin + d_k cos)(2πk·hourOfDay/24)
///                 + γ₁ log1p(y_u, last 24 h) + γ₂ log1p(y_u, last 7 days) + γ₃ log1p(neighbours, last 7 days)
///                 [+ log exposure(u,b)]
/// ```
/// `α_{u,band}` (optional, on by default): a unit × time-of-day-band effect — the day cut into
/// `unit_time_of_day_bands` equal bands (4: night, morning, afternoon, evening) — shrunk to 0 by the
/// ridge, so one road can be busy in the evening and another in the morning; without it every unit's
/// share of the forecast is the same in every hour (main effects only).
/// Unit effects are one-hot (first unit is the reference); seasonality uses Fourier terms so a few
/// parameters describe the week; the recent-activity covariates are computed at the start of each
/// bin's day from bins strictly before it (and, when forecasting, at the origin), so nothing leaks.
/// Fitted by IRLS on BLAS/LAPACK (`LogLinearGLM`), with an L2 ridge so units with no events still fit.
public struct PoissonHotspotModel: HotspotModel, Equatable {
  public static let kind: ModelKind = "poisson-hotspot"
  public var family: LogLinearGLM.Family = .poisson
  /// L2 penalty on all but the intercept.
  public var ridge = 1.0
  public var weeklyHarmonics = 3
  public var dailyHarmonics = 3
  /// Time-of-day bands for the unit × time-of-day effect (0 = none). Left out, with a note, when units
  /// × bands passes `maxInteractionLevels` (the normal equations are dense in the coefficients).
  public var unitTimeOfDayBands = 4
  public static let maxInteractionLevels = 4000
  public var recentActivity = true
  /// Neighbours are units within this distance.
  public var neighbourMetres = 1000.0
  /// Use all traffic at the unit as an exposure offset (forecasts activity per passing vehicle).
  public var exposureOffset = false
  public var maxIterations = 100
  public var tolerance = 1e-10
  /// Optional user covariates: a CSV `unit_id,bin_start,NAME1,NAME2,…` (wide); each NAME becomes a
  /// column. Values must cover the forecast period too (e.g. planned events); missing values are 0.
  public var covariatesFile: String?

  public init() {}
  enum CodingKeys: String, CodingKey, CaseIterable {
    case family, ridge, weeklyHarmonics = "weekly_harmonics", dailyHarmonics = "daily_harmonics"
    case unitTimeOfDayBands = "unit_time_of_day_bands"
    case recentActivity = "recent_activity", neighbourMetres = "neighbour_metres", exposureOffset = "exposure_offset"
    case maxIterations = "max_iterations", tolerance, covariatesFile = "covariates_file"
  }
  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), kind: Self.kind)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = PoissonHotspotModel()
    family = try c.decodeIfPresent(LogLinearGLM.Family.self, forKey: .family) ?? d.family
    ridge = try c.decodeIfPresent(Double.self, forKey: .ridge) ?? d.ridge
    weeklyHarmonics = try c.decodeIfPresent(Int.self, forKey: .weeklyHarmonics) ?? d.weeklyHarmonics
    dailyHarmonics = try c.decodeIfPresent(Int.self, forKey: .dailyHarmonics) ?? d.dailyHarmonics
    unitTimeOfDayBands = try c.decodeIfPresent(Int.self, forKey: .unitTimeOfDayBands) ?? d.unitTimeOfDayBands
    recentActivity = try c.decodeIfPresent(Bool.self, forKey: .recentActivity) ?? d.recentActivity
    neighbourMetres = try c.decodeIfPresent(Double.self, forKey: .neighbourMetres) ?? d.neighbourMetres
    exposureOffset = try c.decodeIfPresent(Bool.self, forKey: .exposureOffset) ?? d.exposureOffset
    maxIterations = try c.decodeIfPresent(Int.self, forKey: .maxIterations) ?? d.maxIterations
    tolerance = try c.decodeIfPresent(Double.self, forKey: .tolerance) ?? d.tolerance
    covariatesFile = try c.decodeIfPresent(String.self, forKey: .covariatesFile)
    guard ridge >= 0, weeklyHarmonics >= 0, dailyHarmonics >= 0, maxIterations > 0, tolerance > 0, (0...24).contains(unitTimeOfDayBands) else {
      throw SpecError.invalid("poisson-hotspot: ridge ≥ 0, harmonics ≥ 0, unit_time_of_day_bands 0–24, max_iterations > 0, tolerance > 0")
    }
  }

  /// The time-of-day bands actually used for `units` units: 0 without the interaction, with one
  /// unit, or past `maxInteractionLevels` levels.
  public func bands(units n: Int) -> Int {
    unitTimeOfDayBands > 1 && n > 1 && n * unitTimeOfDayBands <= Self.maxInteractionLevels ? unitTimeOfDayBands : 0
  }

  /// Column names of the design, in order.
  func columnNames(units: [SpatialUnit]) -> [String] {
    var names = ["intercept"] + units.dropFirst().map { "unit:\($0.id)" }
    let nb = bands(units: units.count)
    if nb > 0 { for l in 1..<(units.count * nb) { names.append("unit×band:\(units[l / nb].id):\(l % nb)") } }
    for k in 0..<weeklyHarmonics { names += ["week_sin\(k + 1)", "week_cos\(k + 1)"] }
    for k in 0..<dailyHarmonics { names += ["day_sin\(k + 1)", "day_cos\(k + 1)"] }
    if recentActivity { names += ["log1p_unit_24h", "log1p_unit_7d", "log1p_neighbours_7d"] }
    if let cov = try? userCovariates() { names += cov.names }
    return names
  }

  /// User covariates from `covariatesFile`: names, and unit → bin start → values.
  public func userCovariates() throws -> (names: [String], values: [String: [Int64: [Double]]])? {
    guard let path = covariatesFile else { return nil }
    var names: [String] = []
    var values: [String: [Int64: [Double]]] = [:]
    try CSVReader(source: ByteSource(path: path)).forEachRecord { r in
      if r.line == 1 {
        let h = (0..<r.count).map { r.string($0).trimmingCharacters(in: .whitespaces) }
        guard h.count >= 3, h[0].lowercased() == "unit_id", h[1].lowercased() == "bin_start" else {
          throw SpecError.invalid("\(path):1: covariates need columns unit_id,bin_start,NAME…")
        }
        names = Array(h[2...])
        return
      }
      guard r.count == names.count + 2, case .success(let t) = Timestamp.parse(r.trimmed(1)) else {
        throw SpecError.invalid("\(path):\(r.line): expected unit_id, an ISO 8601 bin_start and \(names.count) values")
      }
      var v: [Double] = []
      for k in 0..<names.count {
        guard let x = Double(r.string(k + 2)), x.isFinite else { throw SpecError.invalid("\(path):\(r.line): \(names[k]): not a number") }
        v.append(x)
      }
      values[r.string(0), default: [:]][Int64(t)] = v
    }
    return (names, values)
  }

  /// Recent-activity covariates of every unit at time `origin`, from `history` bins ending before it.
  static func recent(_ h: CountTable, before origin: Int64, neighbours: [[Int]]) -> [[Double]] {
    let sums = RecentSums(h, origins: [origin], neighbours: neighbours)
    return (0..<h.units.count).map { u in
      let c = sums.covariates(unit: u, origin: 0)
      return [c.0, c.1, c.2]
    }
  }

  /// Each unit's neighbours (within `neighbourMetres`, itself left out), in unit order; found through
  /// buckets, so a city's grid costs its near pairs, not units².
  func neighbours(_ units: [SpatialUnit]) -> [[Int]] {
    let near = UnitNeighbours.cached(units: units, cutoffMetres: neighbourMetres)
    return units.indices.map { u in (near.start[u]..<near.start[u + 1]).map { Int(near.unit[$0]) }.filter { $0 != u } }
  }

  func seasonalRow(_ t: Int64, _ clock: LocalClock) -> [Double] {
    var row: [Double] = []
    let how = Double(clock.hourOfWeek(t)) + Double(((clock.local(t) % 3600) + 3600) % 3600) / 3600
    let hod = how.truncatingRemainder(dividingBy: 24)
    for k in 0..<weeklyHarmonics { let a = 2 * Double.pi * Double(k + 1) * how / 168; row += [sin(a), cos(a)] }
    for k in 0..<dailyHarmonics { let a = 2 * Double.pi * Double(k + 1) * hod / 24; row += [sin(a), cos(a)] }
    return row
  }

  /// Builds the design for all (unit, bin) rows of `data`, skipping bins too early for the recent-
  /// activity covariates (the first 7 days) and rows with zero exposure when an offset is used. The
  /// unit effects are a factor (never one-hot columns: XᵀWX is assembled from counts per unit), the
  /// seasonal, recent-activity and user covariates dense columns; coefficient order is intercept,
  /// units 2…N, then the dense columns. Rows with the same unit, band, covariates and offset are one
  /// design row with their number and summed count (`CollapsedDesignBuilder`): a city's 9 000 cells ×
  /// 1 400 days of mostly quiet cell-days are 13 M rows but under 400 000 distinct ones. Rows go unit
  /// by unit (the count table's order), so each unit's lookups stay in cache.
  ///
  /// `reusing`: the design of a shorter history of the same table (a backtest's last window, a fit on
  /// fewer days held out): when its bins are a prefix of `data` with the same counts, only the new bins'
  /// rows are added to it (the rows of a bin depend only on the data before it). The design returned
  /// is kept in it for the next, longer history.
  public func design(_ data: CountTable, clock: LocalClock, reusing cache: PoissonDesignCache? = nil) -> (FactorDesign, CountResponse, [Double]?) {
    let nb = neighbours(data.units)
    let starts = data.binStarts
    let nu = data.units.count
    let bandCount = bands(units: nu)
    let q = columnNames(units: data.units).count - nu - (bandCount > 0 ? nu * bandCount - 1 : 0)
    let user = try? userCovariates()
    let firstUsable = recentActivity ? data.firstBin + 7 * 86400 : data.firstBin
    let key = PoissonDesignCache.Key(specification: self, units: data.units.map(\.id), binning: data.binning, firstBin: data.firstBin,
                                     zone: clock.timeZone.identifier)
    var fingerprints: [UInt64] = []
    var reused = cache?.take(key: key, data: data, exposure: exposureOffset, fingerprints: &fingerprints)
    let extending = reused != nil, fromBin = reused?.bins ?? 0
    let usableBins = (fromBin..<data.binCount).filter { starts[$0] >= firstUsable }
    let seasonWidth = 2 * (weeklyHarmonics + dailyHarmonics)
    let seasons = usableBins.flatMap { seasonalRow(starts[$0], clock) }  // seasonWidth per usable bin
    let hours = usableBins.map { clock.hourOfDay(starts[$0]) }
    // Recent activity is taken at the start of each bin's day: one origin per distinct day.
    let dayStarts = usableBins.map { clock.startOfDay(containing: starts[$0]) }
    var origins: [Int64] = []
    let dayOf: [Int] = dayStarts.map { d in
      if origins.last != d { origins.append(d) }
      return origins.count - 1
    }
    let recent = recentActivity ? RecentSums(data, origins: origins, neighbours: nb) : nil
    func kept(_ u: Int, _ b: Int) -> Bool { !exposureOffset || (data.exposure?[u * data.binCount + b] ?? 0) > 0 }
    var builder = reused?.builder ?? CollapsedDesignBuilder(factors: bandCount > 0 ? 2 : 1, denseColumns: q, offset: exposureOffset)
    reused = nil  // the builder's arrays now have one owner, so adding rows does not copy them
    var levels = [Int32](repeating: 0, count: bandCount > 0 ? 2 : 1)
    var row = [Double](repeating: 0, count: q)
    var lastDay = -1, rec = (0.0, 0.0, 0.0)
    for u in 0..<nu {
      if !extending { builder.beginBlock() }
      levels[0] = Int32(u)
      lastDay = -1
      for (k, b) in usableBins.enumerated() where kept(u, b) {
        if bandCount > 0 { levels[1] = Int32(u * bandCount + hours[k] * bandCount / 24) }
        var j = 0
        for m in 0..<seasonWidth { row[j] = seasons[k * seasonWidth + m]; j += 1 }
        if let recent {
          if dayOf[k] != lastDay { rec = recent.covariates(unit: u, origin: dayOf[k]); lastDay = dayOf[k] }
          row[j] = rec.0; row[j + 1] = rec.1; row[j + 2] = rec.2; j += 3
        }
        if let user {
          if let v = user.values[data.units[u].id]?[starts[b]] { for x in v { row[j] = x; j += 1 } }
          else { for _ in 0..<user.names.count { row[j] = 0; j += 1 } }
        }
        builder.add(levels: levels, dense: row, offset: exposureOffset ? log(data.exposure![u * data.binCount + b]) : 0, count: data[u, b])
      }
    }
    let design = builder.finish(levels: bandCount > 0 ? [nu, nu * bandCount] : [nu])
    if let cache {
      if !extending { builder.indexAll() }
      cache.keep(key: key, builder: builder, data: data, exposure: exposureOffset, fingerprints: fingerprints, from: fromBin)
    }
    return design
  }

  public func fit(_ data: CountTable, clock: LocalClock) throws -> FittedPoissonHotspot {
    try fit(data, clock: clock, startingFrom: nil)
  }

  /// IRLS from `previous`'s coefficients (and α) when it has this design's columns (a backtest's last
  /// window), else from the counts.
  public func fit(_ data: CountTable, clock: LocalClock, startingFrom previous: (any FittedHotspotModel)?) throws -> FittedPoissonHotspot {
    try fit(data, clock: clock, startingFrom: previous, standardErrors: true)
  }

  /// The fit without standard errors, deviance, null deviance or log-likelihood (NaN): its forecasts are the same.
  public func fitForForecasting(_ data: CountTable, clock: LocalClock, startingFrom previous: (any FittedHotspotModel)?) throws -> FittedPoissonHotspot {
    try fit(data, clock: clock, startingFrom: previous, standardErrors: false)
  }

  func fit(_ data: CountTable, clock: LocalClock, startingFrom previous: (any FittedHotspotModel)?, standardErrors: Bool) throws -> FittedPoissonHotspot {
    try data.requireHistory()
    // Terms the training rows cannot identify are left out, with a note, not extrapolated: weekly
    // harmonics need a week of rows (after the 7 days the recent-activity terms use up), the daily
    // shape and the site × time-of-day term a day. Fitted on two days, a weekly curve says anything
    // about the other five (the Bath windows with 9 days of history forecast 10⁴ reads an hour).
    var spec = self
    var notes: [String] = []
    let days = Double(data.end - data.firstBin) / 86400
    var rowDays = days - (recentActivity ? 7 : 0)
    // A week of history but not two: the recent-activity terms would use up the first 7 days and leave
    // too few rows to show the week, so the weekly cycle goes instead, and Saturday is forecast from
    // Friday's level (Bath's counts, 9–13 days: the day's total off by −19% on a Saturday and +21% on
    // a Monday). The weekly cycle is kept and the recent-activity terms left out.
    if recentActivity && weeklyHarmonics > 0 && rowDays < 7 && days >= 7 && (data.binning.nominalSeconds ?? 30 * 86400) < 7 * 86400 {
      spec.recentActivity = false
      rowDays = days
      notes.append(String(format: "recent-activity terms left out: they use up the first 7 of %.1f days of history, leaving too few rows to show the weekly cycle, which is kept", days))
    }
    if weeklyHarmonics > 0 && rowDays < 7 {
      spec.weeklyHarmonics = 0
      notes.append(String(format: "weekly harmonics left out: %.1f days of training rows (after the 7 days the recent-activity terms need) cannot show a week", max(0, rowDays)))
    }
    if rowDays < 1 && (dailyHarmonics > 0 || unitTimeOfDayBands > 1) {
      spec.dailyHarmonics = 0; spec.unitTimeOfDayBands = 0
      notes.append("daily terms left out: under a day of training rows")
    }
    // Bins of a day or longer have no time of day: the daily harmonics would be constant columns (a
    // copy of the intercept, and zeros) and the unit × time-of-day term one band.
    let binSeconds = data.binning.nominalSeconds ?? 30 * 86400
    if binSeconds >= 86400 && (spec.dailyHarmonics > 0 || spec.unitTimeOfDayBands > 1) {
      spec.dailyHarmonics = 0; spec.unitTimeOfDayBands = 0
      notes.append("daily terms left out: bins of \(data.binning) have no time of day")
    }
    if binSeconds >= 7 * 86400 && spec.weeklyHarmonics > 0 {
      spec.weeklyHarmonics = 0
      notes.append("weekly harmonics left out: bins of \(data.binning) have no day of the week")
    }
    let prior = previous as? FittedPoissonHotspot
    if spec != self { return try spec.fitIdentified(data, clock: clock, notes: notes, previous: prior, standardErrors: standardErrors) }
    return try fitIdentified(data, clock: clock, notes: notes, previous: prior, standardErrors: standardErrors)
  }

  func fitIdentified(_ data: CountTable, clock: LocalClock, notes initial: [String], previous: FittedPoissonHotspot? = nil,
                     standardErrors: Bool = true) throws -> FittedPoissonHotspot {
    if covariatesFile != nil { _ = try userCovariates() }  // a bad file is an error here, not silently zeros
    // The design cache travels with the fits: a fit on a longer history of the same table extends it.
    let cache = previous?.designCache ?? PoissonDesignCache()
    let (x, y, off) = design(data, clock: clock, reusing: cache)
    guard x.rows > 0 else { throw FitError.noData("no training rows (need more than 7 days of history for recent-activity terms)") }
    var notes = initial
    let totals = data.unitTotals
    let empty = data.units.indices.filter { totals[$0] == 0 }
    if !empty.isEmpty && ridge == 0 {
      throw FitError.collinear("\(empty.count) unit(s) have no target counts (e.g. \(data.units[empty[0]].id)): their effects are −∞ without a penalty; set ridge > 0")
    }
    if !empty.isEmpty { notes.append("\(empty.count) unit(s) had no target counts; the ridge keeps their effects finite") }
    if unitTimeOfDayBands > 1 && bands(units: data.units.count) == 0 && data.units.count > 1 {
      notes.append("no unit × time-of-day term: \(data.units.count) units × \(unitTimeOfDayBands) bands is over \(Self.maxInteractionLevels) levels; every unit keeps one share of the forecast in every hour")
    }
    var glm = LogLinearGLM(family: family, ridge: ridge, maxIterations: maxIterations, tolerance: tolerance)
    glm.standardErrors = standardErrors
    let start = previous.flatMap { p in
      p.specification == self && p.columns == columnNames(units: data.units) ? (coefficients: p.coefficients, alpha: p.alpha) : nil
    }
    var r = try glm.fit(design: x, y, offset: off, start: start)
    if 2 * x.rows <= y.observations {
      r.diagnostics.notes.append("\(y.observations) cell-bins fitted as \(x.rows) distinct rows (same unit, covariates and offset summed)")
    }
    r.diagnostics.notes += notes
    var fitted = FittedPoissonHotspot(
      specification: self, units: data.units.map(\.id), columns: columnNames(units: data.units), coefficients: r.coefficients,
      standardErrors: r.standardErrors, alpha: r.alpha, diagnostics: r.diagnostics)
    fitted.designCache = cache
    return fitted
  }

  /// Fits a given design (for checks against other tools): y ~ X with optional offset.
  public func fitDesign(_ x: Matrix, counts: [Double], offset: [Double]? = nil) throws -> LogLinearGLM.Result {
    try LogLinearGLM(family: family, ridge: ridge, maxIterations: maxIterations, tolerance: tolerance).fit(x, counts, offset: offset)
  }
}

/// A fitted Poisson/NB hotspot model: coefficients with standard errors, diagnostics; no training data.
public struct FittedPoissonHotspot: FittedHotspotModel, Codable {
  public var kind: String { PoissonHotspotModel.kind.rawValue }
  public static var legacyBodyKeys: [String] { ["poisson"] }
  public let specification: PoissonHotspotModel
  public let units: [String]
  public let columns: [String]
  public let coefficients: [Double]
  public let standardErrors: [Double]
  public let alpha: Double
  public let fitDiagnostics: FitDiagnostics
  public var diagnostics: FitDiagnostics? { fitDiagnostics }
  /// The design this fit was made on, for a fit on a longer history of the same table (not saved).
  var designCache: PoissonDesignCache? = nil
  enum CodingKeys: String, CodingKey { case specification, units, columns, coefficients, standardErrors, alpha, fitDiagnostics }

  init(specification: PoissonHotspotModel, units: [String], columns: [String], coefficients: [Double],
       standardErrors: [Double], alpha: Double, diagnostics: FitDiagnostics) {
    self.specification = specification; self.units = units; self.columns = columns; self.coefficients = coefficients
    self.standardErrors = standardErrors; self.alpha = alpha; self.fitDiagnostics = diagnostics
  }

  public func forecast(history h: CountTable, bins: Int, clock: LocalClock) -> HotspotForecast {
    let spec = specification
    let starts = futureBins(after: h, count: bins)
    let index = Dictionary(uniqueKeysWithValues: units.enumerated().map { ($1, $0) })
    let nbs = spec.neighbours(h.units)
    let rec = spec.recentActivity ? PoissonHotspotModel.recent(h, before: h.end, neighbours: nbs) : nil
    let nu = units.count
    // The unit × band coefficients, if the model was fitted with them (found by name: older model
    // files have none), and where the dense coefficients start.
    let nb = columns.contains { $0.hasPrefix("unit×band:") } ? spec.bands(units: nu) : 0
    let denseStart = nu + (nb > 0 ? nu * nb - 1 : 0)
    var fallback: [String] = []
    var e = [Double](repeating: 0, count: h.units.count * bins)
    // Exposure for the future: the unit's mean traffic in the same seasonal slot over the history.
    let user = try? spec.userCovariates()
    var expo: [[Double]]? = nil
    if spec.exposureOffset, let ex = h.exposure {
      let p = max(1, h.binning.seasonalPeriod)
      var s = [[Double]](repeating: [Double](repeating: 0, count: p), count: h.units.count)
      var n = [Double](repeating: 0, count: p)
      let hs = h.binStarts
      for b in 0..<h.binCount {
        let k = slot(hs[b], h.binning, clock); n[k] += 1
        for u in 0..<h.units.count { s[u][k] += ex[u * h.binCount + b] }
      }
      expo = s.map { row in zip(row, n).map { $1 > 0 ? $0 / $1 : 0 } }
    }
    for (u, unit) in h.units.enumerated() {
      let k = index[unit.id]
      if k == nil { fallback.append(unit.id) }
      for b in 0..<bins {
        var eta = coefficients[0]
        if let k, k > 0 { eta += coefficients[k] }
        if let k, nb > 0 {
          let level = k * nb + clock.hourOfDay(starts[b]) * nb / 24
          if level > 0 { eta += coefficients[nu + level - 1] }
        }
        var j = denseStart
        for s in spec.seasonalRow(starts[b], clock) { eta += coefficients[j] * s; j += 1 }
        if let rec { for v in rec[u] { eta += coefficients[j] * v; j += 1 } }
        if let user {
          let vals = user.values[unit.id]?[starts[b]] ?? Array(repeating: 0, count: user.names.count)
          for v in vals where j < coefficients.count { eta += coefficients[j] * v; j += 1 }
        }
        if let expo {
          let x = expo[u][slot(starts[b], h.binning, clock)]
          eta = x > 0 ? eta + log(x) : -.infinity
        }
        // At most e^700 (finite): a linear predictor beyond it comes from a damaged file or a wild
        // extrapolation, and is flagged by the backtest's extrapolation note, not turned into infinity.
        e[u * bins + b] = exp(min(eta, 700))
      }
    }
    return HotspotForecast(model: kind, units: h.units, binStarts: starts, expected: e, alpha: alpha, fallbackUnits: fallback)
  }
}

/// Each unit's counts in the 24 hours and the 7 days before each of a list of origins (bins that start
/// in [origin − window, origin)), unit-major, summed from the latest bin back; and the mean of its
/// neighbours' 7-day counts.
struct RecentSums {
  let origins: Int
  var day: [Double]
  var week: [Double]
  var neighbourMean: [Double]

  init(_ h: CountTable, origins: [Int64], neighbours: [[Int]]) {
    let starts = h.binStarts, nu = h.units.count, no = origins.count
    self.origins = no
    day = [Double](repeating: 0, count: nu * no); week = day; neighbourMean = []
    // The last bin before each origin, found once.
    var last = [Int](repeating: -1, count: no)
    var b = -1
    for (k, o) in origins.enumerated() {
      if k > 0 && o < origins[k - 1] { b = -1 }
      while b + 1 < h.binCount && starts[b + 1] < o { b += 1 }
      last[k] = b
    }
    h.counts.withUnsafeBufferPointer { C in
      for u in 0..<nu {
        let row = u * h.binCount
        for (k, o) in origins.enumerated() {
          var b = last[k], c24 = 0.0, c7 = 0.0
          while b >= 0 && starts[b] >= o - 7 * 86400 {
            c7 += C[row + b]
            if starts[b] >= o - 86400 { c24 += C[row + b] }
            b -= 1
          }
          day[u * no + k] = c24; week[u * no + k] = c7
        }
      }
    }
    // Neighbours' sums scattered from the unit-days that saw anything (most see nothing on a sparse
    // grid), not gathered over every unit, day and neighbour.
    var whoseNeighbour = [[Int]](repeating: [], count: nu)
    for u in 0..<nu { for v in neighbours[u] { whoseNeighbour[v].append(u) } }
    var sum = [Double](repeating: 0, count: nu * no)
    for v in 0..<nu {
      for k in 0..<no where week[v * no + k] != 0 {
        let x = week[v * no + k]
        for u in whoseNeighbour[v] { sum[u * no + k] += x }
      }
    }
    for u in 0..<nu {
      let c = Double(max(1, neighbours[u].count))
      for k in 0..<no { sum[u * no + k] /= c }
    }
    neighbourMean = sum
  }

  /// log1p of the unit's last 24 h and 7 days, and of its neighbours' mean over 7 days.
  func covariates(unit u: Int, origin k: Int) -> (Double, Double, Double) {
    (log1p(day[u * origins + k]), log1p(week[u * origins + k]), log1p(neighbourMean[u * origins + k]))
  }
}

/// The collapsed design of one history of a count table, kept so that a fit on a longer history of the
/// same table (the next window of a backtest, the next of the held-out fits training makes) adds only the
/// rows of its new bins. It is used only when the earlier bins hold the same counts (and exposure): each
/// unit's counts over them are fingerprinted. A reference type: the fits hand it on, each extending it.
public final class PoissonDesignCache: @unchecked Sendable {
  struct Key: Equatable {
    var specification: PoissonHotspotModel
    var units: [String]
    var binning: Binning
    var firstBin: Int64
    var zone: String
  }
  struct Built {
    var key: Key
    var builder: CollapsedDesignBuilder
    var bins: Int
    /// Per unit, a hash of its counts (and exposure) in bins 0..<bins.
    var fingerprints: [UInt64]
  }
  private var built: Built?
  private let lock = NSLock()
  /// How many designs were extended from this one rather than built afresh.
  public private(set) var extensions = 0
  public init() {}

  /// The kept design if it was built for a prefix of `data` under `key` (moved out: the caller extends
  /// it and hands it back with `keep`), else nil. `fingerprints` gets each unit's fingerprint of the
  /// reused bins, to be continued.
  func take(key: Key, data: CountTable, exposure: Bool, fingerprints: inout [UInt64]) -> Built? {
    lock.lock(); defer { lock.unlock() }
    guard let b = built, b.key == key, b.bins <= data.binCount else { return nil }
    let f = Self.fingerprints(data, bins: 0..<b.bins, exposure: exposure, continuing: nil)
    guard f == b.fingerprints else { return nil }
    built = nil
    extensions += 1
    fingerprints = f
    return b
  }

  /// Keeps `builder`, now holding every bin of `data`.
  func keep(key: Key, builder: CollapsedDesignBuilder, data: CountTable, exposure: Bool, fingerprints f: [UInt64], from: Int) {
    let all = Self.fingerprints(data, bins: from..<data.binCount, exposure: exposure, continuing: from > 0 ? f : nil)
    lock.lock(); defer { lock.unlock() }
    built = Built(key: key, builder: builder, bins: data.binCount, fingerprints: all)
  }

  /// Each unit's hash of its counts (and exposure) over `bins`, continuing `continuing` (the hashes of
  /// the bins before) when given.
  static func fingerprints(_ data: CountTable, bins: Range<Int>, exposure: Bool, continuing: [UInt64]?) -> [UInt64] {
    let n = data.binCount
    return data.counts.withUnsafeBufferPointer { C in
      (0..<data.units.count).map { u in
        var h = continuing?[u] ?? 0x243F_6A88_85A3_08D3
        let e = exposure ? data.exposure : nil
        for b in bins {
          h = CollapsedDesignBuilder.mix(h, C[u * n + b].bitPattern)
          if let e { h = CollapsedDesignBuilder.mix(h, e[u * n + b].bitPattern) }
        }
        return h
      }
    }
  }
}
