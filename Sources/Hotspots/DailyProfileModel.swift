import Foundation
import Modelling
import Reads

/// Each site's mean count per local time of day over the last `lookback_days`, shrunk towards the
/// site's own mean: the daily rhythm without the weekly one. A baseline for places whose weekdays look
/// alike, and a check on whether the weekly terms of the other models earn their keep.
/// `λ(u, s) = (S(u, s) + a·m(u)) / (N(s) + a)` over the bins of slot `s` (time of day) in the look-back.
public struct DailyProfileModel: HotspotModel, Equatable {
  public static let kind: ModelKind = "daily-profile"
  /// Days of history used (the most recent).
  public var lookbackDays = 28
  /// Pseudo-observations of the site's mean added to each time-of-day slot; nil (`auto`, the default)
  /// learns it from the counts (`learnedSmoothing`).
  public var smoothing: Double? = nil
  public init() {}

  enum CodingKeys: String, CodingKey, CaseIterable { case lookbackDays = "lookback_days", smoothing }
  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), kind: Self.kind)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    lookbackDays = try c.decodeIfPresent(Int.self, forKey: .lookbackDays) ?? 28
    smoothing = try decodeSmoothing(c, key: .smoothing, kind: Self.kind)
    guard lookbackDays >= 1 else { throw SpecError.invalid("daily-profile: lookback_days ≥ 1") }
  }

  public func fit(_ data: CountTable, clock: LocalClock) throws -> Fitted {
    try data.requireHistory()
    guard let w = data.binning.nominalSeconds, w <= 86400, 86400 % w == 0 else {
      throw FitError.invalidSpec("daily-profile needs bins that divide a day (15m … 1d), not \(data.binning)")
    }
    let slots = 86400 / w, starts = data.binStarts, n = data.units.count
    let from = starts.firstIndex { $0 >= data.end - Int64(lookbackDays) * 86400 } ?? 0
    var sums = [Double](repeating: 0, count: n * slots), bins = [Double](repeating: 0, count: slots), mean = [Double](repeating: 0, count: n)
    for b in from..<data.binCount {
      let s = clock.secondOfDay(starts[b]) / w
      bins[s] += 1
      for u in 0..<n { sums[u * slots + s] += data[u, b]; mean[u] += data[u, b] }
    }
    mean = mean.map { $0 / Double(max(1, data.binCount - from)) }
    let a = smoothing ?? learnedSmoothing(sums: sums, slotBins: bins, means: mean)
    var rate = sums
    for u in 0..<n { for s in 0..<slots { rate[u * slots + s] = (sums[u * slots + s] + a * mean[u]) / (bins[s] + a) } }
    return Fitted(units: data.units.map(\.id), binSeconds: w, rate: rate, overall: mean.reduce(0, +) / Double(max(1, n)))
  }

  public struct Fitted: FittedHotspotModel, Codable, Equatable {
    public var kind: String { DailyProfileModel.kind.rawValue }
    var units: [String]
    var binSeconds: Int
    /// Unit-major rates per time-of-day slot (`86400 / binSeconds` slots per unit).
    var rate: [Double]
    /// Mean rate per bin over all sites, for sites the model never saw.
    var overall: Double

    public func forecast(history h: CountTable, bins: Int, clock: LocalClock) -> HotspotForecast {
      let starts = futureBins(after: h, count: bins), slots = 86400 / binSeconds
      let index = Dictionary(uniqueKeysWithValues: units.enumerated().map { ($1, $0) })
      var fallback: [String] = []
      var e = [Double](repeating: 0, count: h.units.count * bins)
      for (u, unit) in h.units.enumerated() {
        guard let k = index[unit.id] else { fallback.append(unit.id); for b in 0..<bins { e[u * bins + b] = overall }; continue }
        for b in 0..<bins { e[u * bins + b] = rate[k * slots + min(slots - 1, clock.secondOfDay(starts[b]) / binSeconds)] }
      }
      return HotspotForecast(model: kind, units: h.units, binStarts: starts, expected: e, alpha: 0, fallbackUnits: fallback)
    }

    public func bodyProblem() -> String? {
      if binSeconds < 60 || 86400 % binSeconds != 0 { return "fitted.binSeconds \(binSeconds) does not divide a day into bins of a minute or more" }
      return BodyCheck.unique(units, "fitted.units") ?? BodyCheck.count(rate.count, units.count * (86400 / binSeconds), "fitted.rate")
        ?? BodyCheck.finite(rate + [overall], "fitted.rate", nonNegative: true)
    }
  }
}
