import Foundation

/// Parses and validates data rows of a reads export into columns, for one byte range of the file
/// (or the whole stream). Rejected rows are queued in `pendingRejects` with their line numbers
/// relative to the range's first line, for the caller to write (or to stop at, with `--strict`).
struct RowParser {
  /// What every range's parser shares (immutable).
  struct Context: @unchecked Sendable {
    var fileName: String
    var columns: ColumnMapping
    var cameraTable: ByteKeyTable
    var cameraLookup: [String: UInt16]
    var retentionCutoff: Int64?
    var retainDays: Int?
    var timeReader: TimeReader
    /// Times a camera can have read (others are rejected as implausible); nil = any.
    var plausibleTimes: ClosedRange<Int64>? = nil
  }
  /// Column positions from the header.
  struct Header: Sendable {
    var count: Int
    var plate: Int, camera: Int, time: Int
    var confidence: Int?
  }
  struct Reject { var line: Int; var reason: RejectReason; var raw: String }

  let context: Context
  private(set) var header: Header?
  var headerCount: Int { header?.count ?? 0 }
  var times: [Int64] = [], cams: [UInt16] = [], plates: [Int32] = [], conf: [UInt8] = []
  var plateTable = ByteKeyTable(capacity: 1 << 16)
  /// This parser's own copy (it caches the last local hour).
  var timeReader: TimeReader
  var plateKeys: [PlateKey] = []
  var read = 0, rejected = 0
  var rejectedByReason: [String: Int] = [:]
  var pendingRejects: [Reject] = []
  /// Up to three examples per reason code (lines relative to the range's first line).
  var examples: [String: [RejectExample]] = [:]
  /// Physical lines of the range (set by the caller after reading it).
  var lines = 0

  /// A parser for a range with a known header, or (header nil) for a stream that starts with it.
  init(context: Context, header: Header?) {
    self.context = context; self.header = header; timeReader = context.timeReader
  }

  /// Resolves the header record into column positions.
  static func resolveHeader(_ r: CSVRecord, context: Context) throws -> Header {
    let names = (0..<r.count).map(r.string)
    if names.contains(where: { $0.contains("\r") }) {
      throw IngestError.corruptInput(file: context.fileName, reason: "its lines end in a carriage return only (CR, an old Mac format), so the file reads as one line; convert the line endings to LF or CRLF")
    }
    let idx = try context.columns.resolve(
      header: names, required: ["plate", "camera_id", "timestamp"], optional: ["read_id", "confidence"], file: context.fileName)
    return Header(count: r.count, plate: idx["plate"]!, camera: idx["camera_id"]!, time: idx["timestamp"]!, confidence: idx["confidence"])
  }

  /// Reads only the header of `path` (nil for an empty file).
  static func readHeader(path: String, context: Context) throws -> Header? {
    struct Stop: Error {}
    var header: Header?
    do {
      try CSVReader(source: ByteSource(path: path)).forEachRecord { r in
        header = try resolveHeader(r, context: context)
        throw Stop()
      }
    } catch is Stop {}
    return header
  }

  mutating func reserve(rows: Int) {
    times.reserveCapacity(rows); cams.reserveCapacity(rows); plates.reserveCapacity(rows); conf.reserveCapacity(rows)
  }

  /// Frees the columns once they have been copied out.
  mutating func release() { times = []; cams = []; plates = []; conf = []; plateKeys = [] }

  private mutating func reject(_ r: CSVRecord, _ reason: RejectReason) {
    rejected += 1
    let n = rejectedByReason[reason.code, default: 0]
    rejectedByReason[reason.code] = n + 1
    if n < 3, let h = header {
      // The value that failed, never a plate.
      let value: String?
      switch reason {
      case .badTimestamp, .implausibleTime: value = r.string(h.time)
      case .unknownCamera(let c): value = c
      case .badConfidence(let c): value = c
      case .wrongColumnCount(_, let found): value = "\(found) fields"
      default: value = nil
      }
      examples[reason.code, default: []].append(RejectExample(line: r.line, value: value))
    }
    if case .outsideRetention = reason {
      pendingRejects.append(Reject(line: r.line, reason: reason, raw: ""))
    } else {
      pendingRejects.append(Reject(line: r.line, reason: reason, raw: r.rawString))
    }
  }

