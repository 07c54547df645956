/// What `anpr inspect` shows: counts, time span, activity by day and hour, top cameras,
/// repeat vehicles, the ingest history with rejects by reason, and data-quality findings.
public struct StoreSummary: Codable, Sendable {
  public var formatVersion: Int
  public var toolkitVersion: String
  public var plates: PlateMode
  public var reads: Int
  public var vehicles: Int
  public var cameras: Int
  public var sites: Int
  public var timeStart: String?
  public var timeEnd: String?
  public var timeZone: String
  /// Reads per local calendar day, `YYYY-MM-DD` → count.
  public var readsPerDay: [String: Int]
  /// Reads per local hour of day, 24 values.
  public var readsPerHour: [Int]
  public var topCameras: [CameraCount]
  /// Vehicles seen on at least `repeatDays` distinct local days.
  public var repeatDays: Int
  public var repeatVehicles: Int
  public var rentalVehicles: Int
  public var nonstandardPlateVehicles: Int
  public var misreadMerges: Int
  public var ingests: [IngestReport]
  public var quality: QualityReport
  /// Segment files beside the base (one per append since the last compaction).
  public var segments: Int?

  public struct CameraCount: Codable, Sendable {
    public var camera: String
    public var site: String
    public var reads: Int
  }
}

extension ReadStore {
  /// Summarises the store (one pass over reads, one over vehicles, plus the quality checks).
  public func summary(clock: LocalClock = .utc, repeatDays: Int = 3, topCameras: Int = 10,
                      quality options: QualityOptions = QualityOptions()) -> StoreSummary {
    var perDay: [Int64: Int] = [:]
    var perHour = [Int](repeating: 0, count: 24)
    var perCamera = [Int](repeating: 0, count: cameras.count)
    for i in 0..<count {
      let t = time(i)
      perDay[clock.day(t), default: 0] += 1
      perHour[clock.hourOfDay(t)] += 1
      perCamera[camera(i)] += 1
    }
    var days: [String: Int] = [:]
    for (d, n) in perDay { days[String(Timestamp.iso8601(d * 86400).prefix(10))] = n }
    let top = perCamera.indices.sorted { perCamera[$0] != perCamera[$1] ? perCamera[$0] > perCamera[$1] : $0 < $1 }
      .prefix(topCameras).map { StoreSummary.CameraCount(camera: cameras[$0].id, site: cameras[$0].site, reads: perCamera[$0]) }
    var repeaters = 0
    for v in 0..<vehicles.count {
      var seen = Set<Int64>()
      for r in reads(ofVehicle: v) { seen.insert(clock.day(time(Int(r)))); if seen.count >= repeatDays { break } }
      if seen.count >= repeatDays { repeaters += 1 }
    }
    return StoreSummary(
      formatVersion: header.formatVersion, toolkitVersion: header.toolkitVersion, plates: header.plates,
      reads: count, vehicles: vehicles.count, cameras: cameras.count, sites: sites.count,
      timeStart: header.timeStart.map(Timestamp.iso8601), timeEnd: header.timeEnd.map(Timestamp.iso8601),
      timeZone: clock.timeZone.identifier, readsPerDay: days, readsPerHour: perHour, topCameras: Array(top),
      repeatDays: repeatDays, repeatVehicles: repeaters,
      rentalVehicles: vehicles.filter { $0.keeper == .rental }.count,
      nonstandardPlateVehicles: vehicles.filter(\.nonstandardPlate).count, misreadMerges: merges.count,
      ingests: header.ingests, quality: quality(options), segments: segmentPaths.count)
  }
}
