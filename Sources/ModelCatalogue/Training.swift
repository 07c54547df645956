import Foundation
import Hotspots
import Linkage
import Modelling
import Reads
import Routes
import Statistics
import Yams

/// A model specification file (`Models/*.yaml`): what `anpr train --spec` reads.
/// ```yaml
/// kind: poisson-hotspot        # required: a kind in ModelRegistry.standard
/// name: poisson-glm            # optional display name (default: kind)
/// bin: 1h                      # hotspot models: 15m … 1d, or month
/// params:                      # the model's hyper-parameters; unknown keys are refused
///   ridge: 1.0
/// ```
public struct SpecFile: Sendable {
  public var kind: ModelKind { registration.kind }
  public var name: String
  public var bin: Binning
  /// The `params` mapping as JSON, decoded by the model's strict `decodeParameters`.
  public var params: Data
  public var path: String
  public var registration: ModelRegistration

  public static let topLevelKeys = ["kind", "name", "description", "bin", "params"]

  public static func load(_ path: String, registry: ModelRegistry = .standard) throws -> SpecFile {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw SpecError.invalid("\(path): cannot read the spec file") }
    let node: Any?
    do { node = try Yams.load(yaml: text) } catch { throw SpecError.invalid("\(path): not valid YAML (\(error))") }
    guard let dict = node as? [String: Any] else { throw SpecError.invalid("\(path): expected a mapping with 'kind' and 'params'") }
    let unknown = dict.keys.filter { !topLevelKeys.contains($0) }.sorted()
    if !unknown.isEmpty { throw SpecError.unknownKeys(unknown, allowed: topLevelKeys, kind: "\(path)") }
    let known = registry.kinds.map(\.rawValue).joined(separator: ", ")
    guard let kindText = dict["kind"] as? String else { throw SpecError.invalid("\(path): 'kind' is required (one of \(known))") }
    let registration: ModelRegistration
    do { registration = try registry.registration(ModelKind(kindText)) } catch { throw SpecError.invalid("\(path): \(error)") }
    let params = dict["params"] ?? [String: Any]()
    guard JSONSerialization.isValidJSONObject(params) else { throw SpecError.invalid("\(path): 'params' must be a mapping") }
    let bin = try (dict["bin"] as? String).map(Binning.parse) ?? .hourly
    let data = try JSONSerialization.data(withJSONObject: params, options: [.sortedKeys])
    do { _ = try registration.spec(parameters: data) } catch { throw SpecError.invalid("\(path): \(error)") }  // errors name the file
    return SpecFile(name: dict["name"] as? String ?? kindText, bin: bin, params: data, path: path,
                    registration: registration)
  }

  public init(name: String, bin: Binning, params: Data, path: String, registration: ModelRegistration) {
    self.name = name; self.bin = bin; self.params = params; self.path = path; self.registration = registration
  }
  /// The spec with whole-day bins in `clock`'s days (`Binning.localised`): what every entry point that
  /// counts with a clock uses, so a model's days are the analyst's.
  public func localised(_ clock: LocalClock) -> SpecFile {
    var s = self
    s.bin = bin.localised(clock)
    return s
  }


  /// A spec of a registered kind with `params` (default: every parameter at its default), made in code.
  public init(_ registration: ModelRegistration, name: String? = nil, bin: Binning = .hourly, params: Data = Data("{}".utf8)) throws {
    _ = try registration.spec(parameters: params)
    self.init(name: name ?? registration.kind.rawValue, bin: bin, params: params,
              path: "(\(registration.kind) spec)", registration: registration)
  }

  public var family: ModelFamily { registration.family }
  public var isRoute: Bool { family == .route }
  public var isNextAppearance: Bool { family == .nextAppearance }
  public var isHotspot: Bool { family == .hotspot }
  /// The spec its `params` describe.
  public func spec() throws -> any ModelSpec { try registration.spec(parameters: params) }
  public func hotspotModel() throws -> any HotspotModel { try cast(spec(), as: (any HotspotModel).self) }
  public func routeModel() throws -> MarkovRouteModel { try cast(spec(), as: MarkovRouteModel.self) }
  public func nextAppearanceModel() throws -> NextAppearanceModel { try cast(spec(), as: NextAppearanceModel.self) }
  func cast<T>(_ s: any ModelSpec, as: T.Type) throws -> T {
    guard let t = s as? T else { throw SpecError.invalid("\(path): \(kind) is a \(family.rawValue) model") }
    return t
  }
}

