import Foundation
import Modelling
import Reads
import Testing
import TestSupport
@testable import Routes

let sites: [(latitude: Double, longitude: Double)] = (0..<5).map { (51.54, 0.70 + Double($0) * 0.01) }
let t0: Int64 = 1_772_701_200  // Thursday 2026-03-05 09:00 UTC (London: GMT)

@Suite("Markov route model")
struct MarkovRouteTests {
  /// Three trips, counted by hand below.
  func counts(order: Int = 2) -> TransitionCounts {
    var c = TransitionCounts(order: order, siteCount: 5)
    c.add(sites: [0, 1, 2], times: [t0, t0 + 60, t0 + 180], clock: .utc)
    c.add(sites: [0, 1, 3], times: [t0, t0 + 60, t0 + 200], clock: .utc)
    c.add(sites: [4, 1, 2, 2], times: [t0, t0 + 90, t0 + 150, t0 + 160], clock: .utc)  // repeat read at 2 collapses
    return c
  }

  @Test func handCountedTransitions() {
    let c = counts()
    #expect(c.next[TransitionCounts.key([1], band: nil)] == [2: 2, 3: 1])
    #expect(c.next[TransitionCounts.key([0, 1], band: nil)] == [2: 1, 3: 1])
    #expect(c.next[TransitionCounts.key([4, 1], band: nil)] == [2: 1])
    #expect(c.next[TransitionCounts.key([2], band: nil)] == [endOfTrip: 2])
    #expect(c.entries == [0: 2, 4: 1])
    #expect(c.travel[TransitionCounts.travelKey(0, 1, band: nil)]![0] == 2)
    // Σ log s of two 60 s moves: each log rounded to a multiple of 2⁻²⁰, so within 2⁻²⁰ of the exact sum.
    #expect(c.travel[TransitionCounts.travelKey(0, 1, band: nil)]![1] == 2 * TransitionCounts.logSeconds(60).0)
    #expect(abs(c.travel[TransitionCounts.travelKey(0, 1, band: nil)]![1] - 2 * log(60.0)) <= 1 / TransitionCounts.travelResolution)
  }

  @Test func countsMergeByAddition() throws {
    var a = TransitionCounts(order: 2, siteCount: 5), b = a
    a.add(sites: [0, 1, 2], times: [t0, t0 + 60, t0 + 180], clock: .utc)
    a.add(sites: [0, 1, 3], times: [t0, t0 + 60, t0 + 200], clock: .utc)
    b.add(sites: [4, 1, 2, 2], times: [t0, t0 + 90, t0 + 150, t0 + 160], clock: .utc)
    #expect(try a.merged(with: b) == counts())
  }

  @Test func probabilitiesSumToOneAndBackOff() throws {
    var spec = MarkovRouteModel()
    spec.timeBands = false
    let f = try spec.fit(counts(), sites: sites)
    for history in [[0, 1], [4, 1], [1], [3], [2, 4], [0]] {
      let total = ([endOfTrip] + Array(0..<5)).reduce(0.0) { $0 + f.probability(of: $1, history: history, band: nil) }
      #expect(abs(total - 1) < 1e-12, "history \(history) sums to \(total)")
      let pred = f.predict(history: history, time: t0, clock: .utc)
      let listed = pred.ranked.map(\.probability).reduce(0, +)
      let unlisted = Double(6 - pred.ranked.count) * pred.remainderPerSite
      #expect(abs(listed + unlisted - 1) < 1e-12)
    }
    // After 4→1 the order-2 context saw only 2, so 2 beats 3; after 0→1 they tie at order 2.
    #expect(f.predict(history: [4, 1], time: t0, clock: .utc).ranked.first?.site == 2)
    // Unseen context [3, 1] backs off to order 1, where 2 leads (2 of 3).
    #expect(f.predict(history: [3, 1], time: t0, clock: .utc).ranked.first?.site == 2)
    // An unseen move keeps probability.
    #expect(f.probability(of: 4, history: [0, 1], band: nil) > 0)
  }

