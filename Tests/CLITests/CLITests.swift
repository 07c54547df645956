import Foundation
import Testing

/// Runs the built `anpr` binary (beside the test bundle in .build/<config>/) and captures its output.
/// The built `anpr` binary, beside the test bundle in .build/<config>/ (swift-testing may run from
/// inside the .xctest bundle on some layouts).
func anprBinary() -> URL {
  var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("anpr").path), dir.path != "/" {
    dir = dir.deletingLastPathComponent()
  }
  return dir.appendingPathComponent("anpr")
}

/// A new empty directory for one test.
func freshDirectory(_ tag: String) throws -> String {
  let d = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-\(tag)-\(UUID())").path
  try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
  return d
}

/// The JSON object on the last line of a command's output (`--json`).
func lastJSONLine(_ out: String) throws -> [String: Any] {
  try JSONSerialization.jsonObject(with: Data((out.split(separator: "\n").last ?? "").utf8)) as! [String: Any]
}

/// Runs the built `anpr` binary and captures its output.
func runANPR(_ args: [String], stdin: Data? = nil, environment: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
  let p = Process()
  p.executableURL = anprBinary()
  p.arguments = args
  if let environment { p.environment = environment }
  let out = Pipe(), err = Pipe(), inp = Pipe()
  p.standardOutput = out
  p.standardError = err
  p.standardInput = inp
  try p.run()
  if let stdin { inp.fileHandleForWriting.write(stdin) }
  try inp.fileHandleForWriting.close()
  let o = out.fileHandleForReading.readDataToEndOfFile()
  let e = err.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite("anpr binary")
struct BinaryTests {
  @Test func versionAndHelp() throws {
    let v = try runANPR(["--version"])
    #expect(v.status == 0)
    #expect(v.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    let h = try runANPR(["--help"])
    #expect(h.status == 0)
    #expect(h.out.contains("selfcheck"))
  }

  @Test func selfcheckPasses() throws {
    let r = try runANPR(["selfcheck"])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    #expect(!r.out.contains("FAIL"))
  }

  @Test func unknownSubcommandIsAUsageError() throws {
    let r = try runANPR(["no-such-command"])
    #expect(r.status == 64)
    #expect(r.err.contains("Usage") || r.err.contains("USAGE"))
  }
}

/// The command-line contracts scripts rely on, through the built binary on a small simulated town.
@Suite("CLI contracts", .serialized)
struct ContractTests {
  static let dir: String = {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-cli-\(UUID())").path
    try! FileManager.default.createDirectory(atPath: d + "/key", withIntermediateDirectories: true)
    return d
  }()

  func lastJSON(_ out: String) throws -> [String: Any] {
    let line = out.split(separator: "\n").last.map(String.init) ?? ""
    return try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
  }

  @Test func simulateIngestInspectCompareLinkPredict() throws {
    let d = Self.dir
    var r = try runANPR(["simulate", "--seed", "4", "--days", "12", "--scale", "0.4", "--oracle-replicates", "4", "--out", d + "/town"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["keygen", "--out", d + "/key/k"])
    #expect(r.status == 0)
    // Ingest without a key or --keep-raw-plates is refused with what to do.
    r = try runANPR(["ingest", d + "/town/reads.csv", "--cameras", d + "/town/cameras.csv", "--store", d + "/s.anpr"], environment: [:])
    #expect(r.status == 1 && r.err.contains("--keep-raw-plates"))
    r = try runANPR(["ingest", d + "/town/reads.csv", "--cameras", d + "/town/cameras.csv", "--vehicles", d + "/town/vehicles.csv",
                     "--store", d + "/s.anpr", "--key-file", d + "/key/k", "--rejects", d + "/rejects.csv", "--json"])
    #expect(r.status == 0, "\(r.err)")
    let ing = try lastJSON(r.out)
    let n = ing["read"] as! Int, a = ing["accepted"] as! Int, rej = ing["rejected"] as! Int, dup = ing["duplicates"] as! Int
    #expect(n == a + rej + dup && rej > 0)
    r = try runANPR(["inspect", d + "/s.anpr", "--json"])
    #expect(r.status == 0)
    #expect((try lastJSON(r.out)["reads"] as! Int) == a)
    // compare --json: models with name, kind and metrics {value, ci_low, ci_high, fraction_of_oracle}.
    r = try runANPR(["compare", "--store", d + "/s.anpr", "--target", "keeper=rental", "--truth", d + "/town", "--key-file", d + "/key/k",
                     "--train-days", "9", "--max-windows", "2", "--json"])
    #expect(r.status == 0, "\(r.err)")
    let cmp = try lastJSON(r.out)
    let models = cmp["models"] as! [[String: Any]]
    #expect(models.contains { $0["kind"] as? String == "hotspot" } && models.contains { $0["kind"] as? String == "route" })
    #expect(models.contains { ($0["name"] as? String ?? "").hasPrefix("oracle") })
    let glm = models.first { $0["name"] as? String == "poisson-hotspot" }!
    let hit = (glm["metrics"] as! [String: Any])["hit_rate@10%"] as! [String: Any]
    #expect(hit["value"] != nil && hit["ci_low"] != nil && hit["ci_high"] != nil && hit["fraction_of_oracle"] != nil)
    // link: GROUPS.csv header and pseudonymous vehicles.
    r = try runANPR(["link", "--store", d + "/s.anpr", "--out", d + "/groups.csv", "--json"])
    #expect(r.status == 0, "\(r.err)")
    let groups = try String(contentsOfFile: d + "/groups.csv", encoding: .utf8)
    #expect(groups.hasPrefix("group_id,vehicle,plate,from,to,confidence,boundary_confidence,evidence\n"))
    // predict-route for a vehicle seen recently, and errors that say what to do.
    // (swift test runs from the package root, where Models/ is.)
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/markov-route.yaml", "--out", d + "/route.model.json"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["predict-route", "--store", d + "/s.anpr", "--model", d + "/route.model.json", "--recent-hours", "2", "--json"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("nextSite"))
    r = try runANPR(["forecast", "--store", d + "/nope.anpr", "--model", d + "/route.model.json"])
    #expect(r.status != 0 && r.err.contains("anpr ingest"))
    r = try runANPR(["compare", "--store", d + "/s.anpr", "--target", "keeper=spaceship"])
    #expect(r.status == 64 && r.err.contains("keeper must be one of"))
  }

  /// GROUPS.csv on a shared-fleet town: periods of use (PLATE#FROM..TO) with plate, from and to, and
  /// every command that takes a group takes them.
  @Test func groupsOfPeriodsOfUseThroughTheBinary() throws {
    let d = Self.dir + "/shared"
    var r = try runANPR(["simulate", "--seed", "8", "--days", "21", "--fleet", "shared", "--oracle-replicates", "0", "--out", d])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["ingest", d + "/reads.csv", "--cameras", d + "/cameras.csv", "--vehicles", d + "/vehicles.csv",
                     "--store", d + "/s.anpr", "--keep-raw-plates"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["link", "--store", d + "/s.anpr", "--out", d + "/groups.csv", "--episodes", d + "/episodes.csv", "--truth", d, "--json"])
    #expect(r.status == 0, "\(r.err)")
    let out = try lastJSON(r.out)
    #expect((out["groups"] as! Int) >= 1 && out["boundaryAccuracy"] != nil && out["reliability"] != nil)
    let text = try String(contentsOfFile: d + "/groups.csv", encoding: .utf8)
    let lines = text.split(separator: "\n").map(String.init)
    #expect(lines[0] == "group_id,vehicle,plate,from,to,confidence,boundary_confidence,evidence")
    var g1: [String] = []
    for line in lines.dropFirst() {
      let f = line.split(separator: ",", maxSplits: 7).map(String.init)
      #expect(f.count == 8, "\(line)")
      let hash = try #require(f[1].lastIndex(of: "#"))
      #expect(String(f[1][..<hash]) == f[2])  // the episode is of that plate
      #expect(f[3] < f[4] || f[3] == f[4])
      #expect(f[1].contains("#" + f[3].prefix(16)))  // from, to the minute, in the id
      #expect((Double(f[5]) ?? -1) >= 0.5 && (Double(f[6]) ?? -1) > 0)
      if f[0] == "G1" { g1.append(f[1]) }
    }
    let episodes = try String(contentsOfFile: d + "/episodes.csv", encoding: .utf8)
    #expect(episodes.hasPrefix("episode,plate,from,to,visits,boundary_confidence,cut_before,cut_after\n"))
    // The group as a target, and the group's next appearance and route: its periods of use, whatever car.
    r = try runANPR(["next-appearance", "--store", d + "/s.anpr", "--group", d + "/groups.csv:G1", "--top", "3", "--reason", "test G1"])
    #expect(r.status == 0 && r.out.contains("periods of use in"), "\(r.out)\(r.err)")
    #expect(r.out.contains("likely stops on that visit"), "where it will stop is forecast: \(r.out)")
    // Linked groups in the next-appearance backtest (issue 15): beside the truth's groups, each truth
    // group forecast from its linked group; without the truth, the linked groups are the subjects.
    r = try runANPR(["compare", "--store", d + "/s.anpr", "--truth", d, "--groups", d + "/groups.csv", "--no-routes",
                     "--spec", "Models/historical-mean.yaml", "--max-windows", "2", "--json", "--reason", "test"])
    #expect(r.status == 0, "\(r.err)")
    let withTruth = try lastJSON(r.out)["models"] as! [[String: Any]]
    #expect(withTruth.contains { $0["name"] as? String == "next-appearance (groups from anpr link)" }, "\(withTruth.map { $0["name"] ?? "" })")
    #expect(r.out.contains("matched a linked group"))
    // Actor hotspots from linked groups, judged on the truth's actor reads beside the same model
    // trained on those reads (the loss from linking); the oracle row needs expected counts, which this
    // town (simulated with --oracle-replicates 0) does not have, and says so.
    r = try runANPR(["compare", "--store", d + "/s.anpr", "--truth", d, "--target", "groups=" + d + "/groups.csv", "--no-routes", "--no-next-appearance",
                     "--spec", "Models/historical-mean.yaml", "--max-windows", "2", "--json", "--reason", "test"])
    #expect(r.status == 0, "\(r.err)")
    let hotspotRows = (try lastJSON(r.out)["models"] as! [[String: Any]]).compactMap { $0["name"] as? String }
    #expect(Set(hotspotRows).isSuperset(of: ["historical-mean", "historical-mean (truth groups)"]), "\(hotspotRows)")
    #expect(r.out.contains("no oracle row"), "this town was simulated without expected counts")
    // The same for hire cars' hotspots (a truth from another generator has no expected counts either).
    r = try runANPR(["compare", "--store", d + "/s.anpr", "--truth", d, "--target", "keeper=rental", "--no-routes", "--no-next-appearance",
                     "--spec", "Models/historical-mean.yaml", "--max-windows", "1", "--reason", "test"])
    #expect(r.status == 0 && r.out.contains("no oracle row"), "\(r.out)\(r.err)")
    r = try runANPR(["compare", "--store", d + "/s.anpr", "--groups", d + "/groups.csv", "--no-routes",
                     "--spec", "Models/historical-mean.yaml", "--max-windows", "2", "--reason", "test"])
    #expect(r.status == 0 && r.out.contains("each linked group from anpr link"), "\(r.out)\(r.err)")
    // A group with a member this store does not know: refused, naming the group and the member.
    try (text + "G77,NOSUCHCAR#2026-01-01T00:00..2026-01-02T00:00,NOSUCHCAR,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,0.9,0.9,x\n")
      .write(toFile: d + "/bad-groups.csv", atomically: false, encoding: .utf8)
    r = try runANPR(["compare", "--store", d + "/s.anpr", "--groups", d + "/bad-groups.csv", "--no-routes", "--max-windows", "1", "--reason", "test"])
    #expect(r.status != 0 && r.err.contains("group 'G77'") && r.err.contains("NOSUCHCAR"), "\(r.err)")
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/historical-mean.yaml", "--target", "vehicles=" + g1.joined(separator: ","),
                     "--out", d + "/g1.model.json", "--reason", "test G1"])
    #expect(r.status == 0, "\(r.err)")
    // The same group named by its file (issue 15: actor hotspots), and every group at once.
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/historical-mean.yaml", "--target", "group=" + d + "/groups.csv:G1",
                     "--out", d + "/g1b.model.json", "--reason", "test G1"])
    #expect(r.status == 0, "\(r.err)")
    let g1a = try String(contentsOfFile: d + "/g1.model.json", encoding: .utf8), g1b = try String(contentsOfFile: d + "/g1b.model.json", encoding: .utf8)
    #expect(g1a.components(separatedBy: "\"trainingEnd\"")[1] == g1b.components(separatedBy: "\"trainingEnd\"")[1], "the same target, the same model")
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/historical-mean.yaml", "--target", "groups=" + d + "/groups.csv",
                     "--out", d + "/all.model.json", "--reason", "test groups"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/historical-mean.yaml", "--target", "group=" + d + "/groups.csv:G99",
                     "--out", d + "/none.model.json", "--reason", "test"])
    #expect(r.status == 64 && r.err.contains("no group 'G99'"), "\(r.err)")
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/markov-route.yaml", "--out", d + "/route.model.json"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["predict-route", "--store", d + "/s.anpr", "--model", d + "/route.model.json", "--group", d + "/groups.csv:G1", "--json", "--reason", "test G1"])
    #expect(r.status == 0 && r.out.contains("nextSite"), "\(r.err)")
    // A file that is not a groups file, and a group that is not in it: clear errors.
    r = try runANPR(["next-appearance", "--store", d + "/s.anpr", "--group", d + "/episodes.csv:G1", "--reason", "test"])
    #expect(r.status != 0 && r.err.contains("not a groups file"))
    r = try runANPR(["next-appearance", "--store", d + "/s.anpr", "--group", d + "/groups.csv:G999", "--reason", "test"])
    #expect(r.status != 0 && r.err.contains("no group 'G999'"))
  }
}