/// A hotspot model read from a file: its name, the bins and target it was trained for, the fitted model.
public struct SavedHotspotModel: Sendable {
  public var name: String
  public var binning: Binning
  public var target: Target
  public var fitted: any FittedHotspotModel
  /// The dispersion of its forecast errors learned at training (`HotspotContext.predictiveAlpha`).
  public var predictiveAlpha: Double? = nil
  /// The shared window factor's dispersion learned at training (`HotspotContext.predictiveWindowAlpha`).
  public var predictiveWindowAlpha: Double? = nil
  /// For a model trained on point events: its grid (`HotspotContext.eventGrid`).
  public var eventGrid: EventGrid? = nil
}

/// A next-appearance model read from a file: the sites its entry sites index, and the fitted model.
public struct SavedNextAppearanceModel: Sendable {
  public var name: String
  public var sites: [String]
  public var fitted: FittedNextAppearance
}

/// A route model read from a file: the sites its indices refer to, and the fitted model.
public struct SavedRouteModel: Sendable {
  public var name: String
  public var sites: [String]
  public var route: FittedMarkovRoute
}

/// Train / load / forecast: the library calls behind `anpr train` and `anpr forecast`. Each family
/// builds its statistic here (the same builders the backtests use); fitting and saving are one generic
/// path for every registered model.
public enum Training {
  /// What a spec learns from in a store: its family's statistic of the reads before the cut, the
  /// context its model file keeps, the training span and a fingerprint of the data.
  public struct TrainingData {
    public var statistic: Any
    public var context: any ModelContext
    public var start: Int64, end: Int64
    public var fingerprint: String
    /// Hotspot counts: the recording gaps found in them, already filled in `statistic`.
    public var filledGaps: RecordingGaps? = nil
  }

  /// The statistic `spec` learns from: counts of `target` per site and bin (hotspot), transition counts
  /// (route), each vehicle's visits (next appearance), or the store itself (linkage, co-travel), from
  /// the reads before `until` (default: all).
  /// - Throws: for a target the family cannot honour (refused, never ignored), an empty store, and
  ///   `until` before the end for families that learn from the whole store.
  public static func trainingData(spec: SpecFile, store: ReadStore, target: Target, clock: LocalClock,
                                  until: Int64? = nil) throws -> TrainingData {
    let spec = spec.localised(clock)
    guard let start = store.header.timeStart, let end = store.header.timeEnd else { throw FitError.noData("the store has no reads") }
    let stop = min(until ?? (end + 1), end + 1)
    if spec.family != .hotspot {
      guard case .allReads = target else {
        let hint = spec.isRoute ? "; for a vehicle or group's own moves use 'anpr predict-route --vehicle/--group', which personalises with them"
          : spec.isNextAppearance ? "; ask for a vehicle or group in 'anpr next-appearance'" : ""
        throw SpecError.invalid("\(spec.name) is a \(spec.family.rawValue) model: it learns from every vehicle's reads, so --target \(target) does not apply\(hint)")
      }
    }
    switch spec.family {
    case .hotspot:
      try target.requireMatches(in: store)
      let table = CountTable.build(store: store, target: target, binning: spec.bin, from: start, to: stop)
      // Recording gaps are filled from the unit's other weeks (`RecordingGaps`), not learned as traffic.
      let gaps = RecordingGaps.find(in: table)
      return TrainingData(statistic: gaps.count > 0 ? gaps.filled(table) : table, context: HotspotContext(binning: spec.bin, target: target),
                          start: table.firstBin, end: table.end, fingerprint: table.fingerprint, filledGaps: gaps)
    case .route:
      let counts = TransitionCounts.build(store: store, order: try spec.routeModel().order, to: stop, clock: clock)
      return TrainingData(statistic: RouteStatistic(counts: counts, locations: store.siteLocations), context: SiteContext(sites: store.sites),
                          start: start, end: stop, fingerprint: fingerprint(counts))
    case .nextAppearance:
      let visits = NextAppearanceModel.visits(store: store, until: stop, clock: clock)
      var f = Fingerprint()
      for v in visits.keys.sorted() { for x in visits[v]! { f.add(Int64(v)); f.add(x.day); f.add(Int64(x.hourOfWeek)); f.add(Int64(x.entrySite)) } }
      return TrainingData(statistic: VisitHistory(visits: visits, siteCount: store.sites.count), context: SiteContext(sites: store.sites),
                          start: start, end: stop, fingerprint: f.hex)
    case .linkage, .coTravel:
      guard stop > end else {
        throw SpecError.invalid("\(spec.name) learns from the whole store: a cut before its last read is not applied to \(spec.family.rawValue) models (make a store of the reads to use)")
      }
      return TrainingData(statistic: store, context: NoContext(), start: start, end: stop, fingerprint: store.fingerprint)
    }
  }

