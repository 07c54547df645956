import Foundation
import Hotspots
import ModelCatalogue
import Modelling
import Reads
import Simulation
import Routes

/// Everything `anpr compare` needs; the library call behind it.
public struct CompareOptions: Sendable {
  public var specs: [SpecFile] = []
  public var target: Target = .allReads
  /// Directory holding the simulator's truth files (`truth.json` beside them), or nil.
  public var truthDirectory: String?
  /// Needed to match truth plates to a pseudonymised store.
  public var pseudonymiser: Pseudonymiser?
  public var plan = BacktestPlan()
  public var bin: Binning = .hourly
  public var routes = true
  /// Also backtest where-and-when-next (repeat vehicles, or the truth's actor groups).
  public var nextAppearance = true
  /// Actor groups from `anpr link` (group id → each car's periods of use in it), for the
  /// next-appearance backtest: with the truth, a row forecasting each truth group from the linked
  /// group that best matches it; without, the linked groups are the subjects.
  public var linkedGroups: [String: [Int: [ClosedRange<Int64>]]]?
  public var seed: UInt64 = 1
  public init() {}
}

public enum CompareRun {
  /// Runs the hotspot and route backtests on the same windows and summarises them with CIs,
  /// the oracle row (simulated data) and a paired test between the best two hotspot models.
  public static func run(store: ReadStore, options o: CompareOptions, clock: LocalClock,
                         progress: ((String, Int, Int) -> Void)? = nil) throws -> Comparison {
    guard let start = store.header.timeStart, let end = store.header.timeEnd else { throw FitError.noData("the store has no reads") }
    var notes: [String] = []
    // Hotspot models: the given specs, or every built-in with its defaults.
    let hotspotSpecs = o.specs.filter(\.isHotspot)
    let named: [NamedHotspotModel] = hotspotSpecs.isEmpty && o.specs.allSatisfy({ !$0.isRoute }) || o.specs.isEmpty
      ? try NamedHotspotModel.defaults()
      : try NamedHotspotModel.distinctlyNamed(hotspotSpecs)
    let bin = (hotspotSpecs.first?.bin ?? o.bin).localised(clock)
    let dayStart = clock.startOfDay(containing: start)
    let table = CountTable.build(store: store, target: o.target, binning: bin, from: dayStart, to: end + 1)
    var oracle: HotspotOracle? = nil
    var actorTable: CountTable? = nil
    var actorVehicles: [Int: String] = [:]
    var truthPeriods: [String: [Int: [ClosedRange<Int64>]]]? = nil  // read once, for hotspots and next appearance
    if let dir = o.truthDirectory {
      actorVehicles = try actorMap(store: store, truthDirectory: dir, pseudonymiser: o.pseudonymiser)
      // The hotspot oracle, when the truth holds expected counts (a simulation with --oracle-replicates 0,
      // or a town from another generator, has none: no oracle row, said in a note).
      func expectedCounts(_ column: String) throws -> HotspotOracle? {
        let expected = truthFile(dir, "truth-expected-counts.csv")
        guard FileManager.default.fileExists(atPath: expected) else {
          notes.append("hotspot oracle: the truth holds no expected counts (truth-expected-counts.csv): no oracle row")
          return nil
        }
        return try HotspotOracle(path: expected, column: column)
      }
      switch o.target {
      case .keeper(.rental): oracle = try expectedCounts("expected_rental_reads")
      case .linkedGroups:
        // Trained on the linked groups' reads, judged on the truth's actors' (their cars within their hires).
        let periods = try actorPeriods(store: store, truthDirectory: dir, pseudonymiser: o.pseudonymiser, clock: clock)
        truthPeriods = periods
        let ids = periods.values.flatMap { $0.flatMap { v, spans in spans.map { EpisodeID.format(vehicle: store.vehicles[v].id, first: $0.lowerBound, last: $0.upperBound - 59) } } }
        if !ids.isEmpty {
          actorTable = CountTable.build(store: store, target: .vehicles(ids.sorted()), binning: bin, from: dayStart, to: end + 1)
          oracle = try expectedCounts("expected_actor_reads")
        }
      default:
        if case .vehicles(let ids) = o.target, Set(ids) == Set(actorVehicles.keys.map { store.vehicles[$0].id }) {
          oracle = try expectedCounts("expected_actor_reads")
        } else {
          notes.append("hotspot oracle: the truth gives expected rental and actor reads; use --target keeper=rental for an oracle row")
        }
      }
      if actorVehicles.isEmpty { notes.append("no truth plate matched the store (wrong key?): no route oracle") }
    }
    // Recording gaps (a camera down for a day, judged on all its traffic): filled in training, not scored.
    let gaps = RecordingGaps.find(in: table)
    var scores = try HotspotBacktest.run(table: table, models: named, plan: o.plan, clock: clock, oracle: oracle, scoredOn: actorTable,
                                         gaps: gaps.count > 0 ? gaps : nil) {
      progress?("hotspot backtest", $0, $1)
    }
    if gaps.count > 0 {
      notes.append(gaps.note(cells: table.counts.count, unit: "site"))
    }
    var order = named.map(\.name)
    var target = o.target.description
    if let actorTable {
      // The same models trained on the truth's actor reads: the loss from linking rather than knowing.
      let truthNamed = named.map { NamedHotspotModel(name: $0.name + " (truth groups)", model: $0.model) }
      // The same recording gaps (judged on all traffic, which both tables share) filled and left out.
      scores.merge(try HotspotBacktest.run(table: actorTable, models: truthNamed, plan: o.plan, clock: clock, gaps: gaps.count > 0 ? gaps : nil)) { a, _ in a }
      order += truthNamed.map(\.name)
      target = "the truth's actor reads (models trained on \(o.target.description); '(truth groups)': trained on the actor reads themselves)"
      notes.append("hotspots: each model is trained on the linked groups' reads (each weighted by its link confidence) and scored on the truth's actor reads, beside the same model trained on the actor reads ('truth groups'): the difference is what linking costs. The groups were linked on the whole store, so which reads before an origin count as a group's, and how much, rests on hindsight")
    }
    var comparison = Comparison.summarise(hotspot: scores, order: order, family: .hotspot, target: target, seed: o.seed)
    if o.routes {
      let routeSpecs = o.specs.filter(\.isRoute)
      let routeModels = try routeSpecs.isEmpty ? NamedRouteModel.builtIn : zip(SpecFile.distinctNames(routeSpecs), routeSpecs).map { NamedRouteModel(name: $0, model: try $1.routeModel()) }
      let test: Set<Int>? = actorVehicles.isEmpty ? nil : Set(actorVehicles.keys)
      let routeOracle = try o.truthDirectory.map { try RouteOracle(path: truthFile($0, "truth-next-site.csv"), siteCount: store.sites.count) }
      let rs = try RouteBacktest.run(store: store, models: routeModels, plan: o.plan, clock: clock, testVehicles: test,
                                     oracle: actorVehicles.isEmpty ? nil : routeOracle, actorOf: actorVehicles) { progress?("route backtest", $0, $1) }
      var routes = Comparison.summarise(hotspot: rs, order: routeModels.map(\.name) + CountTableRoutes.names, family: .route, target: test == nil ? "all trips" : "actor trips", primary: "top1", seed: o.seed)
      if test != nil {
        notes.append("route models are scored on the trips of actor vehicles (from the truth), where the oracle is defined; the route oracle spreads 2% of its probability uniformly so unsimulated moves keep a finite log loss")
      }
      routes.pairedTest = nil
      comparison.append(routes)
    }
    if o.nextAppearance {
      // Subjects: the truth's actor groups when it is given (each car within the group's hires of it),
      // else every repeat vehicle.
      var groups: [String: [Int: [ClosedRange<Int64>]]]? = nil
      if !actorVehicles.isEmpty, let dir = o.truthDirectory {
        groups = try truthPeriods ?? actorPeriods(store: store, truthDirectory: dir, pseudonymiser: o.pseudonymiser, clock: clock)
      }
      var linkedHistories: [String: [Int: [ClosedRange<Int64>]]]? = nil
      if let linked = o.linkedGroups {
        if let truthGroups = groups {
          let match = matchGroups(truthGroups, to: linked, store: store)
          linkedHistories = match.mapValues { linked[$0]! }
          notes.append("next appearance: \(match.count) of the truth's \(truthGroups.count) actor groups matched a linked group (the one holding most of its trips: "
            + match.keys.sorted().map { "\($0) → \(match[$0]!)" }.joined(separator: ", ") + "); the row 'groups from anpr link' forecasts each truth group from its linked group's visits (the population profile when none matched) and scores it on the truth group's next visit; groups were linked, and matched to the truth's, on the whole store (hindsight in which group stands for which; the forecasts use only visits before each origin)")
        } else {
          groups = linked
        }
      }
      var habits: [String: NextAppearanceBacktest.Habit] = [:]
      if groups != nil, o.linkedGroups == nil || linkedHistories != nil, let dir = o.truthDirectory {
        habits = try actorHabits(truthDirectory: dir)
        if habits.isEmpty { notes.append("next appearance: the truth holds no habit parameters (simulated before 2026-12): no oracle row") }
      }
      do {
        let model = try o.specs.first(where: \.isNextAppearance)?.nextAppearanceModel() ?? NextAppearanceModel()
        let result = try NextAppearanceBacktest.run(store: store, plan: o.plan, clock: clock, model: model, groups: groups, habits: habits,
                                                    linkedHistories: linkedHistories) {
          progress?("next-appearance backtest", $0, $1)
        }
        let scores = result.scores
        let subjects = groups == nil ? "repeat vehicles" : linkedHistories == nil && o.linkedGroups != nil ? "actor groups (anpr link)" : "actor groups (truth)"
        var na = Comparison.summarise(hotspot: scores, order: [NextAppearanceBacktest.modelName] + (linkedHistories == nil ? [] : [NextAppearanceBacktest.linkedRowName])
                                        + NextAppearanceBacktest.baselines,
                                      family: .nextAppearance, target: subjects, primary: "hit@10", seed: o.seed)
        na.pairedTest = nil
        comparison.append(na)
        let bins = result.reliability
        let n = bins.reduce(0) { $0 + $1.subjects }
        let ece = bins.reduce(0.0) { $0 + Double($1.subjects) * abs($1.stated - $1.observed) } / Double(max(n, 1))
        notes.append(String(format: "next appearance, P(seen in 7 days) reliability over %d forecasts (expected calibration error %.3f): ", n, ece)
          + bins.map { String(format: "%.1f–%.1f: %d stated %.2f seen %.2f", $0.from, $0.to, $0.subjects, $0.stated, $0.observed) }.joined(separator: "; "))
        let who = groups == nil ? "every repeat vehicle (visits on 2+ days before the origin, at most 2000)"
          : subjects == "actor groups (anpr link)" ? "each linked group from anpr link, its periods of use pooled"
          : "each actor group of the truth, its cars' trips within its hires of them pooled"
        notes.append("next appearance: " + who
          + "; first visit in the 7 days after each origin"
          + (habits.isEmpty ? "; no oracle row" : "; the oracle forecasts from each group's simulated habit (visit probability by weekday, entry time), its entry sites from all the data"))
      } catch let e as SpecError {
        notes.append("next appearance not backtested: \(e)")
      }
    }
    comparison.notes = notes + comparison.notes
    return comparison
  }

