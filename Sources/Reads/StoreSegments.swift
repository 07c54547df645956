import Foundation

/// Where a segment file belongs: its store, the base generation it extends, its place in the
/// manifest, and where its new cameras and vehicles start in the whole store's registries.
public struct SegmentPosition: Codable, Sendable, Equatable {
  public var storeID: String?
  public var generation: Int
  /// 1, 2, … in manifest order.
  public var index: Int
  public var firstCamera: Int
  public var firstVehicle: Int
  /// Vehicles of earlier files whose keeper type ("unknown" there) this segment's batch learned.
  public var keeperUpdates: [KeeperUpdate]
}

/// A keeper type learned for a vehicle already in the store.
public struct KeeperUpdate: Codable, Sendable, Equatable {
  public var vehicle: Int
  public var keeper: KeeperType
}

/// The manifest of a segmented store, `S.anpr.manifest` (JSON): which segment files, in order, extend
/// which generation of which base file. Written atomically after the segment it adds, so a crash
/// leaves either the old list (the new segment file unlisted, removed by the next writer) or the new.
/// A manifest of an older generation is what an interrupted compaction leaves: readers ignore it.
public struct StoreManifest: Codable, Sendable {
  public var format = "anprkit-store-manifest"
  public var formatVersion = 1
  public var storeID: String?
  public var baseGeneration: Int
  public var segments: [Entry]

  public struct Entry: Codable, Sendable {
    /// File name beside the store (`S.anpr.seg-G-NNNN`).
    public var file: String
    public var index: Int
    public var reads: Int
    /// CRC-32 of the segment's header (which holds its sections' CRCs).
    public var headerCRC: UInt32
  }

  public static func path(store: String) -> String { store + ".manifest" }

  /// The path of a segment file named in the manifest (it sits beside the store).
  static func segmentPath(store: String, file: String) -> String {
    let dir = PathParts(store).directory
    return dir.isEmpty ? file : (dir as NSString).appendingPathComponent(file)
  }

  static func segmentFileName(store: String, generation: Int, index: Int) -> String {
    PathParts(store).name + ".seg-\(generation)-" + String(format: "%04d", index)
  }

  /// The manifest beside `store`, or nil when there is none.
  /// - Throws: `IngestError.badStore` when it cannot be read or is not a manifest.
  public static func load(store: String) throws(IngestError) -> StoreManifest? {
    let p = path(store: store)
    guard FileManager.default.fileExists(atPath: p) else { return nil }
    do {
      let m = try JSONDecoder().decode(StoreManifest.self, from: Data(contentsOf: URL(fileURLWithPath: p)))
      guard m.format == "anprkit-store-manifest" else { throw IngestError.badStore(file: p, reason: "not a store manifest") }
      guard m.formatVersion <= 1 else { throw IngestError.badStore(file: p, reason: "manifest format \(m.formatVersion) is newer than this ANPRKit reads; upgrade ANPRKit") }
      guard m.baseGeneration >= 0, m.segments.enumerated().allSatisfy({ $0.element.index == $0.offset + 1 && $0.element.reads >= 0 }),
        m.segments.allSatisfy({ !$0.file.contains("/") && $0.file.hasPrefix(PathParts(store).name + ".seg-") })
      else { throw IngestError.badStore(file: p, reason: "manifest entries out of order or naming files that are not this store's segments") }
      return m
    } catch let e as IngestError { throw e } catch {
      throw .badStore(file: p, reason: "manifest is corrupt (\(error)); restore it from a copy")
    }
  }

  /// Whether this manifest's segments extend the base whose header is `base`: `true` for the same
  /// store and generation, `false` for an older generation (left by an interrupted compaction).
  /// - Throws: `IngestError.badStore` for a manifest of another store or a newer generation (the base
  ///   was replaced by another store or an older copy: its segments cannot be placed).
  func attaches(to base: ReadStore.Header, store: String) throws(IngestError) -> Bool {
    let g = base.generation ?? 0
    guard storeID == base.storeID else {
      throw .badStore(file: Self.path(store: store), reason: "belongs to another store (id \(storeID ?? "none"), but \(store) is \(base.storeID ?? "none")); if \(store) was replaced on purpose, remove the manifest and its .seg- files")
    }
    if baseGeneration < g { return false }
    guard baseGeneration == g else {
      throw .badStore(file: Self.path(store: store), reason: "extends generation \(baseGeneration) of the store, but \(store) is generation \(g) (an older copy restored?); restore the matching base file")
    }
    return true
  }
}