  /// Fits the spec on `data` in memory (no file): the model `train` would save.
  public static func fit(spec: SpecFile, data: TrainingData, clock: LocalClock) throws -> any FittedModel {
    if spec.isHotspot, let table = data.statistic as? CountTable { return try fitHotspot(try spec.hotspotModel(), table: table, clock: clock).fitted }
    func open<S: ModelSpec>(_ s: S) throws -> any FittedModel {
      guard let st = data.statistic as? S.Statistic else { throw SpecError.invalid("\(S.kind) learns from \(S.Statistic.self), not \(type(of: data.statistic))") }
      return try s.fit(st, clock: clock)
    }
    return try open(spec.spec())
  }

  /// Fits the spec on the store's reads before `until` (default: all) and writes the model file.
  /// - Returns: the header written and a one-line summary.
  @discardableResult
  public static func train(spec: SpecFile, store: ReadStore, target: Target, clock: LocalClock, until: Int64? = nil,
                           to path: String) throws -> (ModelFileHeader, String) {
    let spec = spec.localised(clock)
    let data = try trainingData(spec: spec, store: store, target: target, clock: clock, until: until)
    switch spec.family {
    case .hotspot:
      return try train(spec: spec, table: data.statistic as! CountTable, target: target, clock: clock, to: path, fingerprint: data.fingerprint,
                       filledGaps: data.filledGaps)
    case .route:
      let r = data.statistic as! RouteStatistic
      return try train(spec: spec, counts: r.counts, sites: store.sites, locations: r.locations, start: data.start, stop: data.end,
                       clock: clock, to: path)
    case .nextAppearance, .linkage, .coTravel:
      let header = makeHeader(spec, start: data.start, end: data.end, fingerprint: data.fingerprint, clock: clock)
      // Linkage and co-travel results name cars: on a store of raw plates, by their plates (file kept private).
      let holdsPlates = (spec.family == .linkage || spec.family == .coTravel) && !store.isPseudonymised
      let fitted = try fitAndSave(try spec.spec(), statistic: data.statistic, context: data.context, name: spec.name, header: header,
                                  clock: clock, to: path, permissions: holdsPlates ? 0o600 : 0o644)
      if let na = fitted as? FittedNextAppearance, let visits = (data.statistic as? VisitHistory)?.visits {
        let repeats = visits.values.filter { Set($0.map(\.day)).count >= 2 }.count
        return (header, String(format: "%@: %d repeat vehicles; learned: hours pooled across weekdays %.0f, spread to neighbouring hours %.2f, renewal weight %.2f",
                               spec.name, repeats, na.hourPooling ?? 0, na.hourSmoothing ?? 0, na.renewalWeight ?? 1))
      }
      return (header, "\(spec.name): " + fitted.summary().facts.map { "\($0.name) \($0.value)" }.joined(separator: ", "))
    }
  }

