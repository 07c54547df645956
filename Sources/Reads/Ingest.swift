import Foundation

/// Why a row was rejected at ingest. Every rejected row goes to the rejects file with its reason.
public enum RejectReason: Hashable, Sendable, CustomStringConvertible {
  case emptyLine
  case wrongColumnCount(expected: Int, found: Int)
  case emptyPlate
  case plateTooLong(Int)
  case missingCamera
  case unknownCamera(String)
  case badTimestamp(Timestamp.Problem)
  case badConfidence(String)
  case outsideRetention(days: Int)

  /// The column the reason is about (`-` for whole-row reasons).
  public var field: String {
    switch self {
    case .emptyLine, .wrongColumnCount: return "-"
    case .emptyPlate, .plateTooLong: return "plate"
    case .missingCamera, .unknownCamera: return "camera_id"
    case .badTimestamp, .outsideRetention: return "timestamp"
    case .badConfidence: return "confidence"
    }
  }

  /// A stable short code for counting by reason (`inspect`, JSON).
  public var code: String {
    switch self {
    case .emptyLine: return "empty_line"
    case .wrongColumnCount: return "wrong_column_count"
    case .emptyPlate: return "empty_plate"
    case .plateTooLong: return "plate_too_long"
    case .missingCamera: return "missing_camera"
    case .unknownCamera: return "unknown_camera"
    case .badTimestamp(let p):
      switch p {
      case .empty: return "missing_timestamp"
      case .noTimeZone: return "timestamp_without_zone"
      case .malformed, .outOfRange: return "bad_timestamp"
      }
    case .badConfidence: return "bad_confidence"
    case .outsideRetention: return "outside_retention"
    }
  }

  public var description: String {
    switch self {
    case .emptyLine: return "empty line"
    case let .wrongColumnCount(e, f): return "wrong column count: expected \(e), found \(f)"
    case .emptyPlate: return "empty plate (no letters or digits)"
    case .plateTooLong(let n): return "plate has \(n) characters after normalising (at most 16)"
    case .missingCamera: return "missing camera_id"
    case .unknownCamera(let c): return "unknown camera '\(c)' (not in cameras.csv)"
    case .badTimestamp(let p): return p.reason
    case .badConfidence(let s): return "bad confidence '\(s)' (expected 0–1 or 0–100)"
    case .outsideRetention(let d): return "older than the \(d)-day retention period (row not copied: past retention)"
    }
  }
}

/// The accounting of one ingest: `read == accepted + rejected + duplicates`, always.
public struct IngestReport: Codable, Sendable, Equatable {
  /// The input file as named by the user.
  public var file: String
  /// Data rows read (header excluded).
  public var read = 0
  /// Rows stored.
  public var accepted = 0
  /// Rows refused; each is in the rejects file (rows past retention: line and reason only).
  public var rejected = 0
  /// Rows that repeat a stored read: the same vehicle at the same site/camera within the window,
  /// or an OCR misread merged into its likely true plate.
  public var duplicates = 0
  /// Rejections by reason code.
  public var rejectedByReason: [String: Int] = [:]
  /// Of `duplicates`: exact repeats within the window.
  public var exactDuplicates = 0
  /// Of `duplicates`: misreads merged (details in the store's merge record).
  public var misreadMerges = 0
  /// Of `duplicates`: repeats of reads already in the store (append only).
  public var alreadyInStore = 0
  /// Rows earlier than some row before them (tolerated: the store is sorted anyway).
  public var outOfOrderRows = 0
  /// Accepted reads whose plate matches no known GB format (flagged, kept).
  public var nonstandardPlateReads = 0

  public init(file: String) { self.file = file }

  /// `true` when the accounting identity holds.
  public var balances: Bool { read == accepted + rejected + duplicates }

  /// `read N, accepted A, rejected R, duplicates D`.
  public var summaryLine: String {
    "read \(read), accepted \(accepted), rejected \(rejected), duplicates \(duplicates)"
  }
}

