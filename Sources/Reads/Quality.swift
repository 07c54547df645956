import Foundation

/// Data-quality findings about a store. They are listed (by `anpr inspect`), never silently fixed.
public struct QualityReport: Codable, Sendable {
  /// The same vehicle at two sites too far apart for the time between the reads: a misread or a cloned plate.
  public struct ImpossibleTravel: Codable, Sendable {
    public var vehicle: String
    public var fromSite: String, toSite: String
    public var time: Int64
    public var metres: Double, seconds: Int64
    /// Implied speed, km/h (nil when both reads have the same time: no finite speed, and JSON has no ∞).
    public var kmh: Double?
  }
  /// A camera with no reads for a long stretch of the store's span (or none at all).
  public struct SilentCamera: Codable, Sendable {
    public var camera: String
    public var longestSilenceHours: Double
    public var silentFrom: Int64, silentTo: Int64
  }
  /// A camera whose clock appears offset: travel times into it are consistently longer (or shorter)
  /// than travel times out of it to the same neighbours, by more than their spread allows.
  public struct ClockDrift: Codable, Sendable {
    public var camera: String
    /// Estimated offset, seconds (positive: the camera's clock runs ahead).
    public var estimatedOffsetSeconds: Double
    /// 95% interval for the offset (moderated t over the per-neighbour estimates); a camera is flagged
    /// only when it excludes zero.
    public var ciLowSeconds: Double
    public var ciHighSeconds: Double
    /// Neighbour cameras the estimate rests on.
    public var neighbours: Int
  }
  public var impossibleTravel: [ImpossibleTravel] = []
  public var impossibleTravelCount = 0
  public var silentCameras: [SilentCamera] = []
  public var clockDrift: [ClockDrift] = []
}

/// Thresholds for the quality checks.
public struct QualityOptions: Sendable {
  /// Speeds above this (km/h) between two sites at least `minimumMetres` apart are impossible.
  public var maxKmh = 200.0
  public var minimumMetres = 1000.0
  /// A camera silent for this many hours while the store spans longer is listed.
  public var silenceHours = 24.0
  /// Offsets at least this large (seconds) are flagged.
  public var driftSeconds = 20.0
  /// Transitions needed in each direction before a neighbour pair counts.
  public var minimumTransitions = 15
  /// Prior degrees of freedom of the pooled variance in the moderated t interval for clock offsets.
  public var driftPriorDegrees = 2.0
  /// Neighbours (cameras read both ways with it) needed before a camera's clock is judged.
  public var driftMinimumNeighbours = 3
  /// At most this many impossible-travel examples are listed (all are counted).
  public var listLimit = 50
  public init() {}
}