/// A UK back-office export through the binary: the outcome is in the exit status, and standard input
/// works the same as a file (its first bytes are looked at for the time format, then read once).
@Suite("anpr ingest: real exports")
struct RealExportTests {
  @Test func ukLocalTimeExportExitCodes() throws {
    let d = try freshDirectory("uk")
    try "CameraID,site_id,latitude,longitude\nCAM1,S1,51.5,0.6\nCAM2,S2,51.51,0.61\n".write(toFile: d + "/cams.csv", atomically: false, encoding: .utf8)
    var csv = "VRM,CameraID,ReadTime,Confidence\n"
    for i in 0..<40 { csv += "AB\(10 + i) CDE,CAM\(1 + i % 2),\(String(format: "%02d", 1 + i % 28))/03/2026 0\(i % 10):02:08,0.9\n" }
    try csv.write(toFile: d + "/uk.csv", atomically: false, encoding: .utf8)
    let common = ["--cameras", d + "/cams.csv", "--keep-raw-plates", "--columns", "plate=VRM,camera_id=CameraID,timestamp=ReadTime,confidence=Confidence"]
    // Local times and no --timezone: exit 1 before anything is read, naming the option.
    var r = try runANPR(["ingest", d + "/uk.csv", "--store", d + "/a.anpr"] + common)
    #expect(r.status == 1 && r.err.contains("--timezone") && r.err.contains("uk.csv"), "\(r.err)")
    #expect(!FileManager.default.fileExists(atPath: d + "/a.anpr"))
    r = try runANPR(["ingest", d + "/uk.csv", "--store", d + "/a.anpr", "--timezone", "Europe/London", "--json"] + common)
    #expect(r.status == 0, "\(r.err)")
    #expect(r.err.contains("%d/%m/%Y %H:%M:%S"), "the detected format is reported: \(r.err)")
    #expect(r.out.contains("\"accepted\":40"))
    // The same from standard input.
    r = try runANPR(["ingest", "-", "--store", d + "/b.anpr", "--timezone", "Europe/London", "--json"] + common, stdin: Data(csv.utf8))
    #expect(r.status == 0 && r.out.contains("\"accepted\":40"), "\(r.err)")
    // Every row of the wrong cameras: exit 1, the reason, examples and the fix; no store.
    try "CameraID,latitude,longitude\nX1,51.5,0.6\n".write(toFile: d + "/other.csv", atomically: false, encoding: .utf8)
    var wrong = common; wrong[1] = d + "/other.csv"
    r = try runANPR(["ingest", d + "/uk.csv", "--store", d + "/c.anpr", "--timezone", "Europe/London"] + wrong)
    #expect(r.status == 1 && r.err.contains("unknown_camera") && r.err.contains("line 2") && r.err.contains("nothing was stored"), "\(r.err)")
    #expect(!FileManager.default.fileExists(atPath: d + "/c.anpr"))
    r = try runANPR(["ingest", d + "/uk.csv", "--store", d + "/c.anpr", "--timezone", "Mars/Olympus"] + common)
    #expect(r.status != 0 && r.err.contains("Mars/Olympus"))
  }
}

