import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Modelling
import Reads
import Testing
import TestSupport
@testable import Hotspots

/// A synthetic hourly table: units on a line 500 m apart, seasonal Poisson counts (seeded).
func syntheticTable(units n: Int = 8, days: Int = 28, seed: UInt64 = 3) -> CountTable {
  let units = (0..<n).map { SpatialUnit(id: "S\($0)", latitude: 51.54, longitude: 0.70 + Double($0) * 0.0072) }
  var t = CountTable(units: units, binning: .hourly, firstBin: 1_772_409_600, binCount: days * 24, withExposure: true)
  var rng = SeededRNG(seed: seed)
  for u in 0..<n {
    for b in 0..<t.binCount {
      let hour = Double(b % 24)
      let rate = 0.05 * Double(u + 1) * (1 + 0.9 * sin(2 * .pi * (hour - 9) / 24))
      t.counts[u * t.binCount + b] = Double(rng.poisson(max(rate, 0)))
      t.exposure![u * t.binCount + b] = Double(20 + rng.poisson(10))
    }
  }
  return t
}

/// A model's predictive distribution learned from its own history (issue 17): on seasonal Poisson
/// counts of means 10–30 the historical mean's errors are barely overdispersed (a little, from
/// estimating the means on three weeks: on small means that estimation error is itself a real source
/// of overdispersion, which the learned α then carries); with gamma noise on the means (NB2, α = 0.5)
/// it learns an α near 0.5 from a held-out last day, and its forecast says so.
@Suite("Predictive dispersion")
struct PredictiveDispersionTests {
  @Test func overdispersedCountsWidenTheForecast() throws {
    // 20 sites, 28 days hourly, means 10–30 by site and hour: Poisson counts, and the same means with
    // gamma noise (NB2 α = 0.5, a gamma–Poisson mixture of shape 2).
    let units = (0..<20).map { SpatialUnit(id: "S\($0)", latitude: 51.54, longitude: 0.70 + Double($0) * 0.0072) }
    var poisson = CountTable(units: units, binning: .hourly, firstBin: 1_772_409_600, binCount: 28 * 24, withExposure: false)
    var noisy = poisson
    var rng = SeededRNG(seed: 9)
    for u in 0..<20 {
      for b in 0..<poisson.binCount {
        let m = 10 + Double(u % 5) * 2.5 + 10 * (1 + sin(2 * .pi * (Double(b % 24) - 9) / 24)) / 2
        poisson.counts[u * poisson.binCount + b] = Double(rng.poisson(m))
        noisy.counts[u * noisy.binCount + b] = Double(rng.poisson(0.5 * m * (-log(1 - rng.uniform()) - log(1 - rng.uniform()))))
      }
    }
    let f = try HistoricalMeanModel().fitForecast(poisson, bins: 24, clock: .utc)
    #expect(f.alpha < 0.1, "\(f.alpha)")
    let g = try HistoricalMeanModel().fitForecast(noisy, bins: 24, clock: .utc)
    #expect(g.alpha > 0.3 && g.alpha < 0.8 && g.alpha > f.alpha + 0.2, "\(g.alpha)")
    // A model with its own dispersion keeps it.
    var nbSpec = PoissonHotspotModel(); nbSpec.family = .negativeBinomial
    let own = try nbSpec.fit(noisy, clock: .utc).forecast(history: noisy, bins: 24, clock: .utc).alpha
    #expect(try nbSpec.fitForecast(noisy, bins: 24, clock: .utc).alpha == own)
  }
}

let allHotspotModels: [any HotspotModel] = [
  LastWindowModel(), HistoricalMeanModel(), KernelDensityModel(), ProspectiveHotspotModel(), PoissonHotspotModel(), SelfExcitingModel(),
]

@Suite("Hotspot models")
struct HotspotModelTests {
  @Test func countTablesMergeByAddition() throws {
    let t = syntheticTable()
    let a = t.slice(bins: 0..<300), b = t.slice(bins: 300..<t.binCount)
    #expect(try a.merged(with: b) == t)
    #expect(try b.merged(with: a) == t)
  }

  @Test func binningHandlesMonthsAndFixedWidths() throws {
    #expect(try Binning.parse("15m") == .seconds(900))
    #expect(try Binning.parse("month") == .month)
    #expect(throws: SpecError.self) { try Binning.parse("5m") }
    let feb = Int64(try Timestamp.parse("2024-02-15T10:00:00Z").get())
    let s = Binning.month.start(of: feb)
    #expect(Timestamp.iso8601(s) == "2024-02-01T00:00:00Z")
    #expect(Timestamp.iso8601(Binning.month.next(s)) == "2024-03-01T00:00:00Z")
    #expect(Binning.hourly.seasonalPeriod == 168)
  }

