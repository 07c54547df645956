import ArgumentParser
import Evaluation
import Foundation
import Governance
import Hotspots
import Linkage
import ModelCatalogue
import Modelling
import Reads
import Reporting
import Routes
import Statistics

/// Options shared by every command that reads a store.
struct StoreOptions: ParsableArguments {
  @Option(help: "Read store written by 'anpr ingest'.") var store: String
  @Option(help: "Analyst's time zone for hours, days and shifts (IANA name; default Europe/London, or a trained model's own zone).")
  var timezone: String?
  @Option(help: "Seed for every random choice; same seed, same output.") var seed: UInt64 = 1
  @OptionGroup var governance: GovernanceOptions

  static let defaultZone = "Europe/London"

  func open() throws -> (ReadStore, LocalClock) { (try openStore(store), try LocalClock(identifier: timezone ?? Self.defaultZone)) }

  /// The clocks for using a trained model: the model's own (its hours and weekdays were learned on it)
  /// and the one to show windows in — `--timezone` when given, else the model's. A model from before
  /// zones were recorded uses `--timezone` (default Europe/London) for both.
  func clocks(model header: ModelFileHeader) throws -> (model: LocalClock, display: LocalClock, note: String?) {
    try Self.clocks(model: header, timezone: timezone)
  }

  static func clocks(model header: ModelFileHeader, timezone: String?) throws -> (model: LocalClock, display: LocalClock, note: String?) {
    let display = try LocalClock(identifier: timezone ?? header.timeZone ?? Self.defaultZone)
    guard let trained = header.timeZone else { return (display, display, nil) }
    let model = try LocalClock(identifier: trained)
    let note = trained == display.timeZone.identifier ? nil
      : "the model learned its hours on \(trained) time; windows are shown in \(display.timeZone.identifier) time (the same instants, converted)"
    return (model, display, note)
  }
}

/// Parses `--target` and makes it safe and meaningful for `store`: plates in a watch list are
/// pseudonymised with the key (never kept as plates), and a list that matches no vehicle is an error.
func resolveTarget(_ s: String, store: ReadStore, keyFile: String?) throws -> Target {
  let t = try parseTarget(s).pseudonymised(for: store, with: try Pseudonymiser.load(file: keyFile))
  try t.requireMatches(in: store)
  return t
}

/// What a target looks up, for the audit entry: the vehicles of a watch list or vehicle list.
func auditScope(_ t: Target) -> AuditScope {
  if let ids = t.listedIDs { return AuditScope(vehicles: ids) }
  return AuditScope()
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
  // Actor groups from 'anpr link': one group (group=GROUPS.csv:G1), as the periods of use it holds
  // (only those reads of each car count), or every group (groups=GROUPS.csv), each read weighted by
  // its member's link confidence.
  if s.hasPrefix("group=") || s.hasPrefix("groups=") {
    let reference = String(s.drop { $0 != "=" }.dropFirst())
    do {
      if s.hasPrefix("group=") { return .vehicles(Array(Set(try GroupsFile.members(reference: reference).ids)).sorted()) }
      let w = try GroupsFile.memberConfidences(path: reference)
      let ids = w.keys.sorted()
      return .linkedGroups(ids: ids, weights: ids.map { w[$0]! })
    } catch { throw ValidationError("--target: \(error)") }
  }
  do { return try Target.parse(s) } catch { throw ValidationError("\(error)") }
}

func write(_ text: String, to path: String) throws {
  try writeAtomically(text, to: path)
}

/// Writes a table as CSV (with a UTF-8 byte-order mark for Excel when asked).
func write(_ table: CSVTable, to path: String, excel: Bool) throws {
  try write(table.encoded(byteOrderMark: excel, neutraliseFormulas: excel), to: path)
}

/// Options shared by every command that writes CSV.
struct CSVOptions: ParsableArguments {
  @Flag(help: "CSV for Excel: a UTF-8 byte-order mark (dashes and accents shown right), and text starting with = + - @ prefixed with ' so it is not run as a formula.")
  var excel = false
}