/// A misread merged at ingest: both spellings (as pseudonyms unless raw plates were kept).
public struct MisreadMerge: Codable, Sendable, Hashable {
  /// The spelling kept (seen more often overall).
  public var kept: String
  /// The spelling merged into it.
  public var merged: String
  public var site: String
  public var time: Int64
}

/// Settings for one ingest.
public struct IngestOptions: Sendable {
  public var readsPath: String
  public var camerasPath: String
  public var vehiclesPath: String?
  public var columns = ColumnMapping()
  /// Stop at the first bad row with `file:line: field: reason`.
  public var strict = false
  /// Where rejected rows go (CSV: `file,line,field,reason,raw`); nil = no file (counts only).
  public var rejectsPath: String?
  /// Seconds within which a repeat of a plate at the same site (or camera) counts once.
  public var dedupeWindow: Int64 = 10
  /// Dedupe at the site (default: adjacent cameras at a site double-read) or camera level.
  public var dedupeBySite = true
  /// Merge one-character OCR confusions (O/0, I/1, ...) at one site within the window.
  public var mergeMisreads = true
  /// Keyed pseudonyms; nil means raw plates are kept (the caller must have been told explicitly).
  public var pseudonymiser: Pseudonymiser?
  /// Drop reads older than this many days before `asOf`.
  public var retainDays: Int?
  /// Reference time for retention (default: now).
  public var asOf: Int64?

  public init(readsPath: String, camerasPath: String) {
    self.readsPath = readsPath
    self.camerasPath = camerasPath
  }
}

/// Up to 16 normalised plate characters packed into two words: a fast dictionary key.
@usableFromInline struct PlateKey: Hashable, Sendable {
  @usableFromInline var hi: UInt64
  @usableFromInline var lo: UInt64
  @inlinable init(hi: UInt64, lo: UInt64) { self.hi = hi; self.lo = lo }
  @inlinable init?(_ b: [UInt8]) {
    guard b.count <= 16 else { return nil }
    var h: UInt64 = 0, l: UInt64 = 0
    for (i, c) in b.enumerated() {
      if i < 8 { h |= UInt64(c) << (8 * UInt64(i)) } else { l |= UInt64(c) << (8 * UInt64(i - 8)) }
    }
    hi = h; lo = l
  }
  var bytes: [UInt8] {
    var out: [UInt8] = []
    for i in 0..<16 {
      let c = UInt8(truncatingIfNeeded: (i < 8 ? hi >> (8 * UInt64(i)) : lo >> (8 * UInt64(i - 8))))
      if c == 0 { break }
      out.append(c)
    }
    return out
  }
}

/// What ingest produces before it is written: reads, vehicles and cameras, in any order.
public struct StoreContents: Sendable {
  public var cameras: [Camera]
  /// One per vehicle: pseudonym (or raw plate), keeper type, and whether its plate matched no GB format.
  public var vehicles: [VehicleRecord]
  public var times: [Int64]
  public var cameraIndex: [UInt16]
  public var vehicleIndex: [UInt32]
  /// 0–100, or 255 when the export had no confidence.
  public var confidence: [UInt8]
  public var merges: [MisreadMerge]
  public var ingests: [IngestReport]
  /// Fingerprint of the pseudonymisation key, or nil when raw plates are stored.
  public var keyFingerprint: String?

  public init(cameras: [Camera], vehicles: [VehicleRecord] = [], keyFingerprint: String?) {
    self.cameras = cameras; self.vehicles = vehicles; self.keyFingerprint = keyFingerprint
    times = []; cameraIndex = []; vehicleIndex = []; confidence = []; merges = []; ingests = []
  }
}

/// A vehicle as the store knows it.
public struct VehicleRecord: Codable, Sendable, Hashable {
  /// Pseudonym (`V` + 16 hex digits) or, only with `--keep-raw-plates`, the normalised plate.
  public var id: String
  public var keeper: KeeperType
  /// The plate matched no GB format (foreign plate or misread): flagged, not dropped.
  public var nonstandardPlate: Bool
}