  @Test(arguments: 0..<6)
  func contract(modelIndex: Int) throws {
    let model = allHotspotModels[modelIndex]
    let t = syntheticTable()
    let train = t.slice(bins: 0..<(21 * 24))
    let clock = LocalClock.utc
    // Same data, same bits.
    let f1 = try model.fit(train, clock: clock).forecast(history: train, bins: 168, clock: clock)
    let f2 = try model.fit(train, clock: clock).forecast(history: train, bins: 168, clock: clock)
    #expect(f1.expected == f2.expected)
    #expect(f1.expected.count == t.units.count * 168)
    #expect(f1.expected.allSatisfy { $0.isFinite && $0 >= 0 }, "\(type(of: model)) produced a negative or non-finite forecast")
    #expect(f1.binStarts.first == train.end)
    // A refit on other data ignores the first fit.
    let other = syntheticTable(seed: 99).slice(bins: 0..<(21 * 24))
    let g = try model.fit(other, clock: clock).forecast(history: other, bins: 24, clock: clock)
    _ = try model.fit(train, clock: clock)  // a fit on other data in between must not change the next one
    let g3 = try model.fit(other, clock: clock).forecast(history: other, bins: 24, clock: clock)
    #expect(g.expected == g3.expected)
    // Forecast total is in the right range (within a factor of 3 of the held-out total).
    let test = t.slice(bins: (21 * 24)..<(28 * 24))
    let ratio = f1.expected.reduce(0, +) / test.counts.reduce(0, +)
    #expect(ratio > 0.33 && ratio < 3, "\(type(of: model)): forecast/actual = \(ratio)")
  }

  @Test func unseenUnitsFallBackAndSaySo() throws {
    let t = syntheticTable()
    let train = t.slice(bins: 0..<(21 * 24))
    var wider = train
    wider.units.append(SpatialUnit(id: "NEW", latitude: 51.55, longitude: 0.75))
    wider.counts += Array(repeating: 0, count: wider.binCount)
    wider.exposure! += Array(repeating: 10, count: wider.binCount)
    for model in [HistoricalMeanModel() as any HotspotModel, PoissonHotspotModel(), SelfExcitingModel()] {
      let f = try model.fit(train, clock: .utc).forecast(history: wider, bins: 24, clock: .utc)
      #expect(f.fallbackUnits == ["NEW"], "\(type(of: model))")
      #expect(f.expected.allSatisfy { $0.isFinite })
    }
  }

  /// A fit used only for its forecasts (backtest windows, held-out fits) leaves out the standard errors
  /// and the likelihood diagnostics and nothing else: the same coefficients and forecasts, bit for bit.
  @Test func aFitForForecastingSkipsOnlyTheStandardErrors() throws {
    let t = syntheticTable()
    for family in [LogLinearGLM.Family.poisson, .negativeBinomial] {
      var spec = PoissonHotspotModel(); spec.family = family
      // Through the protocol, as a backtest calls it (the Poisson model's own version, not the default).
      func forForecasting<M: HotspotModel>(_ m: M) throws -> M.Fitted { try m.fitForForecasting(t, clock: .utc, startingFrom: nil) }
      let full = try spec.fit(t, clock: .utc, startingFrom: nil), quick = try forForecasting(spec)
      #expect(quick.coefficients == full.coefficients && quick.alpha == full.alpha)
      #expect(quick.forecast(history: t, bins: 24, clock: .utc).expected == full.forecast(history: t, bins: 24, clock: .utc).expected)
      #expect(full.standardErrors.allSatisfy { $0.isFinite && $0 > 0 } && quick.standardErrors.allSatisfy(\.isNaN))
    }
  }

