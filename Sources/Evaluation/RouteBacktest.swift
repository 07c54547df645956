import Foundation
import Modelling
import Reads
import Routes

/// The route metric names, in table order.
/// Route metrics: next-site accuracy over moves (among sites: a move cannot end the trip), its log loss
/// conditional on the trip going on, arrival error and 80% coverage, and the Brier score of
/// P(the trip ends here) at every site of every trip.
public let routeMetricNames = Metric.routeTable.map(\.name)

/// A named route model variant for comparisons.
public struct NamedRouteModel: Sendable {
  public var name: String
  public var model: MarkovRouteModel
  /// Personalise with each vehicle's own training counts.
  public var personal: Bool
  public init(name: String, model: MarkovRouteModel, personal: Bool = false) { self.name = name; self.model = model; self.personal = personal }

  /// The built-in variants: first order; order 2 with time bands; order 2 personalised.
  public static let builtIn: [NamedRouteModel] = {
    var first = MarkovRouteModel(); first.order = 1; first.timeBands = false
    let second = MarkovRouteModel()
    return [NamedRouteModel(name: "markov-order1", model: first), NamedRouteModel(name: "markov-order2-bands", model: second),
            NamedRouteModel(name: "markov-order2-personal", model: second, personal: true)]
  }()
}

/// The simulator's next-site oracle for actor trips (`truth-next-site.csv`).
public struct RouteOracle: Sendable {
  /// actor → "prev|site" (and "*|site", summed over prev) → next → simulated count.
  var table: [String: [String: [String: Double]]] = [:]
  /// Share of probability spread uniformly over all sites, so moves the Monte Carlo never produced
  /// (misreads, rare detours) keep a finite log loss; reported with the oracle row.
  public var smoothing = 0.02
  var siteCount = 1
  public init(path: String, siteCount: Int = 1) throws {
    self.siteCount = siteCount
    try CSVReader(source: ByteSource(path: path)).forEachRecord { r in
      if r.line == 1 || r.count < 6 { return }
      let n = Double(r.string(5)) ?? 0
      table[r.string(0), default: [:]]["\(r.string(1))|\(r.string(2))", default: [:]][r.string(3), default: 0] += n
      table[r.string(0), default: [:]]["*|\(r.string(2))", default: [:]][r.string(3), default: 0] += n
    }
  }
  /// P(next | actor, prev, current), backing off to P(next | actor, current); nil when never simulated.
  func distribution(actor: String, prev: String, site: String) -> [String: Double]? {
    guard let row = table[actor]?["\(prev)|\(site)"] ?? table[actor]?["*|\(site)"] else { return nil }
    let total = row.orderedSum
    return row.mapValues { (1 - smoothing) * $0 / total + smoothing / Double(siteCount + 1) }
  }
}

/// The plain baselines a route model must match: the next site by raw counts from the current site,
/// and from the (previous, current) pair backing off to the current site when the pair was never seen.
struct CountTableRoutes {
  var first: [Int: [Int: Double]] = [:]   // current → next (or endOfTrip) → count
  var second: [Int64: [Int: Double]] = [:] // (previous, current) → next → count
  static let names = ["count table (current → next)", "count table (previous, current → next)"]

  mutating func add(_ sites: [Int]) {
    let s = Trip.collapseRepeats(sites)
    for i in s.indices {
      let next = i + 1 < s.count ? s[i + 1] : endOfTrip
      first[s[i], default: [:]][next, default: 0] += 1
      if i > 0 { second[Int64(s[i - 1]) << 32 | Int64(s[i]), default: [:]][next, default: 0] += 1 }
    }
  }

  /// Next sites ranked by count (ties: lower site index), P(next | the trip goes on) with a small
  /// pseudo-count per site so unseen moves keep a finite log loss, and P(the trip ends here).
  func predict(history: [Int], pair: Bool, siteCount: Int) -> (ranked: [(site: Int, probability: Double)], unseen: Double, end: Double) {
    let cur = history.last!
    var row = first[cur] ?? [:]
    if pair, history.count >= 2, let r = second[Int64(history[history.count - 2]) << 32 | Int64(cur)] { row = r }
    let total = row.orderedSum
    let end = total > 0 ? (row[endOfTrip] ?? 0) / total : 0
    let moves = row.filter { $0.key != endOfTrip }
    let moveTotal = moves.orderedSum
    let eps = 0.01
    let denom = moveTotal + eps * Double(siteCount)
    let ranked = moves.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
      .map { (site: $0.key, probability: ($0.value + eps) / denom) }
    return (ranked, eps / denom, end)
  }
}

