import Foundation
import Mustache
import Hotspots
import ModelCatalogue
import Evaluation
import Modelling
import Reads

/// Everything the HTML report shows.
public struct ReportInput {
  public var title = "ANPRKit report"
  /// The store the report is made from, or the events file (`events`).
  public var storePath: String
  /// The store's summary; nil for a report made from point events.
  public var summary: StoreSummary?
  /// The point events a report is made from instead of a store.
  public var events: EventsSource?
  public var comparison: Comparison?
  public var forecast: HotspotForecast?
  public var forecastModel: String?
  public var window: ShiftWindow?
  public var plan: [PatrolArea] = []
  /// Linkage groups: (group id, members, confidence, evidence).
  public var groups: [(String, [String], Double, String)] = []
  /// Each linked group's next appearance from the origin (`ReportInput.groupOutlooks`), by group id.
  public var groupOutlooks: [String: GroupOutlook] = [:]
  public var clock: LocalClock
  /// Protective marking printed at the top and foot of every page (e.g. "OFFICIAL-SENSITIVE").
  public var marking: String?
  /// Provenance: when the report was made (epoch seconds; the CLI honours SOURCE_DATE_EPOCH), the
  /// store's id, the model files used and the forecast origin.
  public var generatedAt: Int64?
  public var storeID: String?
  /// A fingerprint of the reads themselves (time, camera and vehicle of every read): two reports from
  /// the same data show the same one.
  public var dataFingerprint: String?
  public var modelFiles: [String] = []
  public var origin: Int64?
  /// The shifts the patrol plan was made for (their hours, for the briefing).
  public var shifts: [Shift] = Shift.standard
  /// Names to show for sites (e.g. "S001 (A127 London Road)"); a site without one shows its id.
  public var siteNames: [String: String] = [:]
  /// Moves recorded between camera sites (site ids, either direction, count): drawn on the map as the
  /// roads the cameras watch, from the data itself.
  public var moves: [(a: String, b: String, count: Int)] = []
  /// An optional road layer drawn under the maps (`--roads`).
  public var roads: RoadLayer?
  public init(storePath: String, summary: StoreSummary, clock: LocalClock) {
    self.storePath = storePath; self.summary = summary; self.clock = clock
  }
  /// A report on point events (recorded crime): no store, no plates.
  public init(events: EventsSource, clock: LocalClock) {
    self.storePath = events.path; self.events = events; self.clock = clock
  }
}

/// Point events a report was made from: the file, what was counted on the model's grid and what was
/// left out, so the figures add up.
public struct EventsSource: Sendable {
  public var path: String
  public var rows: Int
  public var counted: Int
  public var grid: EventGrid
  /// First and last counted event (ISO 8601).
  public var timeStart: String
  public var timeEnd: String
  public var notes: [String]
  public init(path: String, counts: EventCounts) {
    self.path = path; rows = counts.rows; counted = counts.counted; grid = counts.grid; notes = counts.notes
    timeStart = Timestamp.iso8601(counts.table.firstBin)
    timeEnd = Timestamp.iso8601(counts.table.end)
  }
}

/// One self-contained HTML file (inline SVG and CSS, no scripts, no network): comparison table,
/// hit-rate curves, calibration, a map of forecast hotspots over the camera sites, the patrol plan,
/// linkage leads and data quality.
public enum HTMLReport {
  static func esc(_ s: String) -> String { xmlEscaped(s) }
  static func f(_ x: Double, _ d: Int = 3) -> String { x.isFinite ? String(format: "%.\(d)f", x) : "–" }
  /// Okabe & Ito's colour-blind-safe palette (black is kept for the oracle).
  static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C6D1F", "#999999"]

  /// A rotated y-axis label at the left of a plot of height `h`.
  static func yLabel(_ text: String, h: Double) -> String {
    "<text transform=\"translate(12,\(f((h - 40) / 2, 0))) rotate(-90)\" font-size=\"11\" text-anchor=\"middle\">\(esc(text))</text>\n"
  }

  /// Up to five round tick values from 0 to `top`.
  static func ticks(_ top: Double) -> [Double] {
    guard top > 0, top.isFinite else { return [0] }
    let raw = top / 4, mag = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
    return stride(from: 0.0, through: top * 1.0001, by: step).map { $0 }
  }
  static func tickLabel(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e6 ? String(Int(v)) : f(v, v < 0.1 ? 3 : v < 1 ? 2 : 1) }

  /// The report rendered with the default template (`Templates/report.mustache`).
  public static func render(_ r: ReportInput) -> String {
    // The default template is checked by the tests, so it always parses.
    try! render(r, template: defaultTemplate)
  }

  /// The report rendered with a Mustache template (a force's own look: `anpr report --template`).
  /// The template gets `title`, `version`, `hasMarking`, `marking` (escaped with double braces) and the
  /// sections as HTML (triple braces): `intro`, `briefing`, `provenance`, `comparison`, `map`, `plan`,
  /// `groups`, `quality`.
  /// - Throws: the template's parse error, with its line.
  public static func render(_ r: ReportInput, template: String) throws -> String {
    let parsed: MustacheTemplate
    do { parsed = try MustacheTemplate(string: template) } catch { throw TemplateError(description: "report template: \(error)") }
    let intro: String
    if let summary = r.summary {
      intro = """
        <p class="note">Store <code>\(esc(r.storePath))</code>: \(summary.reads) reads, \(summary.vehicles) vehicles,
        \(summary.cameras) cameras at \(summary.sites) sites, \(esc(summary.timeStart ?? "-")) to \(esc(summary.timeEnd ?? "-")).
        Plates are \(summary.plates == .raw ? "<b>raw (kept at the user's request)</b>" : "keyed pseudonyms; no raw plate appears here").
        Times in \(esc(summary.timeZone)). Every figure carries its uncertainty; forecasts and links are leads for judgement, not facts.</p>
        """
    } else if let e = r.events {
      intro = """
        <p class="note">Events <code>\(esc(e.path))</code>: \(e.counted) of \(e.rows) events counted\(e.grid.category.map { " (category \(esc($0)))" } ?? ""),
        on \(esc(e.grid.description)), bins from \(esc(e.timeStart)) to \(esc(e.timeEnd)).
        Times in \(esc(r.clock.timeZone.identifier)). Every figure carries its uncertainty; forecasts are leads for judgement, not facts.</p>
        """
    } else { intro = "" }
    var sections: [String: Any] = [
      "title": r.title, "version": ToolkitInfo.version, "hasMarking": r.marking != nil, "marking": r.marking ?? "",
      "intro": intro, "briefing": briefingSection(r), "provenance": provenanceSection(r),
      "comparison": r.comparison.map(comparisonSection) ?? "", "quality": r.summary.map(qualitySection) ?? r.events.map(eventsQualitySection) ?? "",
      "groups": r.groups.isEmpty ? "" : groupsSection(r.groups, outlooks: r.groupOutlooks),
    ]
    sections["map"] = r.forecast.map { fc in
      mapSection(fc, model: r.forecastModel ?? fc.model, window: r.window, plan: r.plan, clock: r.clock, moves: r.moves, siteNames: r.siteNames, roads: r.roads)
    } ?? ""
    sections["plan"] = r.plan.isEmpty ? "" : planSection(r.plan, shifts: r.shifts, siteNames: r.siteNames, units: r.forecast?.units ?? [], moves: r.moves, groups: r.groups.map(\.0))
    let h = parsed.render(sections)
    // Every table scrolls sideways on a narrow screen instead of widening the page.
    return h.replacingOccurrences(of: "<table", with: "<div class=\"scroll\"><table").replacingOccurrences(of: "</table>", with: "</table></div>")
  }

