import Foundation
import Hotspots
import Modelling
import Reads
import Routes
import Statistics
import Yams

/// A model specification file (`Models/*.yaml`): what `anpr train --spec` reads.
/// ```yaml
/// kind: poisson-hotspot        # required
/// name: poisson-glm            # optional display name (default: kind)
/// bin: 1h                      # hotspot models: 15m … 1d, or month
/// params:                      # the model's hyper-parameters; unknown keys are refused
///   ridge: 1.0
/// ```
public struct SpecFile: Sendable {
  public var kind: String
  public var name: String
  public var bin: Binning
  /// The `params` mapping as JSON, decoded by the model's strict `init(from:)`.
  public var params: Data
  public var path: String

  public static let topLevelKeys = ["kind", "name", "description", "bin", "params"]
  public static let routeKinds = [MarkovRouteModel.kind]
  public static let nextAppearanceKinds = [NextAppearanceModel.kind]

  public static func load(_ path: String) throws -> SpecFile {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw SpecError.invalid("\(path): cannot read the spec file") }
    let node: Any?
    do { node = try Yams.load(yaml: text) } catch { throw SpecError.invalid("\(path): not valid YAML (\(error))") }
    guard let dict = node as? [String: Any] else { throw SpecError.invalid("\(path): expected a mapping with 'kind' and 'params'") }
    let unknown = dict.keys.filter { !topLevelKeys.contains($0) }.sorted()
    if !unknown.isEmpty { throw SpecError.unknownKeys(unknown, allowed: topLevelKeys, kind: "\(path)") }
    let known = HotspotCatalogue.kinds + routeKinds + nextAppearanceKinds
    guard let kind = dict["kind"] as? String else { throw SpecError.invalid("\(path): 'kind' is required (one of \(known.joined(separator: ", ")))") }
    guard known.contains(kind) else {
      throw SpecError.invalid("\(path): unknown kind '\(kind)'; known: \(known.joined(separator: ", "))")
    }
    let params = dict["params"] ?? [String: Any]()
    guard JSONSerialization.isValidJSONObject(params) else { throw SpecError.invalid("\(path): 'params' must be a mapping") }
    let bin = try (dict["bin"] as? String).map(Binning.parse) ?? .hourly
    let data = try JSONSerialization.data(withJSONObject: params, options: [.sortedKeys])
    do {  // validate now, so errors name the file
      if kind == MarkovRouteModel.kind { _ = try JSONDecoder().decode(MarkovRouteModel.self, from: data) }
      else if kind == NextAppearanceModel.kind { _ = try JSONDecoder().decode(NextAppearanceModel.self, from: data) }
      else { _ = try HotspotCatalogue.model(kind: kind, json: data) }
    } catch { throw SpecError.invalid("\(path): \(error)") }
    return SpecFile(kind: kind, name: dict["name"] as? String ?? kind, bin: bin, params: data, path: path)
  }

  public var isRoute: Bool { Self.routeKinds.contains(kind) }
  public var isNextAppearance: Bool { Self.nextAppearanceKinds.contains(kind) }
  /// A hotspot model (neither a route nor a next-appearance model).
  public var isHotspot: Bool { !isRoute && !isNextAppearance }
  public func nextAppearanceModel() throws -> NextAppearanceModel { try JSONDecoder().decode(NextAppearanceModel.self, from: params) }
  public func hotspotModel() throws -> any HotspotModel { try HotspotCatalogue.model(kind: kind, json: params) }
  public func routeModel() throws -> MarkovRouteModel { try JSONDecoder().decode(MarkovRouteModel.self, from: params) }
}

/// The body of a saved hotspot model: the spec's kind and name, the binning and target it was
/// trained for, and the fitted parameters of whichever family it is.
public struct SavedHotspotModel: Codable, Sendable {
  public var name: String
  public var binning: Binning
  public var target: Target
  public var poisson: FittedPoissonHotspot?
  public var selfExciting: FittedSelfExciting?
  public var historicalMean: HistoricalMeanModel.Fitted?
  public var kernel: KernelDensityModel.Fitted?
  public var lastWindow: LastWindowModel.Fitted?

  /// What is wrong with the body for a file of `kind` (nil when it can be used): exactly the kind's
  /// fitted body present, and that body valid.
  public func bodyProblem(kind: String) -> String? {
    if let p = binning.problem { return p }
    let bodies: [(String, (any ModelBodyCheck)?)] = [
      (PoissonHotspotModel.kind, poisson), (SelfExcitingModel.kind, selfExciting), (HistoricalMeanModel.kind, historicalMean),
      (KernelDensityModel.kind, kernel), (LastWindowModel.kind, lastWindow),
    ]
    let present = bodies.filter { $0.1 != nil }.map(\.0)
    // The prospective model saves a kernel body.
    let expected: String = kind == ProspectiveHotspotModel.kind ? KernelDensityModel.kind : kind
    guard present == [expected] || (present.isEmpty && expected == LastWindowModel.kind) else {
      return "body holds \(present.isEmpty ? "no fitted model" : present.joined(separator: ", ")) for a \(kind) file"
    }
    return bodies.first { $0.0 == expected }?.1?.bodyProblem()
  }

