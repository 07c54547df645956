import Foundation
import Hotspots
import Reads
import Routes
import Testing
@testable import Statistics

/// A fresh directory for one test's files.
func temporaryDirectory(_ name: String) throws -> String {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-\(name)-\(UUID().uuidString)").path
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  return dir
}

/// Random reads of 800 vehicles at 6 sites over four days, trips crossing midnight included, with a
/// vehicles file so keeper targets are counted; the rows, the header and the cameras file.
struct RandomExport {
  let dir: String
  var rows: [(time: Int64, line: String)] = []
  static let header = "plate,camera_id,timestamp"
  init(seed: UInt64) throws {
    dir = try temporaryDirectory("stats")
    var cams = "camera_id,site_id,latitude,longitude\n"
    for c in 0..<12 { cams += "C\(c),S\(c / 2),51.5\(c),0.7\(c)\n" }
    try cams.write(toFile: dir + "/c.csv", atomically: false, encoding: .utf8)
    var vehicles = "plate,keeper_type\n"
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
    let day0: Int64 = 1_772_668_800  // 2026-03-05T00:00Z
    for v in 0..<800 {
      vehicles += "P\(v)X,\(v % 5 == 0 ? "rental" : "private")\n"
      var t = day0 + Int64(next() % 345_600)
      for _ in 0..<(2 + Int(next() % 14)) {
        t += Int64(next() % 3) == 0 ? 2400 + Int64(next() % 30_000) : 30 + Int64(next() % 900)
        guard t < day0 + 4 * 86400 else { break }
        rows.append((t, "P\(v)X,C\(next() % 12),\(t)"))
      }
    }
    try vehicles.write(toFile: dir + "/v.csv", atomically: false, encoding: .utf8)
  }

  /// Writes `rows` as a CSV and ingests it into a store; its statistics.
  func statistics(_ rows: [(time: Int64, line: String)], name: String, complete: Bool = false, span: ClosedRange<Int64>? = nil) throws -> ReadStatistics {
    try ([Self.header] + rows.map(\.line)).joined(separator: "\n").appending("\n").write(toFile: dir + "/\(name).csv", atomically: false, encoding: .utf8)
    var o = IngestOptions(readsPath: dir + "/\(name).csv", camerasPath: dir + "/c.csv")
    o.vehiclesPath = dir + "/v.csv"
    o.pseudonymiser = try Pseudonymiser(keyBytes: Array("statistics test key, 32 bytes or more".utf8))
    let (contents, report) = try Ingest.run(o)
    try StoreWriter.write(contents, to: dir + "/\(name).anpr")
    var s = try ReadStatistics.build(store: try ReadStore(path: dir + "/\(name).anpr"), clock: try LocalClock(identifier: "Europe/London"),
                                     complete: complete, span: span)
    s.accounting = ["read": Int64(report.read), "accepted": Int64(report.accepted), "rejected": Int64(report.rejected), "duplicates": Int64(report.duplicates)]
    return s
  }

  func store(_ name: String) throws -> ReadStore { try ReadStore(path: dir + "/\(name).anpr") }
}

