import Foundation
import Hotspots
import Linkage
import ModelCatalogue
import Modelling
import Reads
import Routes
import Testing
import TestSupport
import Evaluation
@testable import Reporting

@Suite("Report")
struct ReportTests {
  @Test func reportHasItsSVGElementsAndNoRawPlates() throws {
    let dir = try makeTemporaryDirectory("report")
    try "camera_id,site_id,latitude,longitude\nC1,S1,51.54,0.70\nC2,S2,51.55,0.72\nC3,S3,51.53,0.74\n"
      .write(toFile: dir + "/c.csv", atomically: false, encoding: .utf8)
    var rows = "plate,camera_id,timestamp\n"
    for d in 0..<12 { for h in [8, 12, 17] { rows += "AB12CDE,C\(1 + (d + h) % 3),2026-03-\(String(format: "%02d", d + 2))T\(h):00:00Z\n" } }
    try rows.write(toFile: dir + "/r.csv", atomically: false, encoding: .utf8)
    var o = IngestOptions(readsPath: dir + "/r.csv", camerasPath: dir + "/c.csv")
    o.pseudonymiser = try Pseudonymiser(keyBytes: Array("report test key 0123456789abcdef".utf8))
    let (contents, _) = try Ingest.run(o)
    try StoreWriter.write(contents, to: dir + "/s.anpr")
    let store = try ReadStore(path: dir + "/s.anpr")
    let table = CountTable.build(store: store, target: .allReads, from: store.header.timeStart!, to: store.header.timeEnd! + 1)
    var plan = BacktestPlan(); plan.minimumTrainingDays = 8
    let scores = try HotspotBacktest.run(table: table, models: [NamedHotspotModel(name: "hm", model: HistoricalMeanModel())], plan: plan, clock: .utc)
    let comparison = Comparison.summarise(hotspot: scores, order: ["hm"], family: .hotspot, target: "all reads")
    let fc = try HistoricalMeanModel().fit(table, clock: .utc).forecast(history: table, bins: 168, clock: .utc)
    var input = ReportInput(storePath: dir + "/s.anpr", summary: store.summary(), clock: .utc)
    input.comparison = comparison
    input.forecast = fc
    input.plan = patrolPlan(fc, clock: .utc) + patrolPlan(fc, clock: .utc, byDay: true)
    input.siteNames = ["S1": "S1 (A127 London Road)", "S2": "S2 (A13)", "S3": "S3 (Seafront B1016)"]
    input.dataFingerprint = "36 reads, FNV-1a 0123456789abcdef"
    let html = HTMLReport.render(input)
    // Every plot has its axes labelled: a rotated y label and an x label under it.
    for id in ["hit-rate-curve", "calibration-plot", "reads-per-hour"] {
      let start = try #require(html.range(of: "id=\"\(id)\""))
      let plot = html[start.lowerBound..<(html[start.lowerBound...].range(of: "</svg>")?.upperBound ?? html.endIndex)]
      #expect(plot.contains("rotate(-90)") && plot.contains("text-anchor=\"middle\""), "\(id) lacks an axis label")
    }
    #expect(html.contains("data fingerprint") && html.contains("FNV-1a 0123456789abcdef"))
    // The PIT histogram of the one model: ten bars, each titled with its share.
    #expect(html.contains("id=\"pit-plot\"") && html.components(separatedBy: "class=\"pit-bar\"").count - 1 == 10)
    // A printable page per day and shift (issue 21), tables that scroll on a phone, no made-up geography.
    let pages = Set(input.plan.compactMap { a in a.day.map { "\($0) \(a.shift)" } }).count
    #expect(pages >= 7 * 3 && html.components(separatedBy: "<section class=\"patrol-page\">").count - 1 == pages)
    #expect(html.contains(".patrol-page{break-before:page}") && html.contains(".scroll{overflow-x:auto"))
    #expect(html.components(separatedBy: "<svg class=\"patrol-map\"").count - 1 == pages, "a map on every patrol page")
    #expect(!html.contains("sea to the south"))
    // The briefing comes first, in words: where and when per shift, and how far to trust the hotspot forecast.
    let briefing = try #require(html.range(of: "<h2>Briefing</h2>")), provenance = try #require(html.range(of: "<h2>Provenance</h2>"))
    #expect(briefing.lowerBound < provenance.lowerBound)
    let text = String(html[briefing.lowerBound..<provenance.lowerBound])
    for shift in ["early", "late", "night"] { #expect(text.contains("<b>\(shift) shift</b>"), "\(shift)") }
    #expect(text.contains("target reads an hour (90% interval") && text.contains("busiest on "))
    #expect(text.contains("(06:00–14:00)") && text.contains("(14:00–22:00)") && text.contains("(22:00–06:00)"), "local shift times")
    #expect(text.contains("London Road") || text.contains("A13") || text.contains("Seafront"), "road names")
    #expect(text.contains("How far to trust the hotspot forecast") && text.contains("(best model: hm)"))
    for id in ["hit-rate-curve", "calibration-plot", "hotspot-map", "reads-per-hour", "patrol-plan"] {
      #expect(html.contains("id=\"\(id)\""), "missing \(id)")
    }
    #expect(html.contains("class=\"hotspot\"") && html.contains("<polyline class=\"curve\""))
    #expect(html.components(separatedBy: "<svg").count - 1 >= 4)
    #expect(!html.contains("AB12CDE"))
    // Each linked group's next appearance (issue 15), in the group table and the briefing: the car read
    // at 08, 12 and 17h every day is next likely at one of those hours.
    let vehicle = store.vehicles[0].id
    try "group_id,vehicle,confidence,evidence\nG1,\(vehicle),0.9,same hours\n".write(toFile: dir + "/g.csv", atomically: false, encoding: .utf8)
    let groups = try GroupsFile.read(path: dir + "/g.csv")
    var withGroups = input
    withGroups.groups = ReportInput.groups(groups)
    let origin = store.header.timeEnd! / 86400 * 86400 + 86400
    let model = try NextAppearanceModel().fit(VisitHistory(visits: NextAppearanceModel.visits(store: store, until: origin, clock: .utc), siteCount: store.sites.count), clock: .utc)
    withGroups.groupOutlooks = ReportInput.groupOutlooks(groups, store: store, model: model, origin: origin, clock: .utc)
    let outlook = try #require(withGroups.groupOutlooks["G1"])
    #expect(outlook.pSeen7 > 0.9 && outlook.windows.count == 3)
    #expect(outlook.windows.allSatisfy { ["08:00", "12:00", "17:00"].contains(String($0.local.suffix(5))) }, "\(outlook.windows.map(\.local))")
    let grouped = HTMLReport.render(withGroups)
    #expect(grouped.contains("<th>next appearance (7 days)</th>") && grouped.contains("next likely "))
    #expect(!grouped.contains("AB12CDE"))
    #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"))  // self-contained
    // Provenance and a protective marking on every printed page (issue 21), A4 pages.
    input.marking = "OFFICIAL-SENSITIVE"
    input.generatedAt = 1_800_000_000
    input.origin = 1_773_360_000
    input.modelFiles = ["m.model.json"]
    let marked = HTMLReport.render(input)
    #expect(marked.components(separatedBy: "class=\"marking").count - 1 == 2, "top and foot")
    #expect(marked.contains("@page{size:A4") && marked.contains("position:fixed"))
    #expect(marked.contains("<h2>Provenance</h2>") && marked.contains("2027-01-15T08:00:00Z") && marked.contains("m.model.json")
            && marked.contains("forecast origin"))
    #expect(HTMLReport.render(input) == marked, "same input, same bytes")
    // Printed by real headless Chromium (make test installs it and sets ANPRKIT_REQUIRE_CHROMIUM): A4
    // pages, and at least one page per day and shift of the patrol plan.
    guard PDFPrinter.browser() != nil else {
      #expect(ProcessInfo.processInfo.environment["ANPRKIT_REQUIRE_CHROMIUM"] == nil, "headless Chromium (Debian chromium) is needed to print the report")
      return
    }
    let pdf = try PDFPrinter.pdf(html: marked)
    let pdfText = String(decoding: pdf, as: UTF8.self)
    #expect(PDFPrinter.pageCount(pdf) >= pages + 1, "\(PDFPrinter.pageCount(pdf)) pages for \(pages) patrol pages")
    #expect(pdfText.contains("/MediaBox [0 0 594.9") && !pdfText.contains("/MediaBox [0 0 612"), "A4, not US Letter")
    // Readable on a phone: laid out by Chromium in a 390 px frame (headless windows are at least 500 px
    // wide, so the page goes in an iframe), nothing outside a scrolling table is wider than the frame.
    let frameDir = try makeTemporaryDirectory("report390")
    let escaped = marked.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
      .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    for width in [390, 1400] {
    let harness = """
      <!DOCTYPE html><html><body><iframe id="f" style="width:\(width)px;height:800px;border:0" srcdoc="\(escaped)"></iframe>
      <script>var f=document.getElementById("f");f.onload=function(){var d=f.contentDocument,wide=0;
      d.querySelectorAll("body *").forEach(function(e){if(e.getBoundingClientRect().right>d.documentElement.clientWidth+1&&!e.closest(".scroll"))wide++;});
      document.body.setAttribute("data-result",d.documentElement.scrollWidth+" "+d.documentElement.clientWidth+" "+wide);};</script></body></html>
      """
    try harness.write(toFile: frameDir + "/h.html", atomically: false, encoding: .utf8)
    let chromium = Process()
    chromium.executableURL = URL(fileURLWithPath: PDFPrinter.browser()!)
    chromium.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(frameDir)/profile",
                          "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom", "file://\(frameDir)/h.html"]
    let dom = Pipe()
    chromium.standardOutput = dom
    let logPath = frameDir + "/chromium-\(width).log"
    _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    chromium.standardError = FileHandle(forWritingAtPath: logPath)
    try chromium.run()
    let dumped = String(decoding: dom.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    chromium.waitUntilExit()
    // No console errors from the page (a missing resource, a script error).
    let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    // Chromium logs every console message as INFO:CONSOLE, whatever its level; the page writes none.
    #expect(!log.split(separator: "\n").contains { $0.contains(":CONSOLE") }, "console messages at \(width) px: \(log.split(separator: "\n").filter { $0.contains(":CONSOLE") })")
    let result = try #require(dumped.range(of: #"data-result="([0-9]+) ([0-9]+) ([0-9]+)""#, options: .regularExpression).map { String(dumped[$0]) })
    let numbers = result.dropFirst(13).dropLast().split(separator: " ").compactMap { Int($0) }
    #expect(numbers.count == 3 && numbers[0] <= numbers[1] && numbers[2] == 0, "at \(width) px: scroll width, client width, elements too wide: \(numbers)")
    }
  }
}