/// Every file the tool writes, read back by Python's csv and json (independent readers), with site
/// names holding quotes, commas, a newline, backslashes and non-ASCII.
@Suite("anpr outputs: escaping")
struct OutputEscapingTests {
  @Test func hostileSiteNamesSurviveEveryOutput() throws {
    let d = try freshDirectory("esc")
    let sites = ["Site \"A\", north", "back\\slash", "Café – Straße 字", "two\nlines", "plain"]
    var registry = "camera_id,site_id,latitude,longitude\n"
    for (i, s) in sites.enumerated() {
      registry += "C\(i),\"\(s.replacingOccurrences(of: "\"", with: "\"\""))\",\(51.5 + Double(i) * 0.01),\(0.6 + Double(i) * 0.01)\n"
    }
    try registry.write(toFile: d + "/cams.csv", atomically: false, encoding: .utf8)
    var reads = "plate,camera_id,timestamp\n"
    let start = 1_772_668_800  // 2026-03-05T00:00:00Z
    for day in 0..<12 {
      for trip in 0..<30 {
        let t0 = start + day * 86400 + 6 * 3600 + trip * 1500
        for k in 0..<3 { reads += "AB\(trip % 12)CDE,C\((trip + k) % sites.count),\(t0 + k * 300)\n" }
      }
    }
    try reads.write(toFile: d + "/reads.csv", atomically: false, encoding: .utf8)
    var r = try runANPR(["ingest", d + "/reads.csv", "--cameras", d + "/cams.csv", "--store", d + "/s.anpr", "--keep-raw-plates"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/historical-mean.yaml", "--out", d + "/h.model.json"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["forecast", "--store", d + "/s.anpr", "--model", d + "/h.model.json", "--days", "2", "--out", d + "/f.csv",
                     "--ranked", d + "/ranked.csv", "--geojson", d + "/f.geojson", "--excel"])
    #expect(r.status == 0, "\(r.err)")
    // The table prints whole site names (no cut to 5 characters).
    #expect(r.out.contains("back\\slash"), "\(r.out)")
    let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: d + "/f.csv.meta.json"))) as! [String: Any]
    #expect(meta["format"] as? String == "anprkit-forecast v1" && meta["timeZone"] as? String == "Europe/London")
    #expect(!(try String(contentsOfFile: d + "/f.csv", encoding: .utf8)).contains("# format"))
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/markov-route.yaml", "--out", d + "/r.model.json"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["predict-route", "--store", d + "/s.anpr", "--model", d + "/r.model.json", "--recent-hours", "48", "--out", d + "/route.csv"])
    #expect(r.status == 0, "\(r.err)")
    let expected = try JSONSerialization.data(withJSONObject: sites + ["END"])
    try expected.write(to: URL(fileURLWithPath: d + "/sites.json"))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "Tests/CLITests/Scripts/read_outputs.py", d + "/sites.json", d + "/f.csv:unit_id", d + "/ranked.csv:unit_id",
                   d + "/f.geojson:unit", d + "/route.csv:last_site", d + "/route.csv:next_site"]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(p.terminationStatus == 0, "\(text)")
  }
}