/// Streaming ingest: parse and validate rows as they are read, then sort, de-duplicate,
/// pseudonymise and hand back store contents plus the accounting.
public enum Ingest {
  /// Progress callback: bytes consumed, total bytes if known, rows so far.
  public typealias Progress = (_ bytes: Int64, _ total: Int64?, _ rows: Int) -> Void

  /// Runs one ingest. Rejected rows are written to `options.rejectsPath` as they are found.
  /// - Throws: `IngestError` for fatal problems (unreadable file, missing column, `--strict` rejection).
  public static func run(_ options: IngestOptions, progress: Progress? = nil) throws -> (StoreContents, IngestReport) {
    let cameras = try loadCameras(path: options.camerasPath, columns: options.columns)
    let keepers = try options.vehiclesPath.map { try loadVehicles(path: $0, columns: options.columns) } ?? [:]
    var cameraLookup: [String: UInt16] = [:]
    var cameraTable = ByteKeyTable(capacity: cameras.count)
    for (i, c) in cameras.enumerated() {
      cameraLookup[c.id] = UInt16(i)
      var id = c.id
      if let k = id.withUTF8({ ByteKeyTable.pack($0) }) { _ = cameraTable.findOrInsert(k.0, k.1, newID: Int32(i)) }
    }
    var siteIndex: [String: Int] = [:]
    let cameraSite: [Int] = cameras.map { c in
      if let s = siteIndex[c.site] { return s }
      siteIndex[c.site] = siteIndex.count
      return siteIndex.count - 1
    }

    let source = try ByteSource(path: options.readsPath)
    let fileName = source.name
    var report = IngestReport(file: fileName)
    let rejects = try options.rejectsPath.map { try RejectsWriter(path: $0) }
    let retentionCutoff: Int64? = options.retainDays.map {
      (options.asOf ?? Int64(Date().timeIntervalSince1970)) - Int64($0) * 86400
    }

    var times: [Int64] = [], cams: [UInt16] = [], plates: [Int32] = [], conf: [UInt8] = []
    var plateTable = ByteKeyTable(capacity: 1 << 16)
    var plateKeys: [PlateKey] = []
    var idx: [String: Int] = [:]
    var headerCount = 0
    var plateColumn = 0, cameraColumn = 0, timeColumn = 0
    var lastTime = Int64.min
    let reader = CSVReader(source: source)

    func reject(_ r: CSVRecord, _ reason: RejectReason) throws {
      if options.strict {
        throw IngestError.strictRejection(file: fileName, line: r.line, field: reason.field, reason: reason.description)
      }
      report.rejected += 1
      report.rejectedByReason[reason.code, default: 0] += 1
      if case .outsideRetention = reason {
        try rejects?.write(file: fileName, line: r.line, reason: reason, raw: "")
      } else {
        try rejects?.write(file: fileName, line: r.line, reason: reason, raw: r.rawString)
      }
    }

    try reader.forEachRecord { r in
      if r.line == 1 {
        let header = (0..<r.count).map(r.string)
        idx = try options.columns.resolve(
          header: header, required: ["plate", "camera_id", "timestamp"], optional: ["read_id", "confidence"],
          file: fileName)
        headerCount = r.count
        plateColumn = idx["plate"]!; cameraColumn = idx["camera_id"]!; timeColumn = idx["timestamp"]!
        return
      }
      report.read += 1
      if let progress, report.read & 0xFFFF == 0 { progress(source.position, source.sizeOnDisk, report.read) }
      if r.count == 1 && r.bytes(0).isEmpty { try reject(r, .emptyLine); return }
      guard r.count == headerCount else { try reject(r, .wrongColumnCount(expected: headerCount, found: r.count)); return }
      // plate: normalised and packed in one pass, no allocation
      var hi: UInt64 = 0, lo: UInt64 = 0, plateLength = 0
      for c in r.bytes(plateColumn) {
        var u = c
        if u >= 0x61 && u <= 0x7A { u -= 32 } else if !((u >= 0x41 && u <= 0x5A) || (u >= 0x30 && u <= 0x39)) { continue }
        if plateLength < 8 { hi |= UInt64(u) << (8 * UInt64(plateLength)) }
        else if plateLength < 16 { lo |= UInt64(u) << (8 * UInt64(plateLength - 8)) }
        plateLength += 1
      }
      if plateLength == 0 { try reject(r, .emptyPlate); return }
      if plateLength > 16 { try reject(r, .plateTooLong(plateLength)); return }
      // camera
      let camBytes = r.trimmed(cameraColumn)
      if camBytes.isEmpty { try reject(r, .missingCamera); return }
      let cam: UInt16
      if let k = ByteKeyTable.pack(camBytes), let c = cameraTable.find(k.0, k.1) { cam = UInt16(c) }
      else {
        let camName = String(decoding: camBytes, as: UTF8.self)
        guard let c = cameraLookup[camName] else { try reject(r, .unknownCamera(camName)); return }
        cam = c
      }
      // time
      let t: Int64
      switch Timestamp.parse(r.trimmed(timeColumn)) {
      case .success(let v): t = Int64(v.rounded(.down))
      case .failure(let p): try reject(r, .badTimestamp(p)); return
      }
      // confidence
      var c: UInt8 = 255
      if let ci = idx["confidence"] {
        let cb = r.trimmed(ci)
        if !cb.isEmpty {
          guard let v = parseDecimal(cb), v >= 0, v <= 100 else {
            try reject(r, .badConfidence(String(decoding: cb, as: UTF8.self))); return
          }
          c = UInt8((v <= 1 ? v * 100 : v).rounded())  // ≤ 1 is a fraction, else a percentage
        }
      }
      if let cutoff = retentionCutoff, t < cutoff {
        try reject(r, .outsideRetention(days: options.retainDays!)); return
      }
      if t < lastTime { report.outOfOrderRows += 1 }
      lastTime = max(lastTime, t)
      let (pid, inserted) = plateTable.findOrInsert(hi, lo, newID: Int32(plateKeys.count))
      if inserted { plateKeys.append(PlateKey(hi: hi, lo: lo)) }
      times.append(t); cams.append(cam); plates.append(pid); conf.append(c)
    }
    if headerCount == 0 { throw IngestError.missingColumn(file: fileName, column: "plate", header: []) }
    try rejects?.close()
    progress?(source.position, source.sizeOnDisk, report.read)

    // De-duplicate and merge misreads, in time order.
    let plateBytes = plateKeys.map(\.bytes)
    let dd = Deduplicator(
      window: options.dedupeWindow, unitOf: options.dedupeBySite ? cameraSite : Array(0..<cameras.count),
      mergeMisreads: options.mergeMisreads)
    let result = dd.run(times: times, cameras: cams, plates: &plates, plateBytes: plateBytes)
    report.exactDuplicates = result.exact
    report.misreadMerges = result.misreads
    report.duplicates = result.exact + result.misreads

    // Build the vehicle table from surviving plates, in first-seen order of the sorted reads.
    var contents = StoreContents(cameras: cameras, keyFingerprint: options.pseudonymiser?.fingerprint)
    var vehicleOf = [Int32](repeating: -1, count: plateKeys.count)
    contents.times.reserveCapacity(result.order.count)
    var nonstandard = [Bool](repeating: false, count: plateKeys.count)
    for i in result.order {
      let p = Int(plates[i])
      if vehicleOf[p] < 0 {
        vehicleOf[p] = Int32(contents.vehicles.count)
        let bytes = plateBytes[p]
        let text = String(decoding: bytes, as: UTF8.self)
        nonstandard[p] = Plate.gbFormat(bytes) == nil
        contents.vehicles.append(VehicleRecord(
          id: options.pseudonymiser?.pseudonym(bytes) ?? text, keeper: keepers[text] ?? .unknown,
          nonstandardPlate: nonstandard[p]))
      }
      if nonstandard[p] { report.nonstandardPlateReads += 1 }
      contents.times.append(times[i])
      contents.cameraIndex.append(cams[i])
      contents.vehicleIndex.append(UInt32(vehicleOf[p]))
      contents.confidence.append(conf[i])
    }
    contents.merges = result.merges.map { m in
      let name = { (p: Int32) in
        options.pseudonymiser?.pseudonym(plateBytes[Int(p)]) ?? String(decoding: plateBytes[Int(p)], as: UTF8.self)
      }
      return MisreadMerge(kept: name(m.kept), merged: name(m.merged), site: cameras[Int(m.camera)].site, time: m.time)
    }
    report.accepted = contents.times.count
    precondition(report.balances, "ingest accounting broken: \(report.summaryLine)")
    contents.ingests = [report]
    return (contents, report)
  }
}

