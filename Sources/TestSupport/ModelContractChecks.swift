import Foundation
import Hotspots
import ModelCatalogue
import Modelling
import Reads

/// The model contract as checks any registered model must pass, after scikit-learn's
/// `check_estimator`: each returns the problems it found (empty when the model keeps the contract), so
/// a test over `ModelRegistry.standard.all` names the model and the broken rule.
public enum ModelContractChecks {
  /// Spec parameters are strict: a key the model does not have is refused naming it and the allowed
  /// keys; `{}` is the default spec; the default spec, encoded, reads back.
  public static func parametersAreStrict(_ r: ModelRegistration) -> [String] {
    var problems: [String] = []
    do {
      _ = try r.spec(parameters: Data(#"{"no_such_parameter": 1}"#.utf8))
      problems.append("an unknown parameter was accepted")
    } catch {
      let text = "\(error)"
      if !text.contains("no_such_parameter") || !text.contains("allowed") { problems.append("the refusal does not name the key and the allowed ones: \(text)") }
    }
    do { _ = try r.spec(parameters: Data("{}".utf8)) } catch { problems.append("params {} refused: \(error)") }
    do {
      let encoded = try JSONEncoder().encode(r.defaultSpec())
      _ = try r.spec(parameters: encoded)
    } catch { problems.append("the default spec, encoded, does not read back: \(error)") }
    return problems
  }

  /// Train → file → load → file: the loaded model is the one fitted in memory on the same data, and
  /// writing it again gives the same bytes; its summary names its kind; its body passes its own check.
  public static func saveLoadRoundTrip(_ r: ModelRegistration, store: ReadStore, clock: LocalClock, directory: String) -> [String] {
    var problems: [String] = []
    do {
      let spec = try SpecFile(r, params: r.quickParameters)
      let path = directory + "/\(r.kind).model.json"
      try Training.train(spec: spec, store: store, target: .allReads, clock: clock, to: path)
      let loaded = try ModelRegistry.standard.load(path)
      if loaded.registration.kind != r.kind { problems.append("loaded as \(loaded.registration.kind)") }
      if let p = loaded.fitted.bodyProblem() { problems.append("the saved body fails its own check: \(p)") }
      if loaded.fitted.summary().kind != r.kind { problems.append("summary() names \(loaded.fitted.summary().kind)") }
      let again = directory + "/\(r.kind).again.json"
      try r.write(loaded, to: again)
      if FileManager.default.contents(atPath: path) != FileManager.default.contents(atPath: again) {
        problems.append("save → load → save does not give the same bytes")
      }
      let data = try Training.trainingData(spec: spec, store: store, target: .allReads, clock: clock)
      let fresh = try Training.fit(spec: spec, data: data, clock: clock)
      let enc = JSONEncoder()
      enc.outputFormatting = [.sortedKeys]
      if try enc.encode(fresh) != enc.encode(loaded.fitted) { problems.append("the loaded model differs from the one fitted in memory") }
    } catch { problems.append("train/load failed: \(error)") }
    return problems
  }

  /// Nothing to learn from is an error that says so (`FitError.noData`), not a model of zeros: the
  /// statistic of the reads before the store's first read. Linkage and co-travel learn from the whole
  /// store and refuse a cut instead (they cannot be fitted on part of one): that refusal is checked.
  public static func emptyDataThrows(_ r: ModelRegistration, store: ReadStore, clock: LocalClock) -> [String] {
    guard let first = store.header.timeStart else { return ["the store has no reads"] }
    let wholeStore = r.family == .linkage || r.family == .coTravel
    do {
      let spec = try SpecFile(r, params: r.quickParameters)
      let data = try Training.trainingData(spec: spec, store: store, target: .allReads, clock: clock, until: first)
      if wholeStore { return ["a cut before the store's end was accepted by a model that learns from the whole store"] }
      let fitted = try Training.fit(spec: spec, data: data, clock: clock)
      return ["fitted on no data: \(fitted.summary())"]
    } catch let e as FitError {
      if case .noData = e, !wholeStore { return [] }
      return ["the wrong error: \(e)"]
    } catch {
      return wholeStore && "\(error)".contains("learns from the whole store") ? [] : ["the wrong error: \(error)"]
    }
  }

  /// A hotspot model asked for a site it never saw forecasts it (finite, non-negative) and, when it
  /// keeps parameters per site, lists it as a fallback unit instead of hiding it.
  public static func unseenUnitsFallBack(_ r: ModelRegistration, store: ReadStore, clock: LocalClock) -> [String] {
    guard r.family == .hotspot else { return [] }
    do {
      let spec = try SpecFile(r, params: r.quickParameters)
      let data = try Training.trainingData(spec: spec, store: store, target: .allReads, clock: clock)
      guard let fitted = try Training.fit(spec: spec, data: data, clock: clock) as? any FittedHotspotModel, let table = data.statistic as? CountTable else {
        return ["a hotspot registration did not fit a hotspot model"]
      }
      var units = table.units
      let far = SpatialUnit(id: "contract-unseen-site", latitude: units[0].latitude + 0.01, longitude: units[0].longitude + 0.01)
      units.append(far)
      var history = CountTable(units: units, binning: table.binning, firstBin: table.firstBin, binCount: table.binCount, withExposure: false)
      for u in 0..<table.units.count { for b in 0..<table.binCount { history.counts[u * table.binCount + b] = table[u, b] } }
      let f = fitted.forecast(history: history, bins: 24, clock: clock)
      let u = units.count - 1
      var problems: [String] = []
      if (0..<24).contains(where: { !(f.expected(unit: u, bin: $0) >= 0 && f.expected(unit: u, bin: $0).isFinite) }) {
        problems.append("the unseen site's forecast is not a finite count")
      }
      let body = try JSONSerialization.jsonObject(with: JSONEncoder().encode(fitted)) as? [String: Any]
      if let known = body?["units"] as? [String], !known.contains(far.id), !f.fallbackUnits.contains(far.id) {
        problems.append("the model keeps per-site parameters but did not list the unseen site as a fallback")
      }
      return problems
    } catch { return ["fit failed: \(error)"] }
  }
}