/// The report from a template (issue 21): the committed default is the built-in one, a force's own
/// template reorders and restyles without code, and a broken template is an error, not a page.
@Suite("Report templates")
struct ReportTemplateTests {
  static func input() throws -> ReportInput {
    let dir = try makeTemporaryDirectory("template")
    try "camera_id,site_id,latitude,longitude\nC1,S1,51.54,0.70\nC2,S2,51.55,0.72\n".write(toFile: dir + "/c.csv", atomically: false, encoding: .utf8)
    try "plate,camera_id,timestamp\nAB12CDE,C1,2026-03-02T08:00:00Z\nAB12CDE,C2,2026-03-02T08:03:00Z\n".write(toFile: dir + "/r.csv", atomically: false, encoding: .utf8)
    var o = IngestOptions(readsPath: dir + "/r.csv", camerasPath: dir + "/c.csv")
    o.pseudonymiser = try Pseudonymiser(keyBytes: Array("template test key 0123456789abcde".utf8))
    try StoreWriter.write(try Ingest.run(o).0, to: dir + "/s.anpr")
    var input = ReportInput(storePath: dir + "/s.anpr", summary: try ReadStore(path: dir + "/s.anpr").summary(), clock: .utc)
    input.title = "Week 14 <briefing> & plan"
    input.marking = "OFFICIAL-SENSITIVE"
    return input
  }