  static func fingerprint(_ counts: TransitionCounts) -> String {
    var f = Fingerprint()
    for k in counts.next.keys.sorted() { f.add(k); for (n, c) in counts.next[k]!.sorted(by: { $0.key < $1.key }) { f.add(Int64(n)); f.add(c) } }
    return f.hex
  }

  /// Fits `spec` on `statistic` and writes the model file: the one path every family saves through.
  /// - Throws: when the statistic or context is not what the model learns from, and any fit error.
  static func fitAndSave<S: ModelSpec>(_ spec: S, statistic: Any, context: any ModelContext, name: String, header: ModelFileHeader,
                                       clock: LocalClock, to path: String, permissions: mode_t = 0o644) throws -> S.Fitted {
    guard let st = statistic as? S.Statistic, let ctx = context as? S.Context else {
      throw SpecError.invalid("\(S.kind) learns from \(S.Statistic.self), not \(type(of: statistic))")
    }
    let fitted = try spec.fit(st, clock: clock)
    try ModelFile.write(SavedModel(name: name, context: ctx, fitted: fitted), header: header, to: path, permissions: permissions)
    return fitted
  }

  /// The hotspot fit a model file holds: the dispersion of the model's forecast errors, learned from fits
  /// that hold out the last days (a day of sub-daily bins, else bins; `predictiveDispersion`), then the
  /// fit on the whole table, started where the last held-out fit ended (a few days shorter).
  static func fitHotspot<M: HotspotModel>(_ model: M, table: CountTable, clock: LocalClock) throws
    -> (fitted: M.Fitted, dispersion: (alpha: Double, windowAlpha: Double)?) {
    let day: Int
    if let w = table.binning.nominalSeconds { day = max(1, 86400 / w) } else { day = 1 }
    let d = model.predictiveDispersion(table, bins: day, clock: clock)
    return (try model.fit(table, clock: clock, startingFrom: d?.lastFit), d.map { ($0.alpha, $0.windowAlpha) })
  }

  static func makeHeader(_ spec: SpecFile, start: Int64, end: Int64, fingerprint: String, clock: LocalClock) -> ModelFileHeader {
    var header = ModelFileHeader(kind: spec.kind, trainingStart: start, trainingEnd: end, dataFingerprint: fingerprint)
    header.timeZone = clock.timeZone.identifier
    if spec.family == .hotspot {
      switch spec.bin {
      case .month: header.binAlignment = "calendar months (UTC)"
      case .localDays(let n, let zone): header.binAlignment = n == 1 ? "local days of \(zone) (midnight to midnight)" : "runs of \(n) local days of \(zone) from 1970-01-01"
      case .seconds: header.binAlignment = "multiples of \(spec.bin) from 1970-01-01T00:00Z"
      }
    }
    return header
  }

  /// Fits a route spec on transition counts of trips between `start` and `stop` and writes the model file.
  static func train(spec: SpecFile, counts: TransitionCounts, sites: [String], locations: [(latitude: Double, longitude: Double)],
                    start: Int64, stop: Int64, clock: LocalClock, to path: String) throws -> (ModelFileHeader, String) {
    let model = try spec.routeModel()
    let header = makeHeader(spec, start: start, end: stop, fingerprint: fingerprint(counts), clock: clock)
    _ = try fitAndSave(model, statistic: RouteStatistic(counts: counts, locations: locations), context: SiteContext(sites: sites),
                       name: spec.name, header: header, clock: clock, to: path)
    let row = counts.next[0] ?? [:]
    let moves = row.keys.sorted().reduce(0.0) { $0 + row[$1]! }
    return (header, "\(spec.name): \(Int(moves)) moves from \(sites.count) sites, order \(model.order)")
  }