  public var fitted: any FittedHotspotModel {
    if let poisson { return poisson }
    if let selfExciting { return selfExciting }
    if let historicalMean { return historicalMean }
    if let kernel { return kernel }
    return lastWindow ?? LastWindowModel.Fitted()
  }
}

/// The body of a saved next-appearance model: the population parts and the learned shape, fitted on
/// the visits of every vehicle, and the sites (entry sites are indices into them).
public struct SavedNextAppearanceModel: Codable, Sendable {
  public var name: String
  public var sites: [String]
  public var fitted: FittedNextAppearance

  /// What is wrong with the body (nil when it can be used): array lengths that match the model's
  /// terms, probabilities finite, non-negative and summing to 1, shape weights in range.
  public func bodyProblem() -> String? {
    let f = fitted
    let checks: [(String, [Double], Int)] = [("fitted.populationProfile", f.populationProfile, 168),
                                           ("fitted.populationGaps", f.populationGaps, f.specification.maxGapDays + 1),
                                           ("fitted.populationEntries", f.populationEntries, sites.count)]
    for (name, xs, n) in checks {
      if xs.count != n { return "\(name) has \(xs.count) values where \(n) are needed" }
      if xs.contains(where: { !$0.isFinite || $0 < 0 }) { return "\(name) holds a value that is not a probability" }
      if abs(xs.reduce(0, +) - 1) > 1e-6 { return "\(name) does not sum to 1" }
    }
    for (name, v, range) in [("hourPooling", f.hourPooling, 0.0...1e6), ("hourSmoothing", f.hourSmoothing, 0.0...0.5), ("renewalWeight", f.renewalWeight, 0.0...1.0)] {
      if let v, !range.contains(v) { return "fitted.\(name) \(v) is outside \(range)" }
    }
    return nil
  }
}

public struct SavedRouteModel: Codable, Sendable {
  public var name: String
  public var sites: [String]
  public var route: FittedMarkovRoute

  /// What is wrong with the body (nil when it can be used): one location per site, unique sites,
  /// finite coordinates and speed, counts finite and non-negative, next sites within the registry.
  public func bodyProblem() -> String? {
    var seen = Set<String>()
    if let d = sites.first(where: { !seen.insert($0).inserted }) { return "sites: '\(d)' listed twice" }
    let n = sites.count
    if route.siteLatitude.count != n || route.siteLongitude.count != n || route.counts.siteCount != n {
      return "route: \(n) sites but \(route.siteLatitude.count) latitudes, \(route.siteLongitude.count) longitudes, counts for \(route.counts.siteCount)"
    }
    if let i = route.siteLatitude.indices.first(where: { !(abs(route.siteLatitude[$0]) <= 90) || !(abs(route.siteLongitude[$0]) <= 180) }) {
      return "route.siteLatitude/siteLongitude[\(i)] is not a WGS84 position"
    }
    if !(route.medianSpeed.isFinite && route.medianSpeed > 0) { return "route.medianSpeed = \(route.medianSpeed) must be > 0" }
    for (k, row) in route.counts.next {
      for (site, c) in row where !(c.isFinite && c >= 0) || site < endOfTrip || site >= n {
        return "route.counts.next[\(k)]: site \(site) with count \(c) (sites are 0…\(n - 1), or -1 for the end of a trip)"
      }
    }
    for (k, v) in route.counts.travel where v.count != 3 || !v.allSatisfy(\.isFinite) || v[0] < 0 {
      return "route.counts.travel[\(k)] = \(v) is not [n ≥ 0, Σ log s, Σ log² s]"
    }
    return nil
  }
}