  @Test func poissonModelFileRoundTripAndRefusals() throws {
    let t = syntheticTable()
    let fitted = try PoissonHotspotModel().fit(t, clock: .utc)
    #expect(fitted.fitDiagnostics.converged)
    let dir = try makeTemporaryDirectory("model")
    let path = dir + "/m.model.json"
    let header = ModelFileHeader(kind: PoissonHotspotModel.kind, trainingStart: t.firstBin, trainingEnd: t.end, dataFingerprint: t.fingerprint)
    try ModelFile.write(fitted, header: header, to: path)
    let (h, loaded) = try ModelFile.read(FittedPoissonHotspot.self, kind: PoissonHotspotModel.kind, from: path)
    #expect(h == header)
    #expect(loaded.coefficients == fitted.coefficients)  // Double round-trips exactly through JSON
    #expect(loaded.forecast(history: t, bins: 24, clock: .utc).expected == fitted.forecast(history: t, bins: 24, clock: .utc).expected)
    #expect(throws: ModelFileError.wrongKind(path: path, expected: "markov-route", found: "poisson-hotspot")) {
      try ModelFile.read(FittedPoissonHotspot.self, kind: "markov-route", from: path)
    }
    let text = try String(contentsOfFile: path, encoding: .utf8)
    try text.replacingOccurrences(of: "\"formatVersion\" : \(ModelFileHeader.currentFormatVersion)", with: "\"formatVersion\" : 7").write(toFile: path + ".v7", atomically: false, encoding: .utf8)
    #expect(throws: ModelFileError.newerFormat(path: path + ".v7", found: 7)) { try ModelFile.header(at: path + ".v7") }
    try String(text.prefix(text.count / 2)).write(toFile: path + ".cut", atomically: false, encoding: .utf8)
    #expect(throws: ModelFileError.self) { try ModelFile.read(FittedPoissonHotspot.self, kind: PoissonHotspotModel.kind, from: path + ".cut") }
    try "{\"hello\": 1}".write(toFile: path + ".other", atomically: false, encoding: .utf8)
    #expect(throws: ModelFileError.notAModel(path: path + ".other")) { try ModelFile.header(at: path + ".other") }
  }

  @Test func specsApplyDefaultsAndRejectUnknownKeys() throws {
    let m = try JSONDecoder().decode(PoissonHotspotModel.self, from: Data("{\"ridge\": 2.5}".utf8))
    #expect(m.ridge == 2.5 && m.weeklyHarmonics == PoissonHotspotModel().weeklyHarmonics)
    do {
      _ = try JSONDecoder().decode(PoissonHotspotModel.self, from: Data("{\"rigde\": 2.5}".utf8))
      Issue.record("misspelt key accepted")
    } catch {
      #expect("\(error)".contains("rigde") && "\(error)".contains("ridge"))
    }
    #expect(throws: (any Error).self) { try JSONDecoder().decode(KernelDensityModel.self, from: Data("{\"bandwidth_metres\": -1}".utf8)) }
    for type in [LastWindowModel.self, HistoricalMeanModel.self, KernelDensityModel.self, ProspectiveHotspotModel.self,
                 PoissonHotspotModel.self, SelfExcitingModel.self] as [any HotspotModel.Type] {
      _ = try type.decodeParameters(Data("{}".utf8))
    }
  }

  @Test func poissonWithoutRidgeRefusesAllZeroUnitClearly() throws {
    var t = syntheticTable()
    for b in 0..<t.binCount { t.counts[2 * t.binCount + b] = 0 }
    var spec = PoissonHotspotModel()
    spec.ridge = 0
    #expect(throws: FitError.self) { try spec.fit(t, clock: .utc) }
    let ok = try PoissonHotspotModel().fit(t, clock: .utc)
    #expect(ok.fitDiagnostics.notes.contains { $0.contains("no target counts") })
  }

  @Test func rankedWindowHasIntervalsAndGeoJSON() throws {
    let t = syntheticTable()
    let f = try HistoricalMeanModel().fit(t, clock: .utc).forecast(history: t, bins: 168, clock: .utc)
    let w = try ShiftWindow.parse("Thu 16-19")
    #expect(f.bins(in: w, clock: .utc).count == 3)
    let r = f.ranked(window: w, clock: .utc)
    #expect(r.first!.unit == "S7")  // highest rate unit
    #expect(r.allSatisfy { $0.lower90 <= $0.expected && $0.expected <= $0.upper90 + 1 })
    #expect(abs(r.map(\.share).reduce(0, +) - 1) < 1e-12)
    let geo = try f.geoJSON(window: w, clock: .utc)
    let obj = try JSONSerialization.jsonObject(with: Data(geo.utf8)) as! [String: Any]
    #expect((obj["features"] as! [Any]).count == 8)
  }

  /// KML: well-formed XML (read back with Foundation's XML parser) with a placemark per unit in rank
  /// order, the values of the ranked forecast, names escaped, grid cells as polygons.
  @Test func kmlReadsBackAsTheRankedForecast() throws {
    var t = syntheticTable()
    t.units[0].id = "S0 & <Tesco> \"car park\""
    for k in 1..<3 { t.units[k].cellMetres = 500 }
    let f = try HistoricalMeanModel().fit(t, clock: .utc).forecast(history: t, bins: 168, clock: .utc)
    let w = try ShiftWindow.parse("Thu 16-19")
    let text = f.kml(window: w, clock: .utc)
    final class Reader: NSObject, XMLParserDelegate {
      var names: [String] = [], data: [String: [String]] = [:], polygons = 0, points = 0
      var path: [String] = [], text = "", dataName = ""
      func parser(_ p: XMLParser, didStartElement e: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        path.append(e); text = ""
        if e == "Data" { dataName = attributes["name"] ?? "" }
        if e == "Polygon" { polygons += 1 }
        if e == "Point" { points += 1 }
      }
      func parser(_ p: XMLParser, foundCharacters s: String) { text += s }
      func parser(_ p: XMLParser, didEndElement e: String, namespaceURI: String?, qualifiedName: String?) {
        if e == "name" && path.dropLast().last == "Placemark" { names.append(text) }
        if e == "value" { data[dataName, default: []].append(text) }
        path.removeLast(); text = ""
      }
    }
    let reader = Reader()
    let parser = XMLParser(data: Data(text.utf8))
    parser.delegate = reader
    #expect(parser.parse(), "the KML is well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
    let ranked = f.ranked(window: w, clock: .utc)
    #expect(reader.names == ranked.map { "\($0.rank). \($0.unit)" })
    #expect(reader.names.contains { $0.contains("S0 & <Tesco> \"car park\"") })
    #expect(reader.data["expected"] == ranked.map { String(format: "%.4f", $0.expected) })
    #expect(reader.polygons == 2 && reader.points == 6)
  }

  /// Sites busy at different times of day (issue 15): half the sites are busy only 07–10, half only
  /// 17–20. With the unit × time-of-day term the Poisson model's morning and evening rankings differ
  /// and follow the truth; without it (main effects only) every site's share is the same all day.
  @Test func poissonRankingsFollowEachSitesTimeOfDay() throws {
    let n = 10, days = 28
    let units = (0..<n).map { SpatialUnit(id: "S\($0)", latitude: 51.54, longitude: 0.70 + Double($0) * 0.02) }
    var t = CountTable(units: units, binning: .hourly, firstBin: 1_772_409_600, binCount: days * 24, withExposure: false)
    var rng = SeededRNG(seed: 15)
    for u in 0..<n {
      for b in 0..<t.binCount {
        let h = b % 24
        let morning = u < n / 2
        let busy = morning ? (7..<10).contains(h) : (17..<20).contains(h)
        t.counts[u * t.binCount + b] = Double(rng.poisson(busy ? 4.0 : 0.1))
      }
    }
    let am = try ShiftWindow.parse("07-10"), pm = try ShiftWindow.parse("17-20")
    func top(_ f: HotspotForecast, _ w: ShiftWindow) -> Set<String> { Set(f.ranked(window: w, clock: .utc, top: n / 2).map(\.unit)) }
    let f = try PoissonHotspotModel().fit(t, clock: .utc).forecast(history: t, bins: 48, clock: .utc)
    #expect(top(f, am) == Set(units.prefix(n / 2).map(\.id)), "morning: \(top(f, am))")
    #expect(top(f, pm) == Set(units.suffix(n / 2).map(\.id)), "evening: \(top(f, pm))")
    var mainOnly = PoissonHotspotModel()
    mainOnly.unitTimeOfDayBands = 0
    let g = try mainOnly.fit(t, clock: .utc).forecast(history: t, bins: 48, clock: .utc)
    let shares = { (w: ShiftWindow) in g.ranked(window: w, clock: .utc).sorted { $0.unit < $1.unit }.map(\.share) }
    #expect(zip(shares(am), shares(pm)).allSatisfy { abs($0 - $1) < 1e-6 }, "main effects only: the same shares morning and evening")
  }

  /// Terms the rows cannot identify are left out (issue 17): with 9 days of history the recent-activity
  /// terms would leave 2 days of rows, which cannot show a week; the weekly cycle is what 9 days can
  /// show, so the recent-activity terms are left out with a note and the weekly harmonics kept (before,
  /// the weekly harmonics went, and Bath's Saturday was forecast from Friday's level). Without the
  /// recent-activity terms and under a week of history, the weekly harmonics go. The forecast stays
  /// within the range of the data instead of extrapolating a weekly curve.
  @Test func poissonLeavesOutTermsItsRowsCannotIdentify() throws {
    let t = syntheticTable(days: 9)
    let f = try PoissonHotspotModel().fit(t, clock: .utc)
    #expect(f.specification.weeklyHarmonics == 3 && !f.specification.recentActivity)
    #expect(f.fitDiagnostics.notes.contains { $0.contains("recent-activity terms left out") }, "\(f.fitDiagnostics.notes)")
    let fc = f.forecast(history: t, bins: 168, clock: .utc)
    #expect((fc.expected.max() ?? 0) < 10 * (t.counts.max() ?? 1), "no extrapolation: \(fc.expected.max() ?? 0)")
    var noRecent = PoissonHotspotModel()
    noRecent.recentActivity = false
    let g = try noRecent.fit(syntheticTable(days: 5), clock: .utc)
    #expect(g.specification.weeklyHarmonics == 0)
    #expect(g.fitDiagnostics.notes.contains { $0.contains("weekly harmonics left out") }, "\(g.fitDiagnostics.notes)")
    // With a month both are kept.
    let month = try PoissonHotspotModel().fit(syntheticTable(days: 28), clock: .utc).specification
    #expect(month.weeklyHarmonics == 3 && month.recentActivity)
  }

  /// The historical mean's shrinkage towards each unit's mean is learned (empirical Bayes): counts drawn
  /// with slot rates from a gamma of known spread give back about that spread's `a`, slots that differ
  /// by chance alone a large `a` (much pooling), and slots far apart (traffic by hour) a small one.
  @Test func historicalMeanSmoothingIsLearnedFromTheCounts() throws {
    var rng = SeededRNG(seed: 11)
    /// A Gamma(shape k, rate 1) draw (Marsaglia and Tsang; shape under 1 boosted by U^(1/k)).
    func gamma(_ k: Double) -> Double {
      if k < 1 { return gamma(k + 1) * pow(rng.uniform(), 1 / k) }
      let d = k - 1.0 / 3, c = 1 / (9 * d).squareRoot()
      while true {
        let x = rng.normal(), v = pow(1 + c * x, 3)
        if v > 0 && log(rng.uniform()) < x * x / 2 + d - d * v + d * log(v) { return d * v }
      }
    }
    func draw(a: Double?, units: Int = 200, slots: Int = 24, bins: Double = 3) -> (sums: [Double], n: [Double], means: [Double]) {
      var sums: [Double] = [], means: [Double] = []
      for _ in 0..<units {
        let m = 2 + 8 * rng.uniform()
        var total = 0.0
        for _ in 0..<slots {
          // Gamma(shape a·m, rate a): mean m, variance m/a; a = nil: every slot at m.
          let rate = a.map { gamma($0 * m) / $0 } ?? m
          var s = 0.0
          for _ in 0..<Int(bins) { s += Double(rng.poisson(rate)) }
          sums.append(s); total += s
        }
        means.append(total / (Double(slots) * bins))
      }
      return (sums, [Double](repeating: bins, count: slots), means)
    }
    for truth in [0.2, 1.0, 5.0] {
      let d = draw(a: truth)
      let a = learnedSmoothing(sums: d.sums, slotBins: d.n, means: d.means)
      #expect(a > truth / 1.5 && a < truth * 1.5, "a = \(a), drawn with \(truth)")
    }
    let flat = draw(a: nil)
    #expect(learnedSmoothing(sums: flat.sums, slotBins: flat.n, means: flat.means) > 100)
    let spread = draw(a: 0.01)
    #expect(learnedSmoothing(sums: spread.sums, slotBins: spread.n, means: spread.means) < 0.05)
    // In a spec: a number fixes it, `auto` or nothing learns it, anything else is refused.
    func spec(_ json: String) throws -> HistoricalMeanModel { try JSONDecoder().decode(HistoricalMeanModel.self, from: Data(json.utf8)) }
    #expect(try spec(#"{"smoothing": 1.5}"#).smoothing == 1.5)
    #expect(try spec(#"{"smoothing": "auto"}"#).smoothing == nil && spec("{}").smoothing == nil)
    #expect(try spec(#"{"smoothing": "2"}"#).smoothing == 2, "a quoted number is a number")
    #expect(throws: (any Error).self) { try spec(#"{"smoothing": "lots"}"#) }
    #expect(throws: (any Error).self) { try spec(#"{"smoothing": -1}"#) }
    #expect(throws: (any Error).self) { try JSONDecoder().decode(DailyProfileModel.self, from: Data(#"{"smoothing": "lots"}"#.utf8)) }
  }

  /// A window past midnight is the night that starts on the named day (issue 15): `Wed 22-06` is
  /// Wednesday 22:00 to Thursday 06:00, not Wednesday's small hours plus its late evening.
  @Test func anOvernightShiftIsTheNightFromItsDay() throws {
    let w = try ShiftWindow.parse("Wed 22-06")
    let clock = try LocalClock(identifier: "Europe/London")
    func at(_ s: String) -> Int64 { if case .success(let t) = Timestamp.parse(s) { return Int64(t) }; fatalError(s) }
    // 2026-11-04 is a Wednesday (GMT, so local = UTC).
    #expect(w.contains(at("2026-11-04T22:00:00Z"), clock: clock))
    #expect(w.contains(at("2026-11-04T23:59:00Z"), clock: clock))
    #expect(w.contains(at("2026-11-05T02:00:00Z"), clock: clock), "Thursday 02:00 is Wednesday's night")
    #expect(w.contains(at("2026-11-05T05:59:00Z"), clock: clock))
    #expect(!w.contains(at("2026-11-05T06:00:00Z"), clock: clock))
    #expect(!w.contains(at("2026-11-04T02:00:00Z"), clock: clock), "Wednesday 02:00 is Tuesday's night")
    #expect(!w.contains(at("2026-11-05T22:30:00Z"), clock: clock), "Thursday 22:30 starts Thursday's night")
    #expect(!w.contains(at("2026-11-04T21:59:00Z"), clock: clock))
    // Eight hours a night, one night a week.
    var hours = 0
    for h in 0..<(24 * 7) where w.contains(at("2026-11-02T00:00:00Z") + Int64(h) * 3600, clock: clock) { hours += 1 }
    #expect(hours == 8)
    #expect(w.description.contains("night from that day"))
    // Without days, every night: the same 8 hours each day.
    let every = try ShiftWindow.parse("22-06")
    #expect(every.contains(at("2026-11-04T02:00:00Z"), clock: clock) && every.contains(at("2026-11-04T23:00:00Z"), clock: clock))
  }

  /// Units whose background rates differ by chance around a common level: each unit's fitted
  /// background is shrunk towards the mean unit's (empirical Bayes), so a unit with no event in the
  /// history keeps some background (maximum likelihood gave it none) and the rates are nearer the truth
  /// than each unit's own count.
  @Test func theBackgroundOfAQuietUnitIsShrunkTowardsTheMeanUnit() throws {
    let n = 40, days = 60
    let units = (0..<n).map { SpatialUnit(id: "U\($0)", latitude: 51.5 + Double($0 / 8) * 0.05, longitude: 0.5 + Double($0 % 8) * 0.08) }
    var rng = SeededRNG(seed: 17)
    // True daily rates from a gamma of shape 4 around 0.05 (sum of four exponentials), no triggering.
    let truth = (0..<n).map { _ in (0..<4).reduce(0.0) { s, _ in s - log(max(rng.uniform(), 1e-300)) } * 0.05 / 4 }
    var table = CountTable(units: units, binning: .hourly, firstBin: 1_772_668_800, binCount: days * 24, withExposure: false)
    for u in 0..<n { for _ in 0..<rng.poisson(truth[u] * Double(days)) { table.counts[u * table.binCount + rng.int(0...(days * 24 - 1))] += 1 } }
    let fit = try SelfExcitingModel().fit(table, clock: .utc)
    let own = (0..<n).map { table.unitTotals[$0] / Double(days) }, fitted = fit.background.map { $0 * 86400 / (1 - fit.theta) }
    let quiet = (0..<n).filter { own[$0] == 0 }
    #expect(!quiet.isEmpty && quiet.allSatisfy { fitted[$0] > 0.005 }, "quiet units \(quiet.map { fitted[$0] })")
    func error(_ r: [Double]) -> Double { zip(r, truth).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
    #expect(error(fitted) < 0.7 * error(own), "squared error \(error(fitted)) against \(error(own)) for the units' own counts")
  }

  @Test("self-exciting EM recovers known parameters")
  func selfExcitingRecovery() throws {
    // Simulate from the model: 6 units 400 m apart, background 0.5/day each, θ = 0.5, 1/ω = 12 h, σ = 400 m.
    let n = 6, days = 240
    let units = (0..<n).map { SpatialUnit(id: "U\($0)", latitude: 51.5, longitude: 0.7 + Double($0) * 400 / 69_300) }
    let theta = 0.5, meanDelay = 12 * 3600.0, sigma = 400.0
    var rng = SeededRNG(seed: 42)
    var events: [(Int, Double)] = []
    var queue: [(Int, Double)] = []
    let T = Double(days * 86400)
    for u in 0..<n { for _ in 0..<rng.poisson(0.5 * Double(days)) { queue.append((u, rng.uniform() * T)) } }
    let kernel: [[Double]] = (0..<n).map { v in
      let w = (0..<n).map { u in exp(-0.5 * pow(Double(abs(u - v)) * 400 / sigma, 2)) }
      let s = w.reduce(0, +); return w.map { $0 / s }
    }
    while let e = queue.popLast() {
      events.append(e)
      for _ in 0..<rng.poisson(theta) {
        let t = e.1 - meanDelay * log(max(rng.uniform(), 1e-300))
        if t < T { queue.append((rng.weightedIndex(kernel[e.0]), t)) }
      }
    }
    var table = CountTable(units: units, binning: .hourly, firstBin: 0, binCount: days * 24, withExposure: false)
    for (u, t) in events { table.counts[u * table.binCount + Int(t / 3600)] += 1 }
    var spec = SelfExcitingModel()
    spec.cutoffDays = 10
    spec.cutoffMetres = 2500
    spec.maxIterations = 1000
    let fit = try spec.fit(table, clock: .utc)
    // Tolerances from ~1500 events: θ ± 0.1, mean delay ± 25%, σ ± 35%, background ± 0.2/day per unit
    // (several standard errors; the estimator's spread was checked over seeds 1, 2, 42 at 400 days).
    #expect(abs(fit.theta - theta) < 0.1, "theta \(fit.theta)")
    let delay = 1 / fit.omegaPerSecond
    #expect(abs(delay - meanDelay) / meanDelay < 0.25, "mean delay \(delay / 3600) h")
    #expect(abs(fit.sigmaMetres - sigma) / sigma < 0.35, "sigma \(fit.sigmaMetres)")
    let bg = fit.background.map { $0 * 86400 }
    #expect(bg.allSatisfy { abs($0 - 0.5) < 0.2 }, "background per day \(bg)")
    // It stops by itself (parameters or log-likelihood settled), well inside the iteration budget.
    let d = try #require(fit.diagnostics)
    #expect(d.converged && d.iterations < 1000 && d.logLikelihood.isFinite && d.logLikelihood != 0, "\(d)")
    // With too small a budget it says what was still moving, not only that it stopped.
    spec.maxIterations = 3
    let short = try spec.fit(table, clock: .utc)
    #expect(short.diagnostics?.converged == false && short.diagnostics?.notes.first?.contains("log-likelihood by") == true)
  }
}