  /// Each actor group's cars and the spans it hired them (local days `fromDay`…`toDay` of the
  /// simulation), from the truth.
  public static func actorPeriods(store: ReadStore, truthDirectory dir: String, pseudonymiser: Pseudonymiser?,
                                  clock: LocalClock) throws -> [String: [Int: [ClosedRange<Int64>]]] {
    let truth = try SimulationTruth.read(directory: dir)
    let index = Dictionary(store.vehicles.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    let day0 = clock.day(truth.startUTC)
    var out: [String: [Int: [ClosedRange<Int64>]]] = [:]
    for h in truth.hires where h.holder.hasPrefix("actor-") {
      let id = store.isPseudonymised ? pseudonymiser?.pseudonym(plate: h.plate) : Plate.normalise(h.plate)
      guard let id, let v = index[id] else { continue }
      let span = clock.startOfDay(day0 + Int64(h.fromDay))...(clock.startOfDay(day0 + Int64(h.toDay) + 1) - 1)
      out[h.holder, default: [:]][v, default: []].append(span)
    }
    return out
  }

  /// Each actor group's habit from the truth, when it records the generative parameters.
  public static func actorHabits(truthDirectory dir: String) throws -> [String: NextAppearanceBacktest.Habit] {
    let truth = try SimulationTruth.read(directory: dir)
    var out: [String: NextAppearanceBacktest.Habit] = [:]
    for (name, h) in truth.actorHabits ?? [:] {
      guard let ph = h.visitProbabilityHabitDay, let po = h.visitProbabilityOtherDay, let sd = h.entryHourSD, sd > 0 else { continue }
      out[name] = NextAppearanceBacktest.Habit(weekdays: h.weekdays, entryHour: h.entryHour, visitProbabilityHabitDay: ph,
                                               visitProbabilityOtherDay: po, entryHourSD: sd)
    }
    return out
  }

  /// Each group of `truth` → the group of `linked` holding most of its trips (trip starts inside the
  /// linked group's periods of use; ties: the first name); groups sharing no trip are left out.
  public static func matchGroups(_ truth: [String: [Int: [ClosedRange<Int64>]]], to linked: [String: [Int: [ClosedRange<Int64>]]],
                                 store: ReadStore) -> [String: String] {
    var trips: [Int: [Int64]] = [:]
    func starts(_ v: Int) -> [Int64] {
      if let t = trips[v] { return t }
      let t = store.trips(ofVehicle: v).map(\.start); trips[v] = t; return t
    }
    func inside(_ t: Int64, _ spans: [ClosedRange<Int64>]) -> Bool { spans.isEmpty || spans.contains { $0.contains(t) } }
    var out: [String: String] = [:]
    for name in truth.keys.sorted() {
      var best: (String, Int)? = nil
      for l in linked.keys.sorted() {
        var shared = 0
        for (v, spans) in truth[name]! {
          guard let ls = linked[l]![v] else { continue }
          shared += starts(v).filter { inside($0, spans) && inside($0, ls) }.count
        }
        if shared > (best?.1 ?? 0) { best = (l, shared) }
      }
      if let b = best { out[name] = b.0 }
    }
    return out
  }

  /// Store vehicle index → actor name, from the truth's hires (pseudonymised with the key when needed).
  public static func actorMap(store: ReadStore, truthDirectory dir: String, pseudonymiser: Pseudonymiser?) throws -> [Int: String] {
    let truth = try SimulationTruth.read(directory: dir)
    let index = Dictionary(store.vehicles.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    var out: [Int: String] = [:]
    for h in truth.hires where h.holder.hasPrefix("actor-") {
      let id = store.isPseudonymised ? pseudonymiser?.pseudonym(plate: h.plate) : Plate.normalise(h.plate)
      if let id, let v = index[id] { out[v] = h.holder }
    }
    return out
  }
}

/// A parameter grid evaluated by the backtest in one run (`anpr sweep`).
public enum Sweep {
  public struct Result: Codable, Sendable {
    public var metric: String
    public var settings: [String]
    /// Mean metric per setting over windows, with CIs.
    public var scores: [String: Estimate]
    /// The best setting in each window.
    public var bestPerWindow: [String]
    /// The setting best on average, and the share of windows where it was also the window's best.
    public var best: String
    public var stability: Double
  }

  /// Expands `name=v1,v2` grids into every combination of parameter values.
  public static func grid(_ specs: [String]) throws -> [[String: Any]] {
    var combos: [[String: Any]] = [[:]]
    for g in specs {
      let parts = g.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2 else { throw SpecError.invalid("--grid '\(g)': use name=v1,v2,...") }
      let values: [Any] = parts[1].split(separator: ",").map { v in
        if let i = Int(v) { return i }
        if let d = Double(v) { return d }
        if v == "true" || v == "false" { return v == "true" }
        return String(v)
      }
      combos = combos.flatMap { c in values.map { v in var d = c; d[parts[0]] = v; return d } }
    }
    return combos
  }

  public static func run(spec: SpecFile, grid: [String], store: ReadStore, target: Target, plan: BacktestPlan, clock: LocalClock,
                         metric: String = "hit_rate@10%", progress: ((Int, Int) -> Void)? = nil) throws -> Result {
    guard spec.isHotspot else { throw SpecError.invalid("sweep runs hotspot models; \(spec.kind) is a \(spec.family.rawValue) model") }
    guard let start = store.header.timeStart, let end = store.header.timeEnd else { throw FitError.noData("the store has no reads") }
    let base = (try JSONSerialization.jsonObject(with: spec.params) as? [String: Any]) ?? [:]
    var named: [NamedHotspotModel] = []
    for combo in try Sweep.grid(grid) {
      let params = base.merging(combo) { $1 }
      let data = try JSONSerialization.data(withJSONObject: params, options: [.sortedKeys])
      let label = combo.keys.sorted().map { "\($0)=\(combo[$0]!)" }.joined(separator: " ")
      named.append(NamedHotspotModel(name: label.isEmpty ? spec.name : label, model: try hotspotSpec(spec.registration.spec(parameters: data))))
    }
    let dayStart = clock.startOfDay(containing: start)
    let table = CountTable.build(store: store, target: target, binning: spec.bin.localised(clock), from: dayStart, to: end + 1)
    let scores = try HotspotBacktest.run(table: table, models: named, plan: plan, clock: clock, progress: progress)
    let lower = Comparison.lowerIsBetter.contains(metric)
    var means: [String: Estimate] = [:]
    for m in named { means[m.name] = Bootstrap.mean(scores[m.name]!.map { $0.metrics[metric] ?? .nan }) }
    func better(_ a: Double, _ b: Double) -> Bool { a.isNaN ? false : b.isNaN ? true : (lower ? a < b : a > b) }
    let best = named.map(\.name).reduce(named[0].name) { better(means[$1]!.value, means[$0]!.value) ? $1 : $0 }
    let windows = scores[named[0].name]!.count
    var perWindow: [String] = []
    for w in 0..<windows {
      perWindow.append(named.map(\.name).reduce(named[0].name) { better(scores[$1]![w].metrics[metric] ?? .nan, scores[$0]![w].metrics[metric] ?? .nan) ? $1 : $0 })
    }
    let stability = Double(perWindow.filter { $0 == best }.count) / Double(max(1, windows))
    return Result(metric: metric, settings: named.map(\.name), scores: means, bestPerWindow: perWindow, best: best, stability: stability)
  }
}

/// A truth file in `dir`, plain or gzip-compressed (`Data/sample` keeps large ones compressed).
func truthFile(_ dir: String, _ name: String) -> String {
  let p = (dir as NSString).appendingPathComponent(name)
  return FileManager.default.fileExists(atPath: p) || !FileManager.default.fileExists(atPath: p + ".gz") ? p : p + ".gz"
}

/// Hotspot comparison on point events (`events.csv`, e.g. police.uk crime) on a grid: no store, no
/// routes, no oracle. Grid-based scores move with the grid's offset alone, so every window is scored
/// on `offsets` shifted grids and the scores averaged before the bootstrap.
public enum EventsCompare {
  public static func run(path: String, cellMetres: Double, binning: Binning, category: String?, specs: [SpecFile],
                         plan: BacktestPlan, clock: LocalClock, offsets: Int = 4, seed: UInt64 = 1) throws -> Comparison {
    // The default line-up for events: the registry's hotspot kinds that suit sparse events in day or
    // month bins — not the daily profile (it needs bins within a day). The self-exciting model fits on
    // the pairs within its cut-offs (30 windows of 9 000 city cells in 13 s); in month bins, longer than
    // its 7-day cut-off, it finds no triggering and forecasts the historical mean.
    let named: [NamedHotspotModel] = specs.isEmpty
      ? try [HistoricalMeanModel.kind, KernelDensityModel.kind, ProspectiveHotspotModel.kind, PoissonHotspotModel.kind, SelfExcitingModel.kind,
             LastWindowModel.kind]
        .map { NamedHotspotModel(name: $0.rawValue, model: try hotspotSpec(ModelRegistry.standard.registration($0).defaultSpec())) }
      : try NamedHotspotModel.distinctlyNamed(specs.filter(\.isHotspot))
    let shifts: [(Double, Double)] = [(0, 0), (0.5, 0), (0, 0.5), (0.5, 0.5), (0.25, 0.75), (0.75, 0.25)].prefix(max(1, offsets)).map { ($0.0 * cellMetres, $0.1 * cellMetres) }
    var perOffset: [[String: [WindowScore]]] = []
    var notes: [String] = []
    let binning = binning.localised(clock)
    for o in shifts {
      let counted = try CountTable.events(path: path, cellMetres: cellMetres, binning: binning, category: category, offsetMetres: o)
      let table = counted.table
      if perOffset.isEmpty {
        let empty = (0..<table.binCount).filter { b in (0..<table.units.count).allSatisfy { table[$0, b] == 0 } }
        if !empty.isEmpty {
          notes.append("bins with no events at all (missing from the source?): " + empty.map { String(Timestamp.iso8601(table.binStarts[$0]).prefix(10)) }.joined(separator: ", "))
        }
        notes.append(contentsOf: counted.notes)
        notes.append("\(table.units.count) grid cells of \(Int(cellMetres)) m, \(table.binCount) bins of \(binning); scores averaged over \(shifts.count) grid offsets")
      }
      perOffset.append(try HotspotBacktest.run(table: table, models: named, plan: plan, clock: clock))
    }
    var averaged: [String: [WindowScore]] = [:]
    for m in named.map(\.name) {
      let windows = perOffset[0][m] ?? []
      averaged[m] = windows.indices.map { w in
        // Averaged over the offsets the model could fit on; failed on the window only if on all of them.
        let scored = perOffset.compactMap { $0[m]?[w] }.filter { $0.failure == nil }
        guard !scored.isEmpty else { return WindowScore(origin: windows[w].origin, metrics: [:], failure: windows[w].failure) }
        var metrics: [String: Double] = [:]
        for key in scored[0].metrics.keys {
          let vals = scored.compactMap { $0.metrics[key] }.filter { !$0.isNaN }
          metrics[key] = vals.isEmpty ? .nan : vals.reduce(0, +) / Double(vals.count)
        }
        let totals = scored.compactMap(\.observedTotal)
        return WindowScore(origin: windows[w].origin, metrics: metrics, calibration: CalibrationPoint.mean(scored.compactMap(\.calibration)),
                           pit: elementwiseMean(scored.compactMap(\.pit)), observedTotal: totals.isEmpty ? nil : totals.reduce(0, +) / Double(totals.count))
      }
    }
    var c = Comparison.summarise(hotspot: averaged, order: named.map(\.name), family: .hotspot,
                                 target: "events" + (category.map { " (\($0))" } ?? ""), seed: seed)
    c.notes = notes + c.notes
    return c
  }
}

/// `compare` on counts computed elsewhere (`counts.csv` or statistics from `anpr stats`): the hotspot
/// models only (route and next-appearance backtests need a store's trips by date).
public enum CountsCompare {
  /// - Parameter source: what the counts are, for the comparison's target line.
  public static func run(table: CountTable, specs: [SpecFile], plan: BacktestPlan, clock: LocalClock, source: String,
                         fromStatistics: Bool, seed: UInt64 = 1) throws -> Comparison {
    let hotspot = specs.filter(\.isHotspot)
    let named = try hotspot.isEmpty ? try NamedHotspotModel.defaults() : NamedHotspotModel.distinctlyNamed(hotspot)
    // Recording gaps (a time of day not recorded, a camera down for a day): filled in training, not scored.
    let gaps = RecordingGaps.find(in: table)
    let scores = try HotspotBacktest.run(table: table, models: named, plan: plan, clock: clock, gaps: gaps.count > 0 ? gaps : nil)
    var c = Comparison.summarise(hotspot: scores, order: named.map(\.name), family: .hotspot, target: source, seed: seed)
    if gaps.count > 0 {
      c.notes.append(gaps.note(cells: table.counts.count, unit: "unit"))
    }
    if fromStatistics { c.notes.append("from statistics: hotspot models only (route and next-appearance backtests need a store's trips by date)") }
    return c
  }
}

/// `compare` on first-order moves computed elsewhere (`transitions.csv`): route models, each of the
/// 24 hours of the day held out in turn (the file has no dates).
public enum TransitionsCompare {
  public static func run(rows: [TransitionCounts.Row], units: [SpatialUnit], specs: [SpecFile], source: String, seed: UInt64 = 1) throws -> Comparison {
    let routes = specs.filter(\.isRoute)
    let named = try routes.isEmpty ? TransitionsBacktest.builtIn : zip(SpecFile.distinctNames(routes), routes).map { NamedRouteModel(name: $0, model: try $1.routeModel()) }
    let scores = try TransitionsBacktest.run(rows: rows, sites: units.map { (latitude: $0.latitude, longitude: $0.longitude) }, models: named)
    var c = Comparison.summarise(hotspot: scores, order: named.map(\.name) + [TransitionsBacktest.countTableName], family: .route, target: source, primary: "top1", seed: seed)
    c.notes.append("route models on transitions: each of the 24 hours of the day held out in turn (no dates in the file); intervals over the hours")
    return c
  }
}