  @Test func unseenSiteFallsBackAndSaysSo() throws {
    let f = try MarkovRouteModel().fit(counts(), sites: sites)
    let q = f.predict(history: [99], time: t0, clock: .utc)
    #expect(q.fallback != nil)
  }

  @Test func convergesToTheTrueChain() throws {
    // A first-order chain with known probabilities; 20 000 simulated trips.
    let truth: [[Double]] = [[0, 0.7, 0.2, 0, 0, 0.1], [0.1, 0, 0.5, 0.3, 0, 0.1], [0, 0.2, 0, 0.4, 0.3, 0.1],
                             [0.3, 0, 0, 0, 0.6, 0.1], [0.5, 0.2, 0.1, 0, 0, 0.2]]  // last column: end
    var rng = SeededRNG(seed: 4)
    var c = TransitionCounts(order: 1, siteCount: 5)
    for _ in 0..<20000 {
      var s = rng.int(0...4), path = [s]
      while path.count < 30 {
        let k = rng.weightedIndex(truth[s])
        if k == 5 { break }
        s = k; path.append(s)
      }
      c.add(sites: path, times: path.indices.map { t0 + Int64($0 * 60) }, clock: .utc)
    }
    var spec = MarkovRouteModel(); spec.order = 1; spec.timeBands = false
    let f = try spec.fit(c, sites: sites)
    for s in 0..<5 {
      for t in 0..<6 {
        let p = f.probability(of: t == 5 ? endOfTrip : t, history: [s], band: nil)
        #expect(abs(p - truth[s][t]) < 0.02, "P(\(t)|\(s)) = \(p), truth \(truth[s][t])")
      }
    }
  }

  @Test func personalisationShrinksTowardsThePopulation() throws {
    var spec = MarkovRouteModel(); spec.timeBands = false
    let f = try spec.fit(counts(), sites: sites)
    var own = TransitionCounts(order: 1, siteCount: 5)
    for _ in 0..<20 { own.add(sites: [1, 4], times: [t0, t0 + 60], clock: .utc) }
    let p = f.predict(history: [1], time: t0, clock: .utc, personal: own)
    #expect(p.ranked.first?.site == 4)  // its own habit wins with 20 moves
    let total = p.ranked.map(\.probability).reduce(0, +) + Double(6 - p.ranked.count) * p.remainderPerSite
    #expect(abs(total - 1) < 1e-9)
  }

  @Test func travelTimesAndWhereAndWhen() throws {
    let f = try MarkovRouteModel().fit(counts(), sites: sites)
    let tt = f.travelTime(from: 0, to: 1, band: nil)
    // 60 s to the resolution of the quantised log sums (2⁻²⁰ of a log-second: about 60 µs).
    #expect(abs(tt.median - 60) < 60 / TransitionCounts.travelResolution && tt.level == "pair")
    let far = f.travelTime(from: 0, to: 4, band: nil)
    #expect(far.level == "distance at median speed" && far.low80 < far.median && far.median < far.high80)
    let ww = f.whereAndWhen(from: 0, time: t0, clock: .utc, horizonMinutes: 30, slotMinutes: 5)
    #expect(ww.slots.count == 5 && ww.slots[0].count == 6)
    #expect(ww.within[1] > 0.5)  // 0 → 1 is the usual first move, a minute away
    #expect(ww.within.allSatisfy { $0 >= 0 && $0 <= 1 })
  }

  @Test func transitionsCSVFromElsewhere() throws {
    let dir = try makeTemporaryDirectory("tr")
    let p = dir + "/transitions.csv"
    try "from_site,to_site,hour,count,mean_seconds\nS0,S1,8,30,120\nS0,S2,8,10,200\nS1,END,9,5,\n".write(toFile: p, atomically: false, encoding: .utf8)
    let c = try TransitionCounts.fromCSV(path: p, sites: ["S0", "S1", "S2"])
    #expect(c.next[TransitionCounts.key([0], band: nil)] == [1: 30, 2: 10])
    var spec = MarkovRouteModel(); spec.order = 1
    let f = try spec.fit(c, sites: Array(sites.prefix(3)))
    #expect(f.predict(history: [0], time: t0, clock: .utc).ranked.first?.site == 1)
    try "from_site,to_site,hour,count\nS9,S1,8,3\n".write(toFile: p, atomically: false, encoding: .utf8)
    #expect(throws: IngestError.self) { try TransitionCounts.fromCSV(path: p, sites: ["S0", "S1"]) }
  }