@Suite("counts.csv")
struct CountsCSVTests {
  @Test func countsFromElsewhereMergeAndMatchTheTable() throws {
    let dir = try makeTemporaryDirectory("counts")
    try "camera_id,site_id,latitude,longitude\nC1,S1,51.54,0.70\nC2,S1,51.54,0.70\nC3,S2,51.55,0.72\n".write(toFile: dir + "/cameras.csv", atomically: false, encoding: .utf8)
    // Two shards' rows for the same unit-hour add up; S2 has no rows and stays zero.
    try "unit_id,bin_start,count\nS1,2026-03-02T08:00:00Z,2\nS1,2026-03-02T08:00:00Z,3\nS1,2026-03-02T10:00:00Z,1\n"
      .write(toFile: dir + "/counts.csv", atomically: false, encoding: .utf8)
    let t = try CountTable.fromCSV(counts: dir + "/counts.csv", units: dir + "/cameras.csv", binning: .hourly)
    #expect(t.units.map(\.id) == ["S1", "S2"])
    #expect(t.binCount == 3 && t[0, 0] == 5 && t[0, 2] == 1 && t.unitTotals[1] == 0)
    try "unit_id,bin_start,count\nS9,2026-03-02T08:00:00Z,2\n".write(toFile: dir + "/bad.csv", atomically: false, encoding: .utf8)
    do { _ = try CountTable.fromCSV(counts: dir + "/bad.csv", units: dir + "/cameras.csv", binning: .hourly); Issue.record("accepted") } catch {
      #expect("\(error)".contains("bad.csv:2: unit_id"))
    }
    // Non-integer counts and unreadable exposure are errors naming line and field (an unreadable
    // exposure was read as 0 before).
    for (name, text, needle) in [
      ("frac.csv", "unit_id,bin_start,count\nS1,2026-03-02T08:00:00Z,2.5\n", "frac.csv:2: count"),
      ("expo.csv", "unit_id,bin_start,count,exposure\nS1,2026-03-02T08:00:00Z,2,n/a\n", "expo.csv:2: exposure"),
    ] {
      try text.write(toFile: dir + "/" + name, atomically: false, encoding: .utf8)
      #expect(performing: { _ = try CountTable.fromCSV(counts: dir + "/" + name, units: dir + "/cameras.csv", binning: .hourly) },
              throws: { "\($0)".contains(needle) })
    }
  }

  /// A table too large for memory is refused before anything is allocated, saying what it would need:
  /// 1-minute bins over 100 years of counts, and an event grid spread by one stray event.
  @Test func tablesTooLargeAreRefusedBeforeAllocating() throws {
    let dir = try makeTemporaryDirectory("counts-large")
    // 2,000 units × 52 million one-minute bins: 1.7 TB.
    try ("unit_id,latitude,longitude\n" + (0..<2000).map { "U\($0),51.5,\(0.5 + Double($0) * 1e-4)" }.joined(separator: "\n") + "\n")
      .write(toFile: dir + "/units.csv", atomically: false, encoding: .utf8)
    try "unit_id,bin_start,count\nU1,1990-01-01T00:00:00Z,1\nU1,2089-01-01T00:00:00Z,1\n".write(toFile: dir + "/long.csv", atomically: false, encoding: .utf8)
    #expect(performing: { _ = try CountTable.fromCSV(counts: dir + "/long.csv", units: dir + "/units.csv", binning: .seconds(60)) },
            throws: { "\($0)".contains("would need") && "\($0)".contains("GB for the count table alone") })
    try "timestamp,latitude,longitude\n2026-03-02T08:00:00Z,51.54,0.70\n2026-03-02T09:00:00Z,-33.9,151.2\n"
      .write(toFile: dir + "/events.csv", atomically: false, encoding: .utf8)
    #expect(performing: { _ = try CountTable.events(path: dir + "/events.csv", cellMetres: 100, binning: .seconds(86400)) },
            throws: { "\($0)".contains("cells of 100 m") })
  }
}

