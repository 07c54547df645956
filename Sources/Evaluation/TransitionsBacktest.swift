import Foundation
import Modelling
import Reads
import Routes

/// Route models compared on transitions computed elsewhere (`transitions.csv`), which hold an hour of
/// day but no dates, so no time can be held out: each hour of the day in turn is held out, the models
/// fit on the other 23 hours' moves and are scored on the held-out hour's (leave-one-hour-out). It
/// measures how well a model predicts moves at an hour it has not seen, from what it learned at the
/// others; a bootstrap over the 24 folds gives the interval.
public enum TransitionsBacktest {
  /// The plain baseline a model must match: the next site ranked by the other hours' raw counts.
  public static let countTableName = "count table (current → next)"

  /// The built-in variants this data supports: first order (the counts are first order), with and
  /// without time bands.
  public static let builtIn: [NamedRouteModel] = {
    var pooled = MarkovRouteModel(); pooled.order = 1; pooled.timeBands = false
    var banded = MarkovRouteModel(); banded.order = 1; banded.timeBands = true
    return [NamedRouteModel(name: "markov-order1", model: pooled), NamedRouteModel(name: "markov-order1-bands", model: banded)]
  }()

  /// Scores per held-out hour (the window's `origin` is the hour, 0–23): top-1, top-3, MRR and log loss
  /// per move (weighted by the count), and the median absolute error of the predicted median travel
  /// time against each row's mean, in minutes. The count table (`countTableName`) is scored beside
  /// the models on the same folds (top-1, top-3, MRR, log loss with 0.01 pseudo-counts per site).
  public static func run(rows: [TransitionCounts.Row], sites: [(latitude: Double, longitude: Double)], models: [NamedRouteModel]) throws -> [String: [WindowScore]] {
    guard models.allSatisfy({ $0.model.order == 1 }) else {
      throw SpecError.invalid("transitions.csv holds first-order moves only: route specs must have order: 1")
    }
    // A weekday (Monday 2024-01-01) at the middle of each hour, on UTC: the hour picks the band.
    let monday: Int64 = 1_704_067_200
    var out: [String: [WindowScore]] = [:]
    for hour in 0..<24 {
      let test = rows.filter { $0.hour == hour && $0.count > 0 }
      let total = test.reduce(0) { $0 + $1.count }
      guard total > 0 else { continue }
      let counts = TransitionCounts(rows: rows.filter { $0.hour != hour }, siteCount: sites.count)
      guard !(counts.next[0]?.isEmpty ?? true) else { continue }
      let t = monday + Int64(hour) * 3600 + 1800
      for m in models {
        let fitted = try m.model.fit(counts, sites: sites)
        var score = RankScores()
        var errors: [(Double, Double)] = []  // (abs error minutes, weight)
        var cache: [Int: NextSitePrediction] = [:]
        for row in test {
          let pred = cache[row.from] ?? fitted.predict(history: [row.from], time: t, clock: .utc, personal: nil)
          cache[row.from] = pred
          let rank = (pred.ranked.firstIndex { $0.site == row.to }.map { $0 + 1 })
            ?? (pred.ranked.count + (sites.count + 1 - pred.ranked.count + 1) / 2)
          score.add(rank: rank, probability: pred.ranked.first { $0.site == row.to }?.probability ?? pred.remainderPerSite, weight: row.count)
          if row.to != endOfTrip, let mean = row.meanSeconds {
            let tt = fitted.travelTime(from: row.from, to: row.to, band: timeBand(t, clock: .utc))
            errors.append((abs(tt.median - mean) / 60, row.count))
          }
        }
        var metrics = score.metrics(total)
        if !errors.isEmpty { metrics["arrival_abs_error_min"] = weightedMedian(errors) }
        out[m.name, default: []].append(WindowScore(origin: Int64(hour), metrics: metrics))
      }
      // The plain count table of the other hours' moves (the end of a trip one more symbol), same folds.
      var table: [Int: [Int: Double]] = [:]
      for r in rows where r.hour != hour && r.count > 0 { table[r.from, default: [:]][r.to, default: 0] += r.count }
      var score = RankScores()
      for row in test {
        let counts = table[row.from] ?? [:]
        let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
        let rank = (ranked.firstIndex(of: row.to).map { $0 + 1 }) ?? (ranked.count + (sites.count + 1 - ranked.count + 1) / 2)
        score.add(rank: rank, probability: ((counts[row.to] ?? 0) + 0.01) / (counts.orderedSum + 0.01 * Double(sites.count + 1)), weight: row.count)
      }
      out[countTableName, default: []].append(WindowScore(origin: Int64(hour), metrics: score.metrics(total)))
    }
    guard !out.isEmpty else { throw FitError.noData("transitions: no moves to score") }
    return out
  }

  /// Weighted top-1, top-3, reciprocal rank and log loss of next-site predictions.
  struct RankScores {
    var top1 = 0.0, top3 = 0.0, rr = 0.0, ll = 0.0
    mutating func add(rank: Int, probability p: Double, weight w: Double) {
      if rank == 1 { top1 += w }
      if rank <= 3 { top3 += w }
      rr += w / Double(rank)
      ll += w * -log(max(p, 1e-12))
    }
    func metrics(_ total: Double) -> [String: Double] { ["top1": top1 / total, "top3": top3 / total, "mrr": rr / total, "log_loss": ll / total] }
  }

  static func weightedMedian(_ xs: [(Double, Double)]) -> Double {
    let sorted = xs.sorted { $0.0 < $1.0 }
    let half = sorted.reduce(0) { $0 + $1.1 } / 2
    var acc = 0.0
    for (x, w) in sorted { acc += w; if acc >= half { return x } }
    return sorted.last!.0
  }
}
