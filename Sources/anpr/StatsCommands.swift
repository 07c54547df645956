import ArgumentParser
import Foundation
import Governance
import Reads
import Statistics

extension ANPR {
  struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "The map step: the mergeable statistics of a shard of reads (CSV, standard input or a store).",
      discussion: """
        Reads a shard of an export (a day, a district, a cluster partition) as 'anpr ingest' does —
        validated, de-duplicated, pseudonymised with your key — and writes the statistics every model
        learns from: reads per site and 15-minute bin (all, and per keeper type), transitions within
        trips with travel-time sums, and the vehicle registry by pseudonym. 'anpr merge' adds shards;
        'anpr train --stats' and 'anpr compare --stats' fit from the result. Pass --complete when every
        vehicle's reads are all in this shard (a whole store, or a partition by vehicle).
        """)

    @Argument(help: "Reads CSV shard (plain or gzip), or - for standard input (or use --store).") var reads: String?
    @Option(help: "A store written by 'anpr ingest', instead of a CSV.") var store: String?
    @Option(help: "Camera registry CSV (with a CSV shard).") var cameras: String?
    @OptionGroup var export: ExportReading
    @Option(help: ArgumentHelp("IANA zone of times written without one in the export (what 'anpr ingest --timezone' says).", valueName: "zone"))
    var exportTimezone: String?
    @Option(help: "Analyst's time zone for the time bands of transitions (IANA name).") var timezone = "Europe/London"
    @Flag(help: "Every vehicle's reads are all in this shard: count every trip (no pieces to join at merge).") var complete = false
    @Flag(help: "Write the record stream (no header line, no checksum) for a cluster job to reduce by key.") var records = false
    @Option(help: "Statistics file to write, or - for standard output.") var out: String
    @Option(help: ArgumentHelp("The time this shard covers, FROM..TO (ISO 8601, TO exclusive), e.g. a day: 2026-03-05T00:00Z..2026-03-06T00:00Z; trips then join the next shard's at merge (default: the shard's first to last read).", valueName: "from..to"))
    var span: String?
    @OptionGroup var governance: GovernanceOptions

    func shardSpan() throws -> ClosedRange<Int64>? {
      guard let span else { return nil }
      do { return try ShardSpan.parse(span) } catch { throw ValidationError("\(error)") }
    }

    func validate() throws {
      if (reads == nil) == (store == nil) { throw ValidationError("Give a reads CSV (or -) or --store, not both.") }
      if reads != nil && cameras == nil { throw ValidationError("A reads CSV needs --cameras.") }
    }

    func run() throws {
      try requireDistinct(outputs: [("--out", out), ("--rejects", export.rejects)],
                          inputs: [("READS", reads), ("--store", store), ("--cameras", cameras), ("--vehicles", export.vehicles), ("--key-file", export.keyFile)])
      let clock = try LocalClock(identifier: timezone)
      var stats: ReadStatistics
      if let store {
        let opened = try openStore(store)
        let audit = try governance.begin("stats", storePath: store, store: opened)
        var built: ReadStatistics? = nil
        try audited(audit) {
          built = try ReadStatistics.build(store: opened, clock: clock, complete: complete, span: try shardSpan(), dedupeWindow: Int64(export.dedupeWindow))
          return ["vehicles": built!.vehicles.count]
        }
        stats = built!
      } else {
        stats = try fromCSV(clock: clock)
      }
      if records { try StatisticsFile.writeRecords(stats, to: out) } else { try StatisticsFile.write(stats, to: out) }
      let a = stats.accounting
      let line = "statistics: \(stats.vehicles.count) vehicles, \(stats.readCount) reads in \(Set(stats.counts.keys.map(\.bin)).count) 15-minute bins at \(stats.header.sites.count) sites; read \(a["read"] ?? 0), accepted \(a["accepted"] ?? 0), rejected \(a["rejected"] ?? 0), duplicates \(a["duplicates"] ?? 0)\(stats.header.complete ? "; complete" : "")"
      // Standard output may be the statistics themselves.
      FileHandle.standardError.write(Data((line + (out == "-" ? "" : "\nstatistics: \(out)") + "\n").utf8))
    }

    /// The CSV shard's statistics, read as 'anpr ingest' would (`ReadStatistics.build(ingest:)`).
    func fromCSV(clock: LocalClock) throws -> ReadStatistics {
      try ReadStatistics.build(ingest: try export.options(reads: reads!, cameras: cameras!, timeZone: exportTimezone), clock: clock,
                               complete: complete, span: try shardSpan(), dedupeWindow: Int64(export.dedupeWindow),
                               notice: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
    }
  }

  struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "The reduce step: add statistics files (or record streams) from 'anpr stats' into one.",
      discussion: """
        Counts add; a vehicle seen in two shards has its trips joined across the shards' edge. The
        result does not depend on the order or grouping of the inputs. Shards must agree on the key,
        the time zone, the camera sites and the trip gap; the same reads in two shards (overlapping
        reads of one vehicle) are refused. --complete declares the result final: every open trip is
        counted, and the file is the canonical form (what a cluster job with partitions by vehicle gives).
        """)
    @Argument(help: "Statistics files or record streams (- for standard input).") var inputs: [String]
    @Flag(help: "Every vehicle's reads are all in these inputs: count the trips still open at shard edges.") var complete = false
    @Option(help: "Statistics file to write, or - for standard output.") var out: String

    func validate() throws { if inputs.isEmpty { throw ValidationError("Give at least one statistics file to merge.") } }

    func run() throws {
      try requireDistinct(outputs: [("--out", out)], inputs: inputs.map { ("INPUT", $0) })
      let result: ReadStatistics
      do { result = try ReadStatistics.merged(inputs, complete: complete) } catch let e as StatisticsError { throw CLIError("\(e)") }
      let a = result.accounting
      try StatisticsFile.write(result, to: out)
      let balance = result.accountingBalances
      FileHandle.standardError.write(Data("merged \(inputs.count) inputs: \(result.vehicles.count) vehicles, \(result.readCount) reads; read \(a["read"] ?? 0), accepted \(a["accepted"] ?? 0), rejected \(a["rejected"] ?? 0), duplicates \(a["duplicates"] ?? 0)\(balance ? "" : " (does not balance)")\(result.header.complete ? "; complete" : "; open trips at shard edges kept")\n".utf8))
    }
  }
}