  /// Fits a spec on statistics from `anpr stats` / `anpr merge`: a hotspot model on the counts of
  /// `target` (all reads or a keeper type), a route model on the transitions. The model is the one
  /// `train(spec:store:…)` fits on a store of the same reads (same file, byte for byte).
  /// - Throws: for families that learn from each vehicle's reads by date (next appearance, linkage,
  ///   co-travel) and for vehicle targets (statistics hold no per-vehicle counts).
  @discardableResult
  public static func train(spec: SpecFile, statistics stats: ReadStatistics, target: Target, clock: LocalClock,
                           to path: String) throws -> (ModelFileHeader, String) {
    let spec = spec.localised(clock)
    guard spec.isHotspot || spec.isRoute else {
      throw SpecError.invalid("\(spec.name) is a \(spec.family.rawValue) model: it learns from each vehicle's visits by date, which statistics do not keep; train it on a store")
    }
    guard let span = stats.span else { throw FitError.noData("the statistics hold no reads") }
    if spec.isRoute {
      guard case .allReads = target else {
        throw SpecError.invalid("\(spec.name) is a route model: it learns from every vehicle's trips, so --target \(target) does not apply")
      }
      // The moves' time bands were taken on the statistics' clock (counts are in UTC bins, any zone).
      guard clock.timeZone.identifier == stats.header.timeZone else {
        throw SpecError.invalid("the statistics' time bands are in \(stats.header.timeZone) time; train with --timezone \(stats.header.timeZone) (or make the statistics with --timezone \(clock.timeZone.identifier))")
      }
      let counts = try stats.transitionCounts(order: try spec.routeModel().order)
      return try train(spec: spec, counts: counts, sites: stats.header.sites.map(\.id),
                       locations: stats.header.sites.map { (latitude: $0.latitude, longitude: $0.longitude) },
                       start: span.first, stop: span.last + 1, clock: clock, to: path)
    }
    return try train(spec: spec, table: try stats.countTable(target: target, binning: spec.bin), target: target, clock: clock, to: path)
  }

  /// Fits a hotspot spec on a count table (from a store, or `counts.csv` computed elsewhere) and writes the model file.
  /// `fingerprint`: of the counts as read, and `filledGaps` the recording gaps found in them, when `table`
  /// has had its gaps filled already (else they are found and filled here).
  @discardableResult
  public static func train(spec: SpecFile, table: CountTable, target: Target, clock: LocalClock, to path: String,
                           fingerprint: String? = nil, filledGaps: RecordingGaps? = nil, eventGrid: EventGrid? = nil) throws -> (ModelFileHeader, String) {
    guard spec.isHotspot else { throw SpecError.invalid("\(spec.name) is a \(spec.family.rawValue) model: it does not learn from counts") }
    let spec = spec.localised(clock)
    guard table.binning == spec.bin else {
      throw SpecError.invalid("the counts are in bins of \(table.binning) but \(spec.name) wants \(spec.bin); pass --bin \(spec.bin) or change the spec's bin")
    }
    var header = makeHeader(spec, start: table.firstBin, end: table.end, fingerprint: fingerprint ?? table.fingerprint, clock: clock)
    header.trainingStart = table.firstBin
    // Recording gaps (a time of day not recorded, a camera down for a day) are filled from the unit's
    // other weeks, not learned as traffic.
    let gaps = filledGaps ?? RecordingGaps.find(in: table)
    let table = filledGaps == nil && gaps.count > 0 ? gaps.filled(table) : table
    func fitAndSave<M: HotspotModel>(_ model: M) throws -> (fitted: M.Fitted, dispersion: (alpha: Double, windowAlpha: Double)?) {
      let (fitted, dispersion) = try fitHotspot(model, table: table, clock: clock)
      let context = HotspotContext(binning: spec.bin, target: target, predictiveAlpha: dispersion?.alpha,
                                   predictiveWindowAlpha: dispersion?.windowAlpha, eventGrid: eventGrid)
      try ModelFile.write(SavedModel(name: spec.name, context: context, fitted: fitted), header: header, to: path)
      return (fitted, dispersion)
    }
    let (fitted, dispersion) = try fitAndSave(try spec.hotspotModel())
    let alpha = dispersion?.alpha
    var summary = "\(spec.name): \(table.units.count) \(eventGrid == nil ? "sites" : "grid cells") × \(table.binCount) bins of \(spec.bin), \(Int(table.counts.reduce(0, +))) \(eventGrid == nil ? "target counts (\(target))" : "events")"
    if gaps.count > 0 { summary += "\n  note: \(gaps.count) recording-gap cells filled from the same unit's other weeks: " + gaps.findings.prefix(5).joined(separator: "; ") }
    // What the dispersion was learned on: a day of sub-daily bins, else one bin.
    let heldOut: (one: String, several: String)
    if let w = spec.bin.nominalSeconds, w < 86400 { heldOut = ("a day", "days") } else { heldOut = ("a bin of \(spec.bin)", "bins") }
    if let alpha { summary += alpha > 0 ? String(format: "; forecast errors overdispersed (NB2 α %.3g, learned on %@ held out)", alpha, heldOut.one)
                                        : "; forecast errors Poisson (no overdispersion found on \(heldOut.one) held out)" }
    if let w = dispersion?.windowAlpha, w > 0 {
      summary += String(format: "; %@ totals vary beyond that (shared factor variance %.3g, from up to 7 %@ held out)", heldOut.several == "days" ? "daily" : "per-bin", w, heldOut.several)
    }
    if let d = fitted.diagnostics {
      summary += "; \(d.converged ? "converged" : "NOT converged") in \(d.iterations) iterations"
      if d.nullDeviance > 0 { summary += String(format: ", deviance %.1f (null %.1f)", d.deviance, d.nullDeviance) }
      for n in d.notes { summary += "\n  note: \(n)" }
    }
    if let eventGrid { summary += "\n  grid: \(eventGrid.description) (kept in the model: later events are counted into the same cells)" }
    return (header, summary)
  }

