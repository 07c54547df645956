import Foundation
import Testing

/// Same input, same bytes — across processes (each run has its own hash seed, so a float sum taken in
/// dictionary order, or a dictionary written in its own order, shows here and not within one process).
@Suite("anpr: the same bytes from two processes", .serialized)
struct CrossProcessDeterminismTests {
  @Test func linkConvoysAndStatisticsAreTheSameBytesTwice() throws {
    let d = try freshDirectory("determinism")
    var r = try runANPR(["simulate", "--seed", "7406", "--days", "7", "--scale", "0.3", "--fleet", "shared", "--oracle-replicates", "0", "--out", d + "/town"])
    #expect(r.status == 0, "\(r.err)")
    // A pair travelling together (10 s apart past four sites at 01:00 on six days), so there is co-travel to report.
    let cameras = try String(contentsOfFile: d + "/town/cameras.csv", encoding: .utf8).split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[0]) }
    var extra = ""
    let iso = ISO8601DateFormatter()
    for day in 0..<6 {
      for (k, camera) in cameras.prefix(8).enumerated() where k % 2 == 0 {
        let t = Date(timeIntervalSince1970: 1_772_413_200 + Double(day * 86400 + k * 300))  // 2026-03-02T01:00Z + …
        extra += "c\(day)\(k)a,CNV1A,\(camera),\(iso.string(from: t)),0.9\nc\(day)\(k)b,CNV1B,\(camera),\(iso.string(from: t.addingTimeInterval(10))),0.9\n"
      }
    }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: d + "/town/reads.csv"))
    handle.seekToEndOfFile()
    handle.write(Data(extra.utf8))
    try handle.close()
    r = try runANPR(["ingest", d + "/town/reads.csv", "--cameras", d + "/town/cameras.csv", "--vehicles", d + "/town/vehicles.csv",
                     "--keep-raw-plates", "--store", d + "/s.anpr"])
    #expect(r.status == 0, "\(r.err)")
    for run in ["1", "2"] {
      r = try runANPR(["link", "--store", d + "/s.anpr", "--out", d + "/groups\(run).csv", "--links", d + "/links\(run).csv",
                       "--episodes", d + "/episodes\(run).csv", "--convoys", d + "/convoys\(run).csv", "--convoy-min-sites", "2"])
      #expect(r.status == 0, "\(r.err)")
      r = try runANPR(["stats", "--store", d + "/s.anpr", "--out", d + "/stats\(run).stats"])
      #expect(r.status == 0, "\(r.err)")
      r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/markov-route.yaml", "--out", d + "/route\(run).json"])
      #expect(r.status == 0, "\(r.err)")
    }
    for name in ["groups", "links", "episodes", "convoys"] {
      let a = FileManager.default.contents(atPath: d + "/\(name)1.csv"), b = FileManager.default.contents(atPath: d + "/\(name)2.csv")
      #expect(a != nil && a == b, "\(name).csv differs between two runs")
    }
    let convoys = try String(contentsOfFile: d + "/convoys1.csv", encoding: .utf8)
    #expect(convoys.split(separator: "\n").count > 1, "the check needs some co-travel pairs to compare")
    #expect(FileManager.default.contents(atPath: d + "/stats1.stats") == FileManager.default.contents(atPath: d + "/stats2.stats"))
    #expect(FileManager.default.contents(atPath: d + "/route1.json") == FileManager.default.contents(atPath: d + "/route2.json"))
  }

  /// Every registered model kind (`anpr models --json`), trained by two separate processes on the same
  /// store, writes the same bytes: the model contract's determinism, which a test inside one process
  /// (one hash seed) cannot see.
  @Test func everyRegisteredModelTrainsToTheSameBytesTwice() throws {
    let d = try freshDirectory("contract-bytes")
    var r = try runANPR(["ingest", "Data/sample/reads.csv.gz", "--cameras", "Data/sample/cameras.csv", "--vehicles", "Data/sample/vehicles.csv",
                         "--keep-raw-plates", "--store", d + "/s.anpr"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["models", "--json"])
    #expect(r.status == 0, "\(r.err)")
    let kinds = try r.out.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: String] }
    #expect(kinds.count >= 10)
    for entry in kinds {
      let kind = entry["kind"]!, params = entry["quick_parameters"]!
      try "kind: \(kind)\nparams: \(params)\n".write(toFile: d + "/\(kind).yaml", atomically: false, encoding: .utf8)
      for run in ["1", "2"] {
        r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", d + "/\(kind).yaml", "--out", d + "/\(kind)\(run).json"])
        #expect(r.status == 0, "\(kind): \(r.err)")
      }
      let a = FileManager.default.contents(atPath: d + "/\(kind)1.json"), b = FileManager.default.contents(atPath: d + "/\(kind)2.json")
      #expect(a != nil && a == b, "\(kind): two runs of anpr train wrote different bytes")
      r = try runANPR(["models", d + "/\(kind)1.json"])
      #expect(r.status == 0 && r.out.contains("(\(kind), \(entry["family"]!))"), "\(kind): \(r.out)\(r.err)")
    }
  }

  /// Results do not depend on the number of worker threads (ANPR_THREADS) or OpenBLAS threads
  /// (OPENBLAS_NUM_THREADS, which is the machine's core count unless set): every parallel sum is merged in
  /// a fixed order, and model fits run OpenBLAS on one thread. Ingest (the parallel parser, forced onto
  /// the small file), route transitions, statistics, linkage and the Poisson and negative-binomial
  /// hotspot GLMs and a comparison (its models run side by side), on 1 and 3 threads (the GLMs' files differed before fits were held to one thread).
  @Test func theSameBytesOnOneOrThreeThreads() throws {
    let d = try freshDirectory("threads")
    // A plain file, parsed in byte ranges on every thread (the parallel parser takes plain files only).
    let gz = Process()
    gz.executableURL = URL(fileURLWithPath: "/bin/sh")
    gz.arguments = ["-c", "gzip -dc Data/sample/reads.csv.gz > \(d)/reads.csv"]
    try gz.run(); gz.waitUntilExit()
    #expect(gz.terminationStatus == 0)
    for threads in ["1", "3"] {
      var env = ProcessInfo.processInfo.environment
      env["ANPR_THREADS"] = threads
      env["OPENBLAS_NUM_THREADS"] = threads
      env["ANPR_PARALLEL_MIN_BYTES"] = "1"
      // The same store path each time (a store records its audit log's path), made afresh.
      for f in (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? [] where f.hasPrefix("s.anpr") { try FileManager.default.removeItem(atPath: d + "/" + f) }
      var r = try runANPR(["ingest", d + "/reads.csv", "--cameras", "Data/sample/cameras.csv", "--vehicles", "Data/sample/vehicles.csv",
                           "--keep-raw-plates", "--store", d + "/s.anpr"], environment: env)
      #expect(r.status == 0, "\(r.err)")
      r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/markov-route.yaml", "--out", d + "/route\(threads).json"], environment: env)
      #expect(r.status == 0, "\(r.err)")
      r = try runANPR(["stats", "--store", d + "/s.anpr", "--out", d + "/stats\(threads).stats"], environment: env)
      #expect(r.status == 0, "\(r.err)")
      for glm in ["poisson-hotspot", "negative-binomial-hotspot"] {
        r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/\(glm).yaml", "--out", d + "/\(glm)\(threads).json"], environment: env)
        #expect(r.status == 0, "\(r.err)")
      }
      r = try runANPR(["link", "--store", d + "/s.anpr", "--out", d + "/groups\(threads).csv", "--links", d + "/links\(threads).csv"], environment: env)
      #expect(r.status == 0, "\(r.err)")
      // The backtest runs the models side by side on the worker threads.
      r = try runANPR(["compare", "--store", d + "/s.anpr", "--no-routes", "--no-next-appearance", "--max-windows", "3",
                       "--spec", "Models/historical-mean.yaml", "--spec", "Models/poisson-hotspot.yaml", "--spec", "Models/kernel-density.yaml",
                       "--out", d + "/compare\(threads).json"], environment: env)
      #expect(r.status == 0, "\(r.err)")
      try FileManager.default.copyItem(atPath: d + "/s.anpr", toPath: d + "/s\(threads).anpr")
    }
    for (a, b) in [("s1.anpr", "s3.anpr"), ("route1.json", "route3.json"), ("stats1.stats", "stats3.stats"), ("groups1.csv", "groups3.csv"),
                   ("links1.csv", "links3.csv"), ("poisson-hotspot1.json", "poisson-hotspot3.json"), ("compare1.json", "compare3.json"),
                   ("negative-binomial-hotspot1.json", "negative-binomial-hotspot3.json")] {
      let x = FileManager.default.contents(atPath: d + "/" + a), y = FileManager.default.contents(atPath: d + "/" + b)
      #expect(x != nil && x == y, "\(a) and \(b) differ: the result depends on the thread count")
    }
  }
}