@Suite struct StatisticsTests {
  /// Day shards (cut at UTC midnight, so trips cross them) and shards by vehicle, merged in any order
  /// or grouping and then completed, are the statistics of the whole export — the same bytes.
  @Test func shardsMergeToTheWholeInAnyOrder() throws {
    let export = try RandomExport(seed: 3)
    let whole = try export.statistics(export.rows, name: "whole", complete: true)
    let bytes = StatisticsFile.encode(whole)
    let days = try (0..<4).map { d in
      try export.statistics(export.rows.filter { ($0.time - 1_772_668_800) / 86400 == d }, name: "day\(d)")
    }
    #expect(days.contains { s in s.vehicles.values.contains { !$0.pieces.isEmpty } })
    for order in [[0, 1, 2, 3], [3, 1, 0, 2], [2, 0, 3, 1]] {
      var total = days[order[0]]
      for i in order.dropFirst() { total = try total.merged(with: days[i]) }
      try total.complete()
      #expect(StatisticsFile.encode(total) == bytes, "order \(order)")
    }
    // (0 + 1) + (2 + 3), one side completed only at the end.
    var left = try days[0].merged(with: days[1]), right = try days[3].merged(with: days[2])
    left = try left.merged(with: right)
    try left.complete()
    #expect(StatisticsFile.encode(left) == bytes)
    // Day shards that say they cover their whole day join their vehicles' stretches as they merge,
    // in any order: once all four are in, every vehicle is one stretch, before it is completed.
    let spans = try (0..<4).map { d in
      let from = 1_772_668_800 + Int64(d) * 86400
      return try export.statistics(export.rows.filter { ($0.time - 1_772_668_800) / 86400 == d }, name: "span\(d)", span: from...(from + 86399))
    }
    for order in [[0, 1, 2, 3], [3, 0, 2, 1]] {
      var total = spans[order[0]]
      for i in order.dropFirst() { total = try total.merged(with: spans[i]) }
      #expect(total.coverage == [1_772_668_800...(1_772_668_800 + 4 * 86400 - 1)])
      #expect(total.vehicles.values.allSatisfy { $0.pieces.count == 1 }, "order \(order)")
      try total.complete()
      #expect(StatisticsFile.encode(total) == bytes, "order \(order)")
    }
    // Without spans, the few minutes between one day's last read and the next day's first are not
    // covered, so stretches stay apart until the statistics are completed.
    var open = days[0]
    for d in days.dropFirst() { open = try open.merged(with: d) }
    #expect(open.vehicles.values.contains { $0.pieces.count > 1 })
    // By vehicle (plates split by their number's parity), each complete.
    let odd = try export.statistics(export.rows.filter { Int($0.line.dropFirst().prefix { $0 != "X" })! % 2 == 1 }, name: "odd", complete: true)
    let even = try export.statistics(export.rows.filter { Int($0.line.dropFirst().prefix { $0 != "X" })! % 2 == 0 }, name: "even", complete: true)
    #expect(StatisticsFile.encode(try even.merged(with: odd)) == bytes)
    #expect(StatisticsFile.encode(try odd.merged(with: even)) == bytes)
    right = try export.statistics(export.rows.filter { ($0.time - 1_772_668_800) / 86400 >= 2 }, name: "late")
    #expect(throws: StatisticsError.self) { try odd.merged(with: right) }  // complete and sharing vehicles
  }

  /// A repeat of one plate at one site a few seconds apart, split by midnight into two day shards, is
  /// the duplicate one ingest would drop: merge drops it too (counts, reads, accounting).
  @Test func aRepeatSplitByMidnightIsDroppedAtMerge() throws {
    var export = try RandomExport(seed: 13)
    let midnight: Int64 = 1_772_668_800 + 86400
    // Camera C0 and C1 are both site S0: a double read across midnight, then a move to another site.
    export.rows += [(midnight - 4, "Q1X,C0,\(midnight - 4)"), (midnight + 3, "Q1X,C1,\(midnight + 3)"), (midnight + 200, "Q1X,C5,\(midnight + 200)")]
    export.rows.sort { $0.time < $1.time }
    let whole = try export.statistics(export.rows, name: "whole", complete: true)
    #expect(whole.accounting["duplicates"]! >= 1)
    let before = try export.statistics(export.rows.filter { $0.time < midnight }, name: "before", span: (midnight - 86400)...(midnight - 1))
    let after = try export.statistics(export.rows.filter { $0.time >= midnight }, name: "after", span: midnight...(midnight + 3 * 86400 - 1))
    var merged = try after.merged(with: before)
    try merged.complete()
    #expect(merged.accounting == whole.accounting)
    #expect(StatisticsFile.encode(merged) == StatisticsFile.encode(whole))
  }

