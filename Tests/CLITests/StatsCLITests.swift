import Foundation
import Testing

/// `anpr stats` and `anpr merge` through the binary: the map and reduce steps, their files and errors.
@Suite("anpr stats / merge", .serialized)
struct StatsCLITests {
  /// A simulated four-day town, its key and its store, made once per test.
  func town() throws -> String {
    let d = try freshDirectory("stats-cli")
    var r = try runANPR(["simulate", "--seed", "7404", "--days", "4", "--scale", "0.15", "--oracle-replicates", "0", "--out", d + "/town"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["keygen", "--out", d + "/key"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["ingest", d + "/town/reads.csv", "--cameras", d + "/town/cameras.csv", "--vehicles", d + "/town/vehicles.csv",
                     "--key-file", d + "/key", "--store", d + "/s.anpr"])
    #expect(r.status == 0, "\(r.err)")
    return d
  }

  @Test func shardsFromStandardInputMergeToTheStoresStatistics() throws {
    let d = try town()
    var r = try runANPR(["stats", "--store", d + "/s.anpr", "--complete", "--out", d + "/store.stats"])
    #expect(r.status == 0 && r.err.contains("complete"), "\(r.err)")
    // Two shards by time through standard input, the header repeated; merged, then completed.
    let lines = try String(contentsOfFile: d + "/town/reads.csv", encoding: .utf8).split(separator: "\n").map(String.init)
    let half = 1 + (lines.count - 1) / 2
    // Cut where the times are past the half (the export is in time order): rows before it, rows after.
    let first = ([lines[0]] + lines[1..<half]).joined(separator: "\n") + "\n"
    let second = ([lines[0]] + lines[half...]).joined(separator: "\n") + "\n"
    for (name, text) in [("a", first), ("b", second)] {
      r = try runANPR(["stats", "-", "--cameras", d + "/town/cameras.csv", "--vehicles", d + "/town/vehicles.csv", "--key-file", d + "/key",
                       "--out", d + "/\(name).stats"], stdin: Data(text.utf8))
      #expect(r.status == 0, "\(r.err)")
    }
    r = try runANPR(["merge", d + "/b.stats", d + "/a.stats", "--complete", "--out", d + "/ab.stats"])
    #expect(r.status == 0 && r.err.contains("merged 2 inputs"), "\(r.err)")
    #expect(FileManager.default.contents(atPath: d + "/ab.stats") == FileManager.default.contents(atPath: d + "/store.stats"),
            "two shards merged are the store's statistics, byte for byte")
    // Merging a shard with itself is the same reads twice: refused, nothing written.
    r = try runANPR(["merge", d + "/a.stats", d + "/a.stats", "--out", d + "/aa.stats"])
    #expect(r.status == 1 && r.err.contains("both hold reads of vehicle"), "\(r.err)")
    #expect(!FileManager.default.fileExists(atPath: d + "/aa.stats"))
    // A record stream (what a cluster reduces) reads back as the same statistics.
    r = try runANPR(["stats", "--store", d + "/s.anpr", "--complete", "--records", "--out", "-"])
    #expect(r.status == 0 && r.out.hasPrefix("H {"), "\(r.err)")
    let reversed = r.out.split(separator: "\n").reversed().joined(separator: "\n") + "\n"
    r = try runANPR(["merge", "-", "--out", d + "/stream.stats"], stdin: Data(reversed.utf8))
    #expect(r.status == 0, "\(r.err)")
    #expect(FileManager.default.contents(atPath: d + "/stream.stats") == FileManager.default.contents(atPath: d + "/store.stats"))
    // An edited file is refused naming its line; merge never overwrites an input.
    var text = try String(contentsOfFile: d + "/store.stats", encoding: .utf8)
    text = text.replacingOccurrences(of: "\nA read ", with: "\nA read 9")
    try text.write(toFile: d + "/edited.stats", atomically: false, encoding: .utf8)
    r = try runANPR(["merge", d + "/edited.stats", "--out", d + "/x.stats"])
    #expect(r.status == 1 && r.err.contains("edited.stats:") && r.err.contains("checksum"), "\(r.err)")
    r = try runANPR(["merge", d + "/a.stats", "--out", d + "/a.stats"])
    #expect(r.status != 0)
  }

  @Test func trainAndCompareFromStatistics() throws {
    let d = try town()
    var r = try runANPR(["stats", "--store", d + "/s.anpr", "--out", d + "/open.stats"])
    #expect(r.status == 0, "\(r.err)")
    for spec in ["markov-route", "historical-mean"] {
      r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/\(spec).yaml", "--out", d + "/\(spec)-store.json"])
      #expect(r.status == 0, "\(r.err)")
      r = try runANPR(["train", "--stats", d + "/open.stats", "--spec", "Models/\(spec).yaml", "--out", d + "/\(spec)-stats.json"])
      #expect(r.status == 0, "\(r.err)")
      #expect(FileManager.default.contents(atPath: d + "/\(spec)-store.json") == FileManager.default.contents(atPath: d + "/\(spec)-stats.json"),
              "\(spec): the same model file from the statistics as from the store")
    }
    r = try runANPR(["train", "--stats", d + "/open.stats", "--spec", "Models/next-appearance.yaml", "--out", d + "/n.json"])
    #expect(r.status == 1 && r.err.contains("visits by date"), "\(r.err)")
    r = try runANPR(["train", "--stats", d + "/open.stats", "--spec", "Models/historical-mean.yaml", "--target", "vehicles=V0123456789abcdef", "--out", d + "/v.json"])
    #expect(r.status == 1 && r.err.contains("not per vehicle"), "\(r.err)")
    // A route model's time bands are on the statistics' clock; hotspot counts are in UTC bins, any zone.
    r = try runANPR(["train", "--stats", d + "/open.stats", "--spec", "Models/markov-route.yaml", "--timezone", "UTC", "--out", d + "/z.json"])
    #expect(r.status == 1 && r.err.contains("Europe/London"), "\(r.err)")
    r = try runANPR(["train", "--stats", d + "/open.stats", "--spec", "Models/historical-mean.yaml", "--timezone", "UTC", "--out", d + "/z.json"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["train", "--stats", d + "/open.stats", "--until", "2026-03-03T00:00Z", "--spec", "Models/historical-mean.yaml", "--out", d + "/u.json"])
    #expect(r.status == 64, "\(r.err)")
    r = try runANPR(["compare", "--stats", d + "/open.stats", "--target", "keeper=rental", "--spec", "Models/historical-mean.yaml",
                     "--train-days", "2", "--json"])
    #expect(r.status == 0, "\(r.err)")
    let c = try lastJSONLine(r.out)
    #expect((c["models"] as? [[String: Any]])?.count == 1)
  }

  @Test func badShardsGetClearErrors() throws {
    let d = try town()
    var r = try runANPR(["stats", d + "/town/reads.csv", "--cameras", d + "/town/cameras.csv", "--out", d + "/x.stats"])
    #expect(r.status == 1 && r.err.contains("no pseudonymisation key"), "\(r.err)")
    r = try runANPR(["stats", d + "/town/reads.csv", "--out", d + "/x.stats"])
    #expect(r.status == 64 && r.err.contains("--cameras"), "\(r.err)")
    r = try runANPR(["stats", d + "/town/reads.csv", "--cameras", d + "/town/cameras.csv", "--key-file", d + "/key",
                     "--span", "2026-03-02T00:00Z..2026-03-03T00:00Z", "--out", d + "/x.stats"])
    #expect(r.status == 1 && r.err.contains("outside its declared span"), "\(r.err)")
    // Shards under different keys cannot merge.
    r = try runANPR(["keygen", "--out", d + "/key2"])
    for (k, name) in [("key", "k1"), ("key2", "k2")] {
      r = try runANPR(["stats", d + "/town/reads.csv", "--cameras", d + "/town/cameras.csv", "--key-file", d + "/" + k, "--out", d + "/\(name).stats"])
      #expect(r.status == 0, "\(r.err)")
    }
    r = try runANPR(["merge", d + "/k1.stats", d + "/k2.stats", "--out", d + "/k.stats"])
    #expect(r.status == 1 && r.err.contains("different keys"), "\(r.err)")
    try "not statistics\n".write(toFile: d + "/junk.stats", atomically: false, encoding: .utf8)
    r = try runANPR(["merge", d + "/junk.stats", "--out", d + "/j.stats"])
    #expect(r.status == 1 && r.err.contains("junk.stats:1"), "\(r.err)")
  }
}
