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
    for (i, c) in cameras.enumerated() { cameraLookup[c.id] = UInt16(i) }
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
    var plateIDs: [PlateKey: Int32] = [:]
    var plateKeys: [PlateKey] = []
    var idx: [String: Int] = [:]
    var headerCount = 0
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
        return
      }
      report.read += 1
      if let progress, report.read & 0xFFFF == 0 { progress(source.position, source.sizeOnDisk, report.read) }
      if r.count == 1 && r.bytes(0).isEmpty { try reject(r, .emptyLine); return }
      guard r.count == headerCount else { try reject(r, .wrongColumnCount(expected: headerCount, found: r.count)); return }
      // plate
      guard let plate = Plate.normalise(r.bytes(idx["plate"]!)) else { try reject(r, .emptyPlate); return }
      guard let key = PlateKey(plate) else { try reject(r, .plateTooLong(plate.count)); return }
      // camera
      let camBytes = r.trimmed(idx["camera_id"]!)
      if camBytes.isEmpty { try reject(r, .missingCamera); return }
      let camName = String(decoding: camBytes, as: UTF8.self)
      guard let cam = cameraLookup[camName] else { try reject(r, .unknownCamera(camName)); return }
      // time
      let t: Int64
      switch Timestamp.parse(r.trimmed(idx["timestamp"]!)) {
      case .success(let v): t = Int64(v.rounded(.down))
      case .failure(let p): try reject(r, .badTimestamp(p)); return
      }
      // confidence
      var c: UInt8 = 255
      if let ci = idx["confidence"] {
        let cb = r.trimmed(ci)
        if !cb.isEmpty {
          let s = String(decoding: cb, as: UTF8.self)
          guard let v = Double(s), v >= 0, v <= 100 else { try reject(r, .badConfidence(s)); return }
          c = UInt8((v <= 1 ? v * 100 : v).rounded())  // ≤ 1 is a fraction, else a percentage
        }
      }
      if let cutoff = retentionCutoff, t < cutoff {
        try reject(r, .outsideRetention(days: options.retainDays!)); return
      }
      if t < lastTime { report.outOfOrderRows += 1 }
      lastTime = max(lastTime, t)
      let pid: Int32
      if let p = plateIDs[key] { pid = p } else {
        pid = Int32(plateKeys.count); plateIDs[key] = pid; plateKeys.append(key)
      }
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
    for i in result.order {
      let p = Int(plates[i])
      if vehicleOf[p] < 0 {
        vehicleOf[p] = Int32(contents.vehicles.count)
        let bytes = plateBytes[p]
        let text = String(decoding: bytes, as: UTF8.self)
        contents.vehicles.append(VehicleRecord(
          id: options.pseudonymiser?.pseudonym(bytes) ?? text, keeper: keepers[text] ?? .unknown,
          nonstandardPlate: Plate.gbFormat(bytes) == nil))
      }
      if contents.vehicles[Int(vehicleOf[p])].nonstandardPlate { report.nonstandardPlateReads += 1 }
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

/// Exact-repeat and misread de-duplication over reads in time order.
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
    var order = Array(0..<n)
    order.sort { a, b in
      if times[a] != times[b] { return times[a] < times[b] }
      if cameras[a] != cameras[b] { return cameras[a] < cameras[b] }
      if plates[a] != plates[b] { return plates[a] < plates[b] }
      return a < b
    }
    var frequency = [Int](repeating: 0, count: plateBytes.count)
    for p in plates { frequency[Int(p)] += 1 }
    var lastKept: [Int64: Int64] = [:]  // (plate, unit) → time of last kept read
    lastKept.reserveCapacity(min(n, 1 << 22))
    var recent: [[Int]] = Array(repeating: [], count: (unitOf.max() ?? 0) + 1)  // kept reads per unit within window
    var kept: [Int] = []
    kept.reserveCapacity(n)
    var result = Result(order: [])
    for i in order {
      let t = times[i], u = unitOf[Int(cameras[i])], p = plates[i]
      let key = Int64(p) << 20 | Int64(u)
      if let last = lastKept[key], t - last <= window { result.exact += 1; continue }
      if mergeMisreads {
        var list = recent[u]
        list.removeAll { times[$0] < t - window }
        var merged = false
        for j in list where plates[j] != p && Plate.isLikelyMisread(plateBytes[Int(plates[j])], plateBytes[Int(p)]) {
          let a = plates[j], b = p
          let (winner, loser) = frequency[Int(a)] >= frequency[Int(b)] ? (a, b) : (b, a)
          plates[j] = winner
          lastKept[Int64(winner) << 20 | Int64(u)] = times[j]
          result.merges.append((winner, loser, cameras[i], t))
          result.misreads += 1
          merged = true
          break
        }
        if merged { recent[u] = list; continue }
        list.append(i)
        recent[u] = list
      }
      lastKept[key] = t
      kept.append(i)
    }
    result.order = kept
    return result
  }
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