  /// Fits a route spec (order 1) on transitions computed elsewhere (`transitions.csv`) and writes the model file.
  @discardableResult
  public static func train(spec: SpecFile, transitions rows: [TransitionCounts.Row], units: [SpatialUnit], clock: LocalClock,
                           to path: String) throws -> (ModelFileHeader, String) {
    guard spec.isRoute else { throw SpecError.invalid("\(spec.name) is a \(spec.family.rawValue) model: it does not learn from transitions") }
    let model = try spec.routeModel()
    guard model.order == 1 else { throw SpecError.invalid("transitions.csv holds first-order moves only: use a spec with order: 1") }
    let counts = TransitionCounts(rows: rows, siteCount: units.count)
    var f = Fingerprint()
    for r in rows { f.add(Int64(r.from)); f.add(Int64(r.to)); f.add(Int64(r.hour)); f.add(r.count) }
    let header = makeHeader(spec, start: 0, end: 0, fingerprint: f.hex, clock: clock)
    _ = try fitAndSave(model, statistic: RouteStatistic(counts: counts, locations: units.map { (latitude: $0.latitude, longitude: $0.longitude) }),
                       context: SiteContext(sites: units.map(\.id)), name: spec.name, header: header, clock: clock, to: path)
    return (header, "\(spec.name): \(Int(rows.reduce(0) { $0 + $1.count })) moves between \(units.count) sites from transitions (hours of day, no dates)")
  }

  /// Loads any hotspot model file.
  public static func loadHotspot(_ path: String, registry: ModelRegistry = .standard) throws -> (ModelFileHeader, SavedHotspotModel) {
    let m = try registry.load(path, family: .hotspot)
    guard let c = m.context as? HotspotContext, let f = m.fitted as? any FittedHotspotModel else {
      throw ModelFileError.corrupt(path: path, reason: "not a hotspot model body")
    }
    return (m.header, SavedHotspotModel(name: m.name, binning: c.binning, target: c.target, fitted: f, predictiveAlpha: c.predictiveAlpha,
                                          predictiveWindowAlpha: c.predictiveWindowAlpha, eventGrid: c.eventGrid))
  }