  @Test func theCommittedTemplateIsTheBuiltInOne() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Templates/report.mustache")
    let file = try String(contentsOf: url, encoding: .utf8)
    #expect(file == HTMLReport.defaultTemplate + "\n", "Templates/report.mustache and HTMLReport.defaultTemplate differ")
  }

  @Test func aForceTemplateReordersAndEscapes() throws {
    let mine = "<html><body><header>{{title}}</header>{{#hasMarking}}<b>{{marking}}</b>{{/hasMarking}}{{{quality}}}{{{provenance}}}</body></html>"
    let html = try HTMLReport.render(try Self.input(), template: mine)
    #expect(html.hasPrefix("<html><body><header>Week 14 &lt;briefing&gt; &amp; plan</header><b>OFFICIAL-SENSITIVE</b>"))
    let quality = try #require(html.range(of: "<h2>Data and data quality</h2>")), provenance = try #require(html.range(of: "<h2>Provenance</h2>"))
    #expect(quality.lowerBound < provenance.lowerBound, "the template's order, not the built-in one")
    #expect(!html.contains("<style>"))
    let input = try Self.input()
    #expect(throws: HTMLReport.TemplateError.self) { try HTMLReport.render(input, template: "{{#hasMarking}} never closed") }
  }
}

/// A road layer from GeoJSON (issue 21): lines near the cameras drawn under the map, other geometries
/// and far lines left out and counted, a bad file or coordinate named.
@Suite("Road layer")
struct RoadLayerTests {
  @Test func linesNearTheCamerasAreKeptAndBadInputIsNamed() throws {
    let dir = try makeTemporaryDirectory("roads")
    let good = """
      {"type":"FeatureCollection","features":[
       {"type":"Feature","properties":{"name":"A127"},"geometry":{"type":"LineString","coordinates":[[0.70,51.54],[0.72,51.55]]}},
       {"type":"Feature","properties":{},"geometry":{"type":"MultiLineString","coordinates":[[[0.71,51.53],[0.73,51.535]],[[5.0,40.0],[5.1,40.1]]]}},
       {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[0.71,51.54]}}]}
      """
    try good.write(toFile: dir + "/r.geojson", atomically: false, encoding: .utf8)
    let layer = try RoadLayer.read(path: dir + "/r.geojson", longitudes: 0.70...0.74, latitudes: 51.53...51.55)
    #expect(layer.lines.count == 2 && layer.skippedOutside == 1 && layer.skippedNotLines == 1)
    #expect(layer.lines[0].count == 2 && layer.lines[0][1] == (0.72, 51.55))
    // British National Grid metres where degrees belong: refused, naming the file and the feature.
    try #"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[560000,190000],[561000,190500]]}}]}"#
      .write(toFile: dir + "/bng.geojson", atomically: false, encoding: .utf8)
    #expect { try RoadLayer.read(path: dir + "/bng.geojson", longitudes: 0...1, latitudes: 51...52) } throws: { e in
      "\(e)".contains("bng.geojson") && "\(e)".contains("feature 1") && "\(e)".contains("EPSG:4326")
    }
    try "not json".write(toFile: dir + "/bad.geojson", atomically: false, encoding: .utf8)
    #expect { try RoadLayer.read(path: dir + "/bad.geojson", longitudes: 0...1, latitudes: 51...52) } throws: { "\($0)".contains("bad.geojson") }
    // Drawn under the map.
    let units = [SpatialUnit(id: "S1", latitude: 51.54, longitude: 0.70), SpatialUnit(id: "S2", latitude: 51.55, longitude: 0.74)]
    let fc = HotspotForecast(model: "m", units: units, binStarts: [0, 3600], expected: [1, 1, 2, 2], alpha: 0, fallbackUnits: [])
    let map = HTMLReport.mapSection(fc, model: "m", window: nil, plan: [], clock: .utc, roads: layer)
    #expect(map.components(separatedBy: "class=\"os-road\"").count - 1 == 2)
  }
}

