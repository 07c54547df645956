extension StoreContents {
  /// Merges a newly ingested batch into existing contents (`anpr ingest --store EXISTING`).
  ///
  /// Cameras and vehicles are united by id. A new read that repeats an existing read (same vehicle,
  /// same site or camera, within `window` seconds either side) is dropped and counted in the new
  /// batch's `duplicates` (as `alreadyInStore`), so every batch's accounting still balances.
  /// - Throws: `IngestError.keyMismatch` when the two were pseudonymised with different keys (or one
  ///   holds raw plates): their vehicle ids would never match.
  public mutating func append(_ new: StoreContents, window: Int64, bySite: Bool, storePath: String) throws(IngestError) {
    guard keyFingerprint == new.keyFingerprint else { throw .keyMismatch(store: storePath) }
    // Cameras by id.
    var camIdx: [String: Int] = [:]
    for (i, c) in cameras.enumerated() { camIdx[c.id] = i }
    let camMap: [UInt16] = new.cameras.map { c in
      if let i = camIdx[c.id] { return UInt16(i) }
      cameras.append(c); camIdx[c.id] = cameras.count - 1
      return UInt16(cameras.count - 1)
    }
    // Vehicles by id; a keeper type learned later fills in "unknown".
    var vIdx: [String: Int] = [:]
    for (i, v) in vehicles.enumerated() { vIdx[v.id] = i }
    let vMap: [UInt32] = new.vehicles.map { v in
      if let i = vIdx[v.id] {
        if vehicles[i].keeper == .unknown { vehicles[i].keeper = v.keeper }
        return UInt32(i)
      }
      vehicles.append(v); vIdx[v.id] = vehicles.count - 1
      return UInt32(vehicles.count - 1)
    }
    var siteOf: [String: Int] = [:]
    let unit: [Int] = cameras.enumerated().map { i, c in
      if !bySite { return i }
      if let s = siteOf[c.site] { return s }
      siteOf[c.site] = siteOf.count
      return siteOf.count - 1
    }
    // Existing reads per (vehicle, unit), sorted times.
    var existing: [Int64: [Int64]] = [:]
    for i in times.indices {
      existing[Int64(vehicleIndex[i]) << 20 | Int64(unit[Int(cameraIndex[i])]), default: []].append(times[i])
    }
    for k in existing.keys { existing[k]!.sort() }
    let report = appendUnrepeated(new, camMap: camMap, vMap: vMap, unit: unit, existing: existing, window: window)
    merges += new.merges
    ingests.append(report)
  }

  /// Appends the reads of `new` (ids mapped by `camMap`/`vMap`) that repeat no stored read — same
  /// vehicle and unit within `window` seconds, `existing` holding stored times in order per
  /// `vehicle << 20 | unit` — and returns the batch's report with the dropped reads counted as
  /// `alreadyInStore`. Shared by the in-memory append and the segment append.
  mutating func appendUnrepeated(_ new: StoreContents, camMap: [UInt16], vMap: [UInt32], unit: [Int],
                                 existing: [Int64: [Int64]], window: Int64) -> IngestReport {
    var report = new.ingests.last ?? IngestReport(file: "?")
    var dropped = 0
    for i in new.times.indices {
      let cam = camMap[Int(new.cameraIndex[i])], veh = vMap[Int(new.vehicleIndex[i])]
      let t = new.times[i]
      if let ts = existing[Int64(veh) << 20 | Int64(unit[Int(cam)])] {
        var lo = 0, hi = ts.count
        while lo < hi { let m = (lo + hi) / 2; if ts[m] < t - window { lo = m + 1 } else { hi = m } }
        if lo < ts.count && ts[lo] <= t + window { dropped += 1; continue }
      }
      times.append(t); cameraIndex.append(cam); vehicleIndex.append(veh); confidence.append(new.confidence[i])
    }
    report.accepted -= dropped
    report.duplicates += dropped
    report.alreadyInStore = dropped
    return report
  }

  /// Drops reads older than `cutoff` (epoch seconds); returns how many went. Vehicles left with no
  /// reads are removed too (their ids would otherwise outlive the retention period).
  public mutating func purge(before cutoff: Int64) -> Int {
    let keep = times.indices.filter { times[$0] >= cutoff }
    let removed = times.count - keep.count
    var used = [Bool](repeating: false, count: vehicles.count)
    for i in keep { used[Int(vehicleIndex[i])] = true }
    var newIndex = [UInt32](repeating: 0, count: vehicles.count)
    var kept: [VehicleRecord] = []
    for (v, u) in used.enumerated() where u { newIndex[v] = UInt32(kept.count); kept.append(vehicles[v]) }
    let keptIDs = Set(kept.map(\.id))
    times = keep.map { times[$0] }
    cameraIndex = keep.map { cameraIndex[$0] }
    vehicleIndex = keep.map { newIndex[Int(vehicleIndex[$0])] }
    confidence = keep.map { confidence[$0] }
    vehicles = kept
    merges = merges.filter { $0.time >= cutoff && keptIDs.contains($0.kept) }
    return removed
  }
}
