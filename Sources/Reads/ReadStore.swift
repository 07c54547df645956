import CZlib
import Crypto
import Foundation

/// The columnar read store (`*.anpr`): sorted by time, memory-mapped for reading; every file of it
/// is immutable once written.
///
/// A store is a base file plus, after appends, a small set of segment files and a manifest beside it
/// (see `StoreSegments.swift`): `S.anpr`, `S.anpr.manifest`, `S.anpr.seg-G-NNNN`. Appending writes one
/// new segment, so adding a day to a year costs a day; `anpr compact` (or an append past the segment
/// bound) folds them back into one base file. Opening the store presents all of them as one sorted store.
///
/// Layout of each file (little-endian):
/// ```
/// 0   "ANPRSTOR"            magic (8 bytes)
/// 8   UInt32 formatVersion  (currently 3; versions 1 (no header checksum) and 2 are read)
/// 12  UInt32 headerLength
/// 16  UInt32 CRC-32 of the header (version ≥ 2)
/// 20  header JSON           counts, time span, plate mode, key fingerprint, ingest history, store id
///                           and generation (a base) or segment position (a segment), and for each
///                           section: offset, length, CRC-32
/// …   sections, 8-byte aligned: cameras (JSON), vehicles (JSON), merges (JSON),
///     time (Int32 seconds after baseTime), camera (UInt16), vehicle (UInt32), confidence (UInt8)
/// ```
/// 11 bytes per read on disk. In a segment, the cameras and vehicles sections hold only those new in
/// that segment, and its columns index the whole store's registries. The per-vehicle index (reads of
/// one vehicle, in time order) is derived when the store is opened, in one counting pass, so it costs
/// no disk and can never disagree with the columns. A truncated, corrupt (CRC mismatch) or
/// newer-version file is refused.
public final class ReadStore: @unchecked Sendable {
  public static let magic: [UInt8] = Array("ANPRSTOR".utf8)
  public static let currentFormatVersion: UInt32 = 3

  /// What the header JSON holds.
  public struct Header: Codable, Sendable {
    public var format = "anprkit-store"
    public var formatVersion = Int(ReadStore.currentFormatVersion)
    public var toolkitVersion = ToolkitInfo.version
    public var readCount: Int
    public var vehicleCount: Int
    public var cameraCount: Int
    public var baseTime: Int64
    public var timeStart: Int64?
    public var timeEnd: Int64?
    /// Keyed pseudonyms or raw plates (written as "pseudonymised" / "raw").
    public var plates: PlateMode
    public var keyFingerprint: String?
    public var ingests: [IngestReport]
    public var sections: [Section]
    /// Random id given when the store is created and kept by compaction: a manifest or segment of
    /// another store is never attached to this one (nil before format 3).
    public var storeID: String?
    /// Base files: how many times the store was rewritten whole (compaction, purge); the manifest
    /// names the generation its segments extend (nil before format 3: 0).
    public var generation: Int?
    /// Segment files: where the segment belongs.
    public var segment: SegmentPosition?
    /// Base files: the audit log's place and the access policy the store was made under (nil: none recorded).
    public var governance: StoreGovernance?
  }

  public struct Section: Codable, Sendable {
    public var name: String
    public var offset: Int
    public var length: Int
    public var crc32: UInt32
  }

  public let path: String
  /// The whole store's header: counts, span and ingest history over the base and its segments.
  public let header: Header
  public let cameras: [Camera]
  public let vehicles: [VehicleRecord]
  public let merges: [MisreadMerge]
  /// Site names, dense; `cameraSite[c]` is camera c's site index.
  public let sites: [String]
  public let cameraSite: [Int]
  /// Location of each site (that of its first camera in the registry).
  public let siteLocations: [(latitude: Double, longitude: Double)]
  /// Segment files read with the base, in manifest order (empty for a store in one file).
  public let segmentPaths: [String]
  /// The base file's generation and store id (what a new segment must name).
  public let generation: Int
  public let storeID: String?
  private let files: [StoreFile]
  private let owned: [UnsafeMutableRawBufferPointer]
  private let timeColumn: UnsafeBufferPointer<Int32>
  private let cameraColumn: UnsafeBufferPointer<UInt16>
  private let vehicleColumn: UnsafeBufferPointer<UInt32>
  private let confidenceColumn: UnsafeBufferPointer<UInt8>
  private let indexLock = NSLock()
  nonisolated(unsafe) private var builtVehicleIndex: (offsets: [Int], reads: [UInt32])?

