import Foundation
import Reads
import Hotspots
import Modelling

/// A model's row in a comparison: each metric's mean over windows with a bootstrap interval, and
/// its fraction of the oracle's score where the data come from the simulator.
public struct ComparisonRow: Codable, Sendable {
  public var name: String
  /// The family the row's forecasts belong to (its table).
  public var family: ModelFamily
  /// A model (or baseline) the toolkit fits, or the oracle: the best forecast possible, from the
  /// simulator's truth.
  public var role: RowRole
  public var metrics: [String: Estimate]
  /// Windows scored (those the model failed on are not among them).
  public var windows: Int
  /// Windows the model could not fit or forecast on, and the first reason.
  public var failedWindows: Int?
  public var failure: String?
  /// Predicted against observed per quintile of the forecast's cells, the mean over windows (hotspot rows).
  public var calibration: [CalibrationPoint]?
  /// The PIT histogram of the forecast's cells, the mean over windows (hotspot rows): 0.1 in each of its
  /// ten bins when the predictive distribution is calibrated.
  public var pit: [Double]?

  public init(name: String, family: ModelFamily, role: RowRole, metrics: [String: Estimate], windows: Int) {
    self.name = name; self.family = family; self.role = role; self.metrics = metrics; self.windows = windows
  }

  /// The `kind` column of tables and files: the family, or "oracle".
  public var kind: String { role == .oracle ? "oracle" : family.rawValue }

  enum CodingKeys: String, CodingKey { case name, kind, family, metrics, windows, failedWindows, failure, calibration, pit }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let name = try c.decode(String.self, forKey: .name)
    self.name = name
    let kind = try c.decode(String.self, forKey: .kind)
    role = kind == "oracle" ? .oracle : .model
    if let f = try c.decodeIfPresent(ModelFamily.self, forKey: .family) {
      family = f
    } else if let f = ModelFamily(rawValue: kind) {
      family = f
    } else {  // files from before the family was written: the oracle's family is in its name
      family = ModelFamily.allCases.first { name.contains($0.displayName) } ?? .hotspot
    }
    metrics = try c.decode([String: Estimate].self, forKey: .metrics)
    windows = try c.decode(Int.self, forKey: .windows)
    failedWindows = try c.decodeIfPresent(Int.self, forKey: .failedWindows)
    failure = try c.decodeIfPresent(String.self, forKey: .failure)
    calibration = try c.decodeIfPresent([CalibrationPoint].self, forKey: .calibration)
    pit = try c.decodeIfPresent([Double].self, forKey: .pit)
    if calibration == nil, metrics["calibration_pred_q1"] != nil {  // format 1 kept them as pseudo-metrics
      calibration = (1...5).compactMap { q in
        metrics["calibration_pred_q\(q)"].flatMap { p in metrics["calibration_obs_q\(q)"].map { CalibrationPoint(predicted: p.value, observed: $0.value) } }
      }
      metrics = metrics.filter { !$0.key.hasPrefix("calibration_") }
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(name, forKey: .name)
    try c.encode(kind, forKey: .kind)
    try c.encode(family, forKey: .family)
    try c.encode(metrics, forKey: .metrics)
    try c.encode(windows, forKey: .windows)
    try c.encodeIfPresent(failedWindows, forKey: .failedWindows)
    try c.encodeIfPresent(failure, forKey: .failure)
    try c.encodeIfPresent(calibration, forKey: .calibration)
    try c.encodeIfPresent(pit, forKey: .pit)
  }
}

/// What a comparison row is.
public enum RowRole: String, Codable, Sendable {
  /// A model or baseline the toolkit fits on the data.
  case model
  /// The best forecast possible, from the simulator's truth (a reference, on simulated towns only).
  case oracle
}

extension ModelFamily {
  /// The family in words ("next appearance").
  public var displayName: String { rawValue.replacingOccurrences(of: "-", with: " ") }
}

extension Comparison {
  /// The rows of one family, its oracle included.
  public func rows(of family: ModelFamily) -> [ComparisonRow] { models.filter { $0.family == family } }
  /// The family's oracle row, if the comparison has one.
  public func oracle(of family: ModelFamily) -> ComparisonRow? { models.first { $0.family == family && $0.role == .oracle } }
  /// The comparison restricted to one family.
  public func only(_ family: ModelFamily) -> Comparison { Comparison(target: target, windows: windows, models: rows(of: family)) }
}

/// Models × metrics over the same backtest windows.
public struct Comparison: Codable, Sendable {
  public var format = "anprkit-comparison"
  public var formatVersion = 1
  public var target: String
  public var windows: Int
  public var models: [ComparisonRow]
  /// The two best models by the primary metric, their paired difference and p-value.
  public var pairedTest: PairedTest?
  public var notes: [String] = []

