import Foundation
import Reads

// The map and reduce steps as library calls: `anpr stats` and `anpr merge` parse, call these and print.

extension ReadStatistics {
  /// The statistics of a CSV shard read as `anpr ingest` would (validated, de-duplicated,
  /// pseudonymised): the shard goes through a temporary store (private, removed after), and the
  /// statistics keep the ingest's accounting.
  public static func build(ingest options: IngestOptions, clock: LocalClock, complete: Bool, span: ClosedRange<Int64>?,
                           dedupeWindow: Int64, notice: ((String) -> Void)? = nil) throws -> ReadStatistics {
    let (contents, report) = try Ingest.run(options, notice: notice)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-stats-\(getpid())-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/shard.anpr"
    try StoreWriter.write(contents, to: path)
    var stats = try build(store: try ReadStore(path: path), clock: clock, complete: complete, span: span, dedupeWindow: dedupeWindow)
    stats.accounting = ["read": Int64(report.read), "accepted": Int64(report.accepted), "rejected": Int64(report.rejected),
                        "duplicates": Int64(report.duplicates)]
    return stats
  }

  /// The statistics files `paths` added, in order (the result does not depend on it).
  /// - Throws: `StatisticsError` when shards disagree (key, zone, sites, trip gap), overlap, a vehicle's
  ///   reads were split between complete shards, or the accounting shows an input was cut or edited.
  public static func merged(_ paths: [String], complete: Bool) throws -> ReadStatistics {
    guard let first = paths.first else { throw StatisticsError("no statistics to merge") }
    var result = try StatisticsFile.read(first)
    for (k, path) in paths.enumerated().dropFirst() {
      try result.merge(try StatisticsFile.read(path), names: (k == 1 ? first : "the inputs before \(path)", path))
    }
    if result.header.complete, let v = result.vehicles.keys.sorted().first(where: { result.vehicles[$0]!.shards > 1 }) {
      throw StatisticsError("vehicle \(v) was in \(result.vehicles[v]!.shards) complete shards: its reads were split between partitions (partition by the vehicle's plate)")
    }
    let a = result.accounting
    let kept = (a["accepted"] ?? 0) - (a["removed"] ?? 0)
    if !a.isEmpty && kept != result.readCount {
      throw StatisticsError("the inputs' accounting says \(kept) reads kept but their vehicles hold \(result.readCount): an input was cut or edited; nothing written")
    }
    if complete && !result.header.complete { try result.complete() }
    return result
  }

  /// Whether the accounting adds up: read = accepted + rejected + duplicates.
  public var accountingBalances: Bool {
    let a = accounting
    return (a["read"] ?? 0) == (a["accepted"] ?? 0) + (a["rejected"] ?? 0) + (a["duplicates"] ?? 0)
  }
}

/// A shard's time span written `FROM..TO` (ISO 8601, TO exclusive).
public enum ShardSpan {
  /// - Throws: `StatisticsError` for a span without `..`, an unreadable time, or FROM not before TO.
  public static func parse(_ text: String) throws -> ClosedRange<Int64> {
    let parts = text.components(separatedBy: "..")
    guard parts.count == 2 else { throw StatisticsError("--span FROM..TO, e.g. 2026-03-05T00:00Z..2026-03-06T00:00Z") }
    func time(_ s: String) throws -> Int64 {
      switch Timestamp.parse(s) {
      case .success(let t): return Int64(t)
      case .failure(let p): throw StatisticsError("--span '\(s)': \(p.reason)")
      }
    }
    let (a, b) = (try time(parts[0]), try time(parts[1]))
    guard a < b else { throw StatisticsError("--span: \(parts[0]) is not before \(parts[1])") }
    return a...(b - 1)
  }
}