  /// Handles one record: the header (when this parser has none yet) or a data row.
  @inline(__always) mutating func row(_ r: CSVRecord) throws {
    guard let h = header else {
      header = try Self.resolveHeader(r, context: context)
      return
    }
    read += 1
    if r.count == 1 && r.bytes(0).isEmpty { reject(r, .emptyLine); return }
    guard r.count == h.count else { reject(r, .wrongColumnCount(expected: h.count, found: r.count)); return }
    // plate: normalised and packed in one pass, no allocation
    var hi: UInt64 = 0, lo: UInt64 = 0, plateLength = 0
    for c in r.bytes(h.plate) {
      var u = c
      if u >= 0x61 && u <= 0x7A { u -= 32 } else if !((u >= 0x41 && u <= 0x5A) || (u >= 0x30 && u <= 0x39)) { continue }
      if plateLength < 8 { hi |= UInt64(u) << (8 * UInt64(plateLength)) }
      else if plateLength < 16 { lo |= UInt64(u) << (8 * UInt64(plateLength - 8)) }
      plateLength += 1
    }
    if plateLength == 0 { reject(r, .emptyPlate); return }
    if plateLength > 16 { reject(r, .plateTooLong(plateLength)); return }
    // camera
    let camBytes = r.trimmed(h.camera)
    if camBytes.isEmpty { reject(r, .missingCamera); return }
    let cam: UInt16
    if let k = ByteKeyTable.pack(camBytes), let c = context.cameraTable.find(k.0, k.1) { cam = UInt16(c) }
    else {
      let camName = String(decoding: camBytes, as: UTF8.self)
      guard let c = context.cameraLookup[camName] else { reject(r, .unknownCamera(camName)); return }
      cam = c
    }
    // time
    let t: Int64
    switch timeReader.read(r.trimmed(h.time)) {
    case .success(let v): t = v >= 0 ? Int64(v) : Int64(v.rounded(.down))  // truncation is the floor for v ≥ 0
    case .failure(let p): reject(r, .badTimestamp(p)); return
    }
    if let range = context.plausibleTimes, !range.contains(t) { reject(r, .implausibleTime); return }
    // confidence
    var c: UInt8 = 255
    if let ci = h.confidence {
      let cb = r.trimmed(ci)
      if !cb.isEmpty {
        guard let v = parseDecimal(cb), v >= 0, v <= 100 else {
          reject(r, .badConfidence(String(decoding: cb, as: UTF8.self))); return
        }
        c = UInt8((v <= 1 ? v * 100 : v).rounded())  // ≤ 1 is a fraction, else a percentage
      }
    }
    if let cutoff = context.retentionCutoff, t < cutoff {
      reject(r, .outsideRetention(days: context.retainDays!)); return
    }
    let (pid, inserted) = plateTable.findOrInsert(hi, lo, newID: Int32(plateKeys.count))
    if inserted { plateKeys.append(PlateKey(hi: hi, lo: lo)) }
    times.append(t); cams.append(cam); plates.append(pid); conf.append(c)
  }
}

extension Ingest {
  /// Parses byte ranges of a plain file on `workers` threads. Ranges start just after a newline; if a
  /// range ends inside a quoted field (a newline inside quotes fell on a boundary) or any range fails
  /// to parse, returns [] and the caller parses the file in one pass, which reports errors exactly.
  static func parseInParallel(path: String, size: Int64, workers: Int, header: RowParser.Header, context: RowParser.Context,
                              progress: Progress?) throws -> [RowParser] {
    // Boundaries: just after the first newline at or after each nominal split.
    var starts: [Int64] = [0]
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var window = [UInt8](repeating: 0, count: 1 << 16)
    for k in 1..<workers {
      var pos = max(size * Int64(k) / Int64(workers), starts.last! + 1)
      var found: Int64?
      while found == nil && pos < size {
        let n = window.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off_t(pos)) }
        if n <= 0 { break }
        if let i = window[0..<n].firstIndex(of: 0x0A) { found = pos + Int64(i) + 1 } else { pos += Int64(n) }
      }
      guard let f = found, f < size else { break }
      starts.append(f)
    }
    let ranges = starts.indices.map { k in starts[k]..<(k + 1 < starts.count ? starts[k + 1] : size) }
    let results = ParallelSlots<RowParser>(count: ranges.count)
    let scale = Double(size) / Double(max(1, ranges[0].count))
    let report = UncheckedSendable(progress)  // called from the first worker only
    DispatchQueue.concurrentPerform(iterations: ranges.count) { k in
      do {
        let source = try ByteSource(path: path, range: ranges[k])
        // The first range starts with the header line, which its parser resolves itself.
        var parser = RowParser(context: context, header: k == 0 ? nil : header)
        // Rows are ~50 bytes: reserving avoids regrowing the columns. The first range's columns become
        // the whole file's (the others are appended to them), so it reserves for the whole file;
        // untouched capacity is never resident.
        parser.reserve(rows: Int((k == 0 ? size : Int64(ranges[k].count)) / 40))
        parser.lines = try CSVReader(source: source).forEachRecord(skipByteOrderMark: k == 0) { r in
          try parser.row(r)
          if k == 0, let progress = report.value, parser.read & 0xFFFF == 0 {
            progress(Int64(Double(source.position) * scale), size, Int(Double(parser.read) * scale))
          }
        }
        results.set(k, parser)
      } catch {
        results.set(k, nil)
      }
    }
    var all: [RowParser] = []
    for k in 0..<ranges.count { guard let p = results.get(k) else { return [] }; all.append(p) }
    progress?(size, size, all.reduce(0) { $0 + $1.read })
    return all
  }
}