  public struct PairedTest: Codable, Sendable {
    public var metric: String
    public var better: String
    public var worse: String
    public var difference: Estimate
    public var pValue: Double
    enum CodingKeys: String, CodingKey { case metric, better, worse, difference, pValue = "p_value" }
  }

  enum CodingKeys: String, CodingKey { case format, formatVersion = "format_version", target, windows, models, pairedTest = "paired_test", notes }

  public init(target: String, windows: Int, models: [ComparisonRow], pairedTest: PairedTest? = nil, notes: [String] = []) {
    self.target = target; self.windows = windows; self.models = models; self.pairedTest = pairedTest; self.notes = notes
  }

  /// Metrics where the oracle fraction is meaningful (ratios of non-negative scores, higher is better).
  public static let ratioMetrics: Set<String> = Set(Metric.all.filter(\.isRatio).map(\.name))
  /// Metrics where lower is better.
  public static let lowerIsBetter: Set<String> = Set(Metric.all.filter { !$0.higherIsBetter }.map(\.name))

  /// Summarises per-window scores. `primary` picks the paired test's pair.
  /// Scores per model name, with the oracle's (if any) under "oracle"; its row is named
  /// `oracle (family)`.
  public static func summarise(hotspot scores: [String: [WindowScore]], order: [String], family: ModelFamily, target: String,
                               primary: String = "hit_rate@10%", seed: UInt64 = 1) -> Comparison {
    var rows: [ComparisonRow] = []
    // The oracle's score per window, so a row's fraction of the oracle compares means over the same
    // windows (a model that failed on some windows is compared on the others).
    let oracleByOrigin = Dictionary((scores["oracle"] ?? []).filter { $0.failure == nil }.map { ($0.origin, $0.metrics) }, uniquingKeysWith: { a, _ in a })
    var notes: [String] = []
    var partialOracle: [String: (Int, Int)] = [:]
    for name in order + (scores["oracle"] != nil ? ["oracle"] : []) {
      guard let all = scores[name] else { continue }
      let ws = all.filter { $0.failure == nil }
      var metrics: [String: Estimate] = [:]
      // Each metric over the windows where it has a value (a next-appearance window whose visits made
      // no stop has no stop score); a metric no window has is left out, not printed as NaN.
      for m in Set(ws.flatMap { $0.metrics.keys }).sorted() {
        let scored = ws.filter { $0.metrics[m]?.isFinite ?? false }
        guard !scored.isEmpty else { continue }
        var e = Bootstrap.mean(scored.map { $0.metrics[m]! }, seed: seed)
        if ratioMetrics.contains(m), name != "oracle" {
          let paired = scored.compactMap { w in oracleByOrigin[w.origin]?[m].flatMap { $0.isFinite ? (w.metrics[m]!, $0) : nil } }
          if !paired.isEmpty {
            let o = Bootstrap.mean(paired.map(\.1), seed: seed).value
            let mine = paired.count == scored.count ? e.value : Bootstrap.mean(paired.map(\.0), seed: seed).value
            if o > 0 { e.fractionOfOracle = mine / o }
            if paired.count < scored.count { partialOracle[name] = (paired.count, scored.count) }
          }
        }
        metrics[m] = e
      }
      // Hit rates pooled over windows (open_cp's summed hit counts): Σ hit rate × total / Σ total.
      if ws.contains(where: { $0.observedTotal != nil }) {
        for c in Metric.hitRateCurve {
          let key = Metric.hitRate(coverage: c).name
          let rows = ws.compactMap { w in w.metrics[key].flatMap { h in w.observedTotal.map { (h * $0, $0) } } }
          let e = Bootstrap.ratio(rows.map(\.0), rows.map(\.1), seed: seed)
          if e.value.isFinite { metrics[Metric.pooledHitRate(coverage: c).name] = e }
        }
      }
      let isOracle = name == "oracle"
      var row = ComparisonRow(name: isOracle ? "oracle (\(family.displayName))" : name, family: family, role: isOracle ? .oracle : .model,
                              metrics: metrics, windows: ws.count)
      row.calibration = CalibrationPoint.mean(ws.compactMap(\.calibration))
      row.pit = elementwiseMean(ws.compactMap(\.pit))
      if let first = all.first(where: { $0.failure != nil }) {
        row.failedWindows = all.count - ws.count
        row.failure = first.failure
        notes.append("\(name) could not fit on \(all.count - ws.count) of \(all.count) windows (first, from \(Timestamp.iso8601(first.origin)): \(first.failure!))"
          + (ws.isEmpty ? "; it has no scores" : "; its scores are over the other \(ws.count)"))
      }
      let wild = ws.compactMap(\.extrapolated)
      if let top = wild.max() {
        notes.append("\(name) forecast up to \(String(format: "%.4g", top)) per bin in \(wild.count) of \(ws.count) windows, over 10× the largest count in its training data: it is extrapolating (too little history for its terms?)")
      }
      rows.append(row)
    }
    for name in order where partialOracle[name] != nil {
      let (n, m) = partialOracle[name]!
      notes.append("\(name): its fraction of the oracle is over the \(n) of its \(m) windows the oracle was scored on too")
    }
    var c = Comparison(target: target, windows: scores.values.map(\.count).max() ?? 0, models: rows, notes: notes)
    let ranked = rows.filter { $0.role == .model && !($0.metrics[primary]?.value.isNaN ?? true) }
      .sorted { ($0.metrics[primary]!.value, $1.name) > ($1.metrics[primary]!.value, $0.name) }
    if ranked.count >= 2 {
      // Paired over the windows both models were scored on.
      // A metric of two rows over the windows both were scored on.
      func paired(_ a: String, _ b: String, _ metric: String) -> [(Double, Double)] {
        zip(scores[a] ?? [], scores[b] ?? []).compactMap { x, y -> (Double, Double)? in
          guard let u = x.metrics[metric], let v = y.metrics[metric], u.isFinite, v.isFinite else { return nil }
          return (u, v)
        }
      }
      let pairs = paired(ranked[0].name, ranked[1].name, primary)
      if pairs.count >= 2 {
        let (d, p) = Bootstrap.paired(pairs.map(\.0), pairs.map(\.1), seed: seed)
        c.pairedTest = PairedTest(metric: primary, better: ranked[0].name, worse: ranked[1].name, difference: d, pValue: p)
        // When the hit rate cannot tell the best two apart, say whether a proper score can.
        let proper = Metric.logScore.name
        if p >= 0.05, primary != proper, family == .hotspot {
          let byScore = rows.filter { $0.role == .model && ($0.metrics[proper]?.value.isFinite ?? false) }
            .sorted { ($0.metrics[proper]!.value, $1.name) > ($1.metrics[proper]!.value, $0.name) }
          if byScore.count >= 2 {
            let lp = paired(byScore[0].name, byScore[1].name, proper)
            if lp.count >= 2 {
              let (ld, lpv) = Bootstrap.paired(lp.map(\.0), lp.map(\.1), seed: seed)
              c.notes.append(String(format: "%@ does not separate the best two models (p = %.3f); the log score, a proper score, %@: %@ %.4f against %@ %.4f (difference %.4f [%.4f, %.4f], p = %.3f)",
                                    primary, p, lpv < 0.05 ? "does" : "does not either", byScore[0].name, byScore[0].metrics[proper]!.value,
                                    byScore[1].name, byScore[1].metrics[proper]!.value, ld.value, ld.ciLow, ld.ciHigh, lpv))
            }
          }
        }
      } else {
        c.notes.append("no paired test: \(ranked[0].name) and \(ranked[1].name) share \(pairs.count) scored window(s); a test needs at least 2")
      }
    }
    return c
  }