/// Watch lists of plates are pseudonymised on load, and trained models carry their clock.
@Suite("anpr train/forecast: watch lists and time zones")
struct WatchListAndZoneTests {
  @Test func plateWatchListAndModelTimeZone() throws {
    let d = try freshDirectory("wl")
    #expect(try runANPR(["keygen", "--out", d + "/key"]).status == 0)
    var r = try runANPR(["ingest", "Data/sample/reads.csv.gz", "--cameras", "Data/sample/cameras.csv", "--vehicles", "Data/sample/vehicles.csv",
                         "--store", d + "/s.anpr", "--key-file", d + "/key"])
    #expect(r.status == 0, "\(r.err)")
    let vehicles = try String(contentsOfFile: "Data/sample/vehicles.csv", encoding: .utf8).split(separator: "\n").dropFirst()
    let rental = vehicles.filter { $0.contains(",rental") }.prefix(3).map { String($0.split(separator: ",")[0]) }
    #expect(rental.count == 3)
    // Plates written as an analyst would: spaces, lower case.
    let list = rental.map { p in " " + p.lowercased().prefix(4) + " " + p.lowercased().dropFirst(4) + " " }.joined(separator: "\n") + "\n"
    try list.write(toFile: d + "/watch.txt", atomically: false, encoding: .utf8)
    let train = ["train", "--store", d + "/s.anpr", "--spec", "Models/historical-mean.yaml", "--target", "watchlist=" + d + "/watch.txt",
                 "--reason", "test watch list"]
    r = try runANPR(train + ["--out", d + "/w.model.json"], environment: [:])
    #expect(r.status == 1 && r.err.contains("--key-file"), "without the key the plates cannot be matched: \(r.err)")
    r = try runANPR(train + ["--out", d + "/w.model.json", "--key-file", d + "/key"])
    #expect(r.status == 0, "\(r.err)")
    #expect(!r.out.contains(" 0 target counts"), "\(r.out)")
    let model = try String(contentsOfFile: d + "/w.model.json", encoding: .utf8)
    for p in rental { #expect(!model.contains(p), "no plate in the model file") }
    let header = (try JSONSerialization.jsonObject(with: Data(model.utf8)) as! [String: Any])["header"] as! [String: Any]
    #expect(header["timeZone"] as? String == "Europe/London", "the model records its clock")
    try "ZZ99 ZZZ\n".write(toFile: d + "/none.txt", atomically: false, encoding: .utf8)
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/historical-mean.yaml", "--target", "watchlist=" + d + "/none.txt",
                     "--key-file", d + "/key", "--out", d + "/n.model.json", "--reason", "test"])
    #expect(r.status == 1 && r.err.contains("match no vehicle"), "\(r.err)")
    #expect(!FileManager.default.fileExists(atPath: d + "/n.model.json"))
    // The same model forecast in London and in New York: the same expected count for every UTC bin
    // (the model is evaluated on its own clock), windows shown in the zone asked for.
    let fc = ["forecast", "--store", d + "/s.anpr", "--model", d + "/w.model.json", "--days", "2", "--window", "Thu 16-19"]
    r = try runANPR(fc + ["--out", d + "/london.csv"])
    #expect(r.status == 0 && r.out.contains("Europe/London time"), "\(r.out)\(r.err)")
    r = try runANPR(fc + ["--out", d + "/ny.csv", "--timezone", "America/New_York"])
    #expect(r.status == 0 && r.out.contains("America/New_York time") && r.out.contains("learned its hours on Europe/London"), "\(r.out)\(r.err)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: d + "/london.csv")) == Data(contentsOf: URL(fileURLWithPath: d + "/ny.csv")))
  }
}

