import Foundation

// What is wrong with a fitted hotspot model's body as read from a file (`FittedModel.bodyProblem`):
// array lengths that disagree, numbers that are not finite or out of range, repeated units. A model
// file edited by hand or damaged must be refused with the field that is wrong, not forecast negative or
// infinite counts, crash on duplicate keys, or loop on a zero bin width.

/// Shared checks, each returning the problem or nil.
enum BodyCheck {
  static func unique(_ units: [String], _ field: String) -> String? {
    var seen = Set<String>()
    for u in units where !seen.insert(u).inserted { return "\(field): unit '\(u)' listed twice" }
    return units.isEmpty ? "\(field): no units" : nil
  }
  static func finite(_ xs: [Double], _ field: String, nonNegative: Bool = false) -> String? {
    for (i, x) in xs.enumerated() where !x.isFinite || (nonNegative && x < 0) {
      return "\(field)[\(i)] = \(x) is not a finite\(nonNegative ? " non-negative" : "") number"
    }
    return nil
  }
  static func count(_ n: Int, _ expected: Int, _ field: String) -> String? {
    n == expected ? nil : "\(field) has \(n) values where \(expected) are needed"
  }
  static func positive(_ x: Double, _ field: String) -> String? {
    x.isFinite && x > 0 ? nil : "\(field) = \(x) must be a finite number > 0"
  }
}

extension HistoricalMeanModel.Fitted {
  public func bodyProblem() -> String? {
    if period < 1 { return "fitted.period = \(period) must be ≥ 1" }
    return BodyCheck.unique(units, "fitted.units") ?? BodyCheck.count(rate.count, units.count * period, "fitted.rate")
      ?? BodyCheck.finite(rate, "fitted.rate", nonNegative: true) ?? BodyCheck.finite([overall], "fitted.overall", nonNegative: true)
  }
}

extension KernelDensityModel.Fitted {
  public func bodyProblem() -> String? {
    BodyCheck.positive(bandwidth, "fitted.bandwidth") ?? BodyCheck.finite(shares, "fitted.shares", nonNegative: true)
      ?? (shares.isEmpty ? "fitted.shares: empty" : nil) ?? decayDays.flatMap { BodyCheck.positive($0, "fitted.decayDays") }
  }
}

extension LastWindowModel.Fitted {
  public func bodyProblem() -> String? { nil }
}

extension FittedPoissonHotspot {
  public func bodyProblem() -> String? {
    // The built-in terms' effects only: a user covariate on a small scale may carry a large coefficient.
    if let i = coefficients.prefix(builtInTermCount).firstIndex(where: { abs($0) > Self.largestEffect }), coefficients[i].isFinite {
      return "fitted.coefficients[\(i)] = \(coefficients[i]) is not a log-rate effect a fit gives (|β| ≤ \(Int(Self.largestEffect)))"
    }
    return BodyCheck.unique(units, "fitted.units") ?? BodyCheck.count(coefficients.count, columns.count, "fitted.coefficients")
      ?? BodyCheck.count(standardErrors.count, columns.count, "fitted.standardErrors")
      ?? BodyCheck.finite(coefficients, "fitted.coefficients") ?? BodyCheck.finite(standardErrors, "fitted.standardErrors", nonNegative: true)
      ?? (alpha.isFinite && alpha >= 0 ? nil : "fitted.alpha = \(alpha) must be a finite number ≥ 0")
      ?? termsProblem()
  }

  /// Largest log-rate effect a saved model may hold: e^100 is 10⁴³ times the baseline rate, beyond any
  /// fit (the ridge keeps all-zero sites' effects finite and small); a larger one is a damaged file
  /// whose forecasts would overflow to infinity (found by fuzz-model).
  static let largestEffect = 100.0

  /// The specification's terms need at least this many coefficients (user covariates add more): a
  /// file whose specification was edited after fitting would otherwise index past them (found by fuzz-model).
  /// Coefficients of the built-in terms (units, unit × time of day, harmonics, recent activity); user
  /// covariates follow them.
  var builtInTermCount: Int {
    let s = specification
    guard s.weeklyHarmonics >= 0, s.dailyHarmonics >= 0, s.weeklyHarmonics < 1000, s.dailyHarmonics < 1000 else { return coefficients.count }
    let nb = columns.contains { $0.hasPrefix("unit×band:") } ? s.bands(units: units.count) : 0
    return max(1, units.count) + (nb > 0 ? units.count * nb - 1 : 0) + 2 * (s.weeklyHarmonics + s.dailyHarmonics) + (s.recentActivity ? 3 : 0)
  }

  func termsProblem() -> String? {
    let s = specification
    guard s.weeklyHarmonics >= 0, s.dailyHarmonics >= 0, s.weeklyHarmonics < 1000, s.dailyHarmonics < 1000 else {
      return "fitted.specification: harmonics must be between 0 and 999"
    }
    let nb = columns.contains { $0.hasPrefix("unit×band:") } ? s.bands(units: units.count) : 0
    let needed = builtInTermCount
    return coefficients.count >= needed ? nil
      : "fitted.coefficients has \(coefficients.count) values where the specification's terms need \(needed) (\(units.count) units, \(nb > 0 ? "\(units.count * nb - 1) unit × time-of-day levels, " : "")\(s.weeklyHarmonics) weekly and \(s.dailyHarmonics) daily harmonic pairs\(s.recentActivity ? ", 3 recent-activity terms" : ""))"
  }
}

extension FittedSelfExciting {
  public func bodyProblem() -> String? {
    BodyCheck.unique(units, "fitted.units") ?? BodyCheck.count(background.count, units.count, "fitted.background")
      ?? BodyCheck.finite(background, "fitted.background", nonNegative: true)
      ?? BodyCheck.count(seasonalShares.count, seasonalShares.count == 168 ? 168 : 24, "fitted.seasonalShares (one per hour of the day, or of the week)")
      ?? BodyCheck.finite(seasonalShares, "fitted.seasonalShares", nonNegative: true)
      ?? (theta.isFinite && theta >= 0 && theta < 1 ? nil : "fitted.theta = \(theta) must be in [0, 1)")
      ?? BodyCheck.positive(omegaPerSecond, "fitted.omegaPerSecond") ?? BodyCheck.positive(sigmaMetres, "fitted.sigmaMetres")
  }
}

extension Binning {
  /// Nil when the binning can be used (fixed widths of at least a minute).
  public var problem: String? {
    if case .seconds(let w) = self, w < 60 { return "binning: a bin of \(w) s (at least 60 s)" }
    if case .localDays(let n, let zone) = self {
      if n < 1 { return "binning: runs of \(n) local days (at least 1)" }
      if TimeZone(identifier: zone) == nil { return "binning: local days of an unknown time zone '\(zone)'" }
    }
    return nil
  }
}