  /// Reads of each vehicle in time order (offsets into `reads`), by counting sort, built once.
  private var vehicleIndex: (offsets: [Int], reads: [UInt32]) {
    indexLock.lock()
    defer { indexLock.unlock() }
    if let built = builtVehicleIndex { return built }
    var counts = [Int](repeating: 0, count: vehicles.count + 1)
    for i in 0..<count { counts[Int(vehicleColumn[i]) + 1] += 1 }
    for v in 0..<vehicles.count { counts[v + 1] += counts[v] }
    var fill = counts
    var reads = [UInt32](repeating: 0, count: count)
    for i in 0..<count {
      let v = Int(vehicleColumn[i])
      reads[fill[v]] = UInt32(i)
      fill[v] += 1
    }
    builtVehicleIndex = (counts, reads)
    return (counts, reads)
  }

  /// Number of reads.
  public var count: Int { header.readCount }
  /// `true` when plates are stored as keyed pseudonyms.
  public var isPseudonymised: Bool { header.plates == .pseudonymised }

  /// Opens and validates a store: its base file and the segments its manifest lists.
  /// - Throws: `IngestError.badStore` naming the file and the problem (not a store, newer format,
  ///   truncated, checksum mismatch, a listed segment missing or not of this store).
  public init(path: String) throws(IngestError) {
    self.path = path
    let phases = PhaseTimer()
    let opened = try Self.openFiles(path: path)
    phases.mark("open: base file and segments checked")
    let base = opened.base, files = opened.files
    let cams = opened.cameras, vehs = opened.vehicles, merges = opened.merges
    var h = opened.header
    generation = base.header.generation ?? 0
    storeID = base.header.storeID
    self.files = files
    segmentPaths = files.dropFirst().map(\.path)
    cameras = cams; vehicles = vehs; self.merges = merges
    let n = files.reduce(0) { $0 + $1.header.readCount }
    let filled = files.filter { $0.header.readCount > 0 }
    h.readCount = n
    h.vehicleCount = vehs.count
    h.cameraCount = cams.count
    h.baseTime = filled.map(\.header.baseTime).min() ?? base.header.baseTime
    h.timeStart = filled.compactMap(\.header.timeStart).min()
    h.timeEnd = filled.compactMap(\.header.timeEnd).max()
    guard (h.timeEnd ?? 0) - (h.timeStart ?? 0) < Int64(Int32.max) else { throw .badStore(file: path, reason: "segments span over 68 years") }
    header = h
    if filled.count <= 1 {
      // One file holds every read (its base time is the store's): its mapped columns are used as they are.
      let f = filled.first ?? base
      (timeColumn, cameraColumn, vehicleColumn, confidenceColumn) = (f.time, f.camera, f.vehicle, f.confidence)
      owned = []
    } else {
      // Concatenate the files' columns on one time base, then sort if the segments overlap in time.
      let t = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n)
      let c = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: n)
      let v = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: n)
      let q = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: n)
      var at = 0
      for f in filled {
        let shift = Int32(f.header.baseTime - h.baseTime)
        for i in 0..<f.header.readCount { t[at + i] = f.time[i] + shift }
        _ = UnsafeMutableBufferPointer(rebasing: c[at..<(at + f.header.readCount)]).initialize(from: f.camera)
        _ = UnsafeMutableBufferPointer(rebasing: v[at..<(at + f.header.readCount)]).initialize(from: f.vehicle)
        _ = UnsafeMutableBufferPointer(rebasing: q[at..<(at + f.header.readCount)]).initialize(from: f.confidence)
        at += f.header.readCount
      }
      if let order = columnOrder(times: UnsafeBufferPointer(t), cameras: UnsafeBufferPointer(c), vehicles: UnsafeBufferPointer(v)) {
        func permute<T>(_ a: UnsafeMutableBufferPointer<T>) { let copy = Array(a); for (k, i) in order.enumerated() { a[k] = copy[i] } }
        permute(t); permute(c); permute(v); permute(q)
      }
      (timeColumn, cameraColumn, vehicleColumn, confidenceColumn) = (UnsafeBufferPointer(t), UnsafeBufferPointer(c), UnsafeBufferPointer(v), UnsafeBufferPointer(q))
      owned = [UnsafeMutableRawBufferPointer(t), UnsafeMutableRawBufferPointer(c), UnsafeMutableRawBufferPointer(v), UnsafeMutableRawBufferPointer(q)]
    }
    phases.mark("open: segments and columns")
    var siteIdx: [String: Int] = [:]
    var siteNames: [String] = []
    cameraSite = cameras.map { c in
      if let s = siteIdx[c.site] { return s }
      siteIdx[c.site] = siteNames.count
      siteNames.append(c.site)
      return siteNames.count - 1
    }
    sites = siteNames
    var locations = [(latitude: Double, longitude: Double)?](repeating: nil, count: siteNames.count)
    for (c, cam) in cameras.enumerated() where locations[cameraSite[c]] == nil { locations[cameraSite[c]] = (cam.latitude, cam.longitude) }
    siteLocations = locations.map { $0! }
    // Validate ids and order (every later access relies on them); the per-vehicle index is built on
    // first use (an append never needs it).
    var maxVehicle: UInt32 = 0, maxCamera: UInt16 = 0, sorted = true
    if n > 0 {
      let t = timeColumn.baseAddress!, v = vehicleColumn.baseAddress!, c = cameraColumn.baseAddress!
      for i in 0..<n { maxVehicle = max(maxVehicle, v[i]); maxCamera = max(maxCamera, c[i]) }
      for i in 1..<n where t[i] < t[i - 1] { sorted = false; break }
      guard Int(maxVehicle) < vehicles.count, Int(maxCamera) < cameras.count else {
        let bad = (0..<n).first { Int(v[$0]) >= vehicles.count || Int(c[$0]) >= cameras.count }!
        throw .badStore(file: path, reason: "read \(bad) refers to a vehicle or camera that does not exist")
      }
      guard sorted else { throw .badStore(file: path, reason: "reads are not sorted by time") }
    }
    phases.mark("open: ids and order checked")
  }

  deinit { for b in owned { b.deallocate() } }

  /// The base file, and the segments its manifest lists, with the registries and header they add up
  /// to. A compaction or purge may replace the base while it is being opened (readers take no lock):
  /// then the base file opened is no longer the one at `path`, and the open starts again (a reader
  /// could otherwise read the old base without the segments the rewrite just removed).
  private struct OpenedFiles {
    var base: StoreFile
    var files: [StoreFile]
    var cameras: [Camera]
    var vehicles: [VehicleRecord]
    var merges: [MisreadMerge]
    var header: Header
  }

  private static func openFiles(path: String) throws(IngestError) -> OpenedFiles {
    var attempt = 0
    while true {
      attempt += 1
      var opened: StoreFile? = nil
      do {
        let result = try openFilesOnce(path: path, base: &opened)
        if attempt < 5, let o = opened, o.mapping.replaced(at: path) { continue }
        return result
      } catch {
        if attempt < 5, let o = opened, o.mapping.replaced(at: path) { continue }
        throw error
      }
    }
  }

  private static func openFilesOnce(path: String, base opened: inout StoreFile?) throws(IngestError) -> OpenedFiles {
    let base = try StoreFile(path: path)
    opened = base
    Failpoint.reached("after-base-open")
    if let s = base.header.segment {
      throw .badStore(file: path, reason: "is segment \(s.index) of a segmented store, not a store; open the store it belongs to (the path before '.seg-')")
    }
    let generation = base.header.generation ?? 0
    let storeID = base.header.storeID
    var files = [base]
    var cams = base.cameras, vehs = base.vehicles, merges = base.merges
    var h = base.header
    if let manifest = try StoreManifest.load(store: path), try manifest.attaches(to: base.header, store: path) {
      for entry in manifest.segments {
        let segPath = StoreManifest.segmentPath(store: path, file: entry.file)
        guard FileManager.default.fileExists(atPath: segPath) else {
          throw .badStore(file: segPath, reason: "segment listed in \(StoreManifest.path(store: path)) is missing (its reads would be lost); restore it from a copy")
        }
        let f = try StoreFile(path: segPath)
        guard let s = f.header.segment, s.storeID == storeID, s.generation == generation, s.index == entry.index,
          f.headerCRC == entry.headerCRC, s.firstCamera == cams.count, s.firstVehicle == vehs.count
        else { throw .badStore(file: segPath, reason: "is not segment \(entry.index) of generation \(generation) of \(path) as its manifest records") }
        guard f.header.keyFingerprint == base.header.keyFingerprint, f.header.plates == base.header.plates else {
          throw .keyMismatch(store: segPath)
        }
        cams += f.cameras
        vehs += f.vehicles
        for u in s.keeperUpdates {
          guard u.vehicle >= 0, u.vehicle < vehs.count else { throw .badStore(file: segPath, reason: "a keeper update names vehicle \(u.vehicle), which does not exist") }
          vehs[u.vehicle].keeper = u.keeper
        }
        merges += f.merges
        h.ingests += f.header.ingests
        files.append(f)
      }
    }
    return OpenedFiles(base: base, files: files, cameras: cams, vehicles: vehs, merges: merges, header: h)
  }


  /// Epoch seconds of read `i`.
  public func time(_ i: Int) -> Int64 { header.baseTime + Int64(timeColumn[i]) }
  /// Camera index of read `i`.
  public func camera(_ i: Int) -> Int { Int(cameraColumn[i]) }
  /// Site index of read `i`.
  public func site(_ i: Int) -> Int { cameraSite[Int(cameraColumn[i])] }
  /// Vehicle index of read `i`.
  public func vehicle(_ i: Int) -> Int { Int(vehicleColumn[i]) }
  /// Confidence 0–100 of read `i`, or nil when the export had none.
  public func confidence(_ i: Int) -> Int? { confidenceColumn[i] == 255 ? nil : Int(confidenceColumn[i]) }

  /// Indices of the reads in `[start, end)` (epoch seconds), by binary search on the time column.
  public func reads(from start: Int64, to end: Int64) -> Range<Int> {
    func lowerBound(_ t: Int64) -> Int {
      var lo = 0, hi = count
      while lo < hi { let mid = (lo + hi) / 2; if time(mid) < t { lo = mid + 1 } else { hi = mid } }
      return lo
    }
    let a = lowerBound(start), b = lowerBound(end)
    return a..<max(a, b)
  }

  /// Read indices of `vehicle`, in time order.
  public func reads(ofVehicle vehicle: Int) -> ArraySlice<UInt32> {
    vehicleIndex.reads[vehicleIndex.offsets[vehicle]..<vehicleIndex.offsets[vehicle + 1]]
  }

  /// Copies everything back into `StoreContents` (for append and purge).
  public func contents() -> StoreContents {
    var c = StoreContents(cameras: cameras, vehicles: vehicles, keyFingerprint: header.keyFingerprint)
    c.times = (0..<count).map(time)
    c.cameraIndex = Array(cameraColumn)
    c.vehicleIndex = Array(vehicleColumn)
    c.confidence = Array(confidenceColumn)
    c.merges = merges
    c.ingests = header.ingests
    c.governance = header.governance
    return c
  }
}