/// Statistics computed elsewhere, end to end without a store: counts train and forecast a hotspot
/// model, transitions train and compare route models.
@Suite("anpr without a store: counts and transitions")
struct StatisticsFromElsewhereTests {
  @Test func countsAndTransitionsEndToEnd() throws {
    let d = try freshDirectory("stats")
    try "unit_id,latitude,longitude\nU1,51.50,0.60\nU2,51.51,0.61\nU3,51.52,0.62\n".write(toFile: d + "/units.csv", atomically: false, encoding: .utf8)
    var counts = "unit_id,bin_start,count\n"
    for h in 0..<(14 * 24) { for (k, u) in ["U1", "U2", "U3"].enumerated() { counts += "\(u),\(Timestamp(1_772_668_800 + h * 3600)),\((h % 24) / 6 + k * 3)\n" } }
    try counts.write(toFile: d + "/counts.csv", atomically: false, encoding: .utf8)
    var transitions = "from_site,to_site,hour,count,mean_seconds\n"
    for h in 0..<24 { transitions += "U1,U2,\(h),\(h < 12 ? 20 : 5),300\nU1,U3,\(h),\(h < 12 ? 5 : 20),420\nU2,END,\(h),7,\n" }
    try transitions.write(toFile: d + "/transitions.csv", atomically: false, encoding: .utf8)
    var r = try runANPR(["train", "--counts", d + "/counts.csv", "--units", d + "/units.csv", "--spec", "Models/historical-mean.yaml", "--out", d + "/h.json"])
    #expect(r.status == 0 && r.out.contains("3 sites × 336 bins"), "\(r.out)\(r.err)")
    // --until applies to counts (it had been ignored): the bins that end by then; none is an error.
    r = try runANPR(["train", "--counts", d + "/counts.csv", "--units", d + "/units.csv", "--spec", "Models/historical-mean.yaml",
                     "--until", "2026-03-12T00:00:00Z", "--out", d + "/h7.json"])
    #expect(r.status == 0 && r.out.contains("3 sites × 168 bins") && r.out.contains("168 of 336 bins"), "\(r.out)\(r.err)")
    r = try runANPR(["train", "--counts", d + "/counts.csv", "--units", d + "/units.csv", "--spec", "Models/historical-mean.yaml",
                     "--until", "2020-01-01T00:00:00Z", "--out", d + "/h0.json"])
    #expect(r.status == 64 && r.err.contains("no bin") && !FileManager.default.fileExists(atPath: d + "/h0.json"), "\(r.err)")
    r = try runANPR(["train", "--transitions", d + "/transitions.csv", "--units", d + "/units.csv", "--spec", "Models/markov-route-order1.yaml",
                     "--until", "2026-03-12T00:00:00Z", "--out", d + "/r0.json"])
    #expect(r.status == 64 && r.err.contains("--transitions"), "\(r.err)")
    r = try runANPR(["forecast", "--counts", d + "/counts.csv", "--units", d + "/units.csv", "--model", d + "/h.json", "--days", "1", "--json"])
    #expect(r.status == 0 && r.out.contains("\"unit\":\"U3\""), "\(r.out)\(r.err)")
    r = try runANPR(["train", "--transitions", d + "/transitions.csv", "--units", d + "/units.csv", "--spec", "Models/markov-route-order1.yaml", "--out", d + "/r.json"])
    #expect(r.status == 0 && r.out.contains("moves between 3 sites"), "\(r.out)\(r.err)")
    r = try runANPR(["train", "--transitions", d + "/transitions.csv", "--units", d + "/units.csv", "--spec", "Models/markov-route.yaml", "--out", d + "/r2.json"])
    #expect(r.status == 1 && r.err.contains("order: 1"), "an order-2 spec cannot learn from first-order moves: \(r.err)")
    r = try runANPR(["compare", "--transitions", d + "/transitions.csv", "--units", d + "/units.csv", "--json"])
    #expect(r.status == 0, "\(r.err)")
    let models = (try lastJSONLine(r.out))["models"] as! [[String: Any]]
    #expect(Set(models.compactMap { $0["name"] as? String }) == ["markov-order1", "markov-order1-bands", "count table (current → next)"])
    r = try runANPR(["train", "--spec", "Models/historical-mean.yaml", "--out", d + "/x.json"])
    #expect(r.status == 64 && r.err.contains("--counts"))
  }
}