@Suite("User covariates")
struct UserCovariateTests {
  @Test func aUserCovariateIsFittedAndUsedInForecasts() throws {
    // Counts double at unit S0 whenever the user's 'market' covariate is 1 (Saturdays).
    var t = syntheticTable(units: 3, days: 28)
    var csv = "unit_id,bin_start,market\n"
    let starts = t.binStarts
    var future = starts.last! + 3600
    for b in 0..<t.binCount where LocalClock.utc.weekday(starts[b]) == 5 {
      csv += "S0,\(Timestamp.iso8601(starts[b])),1\n"
      t.counts[b] = t.counts[b] * 2 + 1
    }
    for _ in 0..<168 { if LocalClock.utc.weekday(future) == 5 { csv += "S0,\(Timestamp.iso8601(future)),1\n" }; future += 3600 }
    let dir = try makeTemporaryDirectory("cov")
    try csv.write(toFile: dir + "/cov.csv", atomically: false, encoding: .utf8)
    var spec = PoissonHotspotModel()
    spec.covariatesFile = dir + "/cov.csv"
    let fit = try spec.fit(t, clock: .utc)
    #expect(fit.columns.last == "market")
    #expect(fit.coefficients.last! > 0.3, "market effect \(fit.coefficients.last!)")
    let f = fit.forecast(history: t, bins: 168, clock: .utc)
    let sat = f.binStarts.indices.filter { LocalClock.utc.weekday(f.binStarts[$0]) == 5 }
    let fri = f.binStarts.indices.filter { LocalClock.utc.weekday(f.binStarts[$0]) == 4 }
    #expect(sat.reduce(0) { $0 + f.expected(unit: 0, bin: $1) } > fri.reduce(0) { $0 + f.expected(unit: 0, bin: $1) })
    spec.covariatesFile = dir + "/missing.csv"
    #expect(throws: (any Error).self) { try spec.fit(t, clock: .utc) }
  }
}