  /// What models learn from statistics is what they learn from a store of the same reads.
  @Test func countsAndTransitionsAreTheStoresOwn() throws {
    let export = try RandomExport(seed: 5)
    let whole = try export.statistics(export.rows, name: "whole")
    let store = try export.store("whole")
    let clock = try LocalClock(identifier: "Europe/London")
    for order in 1...3 {
      let built = TransitionCounts.build(store: store, order: order, clock: clock, shards: 3)
      let fromStats = try whole.transitionCounts(order: order)
      #expect(fromStats == built, "order \(order)")
    }
    for binning in [Binning.hourly, .seconds(900), .seconds(86400), .month] {
      for target in [Target.allReads, .keeper(.rental)] {
        let direct = CountTable.build(store: store, target: target, binning: binning, from: store.header.timeStart!, to: store.header.timeEnd! + 1)
        let table = try whole.countTable(target: target, binning: binning)
        #expect(table.firstBin == direct.firstBin && table.binCount == direct.binCount && table.counts == direct.counts && table.exposure == direct.exposure,
                "\(binning) \(target)")
      }
    }
    #expect(throws: StatisticsError.self) { try whole.countTable(target: .vehicles(["x"]), binning: .hourly) }
    #expect(throws: StatisticsError.self) { try whole.countTable(target: .allReads, binning: .seconds(2400)) }
  }

  /// Shards that overlap (the same reads twice, or one vehicle's reads interleaved) and shards that
  /// disagree on the key, zone or sites are refused with a message naming both.
  @Test func incompatibleOrOverlappingShardsAreRefused() throws {
    let export = try RandomExport(seed: 7)
    let a = try export.statistics(Array(export.rows.prefix(3000)), name: "a")
    #expect(throws: StatisticsError.self) { try a.merged(with: a) }
    var otherZone = a
    otherZone.header.timeZone = "UTC"
    #expect { try a.merged(with: otherZone, names: ("a.stats", "b.stats")) } throws: { error in
      "\(error)".contains("a.stats and b.stats") && "\(error)".contains("time zone")
    }
    var otherKey = a
    otherKey.header.keyFingerprint = "0000000000000000"
    #expect { try a.merged(with: otherKey) } throws: { "\($0)".contains("different keys") }
    var empty = a
    empty.vehicles = [:]; empty.counts = [:]; empty.next = [:]; empty.travel = [:]; empty.entries = [:]; empty.accounting = [:]
    #expect(try a.merged(with: empty) == a)
  }

  /// The file: canonical bytes that read back to the same value; an edited record, a cut file and a
  /// newer format are refused naming the line; a record stream (no magic, no checksum) reads too.
  @Test func fileRoundTripsAndRefusesDamage() throws {
    let export = try RandomExport(seed: 11)
    let s = try export.statistics(Array(export.rows.prefix(4000)), name: "f")
    let data = StatisticsFile.encode(s)
    #expect(try StatisticsFile.decode(data, name: "f.stats") == s)
    let stream = Data((StatisticsFile.records(s).joined(separator: "\n") + "\n").utf8)
    #expect(try StatisticsFile.decode(stream, name: "stream") == s)
    var text = String(decoding: data, as: UTF8.self)
    let edited = text.replacingOccurrences(of: "\nC all ", with: "\nC all 1", options: [], range: text.range(of: "\nC all "))
    #expect { try StatisticsFile.decode(Data(edited.utf8), name: "f.stats") } throws: { "\($0)".contains("checksum") }
    let cut = Data(data.prefix(data.count / 2))
    #expect { try StatisticsFile.decode(cut, name: "f.stats") } throws: { "\($0)".contains("f.stats:") && "\($0)".contains("checksum") }
    text = text.replacingOccurrences(of: StatisticsFile.magic, with: "anprkit-statistics 9")
    #expect { try StatisticsFile.decode(Data(text.utf8), name: "f.stats") } throws: { "\($0)".contains("f.stats:1: format") }
    let bad = "H " + String(StatisticsFile.records(s)[0].dropFirst(2)) + "\nC all x 1 2\n"
    #expect { try StatisticsFile.decode(Data(bad.utf8), name: "r") } throws: { "\($0)" == "r:2: bin: 'x' is not an integer" }
    #expect { try StatisticsFile.decode(Data("C all 1 1 2\n".utf8), name: "r") } throws: { "\($0)".contains("r:1: record before the header") }
  }
}

@Suite struct ShardSpanTests {
  @Test func spansParseAndBadOnesAreRefused() throws {
    let day = try ShardSpan.parse("2026-03-05T00:00Z..2026-03-06T00:00Z")
    #expect(day.upperBound - day.lowerBound == 86_399)
    #expect(performing: { _ = try ShardSpan.parse("2026-03-05") }, throws: { "\($0)".contains("FROM..TO") })
    #expect(performing: { _ = try ShardSpan.parse("2026-03-06T00:00Z..2026-03-05T00:00Z") }, throws: { "\($0)".contains("is not before") })
    #expect(performing: { _ = try ShardSpan.parse("yesterday..today") }, throws: { "\($0)".contains("--span 'yesterday'") })
  }
}