extension UnsafeRawBufferPointer {
  func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
    T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
  }
}

/// A read-only memory mapping of a whole file.
final class MappedFile: @unchecked Sendable {
  let bytes: UnsafeRawBufferPointer
  private let length: Int
  private var device: UInt64 = 0
  private var inode: UInt64 = 0

  /// Whether `path` now names another file than the one mapped (it was replaced by a rename).
  func replaced(at path: String) -> Bool {
    var st = stat()
    guard stat(path, &st) == 0 else { return true }
    return UInt64(st.st_dev) != device || UInt64(st.st_ino) != inode
  }

  init(path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw IngestError.cannotOpen(file: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    var st = stat()
    fstat(fd, &st)
    length = Int(st.st_size)
    device = UInt64(st.st_dev); inode = UInt64(st.st_ino)
    if length == 0 { bytes = UnsafeRawBufferPointer(start: nil, count: 0); return }
    guard let p = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
      throw IngestError.cannotOpen(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
    }
    bytes = UnsafeRawBufferPointer(start: p, count: length)
  }

  deinit { if length > 0 { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), length) } }
}

/// One file of a store (the base or a segment), opened and checked: magic, version, header CRC, every
/// header number in range, each section within the file, aligned and matching its CRC-32.
struct StoreFile {
  let path: String
  let header: ReadStore.Header
  let headerCRC: UInt32
  let cameras: [Camera]
  let vehicles: [VehicleRecord]
  let merges: [MisreadMerge]
  let mapping: MappedFile
  let time: UnsafeBufferPointer<Int32>
  let camera: UnsafeBufferPointer<UInt16>
  let vehicle: UnsafeBufferPointer<UInt32>
  let confidence: UnsafeBufferPointer<UInt8>