  /// The streaming, sharded builder over a store gives exactly the counts of adding every trip one by
  /// one (travel sums too, bit for bit), whatever the number of shards, and respects the time window.
  /// A store of 3000 random vehicles over 12 cameras at 6 sites, in a fresh directory.
  func randomStore() throws -> ReadStore {
    let dir = try makeTemporaryDirectory("routes")
    var cams = "camera_id,site_id,latitude,longitude\n"
    for c in 0..<12 { cams += "C\(c),S\(c / 2),51.5\(c),0.7\(c)\n" }  // two cameras per site
    try cams.write(toFile: dir + "/c.csv", atomically: false, encoding: .utf8)
    var rng = SeededRNG(seed: 4)
    var rows = "plate,camera_id,timestamp\n"
    for v in 0..<3000 {
      var t = Int64(1_772_701_200) + Int64(rng.next() % 200_000)
      for _ in 0..<(2 + Int(rng.next() % 12)) {
        t += Int64(rng.next() % 3) == 0 ? 2400 + Int64(rng.next() % 4000) : 30 + Int64(rng.next() % 600)
        rows += "V\(v)X,C\(rng.next() % 12),\(t)\n"
      }
    }
    try rows.write(toFile: dir + "/r.csv", atomically: false, encoding: .utf8)
    var o = IngestOptions(readsPath: dir + "/r.csv", camerasPath: dir + "/c.csv")
    try StoreWriter.write(try Ingest.run(o).0, to: dir + "/s.anpr")
    return try ReadStore(path: dir + "/s.anpr")
  }

  @Test func storeBuildMatchesTripByTripCountsForAnyShardCount() throws {
    let store = try randomStore()
    let clock = try LocalClock(identifier: "Europe/London")
    let mid = store.header.timeStart! + 100_000
    for (from, to) in [(Int64.min, Int64.max), (mid - 50_000, mid)] {
      var reference = TransitionCounts(order: 3, siteCount: store.sites.count)
      for v in 0..<store.vehicles.count {
        for trip in store.trips(ofVehicle: v) {
          let keep = trip.times.indices.filter { trip.times[$0] >= from && trip.times[$0] < to }
          if !keep.isEmpty { reference.add(sites: keep.map { trip.sites[$0] }, times: keep.map { trip.times[$0] }, clock: clock) }
        }
      }
      for shards in [1, 2, 5] {
        let built = TransitionCounts.build(store: store, order: 3, from: from, to: to, clock: clock, shards: shards)
        #expect(built.next == reference.next, "shards \(shards)")
        #expect(built.entries == reference.entries)
        // Travel sums are of quantised logs, so they are exact whatever the order of addition.
        #expect(built.travel == reference.travel, "shards \(shards)")
      }
    }
  }

  /// The batch path (top three per step, on several threads) agrees with `predict` step by step.
  @Test func everyStepPredictionsAgreeWithSinglePredictions() throws {
    let store = try randomStore()
    let clock = try LocalClock(identifier: "Europe/London")
    for order in [1, 2] {
      var spec = MarkovRouteModel(); spec.order = order
      let fitted = try spec.fit(TransitionCounts.build(store: store, order: 2, clock: clock), sites: store.siteLocations)
      let batch = fitted.predictEveryStep(store: store, clock: clock, shards: 3)
      var k = 0
      for v in 0..<store.vehicles.count {
        for trip in store.trips(ofVehicle: v) {
          var s: [Int] = [], ts: [Int64] = []
          for (a, t) in zip(trip.sites, trip.times) where s.last != a { s.append(a); ts.append(t) }
          for i in 0..<max(0, s.count - 1) {
            let p = fitted.predict(history: Array(s[...i]), time: ts[i], clock: clock)
            #expect(Int(batch.actual[k]) == s[i + 1])
            #expect(batch.top3[(3 * k)..<(3 * k + 3)].map { Int($0) } == p.ranked.prefix(3).map(\.site), "step \(k)")
            #expect(abs(p.ranked.map(\.probability).reduce(0, +) + Double(store.sites.count + 1 - p.ranked.count) * p.remainderPerSite - 1) < 1e-9)
            k += 1
          }
        }
      }
      #expect(k == batch.steps && k > 1000)
    }
  }