extension ReadStore {
  /// Runs every data-quality check in one pass over vehicles and one over cameras.
  public func quality(_ o: QualityOptions = QualityOptions()) -> QualityReport {
    var q = QualityReport()
    // Impossible travel and directed camera-to-camera travel times (for drift).
    var travel: [Int: [Int64]] = [:]  // key from<<16|to (cameras) → seconds
    for v in 0..<vehicles.count {
      let rs = reads(ofVehicle: v)
      var prev: Int?
      for r in rs {
        let i = Int(r)
        defer { prev = i }
        guard let p = prev else { continue }
        let dt = time(i) - time(p)
        let cp = camera(p), ci = camera(i)
        if site(p) == site(i) { continue }
        let a = cameras[cp], b = cameras[ci]
        let d = haversineMetres(a.latitude, a.longitude, b.latitude, b.longitude)
        let kmh = dt > 0 ? d / Double(dt) * 3.6 : .infinity
        if d >= o.minimumMetres && kmh > o.maxKmh {
          q.impossibleTravelCount += 1
          if q.impossibleTravel.count < o.listLimit {
            q.impossibleTravel.append(.init(
              vehicle: vehicles[v].id, fromSite: sites[site(p)], toSite: sites[site(i)], time: time(i), metres: d,
              seconds: dt, kmh: kmh.isFinite ? kmh : nil))
          }
        }
        // Travel for clock drift: plausible moves only (an impossible one is a misread or a clone). This
        // can drop the fastest trips into a camera whose clock is far behind, biasing its offset towards
        // zero; without the filter both precision and recall were lower on the towns measured (BENCHMARKS.md).
        if dt > 0 && dt <= 900 && kmh <= o.maxKmh { travel[cp << 16 | ci, default: []].append(dt) }
      }
    }
    // Silent cameras.
    if count > 0, let start = header.timeStart, let end = header.timeEnd {
      var last = [Int64](repeating: start, count: cameras.count)
      var longest = [(Int64, Int64, Int64)](repeating: (0, start, start), count: cameras.count)
      for i in 0..<count {
        let c = camera(i), t = time(i)
        if t - last[c] > longest[c].0 { longest[c] = (t - last[c], last[c], t) }
        last[c] = t
      }
      for c in 0..<cameras.count where end - last[c] > longest[c].0 { longest[c] = (end - last[c], last[c], end) }
      for c in 0..<cameras.count where Double(longest[c].0) / 3600 >= o.silenceHours {
        q.silentCameras.append(.init(
          camera: cameras[c].id, longestSilenceHours: Double(longest[c].0) / 3600, silentFrom: longest[c].1,
          silentTo: longest[c].2))
      }
    }
    // Clock drift. For camera c and neighbour x, D = (q(x→c) − q(c→x)) / 2 estimates c's offset minus
    // x's, where q is the 5th percentile of the travel times: a skewed clock shifts every time, even the
    // fastest, while stops and detours lengthen only some (and the median with them), so free-flow
    // times are near-symmetric where median times are not. Offsets are estimated jointly, each
    // camera's as the median over its neighbours of D + the neighbour's own offset (a few sweeps,
    // anchored so the median camera is right), so one drifting neighbour does not shift the others.
    // Interval: the per-neighbour values scatter with route asymmetry and sampling noise; their
    // variance is moderated towards the variance pooled over all cameras (empirical Bayes, as limma's
    // moderated t, Smyth 2004, with `driftPriorDegrees` prior degrees of freedom), giving a t interval
    // for the offset. A camera is flagged only when the 95% interval excludes zero and the estimate is
    // at least `driftSeconds`.
    var quantiles: [Int: Double] = [:]
    for (k, v) in travel where v.count >= o.minimumTransitions {
      let s = v.sorted()
      quantiles[k] = Double(s[Int(0.05 * Double(s.count - 1))])
    }
    var pairs: [[(neighbour: Int, d: Double)]] = Array(repeating: [], count: cameras.count)
    for c in 0..<cameras.count {
      for x in 0..<cameras.count where x != c {
        if let into = quantiles[x << 16 | c], let out = quantiles[c << 16 | x] { pairs[c].append((x, (into - out) / 2)) }
      }
    }
    func mid(_ v: [Double]) -> Double {
      let s = v.sorted()
      return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    var offset = [Double](repeating: 0, count: cameras.count)
    let estimated = (0..<cameras.count).filter { !pairs[$0].isEmpty }
    for _ in 0..<(estimated.isEmpty ? 0 : 8) {
      var next = offset
      for c in estimated { next[c] = mid(pairs[c].map { $0.d + offset[$0.neighbour] }) }
      let anchor = mid(estimated.map { next[$0] })
      for c in estimated { next[c] -= anchor }
      offset = next
    }
    // Pooled scale: robust (MAD) spread of each neighbour's value about its camera's offset.
    let residuals = estimated.filter { pairs[$0].count >= 2 }.flatMap { c in pairs[c].map { abs($0.d + offset[$0.neighbour] - offset[c]) } }
    if !residuals.isEmpty {
      let pooled = pow(1.4826 * mid(residuals), 2)
      let k = o.driftPriorDegrees
      for c in estimated where pairs[c].count >= max(2, o.driftMinimumNeighbours) {
        let values = pairs[c].map { $0.d + offset[$0.neighbour] }
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let s2 = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        let moderated = ((n - 1) * s2 + k * pooled) / (n - 1 + k)
        // The median's standard error is √(π/2) times the mean's for normal scatter.
        let se = 1.2533 * (moderated / n).squareRoot()
        let half = StudentT.quantile(0.975, degrees: n - 1 + k) * se
        let e = offset[c]
        if abs(e) >= o.driftSeconds && abs(e) > half {
          q.clockDrift.append(.init(camera: cameras[c].id, estimatedOffsetSeconds: e, ciLowSeconds: e - half, ciHighSeconds: e + half,
                                    neighbours: values.count))
        }
      }
    }
    return q
  }
}

/// Student's t distribution: the quantile by bisection on the CDF, which is the regularised incomplete
/// beta function (continued fraction, Numerical Recipes §6.4). Accurate to 1e-10.
public enum StudentT {
  public static func cdf(_ t: Double, degrees v: Double) -> Double {
    let x = v / (v + t * t)
    let tail = 0.5 * incompleteBeta(v / 2, 0.5, x)
    return t >= 0 ? 1 - tail : tail
  }

  public static func quantile(_ p: Double, degrees v: Double) -> Double {
    precondition(p > 0 && p < 1 && v > 0)
    var lo = -1e3, hi = 1e3
    for _ in 0..<200 {
      let m = (lo + hi) / 2
      if cdf(m, degrees: v) < p { lo = m } else { hi = m }
      if hi - lo < 1e-12 { break }
    }
    return (lo + hi) / 2
  }

  /// I_x(a, b).
  static func incompleteBeta(_ a: Double, _ b: Double, _ x: Double) -> Double {
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
    let logPowers: Double = a * log(x) + b * log(1 - x)
    let front = exp(logGammas + logPowers)
    if x < (a + 1) / (a + b + 2) { return front * continuedFraction(a, b, x) / a }
    return 1 - front * continuedFraction(b, a, 1 - x) / b
  }

  static func continuedFraction(_ a: Double, _ b: Double, _ x: Double) -> Double {
    let tiny = 1e-300
    var c = 1.0, d = 1 - (a + b) * x / (a + 1)
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var h = d
    for m in 1...300 {
      let m = Double(m)
      var aa = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
      d = 1 + aa * d; if abs(d) < tiny { d = tiny }
      c = 1 + aa / c; if abs(c) < tiny { c = tiny }
      d = 1 / d; h *= d * c
      aa = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
      d = 1 + aa * d; if abs(d) < tiny { d = tiny }
      c = 1 + aa / c; if abs(c) < tiny { c = tiny }
      d = 1 / d
      let delta = d * c
      h *= delta
      if abs(delta - 1) < 1e-15 { break }
    }
    return h
  }
}