  init(path: String) throws(IngestError) {
    self.path = path
    let m: MappedFile
    do { m = try MappedFile(path: path) } catch { throw .badStore(file: path, reason: "cannot open: \(error)") }
    mapping = m
    let bytes = m.bytes
    guard bytes.count >= 16, Array(bytes[0..<8]) == ReadStore.magic else {
      throw .badStore(file: path, reason: "not an ANPRKit store (bad magic bytes); make one with 'anpr ingest'")
    }
    let version = bytes.loadLE(UInt32.self, at: 8)
    guard version <= ReadStore.currentFormatVersion else {
      throw .badStore(file: path, reason: "format version \(version) is newer than this ANPRKit reads (\(ReadStore.currentFormatVersion)); upgrade ANPRKit")
    }
    let hlen = Int(bytes.loadLE(UInt32.self, at: 12))
    let headerStart = version >= 2 ? 20 : 16
    guard bytes.count >= headerStart, hlen <= bytes.count - headerStart else { throw .badStore(file: path, reason: "truncated (header cut short)") }
    let headerSlice = UnsafeRawBufferPointer(rebasing: bytes[headerStart..<(headerStart + hlen)])
    let crc = headerSlice.isEmpty ? UInt32(crc32(0, nil, 0))
      : UInt32(crc32(0, headerSlice.baseAddress!.assumingMemoryBound(to: UInt8.self), uInt(headerSlice.count)))
    if version >= 2 {
      guard crc == bytes.loadLE(UInt32.self, at: 16) else {
        throw .badStore(file: path, reason: "corrupt (checksum mismatch in the header); restore the store from a copy or ingest again")
      }
    }
    headerCRC = crc
    let h: ReadStore.Header
    do { h = try JSONDecoder().decode(ReadStore.Header.self, from: Data(headerSlice)) } catch {
      throw .badStore(file: path, reason: "header is corrupt (\(error))")
    }
    // Every number is range-checked before use (a crafted header must not overflow or shift times).
    let size = bytes.count
    guard h.readCount >= 0, h.readCount <= size, h.vehicleCount >= 0, h.vehicleCount <= size, h.cameraCount >= 0, h.cameraCount <= size,
      abs(h.baseTime) < 1 << 40, (h.timeStart.map { abs($0) < 1 << 40 } ?? true), (h.timeEnd.map { abs($0) < 1 << 40 } ?? true),
      h.timeStart.map({ s in h.timeEnd.map { s <= $0 } ?? false }) ?? (h.timeEnd == nil),
      (h.generation ?? 0) >= 0, (h.generation ?? 0) < 1 << 40,
      h.segment.map({ s in s.index >= 1 && s.index < 1 << 20 && s.generation >= 0 && s.generation < 1 << 40 && s.firstCamera >= 0
        && s.firstCamera < 1 << 16 && s.firstVehicle >= 0 && s.firstVehicle < 1 << 32 }) ?? true
    else { throw .badStore(file: path, reason: "header numbers out of range (counts, base time, time span or segment position)") }
    header = h
    var sec: [String: UnsafeRawBufferPointer] = [:]
    for s in h.sections {
      guard s.offset % 8 == 0 else { throw .badStore(file: path, reason: "section '\(s.name)' is not 8-byte aligned") }
      guard s.offset >= headerStart + hlen, s.length >= 0, s.offset <= size, s.length <= size - s.offset else {
        throw .badStore(file: path, reason: "truncated (section '\(s.name)' ends past the end of the file)")
      }
      let slice = UnsafeRawBufferPointer(rebasing: bytes[s.offset..<(s.offset + s.length)])
      let crc = slice.isEmpty ? UInt32(crc32(0, nil, 0))
        : UInt32(crc32(0, slice.baseAddress!.assumingMemoryBound(to: UInt8.self), uInt(slice.count)))
      guard crc == s.crc32 else { throw .badStore(file: path, reason: "corrupt (checksum mismatch in section '\(s.name)')") }
      sec[s.name] = slice
    }
    for name in ["cameras", "vehicles", "merges", "time", "camera", "vehicle", "confidence"] where sec[name] == nil {
      throw .badStore(file: path, reason: "section '\(name)' missing")
    }
    func json<T: Decodable>(_ name: String, _ t: T.Type) throws(IngestError) -> T {
      do { return try JSONDecoder().decode(T.self, from: Data(sec[name]!)) } catch {
        throw .badStore(file: path, reason: "section '\(name)' is corrupt (\(error))")
      }
    }
    cameras = try json("cameras", [Camera].self)
    if let fast = decodeVehicles(sec["vehicles"]!) { vehicles = fast } else { vehicles = try json("vehicles", [VehicleRecord].self) }
    merges = try json("merges", [MisreadMerge].self)
    let n = h.readCount
    guard sec["time"]!.count == 4 * n, sec["camera"]!.count == 2 * n, sec["vehicle"]!.count == 4 * n,
      sec["confidence"]!.count == n, cameras.count == h.cameraCount, vehicles.count == h.vehicleCount
    else { throw .badStore(file: path, reason: "column lengths disagree with the header's counts") }
    time = sec["time"]!.bindMemory(to: Int32.self)
    camera = sec["camera"]!.bindMemory(to: UInt16.self)
    vehicle = sec["vehicle"]!.bindMemory(to: UInt32.self)
    confidence = sec["confidence"]!.bindMemory(to: UInt8.self)
    if n > 0 {
      // Sorted within the file, and the time offsets agree with the header's span.
      guard h.baseTime + Int64(time[0]) == h.timeStart, h.baseTime + Int64(time[n - 1]) == h.timeEnd else {
        throw .badStore(file: path, reason: "the time column disagrees with the header's time span")
      }
    }
  }
}