  @Test func nextAppearanceIsAProperDistribution() throws {
    // A vehicle that comes every 7 days on Thursday 16:00 entering at site 2.
    let visits = (0..<4).map { NextAppearanceModel.Visit(day: Int64(20496 + 7 * $0), hourOfWeek: 3 * 24 + 16, entrySite: 2) }
    let model = NextAppearanceModel().fit(visits: [0: visits, 1: visits], siteCount: 5)
    let from = Int64(20496 + 7 * 3 + 1) * 86400  // the Friday after the last visit
    let (days, none) = model.dayProbabilities(visits, from: from, days: 7, clock: .utc)
    #expect(abs(days.reduce(0, +) + none - 1) < 1e-9)
    let top = model.topWindows(visits, from: from, days: 7, k: 3, clock: .utc)
    #expect(top.first?.site == 2)
    #expect(LocalClock.utc.hourOfWeek(top.first!.hourStart) == 3 * 24 + 16)
    // Over every site and hour, the windows add up to P(seen in the period): nothing is lost to a
    // first "day" that is only the seconds left before midnight (issue 15).
    let all = model.topWindows(visits, from: from, days: 7, k: 5 * 24 * 7, clock: .utc)
    #expect(all.count == 5 * 24 * 7)
    #expect(abs(all.map(\.probability).reduce(0, +) - (1 - none)) < 1e-9)
  }

  /// An origin inside a day counts only the rest of that day: from Thursday 17:00, the habitual
  /// Thursday 16:00 visit has passed, so the first likely window is the next Thursday's, and the
  /// windows still add up to P(seen in the period). In a zone with clock changes, a 7-day horizon
  /// over the October change holds 7 × 24 + 1 hours.
  @Test func anOriginInsideADayCountsOnlyWhatIsLeftOfIt() throws {
    let visits = (0..<4).map { NextAppearanceModel.Visit(day: Int64(20496 + 7 * $0), hourOfWeek: 3 * 24 + 16, entrySite: 2) }
    let model = NextAppearanceModel().fit(visits: [0: visits, 1: visits], siteCount: 5)
    let thursday = Int64(20496 + 7 * 4) * 86400
    #expect(LocalClock.utc.weekday(thursday) == 3)
    let from = thursday + 17 * 3600
    let (days, none) = model.dayProbabilities(visits, from: from, days: 8, clock: .utc)
    #expect(days[0] < days[7], "the rest of this Thursday is past its habit: \(days)")
    let all = model.topWindows(visits, from: from, days: 8, k: 5 * 24 * 8, clock: .utc)
    #expect(all.count == 5 * (7 + 24 * 7))
    #expect(abs(all.map(\.probability).reduce(0, +) - (1 - none)) < 1e-9)
    #expect(all.allSatisfy { $0.hourStart >= from })
    #expect(LocalClock.utc.hourOfWeek(all[0].hourStart) == 3 * 24 + 16 && all[0].hourStart > from + 6 * 86400)
    let london = try LocalClock(identifier: "Europe/London")
    guard case .success(let sunday) = Timestamp.parse("2026-10-24T23:00:00Z") else { Issue.record("parse"); return }  // Sun 25 Oct 00:00 BST
    let windows = model.topWindows(visits, from: Int64(sunday), days: 7, k: 5 * 200, clock: london)
    #expect(windows.count == 5 * (7 * 24 + 1), "\(windows.count)")
  }