/// Exact-repeat and misread de-duplication, by sorting rather than hashing:
/// 1. sort by (plate, unit, time): a repeat within the window of the last kept read of the same
///    plate at the same unit is adjacent to it;
/// 2. sort the survivors by (unit, time): a one-character OCR confusion within the window at the
///    same unit is among the few reads just before it; merge into the commoner spelling;
/// 3. sort the survivors by (time, camera, plate) for the store.
struct Deduplicator {
  var window: Int64
  /// Dedupe unit (site or camera) per camera index.
  var unitOf: [Int]
  var mergeMisreads: Bool

  struct Result {
    /// Indices of kept reads, sorted by (time, camera, plate).
    var order: [Int]
    var exact = 0
    var misreads = 0
    var merges: [(kept: Int32, merged: Int32, camera: UInt16, time: Int64)] = []
  }

  func run(times: [Int64], cameras: [UInt16], plates: inout [Int32], plateBytes: [[UInt8]]) -> Result {
    let n = times.count
    var result = Result(order: [])
    if n == 0 { return result }
    let t0 = times.min()!
    let span = UInt64(times.max()! - t0)
    let timeBits = UInt64(max(1, 64 - span.leadingZeroBitCount))
    let unitBits = UInt64(max(1, 64 - UInt64(unitOf.max() ?? 1).leadingZeroBitCount))
    let plateBits = UInt64(max(1, 64 - UInt64(plateBytes.count).leadingZeroBitCount))
    let cameraBits: UInt64 = 16
    // Keys must fit 64 bits; otherwise fall back to comparison sorts.
    func sortIndices(_ idx: [UInt32], key: (Int) -> UInt64, bits: UInt64, tie: (Int, Int) -> Bool) -> [UInt32] {
      if bits <= 64 {
        var keys = idx.map { key(Int($0)) }
        var payload = idx
        radixSortPairs(keys: &keys, payload: &payload)
        return payload
      }
      return idx.sorted { tie(Int($0), Int($1)) }
    }
    let all = (0..<n).map { UInt32($0) }
    // 1. exact repeats
    let byPlate = sortIndices(all, key: { i in
      (UInt64(plates[i]) << (unitBits + timeBits)) | (UInt64(unitOf[Int(cameras[i])]) << timeBits) | UInt64(times[i] - t0)
    }, bits: plateBits + unitBits + timeBits, tie: { a, b in
      (plates[a], unitOf[Int(cameras[a])], times[a], a) < (plates[b], unitOf[Int(cameras[b])], times[b], b)
    })
    var keep: [UInt32] = []
    keep.reserveCapacity(n)
    var lastPlate: Int32 = -1, lastUnit = -1, lastKept: Int64 = 0
    for r in byPlate {
      let i = Int(r)
      let p = plates[i], u = unitOf[Int(cameras[i])], t = times[i]
      if p == lastPlate && u == lastUnit && t - lastKept <= window { result.exact += 1; continue }
      lastPlate = p; lastUnit = u; lastKept = t
      keep.append(r)
    }
    // 2. misreads
    if mergeMisreads {
      var frequency = [Int](repeating: 0, count: plateBytes.count)
      for p in plates { frequency[Int(p)] += 1 }
      let byUnit = sortIndices(keep, key: { i in
        (UInt64(unitOf[Int(cameras[i])]) << timeBits) | UInt64(times[i] - t0)
      }, bits: unitBits + timeBits, tie: { a, b in (unitOf[Int(cameras[a])], times[a], a) < (unitOf[Int(cameras[b])], times[b], b) })
      var dropped = [Bool](repeating: false, count: n)
      for (k, r) in byUnit.enumerated() {
        let i = Int(r)
        let u = unitOf[Int(cameras[i])], t = times[i]
        var j = k - 1
        while j >= 0 {
          let q = Int(byUnit[j])
          if unitOf[Int(cameras[q])] != u || t - times[q] > window { break }
          if !dropped[q] && plates[q] != plates[i]
            && Plate.isLikelyMisread(plateBytes[Int(plates[q])], plateBytes[Int(plates[i])]) {
            let a = plates[q], b = plates[i]
            let (winner, loser) = frequency[Int(a)] >= frequency[Int(b)] ? (a, b) : (b, a)
            plates[q] = winner
            dropped[i] = true
            result.merges.append((winner, loser, cameras[i], t))
            result.misreads += 1
            break
          }
          j -= 1
        }
      }
      keep = keep.filter { !dropped[Int($0)] }
    }
    // 3. store order
    let final = sortIndices(keep, key: { i in
      (UInt64(times[i] - t0) << (cameraBits + plateBits)) | (UInt64(cameras[i]) << plateBits) | UInt64(plates[i])
    }, bits: timeBits + cameraBits + plateBits, tie: { a, b in (times[a], cameras[a], plates[a], a) < (times[b], cameras[b], plates[b], b) })
    result.order = final.map(Int.init)
    return result
  }
}