/// The permutation that sorts concatenated columns by (time, camera, vehicle), or nil when they
/// already are: a radix sort, or a comparison sort if the key would not fit 64 bits.
func columnOrder(times: UnsafeBufferPointer<Int32>, cameras: UnsafeBufferPointer<UInt16>, vehicles: UnsafeBufferPointer<UInt32>) -> [Int]? {
  let n = times.count
  guard n > 1 else { return nil }
  if (1..<n).allSatisfy({ i in (times[i - 1], cameras[i - 1], vehicles[i - 1]) <= (times[i], cameras[i], vehicles[i]) }) { return nil }
  let base = Int64(times.min()!)
  let timeBits = 64 - UInt64(Int64(times.max()!) - base).leadingZeroBitCount
  let vehicleBits = 64 - UInt64(Int(vehicles.max()!) + 1).leadingZeroBitCount
  if timeBits + 16 + vehicleBits <= 64 {
    var keys = (0..<n).map { i in
      UInt64(Int64(times[i]) - base) << UInt64(16 + vehicleBits) | UInt64(cameras[i]) << UInt64(vehicleBits) | UInt64(vehicles[i])
    }
    var payload = (0..<n).map { UInt32($0) }
    radixSortPairs(keys: &keys, payload: &payload)
    return payload.map(Int.init)
  }
  return (0..<n).sorted { a, b in (times[a], cameras[a], vehicles[a], a) < (times[b], cameras[b], vehicles[b], b) }
}

