import ArgumentParser
import Evaluation
import Foundation
import Hotspots
import Modelling
import Reads

extension ANPR {
  struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write one self-contained HTML report: comparison, hit-rate curves, calibration, hotspot map, patrol plan, linkage leads, data quality.")
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Comparison JSON from 'anpr compare --out'.") var comparison: String?
    @Option(help: "Hotspot model for the forecast map and patrol plan.") var model: String?
    @Option(help: "Days to forecast.") var days = 7
    @Option(help: "Window for the map's ranking, e.g. 'Fri 16-22'.") var window: String?
    @Option(help: "Officers (patrol areas) per shift.") var officers = 3
    @Option(help: "Groups CSV from 'anpr link'.") var groups: String?
    @Option(help: "HTML file to write.") var out: String
    @Option(help: "Report title.") var title = "ANPRKit report"

    func run() throws {
      let (store, clock) = try storeOptions.open()
      var input = ReportInput(storePath: storeOptions.store, summary: store.summary(clock: clock), clock: clock)
      input.title = title
      if let comparison {
        do { input.comparison = try JSONDecoder().decode(Comparison.self, from: Data(contentsOf: URL(fileURLWithPath: comparison))) } catch {
          throw CLIError("\(comparison): not a comparison file from 'anpr compare --out' (\(error))")
        }
      }
      if let model {
        let (_, saved) = try Training.loadHotspot(model)
        let fc = try Training.forecast(model: saved, store: store, clock: clock, days: days)
        input.forecast = fc
        input.forecastModel = saved.name
        input.window = try window.map { s in do { return try ShiftWindow.parse(s) } catch { throw ValidationError("\(error)") } }
        input.plan = patrolPlan(fc, officers: officers, clock: clock)
      }
      if let groups {
        guard let text = try? String(contentsOfFile: groups, encoding: .utf8) else { throw CLIError("\(groups): cannot read the groups file") }
        var byGroup: [String: ([String], Double, String)] = [:]
        var order: [String] = []
        let rows = text.split(whereSeparator: \.isNewline).map { splitCSVLine(String($0)) }
        guard let header = rows.first, header.first == "group_id", let vc = header.firstIndex(of: "vehicle"),
              let cc = header.firstIndex(of: "confidence"), let ec = header.firstIndex(of: "evidence") else {
          throw CLIError("\(groups): not a groups file from 'anpr link' (header group_id,…,vehicle,…,confidence,…,evidence)")
        }
        for (k, f) in rows.dropFirst().enumerated() {
          guard f.count == header.count else { throw CLIError("\(groups):\(k + 2): \(f.count) fields, the header has \(header.count)") }
          if byGroup[f[0]] == nil { order.append(f[0]); byGroup[f[0]] = ([], 1, f[ec]) }
          byGroup[f[0]]!.0.append(f[vc])
          guard let c = Double(f[cc]) else { throw CLIError("\(groups):\(k + 2): confidence '\(f[cc])' is not a number") }
          byGroup[f[0]]!.1 = min(byGroup[f[0]]!.1, c)
        }
        input.groups = order.map { ($0, byGroup[$0]!.0, byGroup[$0]!.1, byGroup[$0]!.2) }
      }
      try write(HTMLReport.render(input), to: out)
      print("report: \(out)")
    }
  }
}

/// Splits one CSV line with RFC 4180 quoting.
func splitCSVLine(_ s: String) -> [String] {
  var out: [String] = [], cur = "", quoted = false
  var it = Array(s).makeIterator()
  var pending: Character? = nil
  while let c = pending ?? it.next() {
    pending = nil
    if quoted {
      if c == "\"" { if let n = it.next() { if n == "\"" { cur.append("\"") } else { quoted = false; pending = n } } else { quoted = false } }
      else { cur.append(c) }
    } else if c == "\"" { quoted = true }
    else if c == "," { out.append(cur); cur = "" }
    else { cur.append(c) }
  }
  out.append(cur)
  return out
}