/// Statistics computed elsewhere, instead of a store: counts for hotspot models, transitions for route
/// models, and the units (sites) both refer to.
struct StatisticsInput: ParsableArguments {
  @Option(help: "Statistics from 'anpr stats' / 'anpr merge' (counts, transitions, registry) instead of a store.") var stats: String?
  @Option(help: "Counts computed elsewhere (unit_id,bin_start,count) instead of a store, for hotspot models.") var counts: String?
  @Option(help: "Transitions computed elsewhere (from_site,to_site,hour,count[,mean_seconds]) instead of a store, for route models.")
  var transitions: String?
  @Option(help: "Units for --counts or --transitions (cameras.csv, or unit_id,latitude,longitude).") var units: String?
  @Option(help: "Coordinate system of --units, e.g. EPSG:27700 (easting,northing columns); default WGS84.") var crs: String?

  /// As inputs for `requireDistinct`.
  var inputs: [(option: String, path: String?)] { [("--stats", stats), ("--counts", counts), ("--transitions", transitions), ("--units", units)] }

  /// Throws unless --counts/--transitions come with --units.
  func validate() throws {
    if (counts != nil || transitions != nil) && units == nil {
      throw ValidationError("--counts and --transitions need --units (cameras.csv or unit_id,latitude,longitude).")
    }
  }
}

/// Point events (recorded crime, calls for service) counted on a grid, for `train` and `forecast`.
struct EventsInput: ParsableArguments {
  @Option(help: "Point events CSV (event_id,timestamp,latitude,longitude,category) instead of a store: hotspot models on a grid of cells.")
  var events: String?
  @Option(help: "Grid cell size for --events, metres (training only: a trained model keeps its grid).") var cellMetres = 500.0
  @Option(help: "Only events of this category (e.g. Drugs); a model trained on one category forecasts it by default.") var category: String?
}