private func Timestamp(_ t: Int) -> String {
  let f = ISO8601DateFormatter()
  return f.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
}

/// Nothing lost, nothing destroyed: outputs never overwrite inputs, devices are written through, the
/// rejects file (raw rows) is private, two appends at once both land, implausible times are per-row.
@Suite("anpr files: inputs and outputs")
struct FileSafetyTests {
  @Test func outputsNeverDestroyInputsAndAppendsSerialise() throws {
    let d = try freshDirectory("safe")
    try "camera_id,latitude,longitude\nC1,51.5,0.6\nC2,51.51,0.61\n".write(toFile: d + "/cams.csv", atomically: false, encoding: .utf8)
    func batch(_ k: Int, rows: Int) -> String {
      var s = "plate,camera_id,timestamp\n"
      for i in 0..<rows { s += "B\(k)X\(i)AB,C\(1 + i % 2),\(1_772_668_800 + k * 100_000 + i * 13)\n" }
      return s
    }
    try (batch(0, rows: 50) + "ZZ1ZZZ,C1,2099-01-01T00:00:00Z\nQQ1,C9,1772668800\n").write(toFile: d + "/r0.csv", atomically: false, encoding: .utf8)
    let common = ["--cameras", d + "/cams.csv", "--keep-raw-plates"]
    var r = try runANPR(["ingest", d + "/r0.csv", "--store", d + "/s.anpr", "--rejects", d + "/rej.csv", "--json"] + common)
    #expect(r.status == 0 && r.out.contains("\"implausible_timestamp\":1"), "a row dated 2099 is rejected alone: \(r.out)\(r.err)")
    var st = stat()
    #expect(stat(d + "/rej.csv", &st) == 0 && st.st_mode & 0o777 == 0o600, "the rejects file holds raw rows: 0600")
    // Outputs that are inputs are refused, and the input is untouched.
    let before = try Data(contentsOf: URL(fileURLWithPath: d + "/r0.csv"))
    r = try runANPR(["ingest", d + "/r0.csv", "--store", d + "/t.anpr", "--rejects", d + "/r0.csv"] + common)
    #expect(r.status == 1 && r.err.contains("refusing to overwrite an input"), "\(r.err)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: d + "/r0.csv")) == before)
    r = try runANPR(["ingest", d + "/r0.csv", "--store", d + "/s.anpr", "--rejects", d + "/s.anpr"] + common)
    #expect(r.status == 1 && r.err.contains("same file"), "\(r.err)")
    try FileManager.default.copyItem(atPath: "Models/historical-mean.yaml", toPath: d + "/spec.yaml")
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", d + "/spec.yaml", "--out", d + "/spec.yaml"])
    #expect(r.status == 1 && r.err.contains("--spec"), "\(r.err)")
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", d + "/spec.yaml", "--out", d + "/m.json"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["forecast", "--store", d + "/s.anpr", "--model", d + "/m.json", "--geojson", d + "/m.json"])
    #expect(r.status == 1 && r.err.contains("--model"), "\(r.err)")
    // A device is written through, not replaced by a regular file.
    r = try runANPR(["ingest", d + "/r0.csv", "--store", d + "/u.anpr", "--rejects", "/dev/null"] + common)
    #expect(r.status == 0, "\(r.err)")
    #expect(stat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR)
    r = try runANPR(["purge", d + "/s.anpr", "--retain-days", "0"])
    #expect(r.status == 64)
    // Two appends at once: both batches land (the second waits for the first).
    for k in 1...2 { try batch(k, rows: 30_000).write(toFile: d + "/r\(k).csv", atomically: false, encoding: .utf8) }
    let procs = try (1...2).map { k -> Process in
      let p = Process()
      p.executableURL = anprBinary()
      p.arguments = ["ingest", d + "/r\(k).csv", "--store", d + "/s.anpr"] + common
      p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
      try p.run()
      return p
    }
    for p in procs { p.waitUntilExit(); #expect(p.terminationStatus == 0) }
    r = try runANPR(["inspect", d + "/s.anpr", "--json"])
    let reads = (try lastJSONLine(r.out))["reads"] as! Int
    #expect(reads == 50 + 60_000, "both appends are in the store")
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: d).filter { $0.contains(".anprkit-tmp-") || $0.contains(".tmp-") }
    #expect(leftovers.isEmpty, "\(leftovers)")
    // A temporary file an interrupted run left (its process gone) is removed on the next write, and said.
    let stale = d + "/rej2.csv.anprkit-tmp-2147483000"
    try "VRM,raw plates\n".write(toFile: stale, atomically: false, encoding: .utf8)
    r = try runANPR(["ingest", d + "/r0.csv", "--store", d + "/v.anpr", "--rejects", d + "/rej2.csv"] + common)
    #expect(r.status == 0 && !FileManager.default.fileExists(atPath: stale) && r.err.contains("interrupted run"), "\(r.err)")
  }
}

