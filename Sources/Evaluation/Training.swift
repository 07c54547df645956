import Foundation
import Hotspots
import Modelling
import Reads
import Routes
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

  public static func load(_ path: String) throws -> SpecFile {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw SpecError.invalid("\(path): cannot read the spec file") }
    let node: Any?
    do { node = try Yams.load(yaml: text) } catch { throw SpecError.invalid("\(path): not valid YAML (\(error))") }
    guard let dict = node as? [String: Any] else { throw SpecError.invalid("\(path): expected a mapping with 'kind' and 'params'") }
    let unknown = dict.keys.filter { !topLevelKeys.contains($0) }.sorted()
    if !unknown.isEmpty { throw SpecError.unknownKeys(unknown, allowed: topLevelKeys, kind: "\(path)") }
    guard let kind = dict["kind"] as? String else { throw SpecError.invalid("\(path): 'kind' is required (one of \((HotspotCatalogue.kinds + routeKinds).joined(separator: ", ")))") }
    guard HotspotCatalogue.kinds.contains(kind) || routeKinds.contains(kind) else {
      throw SpecError.invalid("\(path): unknown kind '\(kind)'; known: \((HotspotCatalogue.kinds + routeKinds).joined(separator: ", "))")
    }
    let params = dict["params"] ?? [String: Any]()
    guard JSONSerialization.isValidJSONObject(params) else { throw SpecError.invalid("\(path): 'params' must be a mapping") }
    let bin = try (dict["bin"] as? String).map(Binning.parse) ?? .hourly
    let data = try JSONSerialization.data(withJSONObject: params, options: [.sortedKeys])
    do {  // validate now, so errors name the file
      if kind == MarkovRouteModel.kind { _ = try JSONDecoder().decode(MarkovRouteModel.self, from: data) }
      else { _ = try HotspotCatalogue.model(kind: kind, json: data) }
    } catch { throw SpecError.invalid("\(path): \(error)") }
    return SpecFile(kind: kind, name: dict["name"] as? String ?? kind, bin: bin, params: data, path: path)
  }

  public var isRoute: Bool { Self.routeKinds.contains(kind) }
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

  public var fitted: any FittedHotspotModel {
    if let poisson { return poisson }
    if let selfExciting { return selfExciting }
    if let historicalMean { return historicalMean }
    if let kernel { return kernel }
    return lastWindow ?? LastWindowModel.Fitted()
  }
}

public struct SavedRouteModel: Codable, Sendable {
  public var name: String
  public var sites: [String]
  public var route: FittedMarkovRoute
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
    if spec.isRoute {
      let model = try spec.routeModel()
      let counts = TransitionCounts.build(store: store, order: model.order, to: stop, clock: clock)
      let fitted = try model.fit(counts, sites: store.siteLocations)
      var f = Fingerprint()
      for k in counts.next.keys.sorted() { f.add(k); for (n, c) in counts.next[k]!.sorted(by: { $0.key < $1.key }) { f.add(Int64(n)); f.add(c) } }
      let header = ModelFileHeader(kind: MarkovRouteModel.kind, trainingStart: start, trainingEnd: stop, dataFingerprint: f.hex)
      try ModelFile.write(SavedRouteModel(name: spec.name, sites: store.sites, route: fitted), header: header, to: path)
      return (header, "\(spec.name): \(Int(counts.next[0]?.values.reduce(0, +) ?? 0)) moves from \(store.sites.count) sites, order \(model.order)")
    }
    let table = CountTable.build(store: store, target: target, binning: spec.bin, from: start, to: stop)
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
    let header = ModelFileHeader(kind: spec.kind, trainingStart: table.firstBin, trainingEnd: table.end, dataFingerprint: table.fingerprint)
    try ModelFile.write(body, header: header, to: path)
    var summary = "\(spec.name): \(table.units.count) sites × \(table.binCount) bins of \(spec.bin), \(Int(table.counts.reduce(0, +))) target counts (\(target))"
    if let d = fitted.diagnostics {
      summary += "; \(d.converged ? "converged" : "NOT converged") in \(d.iterations) iterations"
      if d.nullDeviance > 0 { summary += String(format: ", deviance %.1f (null %.1f)", d.deviance, d.nullDeviance) }
      for n in d.notes { summary += "\n  note: \(n)" }
    }
    return (header, summary)
  }

  /// Loads any hotspot model file.
  public static func loadHotspot(_ path: String) throws -> (ModelFileHeader, SavedHotspotModel) {
    let h = try ModelFile.header(at: path)
    guard HotspotCatalogue.kinds.contains(h.kind) else {
      throw ModelFileError.wrongKind(path: path, expected: "a hotspot model (\(HotspotCatalogue.kinds.joined(separator: ", ")))", found: h.kind)
    }
    return try ModelFile.read(SavedHotspotModel.self, kind: h.kind, from: path)
  }

  public static func loadRoute(_ path: String) throws -> (ModelFileHeader, SavedRouteModel) {
    try ModelFile.read(SavedRouteModel.self, kind: MarkovRouteModel.kind, from: path)
  }

  /// Forecasts `days` after the store's last full bin (or `asOf`) with a saved hotspot model.
  public static func forecast(model saved: SavedHotspotModel, store: ReadStore, clock: LocalClock, days: Int, asOf: Int64? = nil) throws -> HotspotForecast {
    guard let start = store.header.timeStart, let end = store.header.timeEnd else { throw FitError.noData("the store has no reads") }
    // Forecast from the first bin boundary at or after the cut (a partial last bin is not history).
    let cut = asOf ?? (end + 1)
    let origin = saved.binning.start(of: cut) == cut ? cut : saved.binning.next(saved.binning.start(of: cut))
    let history = CountTable.build(store: store, target: saved.target, binning: saved.binning, from: start, to: origin)
    let bins: Int
    switch saved.binning {
    case .seconds(let w): bins = days * 86400 / w
    case .month: bins = max(1, days / 30)
    }
    return saved.fitted.forecast(history: history, bins: bins, clock: clock)
  }
}
