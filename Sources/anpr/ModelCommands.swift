import ArgumentParser
import Evaluation
import Foundation
import Hotspots
import Modelling
import Reads
import Routes

/// Options shared by every command that reads a store.
struct StoreOptions: ParsableArguments {
  @Option(help: "Read store written by 'anpr ingest'.") var store: String
  @Option(help: "Analyst's time zone for hours, days and shifts (IANA name).") var timezone = "Europe/London"
  @Option(help: "Seed for every random choice; same seed, same output.") var seed: UInt64 = 1

  func open() throws -> (ReadStore, LocalClock) { (try openStore(store), try LocalClock(identifier: timezone)) }
}

/// Opens a store, or says how to make one.
func openStore(_ path: String) throws -> ReadStore {
  guard FileManager.default.fileExists(atPath: path) else {
    throw CLIError("no store at '\(path)'; make one with 'anpr ingest READS.csv --cameras CAMERAS.csv --store \(path)'")
  }
  return try ReadStore(path: path)
}

/// Options for the rolling-origin backtest.
struct BacktestOptions: ParsableArguments {
  @Option(help: "Days of history before the first forecast origin.") var trainDays = 9
  @Option(help: "Days each window forecasts.") var horizonDays = 1
  @Option(help: "Days between origins.") var stepDays = 1
  @Option(help: "Use at most the latest N windows (0 = all).") var maxWindows = 0
  var plan: BacktestPlan {
    var p = BacktestPlan()
    p.minimumTrainingDays = trainDays; p.horizonDays = horizonDays; p.stepDays = stepDays; p.maxWindows = maxWindows
    return p
  }
}

func parseTarget(_ s: String) throws -> Target {
  do { return try Target.parse(s) } catch { throw ValidationError("\(error)") }
}

func write(_ text: String, to path: String) throws {
  do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
    throw CLIError("\(path): cannot write (\(error.localizedDescription))")
  }
}

extension ANPR {
  struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Fit the model a spec file describes and save it.")
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Model spec, e.g. Models/poisson-hotspot.yaml.") var spec: String
    @Option(help: "What hotspot models count: all, keeper=rental, vehicles=ID,ID, watchlist=FILE.") var target = "all"
    @Option(help: "Model file to write (default: trained/<name>.model.json).") var out: String?
    @Option(help: "Train only on reads before this time (ISO 8601).") var until: String?

