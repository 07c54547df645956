/// Data-quality findings about a store. They are listed (by `anpr inspect`), never silently fixed.
public struct QualityReport: Codable, Sendable {
  /// The same vehicle at two sites too far apart for the time between the reads: a misread or a cloned plate.
  public struct ImpossibleTravel: Codable, Sendable {
    public var vehicle: String
    public var fromSite: String, toSite: String
    public var time: Int64
    public var metres: Double, seconds: Int64
    /// Implied speed, km/h (infinite when both reads have the same time).
    public var kmh: Double
  }
  /// A camera with no reads for a long stretch of the store's span (or none at all).
  public struct SilentCamera: Codable, Sendable {
    public var camera: String
    public var longestSilenceHours: Double
    public var silentFrom: Int64, silentTo: Int64
  }
  /// A camera whose clock appears offset: travel times into it are consistently longer (or shorter)
  /// than travel times out of it to the same neighbours.
  public struct ClockDrift: Codable, Sendable {
    public var camera: String
    /// Estimated offset, seconds (positive: the camera's clock runs ahead).
    public var estimatedOffsetSeconds: Double
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
              seconds: dt, kmh: kmh))
          }
        }
        if dt <= 900 { travel[cp << 16 | ci, default: []].append(dt) }
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
    // Clock drift: for camera c and neighbour x, (median(x→c) − median(c→x)) / 2 estimates c's offset
    // minus x's; the median over neighbours is robust to one drifting neighbour.
    func median(_ a: [Int64]) -> Double {
      let s = a.sorted()
      return s.count % 2 == 1 ? Double(s[s.count / 2]) : Double(s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    var medians: [Int: Double] = [:]
    for (k, v) in travel where v.count >= o.minimumTransitions { medians[k] = median(v) }
    for c in 0..<cameras.count {
      var estimates: [Double] = []
      for x in 0..<cameras.count where x != c {
        if let into = medians[x << 16 | c], let out = medians[c << 16 | x] { estimates.append((into - out) / 2) }
      }
      guard estimates.count >= 3 else { continue }
      let e = estimates.sorted()[estimates.count / 2]
      if abs(e) >= o.driftSeconds {
        q.clockDrift.append(.init(camera: cameras[c].id, estimatedOffsetSeconds: e, neighbours: estimates.count))
      }
    }
    return q
  }
}
