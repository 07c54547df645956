import ArgumentParser
import Evaluation
import Reporting
import Foundation
import Governance
import Hotspots
import Linkage
import ModelCatalogue
import Modelling
import Reads

extension ANPR {
  struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write one self-contained HTML report: comparison, hit-rate curves, calibration, hotspot map, patrol plan, linkage leads, data quality.")
    @Option(help: "Read store written by 'anpr ingest'.") var store: String?
    @Option(help: "Point events CSV (event_id,timestamp,latitude,longitude,category) instead of a store: the map is of the grid cells a model trained with 'anpr train --events' forecasts.")
    var events: String?
    @Option(help: "Only events of this category (default: the one the model was trained on).") var category: String?
    @Option(help: "Analyst's time zone for hours, days and shifts (IANA name; default Europe/London, or a trained model's own zone).")
    var timezone: String?
    @Option(help: "Seed for every random choice; same seed, same output.") var seed: UInt64 = 1
    @OptionGroup var governance: GovernanceOptions
    @Option(help: "Comparison JSON from 'anpr compare --out'.") var comparison: String?
    @Option(help: "Hotspot model for the forecast map and patrol plan.") var model: String?
    @OptionGroup var origin: OriginOption
    @Option(help: "Days to forecast from the origin.") var days = 7
    @Option(help: "Window for the map's ranking, e.g. 'Fri 16-22'.") var window: String?
    @Option(help: "Officers (patrol areas) per shift.") var officers = 3
    @Option(help: "The force's shifts in local hours, e.g. 07-15,15-23,23-07 or early=07-15,late=15-23,night=23-07 (a shift past midnight is the night that starts on its day).")
    var shifts = "early=06-14,late=14-22,night=22-06"
    @Option(help: "Also write the patrol plan, per day and shift, as CSV.") var patrolCsv: String?
    @Option(help: "Also write the patrol areas, per day and shift, as a GeoPackage layer (circles of 600 m) for a GIS or dispatch map.") var patrolGpkg: String?
    @Option(help: "Also print the report to PDF (A4, one page per day and shift of the patrol plan) with headless Chromium.") var pdf: String?
    @Option(help: "Roads to draw under the map: GeoJSON lines in WGS 84 (e.g. OS Open Roads through ogr2ogr -t_srs EPSG:4326).") var roads: String?
    @Option(help: "A Mustache template for the page (a copy of Templates/report.mustache, restyled); default: the built-in one.") var template: String?
    @Option(help: "Groups CSV from 'anpr link'.") var groups: String?
    @Option(help: "HTML file to write.") var out: String
    @Option(help: "Report title.") var title = "ANPRKit report"
    @Option(help: "Protective marking printed at the top and foot of every page, e.g. OFFICIAL-SENSITIVE.") var marking: String?

    func run() throws {
      try requireDistinct(outputs: [("--out", out), ("--patrol-csv", patrolCsv), ("--patrol-gpkg", patrolGpkg), ("--pdf", pdf)], inputs: [("--store", store), ("--events", events), ("--comparison", comparison), ("--model", model), ("--groups", groups), ("--roads", roads), ("--template", template)])
      if (store == nil) == (events == nil) { throw ValidationError("Give --store (ANPR reads) or --events (point events, with a --model trained on them).") }
      if category != nil && events == nil { throw ValidationError("--category applies to --events") }
      let clock = try LocalClock(identifier: timezone ?? StoreOptions.defaultZone)
      if let events {
        if groups != nil { throw ValidationError("--groups needs --store (linked groups are vehicles in a store)") }
        try eventsReport(events, clock: clock)
        return
      }
      let opened = try openStore(store!)
      try audited(try governance.begin("report", storePath: store, store: opened)) { try report(opened, storePath: store!, clock: clock) }
    }

    /// The report on point events: the comparison (from 'compare --events --out'), the forecast map of
    /// the model's grid cells and the patrol plan; no store, no plates, so nothing to audit.
    func eventsReport(_ events: String, clock: LocalClock) throws {
      guard let model else { throw ValidationError("--events needs --model, a hotspot model trained with 'anpr train --events' (its grid and bins)") }
      if origin.at != nil { throw ValidationError("--at needs --store (events are forecast after their last bin)") }
      let (header, saved) = try Training.loadHotspot(model)
      guard let grid = saved.eventGrid else {
        throw ValidationError("\(model) was trained on camera sites, not on a grid of events; train one with 'anpr train --events'")
      }
      let modelClock = try StoreOptions.clocks(model: header, timezone: timezone).model
      let counted = try CountTable.events(path: events, grid: grid, binning: saved.binning, category: category ?? grid.category)
      for note in counted.notes { print("note: \(note)") }
      let fc = Training.forecast(model: saved, history: counted.table, clock: modelClock, days: days)
      var input = ReportInput(events: EventsSource(path: events, counts: counted), clock: clock)
      input.roads = try roadLayer(latitudes: fc.units.map(\.latitude), longitudes: fc.units.map(\.longitude))
      try fill(&input, forecast: fc, model: model, modelName: saved.name, origin: counted.table.end, clock: clock)
      if let comparison { input.comparison = try ComparisonFile.read(path: comparison) }
      try render(input)
    }

    /// `--roads` within the area of these points, when given.
    func roadLayer(latitudes lats: [Double], longitudes lons: [Double]) throws -> RoadLayer? {
      guard let roads, let lo0 = lons.min(), let lo1 = lons.max(), let la0 = lats.min(), let la1 = lats.max() else { return nil }
      let layer = try RoadLayer.read(path: roads, longitudes: lo0...lo1, latitudes: la0...la1)
      print("roads: \(layer.lines.count) lines from \(roads) (\(layer.skippedOutside) outside the mapped area and \(layer.skippedNotLines) features that are not lines left out)")
      return layer
    }