extension ANPR {
  struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Fit the model a spec file describes and save it.",
      discussion: """
        From a store, or from statistics computed elsewhere: --counts with --units for hotspot models,
        --transitions with --units for route models (order 1). Hotspot models also learn from point events
        (--events, e.g. police.uk crime) counted on a grid of --cell-metres; the model keeps the grid.
        """)
    @Option(help: "Read store written by 'anpr ingest'.") var store: String?
    @OptionGroup var statistics: StatisticsInput
    @OptionGroup var eventsInput: EventsInput
    @Option(help: "Analyst's time zone for hours, days and shifts (IANA name); recorded in the model.") var timezone = StoreOptions.defaultZone
    @Option(help: "Model spec, e.g. Models/poisson-hotspot.yaml.") var spec: String
    @Option(help: "What hotspot models count: all, keeper=rental, vehicles=ID,ID, watchlist=FILE, group=GROUPS.csv:G1, groups=GROUPS.csv (every linked group, each read weighted by its link confidence).") var target = "all"
    @Option(help: "Model file to write (default: trained/<name>.model.json).") var out: String?
    @Option(help: "Train only on reads before this time (ISO 8601).") var until: String?
    @Option(help: "Key the store was pseudonymised with, for a watch list of plates (or set ANPR_KEY).") var keyFile: String?
    @OptionGroup var governance: GovernanceOptions

    func validate() throws {
      if !FileManager.default.fileExists(atPath: spec) { throw ValidationError("No spec at '\(spec)'; see Models/.") }
      _ = try parseTarget(target)
      if [store != nil, eventsInput.events != nil, statistics.stats != nil, statistics.counts != nil, statistics.transitions != nil].filter({ $0 }).count != 1 {
        throw ValidationError("Give one of --store, --events, --stats, --counts (with --units) or --transitions (with --units).")
      }
      if eventsInput.category != nil && eventsInput.events == nil { throw ValidationError("--category applies to --events") }
      if statistics.stats != nil && until != nil { throw ValidationError("--until applies to a store; statistics cover the shards they were made from (make them from the training span)") }
      if statistics.transitions != nil && until != nil { throw ValidationError("--until does not apply to --transitions: transition counts have no times (count them from the training span)") }
    }
    func run() throws {
      let clock = try LocalClock(identifier: timezone)
      let s = try SpecFile.load(spec).localised(clock)
      let path = out ?? "trained/\(s.name).model.json"
      let watchlist = target.hasPrefix("watchlist=") ? String(target.dropFirst(10)) : nil
      try requireDistinct(outputs: [("--out", path)], inputs: [("--store", store), ("--events", eventsInput.events), ("--spec", spec), ("--key-file", keyFile),
                                                              ("--target watchlist", watchlist)] + statistics.inputs)
      try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      let summary: String
      let (counts, transitions, units, crs) = (statistics.counts, statistics.transitions, statistics.units, statistics.crs)
      if let statsPath = statistics.stats {
        let stats = try StatisticsFile.read(statsPath)
        summary = try Training.train(spec: s, statistics: stats, target: try parseTarget(target), clock: clock, to: path).1
      } else if let events = eventsInput.events {
        guard target == "all" else { throw ValidationError("--target applies to a store's reads; for events, choose them with --category") }
        guard s.isHotspot else { throw ValidationError("\(s.name) is a \(s.family.rawValue) model: only hotspot models learn from point events") }
        let counted = try CountTable.events(path: events, cellMetres: eventsInput.cellMetres, binning: s.bin, category: eventsInput.category,
                                            before: try until.map { try parseTime($0, option: "--until") })
        for note in counted.notes { print("note: \(note)") }
        summary = try Training.train(spec: s, table: counted.table, target: .allReads, clock: clock, to: path, eventGrid: counted.grid).1
      } else if let counts, let units {
        guard target == "all" else { throw ValidationError("--target applies to a store's reads; counts are already of one target") }
        var table = try CountTable.fromCSV(counts: counts, units: units, binning: s.bin, crs: crs)
        if let until = try until.map({ try parseTime($0, option: "--until") }) {
          // The bins that end by --until (a bin it cuts holds counts from after it).
          let keep = table.binStarts.prefix { table.binning.next($0) <= until }.count
          guard keep > 0 else { throw ValidationError("--until \(self.until!): no bin of \(counts) ends by then (its first starts \(Timestamp.iso8601(table.firstBin)))") }
          if keep < table.binCount { print("note: trained on the \(keep) of \(table.binCount) bins that end by --until") }
          table = table.slice(bins: 0..<keep)
        }
        summary = try Training.train(spec: s, table: table, target: .allReads, clock: clock, to: path).1
      } else if let transitions, let units {
        let u = try CountTable.readUnits(path: units, crs: crs)
        summary = try Training.train(spec: s, transitions: try TransitionCounts.readRows(path: transitions, sites: u.map(\.id)), units: u,
                                     clock: clock, to: path).1
      } else {
        let opened = try openStore(store!)
        let t = try resolveTarget(target, store: opened, keyFile: keyFile)
        let audit = try governance.begin("train", storePath: store, store: opened, key: try Pseudonymiser.load(file: keyFile), scope: auditScope(t))
        var text = ""
        try audited(audit) {
          text = try Training.train(spec: s, store: opened, target: t, clock: clock,
                                    until: try until.map { try parseTime($0, option: "--until") }, to: path).1
          return ["models_written": 1]
        }
        summary = text
      }
      print(summary)
      print("model: \(path)")
    }
  }

  struct Forecast: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Forecast hotspots with a trained model: expected counts per site and hour with 90% intervals.",
      discussion: """
        Writes every site and hour as CSV, and the sites ranked for a window (e.g. --window 'Thu 16-19') as CSV and GeoJSON.
        The history is a store's reads, counts computed elsewhere (--counts with --units), or point events (--events)
        for a model trained on them (counted on the model's grid); the forecast starts after it.
        """)
    @Option(help: "Read store written by 'anpr ingest'.") var store: String?
    @Option(help: "Point events CSV (event_id,timestamp,latitude,longitude,category) as the history, for a model trained with --events.")
    var events: String?
    @Option(help: "Only events of this category (default: the one the model was trained on).") var category: String?
    @Option(help: "Counts computed elsewhere (unit_id,bin_start,count) as the history instead of a store.") var counts: String?
    @Option(help: "Units for --counts (cameras.csv, or unit_id,latitude,longitude).") var units: String?
    @Option(help: "Coordinate system of --units, e.g. EPSG:27700 (easting,northing columns); default WGS84.") var crs: String?
    @Option(help: "Time zone to show windows in (IANA name; default: the model's own).") var timezone: String?
    @Option(help: "Trained hotspot model (from 'anpr train').") var model: String
    @OptionGroup var origin: OriginOption
    @Option(help: "Days to forecast from the origin.") var days = 7
    @Option(help: "Ranked list for a local time window, e.g. 'Thu 16-19' or '22-06'.") var window: String?
    @Option(help: "CSV of every site and bin (what the numbers are goes beside it in FILE.meta.json).") var out: String?
    @Option(help: "CSV of the sites ranked for the window (all sites, not only --top).") var ranked: String?
    @Option(help: "GeoJSON of ranked sites (QGIS opens it).") var geojson: String?
    @Option(help: "KML of ranked sites or cells (Google Earth and QGIS open it).") var kml: String?
    @Option(help: "GeoPackage of ranked sites (points) or cells (polygons): one layer, anprkit_hotspots, for QGIS, ArcGIS or GDAL.") var gpkg: String?
    @Option(help: "Show this many top sites.") var top = 10
    @OptionGroup var csvOptions: CSVOptions
    @OptionGroup var governance: GovernanceOptions
    @Flag(help: "Print the ranked list as JSON.") var json = false

    func run() throws {
      try requireDistinct(outputs: [("--out", out), ("--out (metadata)", out.map { $0 + ".meta.json" }), ("--ranked", ranked), ("--geojson", geojson), ("--kml", kml), ("--gpkg", gpkg)],
                          inputs: [("--store", store), ("--events", events), ("--model", model), ("--counts", counts), ("--units", units)])
      if [store != nil, events != nil, counts != nil].filter({ $0 }).count != 1 { throw ValidationError("Give one of --store, --events, or --counts with --units.") }
      let opened = try store.map(openStore)
      if let opened {
        try audited(try governance.begin("forecast", storePath: store, store: opened)) { try forecast(opened); return ["days": days] }
      } else { try forecast(nil) }
    }

    func forecast(_ opened: ReadStore?) throws {
      let (header, saved) = try Training.loadHotspot(model)
      let (modelClock, clock, zoneNote) = try StoreOptions.clocks(model: header, timezone: timezone)
      let w = try window.map { s -> ShiftWindow in do { return try ShiftWindow.parse(s) } catch { throw ValidationError("\(error)") } }
      let f: HotspotForecast
      var originNote: String? = nil
      var historyNotes: [String] = []
      if origin.at != nil && opened == nil { throw ValidationError("--at needs --store (counts and events are forecast after their last bin)") }
      if let grid = saved.eventGrid, events == nil {
        throw ValidationError("\(model) forecasts grid cells of point events (\(grid.description)); give its history with --events")
      }
      if category != nil && events == nil { throw ValidationError("--category applies to --events") }
      if let events {
        guard let grid = saved.eventGrid else {
          throw ValidationError("\(model) was trained on camera sites, not on a grid of events; train one with 'anpr train --events'")
        }
        if let category, let trained = grid.category, category != trained {
          print("note: the model was trained on \(trained) events; its history here is \(category) events")
        }
        let counted = try CountTable.events(path: events, grid: grid, binning: saved.binning, category: category ?? grid.category)
        historyNotes = counted.notes
        f = Training.forecast(model: saved, history: counted.table, clock: modelClock, days: days)
      } else if let counts, let units {
        let history = try CountTable.fromCSV(counts: counts, units: units, binning: saved.binning, crs: crs)
        f = Training.forecast(model: saved, history: history, clock: modelClock, days: days)
      } else if let opened {
        // The origin on the model's clock (its days), so the bins do not depend on the zone they are shown in.
        let (o, note) = try origin.origin(opened, clock: modelClock)
        originNote = note
        f = try Training.forecast(model: saved, store: opened, clock: modelClock, days: days, asOf: o)
      } else { throw ValidationError("Give --store, or --counts with --units.") }
      if let out {
        try write(f.table(), to: out, excel: csvOptions.excel)
        var meta = f.metadata(clock: clock)
        if !historyNotes.isEmpty { meta.notes = historyNotes }
        try writeJSON(meta, to: out + ".meta.json")
      }
      if let ranked { try write(f.rankedTable(window: w, clock: clock), to: ranked, excel: csvOptions.excel) }
      if let geojson { try write(try f.geoJSON(window: w, clock: clock), to: geojson) }
      if let kml { try write(f.kml(window: w, clock: clock), to: kml) }
      if let gpkg { try writeAtomically(try f.geoPackage(window: w, clock: clock), to: gpkg) }
      let rows = f.ranked(window: w, clock: clock, top: top)
      if json { try printJSONLine(rows); return }
      let what = saved.eventGrid.map { "\($0.category ?? "all") events per grid cell" } ?? "\(saved.target)"
      print("\(saved.name): \(days)-day forecast of \(what) from \(Timestamp.iso8601(f.binStarts.first ?? 0)), window \(w?.description ?? "all hours") (\(clock.timeZone.identifier) time)")
      if let originNote { print("  \(originNote)") }
      for note in historyNotes { print("  note: \(note)") }
      if let zoneNote { print("  note: \(zoneNote)") }
      if !f.fallbackUnits.isEmpty { print("  note: \(f.fallbackUnits.count) site(s) new since training, forecast by fallback: \(f.fallbackUnits.prefix(5).joined(separator: ", "))") }
      let width = max(4, rows.map(\.unit.count).max() ?? 4)
      print("rank  " + (saved.eventGrid == nil ? "site" : "cell").padding(toLength: width, withPad: " ", startingAt: 0) + "  expected  90% interval  share")
      for r in rows {
        print(String(format: "%4d  %@  %8.2f  [%3.0f, %3.0f]    %4.1f%%", r.rank, r.unit.padding(toLength: width, withPad: " ", startingAt: 0), r.expected, r.lower90, r.upper90, r.share * 100))
      }
      if let out { print("all sites and hours: \(out) (about it: \(out).meta.json)") }
      if let ranked { print("ranked sites: \(ranked)") }
      if let geojson { print("map layer: \(geojson)") }
      if let kml { print("KML: \(kml)") }
      if let gpkg { print("GeoPackage: \(gpkg)") }
    }
  }

  struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Backtest one model spec (hotspot or route): its metrics over the windows with 95% CIs.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var backtest: BacktestOptions
    @Option(help: "Model spec.") var spec: String
    @Option(help: "What hotspot models count.") var target = "all"
    @Option(help: "Key the store was pseudonymised with, for a watch list of plates (or set ANPR_KEY).") var keyFile: String?
    @Flag(help: "Print JSON.") var json = false
    func run() throws {
      let (store, clock) = try storeOptions.open()
      let s = try SpecFile.load(spec)
      if s.isNextAppearance { throw ValidationError("evaluate backtests hotspot and route specs; a next-appearance spec is backtested by 'anpr compare --spec \(spec)'") }
      var o = CompareOptions()
      o.specs = [s]; o.target = try resolveTarget(target, store: store, keyFile: keyFile); o.plan = backtest.plan; o.routes = s.isRoute; o.seed = storeOptions.seed
      let audit = try storeOptions.governance.begin("evaluate", storePath: storeOptions.store, store: store, key: try Pseudonymiser.load(file: keyFile),
                                                    scope: auditScope(o.target))
      try audited(audit) {
        let c = try CompareRun.run(store: store, options: o, clock: clock)
        if json { try printJSONLine(c) } else { print(c.table(metrics: s.isRoute ? routeMetricNames : hotspotMetricNames)) }
        return ["windows": c.windows]
      }
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
    @OptionGroup var statistics: StatisticsInput
    @Option(help: "Grid cell size for --events, metres.") var cellMetres = 500.0
    @Option(help: "Only this event category (e.g. Drugs).") var category: String?
    @Option(help: "Bin for --events or --counts: 1h, 1d, month, ... (default: month for events, 1h for counts)") var bin: String?
    @Option(help: "Grid offsets averaged for --events.") var gridOffsets = 4
    @Option(help: "Analyst's time zone (IANA name).") var timezone = "Europe/London"
    @Option(help: "Seed for every random choice; same seed, same output.") var seed: UInt64 = 1
    @OptionGroup var backtest: BacktestOptions
    @Option(help: "Model spec (repeatable).") var spec: [String] = []
    @Option(help: "What hotspot models count: all, keeper=rental, vehicles=ID,ID, watchlist=FILE, group=GROUPS.csv:G1, groups=GROUPS.csv (every linked group, each read weighted by its link confidence).") var target = "all"
    @Option(help: "Simulator truth (truth.json or its directory): adds the oracle rows.") var truth: String?
    @Option(help: "Actor groups from 'anpr link' for the next-appearance backtest: the subjects, or with --truth a row forecasting each truth group from its best-matching linked group.")
    var groups: String?
    @Option(help: "Key the store was pseudonymised with (to match truth plates).") var keyFile: String?
    @OptionGroup var governance: GovernanceOptions
    @Option(help: "Write the comparison as CSV.") var csv: String?
    @Option(help: "Write the comparison as JSON.") var out: String?
    @Flag(help: "Skip the route models.") var noRoutes = false
    @Flag(help: "Skip the next-appearance backtest (where and when each repeat vehicle, or actor group, is next seen).") var noNextAppearance = false
    @OptionGroup var csvOptions: CSVOptions
    @Flag(help: "Print the comparison as one JSON object on the last line.") var json = false

    func validate() throws {
      _ = try parseTarget(target)
      for s in spec where !FileManager.default.fileExists(atPath: s) { throw ValidationError("No spec at '\(s)'; see Models/.") }
      if [store != nil, events != nil, statistics.stats != nil, statistics.counts != nil, statistics.transitions != nil].filter({ $0 }).count != 1 {
        throw ValidationError("Give one of --store (ANPR reads), --events (point events), --stats, --counts or --transitions (with --units).")
      }
    }
    func run() throws {
      try requireDistinct(outputs: [("--csv", csv), ("--out", out)],
                          inputs: [("--store", store), ("--events", events), ("--truth", truth), ("--groups", groups), ("--key-file", keyFile)]
                            + statistics.inputs + spec.map { ("--spec", $0) })
      let clock = try LocalClock(identifier: timezone)
      let (counts, transitions, units, crs) = (statistics.counts, statistics.transitions, statistics.units, statistics.crs)
      if statistics.stats != nil || (counts != nil && units != nil) {
        let binning: Binning
        do { binning = try Binning.parse(bin ?? "1h").localised(clock) } catch { throw ValidationError("\(error)") }
        let table: CountTable
        if let statsPath = statistics.stats {
          let t = try parseTarget(target)
          table = try StatisticsFile.read(statsPath).countTable(target: t, binning: binning)
        } else { table = try CountTable.fromCSV(counts: counts!, units: units!, binning: binning, crs: crs) }
        try emit(try CountsCompare.run(table: table, specs: try spec.map { try SpecFile.load($0).localised(clock) }, plan: backtest.plan, clock: clock,
                                       source: statistics.stats.map { "\(target) from statistics \($0)" } ?? "counts from \(counts!)",
                                       fromStatistics: statistics.stats != nil, seed: seed))
        return
      }
      if let transitions, let units {
        let u = try CountTable.readUnits(path: units, crs: crs)
        let rows = try TransitionCounts.readRows(path: transitions, sites: u.map(\.id))
        try emit(try TransitionsCompare.run(rows: rows, units: u, specs: try spec.map { try SpecFile.load($0) },
                                            source: "transitions from \(transitions)", seed: seed))
        return
      }
      if let events {
        let binning: Binning
        do { binning = try Binning.parse(bin ?? "month") } catch { throw ValidationError("\(error)") }
        // Monthly bins: BacktestPlan starts after three months of history.
        let c = try EventsCompare.run(path: events, cellMetres: cellMetres, binning: binning, category: category,
                                      specs: try spec.map { try SpecFile.load($0) }, plan: backtest.plan, clock: clock, offsets: gridOffsets, seed: seed)
        try emit(c)
        return
      }
      let store = try openStore(store!)
      var o = CompareOptions()
      o.specs = try spec.map { try SpecFile.load($0) }
      o.target = try resolveTarget(target, store: store, keyFile: keyFile)
      let audit = try governance.begin("compare", storePath: self.store, store: store, key: try Pseudonymiser.load(file: keyFile), scope: auditScope(o.target))
      try audited(audit) { ["windows": try compare(store, o, clock: clock)] }
    }

    func compare(_ store: ReadStore, _ options: CompareOptions, clock: LocalClock) throws -> Int {
      var o = options
      o.plan = backtest.plan
      o.routes = !noRoutes
      o.nextAppearance = !noNextAppearance
      o.seed = seed
      if let truth { o.truthDirectory = try TruthDirectory.resolve(truth) }
      if let groups {
        if noNextAppearance { throw ValidationError("--groups is for the next-appearance backtest; drop --no-next-appearance") }
        do { o.linkedGroups = try GroupsFile.read(path: groups).periodsOfUse(in: store, path: groups) }
        catch { throw CLIError("--groups: \(error)") }
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
      return c.windows
    }

    func emit(_ c: Comparison) throws {
      if let csv { try write(c.table, to: csv, excel: csvOptions.excel) }
      if let out {
        try ComparisonFile.write(c, to: out)
      }
      if json { try printJSONLine(c); return }
      let hot = c.only(.hotspot), route = c.only(.route)
      // The hotspot backtest's windows, else the most any row was scored on (a comparison of routes alone).
      let windows = c.windows > 0 ? c.windows : (c.models.map(\.windows).max() ?? 0)
      print("Backtest: \(windows) windows; \(hot.models.isEmpty ? "data" : "hotspot target"): \(c.target)")
      if !hot.models.isEmpty {
        print(hot.table(metrics: Metric.hotspotSummary.map(\.name)))
        let pits = hot.models.compactMap { r in r.pit.map { (r.name, $0) } }
        if !pits.isEmpty {
          print("\nPIT histogram of the cells' counts under each forecast (10 bins, 0.10 each when the predictive distribution")
          print("is calibrated; high ends: intervals too narrow; high middle: too wide; a slope: biased):")
          let width = pits.map(\.0.count).max()!
          for (name, h) in pits {
            print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + h.map { String(format: "%.2f", $0) }.joined(separator: " ")
                  + String(format: "   |PIT − uniform| %.2f", h.reduce(0) { $0 + abs($1 - 1 / Double(h.count)) }))
          }
        }
      }
      if !route.models.isEmpty {
        if !hot.models.isEmpty { print("") }
        let metrics = routeMetricNames.filter { m in route.models.contains { $0.metrics[m] != nil } }
        print(route.table(metrics: metrics))
      }
      if let p = c.pairedTest {
        print(String(format: "\npaired test on %@: %@ − %@ = %.3f [%.3f, %.3f], p = %.3f", p.metric, p.better, p.worse,
                     p.difference.value, p.difference.ciLow, p.difference.ciHigh, p.pValue))
      }
      let next = c.only(.nextAppearance)
      if !next.models.isEmpty {
        print("\nNext appearance (first visit in the 7 days after each origin; hit@k of the (hour, entry site) window):")
        print(next.table(metrics: NextAppearanceBacktest.metricNames))
      }
      for n in c.notes { print("note: \(n)") }
      let hasOracle = c.models.contains { $0.role == .oracle }
      print("(values are means over windows with 95% bootstrap intervals\(hasOracle ? "; % = fraction of the oracle" : ""))")
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
    @Option(help: "Key the store was pseudonymised with, for a watch list of plates (or set ANPR_KEY).") var keyFile: String?
    @Flag(help: "Print JSON.") var json = false
    func validate() throws {
      if grid.isEmpty { throw ValidationError("Give at least one --grid name=v1,v2.") }
      if !hotspotMetricNames.contains(metric) { throw ValidationError("--metric must be one of \(hotspotMetricNames.joined(separator: ", "))") }
    }
    func run() throws {
      let (store, clock) = try storeOptions.open()
      let t = try resolveTarget(target, store: store, keyFile: keyFile)
      let audit = try storeOptions.governance.begin("sweep", storePath: storeOptions.store, store: store, key: try Pseudonymiser.load(file: keyFile),
                                                    scope: auditScope(t))
      try audited(audit) { try sweep(store, t, clock: clock) }
    }

    func sweep(_ store: ReadStore, _ t: Target, clock: LocalClock) throws -> [String: Int] {
      let progress = ProgressLine("sweep")
      let r = try Sweep.run(spec: try SpecFile.load(spec), grid: grid, store: store, target: t, plan: backtest.plan,
                            clock: clock, metric: metric) { d, n in progress.update(done: Double(d), total: Double(n), unit: "windows") }
      progress.finish()
      if json { try printJSONLine(r); return ["settings": r.settings.count, "windows": r.bestPerWindow.count] }
      for s in r.settings {
        let e = r.scores[s]!
        print(String(format: "%@  %@ %.3f [%.3f, %.3f]", s.padding(toLength: 40, withPad: " ", startingAt: 0), r.metric, e.value, e.ciLow, e.ciHigh))
      }
      print("best: \(r.best); best in \(Int((r.stability * 100).rounded()))% of \(r.bestPerWindow.count) windows")
      return ["settings": r.settings.count, "windows": r.bestPerWindow.count]
    }
  }

  struct PredictRoute: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "predict-route",
      abstract: "Next camera site and arrival window for a vehicle's current trip, for a linked group (whatever car it drives), or for every vehicle seen recently.")
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Trained route model (markov-route).") var model: String
    @OptionGroup var selection: VehicleSelection
    @Option(help: "Batch: every vehicle read in the N hours before the origin.") var recentHours: Int?
    @Option(help: ArgumentHelp("Predict as of this time (ISO 8601): reads after it are not used. Default: just after the store's last read (a trip in progress now).",
                               valueName: "time")) var at: String?
    @Option(help: "Top next sites to list.") var top = 3
    @Option(help: "CSV output file.") var out: String?
    @OptionGroup var csvOptions: CSVOptions
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
      let chosen = [selection.plate != nil, selection.vehicle != nil, selection.group != nil, recentHours != nil].filter { $0 }.count
      if chosen != 1 { throw ValidationError("Give exactly one of --plate, --vehicle, --group or --recent-hours.") }
    }

    func run() throws {
      try requireDistinct(outputs: [("--out", out)], inputs: [("--store", storeOptions.store), ("--model", model)])
      let store = try openStore(storeOptions.store)
      let audit = try storeOptions.governance.begin("predict-route", storePath: storeOptions.store, store: store,
                                                    key: try selection.key(store), scope: try selection.auditScope(store))
      try audited(audit) { ["rows": try predict(store)] }
    }

    func predict(_ store: ReadStore) throws -> Int {
      let (header, saved) = try Training.loadRoute(model)
      let clock = try storeOptions.clocks(model: header).model  // time bands as the model learned them; times printed in UTC
      guard saved.sites == store.sites else { throw CLIError("\(model) was trained on a different camera registry; retrain it on this store") }
      guard let first = store.header.timeStart, let last = store.header.timeEnd else { throw CLIError("the store has no reads") }
      let cut = try at.map { try parseTime($0, option: "--at") } ?? (last + 1)
      guard cut > first else { throw CLIError("--at is before the store's first read (\(Timestamp.iso8601(first))): no trip to continue") }
      if !json { print("as of \(Timestamp.iso8601(cut))" + (at == nil ? " (just after the last read; --at chooses another time)" : "")) }
      let subject: RoutePrediction.Subject
      if let recentHours { subject = .seenInLast(hours: recentHours) } else {
        let (members, spans, _) = try selection.resolveWithSpans(store)
        subject = .vehicles(members, spans: spans)
      }
      let rows = RoutePrediction.predict(store: store, route: saved.route, subject: subject, cut: cut, top: top, clock: clock)
      if let out { try write(RoutePrediction.table(rows), to: out, excel: csvOptions.excel) }
      if json { try printJSONLine(rows); return rows.count }
      for r in rows.prefix(30) {
        if r.rank == 1 { print("\(r.vehicle) at \(r.lastSite) \(r.lastSeen): P(trip ends here) = \(String(format: "%.2f", r.tripEndsHere)); if it goes on:") }
        print("  #\(r.rank) \(r.nextSite) p=\(String(format: "%.2f", r.probability))"
          + (r.arrivalMedian.map { " arrive ~\($0) (80%: \(r.arrivalLow80!)–\(r.arrivalHigh80!))" } ?? "") + " [\(r.evidence)]"
          + (r.fallback.map { " note: \($0)" } ?? ""))
      }
      if rows.count > 30 { print("… \(rows.count - 30) more rows\(out.map { " in \($0)" } ?? "")") }
      return rows.count
    }
  }
}