/// Train / load / forecast: the library calls behind `anpr train` and `anpr forecast`.
public enum Training {
  /// Fits the spec on the store's reads before `until` (default: all) and writes the model file.
  /// - Returns: the header written and a one-line summary.
  @discardableResult
  public static func train(spec: SpecFile, store: ReadStore, target: Target, clock: LocalClock, until: Int64? = nil,
                           to path: String) throws -> (ModelFileHeader, String) {
    guard let start = store.header.timeStart, let end = store.header.timeEnd else { throw FitError.noData("the store has no reads") }
    let stop = min(until ?? (end + 1), end + 1)
    if spec.isNextAppearance {
      guard case .allReads = target else {
        throw SpecError.invalid("\(spec.name) learns from every vehicle's visits, so --target \(target) does not apply; ask for a vehicle or group in 'anpr next-appearance'")
      }
      let model = try spec.nextAppearanceModel()
      let visits = NextAppearanceModel.visits(store: store, until: stop, clock: clock)
      let fitted = model.fit(visits: visits, siteCount: store.sites.count)
      var f = Fingerprint()
      for v in visits.keys.sorted() { for x in visits[v]! { f.add(Int64(v)); f.add(x.day); f.add(Int64(x.hourOfWeek)); f.add(Int64(x.entrySite)) } }
      var header = ModelFileHeader(kind: NextAppearanceModel.kind, trainingStart: start, trainingEnd: stop, dataFingerprint: f.hex)
      header.timeZone = clock.timeZone.identifier
      try ModelFile.write(SavedNextAppearanceModel(name: spec.name, sites: store.sites, fitted: fitted), header: header, to: path)
      let repeats = visits.values.filter { Set($0.map(\.day)).count >= 2 }.count
      return (header, String(format: "%@: %d repeat vehicles; learned: hours pooled across weekdays %.0f, spread to neighbouring hours %.2f, renewal weight %.2f",
                             spec.name, repeats, fitted.hourPooling ?? 0, fitted.hourSmoothing ?? 0, fitted.renewalWeight ?? 1))
    }
    if spec.isRoute {
      // Refused, not ignored: a route model learns from every vehicle's trips.
      guard case .allReads = target else {
        throw SpecError.invalid("\(spec.name) is a route model: it learns from every vehicle's trips, so --target \(target) does not apply; for a vehicle or group's own moves use 'anpr predict-route --vehicle/--group', which personalises with them")
      }
      let model = try spec.routeModel()
      let counts = TransitionCounts.build(store: store, order: model.order, to: stop, clock: clock)
      return try train(spec: spec, counts: counts, sites: store.sites, locations: store.siteLocations, start: start, stop: stop, clock: clock, to: path)
    }
    try target.requireMatches(in: store)
    let table = CountTable.build(store: store, target: target, binning: spec.bin, from: start, to: stop)
    return try train(spec: spec, table: table, target: target, clock: clock, to: path)
  }

  /// Fits a route spec on transition counts of trips between `start` and `stop` and writes the model file.
  static func train(spec: SpecFile, counts: TransitionCounts, sites: [String], locations: [(latitude: Double, longitude: Double)],
                    start: Int64, stop: Int64, clock: LocalClock, to path: String) throws -> (ModelFileHeader, String) {
    let model = try spec.routeModel()
    let fitted = try model.fit(counts, sites: locations)
    var f = Fingerprint()
    for k in counts.next.keys.sorted() { f.add(k); for (n, c) in counts.next[k]!.sorted(by: { $0.key < $1.key }) { f.add(Int64(n)); f.add(c) } }
    var header = ModelFileHeader(kind: MarkovRouteModel.kind, trainingStart: start, trainingEnd: stop, dataFingerprint: f.hex)
    header.timeZone = clock.timeZone.identifier
    try ModelFile.write(SavedRouteModel(name: spec.name, sites: sites, route: fitted), header: header, to: path)
    return (header, "\(spec.name): \(Int(counts.next[0]?.values.reduce(0, +) ?? 0)) moves from \(sites.count) sites, order \(model.order)")
  }

