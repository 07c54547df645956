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
  /// Later than a day after the reference time (now, or `--as-of`), or before 1990: no camera read it.
  case implausibleTime

  /// The column the reason is about (`-` for whole-row reasons).
  public var field: String {
    switch self {
    case .emptyLine, .wrongColumnCount: return "-"
    case .emptyPlate, .plateTooLong: return "plate"
    case .missingCamera, .unknownCamera: return "camera_id"
    case .badTimestamp, .outsideRetention, .implausibleTime: return "timestamp"
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
      case .nonexistentLocalTime: return "nonexistent_local_time"
      case .ambiguousLocalTime: return "ambiguous_local_time"
      }
    case .badConfidence: return "bad_confidence"
    case .outsideRetention: return "outside_retention"
    case .implausibleTime: return "implausible_timestamp"
    }
  }

  /// What the user can do about rows rejected for a reason with this code.
  public static func hint(code: String) -> String {
    switch code {
    case "timestamp_without_zone": return "pass --timezone ZONE (the zone of the export's clock, e.g. Europe/London; UTC if it is UTC)"
    case "bad_timestamp": return "pass --time-format PATTERN (e.g. '%d/%m/%Y %H:%M:%S', or epoch / epoch-ms)"
    case "nonexistent_local_time": return "check --timezone: these local times never happened in that zone"
    case "ambiguous_local_time": return "pass --ambiguous first (summer time) or --ambiguous second (winter time)"
    case "unknown_camera": return "check --cameras lists the export's camera ids (or map the column with --columns camera_id=NAME)"
    case "wrong_column_count": return "check the export's delimiter and quoting (ANPRKit reads comma-separated RFC 4180 CSV)"
    case "empty_plate", "plate_too_long": return "check the plate column (map it with --columns plate=NAME)"
    case "missing_camera": return "check the camera column (map it with --columns camera_id=NAME)"
    case "missing_timestamp": return "check the time column (map it with --columns timestamp=NAME)"
    case "bad_confidence": return "check the confidence column (0–1 or 0–100; map it with --columns confidence=NAME)"
    case "outside_retention": return "check --retain-days and --as-of"
    case "implausible_timestamp": return "check the export's clock; for data dated after today pass --as-of"
    default: return "see the rejects file (--rejects FILE)"
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
    case .implausibleTime: return "time more than a day after the reference time (now, or --as-of) or before 1990: a clock or export error"
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
  /// How the timestamps were read (format, zone of local times), and whether the format was detected.
  public var timeReading: String?
  public var timeFormatDetected: Bool?
  /// The gzip export stopped before its end and the rows read were kept (`--allow-truncated`).
  public var truncatedInput: Bool?
  /// Up to three rejected lines per reason code, with the offending value (never a plate).
  public var rejectExamples: [String: [RejectExample]]?

  /// The most common rejection reason (ties by code), if any, leaving out the codes in `excluding`.
  public func topRejection(excluding: Set<String> = []) -> (code: String, count: Int)? {
    rejectedByReason.filter { !excluding.contains($0.key) }.max { ($0.value, $1.key) < ($1.value, $0.key) }.map { ($0.key, $0.value) }
  }

  public init(file: String) { self.file = file }

  /// `true` when the accounting identity holds.
  public var balances: Bool { read == accepted + rejected + duplicates }

  /// `read N, accepted A, rejected R, duplicates D`.
  public var summaryLine: String {
    "read \(read), accepted \(accepted), rejected \(rejected), duplicates \(duplicates)"
  }
}

/// A rejected line to show as an example: its line and the value that failed (nil where the value
/// is a plate or the whole row).
public struct RejectExample: Codable, Sendable, Equatable {
  public var line: Int
  public var value: String?
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
  /// Keep each vehicle's plate beside its pseudonym (`StoreContents.platesForVault`) for the vault.
  public var platesForVault = false
  /// Drop reads older than this many days before `asOf`.
  public var retainDays: Int?
  /// Reference time for retention (default: now).
  public var asOf: Int64?
  /// Threads for parsing a plain (uncompressed) file in byte ranges; nil = one per core.
  public var parseThreads: Int?
  /// Files smaller than this are parsed in one pass (`ANPR_PARALLEL_MIN_BYTES` sets it, e.g. to test the
  /// parallel parser on a small file; default 16 MiB).
  public var parallelMinimumBytes: Int64 = ProcessInfo.processInfo.environment["ANPR_PARALLEL_MIN_BYTES"].flatMap { Int64($0) }.map { max(1, $0) } ?? 16 << 20
  /// How the timestamp column is written; nil = work it out from the first rows (reported).
  public var timeFormat: TimeReading.Format?
  /// IANA zone of zone-less (local) times; nil = every time must carry its zone.
  public var timeZone: String?
  /// A local time in the repeated autumn hour: earlier, later, or reject the row.
  public var ambiguousTime: TimeReading.Ambiguity = .reject
  /// More than this fraction of rows rejected fails the ingest (nothing is stored); 1 = never.
  public var maxRejectRate = 0.5
  /// Reference system of the camera registry's coordinates (nil or EPSG:4326: latitude/longitude;
  /// otherwise easting/northing, e.g. EPSG:27700 British National Grid).
  public var camerasCRS: String?
  /// Keep the rows of a gzip export that stops before its end (reported), instead of failing.
  public var allowTruncated = false

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

extension StoreContents {
  /// For reads already in time order: sorts each run of equal times by (camera, vehicle) (insertion
  /// sort; runs are a few reads), so the contents are in store order.
  mutating func sortTiesByCameraAndVehicle() {
    let n = times.count
    guard n > 1 else { return }
    times.withUnsafeMutableBufferPointer { t in
      cameraIndex.withUnsafeMutableBufferPointer { c in
        vehicleIndex.withUnsafeMutableBufferPointer { v in
          confidence.withUnsafeMutableBufferPointer { f in
            for i in 1..<n where t[i] == t[i - 1] && (c[i], v[i]) < (c[i - 1], v[i - 1]) {
              var j = i
              let (ci, vi, fi) = (c[i], v[i], f[i])
              while j > 0 && t[j - 1] == t[i] && (c[j - 1], v[j - 1]) > (ci, vi) { c[j] = c[j - 1]; v[j] = v[j - 1]; f[j] = f[j - 1]; j -= 1 }
              c[j] = ci; v[j] = vi; f[j] = fi
            }
          }
        }
      }
    }
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
  /// The audit log's place and the access policy (kept by append, compaction and purge).
  public var governance: StoreGovernance?
  /// Each vehicle's pseudonym and normalised plate, for the plate vault: filled by ingest only when
  /// `IngestOptions.platesForVault` is set, and never written to a store.
  public var platesForVault: [(pseudonym: String, plate: String)]?

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
  public static func run(_ options: IngestOptions, progress: Progress? = nil,
                         notice: ((String) -> Void)? = nil) throws -> (StoreContents, IngestReport) {
    let phases = PhaseTimer()
    let cameras = try loadCameras(path: options.camerasPath, columns: options.columns, crs: options.camerasCRS)
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

    let fileName = options.readsPath == "-" ? "<stdin>" : options.readsPath
    phases.mark("registries")
    var report = IngestReport(file: fileName)
    let rejects = try options.rejectsPath.map { try RejectsWriter(path: $0) }
    let retentionCutoff: Int64? = options.retainDays.map {
      (options.asOf ?? Int64(Date().timeIntervalSince1970)) - Int64($0) * 86400
    }
    // Standard input can be read once: its first bytes are peeked for the time format and then parsed.
    let stream = options.readsPath == "-" ? try ByteSource(path: "-") : nil
    let peekSource = try stream ?? ByteSource(path: options.readsPath)
    peekSource.allowTruncated = options.allowTruncated
    let reading = try timeReading(options, fileName: fileName, start: try peekSource.peek(1 << 20), notice: notice)
    report.timeReading = reading.description
    report.timeFormatDetected = options.timeFormat == nil
    let timeReader: TimeReader
    do { timeReader = try reading.reader() } catch { throw IngestError.badTimeSettings("--timezone: \(error)") }
    var context = RowParser.Context(fileName: fileName, columns: options.columns, cameraTable: cameraTable,
                                    cameraLookup: cameraLookup, retentionCutoff: retentionCutoff, retainDays: options.retainDays,
                                    timeReader: timeReader)
    context.plausibleTimes = 631_152_000...((options.asOf ?? Int64(Date().timeIntervalSince1970)) + 86400)  // 1990-01-01 … a day ahead
    var examples: [String: [RejectExample]] = [:]
    func writeRejects(_ parser: inout RowParser, lineOffset: Int) throws {
      for (code, list) in parser.examples {
        for e in list where examples[code, default: []].count < 3 {
          examples[code, default: []].append(RejectExample(line: e.line + lineOffset, value: e.value))
        }
      }
      parser.examples.removeAll()
      for r in parser.pendingRejects {
        if options.strict {
          throw IngestError.strictRejection(file: fileName, line: r.line + lineOffset, field: r.reason.field, reason: r.reason.description)
        }
        try rejects?.write(file: fileName, line: r.line + lineOffset, reason: r.reason, raw: r.raw)
      }
      parser.pendingRejects.removeAll(keepingCapacity: true)
    }

    // Parse: in parallel over byte ranges of a plain file when it is large and not --strict (rejects
    // are collected per range and written in file order), else one streaming pass.
    var parsers: [RowParser] = []
    let workers = options.parseThreads ?? workerThreads
    if !options.strict, workers > 1, let size = ByteSource.plainFileSize(options.readsPath), size >= options.parallelMinimumBytes,
       let header = try RowParser.readHeader(path: options.readsPath, context: context) {
      parsers = try parseInParallel(path: options.readsPath, size: size, workers: workers, header: header, context: context, progress: progress)
    }
    if parsers.isEmpty {
      let source = try stream ?? ByteSource(path: options.readsPath)
      source.allowTruncated = options.allowTruncated
      var parser = RowParser(context: context, header: nil)
      try CSVReader(source: source).forEachRecord { r in
        try parser.row(r)
        if !parser.pendingRejects.isEmpty { try writeRejects(&parser, lineOffset: 0) }
        if let progress, parser.read & 0xFFFF == 0 { progress(source.position, source.sizeOnDisk, parser.read) }
      }
      progress?(source.position, source.sizeOnDisk, parser.read)
      if source.truncated { report.truncatedInput = true }
      parsers = [parser]
    } else {
      var offset = 0
      for k in parsers.indices {
        try writeRejects(&parsers[k], lineOffset: offset)
        offset += parsers[k].lines
      }
    }
    guard let headerCount = parsers.first?.headerCount, headerCount > 0 else {
      throw IngestError.corruptInput(file: fileName, reason: "the file is empty (no header row, no data)")
    }
    try rejects?.close()

    phases.mark("parse")
    // Concatenate the ranges' rows, mapping each range's plate ids into one table. The first range's
    // columns are taken over as they are (its plate ids are the table's first ids), the others appended.
    var plateTable = ByteKeyTable(capacity: 1 << 16)
    var plateKeys: [PlateKey] = []
    let rows = parsers.reduce(0) { $0 + $1.times.count }
    var times: [Int64] = [], cams: [UInt16] = [], plates: [Int32] = [], conf: [UInt8] = []
    swap(&times, &parsers[0].times); swap(&cams, &parsers[0].cams); swap(&plates, &parsers[0].plates); swap(&conf, &parsers[0].conf)
    times.reserveCapacity(rows); cams.reserveCapacity(rows); plates.reserveCapacity(rows); conf.reserveCapacity(rows)
    for k in parsers.indices {
      let local = parsers[k].plateKeys.map { key in
        let (id, inserted) = plateTable.findOrInsert(key.hi, key.lo, newID: Int32(plateKeys.count))
        if inserted { plateKeys.append(key) }
        return id
      }
      if k > 0 {
        times += parsers[k].times; cams += parsers[k].cams; conf += parsers[k].conf
        plates += parsers[k].plates.lazy.map { local[Int($0)] }
      }
      report.read += parsers[k].read
      report.rejected += parsers[k].rejected
      for (c, n) in parsers[k].rejectedByReason { report.rejectedByReason[c, default: 0] += n }
      parsers[k].release()
    }
    var latest = Int64.min
    for t in times { if t < latest { report.outOfOrderRows += 1 } else { latest = t } }
    report.rejectExamples = examples.isEmpty ? nil : examples
    // An outcome that lost most of the data is a failure, not a store: the rejects file has the rows.
    if report.read == 0 { throw IngestError.noRows(file: fileName) }
    // Rows past retention are dropped on purpose (the user asked), not lost: they do not count here.
    let retention = RejectReason.outsideRetention(days: 0).code
    let failed = report.rejected - (report.rejectedByReason[retention] ?? 0)
    if failed > 0, let top = report.topRejection(excluding: [retention]),
       failed == report.read || Double(failed) > options.maxRejectRate * Double(report.read) {
      throw IngestError.tooManyRejected(
        file: fileName, summary: "read \(report.read), rejected \(report.rejected)",
        allowed: failed == report.read ? nil : options.maxRejectRate, code: top.code, count: top.count,
        examples: examples[top.code] ?? [])
    }

    phases.mark("concatenate")
    // De-duplicate and merge misreads, in time order.
    let dd = Deduplicator(
      window: options.dedupeWindow, unitOf: options.dedupeBySite ? cameraSite : Array(0..<cameras.count),
      mergeMisreads: options.mergeMisreads)
    let result = dd.run(times: times, cameras: cams, plates: &plates, plateKeys: plateKeys)
    report.exactDuplicates = result.exact
    report.misreadMerges = result.misreads
    report.duplicates = result.exact + result.misreads
    phases.mark("dedupe")

    // Build the vehicle table from surviving plates, in first-seen order of the sorted reads;
    // pseudonyms (one HMAC per vehicle) computed on all cores.
    var contents = StoreContents(cameras: cameras, keyFingerprint: options.pseudonymiser?.fingerprint)
    var vehicleOf = [Int32](repeating: -1, count: plateKeys.count)
    var vehiclePlates: [Int] = []
    let kept = result.order.count
    contents.times = [Int64](repeating: 0, count: kept)
    contents.cameraIndex = [UInt16](repeating: 0, count: kept)
    contents.vehicleIndex = [UInt32](repeating: 0, count: kept)
    contents.confidence = [UInt8](repeating: 0, count: kept)
    contents.times.withUnsafeMutableBufferPointer { ot in
      contents.cameraIndex.withUnsafeMutableBufferPointer { oc in
        contents.vehicleIndex.withUnsafeMutableBufferPointer { ov in
          contents.confidence.withUnsafeMutableBufferPointer { of in
            for (k, r) in result.order.enumerated() {
              let i = Int(r)
              let p = Int(plates[i])
              if vehicleOf[p] < 0 { vehicleOf[p] = Int32(vehiclePlates.count); vehiclePlates.append(p) }
              ot[k] = times[i]; oc[k] = cams[i]; ov[k] = UInt32(vehicleOf[p]); of[k] = conf[i]
            }
          }
        }
      }
    }
    contents.sortTiesByCameraAndVehicle()
    let pseudonymiser = options.pseudonymiser
    let keys = vehiclePlates.map { plateKeys[$0] }
    contents.vehicles = concurrentMap(keys.count) { v in
      let bytes = keys[v].bytes
      let text = String(decoding: bytes, as: UTF8.self)
      return VehicleRecord(id: pseudonymiser?.pseudonym(bytes) ?? text, keeper: keepers[text] ?? .unknown,
                           nonstandardPlate: Plate.gbFormat(bytes) == nil)
    }
    if options.platesForVault, pseudonymiser != nil {
      contents.platesForVault = zip(contents.vehicles, keys).map { ($0.id, String(decoding: $1.bytes, as: UTF8.self)) }
    }
    let nonstandard = contents.vehicles.map(\.nonstandardPlate)
    for v in contents.vehicleIndex where nonstandard[Int(v)] { report.nonstandardPlateReads += 1 }
    contents.merges = result.merges.map { m in
      let name = { (p: Int32) in
        options.pseudonymiser?.pseudonym(plateKeys[Int(p)].bytes) ?? String(decoding: plateKeys[Int(p)].bytes, as: UTF8.self)
      }
      return MisreadMerge(kept: name(m.kept), merged: name(m.merged), site: cameras[Int(m.camera)].site, time: m.time)
    }
    report.accepted = contents.times.count
    phases.mark("vehicles")
    precondition(report.balances, "ingest accounting broken: \(report.summaryLine)")
    contents.ingests = [report]
    return (contents, report)
  }
}

extension Ingest {
  /// The time settings for an export: as given, or the format detected from the timestamp column of
  /// its first bytes (`start`). Fails before any row is read when the times need a zone and none was
  /// given, or when the format cannot be told (unknown, or day-first and month-first both fit).
  static func timeReading(_ options: IngestOptions, fileName: String, start: [UInt8],
                          notice: ((String) -> Void)?) throws -> TimeReading {
    if let z = options.timeZone, TimeZone(identifier: z) == nil {
      throw IngestError.badTimeSettings("--timezone: unknown time zone '\(z)' (use an IANA name such as Europe/London, or UTC)")
    }
    var reading = TimeReading(format: options.timeFormat ?? .iso8601, zone: options.timeZone, ambiguous: options.ambiguousTime)
    let samples = sampleTimes(start, options: options, fileName: fileName)
    if options.timeFormat == nil {
      let d = TimeFormatDetection.detect(samples)
      if d.sampled == 0 { return reading }
      guard let detected = d.format else { throw IngestError.unknownTimeFormat(file: fileName, example: d.example) }
      var chosen = detected
      var tieNote = ""
      if let other = d.alsoFits {
        // Every date sampled has day and month ≤ 12. With a zone, follow its region's convention (the
        // ingest then fails on the reject rate if that was wrong and the export reaches a 13th);
        // without one, ask.
        guard let zone = options.timeZone, let conventional = TimeFormatDetection.conventional(detected, other, zone: zone) else {
          throw IngestError.ambiguousTimeFormat(file: fileName, example: d.example, first: detected.description, second: other.description)
        }
        chosen = conventional
        tieNote = "; day and month were both ≤ 12 in every row looked at, so \(conventional.description) was taken as usual in \(zone) (say --time-format to choose)"
      }
      reading.format = chosen
      let f = chosen
      // Mostly zone-less: a fatal error now, not a rejection per row (a stray zone-less row is rejected alone).
      if d.zoneless * 2 > d.parsed && options.timeZone == nil {
        throw IngestError.noTimeZone(file: fileName, example: d.example, zoneless: d.zoneless, sampled: d.sampled)
      }
      if chosen != .iso8601 || d.zoneless > 0 || !tieNote.isEmpty { notice?("timestamps: \(f.description) (detected from \(d.sampled) rows, e.g. '\(d.example ?? "")')"
        + (options.timeZone.map { "; zone-less times read as local time in \($0)" } ?? "") + tieNote) }
    } else if !reading.format.carriesZone && options.timeZone == nil {
      throw IngestError.noTimeZone(file: fileName, example: samples.first, zoneless: samples.count, sampled: samples.count)
    }
    return reading
  }

  /// Timestamp fields sampled from an export: up to 1,000 from its first bytes (`start`, which hold the
  /// header) and, for a plain file, up to 500 from each of four later points (a day-first date is told
  /// from a month-first one only by a day after the 12th, which a sorted export reaches later).
  static func sampleTimes(_ start: [UInt8], options: IngestOptions, fileName: String) -> [String] {
    let context = RowParser.Context(fileName: fileName, columns: options.columns, cameraTable: ByteKeyTable(capacity: 1),
                                    cameraLookup: [:], retentionCutoff: nil, retainDays: nil,
                                    timeReader: try! TimeReader(TimeReading()))
    var header: RowParser.Header?
    var samples = sampleTimes(chunk: start, whole: start.count < 1 << 20, limit: 1000, header: &header, context: context)
    if let h = header, let size = ByteSource.plainFileSize(options.readsPath), size > 1 << 20 {
      let fd = open(options.readsPath, O_RDONLY)
      if fd >= 0 {
        defer { close(fd) }
        for k in 1...4 {
          var chunk = [UInt8](repeating: 0, count: 1 << 17)
          let at = size * Int64(k) / 5
          let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off_t(at)) }
          guard n > 0, let nl = chunk[0..<n].firstIndex(of: 0x0A) else { continue }
          var known: RowParser.Header? = h
          samples += sampleTimes(chunk: Array(chunk[(nl + 1)..<n]), whole: false, limit: 500, header: &known, context: context)
        }
      }
    }
    return samples.filter { !$0.isEmpty }
  }

  /// Timestamp fields of the records in `chunk` (the header first when `header` is nil); the last
  /// record is dropped unless the chunk is the whole file (it may be cut).
  private static func sampleTimes(chunk: [UInt8], whole: Bool, limit: Int, header: inout RowParser.Header?,
                                  context: RowParser.Context) -> [String] {
    struct Enough: Error {}
    var samples: [String] = []
    var lastLine: String?
    var h = header
    do {
      try CSVReader(source: ByteSource(bytes: chunk, name: context.fileName)).forEachRecord { r in
        guard let known = h else { h = try RowParser.resolveHeader(r, context: context); return }
        if let lastLine { samples.append(lastLine) }
        lastLine = r.count == known.count ? String(decoding: r.trimmed(known.time), as: UTF8.self) : nil
        if samples.count >= limit { throw Enough() }
      }
      if let lastLine, whole { samples.append(lastLine) }
    } catch {}
    header = h
    return samples
  }
}

/// Exact-repeat and misread de-duplication in one pass over the reads in time order (ties in file
/// order; a radix sort only when the export is not already in time order). Each dedupe unit (site or
/// camera) keeps the reads it kept within the last `window` seconds, so every decision looks only at a
/// handful of recent reads:
/// 1. a read whose plate the unit kept within the window is an exact repeat;
/// 2. otherwise, a kept read at the unit within the window whose plate differs by one commonly
///    confused character is the same vehicle misread: the pair is merged into the spelling seen more
///    often overall (both spellings recorded) and the later read is dropped.
struct Deduplicator {
  var window: Int64
  /// Dedupe unit (site or camera) per camera index.
  var unitOf: [Int]
  var mergeMisreads: Bool

  struct Result {
    /// Indices of kept reads, sorted by time, ties in file order.
    var order: [UInt32]
    var exact = 0
    var misreads = 0
    var merges: [(kept: Int32, merged: Int32, camera: UInt16, time: Int64)] = []
  }

  func run(times: [Int64], cameras: [UInt16], plates: inout [Int32], plateKeys: [PlateKey],
           threads: Int = workerThreads) -> Result {
    let n = times.count
    var result = Result(order: [])
    if n == 0 { return result }
    let t0 = times.min()!
    // Time order, ties in file order: exports are usually already in time order (then no sort at all);
    // otherwise a stable radix sort on the time offset.
    var sorted = (0..<n).map { UInt32($0) }
    var inOrder = true
    times.withUnsafeBufferPointer { t in for i in 1..<max(1, n) where t[i] < t[i - 1] { inOrder = false; break } }
    if !inOrder {
      var keys = times.map { UInt64($0 - t0) }
      radixSortPairs(keys: &keys, payload: &sorted)
    }
    let order = sorted
    let counts: [Int32] = plates.reduce(into: [Int32](repeating: 0, count: plateKeys.count)) { $0[Int($1)] += 1 }
    let units = (unitOf.max() ?? 0) + 1
    // Units are independent: each thread takes the units u with u % groups == g. Per-read flags and
    // the plate column are written only by the thread owning the read's unit.
    let groups = max(1, min(threads, units))
    let groupOf = (0..<units).map { $0 % groups }
    let dropped = UnsafeMutableBufferPointer<Bool>.allocate(capacity: n)
    dropped.initialize(repeating: false)
    defer { dropped.deallocate() }
    struct Part { var exact = 0; var merges: [(position: Int, kept: Int32, merged: Int32, camera: UInt16, time: Int64)] = [] }
    let parts = ParallelSlots<Part>(count: groups)
    let unitOf = self.unitOf, window = self.window, mergeMisreads = self.mergeMisreads
    plates.withUnsafeMutableBufferPointer { plateColumn in
      let plateColumn = UncheckedSendable(plateColumn), flags = UncheckedSendable(dropped)
      DispatchQueue.concurrentPerform(iterations: groups) { g in
        let plates = plateColumn.value, dropped = flags.value
        var part = Part()
        // Per unit: a ring of the reads kept by step 1 within the window (oldest first), holding what the
        // decisions need (time, plates, flags) so the scan stays in cache; all rings in one pool, a full
        // ring moving to a region twice its size at the end of the pool.
        struct Entry { var time: Int64; var key: PlateKey; var index: UInt32; var plate: Int32; var original: Int32; var dropped: Bool }
        let empty = Entry(time: 0, key: PlateKey(hi: 0, lo: 0), index: 0, plate: 0, original: 0, dropped: false)
        var ringStart = [Int](repeating: 0, count: units), ringMask = [Int](repeating: 7, count: units)
        var ringHead = [Int](repeating: 0, count: units), ringTail = [Int](repeating: 0, count: units)
        for u in 0..<units { ringStart[u] = u * 8 }
        var pool = [Entry](repeating: empty, count: units * 8)
        Plate.confusable.withUnsafeBufferPointer { confusable in
          for (k, r) in order.enumerated() {
            let i = Int(r)
            let u = unitOf[Int(cameras[i])]
            if groupOf[u] != g { continue }
            // plates[i] is still the read's own spelling: merges only rewrite reads already handled.
            let t = times[i], p = plates[i]
            let start = ringStart[u], mask = ringMask[u], tail = ringTail[u]
            // Forget reads older than the window.
            var h = ringHead[u]
            while h < tail && t - pool[start + (h & mask)].time > window { h += 1 }
            ringHead[u] = h
            // One scan, most recent first: (1) an exact repeat of a plate this unit kept within the window
            // drops the read; otherwise (2) the most recent kept read whose plate is a likely misread of
            // this one is merged with it.
            let keyI = plateKeys[Int(p)]
            var repeatRead = false
            var candidate = -1
            var j = tail - 1
            while j >= h {
              let e = pool[start + (j & mask)]
              if e.original == p { repeatRead = true; break }
              if candidate < 0 && mergeMisreads && !e.dropped && e.plate != p && Plate.isLikelyMisread(e.key, keyI, confusable: confusable) {
                candidate = j
              }
              j -= 1
            }
            if repeatRead { part.exact += 1; dropped[i] = true; continue }
            var droppedHere = false
            if candidate >= 0 {
              let slot = start + (candidate & mask)
              let e = pool[slot]
              let (winner, loser) = counts[Int(e.plate)] >= counts[Int(p)] ? (e.plate, p) : (p, e.plate)
              plates[Int(e.index)] = winner
              pool[slot].plate = winner
              pool[slot].key = plateKeys[Int(winner)]
              dropped[i] = true; droppedHere = true
              part.merges.append((k, winner, loser, cameras[i], t))
            }
            // Keep it in the unit's ring (step 1 kept it, even if step 2 merged it).
            if tail - h > mask {
              let newStart = pool.count, newMask = mask * 2 + 1
              pool += [Entry](repeating: empty, count: newMask + 1)
              for j in h..<tail { pool[newStart + ((j - h) & newMask)] = pool[start + (j & mask)] }
              ringStart[u] = newStart; ringMask[u] = newMask; ringHead[u] = 0; ringTail[u] = tail - h
            }
            pool[ringStart[u] + (ringTail[u] & ringMask[u])] =
              Entry(time: t, key: keyI, index: r, plate: p, original: p, dropped: droppedHere)
            ringTail[u] += 1
          }
        }
        parts.set(g, part)
      }
    }
    var merges: [(position: Int, kept: Int32, merged: Int32, camera: UInt16, time: Int64)] = []
    for g in 0..<groups { let part = parts.get(g)!; result.exact += part.exact; merges += part.merges }
    merges.sort { $0.position < $1.position }
    result.merges = merges.map { ($0.kept, $0.merged, $0.camera, $0.time) }
    result.misreads = merges.count
    // A read merged into a later misread keeps the winning spelling: `plates` was updated in place.
    result.order = [UInt32](unsafeUninitializedCapacity: n - result.exact - result.misreads) { out, count in
      count = 0
      for r in sorted where !dropped[Int(r)] { out[count] = r; count += 1 }
    }
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

/// Writes rejected rows as CSV (`file,line,field,reason,raw`), atomically on close. The file holds raw
/// rows (plates), so it is created 0600.
final class RejectsWriter {
  private let file: OutputFile
  private var buffer = Data()

  init(path: String) throws(IngestError) {
    file = try OutputFile(path: path, permissions: 0o600)
    buffer.append(contentsOf: Array("file,line,field,reason,raw\n".utf8))
  }

  func write(file name: String, line: Int, reason: RejectReason, raw: String) throws {
    let row = [csvQuote(name), "\(line)", reason.field, csvQuote(reason.description), csvQuote(raw)].joined(separator: ",")
    buffer.append(contentsOf: Array((row + "\n").utf8))
    if buffer.count > 1 << 20 { try file.write(buffer); buffer.removeAll(keepingCapacity: true) }
  }

  func close() throws {
    try file.write(buffer)
    try file.commit()
  }
}

/// Wall time per ingest phase, printed to standard error when `ANPR_TIMINGS` is set (for profiling).
public final class PhaseTimer {
  public init() {}
  private var last = Date()
  private let enabled = ProcessInfo.processInfo.environment["ANPR_TIMINGS"] != nil
  public func mark(_ phase: String) {
    guard enabled else { return }
    let now = Date()
    FileHandle.standardError.write(Data(String(format: "%@: %.3f s\n", phase, now.timeIntervalSince(last)).utf8))
    last = now
  }
}