/// The permutation that sorts reads by (time, camera, vehicle), or nil when they already are (what
/// ingest produces): a radix sort, or a comparison sort if the key would not fit 64 bits.
func storeOrder(_ c: StoreContents) -> [Int]? {
  let n = c.times.count
  guard n > 1 else { return nil }
  let sorted = c.times.withUnsafeBufferPointer { t in
    c.cameraIndex.withUnsafeBufferPointer { cam in
      c.vehicleIndex.withUnsafeBufferPointer { v in
        (1..<n).allSatisfy { i in (t[i - 1], cam[i - 1], v[i - 1]) <= (t[i], cam[i], v[i]) }
      }
    }
  }
  if sorted { return nil }
  let base = c.times.min()!
  let timeBits = 64 - UInt64(c.times.max()! - base).leadingZeroBitCount
  // Segment contents index the whole store's vehicles: the bits come from the largest index, not the count.
  let vehicleBits = 64 - UInt64(Int(c.vehicleIndex.max() ?? 0) + 1).leadingZeroBitCount
  if timeBits + 16 + vehicleBits <= 64 {
    var keys = (0..<n).map { i in
      UInt64(c.times[i] - base) << UInt64(16 + vehicleBits) | UInt64(c.cameraIndex[i]) << UInt64(vehicleBits) | UInt64(c.vehicleIndex[i])
    }
    var payload = (0..<n).map { UInt32($0) }
    radixSortPairs(keys: &keys, payload: &payload)
    return payload.map(Int.init)
  }
  return (0..<n).sorted { a, b in
    (c.times[a], c.cameraIndex[a], c.vehicleIndex[a], a) < (c.times[b], c.cameraIndex[b], c.vehicleIndex[b], b)
  }
}