/// Writing to an existing store: append a batch as a segment, compact, rewrite. Callers hold the
/// store's `StoreLock`.
public enum StoreUpdate {
  /// An append that would make more segments than this compacts the store instead.
  public static let defaultMaxSegments = 16

  /// What an append wrote.
  public enum Outcome: Sendable, Equatable {
    /// A new segment file (`index` of the manifest's list).
    case segment(index: Int, path: String)
    /// The whole store rewritten as one base file (the segment bound was reached).
    case compacted(segments: Int)
  }

  /// Adds a newly ingested batch to the store at `path` (`anpr ingest --store EXISTING`).
  ///
  /// Cameras and vehicles are united by id. A new read that repeats a read already in the store (same
  /// vehicle, same site or camera, within `window` seconds either side) is dropped and counted in the
  /// batch's `duplicates` (as `alreadyInStore`), so the batch's accounting still balances. Only the
  /// stored reads within the batch's time span (± `window`) are looked at, and only the batch is
  /// written: a new segment, unless that would pass `maxSegments`, when the store is compacted.
  /// - Returns: the batch's report as stored, and what was written.
  /// - Throws: `IngestError.keyMismatch` when the two were pseudonymised with different keys (or one
  ///   holds raw plates); `badStore`/`cannotWrite` from reading or writing.
  public static func append(_ new: StoreContents, to path: String, window: Int64, bySite: Bool,
                            maxSegments: Int = defaultMaxSegments) throws(IngestError) -> (report: IngestReport, outcome: Outcome) {
    let phases = PhaseTimer()
    OutputFile.removeStale(beside: path, family: true)
    let store = try ReadStore(path: path)
    phases.mark("append: open store")
    guard store.header.keyFingerprint == new.keyFingerprint else { throw .keyMismatch(store: path) }
    if store.segmentPaths.count + 1 > maxSegments {
      var all = store.contents()
      try all.append(new, window: window, bySite: bySite, storePath: path)
      let merged = store.segmentPaths.count
      try rewrite(all, replacing: store)
      return (all.ingests.last!, .compacted(segments: merged))
    }
    // Cameras and vehicles by id: the batch's new ones go into the segment; keeper types learned fill in "unknown".
    var camIdx: [String: Int] = [:]
    for (i, c) in store.cameras.enumerated() { camIdx[c.id] = i }
    var newCameras: [Camera] = []
    let camMap: [UInt16] = new.cameras.map { c in
      if let i = camIdx[c.id] { return UInt16(i) }
      camIdx[c.id] = store.cameras.count + newCameras.count
      newCameras.append(c)
      return UInt16(store.cameras.count + newCameras.count - 1)
    }
    guard store.cameras.count + newCameras.count <= Int(UInt16.max) else { throw .badStore(file: path, reason: "more than 65,535 cameras") }
    var vIdx: [String: Int] = [:]
    vIdx.reserveCapacity(store.vehicles.count + new.vehicles.count)
    for (i, v) in store.vehicles.enumerated() { vIdx[v.id] = i }
    var newVehicles: [VehicleRecord] = []
    var updates: [KeeperUpdate] = []
    let vMap: [UInt32] = new.vehicles.map { v in
      if let i = vIdx[v.id] {
        if i < store.vehicles.count, store.vehicles[i].keeper == .unknown, v.keeper != .unknown { updates.append(KeeperUpdate(vehicle: i, keeper: v.keeper)) }
        return UInt32(i)
      }
      vIdx[v.id] = store.vehicles.count + newVehicles.count
      newVehicles.append(v)
      return UInt32(store.vehicles.count + newVehicles.count - 1)
    }
    phases.mark("append: registries")
    let allCameras = store.cameras + newCameras
    var siteOf: [String: Int] = [:]
    let unit: [Int] = allCameras.enumerated().map { i, c in
      if !bySite { return i }
      if let s = siteOf[c.site] { return s }
      siteOf[c.site] = siteOf.count
      return siteOf.count - 1
    }
    // Stored reads that could repeat a new one: those within the batch's span ± window.
    var existing: [Int64: [Int64]] = [:]
    if let lo = new.times.min(), let hi = new.times.max() {
      for i in store.reads(from: lo - window, to: hi + window + 1) {
        existing[Int64(store.vehicle(i)) << 20 | Int64(unit[store.camera(i)]), default: []].append(store.time(i))
      }
    }
    var segment = StoreContents(cameras: newCameras, vehicles: newVehicles, keyFingerprint: new.keyFingerprint)
    let report = segment.appendUnrepeated(new, camMap: camMap, vMap: vMap, unit: unit, existing: existing, window: window)
    segment.merges = new.merges
    segment.ingests = [report]
    phases.mark("append: repeats of stored reads")
    // Unlisted segment files (an append killed before its manifest) and stale ones go first.
    var manifest = try currentManifest(of: store)
    removeUnlisted(store: path, keeping: manifest)
    let index = (manifest.segments.last?.index ?? 0) + 1
    let name = StoreManifest.segmentFileName(store: path, generation: store.generation, index: index)
    let segPath = StoreManifest.segmentPath(store: path, file: name)
    let position = SegmentPosition(storeID: store.storeID, generation: store.generation, index: index,
                                   firstCamera: store.cameras.count, firstVehicle: store.vehicles.count, keeperUpdates: updates)
    try StoreWriter.write(segment, to: segPath, segment: position)
    let written = try StoreFile(path: segPath)
    Failpoint.reached("after-segment")
    manifest.segments.append(.init(file: name, index: index, reads: segment.times.count, headerCRC: written.headerCRC))
    try writeManifest(manifest, store: path)
    phases.mark("append: segment and manifest written")
    return (report, .segment(index: index, path: segPath))
  }

