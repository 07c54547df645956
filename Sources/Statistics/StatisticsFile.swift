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
///                                              last, shards, fragments (site@time,…;…) or -
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
    func int(_ v: Int64) {
      if v < 0 { out.append(0x2D) }
      var m = v.magnitude, digits: [UInt8] = []
      repeat { digits.append(UInt8(48 + m % 10)); m /= 10 } while m > 0
      out.append(contentsOf: digits.reversed())
    }
    func uint(_ v: UInt64) {
      var m = v, digits: [UInt8] = []
      repeat { digits.append(UInt8(48 + m % 10)); m /= 10 } while m > 0
      out.append(contentsOf: digits.reversed())
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
    for n in numbered {
      // Counts, entries, transitions and travel (nearly every record): parsed on the bytes; anything
      // unexpected goes the careful way below, which names the field.
      if stats != nil, fastRecord(bytes, ranges[n], targets: targetBytes, into: &stats!, seen: &seen) { continue }
      let line = line(n)
      let where_ = "\(name):\(n + 1)"
      let f = line.split(separator: " ", omittingEmptySubsequences: false)
      guard let type = f.first else { continue }
      func int(_ i: Int, _ field: String) throws -> Int64 {
        guard i < f.count, let v = Int64(f[i]) else { throw StatisticsError("\(where_): \(field): '\(i < f.count ? String(f[i]) : "")' is not an integer") }
        return v
      }
      func arity(_ k: Int) throws { guard f.count == k else { throw StatisticsError("\(where_): record \(type) has \(f.count - 1) fields where \(k - 1) are needed") } }
      if type == "H" {
        do {
          let h = try JSONDecoder().decode(ReadStatistics.Header.self, from: Data(line.dropFirst(2).utf8))
          guard h.format == ReadStatistics.format, h.formatVersion == ReadStatistics.formatVersion else {
            throw StatisticsError("\(where_): header: format \(h.format) \(h.formatVersion); this toolkit reads \(magic)")
          }
          if let s = stats, s.header != h { throw StatisticsError("\(where_): header: a second header that differs from the first (\(ReadStatistics.difference(s.header, h)))") }
          if stats == nil { stats = ReadStatistics(header: h) }
        } catch let e as StatisticsError { throw e } catch { throw StatisticsError("\(where_): header: not a statistics header (\(error))") }
        continue
      }
      guard stats != nil else { throw StatisticsError("\(where_): record before the header (H) line: not a statistics file or record stream") }
      // A record stream reduced by key holds each key once; a repeat is added, as a reduce would.
      switch type {
      case "A":
        try arity(3)
        stats!.accounting[String(f[1]), default: 0] += try int(2, "count")
      case "C":
        try arity(5)
        guard let target = ReadStatistics.targetNames.firstIndex(of: String(f[1])) else {
          throw StatisticsError("\(where_): target: '\(f[1])' is not one of \(ReadStatistics.targetNames.joined(separator: ", "))")
        }
        let k = ReadStatistics.CountKey(target: target, bin: try int(2, "bin"), site: Int(try int(3, "site")))
        guard k.site >= 0 && k.site < stats!.header.sites.count else { throw StatisticsError("\(where_): site: \(k.site) is not one of the \(stats!.header.sites.count) sites") }
        stats!.counts[k, default: 0] += try int(4, "count")
      case "S":
        try arity(3)
        let (a, b) = (try int(1, "from"), try int(2, "to"))
        guard a <= b else { throw StatisticsError("\(where_): coverage: \(a) after \(b)") }
        stats!.coverage = ReadStatistics.union(stats!.coverage, [a...b])
      case "E":
        try arity(3)
        stats!.entries[Int(try int(1, "site")), default: 0] += try int(2, "count")
      case "N":
        try arity(4)
        guard let ctx = UInt64(f[1]) else { throw StatisticsError("\(where_): context: '\(f[1])' is not a context key") }
        stats!.next[.init(context: ctx, next: Int(try int(2, "next"))), default: 0] += try int(3, "count")
      case "T":
        try arity(5)
        guard let key = UInt64(f[1]) else { throw StatisticsError("\(where_): key: '\(f[1])' is not a travel key") }
        let v = ReadStatistics.TravelSums(moves: try int(2, "moves"), sumLog: try int(3, "sum_log"), sumLogSquared: try int(4, "sum_log_squared"))
        stats!.travel[key] = (stats!.travel[key] ?? .init(moves: 0, sumLog: 0, sumLogSquared: 0)) + v
      case "V":
        try arity(9)
        let id = String(f[1])
        guard seen.insert(id).inserted else { throw StatisticsError("\(where_): vehicle: \(id) listed twice") }
        guard let keeper = KeeperType(rawValue: String(f[2])) else { throw StatisticsError("\(where_): keeper: '\(f[2])' is not a keeper type") }
        var v = ReadStatistics.Vehicle(keeper: keeper, nonstandardPlate: f[3] == "1", reads: try int(4, "reads"), first: try int(5, "first"),
                                       last: try int(6, "last"), shards: try int(7, "shards"))
        if f[8] != "-" {
          for piece in f[8].split(separator: ";") {
            let parts = piece.split(separator: "~", omittingEmptySubsequences: false)
            guard parts.count == 3, let first = Int64(parts[0]), let last = Int64(parts[1]), first <= last else {
              throw StatisticsError("\(where_): pieces: '\(piece.prefix(40))' is not FIRST~LAST~TRIPS")
            }
            var p = ReadStatistics.Piece(first: first, last: last, trips: [])
            for frag in parts[2].split(separator: "|") {
              var fr = ReadStatistics.Fragment(sites: [], times: [])
              for r in frag.split(separator: ",") {
                let st = r.split(separator: "@")
                guard st.count == 2, let site = Int(st[0]), let t = Int64(st[1]), site >= 0, site < stats!.header.sites.count else {
                  throw StatisticsError("\(where_): pieces: '\(r)' is not site@time")
                }
                fr.sites.append(site); fr.times.append(t)
              }
              p.trips.append(fr)
            }
            guard (1...2).contains(p.trips.count) else { throw StatisticsError("\(where_): pieces: a piece holds \(p.trips.count) trips (1 or 2)") }
            v.pieces.append(p)
          }
        }
        stats!.vehicles[id] = v
      default:
        throw StatisticsError("\(where_): '\(type)' is not a statistics record (H, A, S, C, E, N, T or V)")
      }
    }
    guard let stats else { throw StatisticsError("\(name): no header (H) record: not a statistics file or record stream") }
    return stats
  }

  /// Adds a C, E, N or T record parsed straight from its bytes; false (nothing added) when the line is
  /// anything else or not exactly as the writer writes it, so the careful parser can say what is wrong.
  static func fastRecord(_ b: [UInt8], _ r: Range<Int>, targets: [[UInt8]], into s: inout ReadStatistics, seen: inout Set<String>) -> Bool {
    guard r.count > 2, b[r.lowerBound + 1] == 0x20 else { return false }
    let type = b[r.lowerBound]
    guard type == 0x43 || type == 0x45 || type == 0x4E || type == 0x54 || type == 0x56 else { return false }
    // Fields after the type: up to five.
    var fields: [Range<Int>] = []
    var start = r.lowerBound + 2
    for i in start..<r.upperBound where b[i] == 0x20 { fields.append(start..<i); start = i + 1 }
    fields.append(start..<r.upperBound)
    func int(_ f: Range<Int>) -> Int64? {
      guard !f.isEmpty else { return nil }
      var i = f.lowerBound, negative = false
      if b[i] == 0x2D { negative = true; i += 1; guard i < f.upperBound else { return nil } }
      var v: Int64 = 0
      while i < f.upperBound {
        let d = b[i] &- 48
        guard d < 10 else { return nil }
        let (m, o1) = v.multipliedReportingOverflow(by: 10), (a, o2) = m.addingReportingOverflow(Int64(d))
        guard !o1, !o2 else { return nil }
        v = a; i += 1
      }
      return negative ? -v : v
    }
    switch type {
    case 0x56:  // V id keeper nonstandard reads first last shards pieces
      guard fields.count == 8, let keeper = KeeperType(rawValue: String(decoding: b[fields[1]], as: UTF8.self)),
        fields[2].count == 1, let reads = int(fields[3]), let first = int(fields[4]), let last = int(fields[5]), let shards = int(fields[6]) else { return false }
      var v = ReadStatistics.Vehicle(keeper: keeper, nonstandardPlate: b[fields[2].lowerBound] == 0x31, reads: reads, first: first, last: last, shards: shards)
      let pf = fields[7]
      if !(pf.count == 1 && b[pf.lowerBound] == 0x2D) {
        // piece;piece, piece = FIRST~LAST~trip|trip, trip = site@time,site@time
        var piece = ReadStatistics.Piece(first: 0, last: 0, trips: [])
        var trip = ReadStatistics.Fragment(sites: [], times: [])
        var part = 0, start = pf.lowerBound, site: Int64 = -1
        for i in pf.lowerBound...pf.upperBound {
          let c: UInt8 = i < pf.upperBound ? b[i] : 0x3B
          switch c {
          case 0x7E:  // ~ ends FIRST or LAST
            guard let x = int(start..<i) else { return false }
            if part == 0 { piece.first = x } else if part == 1 { piece.last = x } else { return false }
            part += 1; start = i + 1
          case 0x40:  // @ ends a site
            guard part == 2, let x = int(start..<i), x >= 0, x < Int64(s.header.sites.count) else { return false }
            site = x; start = i + 1
          case 0x2C, 0x7C, 0x3B:  // , | ; end a time (and a trip, and a piece)
            guard part == 2, site >= 0, let t = int(start..<i) else { return false }
            trip.sites.append(Int(site)); trip.times.append(t); site = -1; start = i + 1
            if c != 0x2C { piece.trips.append(trip); trip = .init(sites: [], times: []) }
            if c == 0x3B {
              guard (1...2).contains(piece.trips.count), piece.first <= piece.last else { return false }
              v.pieces.append(piece); piece = .init(first: 0, last: 0, trips: []); part = 0
            }
          default: break
          }
        }
      }
      let id = String(decoding: b[fields[0]], as: UTF8.self)
      guard !seen.contains(id) else { return false }
      seen.insert(id)
      s.vehicles[id] = v
    case 0x43:  // C target bin site count
      guard fields.count == 4, let t = targets.firstIndex(where: { $0.elementsEqual(b[fields[0]]) }),
        let bin = int(fields[1]), let site = int(fields[2]), site >= 0, site < s.header.sites.count, let c = int(fields[3]) else { return false }
      s.counts[.init(target: t, bin: bin, site: Int(site)), default: 0] += c
    case 0x45:  // E site count
      guard fields.count == 2, let site = int(fields[0]), let c = int(fields[1]) else { return false }
      s.entries[Int(site), default: 0] += c
    case 0x4E:  // N context next count
      guard fields.count == 3, let ctx = int(fields[0]).flatMap({ $0 >= 0 ? UInt64($0) : nil }) ?? UInt64(String(decoding: b[fields[0]], as: UTF8.self)),
        let nx = int(fields[1]), let c = int(fields[2]) else { return false }
      s.next[.init(context: ctx, next: Int(nx)), default: 0] += c
    default:  // T key moves sumLog sumLog²
      guard fields.count == 4, let key = int(fields[0]).flatMap({ $0 >= 0 ? UInt64($0) : nil }) ?? UInt64(String(decoding: b[fields[0]], as: UTF8.self)),
        let m = int(fields[1]), let a = int(fields[2]), let q = int(fields[3]) else { return false }
      s.travel[key] = (s.travel[key] ?? .init(moves: 0, sumLog: 0, sumLogSquared: 0)) + .init(moves: m, sumLog: a, sumLogSquared: q)
    }
    return true
  }

  /// Writes the statistics file atomically (or to standard output for `-`).
  public static func write(_ s: ReadStatistics, to path: String) throws {
    let data = encode(s)
    if path == "-" { FileHandle.standardOutput.write(data); return }
    let out = try OutputFile(path: path)
    try out.write(data)
    try out.commit()
  }

  /// Writes the record stream (no magic line, no checksum) to standard output or a file.
  public static func writeRecords(_ s: ReadStatistics, to path: String) throws {
    let data = Data(recordBytes(s))
    if path == "-" { FileHandle.standardOutput.write(data); return }
    let out = try OutputFile(path: path)
    try out.write(data)
    try out.commit()
  }
}