/// The vehicles section as JSON (`[{"id":…,"keeper":…,"nonstandardPlate":…}]`, what `JSONDecoder`
/// reads back), written directly: `JSONEncoder` took longer than the read columns for a large store.
func encodeVehicles(_ vehicles: [VehicleRecord]) -> [UInt8] {
  var out: [UInt8] = []
  out.reserveCapacity(vehicles.count * 64 + 2)
  out.append(UInt8(ascii: "["))
  for (k, v) in vehicles.enumerated() {
    if k > 0 { out.append(UInt8(ascii: ",")) }
    out += Array(#"{"id":""#.utf8)
    for b in v.id.utf8 {
      switch b {
      case UInt8(ascii: "\""): out += Array(#"\""#.utf8)
      case UInt8(ascii: "\\"): out += Array(#"\\"#.utf8)
      case 0..<0x20: out += Array(String(format: "\\u%04x", b).utf8)
      default: out.append(b)
      }
    }
    out += Array(#"","keeper":""#.utf8)
    out += Array(v.keeper.rawValue.utf8)
    out += Array(v.nonstandardPlate ? #"","nonstandardPlate":true}"#.utf8 : #"","nonstandardPlate":false}"#.utf8)
  }
  out.append(UInt8(ascii: "]"))
  return out
}

/// Reads the vehicles section written by `encodeVehicles` (or by `JSONEncoder` with sorted keys: the
/// same shape) without `JSONDecoder`, which took over a second for 190,000 vehicles. Anything else
/// (other key order, whitespace, a surrogate pair) returns nil and the caller decodes it generally.
func decodeVehicles(_ bytes: UnsafeRawBufferPointer) -> [VehicleRecord]? {
  let b = bytes.bindMemory(to: UInt8.self)
  var i = 0
  func expect(_ literal: StaticString) -> Bool {
    let n = literal.utf8CodeUnitCount
    guard i + n <= b.count else { return false }
    let p = literal.utf8Start
    for k in 0..<n where b[i + k] != p[k] { return false }
    i += n
    return true
  }
  func string() -> String? {
    var out: [UInt8] = []
    while i < b.count {
      let c = b[i]
      i += 1
      if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
      if c < 0x20 { return nil }
      if c != UInt8(ascii: "\\") { out.append(c); continue }
      guard i < b.count else { return nil }
      let e = b[i]
      i += 1
      switch e {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
      case UInt8(ascii: "b"): out.append(8)
      case UInt8(ascii: "f"): out.append(12)
      case UInt8(ascii: "n"): out.append(10)
      case UInt8(ascii: "r"): out.append(13)
      case UInt8(ascii: "t"): out.append(9)
      case UInt8(ascii: "u"):
        guard i + 4 <= b.count, let v = UInt32(String(decoding: UnsafeBufferPointer(rebasing: b[i..<(i + 4)]), as: UTF8.self), radix: 16),
          !(0xD800...0xDFFF).contains(v), let scalar = Unicode.Scalar(v) else { return nil }
        out += Array(String(Character(scalar)).utf8)
        i += 4
      default: return nil
      }
    }
    return nil
  }
  var out: [VehicleRecord] = []
  guard expect("[") else { return nil }
  if expect("]") { return i == b.count ? out : nil }
  while true {
    guard expect("{\"id\":\""), let id = string(), expect(",\"keeper\":\""), let k = string(), let keeper = KeeperType(rawValue: k),
      expect(",\"nonstandardPlate\":") else { return nil }
    let flag: Bool
    if expect("true}") { flag = true } else if expect("false}") { flag = false } else { return nil }
    out.append(VehicleRecord(id: id, keeper: keeper, nonstandardPlate: flag))
    if expect("]") { return i == b.count ? out : nil }
    guard expect(",") else { return nil }
  }
}

/// Writes store contents to a `.anpr` file atomically (temporary file in the same folder, then rename).
public enum StoreWriter {
  /// Sorts the reads by (time, camera, vehicle) and writes a store file: a new store (a fresh store id),
  /// a rewritten base (`storeID` kept, `generation` one more) or a segment (`segment` set; `c` then
  /// holds only the segment's new cameras and vehicles, its columns indexing the whole store's).
  /// - Throws: `IngestError.cannotWrite`; `badStore` when the time span exceeds the 32-bit offset range (68 years).
  public static func write(_ c: StoreContents, to path: String, storeID: String? = nil, generation: Int = 0,
                           segment: SegmentPosition? = nil) throws(IngestError) {

    let n = c.times.count
    let phases = PhaseTimer()
    let order = storeOrder(c)
    phases.mark("store order")
    let base = c.times.min() ?? 0
    let end = c.times.max() ?? 0
    guard end - base < Int64(Int32.max) else { throw .badStore(file: path, reason: "time span over 68 years") }
    func bytesOf<T>(_ a: [T]) -> [UInt8] { a.withUnsafeBytes { Array($0) } }
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    var sections: [(String, [UInt8])] = []
    do {
      sections.append(("cameras", Array(try enc.encode(c.cameras))))
      sections.append(("vehicles", encodeVehicles(c.vehicles)))
      sections.append(("merges", Array(try enc.encode(c.merges))))
    } catch { throw .cannotWrite(file: path, reason: "\(error)") }
    phases.mark("store registries (JSON)")
    if let order {
      sections.append(("time", bytesOf(order.map { Int32(c.times[$0] - base).littleEndian })))
      sections.append(("camera", bytesOf(order.map { c.cameraIndex[$0].littleEndian })))
      sections.append(("vehicle", bytesOf(order.map { c.vehicleIndex[$0].littleEndian })))
      sections.append(("confidence", order.map { c.confidence[$0] }))
    } else {
      sections.append(("time", bytesOf(c.times.map { Int32($0 - base).littleEndian })))
      #if _endian(little)
      sections.append(("camera", bytesOf(c.cameraIndex)))
      sections.append(("vehicle", bytesOf(c.vehicleIndex)))
      #else
      sections.append(("camera", bytesOf(c.cameraIndex.map { $0.littleEndian })))
      sections.append(("vehicle", bytesOf(c.vehicleIndex.map { $0.littleEndian })))
      #endif
      sections.append(("confidence", c.confidence))
    }

    phases.mark("store columns")
    // The header records section offsets, which depend on the header's own length: iterate to a fixed point.
    let crcs = sections.map { _, data in data.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) } }
    // A new store's id is drawn from its contents (same input, same bytes), not from a clock or RNG.
    var id: String? = nil
    if segment == nil {
      id = storeID ?? {
        var h = SHA256()
        for crc in crcs { withUnsafeBytes(of: crc.littleEndian) { h.update(bufferPointer: $0) } }
        if let history = try? enc.encode(c.ingests) { h.update(data: history) }
        return h.finalize().prefix(12).map { String(format: "%02x", $0) }.joined()
      }()
    }
    var headerBytes: [UInt8] = []
    var table: [ReadStore.Section] = []
    var guessLen = 4096
    for _ in 0..<8 {
      var offset = align8(20 + guessLen)
      table = zip(sections, crcs).map { section, crc in
        defer { offset = align8(offset + section.1.count) }
        return ReadStore.Section(name: section.0, offset: offset, length: section.1.count, crc32: crc)
      }
      let h = ReadStore.Header(
        readCount: n, vehicleCount: c.vehicles.count, cameraCount: c.cameras.count, baseTime: base,
        timeStart: n > 0 ? base : nil, timeEnd: n > 0 ? end : nil,
        plates: c.keyFingerprint == nil ? .raw : .pseudonymised, keyFingerprint: c.keyFingerprint,
        ingests: c.ingests, sections: table, storeID: id, generation: segment == nil ? generation : nil, segment: segment,
        governance: segment == nil ? c.governance : nil)
      do { headerBytes = Array(try enc.encode(h)) } catch { throw .cannotWrite(file: path, reason: "\(error)") }
      if headerBytes.count <= guessLen { break }
      guessLen = headerBytes.count * 2
    }
    headerBytes += [UInt8](repeating: 0x20, count: guessLen - headerBytes.count)  // pad with spaces (valid JSON)
    let file = try OutputFile(path: path, permissions: c.keyFingerprint == nil ? 0o600 : 0o644)  // raw plates: private
    var written = 0
    func put(_ bytes: [UInt8]) throws(IngestError) { try file.write(bytes); written += bytes.count }
    try put(ReadStore.magic)
    try put(withUnsafeBytes(of: ReadStore.currentFormatVersion.littleEndian) { Array($0) })
    try put(withUnsafeBytes(of: UInt32(guessLen).littleEndian) { Array($0) })
    let headerCRC = headerBytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
    try put(withUnsafeBytes(of: headerCRC.littleEndian) { Array($0) })
    try put(headerBytes)
    for (s, (_, data)) in zip(table, sections) {
      if written < s.offset { try put([UInt8](repeating: 0, count: s.offset - written)) }
      try put(data)
    }
    try file.commit()
    phases.mark("store write")
  }

  private static func align8(_ x: Int) -> Int { (x + 7) & ~7 }
}


/// How a store holds plates.
public enum PlateMode: String, Codable, Sendable, CustomStringConvertible {
  /// HMAC-SHA256 keyed pseudonyms (the default; the key is kept apart from the store).
  case pseudonymised
  /// Raw plates, kept because the user passed `--keep-raw-plates` (the store file is then private, 0600).
  case raw
  public var description: String { rawValue }
}