  /// The gap distribution by the life table, by hand (maxGapDays 4, data to day 9): A visits on days
  /// 0, 2, 4 (gaps 2, 2; away 5 days at the end), B on 0, 1 (gap 1; away 8 days), C on 3, 9 (gap 6, in
  /// the tail); a vehicle seen on one day has no gap. At risk at g = 1: all six spells (A's two gaps
  /// and last spell, B's gap and last spell, C's gap), one ends; g = 2: 5, two end; g = 3: 3, none end. Beyond 4 days: C's return after 3
  /// days in the tail, A's 2 and B's 5 days there without one. Overall: 4 returns in 24 days away, 1/6;
  /// each hazard is shrunk to it by 0.1 of a spell, the tail's by one day. Counting finished gaps alone
  /// (the rule before) gives P(gap = 1) 1/4 and ignores that B and A stopped coming.
  @Test func gapsAreLearnedByTheLifeTableWithOpenSpells() {
    func v(_ days: [Int64]) -> [NextAppearanceModel.Visit] { days.map { .init(day: $0, hourOfWeek: 9, entrySite: 0) } }
    let visits = [0: v([0, 2, 4]), 1: v([0, 1]), 2: v([3, 9]), 3: v([5])]
    let (pmf, tail) = NextAppearanceModel.gapLifeTable(visits, maxGapDays: 4)
    let h = [(1 + 0.1 / 6) / 6.1, (2 + 0.1 / 6) / 5.1, (0 + 0.1 / 6) / 3.1]
    let expected = [0, h[0], (1 - h[0]) * h[1], (1 - h[0]) * (1 - h[1]) * h[2], (1 - h[0]) * (1 - h[1]) * (1 - h[2])]
    #expect(zip(pmf, expected).allSatisfy { abs($0 - $1) < 1e-15 }, "\(pmf)")
    #expect(abs(tail - (1 + 1.0 / 6) / 11) < 1e-15)
    // The fitted model uses them: B, away 9 days on day 10, returns with the tail's hazard (times its
    // weekday share), not the 0.5 a day of the rule before.
    var model = NextAppearanceModel()
    model.maxGapDays = 4
    let fitted = model.fit(visits: visits, siteCount: 1)
    #expect(fitted.populationGaps == pmf && fitted.tailHazard == tail)
    var old = fitted; old.tailHazard = nil
    let now = fitted.dayHazards(visits[1]!, day: 10).renewal, before = old.dayHazards(visits[1]!, day: 10).renewal
    #expect(before < 1 && abs(now / before - tail / 0.5) < 1e-12, "\(now) \(before)")
    // No repeat vehicle: no spell to learn from, one return in max_gap_days rather than none.
    let none = NextAppearanceModel.gapLifeTable([0: v([1])], maxGapDays: 4)
    #expect(none.tailHazard > 0 && none.pmf[1] > 0)
    #expect(old.bodyProblem() == nil && fitted.bodyProblem() == nil)
    var wrong = fitted; wrong.tailHazard = 1.5
    #expect(wrong.bodyProblem() != nil)
  }