    func validate() throws {
      if !FileManager.default.fileExists(atPath: spec) { throw ValidationError("No spec at '\(spec)'; see Models/.") }
      _ = try parseTarget(target)
    }
    func run() throws {
      let (store, clock) = try storeOptions.open()
      let s = try SpecFile.load(spec)
      let path = out ?? "trained/\(s.name).model.json"
      try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      let (_, summary) = try Training.train(spec: s, store: store, target: try parseTarget(target), clock: clock,
                                            until: try until.map { try parseTime($0, option: "--until") }, to: path)
      print(summary)
      print("model: \(path)")
    }
  }

  struct Forecast: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Forecast hotspots with a trained model: expected counts per site and hour with 90% intervals.",
      discussion: "Writes every site and hour as CSV, and the sites ranked for a window (e.g. --window 'Thu 16-19') as CSV and GeoJSON.")
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Trained hotspot model (from 'anpr train').") var model: String
    @Option(help: "Days to forecast after the store's last read.") var days = 7
    @Option(help: "Ranked list for a local time window, e.g. 'Thu 16-19' or '22-06'.") var window: String?
    @Option(help: "CSV of every site and bin.") var out: String?
    @Option(help: "GeoJSON of ranked sites (QGIS opens it).") var geojson: String?
    @Option(help: "Show this many top sites.") var top = 10
    @Flag(help: "Print the ranked list as JSON.") var json = false

    func run() throws {
      let (store, clock) = try storeOptions.open()
      let (_, saved) = try Training.loadHotspot(model)
      let w = try window.map { s -> ShiftWindow in do { return try ShiftWindow.parse(s) } catch { throw ValidationError("\(error)") } }
      let f = try Training.forecast(model: saved, store: store, clock: clock, days: days)
      if let out { try write(f.csv(), to: out) }
      if let geojson { try write(f.geoJSON(window: w, clock: clock), to: geojson) }
      let ranked = f.ranked(window: w, clock: clock, top: top)
      if json { try printJSONLine(ranked); return }
      print("\(saved.name): \(days)-day forecast of \(saved.target) from \(Timestamp.iso8601(f.binStarts.first ?? 0)), window \(w?.description ?? "all hours")")
      if !f.fallbackUnits.isEmpty { print("  note: \(f.fallbackUnits.count) site(s) new since training, forecast by fallback: \(f.fallbackUnits.prefix(5).joined(separator: ", "))") }
      print("rank  site   expected  90% interval  share")
      for r in ranked {
        print(String(format: "%4d  %@  %8.2f  [%3.0f, %3.0f]    %4.1f%%", r.rank, r.unit.padding(toLength: 5, withPad: " ", startingAt: 0), r.expected, r.lower90, r.upper90, r.share * 100))
      }
      if let out { print("all sites and hours: \(out)") }
      if let geojson { print("map layer: \(geojson)") }
    }
  }

  struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Backtest one model spec (hotspot or route): its metrics over the windows with 95% CIs.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var backtest: BacktestOptions
    @Option(help: "Model spec.") var spec: String
    @Option(help: "What hotspot models count.") var target = "all"
    @Flag(help: "Print JSON.") var json = false
    func run() throws {
      let (store, clock) = try storeOptions.open()
      let s = try SpecFile.load(spec)
      var o = CompareOptions()
      o.specs = [s]; o.target = try parseTarget(target); o.plan = backtest.plan; o.routes = s.isRoute; o.seed = storeOptions.seed
      let c = try CompareRun.run(store: store, options: o, clock: clock)
      if json { try printJSONLine(c); return }
      print(c.table(metrics: s.isRoute ? routeMetricNames : hotspotMetricNames))
    }
  }

  struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Compare hotspot and route models in a rolling backtest: metrics with 95% CIs, a paired test, and the oracle on simulated data.",
      discussion: """
        With no --spec, every built-in hotspot and route model with its default spec. With --events instead of
        --store, hotspot models are compared on point events (e.g. police.uk crime) on a grid. Exit 0 on success.
        """)
    @Option(help: "Read store written by 'anpr ingest'.") var store: String?
    @Option(help: "Point events CSV (event_id,timestamp,latitude,longitude,category) instead of a store.") var events: String?
    @Option(help: "Counts computed elsewhere (unit_id,bin_start,count) instead of a store.") var counts: String?
    @Option(help: "Unit coordinates for --counts (cameras.csv, or unit_id,latitude,longitude).") var units: String?
    @Option(help: "Grid cell size for --events, metres.") var cellMetres = 500.0
    @Option(help: "Only this event category (e.g. Drugs).") var category: String?
    @Option(help: "Bin for --events or --counts: 1h, 1d, month, ... (default: month for events, 1h for counts)") var bin: String?
    @Option(help: "Grid offsets averaged for --events.") var gridOffsets = 4
    @Option(help: "Analyst's time zone (IANA name).") var timezone = "Europe/London"
    @Option(help: "Seed for every random choice; same seed, same output.") var seed: UInt64 = 1
    @OptionGroup var backtest: BacktestOptions
    @Option(help: "Model spec (repeatable).") var spec: [String] = []
    @Option(help: "What hotspot models count: all, keeper=rental, vehicles=ID,ID, watchlist=FILE.") var target = "all"
    @Option(help: "Simulator truth (truth.json or its directory): adds the oracle rows.") var truth: String?
    @Option(help: "Key the store was pseudonymised with (to match truth plates).") var keyFile: String?
    @Option(help: "Write the comparison as CSV.") var csv: String?
    @Option(help: "Write the comparison as JSON.") var out: String?
    @Flag(help: "Skip the route models.") var noRoutes = false
    @Flag(help: "Print the comparison as one JSON object on the last line.") var json = false

    func validate() throws {
      _ = try parseTarget(target)
      for s in spec where !FileManager.default.fileExists(atPath: s) { throw ValidationError("No spec at '\(s)'; see Models/.") }
      if [store != nil, events != nil, counts != nil].filter({ $0 }).count != 1 {
        throw ValidationError("Give one of --store (ANPR reads), --events (point events) or --counts (with --units).")
      }
      if counts != nil && units == nil { throw ValidationError("--counts needs --units (cameras.csv or unit_id,latitude,longitude).") }
    }
    func run() throws {
      let clock = try LocalClock(identifier: timezone)
      if let counts, let units {
        let binning: Binning
        do { binning = try Binning.parse(bin ?? "1h") } catch { throw ValidationError("\(error)") }
        let table = try CountTable.fromCSV(counts: counts, units: units, binning: binning)
        let specs = try spec.map(SpecFile.load).filter { !$0.isRoute }
        let named = try specs.isEmpty
          ? HotspotCatalogue.kinds.map { NamedHotspotModel(name: $0, model: try HotspotCatalogue.defaultModel(kind: $0)) }
          : specs.map { NamedHotspotModel(name: $0.name, model: try $0.hotspotModel()) }
        let scores = try HotspotBacktest.run(table: table, models: named, plan: backtest.plan, clock: clock)
        try emit(Comparison.summarise(hotspot: scores, order: named.map(\.name), kind: "hotspot", target: "counts from \(counts)", seed: seed))
        return
      }
      if let events {
        let binning: Binning
        do { binning = try Binning.parse(bin ?? "month") } catch { throw ValidationError("\(error)") }
        var plan = backtest.plan
        if case .month = binning { plan.minimumTrainingDays = max(plan.minimumTrainingDays, 90) }
        let c = try EventsCompare.run(path: events, cellMetres: cellMetres, binning: binning, category: category,
                                      specs: try spec.map(SpecFile.load), plan: plan, clock: clock, offsets: gridOffsets, seed: seed)
        try emit(c)
        return
      }
      let store = try openStore(store!)
      var o = CompareOptions()
      o.specs = try spec.map(SpecFile.load)
      o.target = try parseTarget(target)
      o.plan = backtest.plan
      o.routes = !noRoutes
      o.seed = seed
      if let truth {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: truth, isDirectory: &isDir) else { throw CLIError("no truth at '\(truth)'") }
        o.truthDirectory = isDir.boolValue ? truth : (truth as NSString).deletingLastPathComponent
        if o.truthDirectory == "" { o.truthDirectory = "." }
      }
      o.pseudonymiser = try Pseudonymiser.load(file: keyFile)
      if truth != nil && store.isPseudonymised && o.pseudonymiser == nil {
        throw CLIError("the store is pseudonymised: pass --key-file (or ANPR_KEY) so truth plates can be matched")
      }
      let progress = ProgressLine("compare")
      let c = try CompareRun.run(store: store, options: o, clock: clock) { _, d, n in
        progress.update(done: Double(d), total: Double(n), unit: "windows")
      }
      progress.finish()
      try emit(c)
    }

    func emit(_ c: Comparison) throws {
      if let csv { try write(c.csv, to: csv) }
      if let out {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        try write(String(decoding: try enc.encode(c), as: UTF8.self), to: out)
      }
      if json { try printJSONLine(c); return }
      print("Backtest: \(c.windows) windows; hotspot target: \(c.target)")
      let hot = Comparison(target: c.target, windows: c.windows, models: c.models.filter { $0.kind == "hotspot" || $0.name == "oracle (hotspot)" })
      print(hot.table(metrics: ["hit_rate@10%", "pai@10%", "pei*@10%", "log_score", "n_test_p"]))
      let route = Comparison(target: c.target, windows: c.windows, models: c.models.filter { $0.kind == "route" || $0.name == "oracle (route)" })
      if !route.models.isEmpty { print(""); print(route.table(metrics: ["top1", "top3", "mrr", "log_loss", "arrival_abs_error_min", "arrival_coverage80"])) }
      if let p = c.pairedTest {
        print(String(format: "\npaired test on %@: %@ − %@ = %.3f [%.3f, %.3f], p = %.3f", p.metric, p.better, p.worse,
                     p.difference.value, p.difference.ciLow, p.difference.ciHigh, p.pValue))
      }
      for n in c.notes { print("note: \(n)") }
      print("(values are means over windows with 95% bootstrap intervals; % = fraction of the oracle)")
    }
  }

  struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "sweep", abstract: "Evaluate a parameter grid by the backtest: best setting per window and how stable the choice is.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var backtest: BacktestOptions
    @Option(help: "Model spec to vary.") var spec: String
    @Option(help: "A parameter and its values, e.g. bandwidth_metres=200,400,800 (repeatable).") var grid: [String] = []
    @Option(help: "What hotspot models count.") var target = "all"
    @Option(help: "Metric to choose by.") var metric = "hit_rate@10%"
    @Flag(help: "Print JSON.") var json = false
    func validate() throws {
      if grid.isEmpty { throw ValidationError("Give at least one --grid name=v1,v2.") }
      if !hotspotMetricNames.contains(metric) { throw ValidationError("--metric must be one of \(hotspotMetricNames.joined(separator: ", "))") }
    }
    func run() throws {
      let (store, clock) = try storeOptions.open()
      let progress = ProgressLine("sweep")
      let r = try Sweep.run(spec: try SpecFile.load(spec), grid: grid, store: store, target: try parseTarget(target), plan: backtest.plan,
                            clock: clock, metric: metric) { d, n in progress.update(done: Double(d), total: Double(n), unit: "windows") }
      progress.finish()
      if json { try printJSONLine(r); return }
      for s in r.settings {
        let e = r.scores[s]!
        print(String(format: "%@  %@ %.3f [%.3f, %.3f]", s.padding(toLength: 40, withPad: " ", startingAt: 0), r.metric, e.value, e.ciLow, e.ciHigh))
      }
      print("best: \(r.best); best in \(Int((r.stability * 100).rounded()))% of \(r.bestPerWindow.count) windows")
    }
  }

  struct PredictRoute: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "predict-route",
      abstract: "Next camera site and arrival window for a vehicle's current trip, for a linked group (whatever car it drives), or for every vehicle seen recently.")
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Trained route model (markov-route).") var model: String
    @OptionGroup var selection: VehicleSelection
    @Option(help: "Batch: every vehicle read in the last N hours of the store.") var recentHours: Int?
    @Option(help: "Top next sites to list.") var top = 3
    @Option(help: "CSV output file.") var out: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
      let chosen = [selection.plate != nil, selection.vehicle != nil, selection.group != nil, recentHours != nil].filter { $0 }.count
      if chosen != 1 { throw ValidationError("Give exactly one of --plate, --vehicle, --group or --recent-hours.") }
    }

    struct Row: Encodable {
      var vehicle: String; var lastSite: String; var lastSeen: String; var rank: Int; var nextSite: String
      var probability: Double; var arrivalMedian: String?; var arrivalLow80: String?; var arrivalHigh80: String?
      var evidence: String; var fallback: String?
    }

    func run() throws {
      let (store, clock) = try storeOptions.open()
      let (_, saved) = try Training.loadRoute(model)
      guard saved.sites == store.sites else { throw CLIError("\(model) was trained on a different camera registry; retrain it on this store") }
      var vehicles: [Int] = []
      var personal: TransitionCounts? = nil
      var groupSpans: [Int: [ClosedRange<Int64>]] = [:]
      if let recentHours, let end = store.header.timeEnd {
        vehicles = Array(Set(store.reads(from: end - Int64(recentHours) * 3600, to: end + 1).map { store.vehicle($0) })).sorted()
      } else {
        let (members, spans, _) = try selection.resolveWithSpans(store)
        groupSpans = spans
        func tripsInUse(_ v: Int) -> [Trip] {
          store.trips(ofVehicle: v).filter { EpisodeID.inUse(spans, vehicle: v, at: $0.start) }
        }
        if members.count > 1 || !spans.isEmpty {
          // A linked group: predict for the member seen last, personalised with the whole group's moves
          // (inside its periods of use only: a re-hired car's other hirers are not the group).
          var pooled = TransitionCounts(order: 1, siteCount: store.sites.count)
          for v in members { for t in tripsInUse(v) { pooled.add(sites: t.sites, times: t.times, clock: clock) } }
          personal = pooled
          vehicles = [members.max { (tripsInUse($0).last?.end ?? 0) < (tripsInUse($1).last?.end ?? 0) }!]
        } else { vehicles = members }
      }
      var rows: [Row] = []
      for v in vehicles {
        let inUse = store.trips(ofVehicle: v).filter { EpisodeID.inUse(groupSpans, vehicle: v, at: $0.start) }
        guard let trip = inUse.last else { continue }
        var s: [Int] = []
        for a in trip.sites where s.last != a { s.append(a) }
        let t = trip.end
        let pred = saved.route.predict(history: s, time: t, clock: clock, personal: personal)
        for (k, c) in pred.ranked.prefix(top).enumerated() {
          var r = Row(vehicle: store.vehicles[v].id, lastSite: store.sites[s.last!], lastSeen: Timestamp.iso8601(t), rank: k + 1,
                      nextSite: c.site == endOfTrip ? "END" : store.sites[c.site], probability: c.probability,
                      evidence: pred.level, fallback: pred.fallback)
          if c.site != endOfTrip {
            let tt = saved.route.travelTime(from: s.last!, to: c.site, band: timeBand(t, clock: clock))
            r.arrivalMedian = Timestamp.iso8601(t + Int64(tt.median)); r.arrivalLow80 = Timestamp.iso8601(t + Int64(tt.low80))
            r.arrivalHigh80 = Timestamp.iso8601(t + Int64(tt.high80))
          }
          rows.append(r)
        }
      }
      if let out {
        var text = "vehicle,last_site,last_seen,rank,next_site,probability,arrival_median,arrival_low80,arrival_high80,evidence,fallback\n"
        for r in rows {
          text += [r.vehicle, r.lastSite, r.lastSeen, "\(r.rank)", r.nextSite, String(format: "%.4f", r.probability), r.arrivalMedian ?? "",
                   r.arrivalLow80 ?? "", r.arrivalHigh80 ?? "", csvQuote(r.evidence), csvQuote(r.fallback ?? "")].joined(separator: ",") + "\n"
        }
        try write(text, to: out)
      }
      if json { try printJSONLine(rows); return }
      for r in rows.prefix(30) {
        print("\(r.vehicle) at \(r.lastSite) \(r.lastSeen): #\(r.rank) \(r.nextSite) p=\(String(format: "%.2f", r.probability))"
          + (r.arrivalMedian.map { " arrive ~\($0) (80%: \(r.arrivalLow80!)–\(r.arrivalHigh80!))" } ?? "") + " [\(r.evidence)]"
          + (r.fallback.map { " note: \($0)" } ?? ""))
      }
      if rows.count > 30 { print("… \(rows.count - 30) more rows\(out.map { " in \($0)" } ?? "")") }
    }
  }
}