/// Same input, same bytes across processes; damaged model files refused with the field.
@Suite("anpr train: determinism and damaged models")
struct ModelFileProcessTests {
  @Test func twoTrainRunsWriteTheSameBytesAndDamageIsRefused() throws {
    let d = try freshDirectory("det")
    var r = try runANPR(["ingest", "Data/sample/reads.csv.gz", "--cameras", "Data/sample/cameras.csv", "--store", d + "/s.anpr", "--keep-raw-plates"])
    #expect(r.status == 0, "\(r.err)")
    for spec in ["markov-route", "historical-mean"] {
      for run in ["a", "b"] {
        r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/\(spec).yaml", "--out", d + "/\(spec)-\(run).json"])
        #expect(r.status == 0, "\(r.err)")
      }
      let a = try Data(contentsOf: URL(fileURLWithPath: d + "/\(spec)-a.json")), b = try Data(contentsOf: URL(fileURLWithPath: d + "/\(spec)-b.json"))
      #expect(a == b, "\(spec): two processes wrote different bytes")
    }
    let route = try String(contentsOfFile: d + "/markov-route-a.json", encoding: .utf8)
    let edited = route.replacingOccurrences(of: "\"medianSpeed\" : ", with: "\"medianSpeed\" : -")
    #expect(edited != route)
    try edited.write(toFile: d + "/bad-route.json", atomically: false, encoding: .utf8)
    r = try runANPR(["predict-route", "--store", d + "/s.anpr", "--model", d + "/bad-route.json", "--recent-hours", "2"])
    #expect(r.status == 1 && r.err.contains("medianSpeed"), "\(r.err)")
  }
}
