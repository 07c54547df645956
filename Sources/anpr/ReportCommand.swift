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
    @OptionGroup var storeOptions: StoreOptions
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
      try requireDistinct(outputs: [("--out", out), ("--patrol-csv", patrolCsv), ("--patrol-gpkg", patrolGpkg), ("--pdf", pdf)], inputs: [("--store", storeOptions.store), ("--comparison", comparison), ("--model", model), ("--groups", groups), ("--roads", roads), ("--template", template)])
      let (store, clock) = try storeOptions.open()
      try audited(try storeOptions.governance.begin("report", storePath: storeOptions.store, store: store)) { try report(store, clock: clock) }
    }

    func report(_ store: ReadStore, clock: LocalClock) throws -> [String: Int] {
      var input = ReportInput(storePath: storeOptions.store, summary: store.summary(clock: clock), clock: clock)
      input.title = title
      input.marking = marking
      input.storeID = store.header.storeID
      input.dataFingerprint = store.fingerprint
      // When the report was made: now, or SOURCE_DATE_EPOCH (the reproducible-builds convention) for the same bytes twice.
      input.generatedAt = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap { Int64($0) } ?? Int64(Date().timeIntervalSince1970)
      input.modelFiles = [model].compactMap { $0 }
      input.moves = ReportInput.recordedMoves(store)
      if let roads {
        let lons = store.siteLocations.map(\.longitude), lats = store.siteLocations.map(\.latitude)
        if let lo0 = lons.min(), let lo1 = lons.max(), let la0 = lats.min(), let la1 = lats.max() {
          let layer = try RoadLayer.read(path: roads, longitudes: lo0...lo1, latitudes: la0...la1)
          print("roads: \(layer.lines.count) lines from \(roads) (\(layer.skippedOutside) outside the cameras' area and \(layer.skippedNotLines) features that are not lines left out)")
          input.roads = layer
        }
      }
      input.siteNames.merge(ReportInput.siteNames(store)) { mine, _ in mine }
      if let comparison { input.comparison = try ComparisonFile.read(path: comparison) }
      if model == nil && (patrolCsv != nil || patrolGpkg != nil) { throw ValidationError("--patrol-csv and --patrol-gpkg need --model (the plan comes from its forecast).") }
      if let model {
        let (header, saved) = try Training.loadHotspot(model)
        let modelClock = try storeOptions.clocks(model: header).model
        let (o, note) = try origin.origin(store, clock: modelClock)
        print(note)
        let fc = try Training.forecast(model: saved, store: store, clock: modelClock, days: days, asOf: o)
        input.origin = o
        input.forecast = fc
        input.forecastModel = saved.name
        input.window = try window.map { s in do { return try ShiftWindow.parse(s) } catch { throw ValidationError("\(error)") } }
        let shiftList = try { do { return try Shift.parseList(shifts) } catch { throw ValidationError("--shifts: \(error)") } }()
        input.shifts = shiftList
        input.plan = patrolPlan(fc, shifts: shiftList, officers: officers, clock: clock)
          + patrolPlan(fc, shifts: shiftList, officers: officers, clock: clock, byDay: true)
        if let patrolCsv { try write(PatrolPlanFile.table(input.plan.filter { $0.day != nil }), to: patrolCsv, excel: false) }
        if let patrolGpkg {
          try writeAtomically(try PatrolPlanFile.geoPackage(input.plan.filter { $0.day != nil }, lastChange: Timestamp.iso8601(o)), to: patrolGpkg)
        }
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
      let html: String
      if let template {
        let text: String
        do { text = try String(contentsOfFile: template, encoding: .utf8) } catch { throw CLIError("\(template): cannot read the report template (\(error.localizedDescription))") }
        do { html = try HTMLReport.render(input, template: text) } catch { throw CLIError("\(template): \(error)") }
      } else {
        html = HTMLReport.render(input)
      }
      // The PDF first: if Chromium is missing or fails, nothing is written and the command fails.
      let pdfBytes = try pdf.map { _ in try PDFPrinter.pdf(html: html) }
      try write(html, to: out)
      print("report: \(out)")
      if let pdf, let pdfBytes {
        try writeAtomically(pdfBytes, to: pdf)
        print("PDF: \(pdf) (\(PDFPrinter.pageCount(pdfBytes)) A4 pages)")
      }
      return ["groups": input.groups.count]
    }
  }
}
