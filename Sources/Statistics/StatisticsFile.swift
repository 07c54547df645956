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
    var out: [String] = []
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    out.append("H " + String(decoding: try! enc.encode(s.header), as: UTF8.self))
    for k in s.accounting.keys.sorted() { out.append("A \(k) \(s.accounting[k]!)") }
    for r in s.coverage { out.append("S \(r.lowerBound) \(r.upperBound)") }
    for k in s.counts.keys.sorted() { out.append("C \(ReadStatistics.targetNames[k.target]) \(k.bin) \(k.site) \(s.counts[k]!)") }
    for k in s.entries.keys.sorted() { out.append("E \(k) \(s.entries[k]!)") }
    for k in s.next.keys.sorted() { out.append("N \(k.context) \(k.next) \(s.next[k]!)") }
    for k in s.travel.keys.sorted() { let v = s.travel[k]!; out.append("T \(k) \(v.moves) \(v.sumLog) \(v.sumLogSquared)") }
    for id in s.vehicles.keys.sorted() {
      let v = s.vehicles[id]!
      let pieces = v.pieces.isEmpty ? "-" : v.pieces.map { p in
        "\(p.first)~\(p.last)~" + p.trips.map { f in zip(f.sites, f.times).map { "\($0)@\($1)" }.joined(separator: ",") }.joined(separator: "|")
      }.joined(separator: ";")
      out.append("V \(id) \(v.keeper.rawValue) \(v.nonstandardPlate ? 1 : 0) \(v.reads) \(v.first) \(v.last) \(v.shards) \(pieces)")
    }
    return out
  }

  /// The whole file: magic line, records, checksum.
  public static func encode(_ s: ReadStatistics) -> Data {
    var body = magic + "\n"
    for r in records(s) { body += r; body += "\n" }
    let digest = SHA256.hash(data: Data(body.utf8)).map { String(format: "%02x", $0) }.joined()
    return Data((body + "sha256 \(digest)\n").utf8)
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
    guard let text = String(data: data, encoding: .utf8) else { throw StatisticsError("\(name): not UTF-8 text, so not a statistics file") }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    if lines.last == "" { lines.removeLast() }
    var firstRecord = 0
    if let first = lines.first, first.hasPrefix(ReadStatistics.format) {
      guard first == magic else {
        throw StatisticsError("\(name):1: format: '\(first)' — this toolkit reads \(magic); a newer toolkit wrote it")
      }
      guard let last = lines.last, last.hasPrefix("sha256 "), lines.count >= 3 else {
        throw StatisticsError("\(name):\(lines.count): checksum: no 'sha256' line at the end (the file was cut short?)")
      }
      let bodyBytes = data.count - (last.utf8.count + 1)
      let digest = SHA256.hash(data: data.prefix(bodyBytes)).map { String(format: "%02x", $0) }.joined()
      guard last.dropFirst(7) == digest else {
        throw StatisticsError("\(name):\(lines.count): checksum: the records do not match their sha256 (the file was changed or damaged)")
      }
      firstRecord = 1
      lines.removeLast()
    }
    var stats: ReadStatistics? = nil
    var seen = Set<String>()
    // A record stream reduced by a cluster comes in any order: its header first, wherever it is.
    var numbered = Array(zip(lines.indices, lines).dropFirst(firstRecord))
    if firstRecord == 0, let h = numbered.firstIndex(where: { $0.1.hasPrefix("H ") }), h > 0 {
      numbered.insert(numbered.remove(at: h), at: 0)
    }
    for (n, line) in numbered {
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
    let data = Data((records(s).joined(separator: "\n") + "\n").utf8)
    if path == "-" { FileHandle.standardOutput.write(data); return }
    let out = try OutputFile(path: path)
    try out.write(data)
    try out.commit()
  }
}