  /// The entry site by the hour (issue 15): vehicles collected at a depot (site 1) in the afternoon and
  /// driven in by a road (site 2) in the evening. The store's leave-one-out likelihood chooses an
  /// hour-dependent mix; the forecast then puts the 15h window at the depot and the 19h window on the
  /// road, each P(site | hour) = (own entries near the hour + c × the whole mix) / (their weight + c), and
  /// the windows still add up to P(seen).
  @Test func entrySitesDependOnTheHourWhenTheStoreSaysSo() throws {
    func v(_ day: Int64, _ hour: Int, _ site: Int) -> NextAppearanceModel.Visit { .init(day: day, hourOfWeek: Int(LocalClock.weekday(ofDay: day)) * 24 + hour, entrySite: site) }
    var visits: [Int: [NextAppearanceModel.Visit]] = [:]
    for k in 0..<20 {
      let d = Int64(20496 + k % 7)
      visits[k] = [v(d, 15, 1), v(d, 19, 2), v(d + 7, 15, 1), v(d + 7, 19, 2), v(d + 14, 19, 2)]
    }
    let fitted = NextAppearanceModel().fit(visits: visits, siteCount: 4)
    let c = try #require(fitted.siteHourStrength, "the site depends on the hour here")
    let mine = visits[0]!
    let (sites, byHour) = fitted.entrySites(mine)
    let rows = try #require(byHour)
    #expect(abs(rows[15][1] - (2 + c * sites[1]) / (2 + c)) < 1e-12, "two entries at 15h by the depot")
    #expect(abs(rows[16][1] - (2 * 0.5 + c * sites[1]) / (2 * 0.5 + c)) < 1e-12, "16h: the 15h entries at half weight")
    #expect(rows[15][1] > rows[15][2] && rows[19][2] > rows[19][1])
    let from = Int64(20496 + 21) * 86400
    let windows = fitted.topWindows(mine, from: from, days: 7, k: 4 * 24 * 7, clock: .utc)
    let byHourOfDay = Dictionary(grouping: windows) { LocalClock.utc.hourOfDay($0.hourStart) }
    #expect(byHourOfDay[15]!.max { $0.probability < $1.probability }!.site == 1)
    #expect(byHourOfDay[19]!.max { $0.probability < $1.probability }!.site == 2)
    let f = fitted.forecast(mine, from: from, days: 7, clock: .utc)
    let windowTotal: Double = windows.map(\.probability).reduce(0, +), seen: Double = f.slots.reduce(0, +)
    #expect(abs(windowTotal - seen) < 1e-9)
    let siteTotal: Double = f.sites.reduce(0, +)
    #expect(abs(siteTotal - 1) < 1e-12 && f.sitesByHour != nil)
    // A fit without the strength (from before 2026-12-07) keeps one mix at every hour.
    var old = fitted; old.siteHourStrength = nil
    #expect(old.forecast(mine, from: from, days: 7, clock: .utc).sitesByHour == nil && old.entrySites(mine).sites == sites)
    var wrong = fitted; wrong.siteHourStrength = -1
    #expect(wrong.bodyProblem() != nil && fitted.bodyProblem() == nil)
  }

  /// Where it will stop (issue 15): a vehicle that stopped near site 3 on 3 of its 4 visits is forecast
  /// to stop there with the Beta-binomial mean (3 + c·r) / (4 + c), r the population's rate and c
  /// learned per site by the method of moments; a site
  /// it never stopped at keeps the population's rate shrunk by its own visits.
  @Test func stopSitesAreForecastFromOwnStopsShrunkToThePopulation() {
    let mine = (0..<4).map { NextAppearanceModel.Visit(day: Int64(20496 + 7 * $0), hourOfWeek: 3 * 24 + 16, entrySite: 2, stopSites: $0 == 0 ? [] : [3]) }
    let others = (0..<10).map { NextAppearanceModel.Visit(day: Int64(20496 + $0), hourOfWeek: 9, entrySite: 0, stopSites: $0 < 5 ? [1] : []) }
    let model = NextAppearanceModel().fit(visits: [0: mine, 1: others], siteCount: 5)
    // Population rates over the 14 repeat visits: site 1 in 5, site 3 in 3.
    #expect(model.populationStopRates == [0, 5.0 / 14, 0, 3.0 / 14, 0])
    let p = model.stopProbabilities(mine), c = try! #require(model.stopStrengths)
    #expect(abs(p[3] - (3 + c[3] * 3.0 / 14) / (4 + c[3])) < 1e-12)
    #expect(abs(p[1] - (c[1] * 5.0 / 14) / (4 + c[1])) < 1e-12)
    // The strengths by hand (two vehicles, 14 visits; site 3: k = 3 of 4 and 0 of 10, r = 3/14; site 1:
    // 0 of 4 and 5 of 10, r = 5/14): ρ = (Σk²/n − 2rΣk + r²Σn) / (r(1 − r)) − 2, over Σ(n − 1) = 12,
    // and c = 1/ρ − 1: site 3 ρ = 83/132, c = 49/83; site 1 ρ = 5/54, c = 9.8.
    #expect(abs(c[3] - 49.0 / 83) < 1e-12 && abs(c[1] - 9.8) < 1e-12, "\(c)")
    #expect(p.indices.max { p[$0] < p[$1] } == 3)
    // A stop in a visit's list twice counts once; a fit from before stop rates forecasts none.
    var twice = mine; twice[1].stopSites = [3, 3]
    #expect(model.stopProbabilities(twice) == p)
    var old = model; old.populationStopRates = nil; old.stopStrengths = nil
    #expect(old.stopProbabilities(mine).isEmpty && old.bodyProblem() == nil)
  }