  public static func loadNextAppearance(_ path: String, registry: ModelRegistry = .standard) throws -> (ModelFileHeader, SavedNextAppearanceModel) {
    let m = try registry.load(path, family: .nextAppearance)
    guard let c = m.context as? SiteContext, let f = m.fitted as? FittedNextAppearance else {
      throw ModelFileError.corrupt(path: path, reason: "not a next-appearance model body")
    }
    return (m.header, SavedNextAppearanceModel(name: m.name, sites: c.sites, fitted: f))
  }

  /// The next-appearance model to forecast from `origin`: the one in `path` (refused when it was trained
  /// on another camera registry or on reads after the origin — it would have seen the period it
  /// forecasts), else one fitted on every vehicle's visits before the origin; and a line saying which.
  /// `travel`: the store's usual travel times before the origin, when the caller has them (one pass over the reads).
  public static func nextAppearanceModel(path: String?, store: ReadStore, origin: Int64, clock: LocalClock,
                                         travel: [Int: Double]? = nil) throws -> (FittedNextAppearance, String) {
    guard let path else {
      let all = NextAppearanceModel.visits(store: store, until: origin, clock: clock, travel: travel)
      return (NextAppearanceModel().fit(visits: all, siteCount: store.sites.count), "model fitted on every vehicle's visits before the origin")
    }
    let (header, saved) = try loadNextAppearance(path)
    guard saved.sites == store.sites else { throw SpecError.invalid("\(path) was trained on a different camera registry; retrain it on this store") }
    guard header.trainingEnd <= origin else {
      throw SpecError.invalid("\(path) was trained on reads up to \(Timestamp.iso8601(header.trainingEnd)), after the origin \(Timestamp.iso8601(origin)): it has seen the period it would forecast; retrain with --until or choose a later --at")
    }
    return (saved.fitted, "model \(path) (\(saved.name), trained on reads before \(Timestamp.iso8601(header.trainingEnd)))")
  }

  public static func loadRoute(_ path: String, registry: ModelRegistry = .standard) throws -> (ModelFileHeader, SavedRouteModel) {
    let m = try registry.load(path, family: .route)
    guard let c = m.context as? SiteContext, let f = m.fitted as? FittedMarkovRoute else {
      throw ModelFileError.corrupt(path: path, reason: "not a route model body")
    }
    return (m.header, SavedRouteModel(name: m.name, sites: c.sites, route: f))
  }

  /// Forecasts `days` after the store's last full bin (or `asOf`) with a saved hotspot model.
  public static func forecast(model saved: SavedHotspotModel, store: ReadStore, clock: LocalClock, days: Int, asOf: Int64? = nil) throws -> HotspotForecast {
    guard let start = store.header.timeStart, let end = store.header.timeEnd else { throw FitError.noData("the store has no reads") }
    // Forecast from the first bin boundary at or after the cut (a partial last bin is not history).
    let cut = asOf ?? (end + 1)
    let origin = saved.binning.start(of: cut) == cut ? cut : saved.binning.next(saved.binning.start(of: cut))
    let history = CountTable.build(store: store, target: saved.target, binning: saved.binning, from: start, to: origin)
    return forecast(model: saved, history: history, clock: clock, days: days)
  }

  /// Forecasts `days` after the last bin of `history` (counts from a store or from `counts.csv`).
  public static func forecast(model saved: SavedHotspotModel, history: CountTable, clock: LocalClock, days: Int) -> HotspotForecast {
    let bins: Int, perDay: Int
    if let w = saved.binning.nominalSeconds { bins = days * 86400 / w; perDay = max(1, 86400 / w) }
    else { bins = max(1, days / 30); perDay = 1 }
    let gaps = RecordingGaps.find(in: history)
    var f = saved.fitted.forecast(history: gaps.count > 0 ? gaps.filled(history) : history, bins: bins, clock: clock)
    if f.alpha == 0, let a = saved.predictiveAlpha { f.alpha = a }
    f.windowAlpha = saved.predictiveWindowAlpha ?? 0
    f.windowBins = perDay  // learned at training over windows of a day (a bin for daily or longer bins)
    return f
  }
}