@Suite("Sub-hour bins")
struct SubHourBinTests {
  /// 15-minute bins are placed by quarter-hour of the week: a pattern inside the hour is learned, and
  /// models that spread a total over the week's slots forecast the rate they saw (they forecast about
  /// 4× too much when bins were placed by their hour alone).
  @Test func fifteenMinuteBinsKeepTheirPatternAndTheirRate() throws {
    let units = (0..<4).map { SpatialUnit(id: "S\($0)", latitude: 51.5, longitude: 0.6 + Double($0) * 0.01) }
    let quarter = Binning.seconds(900)
    let bins = 4 * 24 * 14  // two weeks from a Monday 00:00 UTC
    var t = CountTable(units: units, binning: quarter, firstBin: 1_767_571_200, binCount: bins, withExposure: false)
    // Busy in the first quarter of every hour (8 per unit), quiet in the rest (2).
    for u in 0..<4 { for b in 0..<bins { t.counts[u * bins + b] = b % 4 == 0 ? 8 : 2 } }
    let perBin = t.counts.reduce(0, +) / Double(bins)
    let hm = try HistoricalMeanModel().fit(t, clock: .utc).forecast(history: t, bins: 8, clock: .utc)
    // (Per-slot means are shrunk towards the unit's mean, so not 8 and 2 exactly; the rate is kept.)
    #expect(hm.expected[0] > 2 * hm.expected[1] && hm.expected[4] == hm.expected[0] && abs(hm.expected.prefix(4).reduce(0, +) / 4 - perBin / 4) < 1e-9,
            "\(hm.expected.prefix(8))")
    for model in [KernelDensityModel() as any HotspotModel, ProspectiveHotspotModel()] {
      let f = try model.fit(t, clock: .utc).forecast(history: t, bins: 96, clock: .utc)
      let forecastPerBin = f.expected.reduce(0, +) / 96
      #expect(abs(forecastPerBin / perBin - 1) < 0.05, "\(type(of: model)): \(forecastPerBin) per bin forecast, \(perBin) seen")
      #expect(f.expected[0] > 3 * f.expected[1], "\(type(of: model)) keeps the quarter-hour pattern")
    }
  }
}

/// Model files keep loading across the predictive-distribution fields (issue 17): a context written
/// before `predictiveWindowAlpha` (or `predictiveAlpha`) existed decodes with them nil, and a context
/// with them round-trips.
@Suite("Hotspot context files")
struct HotspotContextFileTests {
  @Test func olderContextsDecodeAndNewOnesRoundTrip() throws {
    let context = HotspotContext(binning: .hourly, target: .allReads, predictiveAlpha: 0.3, predictiveWindowAlpha: 0.01)
    let data = try JSONEncoder().encode(context)
    #expect(try JSONDecoder().decode(HotspotContext.self, from: data) == context)
    var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    #expect(object["predictiveWindowAlpha"] != nil)
    object["predictiveWindowAlpha"] = nil
    object["predictiveAlpha"] = nil
    let older = try JSONDecoder().decode(HotspotContext.self, from: try JSONSerialization.data(withJSONObject: object))
    #expect(older.predictiveAlpha == nil && older.predictiveWindowAlpha == nil && older.binning == .hourly)
    #expect(HotspotContext(binning: .hourly, target: .allReads, predictiveWindowAlpha: -1).contextProblem() != nil)
  }
}