  /// A trip's stops: a gap longer than the usual time for that move by 5 minutes or more.
  @Test func tripStopsAreGapsBeyondTheUsualTravelTime() {
    let t = Trip(vehicle: 0, reads: [0, 1, 2, 3], start: 0, end: 1500, sites: [0, 1, 2, 0], times: [0, 200, 1100, 1500])
    // Usual: 0→1 180 s, 1→2 100 s, 2→0 not seen (120 s assumed).
    let stops = t.stops(travel: [0 * 3 + 1: 180, 1 * 3 + 2: 100], siteCount: 3)
    let sites: [Int] = stops.map { $0.site }, seconds: [Int64] = stops.map { $0.seconds }
    #expect(sites == [1] && seconds == [800], "2→0 took 280 s over the assumed 120: not a stop at 5 min")
    let looser: [Int64] = t.stops(travel: [0 * 3 + 1: 180, 1 * 3 + 2: 100], siteCount: 3, minimumExcess: 250).map { $0.seconds }
    #expect(looser == [800, 280])
    // Cut at an origin: a stop is known once the read after it is in; before that it is not.
    #expect(t.stops(travel: [0 * 3 + 1: 180, 1 * 3 + 2: 100], siteCount: 3, before: 1100).isEmpty)
    #expect(t.stops(travel: [0 * 3 + 1: 180, 1 * 3 + 2: 100], siteCount: 3, before: 1101).count == 1)
    #expect(NextAppearanceModel.Visit(trip: t, clock: .utc, travel: [0 * 3 + 1: 180, 1 * 3 + 2: 100], siteCount: 3, until: 1100).stopSites.isEmpty)
  }

  /// Time bands are used only where they earn their keep (issue 15): when the next site depends on
  /// the time of day (0 → 1 → 2 in the morning, 0 → 1 → 3 in the evening) the leave-one-out check keeps
  /// them; when it does not (the same mix morning and evening), the model backs off to pooled contexts.
  @Test func timeBandsAreUsedWhereTheyHelp() throws {
    let sites = [(latitude: 51.5, longitude: 0.7), (latitude: 51.51, longitude: 0.7), (latitude: 51.52, longitude: 0.7), (latitude: 51.52, longitude: 0.71)]
    func counts(dependsOnTime: Bool) -> TransitionCounts {
      var c = TransitionCounts(order: 2, siteCount: 4)
      for day in 0..<20 {
        let weekday = Int64(20514 + day % 5) * 86400  // Monday 2 – Friday 6 March 2026
        for (hour, k) in [(8, 0), (8, 1), (17, 2), (17, 3)] {
          let last = dependsOnTime ? (hour == 8 ? 2 : 3) : (k % 2 == 0 ? 2 : 3)
          let t = weekday + Int64(hour * 3600 + k * 600)
          c.add(sites: [0, 1, last], times: [t, t + 120, t + 240], clock: .utc)
        }
      }
      return c
    }
    let banded = try MarkovRouteModel().fit(counts(dependsOnTime: true), sites: sites)
    #expect(banded.usesBands)
    let morning = Int64(20517) * 86400 + 8 * 3600 + 130
    #expect(banded.predict(history: [0, 1], time: morning, clock: .utc).ranked.first?.site == 2)
    let pooled = try MarkovRouteModel().fit(counts(dependsOnTime: false), sites: sites)
    #expect(!pooled.usesBands && pooled.specification.timeBands)
    #expect(pooled.summary().facts.contains { $0.value.hasPrefix("asked for, not used") })
  }
}
