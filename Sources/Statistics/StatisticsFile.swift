import Crypto
import Foundation
import Reads

/// The statistics file: one record per line, in a canonical order, so the same statistics are the
/// same bytes however they were computed (one process, shards merged in any order, a cluster job).
/// ```
/// anprkit-statistics 1
/// H {"binSeconds":900,...}                     the header (JSON, keys sorted)
/// A accepted 1234                              ingest accounting
/// S 1772668800 1772755199                      time covered (first and last second)
/// C all 1900000 5 12                           target, 15-minute bin since the epoch, site, reads
/// E 5 33                                       trips entering at site 5
/// N 281474976776193 7 4                        transition context key, next site (-1 = end), count
/// T 4194306 12 80123456 700123456              travel key, moves, Σ log s and Σ log² s (× 2²⁰)
/// V V0123456789abcdef rental 0 42 T0 T1 1 -    vehicle, keeper, nonstandard plate, reads, first,
///                                              last, shards, pieces (FIRST~LAST~site@time,…|…;…) or -
/// sha256 <hex of every byte above>
/// ```
/// Without the first and last line the same records are a *record stream* (what `anpr stats
/// --records` writes for a cluster job to reduce by key: everything before the last field or fields
/// is the key, and the values add, except a vehicle's first and last read, which take the minimum and
/// maximum).
public enum StatisticsFile {
  public static let magic = "\(ReadStatistics.format) \(ReadStatistics.formatVersion)"

  /// The records, in canonical order, one per line (no magic line, no checksum).
  public static func records(_ s: ReadStatistics) -> [String] {
    String(decoding: recordBytes(s), as: UTF8.self).split(separator: "\n").map(String.init)
  }