public enum RouteBacktest {
  /// Scores each model (and the oracle, for actor vehicles, when given) on next-site prediction over
  /// daily windows: train on trips before the origin, test on moves in trips starting in the window.
  /// - Parameters:
  ///   - vehicles: restrict test trips to these vehicles (e.g. actor plates); nil = all.
  ///   - actorOf: vehicle index → actor name, for the oracle.
  public static func run(store: ReadStore, models: [NamedRouteModel], plan: BacktestPlan, clock: LocalClock,
                         testVehicles: Set<Int>? = nil, oracle: RouteOracle? = nil, actorOf: [Int: String] = [:],
                         maxTestMoves: Int = 20000, progress: ((Int, Int) -> Void)? = nil,
                         shown: ((_ origin: Int64, _ counts: TransitionCounts, _ personal: [Int: TransitionCounts]) -> Void)? = nil) throws -> [String: [WindowScore]] {
    guard let start = store.header.timeStart, let end = store.header.timeEnd else { throw FitError.noData("empty store") }
    // Origins at local midnights (whole local days, right across clock changes).
    let day0 = clock.day(start)
    var origins: [Int64] = []
    var d = day0 + Int64(plan.minimumTrainingDays)
    while clock.startOfDay(d + Int64(plan.horizonDays)) <= clock.startOfNextDay(after: end) {
      origins.append(clock.startOfDay(d)); d += Int64(plan.stepDays)
    }
    if plan.maxWindows > 0 && origins.count > plan.maxWindows { origins = Array(origins.suffix(plan.maxWindows)) }
    guard !origins.isEmpty else { throw SpecError.invalid("not enough days for a route backtest (need \(plan.minimumTrainingDays) + \(plan.horizonDays))") }
    let sites = store.siteLocations
    // All trips once, in vehicle order.
    var trips: [Trip] = []
    for v in 0..<store.vehicles.count { trips += store.trips(ofVehicle: v) }
    var out: [String: [WindowScore]] = [:]
    let maxOrder = models.map(\.model.order).max() ?? 2
    for (k, origin) in origins.enumerated() {
      // What every model learns from: the transitions of reads before the origin, from the builder
      // training uses (`anpr train` on a store cut at the origin fits the same counts).
      let counts = TransitionCounts.build(store: store, order: maxOrder, to: origin, clock: clock)
      let windowEnd = clock.startOfDay(clock.day(origin) + Int64(plan.horizonDays))
      // The window's test trips, in order, until their moves reach `maxTestMoves` (the trip-end score
      // covers the same trips): a county's day holds hundreds of thousands of trips.
      var test: [Trip] = []
      // Moves: (trip, index of current read) with a next site different from the current.
      var moves: [(Trip, [Int], [Int64], Int)] = []
      for t in trips where t.start >= origin && t.start < windowEnd && (testVehicles?.contains(t.vehicle) ?? true) {
        guard moves.count < maxTestMoves else { break }
        test.append(t)
        let (s, ts) = t.collapsed
        for i in 0..<(s.count - 1) where moves.count < maxTestMoves { moves.append((t, s, ts, i)) }
      }
      // Personal counts only for the vehicles the window scores (every vehicle's, before: 550 000
      // vehicles' tables at a 2 · 10⁸-read store passed 20 GB).
      let scored = Set(test.map(\.vehicle))
      var personal: [Int: TransitionCounts] = [:]
      var tables = CountTableRoutes()
      for t in trips where t.start < origin {
        let keep = t.times.indices.filter { t.times[$0] < origin }
        let s = keep.map { t.sites[$0] }, ts = keep.map { t.times[$0] }
        tables.add(s)
        if scored.contains(t.vehicle) {
          personal[t.vehicle, default: TransitionCounts(order: 1, siteCount: store.sites.count)].add(sites: s, times: ts, clock: clock)
        }
      }
      shown?(origin, counts, personal)  // what the models learn from at this origin (the leakage test's spy)
      guard !moves.isEmpty else { continue }
      for m in models {
        let fitted = try m.model.fit(counts, sites: sites)
        var top1 = 0.0, top3 = 0.0, rr = 0.0, ll = 0.0, errs: [Double] = [], cover = 0.0
        for (trip, s, ts, i) in moves {
          let history = Array(s[0...i]), actual = s[i + 1]
          let pred = fitted.predict(history: history, time: ts[i], clock: clock, personal: m.personal ? personal[trip.vehicle] : nil)
          // A move is scored among sites only: "the trip ends here" cannot be its answer, and has its
          // own score (end_brier) below. Probabilities are conditional on the trip going on.
          let pEnd = pred.ranked.first { $0.site == endOfTrip }?.probability ?? 0
          let sitesRanked = pred.ranked.filter { $0.site != endOfTrip }
          let rank = (sitesRanked.firstIndex { $0.site == actual }.map { $0 + 1 })
            ?? (sitesRanked.count + (store.sites.count - sitesRanked.count + 1) / 2)
          if rank == 1 { top1 += 1 }
          if rank <= 3 { top3 += 1 }
          rr += 1 / Double(rank)
          let p = (sitesRanked.first { $0.site == actual }?.probability ?? pred.remainderPerSite) / max(1 - pEnd, 1e-12)
          ll += -log(max(min(p, 1), 1e-12))
          let tt = fitted.travelTime(from: s[i], to: actual, band: timeBand(ts[i], clock: clock))
          let secs = Double(ts[i + 1] - ts[i])
          errs.append(abs(tt.median - secs) / 60)
          if secs >= tt.low80 && secs <= tt.high80 { cover += 1 }
        }
        // Trip ends: at every site of every test trip, P(the trip ends here) against whether it did.
        var brier = 0.0, points = 0.0
        for t in test {
          let (s, ts) = t.collapsed
          for i in s.indices {
            let pred = fitted.predict(history: Array(s[0...i]), time: ts[i], clock: clock, personal: m.personal ? personal[t.vehicle] : nil)
            let pEnd = pred.ranked.first { $0.site == endOfTrip }?.probability ?? 0
            let ended = i == s.count - 1 ? 1.0 : 0.0
            brier += (pEnd - ended) * (pEnd - ended)
            points += 1
          }
        }
        let n = Double(moves.count)
        errs.sort()
        out[m.name, default: []].append(WindowScore(origin: origin, metrics: [
          "top1": top1 / n, "top3": top3 / n, "mrr": rr / n, "log_loss": ll / n,
          "arrival_abs_error_min": errs[errs.count / 2], "arrival_coverage80": cover / n, "end_brier": brier / max(points, 1),
        ]))
      }
      // The count-table baselines, scored as the models are (moves among sites; ends apart).
      for (b, name) in CountTableRoutes.names.enumerated() {
        var top1 = 0.0, top3 = 0.0, rr = 0.0, ll = 0.0
        for (_, s, _, i) in moves {
          let pred = tables.predict(history: Array(s[0...i]), pair: b == 1, siteCount: store.sites.count)
          let actual = s[i + 1]
          let rank = (pred.ranked.firstIndex { $0.site == actual }.map { $0 + 1 })
            ?? (pred.ranked.count + (store.sites.count - pred.ranked.count + 1) / 2)
          if rank == 1 { top1 += 1 }
          if rank <= 3 { top3 += 1 }
          rr += 1 / Double(rank)
          ll += -log(max(pred.ranked.first { $0.site == actual }?.probability ?? pred.unseen, 1e-12))
        }
        var brier = 0.0, points = 0.0
        for t in test {
          let s = Trip.collapseRepeats(t.sites)
          for i in s.indices {
            let e = tables.predict(history: Array(s[0...i]), pair: b == 1, siteCount: store.sites.count).end
            let ended = i == s.count - 1 ? 1.0 : 0.0
            brier += (e - ended) * (e - ended); points += 1
          }
        }
        let n = Double(moves.count)
        out[name, default: []].append(WindowScore(origin: origin, metrics: [
          "top1": top1 / n, "top3": top3 / n, "mrr": rr / n, "log_loss": ll / n, "end_brier": brier / max(points, 1),
        ]))
      }
      if let oracle {
        var top1 = 0.0, top3 = 0.0, rr = 0.0, ll = 0.0, n = 0.0
        for (trip, s, _, i) in moves {
          guard let actor = actorOf[trip.vehicle],
            let dist = oracle.distribution(actor: actor, prev: i > 0 ? store.sites[s[i - 1]] : "-", site: store.sites[s[i]])
          else { continue }
          let ranked = dist.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
          let actual = store.sites[s[i + 1]]
          let rank = (ranked.firstIndex { $0.key == actual }.map { $0 + 1 }) ?? (ranked.count + 1)
          n += 1
          if rank == 1 { top1 += 1 }
          if rank <= 3 { top3 += 1 }
          rr += 1 / Double(rank)
          ll += -log(dist[actual] ?? oracle.smoothing / Double(oracle.siteCount + 1))
        }
        if n > 0 {
          out["oracle", default: []].append(WindowScore(origin: origin, metrics: ["top1": top1 / n, "top3": top3 / n, "mrr": rr / n, "log_loss": ll / n]))
        }
      }
      progress?(k + 1, origins.count)
    }
    return out
  }
}