  public struct TemplateError: Error, CustomStringConvertible {
    public var description: String
  }

  /// The default template, as committed in `Templates/report.mustache` (a test keeps the two the same);
  /// built in so an installed `anpr` needs no files beside it.
  public static let defaultTemplate = #"""
<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{title}}</title>
<meta name="generator" content="ANPRKit {{version}}; format anprkit-report v1">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{! The default report template (Templates/report.mustache, built into anpr). A force restyles the report
    by copying this file and passing it as `anpr report --template FILE`: change the styles, the order of
    the sections, or add a logo. Names in double braces are escaped text, in triple braces HTML the tool
    made. Sections: intro, briefing,
    provenance, comparison, map, plan, groups, quality (empty when there is nothing to show). }}
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#222;line-height:1.4}
h1{margin-bottom:0}h2{border-bottom:2px solid #1b6ca8;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#eef3f8}td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:13px}
.oracle td{background:#fff7e0;font-style:italic}.grid{display:flex;gap:24px;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px}
.marking{text-align:center;font-weight:bold;letter-spacing:1px;color:#a00}
.provenance td{text-align:left}
.scroll{overflow-x:auto;max-width:100%}svg{max-width:100%;height:auto}.card{min-width:0;max-width:100%;box-sizing:border-box}
@media (max-width:600px){body{margin:12px 10px}}code,.provenance td,.note,li{overflow-wrap:anywhere}
@page{size:A4;margin:16mm 12mm}
@media print{.marking{position:fixed;left:0;right:0}.marking.top{top:0}.marking.foot{bottom:0}body{margin:12mm 0}.patrol-page{break-before:page}}
</style></head><body>
{{#hasMarking}}<div class="marking top">{{marking}}</div>{{/hasMarking}}
<h1>{{title}}</h1>
{{{intro}}}
{{{briefing}}}
{{{provenance}}}
{{{comparison}}}
{{{map}}}
{{{plan}}}
{{{groups}}}
{{{quality}}}
<p class="note">Made by ANPRKit {{version}}. Report format anprkit-report v1.</p>
{{#hasMarking}}<div class="marking foot">{{marking}}</div>{{/hasMarking}}
</body></html>
"""#

  /// "Monday 2026-03-16" for a civil date "2026-03-16" (the date unchanged if it is not one).
  static func weekdayAndDate(_ date: String) -> String {
    let weekdayNames = LocalClock.weekdayNames
    let parts = date.split(separator: "-").compactMap { Int($0) }
    guard parts.count == 3 else { return date }
    return weekdayNames[LocalClock.weekday(ofDay: Int64(Timestamp.daysFromCivil(parts[0], parts[1], parts[2])))] + " " + date
  }

  /// The briefing, first: where and when to be (the top patrol area per shift over the forecast, its
  /// rate per hour with the 90% interval, and the busiest day), the linked groups to check, and how far
  /// to trust each model family (its backtest score beside the best possible, when known), in words.
  static func briefingSection(_ r: ReportInput) -> String {
    var items: [String] = []
    func place(_ site: String) -> String { esc(r.siteNames[site] ?? site) }
    func rate(_ x: Double) -> String { f(x, x < 1 ? 2 : 1) }
    for shift in r.shifts {
      guard let a = r.plan.first(where: { $0.day == nil && $0.shift == shift.name && $0.rank == 1 }) else { continue }
      let hours = String(format: "%02d:00–%02d:00", shift.window.startHour, shift.window.endHour % 24)
      var line = "<li><b>\(esc(shift.name)) shift</b> (\(hours)): \(place(a.centre))"
      if a.sites.count > 1 { line += " and \(a.sites.count - 1) site\(a.sites.count == 2 ? "" : "s") within 600 m" }
      line += " — about \(rate(a.perHour)) target reads an hour (90% interval \(Int(a.perHourLower90))–\(Int(a.perHourUpper90)) in an hour), \(f(a.share * 100, 0))% of the shift's forecast"
      let days = r.plan.filter { $0.day != nil && $0.shift == shift.name && $0.rank == 1 && $0.hours >= 1 }
      if days.count > 1, let busiest = days.max(by: { $0.perHour != $1.perHour ? $0.perHour < $1.perHour : $0.day! > $1.day! }) {
        line += "; busiest on \(esc(weekdayAndDate(busiest.day!))) (\(rate(busiest.perHour)) an hour at \(place(busiest.centre)))"
      }
      items.append(line + ".</li>")
    }
    if r.plan.isEmpty, let fc = r.forecast, fc.units.first?.cellMetres != nil {
      // Grid cells forecast in bins of a day or longer: no shifts, the cells with most expected events.
      let ranked = fc.ranked(window: r.window, clock: r.clock)
      let top = ranked.prefix(3)
      let share = top.map(\.share).reduce(0, +)
      items.append("<li><b>Where:</b> the cells with most expected \(esc(r.events?.grid.category ?? "")) events from \(esc(String(Timestamp.iso8601(fc.binStarts.first ?? 0).prefix(10)))): "
        + top.map { "\(esc($0.unit)) (\(f($0.expected, 1)), 90% interval \(Int($0.lower90))–\(Int($0.upper90)))" }.joined(separator: ", ")
        + " — \(f(share * 100, 0))% of the forecast in \(top.count) of \(ranked.count) cells.</li>")
    }
    if !r.groups.isEmpty {
      let strongest = r.groups.sorted { $0.2 != $1.2 ? $0.2 > $1.2 : $0.0 < $1.0 }.prefix(3)
      items.append("<li><b>Linked groups to check:</b> \(r.groups.count) (periods of use of hire cars whose behaviour matches and whose use never overlaps). Strongest: "
        + strongest.map { g in
          var line = "\(esc(g.0)) (\(g.1.count) periods, confidence \(f(g.2, 2))): \(esc(String(g.3.split(separator: ";").first ?? "")))"
          if let o = r.groupOutlooks[g.0], let w = o.windows.first {
            line += " — next likely \(esc(w.local)) entering by \(esc(r.siteNames[w.site] ?? w.site)) (p = \(f(w.probability, 2)); P(seen within 7 days) \(f(o.pSeen7, 2)))"
          }
          return line
        }.joined(separator: "; ") + ".</li>")
    }
    if let c = r.comparison {
      let onEvents = c.target.hasPrefix("events")
      let families: [(family: ModelFamily, metric: String, say: String)] = [
        (.hotspot, "hit_rate@10%", onEvents ? "of the next bin's events fell in the top 10% of grid cells it named" : "of the next day's target reads fell in the top 10% of sites it named"),
        (.route, "top1", "of next cameras it named first were right"),
        (.nextAppearance, "hit@10", "of actors' next visits were in its top 10 (hour, entry road) windows"),
      ]
      for fam in families {
        let rows = c.rows(of: fam.family).filter { $0.role == .model && $0.metrics[fam.metric]?.value.isFinite == true }
        guard let best = rows.max(by: { $0.metrics[fam.metric]!.value != $1.metrics[fam.metric]!.value ? $0.metrics[fam.metric]!.value < $1.metrics[fam.metric]!.value : $0.name > $1.name }),
              let e = best.metrics[fam.metric] else { continue }
        var line = "<li><b>How far to trust the \(fam.family.rawValue) forecast:</b> in the last \(best.windows) backtest windows, \(f(e.value * 100, 0))% (95% interval \(f(e.ciLow * 100, 0))–\(f(e.ciHigh * 100, 0))%) \(fam.say) (best model: \(esc(best.name)))"
        if let o = c.oracle(of: fam.family)?.metrics[fam.metric], o.value.isFinite {
          line += "; the best possible, from the simulation's truth, was \(f(o.value * 100, 0))%"
        }
        items.append(line + ".</li>")
      }
    }
    guard !items.isEmpty else { return "" }
    return "<h2>Briefing</h2>\n<ul class=\"briefing\">\n" + items.joined(separator: "\n") + "\n</ul>\n<p class=\"note\">Forecasts and links are leads for judgement, not facts. The evidence follows: provenance, model comparison, map, patrol plans by day and shift, linked groups and data quality.</p>\n"
  }

  /// Where the report comes from: when it was made, by which version, from which data and models.
  static func provenanceSection(_ r: ReportInput) -> String {
    var rows: [(String, String)] = []
    if let t = r.generatedAt { rows.append(("generated at", Timestamp.iso8601(t))) }
    rows.append(("tool", "ANPRKit \(ToolkitInfo.version)"))
    if let summary = r.summary {
      rows.append(("store", r.storePath + (r.storeID.map { " (id \($0))" } ?? "")))
      rows.append(("data span", "\(summary.timeStart ?? "-") to \(summary.timeEnd ?? "-") (\(summary.readsPerDay.count) days, \(summary.reads) reads)"))
    } else if let e = r.events {
      rows.append(("events", e.path))
      rows.append(("data span", "bins from \(e.timeStart) to \(e.timeEnd) (\(e.counted) of \(e.rows) events counted)"))
      rows.append(("grid", e.grid.description))
    }
    if let fp = r.dataFingerprint { rows.append(("data fingerprint", fp)) }
    rows.append(("time zone", r.clock.timeZone.identifier))
    if let o = r.origin { rows.append(("forecast origin", Timestamp.iso8601(o))) }
    if !r.modelFiles.isEmpty { rows.append(("model files", r.modelFiles.joined(separator: ", "))) }
    if let m = r.marking { rows.append(("protective marking", m)) }
    return "<h2>Provenance</h2><table class=\"provenance\">" + rows.map { "<tr><th>\(esc($0.0))</th><td>\(esc($0.1))</td></tr>" }.joined() + "</table>\n"
  }

  static func comparisonSection(_ c: Comparison) -> String {
    var h = "<h2>Model comparison</h2>\n<p class=\"note\">Rolling-origin backtest over \(c.windows) windows; hotspot target: \(esc(c.target)). "
    h += "Means over windows with 95% bootstrap intervals; percentages are the fraction of the oracle (the best forecast possible, known only on simulated data).</p>\n"
    let groups: [(String, [String], (ComparisonRow) -> Bool)] = [
      ("Hotspot models", Metric.hotspotSummary.map(\.name), { $0.family == .hotspot }),
      ("Route models (next camera site)", Metric.routeSummary.map(\.name), { $0.family == .route }),
    ]
    for (title, metrics, pick) in groups {
      let rows = c.models.filter(pick)
      if rows.isEmpty { continue }
      h += "<h3>\(title)</h3><table class=\"comparison\"><tr><th>model</th>" + metrics.map { "<th>\(esc($0))</th>" }.joined() + "</tr>\n"
      for row in rows {
        h += "<tr\(row.role == .oracle ? " class=\"oracle\"" : "")><td>\(esc(row.name))</td>"
        for m in metrics {
          if let e = row.metrics[m] {
            h += "<td>\(f(e.value)) <span class=\"note\">[\(f(e.ciLow)), \(f(e.ciHigh))]</span>\(e.fractionOfOracle.map { " <b>\(Int(($0 * 100).rounded()))%</b>" } ?? "")</td>"
          } else { h += "<td>–</td>" }
        }
        h += "</tr>\n"
      }
      h += "</table>\n"
    }
    if let p = c.pairedTest {
      h += "<p>Paired test on \(esc(p.metric)): <b>\(esc(p.better))</b> − \(esc(p.worse)) = \(f(p.difference.value)) [\(f(p.difference.ciLow)), \(f(p.difference.ciHigh))], p = \(f(p.pValue)). "
      h += p.pValue < 0.05 ? "The difference is unlikely to be chance.</p>\n" : "The two are not clearly different on this data.</p>\n"
    }
    for n in c.notes { h += "<p class=\"note\">Note: \(esc(n))</p>\n" }
    h += "<div class=\"grid\">" + hitRateCurve(c) + calibrationPlot(c) + pitPlot(c) + "</div>\n"
    return h
  }

  static func hitRateCurve(_ c: Comparison) -> String {
    let rows = c.rows(of: .hotspot)
    let W = 460.0, H = 300.0, L = 50.0, B = 40.0
    func x(_ v: Double) -> Double { L + v / 0.5 * (W - L - 10) }
    func y(_ v: Double) -> Double { H - B - v * (H - B - 10) }
    var s = "<div class=\"card\"><b>Hit rate by coverage</b><br><svg id=\"hit-rate-curve\" width=\"\(Int(W))\" height=\"\(Int(H))\" viewBox=\"0 0 \(Int(W)) \(Int(H))\" role=\"img\" aria-label=\"hit rate curves\">\n"
    s += "<line x1=\"\(L)\" y1=\"\(y(0))\" x2=\"\(x(0.5))\" y2=\"\(y(0))\" stroke=\"#333\"/><line x1=\"\(L)\" y1=\"\(y(0))\" x2=\"\(L)\" y2=\"\(y(1))\" stroke=\"#333\"/>\n"
    for t in [0.1, 0.2, 0.3, 0.4, 0.5] { s += "<text x=\"\(x(t))\" y=\"\(H - B + 16)\" font-size=\"11\" text-anchor=\"middle\">\(Int(t * 100))%</text>\n" }
    for t in [0.25, 0.5, 0.75, 1.0] { s += "<text x=\"\(L - 6)\" y=\"\(y(t) + 4)\" font-size=\"11\" text-anchor=\"end\">\(f(t, 2))</text><line x1=\"\(L)\" y1=\"\(y(t))\" x2=\"\(x(0.5))\" y2=\"\(y(t))\" stroke=\"#eee\"/>\n" }
    s += "<text x=\"\((L + W) / 2)\" y=\"\(H - 4)\" font-size=\"11\" text-anchor=\"middle\">share of sites patrolled (top-ranked first)</text>\n"
    s += yLabel("share of next day's target reads found", h: H)
    for (k, row) in rows.enumerated() {
      let pts = Metric.hitRateCurve.compactMap { cov -> (Double, Double)? in
        guard let e = row.metrics[Metric.hitRate(coverage: cov).name], e.value.isFinite else { return nil }
        return (cov, e.value)
      }
      let colour = row.role == .oracle ? "#000" : palette[k % palette.count]
      s += "<polyline class=\"curve\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(row.role == .oracle ? " stroke-dasharray=\"5 3\"" : "") points=\"" + pts.map { "\(x($0.0)),\(y($0.1))" }.joined(separator: " ") + "\"/>\n"
      s += "<text x=\"\(x(0.5) - 150)\" y=\"\(y(0) - 10 - Double(k) * 14)\" font-size=\"11\" fill=\"\(colour)\">\(esc(row.name))</text>\n"
    }
    return s + "</svg></div>\n"
  }

  /// PIT histograms of the hotspot models' cells (small multiples, a dashed line at the uniform height).
  static func pitPlot(_ c: Comparison) -> String {
    // Each row keeps its colour from the other plots (its place among all hotspot rows).
    let rows = c.rows(of: .hotspot).enumerated().filter { ($0.element.pit?.count ?? 0) > 0 }
    guard !rows.isEmpty else { return "" }
    let cellW = 130.0, cellH = 90.0, perRow = 3
    let lines = (rows.count + perRow - 1) / perRow
    let W = cellW * Double(perRow) + 20, H = cellH * Double(lines) + 10
    let top = max(0.2, rows.flatMap { $0.element.pit! }.max()! * 1.1)
    var s = "<div class=\"card\"><b>PIT histograms (calibrated: every bar at the dashed line; U shape: intervals too narrow)</b><br>"
    s += "<svg id=\"pit-plot\" width=\"\(Int(W))\" height=\"\(Int(H))\" viewBox=\"0 0 \(Int(W)) \(Int(H))\" role=\"img\" aria-label=\"PIT histograms\">\n"
    for (k, (colourIndex, row)) in rows.enumerated() {
      let h = row.pit!, x0 = 10 + Double(k % perRow) * cellW, y0 = 5 + Double(k / perRow) * cellH
      let plotH = cellH - 30, barW = (cellW - 20) / Double(h.count)
      func y(_ v: Double) -> Double { y0 + 14 + plotH * (1 - v / top) }
      let colour = row.role == .oracle ? "#000" : palette[colourIndex % palette.count]
      s += "<text x=\"\(x0)\" y=\"\(y0 + 10)\" font-size=\"10\">\(esc(row.name))</text>\n"
      for (j, v) in h.enumerated() {
        s += "<rect class=\"pit-bar\" x=\"\(x0 + Double(j) * barW)\" y=\"\(y(v))\" width=\"\(barW - 1)\" height=\"\(y(0) - y(v))\" fill=\"\(colour)\" fill-opacity=\"0.7\"><title>\(esc(row.name)) PIT \(f(Double(j) / Double(h.count)))–\(f(Double(j + 1) / Double(h.count))): \(f(v))</title></rect>\n"
      }
      let u = 1 / Double(h.count)
      s += "<line x1=\"\(x0)\" y1=\"\(y(u))\" x2=\"\(x0 + barW * Double(h.count))\" y2=\"\(y(u))\" stroke=\"#333\" stroke-dasharray=\"3 2\"/>\n"
      s += "<line x1=\"\(x0)\" y1=\"\(y(0))\" x2=\"\(x0 + barW * Double(h.count))\" y2=\"\(y(0))\" stroke=\"#333\"/>\n"
    }
    return s + "</svg></div>\n"
  }

  static func calibrationPlot(_ c: Comparison) -> String {
    let rows = c.rows(of: .hotspot)
    let W = 420.0, H = 300.0, L = 50.0, B = 40.0
    var maxV = 1e-6
    for r in rows { for p in r.calibration ?? [] where p.predicted.isFinite && p.observed.isFinite { maxV = max(maxV, p.predicted, p.observed) } }
    func x(_ v: Double) -> Double { L + v / maxV * (W - L - 10) }
    func y(_ v: Double) -> Double { H - B - v / maxV * (H - B - 10) }
    var s = "<div class=\"card\"><b>Calibration (observed vs predicted, by quintile)</b><br><svg id=\"calibration-plot\" width=\"\(Int(W))\" height=\"\(Int(H))\" viewBox=\"0 0 \(Int(W)) \(Int(H))\" role=\"img\" aria-label=\"calibration\">\n"
    s += "<line x1=\"\(x(0))\" y1=\"\(y(0))\" x2=\"\(x(maxV))\" y2=\"\(y(maxV))\" stroke=\"#aaa\" stroke-dasharray=\"4 3\"/>\n"
    s += "<line x1=\"\(L)\" y1=\"\(y(0))\" x2=\"\(x(maxV))\" y2=\"\(y(0))\" stroke=\"#333\"/><line x1=\"\(L)\" y1=\"\(y(0))\" x2=\"\(L)\" y2=\"\(y(maxV))\" stroke=\"#333\"/>\n"
    s += "<text x=\"\((L + W) / 2)\" y=\"\(H - 4)\" font-size=\"11\" text-anchor=\"middle\">predicted target reads per site-hour</text>\n"
    s += yLabel("observed per site-hour", h: H)
    for t in ticks(maxV) {
      s += "<text x=\"\(x(t))\" y=\"\(H - B + 16)\" font-size=\"10\" text-anchor=\"middle\">\(tickLabel(t))</text>"
      s += "<text x=\"\(L - 6)\" y=\"\(y(t) + 4)\" font-size=\"10\" text-anchor=\"end\">\(tickLabel(t))</text>\n"
    }
    for (k, row) in rows.enumerated() {
      let colour = row.role == .oracle ? "#000" : palette[k % palette.count]
      s += "<text x=\"\(L + 10)\" y=\"\(14 + Double(k) * 13)\" font-size=\"10\" fill=\"\(colour)\">● \(esc(row.name))</text>\n"
      for (k, point) in (row.calibration ?? []).enumerated() {
        let p = point.predicted, o = point.observed, q = k + 1
        guard p.isFinite, o.isFinite else { continue }
        s += "<circle class=\"calibration-point\" cx=\"\(x(p))\" cy=\"\(y(o))\" r=\"4\" fill=\"\(colour)\" fill-opacity=\"0.7\"><title>\(esc(row.name)) q\(q): predicted \(f(p)), observed \(f(o))</title></circle>\n"
      }
    }
    return s + "</svg></div>\n"
  }

  static func mapSection(_ fc: HotspotForecast, model: String, window: ShiftWindow?, plan: [PatrolArea], clock: LocalClock,
                         moves: [(a: String, b: String, count: Int)] = [], siteNames: [String: String] = [:], roads: RoadLayer? = nil) -> String {
    let ranked = fc.ranked(window: window, clock: clock)
    // Grid cells (point events) are drawn as squares shaded by their forecast; camera sites as circles.
    let cell = fc.units.first?.cellMetres
    let half = (cell ?? 0) / 2 / 111_200
    let lats = fc.units.map(\.latitude), lons = fc.units.map(\.longitude)
    guard let la0 = lats.min().map({ $0 - half }), let la1 = lats.max().map({ $0 + half }), let lo0 = lons.min(), let lo1 = lons.max() else { return "" }
    let halfLon = half / cos((la0 + la1) / 2 * .pi / 180)
    let (lo0Map, lo1Map) = (lo0 - halfLon, lo1 + halfLon)
    let W = 900.0, H = 460.0, pad = 30.0
    let kx = cos((la0 + la1) / 2 * .pi / 180)
    let sx = (W - 2 * pad) / max(1e-9, (lo1Map - lo0Map) * kx), sy = (H - 2 * pad) / max(1e-9, la1 - la0)
    let scale = min(sx, sy)
    func px(_ lon: Double) -> Double { pad + (lon - lo0Map) * kx * scale }
    func py(_ lat: Double) -> Double { H - pad - (la1 - lat + 0) * 0 - (lat - la0) * scale }
    let maxE = ranked.map(\.expected).max() ?? 1
    // Rings for the busiest shift's week-long patrol areas.
    let weekly = Dictionary(grouping: plan.filter { $0.day == nil }, by: \.shift).mapValues { $0.map(\.expected).reduce(0, +) }
    let ringShift = weekly.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
    let horizon: String
    if fc.binStarts.count > 1 {
      let width = fc.binStarts[1] - fc.binStarts[0]
      horizon = width < 86400 * 28 ? "over the next \((fc.binStarts.last! - fc.binStarts.first! + width) / 86400) days" : "over the next \(fc.binStarts.count) bins"
    } else { horizon = "for the next bin" }
    let what = cell == nil ? "at each camera site" : "in each grid cell of \(Int(cell!)) m"
    let legend = cell == nil ? "Circle area ∝ expected count" : "Cell shade ∝ expected count"
    var s = "<h2>Forecast hotspots</h2>\n<p class=\"note\">\(esc(model)): expected activity \(what) for \(esc(window?.description ?? "all hours")) \(horizon) from \(Timestamp.iso8601(fc.binStarts.first ?? 0)). \(legend); the ten strongest are numbered\(ringShift.map { "; dashed rings are the week's patrol areas for the \(esc($0)) shift, the busiest" } ?? "").</p>\n"
    s += "<svg id=\"hotspot-map\" width=\"\(Int(W))\" height=\"\(Int(H))\" viewBox=\"0 0 \(Int(W)) \(Int(H))\" role=\"img\" aria-label=\"map of forecast hotspots\" style=\"background:#f4f8fb;border:1px solid #ccd\">\n"
    s += "<text x=\"\(W - 10)\" y=\"\(H - 8)\" font-size=\"11\" text-anchor=\"end\" fill=\"#557\">north ↑</text>\n"
    // A road layer, if given, under everything else (the SVG clips what lies outside the map).
    for line in roads?.lines ?? [] {
      s += "<polyline class=\"os-road\" fill=\"none\" stroke=\"#d8dde2\" stroke-width=\"1\" points=\"" + line.map { "\(f(px($0.0), 1)),\(f(py($0.1), 1))" }.joined(separator: " ") + "\"/>\n"
    }
    // Roads as the data records them: a line between two sites for each recorded move, wider for more.
    let where_ = Dictionary(uniqueKeysWithValues: fc.units.map { ($0.id, ($0.latitude, $0.longitude)) })
    let maxMoves = Double(moves.map(\.count).max() ?? 1)
    for m in moves {
      guard let p = where_[m.a], let q = where_[m.b] else { continue }
      let w = 0.5 + 3.5 * log(1 + Double(m.count)) / log(1 + maxMoves)
      s += "<line class=\"road\" x1=\"\(f(px(p.1), 1))\" y1=\"\(f(py(p.0), 1))\" x2=\"\(f(px(q.1), 1))\" y2=\"\(f(py(q.0), 1))\" stroke=\"#b8c2cc\" stroke-width=\"\(f(w, 2))\" stroke-linecap=\"round\"><title>\(m.count) recorded moves between \(esc(m.a)) and \(esc(m.b))</title></line>\n"
    }
    // Scale bar: the largest round length under 160 px.
    let pxPerMetre = scale / 111_200
    if let metres = [50.0, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000].last(where: { $0 * pxPerMetre <= 160 }) {
      let len = metres * pxPerMetre
      s += "<g class=\"scale-bar\"><line x1=\"\(pad)\" y1=\"\(H - 12)\" x2=\"\(f(pad + len, 1))\" y2=\"\(H - 12)\" stroke=\"#333\" stroke-width=\"3\"/>"
        + "<text x=\"\(f(pad + len / 2, 1))\" y=\"\(H - 17)\" font-size=\"10\" text-anchor=\"middle\">\(metres >= 1000 ? "\(Int(metres / 1000)) km" : "\(Int(metres)) m")</text></g>\n"
    }
    for a in plan where a.day == nil && a.shift == ringShift {
      let r = 600 / 111_200 * scale
      s += "<circle class=\"patrol-area\" cx=\"\(px(a.longitude))\" cy=\"\(py(a.latitude))\" r=\"\(r)\" fill=\"none\" stroke=\"#d1495b\" stroke-width=\"2\" stroke-dasharray=\"6 4\"><title>\(esc(a.shift)) shift area \(a.rank): \(esc(a.sites.joined(separator: ", ")))</title></circle>\n"
    }
    if cell != nil {
      let dLon = halfLon * kx * scale, dLat = half * scale
      for r in ranked {
        let shade = maxE > 0 ? r.expected / maxE : 0
        s += "<rect class=\"cell\" x=\"\(f(px(r.longitude) - dLon, 1))\" y=\"\(f(py(r.latitude) - dLat, 1))\" width=\"\(f(2 * dLon, 1))\" height=\"\(f(2 * dLat, 1))\" fill=\"#1b6ca8\" fill-opacity=\"\(f(0.04 + 0.8 * shade, 3))\" stroke=\"#fff\" stroke-width=\"0.5\"><title>\(esc(r.unit)): expected \(f(r.expected, 2)), 90% interval [\(Int(r.lower90)), \(Int(r.upper90))]</title></rect>\n"
      }
    } else {
      for u in fc.units { s += "<circle class=\"site\" cx=\"\(px(u.longitude))\" cy=\"\(py(u.latitude))\" r=\"2\" fill=\"#888\"/>\n" }
    }
    for r in ranked where r.expected > 0 {
      let rad = 3 + 22 * (r.expected / maxE).squareRoot()
      if cell != nil {
        if r.rank <= 10 {
          s += "<text x=\"\(px(r.longitude))\" y=\"\(py(r.latitude) + 4)\" font-size=\"11\" text-anchor=\"middle\" font-weight=\"bold\" fill=\"#fff\">\(r.rank)</text>\n"
        }
        continue
      }
      s += "<circle class=\"hotspot\" cx=\"\(px(r.longitude))\" cy=\"\(py(r.latitude))\" r=\"\(f(rad, 1))\" fill=\"#1b6ca8\" fill-opacity=\"0.45\" stroke=\"#1b6ca8\"><title>\(esc(r.unit)): expected \(f(r.expected, 2)), 90% interval [\(Int(r.lower90)), \(Int(r.upper90))]</title></circle>\n"
      if r.rank <= 10 {
        s += "<text x=\"\(px(r.longitude))\" y=\"\(py(r.latitude) + 4)\" font-size=\"11\" text-anchor=\"middle\" font-weight=\"bold\">\(r.rank)</text>\n"
        s += "<text class=\"site-label\" x=\"\(f(px(r.longitude) + 8 + rad * 0.7, 1))\" y=\"\(f(py(r.latitude) - 4, 1))\" font-size=\"10\" fill=\"#333\">\(esc(siteNames[r.unit] ?? r.unit))</text>\n"
      }
    }
    s += "</svg>\n<table><tr><th>rank</th><th>\(cell == nil ? "site" : "cell")</th><th>expected</th><th>90% interval</th><th>share</th></tr>\n"
    for r in ranked.prefix(10) { s += "<tr><td>\(r.rank)</td><td>\(esc(siteNames[r.unit] ?? r.unit))</td><td>\(f(r.expected, 2))</td><td>[\(Int(r.lower90)), \(Int(r.upper90))]</td><td>\(f(r.share * 100, 1))%</td></tr>\n" }
    return s + "</table>\n"
  }

  static func planSection(_ plan: [PatrolArea], shifts: [Shift] = [], siteNames: [String: String] = [:], units: [SpatialUnit] = [],
                          moves: [(a: String, b: String, count: Int)] = [], groups: [String] = []) -> String {
    let weekly = plan.filter { $0.day == nil }, daily = plan.filter { $0.day != nil }
    var s = "<h2>Patrol plan</h2>\n<p class=\"note\">For each shift, up to \(Set(plan.map(\.rank)).count) compact areas (sites within 600 m of a centre), chosen greedily to cover the most forecast activity. Expected counts are of the forecast target in the area; intervals are 90% predictive, per hour and over the shift. Local times.</p>\n"
    if !weekly.isEmpty {
      s += "<h3>The week, by shift</h3>\n" + planTable(weekly, id: "patrol-plan", siteNames: siteNames)
    }
    // One printable page per day and shift, by day and then in the order of the shifts.
    func order(_ shift: String) -> Int { shifts.firstIndex { $0.name == shift } ?? shifts.count }
    var pages: [(day: String, shift: String)] = []
    for a in daily where !pages.contains(where: { $0 == (a.day!, a.shift) }) { pages.append((a.day!, a.shift)) }
    pages.sort { $0.day != $1.day ? $0.day < $1.day : order($0.shift) != order($1.shift) ? order($0.shift) < order($1.shift) : $0.shift < $1.shift }
    for (day, shift) in pages {
      let areas = daily.filter { $0.day == day && $0.shift == shift }
      let hours = areas.first.map { f($0.hours, 0) } ?? "0"
      let window = shifts.first { $0.name == shift }.map { String(format: " (%02d:00–%02d:00)", $0.window.startHour, $0.window.endHour % 24) } ?? ""
      s += "<section class=\"patrol-page\"><h3>\(esc(weekdayAndDate(day))), \(esc(shift)) shift\(window): \(hours) h of forecast</h3>\n"
      s += patrolMap(units, areas: areas, moves: moves, siteNames: siteNames) + planTable(areas, id: nil, siteNames: siteNames)
      s += "<p class=\"note\">Where: the numbered areas, in order; each is the centre site and the sites within 600 m. What to look for: "
      let named = esc(groups.prefix(5).joined(separator: ", ")) + (groups.count > 5 ? " and others" : "")
      let lookFor = "vehicles of the linked groups " + named + " — their plates come from the analyst (every reveal of a plate is audited), never from this sheet."
      s += groups.isEmpty ? "the forecast target (see the report's first page)." : lookFor
      s += "</p></section>\n"
    }
    return s
  }

  /// A small map for one patrol page: the camera roads, every site as a dot, and this page's areas
  /// (numbered, 600 m rings, named centres), with a scale bar and north.
  static func patrolMap(_ units: [SpatialUnit], areas: [PatrolArea], moves: [(a: String, b: String, count: Int)], siteNames: [String: String]) -> String {
    let lats = units.map(\.latitude), lons = units.map(\.longitude)
    guard !areas.isEmpty, let la0 = lats.min(), let la1 = lats.max(), let lo0 = lons.min(), let lo1 = lons.max() else { return "" }
    let W = 640.0, H = 300.0, pad = 24.0
    let kx = cos((la0 + la1) / 2 * .pi / 180)
    let scale = min((W - 2 * pad) / max(1e-9, (lo1 - lo0) * kx), (H - 2 * pad) / max(1e-9, la1 - la0))
    func px(_ lon: Double) -> Double { pad + (lon - lo0) * kx * scale }
    func py(_ lat: Double) -> Double { H - pad - (lat - la0) * scale }
    var s = "<svg class=\"patrol-map\" width=\"\(Int(W))\" height=\"\(Int(H))\" viewBox=\"0 0 \(Int(W)) \(Int(H))\" role=\"img\" aria-label=\"patrol areas\" style=\"background:#f4f8fb;border:1px solid #ccd\">\n"
    let at = Dictionary(uniqueKeysWithValues: units.map { ($0.id, ($0.latitude, $0.longitude)) })
    for m in moves { if let p = at[m.a], let q = at[m.b] {
      s += "<line x1=\"\(f(px(p.1), 1))\" y1=\"\(f(py(p.0), 1))\" x2=\"\(f(px(q.1), 1))\" y2=\"\(f(py(q.0), 1))\" stroke=\"#c8d0d8\" stroke-width=\"1.5\"/>"
    } }
    for u in units { s += "<circle cx=\"\(f(px(u.longitude), 1))\" cy=\"\(f(py(u.latitude), 1))\" r=\"2\" fill=\"#888\"/>" }
    let ring = 600 * scale / 111_200
    for a in areas {
      for site in a.sites { if let p = at[site] { s += "<circle cx=\"\(f(px(p.1), 1))\" cy=\"\(f(py(p.0), 1))\" r=\"5\" fill=\"#D55E00\" fill-opacity=\"0.6\"/>" } }
      s += "<circle cx=\"\(f(px(a.longitude), 1))\" cy=\"\(f(py(a.latitude), 1))\" r=\"\(f(ring, 1))\" fill=\"none\" stroke=\"#D55E00\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/>"
      s += "<text x=\"\(f(px(a.longitude), 1))\" y=\"\(f(py(a.latitude) + 4, 1))\" font-size=\"12\" font-weight=\"bold\" text-anchor=\"middle\">\(a.rank)</text>"
      s += "<text x=\"\(f(px(a.longitude) + 9, 1))\" y=\"\(f(py(a.latitude) - 8, 1))\" font-size=\"10\">\(esc(siteNames[a.centre] ?? a.centre))</text>\n"
    }
    if let metres = [50.0, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000].last(where: { $0 * scale / 111_200 <= 120 }) {
      let len = metres * scale / 111_200
      s += "<line x1=\"\(pad)\" y1=\"\(H - 8)\" x2=\"\(f(pad + len, 1))\" y2=\"\(H - 8)\" stroke=\"#333\" stroke-width=\"3\"/><text x=\"\(f(pad + len / 2, 1))\" y=\"\(H - 12)\" font-size=\"10\" text-anchor=\"middle\">\(metres >= 1000 ? "\(Int(metres / 1000)) km" : "\(Int(metres)) m")</text>"
    }
    return s + "<text x=\"\(W - 8)\" y=\"\(H - 6)\" font-size=\"11\" text-anchor=\"end\" fill=\"#557\">north ↑</text></svg>\n"
  }

  static func planTable(_ areas: [PatrolArea], id: String?, siteNames: [String: String] = [:]) -> String {
    var s = "<table\(id.map { " id=\"\($0)\"" } ?? "")><tr><th>shift</th><th>area</th><th>centre site</th><th>sites</th><th>per hour</th><th>90% interval (1 h)</th><th>over the shift</th><th>90% interval</th><th>share of shift</th></tr>\n"
    for a in areas {
      s += "<tr><td>\(esc(a.shift))</td><td>\(a.rank)</td><td>\(esc(siteNames[a.centre] ?? a.centre))</td><td>\(esc(a.sites.joined(separator: ", ")))</td><td>\(f(a.perHour, 2))</td><td>[\(Int(a.perHourLower90)), \(Int(a.perHourUpper90))]</td><td>\(f(a.expected, 2))</td><td>[\(Int(a.lower90)), \(Int(a.upper90))]</td><td>\(f(a.share * 100, 1))%</td></tr>\n"
    }
    return s + "</table>\n"
  }

  static func groupsSection(_ groups: [(String, [String], Double, String)], outlooks: [String: GroupOutlook] = [:]) -> String {
    var s = "<h2>Linked vehicles (leads to check)</h2>\n<p class=\"note\">Vehicles whose behaviour matches and whose use never overlaps — possibly one actor changing hire cars. Confidence is 1 − the estimated false-discovery rate. A link is a lead, not a fact: check the evidence before acting on it."
    if !outlooks.isEmpty {
      s += " Next appearance: the group's first visit in the 7 days after the forecast origin, from its periods of use pooled (whatever car it drives next) — the likeliest (entry site, hour) windows and the places it may stop, with probabilities."
    }
    s += "</p>\n<table id=\"linkage\"><tr><th>group</th><th>vehicles (pseudonyms)</th><th>confidence</th><th>evidence</th>" + (outlooks.isEmpty ? "" : "<th>next appearance (7 days)</th>") + "</tr>\n"
    for g in groups.prefix(20) {
      s += "<tr><td>\(esc(g.0))</td><td>\(esc(g.1.joined(separator: ", ")))</td><td>\(f(g.2, 2))</td><td style=\"text-align:left\">\(esc(g.3))</td>"
      if !outlooks.isEmpty {
        if let o = outlooks[g.0] {
          let windows = o.windows.map { "\($0.local) \($0.site) (\(f($0.probability, 2)))" }.joined(separator: "; ")
          let stops = o.stops.prefix(3).map { "\($0.site) (\(f($0.probability, 2)))" }.joined(separator: "; ")
          s += "<td style=\"text-align:left\">P(seen) \(f(o.pSeen7, 2)); \(esc(windows))" + (stops.isEmpty ? "" : "; may stop near \(esc(stops))") + "</td>"
        } else {
          s += "<td>no visit before the origin</td>"
        }
      }
      s += "</tr>\n"
    }
    return s + "</table>\n"
  }

  /// What was counted from an events file and what was left out, and why.
  static func eventsQualitySection(_ e: EventsSource) -> String {
    var h = "<h2>Data and data quality</h2>\n<p class=\"note\">\(e.counted) of \(e.rows) rows of <code>\(esc((e.path as NSString).lastPathComponent))</code> counted on the model's grid."
    if e.notes.isEmpty { return h + " Nothing was left out.</p>\n" }
    h += "</p>\n<ul>\n" + e.notes.map { "<li>\(esc($0))</li>" }.joined(separator: "\n") + "\n</ul>\n"
    return h
  }

  static func qualitySection(_ s: StoreSummary) -> String {
    var h = "<h2>Data and data quality</h2>\n<table><tr><th>ingest</th><th>read</th><th>accepted</th><th>rejected</th><th>duplicates</th><th>rejected by reason</th></tr>\n"
    for i in s.ingests {
      h += "<tr><td>\(esc((i.file as NSString).lastPathComponent))</td><td>\(i.read)</td><td>\(i.accepted)</td><td>\(i.rejected)</td><td>\(i.duplicates)</td><td>\(esc(i.rejectedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))</td></tr>\n"
    }
    h += "</table>\n"
    let maxH = Double(s.readsPerHour.max() ?? 1)
    let top = ticks(maxH).last ?? maxH, L = 56.0
    func barY(_ v: Double) -> Double { 100 - 90 * v / max(top, 1) }
    h += "<svg id=\"reads-per-hour\" width=\"540\" height=\"140\" viewBox=\"0 0 540 140\" role=\"img\" aria-label=\"reads per local hour\">"
    h += "<text transform=\"translate(12,55) rotate(-90)\" font-size=\"11\" text-anchor=\"middle\">reads</text>"
    for t in ticks(maxH) {
      h += "<text x=\"\(L - 4)\" y=\"\(f(barY(t) + 4, 1))\" font-size=\"10\" text-anchor=\"end\">\(tickLabel(t))</text><line x1=\"\(L)\" y1=\"\(f(barY(t), 1))\" x2=\"\(L + 480)\" y2=\"\(f(barY(t), 1))\" stroke=\"#eee\"/>"
    }
    for (k, n) in s.readsPerHour.enumerated() {
      let bh = 90 * Double(n) / max(top, 1)
      h += "<rect x=\"\(Int(L) + k * 20 + 2)\" y=\"\(f(100 - bh, 2))\" width=\"16\" height=\"\(f(bh, 2))\" fill=\"#009E73\"><title>\(k):00 \(n) reads</title></rect>"
      if k % 3 == 0 { h += "<text x=\"\(Int(L) + k * 20 + 10)\" y=\"114\" font-size=\"10\" text-anchor=\"middle\">\(k)</text>" }
    }
    h += "<text x=\"\(Int(L) + 240)\" y=\"134\" font-size=\"11\" text-anchor=\"middle\">local hour of the day</text>"
    h += "</svg><p class=\"note\">Reads per local hour. Misreads merged: \(s.misreadMerges). Quality flags: \(s.quality.impossibleTravelCount) impossible-travel pairs, \(s.quality.silentCameras.count) silent cameras, \(s.quality.clockDrift.count) cameras with clock drift"
    if !s.quality.clockDrift.isEmpty { h += " (" + s.quality.clockDrift.map { "\(esc($0.camera)) ≈ \(f($0.estimatedOffsetSeconds, 0)) s" }.joined(separator: ", ") + ")" }
    return h + ". Flags are listed, never silently fixed.</p>\n"
  }
}