  /// The records as bytes, each line ending in a newline (written straight into one buffer: a
  /// county's statistics are millions of records).
  public static func recordBytes(_ s: ReadStatistics) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(32 * (s.counts.count + s.next.count + s.travel.count) + 64 * s.vehicles.count + 4096)
    func text(_ t: String) { out.append(contentsOf: t.utf8) }
    func uint(_ v: UInt64) {
      var m = v, digits: [UInt8] = []
      repeat { digits.append(UInt8(48 + m % 10)); m /= 10 } while m > 0
      out.append(contentsOf: digits.reversed())
    }
    func int(_ v: Int64) {
      if v < 0 { out.append(0x2D) }
      uint(v.magnitude)
    }
    let sp: UInt8 = 0x20, nl: UInt8 = 0x0A
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    text("H "); out.append(contentsOf: try! enc.encode(s.header)); out.append(nl)
    for k in s.accounting.keys.sorted() { text("A \(k) "); int(s.accounting[k]!); out.append(nl) }
    for r in s.coverage { text("S "); int(r.lowerBound); out.append(sp); int(r.upperBound); out.append(nl) }
    let targets = ReadStatistics.targetNames.map { Array("C \($0) ".utf8) }
    for k in s.counts.keys.sorted() {
      out.append(contentsOf: targets[k.target]); int(k.bin); out.append(sp); int(Int64(k.site)); out.append(sp); int(s.counts[k]!); out.append(nl)
    }
    for k in s.entries.keys.sorted() { text("E "); int(Int64(k)); out.append(sp); int(s.entries[k]!); out.append(nl) }
    for k in s.next.keys.sorted() {
      text("N "); uint(k.context); out.append(sp); int(Int64(k.next)); out.append(sp); int(s.next[k]!); out.append(nl)
    }
    for k in s.travel.keys.sorted() {
      let v = s.travel[k]!
      text("T "); uint(k); out.append(sp); int(v.moves); out.append(sp); int(v.sumLog); out.append(sp); int(v.sumLogSquared); out.append(nl)
    }
    for id in s.vehicles.keys.sorted() {
      let v = s.vehicles[id]!
      text("V \(id) \(v.keeper.rawValue) \(v.nonstandardPlate ? 1 : 0) ")
      int(v.reads); out.append(sp); int(v.first); out.append(sp); int(v.last); out.append(sp); int(v.shards); out.append(sp)
      if v.pieces.isEmpty { out.append(0x2D) }
      for (i, p) in v.pieces.enumerated() {
        if i > 0 { out.append(0x3B) }
        int(p.first); out.append(0x7E); int(p.last); out.append(0x7E)
        for (j, f) in p.trips.enumerated() {
          if j > 0 { out.append(0x7C) }
          for (k, (site, t)) in zip(f.sites, f.times).enumerated() {
            if k > 0 { out.append(0x2C) }
            int(Int64(site)); out.append(0x40); int(t)
          }
        }
      }
      out.append(nl)
    }
    return out
  }

  /// The whole file: magic line, records, checksum.
  public static func encode(_ s: ReadStatistics) -> Data {
    var body = Array((magic + "\n").utf8)
    body += recordBytes(s)
    let digest = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
    body += Array("sha256 \(digest)\n".utf8)
    return Data(body)
  }

  /// Reads a statistics file or a record stream (`-` for standard input).
  /// - Throws: `StatisticsError` naming the file, line and field: not statistics, a newer format, a
  ///   checksum that does not match (the file was changed or cut short), a malformed record.
  public static func read(_ path: String) throws -> ReadStatistics {
    let data: Data
    if path == "-" { data = FileHandle.standardInput.readDataToEndOfFile() } else {
      guard let d = FileManager.default.contents(atPath: path) else { throw StatisticsError("\(path): cannot read the file") }
      data = d
    }
    return try decode(data, name: path)
  }

  public static func decode(_ data: Data, name: String) throws -> ReadStatistics {
    let bytes = [UInt8](data)
    // Line ranges (without the newline), found on the bytes: files hold millions of records.
    var ranges: [Range<Int>] = []
    var from = 0
    bytes.withUnsafeBufferPointer { b in
      for i in 0..<b.count where b[i] == 0x0A { ranges.append(from..<i); from = i + 1 }
    }
    if from < bytes.count { ranges.append(from..<bytes.count) }
    func line(_ k: Int) -> Substring { Substring(String(decoding: bytes[ranges[k]], as: UTF8.self)) }
    var firstRecord = 0
    if !ranges.isEmpty, bytes[ranges[0]].starts(with: ReadStatistics.format.utf8) {
      let first = line(0)
      guard first == magic else {
        throw StatisticsError("\(name):1: format: '\(first)' — this toolkit reads \(magic); a newer toolkit wrote it")
      }
      let last = line(ranges.count - 1)
      guard last.hasPrefix("sha256 "), ranges.count >= 3 else {
        throw StatisticsError("\(name):\(ranges.count): checksum: no 'sha256' line at the end (the file was cut short?)")
      }
      let digest = SHA256.hash(data: bytes[0..<ranges[ranges.count - 1].lowerBound]).map { String(format: "%02x", $0) }.joined()
      guard last.dropFirst(7) == digest else {
        throw StatisticsError("\(name):\(ranges.count): checksum: the records do not match their sha256 (the file was changed or damaged)")
      }
      firstRecord = 1
      ranges.removeLast()
    }
    var stats: ReadStatistics? = nil
    var seen = Set<String>()
    // A record stream reduced by a cluster comes in any order: its header first, wherever it is.
    var numbered = Array(ranges.indices.dropFirst(firstRecord))
    if firstRecord == 0, let h = numbered.firstIndex(where: { bytes[ranges[$0]].starts(with: [0x48, 0x20]) }), h > 0 {
      numbered.insert(numbered.remove(at: h), at: 0)
    }
    let targetBytes = ReadStatistics.targetNames.map { Array($0.utf8) }
    for n in numbered where !ranges[n].isEmpty {
      let f = RecordLine(bytes, ranges[n], at: "\(name):\(n + 1)")
      if f.type == "H" {
        do {
          let h = try JSONDecoder().decode(ReadStatistics.Header.self, from: Data(bytes[(ranges[n].lowerBound + min(2, ranges[n].count))..<ranges[n].upperBound]))
          guard h.format == ReadStatistics.format, h.formatVersion == ReadStatistics.formatVersion else {
            throw StatisticsError("\(f.at): header: format \(h.format) \(h.formatVersion); this toolkit reads \(magic)")
          }
          if let s = stats, s.header != h { throw StatisticsError("\(f.at): header: a second header that differs from the first (\(ReadStatistics.difference(s.header, h)))") }
          if stats == nil { stats = ReadStatistics(header: h) }
        } catch let e as StatisticsError { throw e } catch { throw StatisticsError("\(f.at): header: not a statistics header (\(error))") }
        continue
      }
      guard stats != nil else { throw StatisticsError("\(f.at): record before the header (H) line: not a statistics file or record stream") }
      let sites = stats!.header.sites.count
      // A record stream reduced by key holds each key once; a repeat is added, as a reduce would.
      switch f.type {
      case "A":
        try f.arity(3)
        stats!.accounting[f.text(1), default: 0] += try f.int(2, "count")
      case "S":
        try f.arity(3)
        let (a, b) = (try f.int(1, "from"), try f.int(2, "to"))
        guard a <= b else { throw StatisticsError("\(f.at): coverage: \(a) after \(b)") }
        stats!.coverage = ReadStatistics.union(stats!.coverage, [a...b])
      case "C":
        try f.arity(5)
        guard let target = targetBytes.firstIndex(where: { $0.elementsEqual(bytes[f.fields[1]]) }) else {
          throw StatisticsError("\(f.at): target: '\(f.text(1))' is not one of \(ReadStatistics.targetNames.joined(separator: ", "))")
        }
        let k = ReadStatistics.CountKey(target: target, bin: try f.int(2, "bin"), site: try f.site(3, of: sites))
        stats!.counts[k, default: 0] += try f.int(4, "count")
      case "E":
        try f.arity(3)
        stats!.entries[Int(try f.int(1, "site")), default: 0] += try f.int(2, "count")
      case "N":
        try f.arity(4)
        stats!.next[.init(context: try f.uint(1, "context"), next: Int(try f.int(2, "next"))), default: 0] += try f.int(3, "count")
      case "T":
        try f.arity(5)
        let key = try f.uint(1, "key")
        let v = ReadStatistics.TravelSums(moves: try f.int(2, "moves"), sumLog: try f.int(3, "sum_log"), sumLogSquared: try f.int(4, "sum_log_squared"))
        stats!.travel[key] = (stats!.travel[key] ?? .init(moves: 0, sumLog: 0, sumLogSquared: 0)) + v
      case "V":
        try f.arity(9)
        let id = f.text(1)
        guard seen.insert(id).inserted else { throw StatisticsError("\(f.at): vehicle: \(id) listed twice") }
        guard let keeper = KeeperType(rawValue: f.text(2)) else { throw StatisticsError("\(f.at): keeper: '\(f.text(2))' is not a keeper type") }
        var v = ReadStatistics.Vehicle(keeper: keeper, nonstandardPlate: f.text(3) == "1", reads: try f.int(4, "reads"), first: try f.int(5, "first"),
                                       last: try f.int(6, "last"), shards: try f.int(7, "shards"))
        if f.text(8) != "-" { v.pieces = try f.pieces(8, sites: sites) }
        stats!.vehicles[id] = v
      default:
        throw StatisticsError("\(f.at): '\(f.type)' is not a statistics record (H, A, S, C, E, N, T or V)")
      }
    }
    guard let stats else { throw StatisticsError("\(name): no header (H) record: not a statistics file or record stream") }
    return stats
  }

  /// One record line split on spaces (field 0 is the record type), read straight from the file's
  /// bytes — files hold millions of records — with accessors whose errors name the line and field.
  struct RecordLine {
    let b: [UInt8]
    let fields: [Range<Int>]
    let at: String
    init(_ b: [UInt8], _ r: Range<Int>, at: String) {
      self.b = b; self.at = at
      var fields: [Range<Int>] = [], start = r.lowerBound
      for i in r where b[i] == 0x20 { fields.append(start..<i); start = i + 1 }
      fields.append(start..<r.upperBound)
      self.fields = fields
    }
    var type: String { text(0) }
    func text(_ i: Int) -> String { i < fields.count ? String(decoding: b[fields[i]], as: UTF8.self) : "" }
    func arity(_ k: Int) throws {
      guard fields.count == k else { throw StatisticsError("\(at): record \(type) has \(fields.count - 1) fields where \(k - 1) are needed") }
    }
    /// A decimal integer in bytes `r` (optionally negative), nil unless it is exactly that.
    func integer(_ r: Range<Int>) -> Int64? {
      guard !r.isEmpty else { return nil }
      var i = r.lowerBound, negative = false
      if b[i] == 0x2D { negative = true; i += 1; guard i < r.upperBound else { return nil } }
      var v: Int64 = 0
      while i < r.upperBound {
        let d = b[i] &- 48
        guard d < 10 else { return nil }
        let (m, o1) = v.multipliedReportingOverflow(by: 10), (a, o2) = m.addingReportingOverflow(Int64(d))
        guard !o1, !o2 else { return nil }
        v = a; i += 1
      }
      return negative ? -v : v
    }
    func int(_ i: Int, _ field: String) throws -> Int64 {
      guard i < fields.count, let v = integer(fields[i]) else { throw StatisticsError("\(at): \(field): '\(text(i))' is not an integer") }
      return v
    }
    func uint(_ i: Int, _ field: String) throws -> UInt64 {
      guard let v = UInt64(text(i)) else { throw StatisticsError("\(at): \(field): '\(text(i))' is not a \(field) key") }
      return v
    }
    func site(_ i: Int, of sites: Int) throws -> Int {
      let s = try int(i, "site")
      guard s >= 0 && s < Int64(sites) else { throw StatisticsError("\(at): site: \(s) is not one of the \(sites) sites") }
      return Int(s)
    }
    /// `FIRST~LAST~site@time,…|site@time,…;…`: a vehicle's stretches of reads with their first and last trip.
    func pieces(_ i: Int, sites: Int) throws -> [ReadStatistics.Piece] {
      let r = fields[i]
      func bad(_ why: String) -> StatisticsError { StatisticsError("\(at): pieces: \(why) (pieces are FIRST~LAST~site@time,…|site@time,…;…)") }
      var out: [ReadStatistics.Piece] = []
      var piece = ReadStatistics.Piece(first: 0, last: 0, trips: [])
      var trip = ReadStatistics.Fragment(sites: [], times: [])
      var part = 0, start = r.lowerBound, site = -1
      for k in r.lowerBound...r.upperBound {
        let c: UInt8 = k < r.upperBound ? b[k] : 0x3B
        switch c {
        case 0x7E:  // ~ ends FIRST or LAST
          guard part < 2, let x = integer(start..<k) else { throw bad("'\(String(decoding: b[start..<k], as: UTF8.self))' is not a time") }
          if part == 0 { piece.first = x } else { piece.last = x }
          part += 1; start = k + 1
        case 0x40:  // @ ends a site
          guard part == 2, let x = integer(start..<k), x >= 0, x < Int64(sites) else { throw bad("'\(String(decoding: b[start..<k], as: UTF8.self))' is not a site") }
          site = Int(x); start = k + 1
        case 0x2C, 0x7C, 0x3B:  // , | ; end a time (and a trip, and a piece)
          guard part == 2, site >= 0, let t = integer(start..<k) else { throw bad("a read is not site@time") }
          trip.sites.append(site); trip.times.append(t); site = -1; start = k + 1
          if c != 0x2C { piece.trips.append(trip); trip = .init(sites: [], times: []) }
          if c == 0x3B {
            guard (1...2).contains(piece.trips.count), piece.first <= piece.last else { throw bad("a piece holds \(piece.trips.count) trips (1 or 2) or ends before it starts") }
            out.append(piece); piece = .init(first: 0, last: 0, trips: []); part = 0
          }
        default: break
        }
      }
      return out
    }
  }

  /// Writes the statistics file atomically (or to standard output for `-`).
  public static func write(_ s: ReadStatistics, to path: String) throws { try put(encode(s), to: path) }

  /// Writes the record stream (no magic line, no checksum) to standard output or a file.
  public static func writeRecords(_ s: ReadStatistics, to path: String) throws { try put(Data(recordBytes(s)), to: path) }

  static func put(_ data: Data, to path: String) throws {
    if path == "-" { FileHandle.standardOutput.write(data) } else { try writeAtomically(data, to: path) }
  }
}