/// Parses a plain decimal (`95`, `0.93`, `.5`) without Foundation; nil for anything else.
@inlinable func parseDecimal(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
  var v = 0.0, i = 0, any = false
  while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { v = v * 10 + Double(b[i] - 0x30); i += 1; any = true }
  if i < b.count, b[i] == 0x2E {
    i += 1
    var scale = 0.1
    while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { v += Double(b[i] - 0x30) * scale; scale *= 0.1; i += 1; any = true }
  }
  return any && i == b.count ? v : nil
}

/// Writes rejected rows as CSV (`file,line,field,reason,raw`), atomically on close.
final class RejectsWriter {
  private let path: String
  private let tmp: String
  private let handle: FileHandle
  private var buffer = Data()

  init(path: String) throws(IngestError) {
    self.path = path
    tmp = path + ".tmp-\(getpid())"
    guard FileManager.default.createFile(atPath: tmp, contents: nil), let h = FileHandle(forWritingAtPath: tmp) else {
      throw .cannotWrite(file: path, reason: "cannot create file")
    }
    handle = h
    buffer.append(contentsOf: Array("file,line,field,reason,raw\n".utf8))
  }

  func write(file: String, line: Int, reason: RejectReason, raw: String) throws {
    let row = [csvQuote(file), "\(line)", reason.field, csvQuote(reason.description), csvQuote(raw)].joined(separator: ",")
    buffer.append(contentsOf: Array((row + "\n").utf8))
    if buffer.count > 1 << 20 { handle.write(buffer); buffer.removeAll(keepingCapacity: true) }
  }

  func close() throws {
    handle.write(buffer)
    try handle.close()
    if rename(tmp, path) != 0 { throw IngestError.cannotWrite(file: path, reason: String(cString: strerror(errno))) }
  }
}

/// Quotes a CSV field when it holds a comma, quote or line break.
public func csvQuote(_ s: String) -> String {
  if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
  return s
}