  /// Folds the segments into one base file (the next generation); returns how many were folded.
  public static func compact(_ path: String) throws(IngestError) -> Int {
    let store = try ReadStore(path: path)
    let n = store.segmentPaths.count
    try rewrite(store.contents(), replacing: store)
    return n
  }

  /// Replaces the whole store (base and segments) with `contents` as one base file of the next
  /// generation (compaction, purge, an append past the segment bound). The new base is renamed into
  /// place first; a crash after that leaves a manifest of the old generation, which readers ignore
  /// and the next writer removes.
  public static func rewrite(_ contents: StoreContents, replacing store: ReadStore) throws(IngestError) {
    OutputFile.removeStale(beside: store.path, family: true)
    try StoreWriter.write(contents, to: store.path, storeID: store.storeID, generation: store.generation + 1)
    Failpoint.reached("after-rewrite")
    removeUnlisted(store: store.path, keeping: nil)
  }

  /// Before a new store is created at `path`: refuses when segments or a manifest of a store whose
  /// base file is gone are still there (they would be reads lost without a word).
  public static func requireNoOrphans(store path: String) throws(IngestError) {
    let leftovers = segmentFiles(store: path) + (FileManager.default.fileExists(atPath: StoreManifest.path(store: path)) ? [StoreManifest.path(store: path)] : [])
    guard leftovers.isEmpty else {
      throw .badStore(file: path, reason: "does not exist, but \(leftovers.count) file(s) of a segmented store by that name do (\(leftovers.prefix(3).joined(separator: ", "))): its base file was removed? Restore it, or remove them to start a new store")
    }
  }

  /// The manifest the store was opened with (an empty one for a store in one file, or when the
  /// manifest on disk is of an older generation).
  private static func currentManifest(of store: ReadStore) throws(IngestError) -> StoreManifest {
    if let m = try StoreManifest.load(store: store.path), m.baseGeneration == store.generation, m.storeID == store.storeID { return m }
    return StoreManifest(storeID: store.storeID, baseGeneration: store.generation, segments: [])
  }

  private static func writeManifest(_ m: StoreManifest, store: String) throws(IngestError) {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .prettyPrinted]
    let data: Data
    do { data = try enc.encode(m) } catch { throw .cannotWrite(file: StoreManifest.path(store: store), reason: "\(error)") }
    let file = try OutputFile(path: StoreManifest.path(store: store))
    try file.write(data)
    try file.commit()
  }

  /// Segment files beside the store (any generation).
  static func segmentFiles(store path: String) -> [String] {
    let dir = PathParts(path).directory
    let prefix = PathParts(path).name + ".seg-"
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []
    return entries.filter { $0.hasPrefix(prefix) && !$0.contains(OutputFile.temporaryMarker) }.sorted()
      .map { StoreManifest.segmentPath(store: path, file: $0) }
  }

  /// Removes segment files the manifest does not list (`keeping` nil: all of them, and the manifest).
  private static func removeUnlisted(store path: String, keeping manifest: StoreManifest?) {
    let listed = Set((manifest?.segments ?? []).map { StoreManifest.segmentPath(store: path, file: $0.file) })
    if manifest == nil { unlink(StoreManifest.path(store: path)) }
    for f in segmentFiles(store: path) where !listed.contains(f) { unlink(f) }
    let dir = PathParts(path).directory
    let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY)
    if dfd >= 0 { _ = fsync(dfd); close(dfd) }
  }
}