  /// Fits a spec on statistics from `anpr stats` / `anpr merge`: a hotspot model on the counts of
  /// `target` (all reads or a keeper type), a route model on the transitions. The model is the one
  /// `train(spec:store:…)` fits on a store of the same reads (same file, byte for byte).
  /// - Throws: for next-appearance models (they learn from each vehicle's visits by date) and for
  ///   vehicle targets (statistics hold no per-vehicle counts).
  @discardableResult
  public static func train(spec: SpecFile, statistics stats: ReadStatistics, target: Target, clock: LocalClock,
                           to path: String) throws -> (ModelFileHeader, String) {
    guard !spec.isNextAppearance else {
      throw SpecError.invalid("\(spec.name) is a next-appearance model: it learns from each vehicle's visits by date, which statistics do not keep; train it on a store")
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
  @discardableResult
  public static func train(spec: SpecFile, table: CountTable, target: Target, clock: LocalClock, to path: String) throws -> (ModelFileHeader, String) {
    guard !spec.isRoute else { throw SpecError.invalid("\(spec.name) is a route model: it learns from trips or transitions, not counts") }
    guard !spec.isNextAppearance else { throw SpecError.invalid("\(spec.name) is a next-appearance model: it learns from a store's visits, not counts") }
    guard table.binning == spec.bin else {
      throw SpecError.invalid("the counts are in bins of \(table.binning) but \(spec.name) wants \(spec.bin); pass --bin \(spec.bin) or change the spec's bin")
    }
    let model = try spec.hotspotModel()
    let fitted = try model.fit(table, clock: clock)
    var body = SavedHotspotModel(name: spec.name, binning: spec.bin, target: target)
    switch fitted {
    case let f as FittedPoissonHotspot: body.poisson = f
    case let f as FittedSelfExciting: body.selfExciting = f
    case let f as HistoricalMeanModel.Fitted: body.historicalMean = f
    case let f as KernelDensityModel.Fitted: body.kernel = f
    case let f as LastWindowModel.Fitted: body.lastWindow = f
    default: throw FitError.invalidSpec("model kind \(spec.kind) cannot be saved")
    }
    var header = ModelFileHeader(kind: spec.kind, trainingStart: table.firstBin, trainingEnd: table.end, dataFingerprint: table.fingerprint)
    header.timeZone = clock.timeZone.identifier
    header.binAlignment = spec.bin == .month ? "calendar months (UTC)" : "multiples of \(spec.bin) from 1970-01-01T00:00Z"
    try ModelFile.write(body, header: header, to: path)
    var summary = "\(spec.name): \(table.units.count) sites × \(table.binCount) bins of \(spec.bin), \(Int(table.counts.reduce(0, +))) target counts (\(target))"
    if let d = fitted.diagnostics {
      summary += "; \(d.converged ? "converged" : "NOT converged") in \(d.iterations) iterations"
      if d.nullDeviance > 0 { summary += String(format: ", deviance %.1f (null %.1f)", d.deviance, d.nullDeviance) }
      for n in d.notes { summary += "\n  note: \(n)" }
    }
    return (header, summary)
  }

  /// Fits a route spec (order 1) on transitions computed elsewhere (`transitions.csv`) and writes the model file.
  @discardableResult
  public static func train(spec: SpecFile, transitions rows: [TransitionCounts.Row], units: [SpatialUnit], clock: LocalClock,
                           to path: String) throws -> (ModelFileHeader, String) {
    guard spec.isRoute else { throw SpecError.invalid("\(spec.name) is a hotspot model: it learns from counts, not transitions") }
    let model = try spec.routeModel()
    guard model.order == 1 else { throw SpecError.invalid("transitions.csv holds first-order moves only: use a spec with order: 1") }
    let counts = TransitionCounts(rows: rows, siteCount: units.count)
    let fitted = try model.fit(counts, sites: units.map { (latitude: $0.latitude, longitude: $0.longitude) })
    var f = Fingerprint()
    for r in rows { f.add(Int64(r.from)); f.add(Int64(r.to)); f.add(Int64(r.hour)); f.add(r.count) }
    var header = ModelFileHeader(kind: MarkovRouteModel.kind, trainingStart: 0, trainingEnd: 0, dataFingerprint: f.hex)
    header.timeZone = clock.timeZone.identifier
    try ModelFile.write(SavedRouteModel(name: spec.name, sites: units.map(\.id), route: fitted), header: header, to: path)
    return (header, "\(spec.name): \(Int(rows.reduce(0) { $0 + $1.count })) moves between \(units.count) sites from transitions (hours of day, no dates)")
  }

  /// Loads any hotspot model file.
  public static func loadHotspot(_ path: String) throws -> (ModelFileHeader, SavedHotspotModel) {
    let h = try ModelFile.header(at: path)
    guard HotspotCatalogue.kinds.contains(h.kind) else {
      throw ModelFileError.wrongKind(path: path, expected: "a hotspot model (\(HotspotCatalogue.kinds.joined(separator: ", ")))", found: h.kind)
    }
    let (header, saved) = try ModelFile.read(SavedHotspotModel.self, kind: h.kind, from: path)
    if let problem = saved.bodyProblem(kind: h.kind) { throw ModelFileError.corrupt(path: path, reason: problem) }
    return (header, saved)
  }

  public static func loadNextAppearance(_ path: String) throws -> (ModelFileHeader, SavedNextAppearanceModel) {
    let (header, saved) = try ModelFile.read(SavedNextAppearanceModel.self, kind: NextAppearanceModel.kind, from: path)
    if let problem = saved.bodyProblem() { throw ModelFileError.corrupt(path: path, reason: problem) }
    return (header, saved)
  }

  public static func loadRoute(_ path: String) throws -> (ModelFileHeader, SavedRouteModel) {
    let (header, saved) = try ModelFile.read(SavedRouteModel.self, kind: MarkovRouteModel.kind, from: path)
    if let problem = saved.bodyProblem() { throw ModelFileError.corrupt(path: path, reason: problem) }
    return (header, saved)
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
    let bins: Int
    switch saved.binning {
    case .seconds(let w): bins = days * 86400 / w
    case .month: bins = max(1, days / 30)
    }
    return saved.fitted.forecast(history: history, bins: bins, clock: clock)
  }
}