    /// Renders the page (the built-in template or --template) and writes it, and the PDF when asked:
    /// the PDF first, so if Chromium is missing or fails nothing is written and the command fails.
    func render(_ input: ReportInput) throws {
      let html: String
      if let template {
        let text: String
        do { text = try String(contentsOfFile: template, encoding: .utf8) } catch { throw CLIError("\(template): cannot read the report template (\(error.localizedDescription))") }
        do { html = try HTMLReport.render(input, template: text) } catch { throw CLIError("\(template): \(error)") }
      } else {
        html = HTMLReport.render(input)
      }
      let pdfBytes = try pdf.map { _ in try PDFPrinter.pdf(html: html) }
      try write(html, to: out)
      print("report: \(out)")
      if let pdf, let pdfBytes {
        try writeAtomically(pdfBytes, to: pdf)
        print("PDF: \(pdf) (\(PDFPrinter.pageCount(pdfBytes)) A4 pages)")
      }
    }

    /// The forecast, its window and the patrol plans (and their files) of a report.
    func fill(_ input: inout ReportInput, forecast fc: HotspotForecast, model: String, modelName: String, origin o: Int64, clock: LocalClock) throws {
      input.title = title
      input.marking = marking
      input.generatedAt = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap { Int64($0) } ?? Int64(Date().timeIntervalSince1970)
      input.modelFiles = [model]
      input.origin = o
      input.forecast = fc
      input.forecastModel = modelName
      input.window = try window.map { s in do { return try ShiftWindow.parse(s) } catch { throw ValidationError("\(error)") } }
      let shiftList = try { do { return try Shift.parseList(shifts) } catch { throw ValidationError("--shifts: \(error)") } }()
      input.shifts = shiftList
      // Shifts need hours: a forecast in bins of a day or longer (recorded crime by day or month) gets no plan by shift.
      if fc.binStarts.count > 1 && fc.binStarts[1] - fc.binStarts[0] >= 86400 || fc.binStarts.count == 1 {
        if patrolCsv != nil || patrolGpkg != nil { throw ValidationError("patrol plans are by shift: \(modelName) forecasts bins of a day or longer, which have no hours") }
        return
      }
      input.plan = patrolPlan(fc, shifts: shiftList, officers: officers, clock: clock)
        + patrolPlan(fc, shifts: shiftList, officers: officers, clock: clock, byDay: true)
      if let patrolCsv { try write(PatrolPlanFile.table(input.plan.filter { $0.day != nil }), to: patrolCsv, excel: false) }
      if let patrolGpkg {
        try writeAtomically(try PatrolPlanFile.geoPackage(input.plan.filter { $0.day != nil }, lastChange: Timestamp.iso8601(o)), to: patrolGpkg)
      }
    }

    func report(_ store: ReadStore, storePath: String, clock: LocalClock) throws -> [String: Int] {
      var input = ReportInput(storePath: storePath, summary: store.summary(clock: clock), clock: clock)
      input.title = title
      input.marking = marking
      input.storeID = store.header.storeID
      input.dataFingerprint = store.fingerprint
      // When the report was made: now, or SOURCE_DATE_EPOCH (the reproducible-builds convention) for the same bytes twice.
      input.generatedAt = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap { Int64($0) } ?? Int64(Date().timeIntervalSince1970)
      input.modelFiles = [model].compactMap { $0 }
      input.moves = ReportInput.recordedMoves(store)
      input.roads = try roadLayer(latitudes: store.siteLocations.map(\.latitude), longitudes: store.siteLocations.map(\.longitude))
      input.siteNames.merge(ReportInput.siteNames(store)) { mine, _ in mine }
      if let comparison { input.comparison = try ComparisonFile.read(path: comparison) }
      if model == nil && (patrolCsv != nil || patrolGpkg != nil) { throw ValidationError("--patrol-csv and --patrol-gpkg need --model (the plan comes from its forecast).") }
      if let model {
        let (header, saved) = try Training.loadHotspot(model)
        if saved.eventGrid != nil { throw ValidationError("\(model) forecasts grid cells of point events; give its history with --events instead of --store") }
        let modelClock = try StoreOptions.clocks(model: header, timezone: timezone).model
        let (o, note) = try origin.origin(store, clock: modelClock)
        print(note)
        let fc = try Training.forecast(model: saved, store: store, clock: modelClock, days: days, asOf: o)
        try fill(&input, forecast: fc, model: model, modelName: saved.name, origin: o, clock: clock)
      }
      if let groups {
        let file = try GroupsFile.read(path: groups)
        input.groups = ReportInput.groups(file)
        // Where and when each group will next appear, from the same origin as the plan (the model's
        // clock may not be the store's, so the plan's origin is reused rather than found again).
        let o: Int64
        if let planned = input.origin { o = planned } else {
          let (found, note) = try origin.origin(store, clock: clock)
          print(note)
          o = found
        }
        let travel = store.typicalTravelSeconds(until: o)
        let (naModel, naNote) = try Training.nextAppearanceModel(path: nil, store: store, origin: o, clock: clock, travel: travel)
        input.groupOutlooks = ReportInput.groupOutlooks(file, store: store, model: naModel, origin: o, clock: clock, travel: travel)
        print("linked groups: \(input.groupOutlooks.count) of \(input.groups.count) with a next-appearance forecast (\(naNote))")
      }
      try render(input)
      return ["groups": input.groups.count]
    }
  }
}