  /// Appends rows (e.g. route models) from another comparison over their own windows.
  public mutating func append(_ other: Comparison) {
    models += other.models
    notes += other.notes
  }

  /// A terminal table: one row per model, each metric as `value [low, high]` and the oracle fraction.
  public func table(metrics: [String]) -> String {
    var lines: [String] = []
    let header = ["model", "kind"] + metrics
    var rows: [[String]] = [header]
    for r in models {
      var cells = [r.name, r.kind]
      for m in metrics {
        guard let e = r.metrics[m] else { cells.append("-"); continue }
        var s = String(format: "%.3f [%.3f, %.3f]", e.value, e.ciLow, e.ciHigh)
        if let f = e.fractionOfOracle { s += String(format: " (%.0f%%)", f * 100) }
        cells.append(s)
      }
      rows.append(cells)
    }
    let widths = header.indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
    for (k, r) in rows.enumerated() {
      lines.append(r.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
      if k == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
    }
    return lines.joined(separator: "\n")
  }

  /// One row per model and metric: `model,kind,metric,value,ci_low,ci_high,fraction_of_oracle`.
  public var table: CSVTable {
    var t = CSVTable(header: ["model", "kind", "metric", "value", "ci_low", "ci_high", "fraction_of_oracle"])
    for r in models {
      for m in r.metrics.keys.sorted() {
        let e = r.metrics[m]!
        t.append([r.name, r.kind, m, "\(e.value)", "\(e.ciLow)", "\(e.ciHigh)", e.fractionOfOracle.map { "\($0)" } ?? ""])
      }
    }
    return t
  }
}
