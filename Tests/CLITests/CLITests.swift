import Foundation
import Testing

/// Runs the built `anpr` binary (beside the test bundle in .build/<config>/) and captures its output.
func runANPR(_ args: [String], stdin: Data? = nil, environment: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
  var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  // swift-testing may run from inside the .xctest bundle on some layouts
  while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("anpr").path), dir.path != "/" {
    dir = dir.deletingLastPathComponent()
  }
  let p = Process()
  p.executableURL = dir.appendingPathComponent("anpr")
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
    r = try runANPR(["next-appearance", "--store", d + "/s.anpr", "--group", d + "/groups.csv:G1", "--top", "3"])
    #expect(r.status == 0 && r.out.contains("periods of use in"), "\(r.out)\(r.err)")
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/historical-mean.yaml", "--target", "vehicles=" + g1.joined(separator: ","),
                     "--out", d + "/g1.model.json"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["train", "--store", d + "/s.anpr", "--spec", "Models/markov-route.yaml", "--out", d + "/route.model.json"])
    #expect(r.status == 0, "\(r.err)")
    r = try runANPR(["predict-route", "--store", d + "/s.anpr", "--model", d + "/route.model.json", "--group", d + "/groups.csv:G1", "--json"])
    #expect(r.status == 0 && r.out.contains("nextSite"), "\(r.err)")
    // A file that is not a groups file, and a group that is not in it: clear errors.
    r = try runANPR(["next-appearance", "--store", d + "/s.anpr", "--group", d + "/episodes.csv:G1"])
    #expect(r.status != 0 && r.err.contains("not a groups file"))
    r = try runANPR(["next-appearance", "--store", d + "/s.anpr", "--group", d + "/groups.csv:G999"])
    #expect(r.status != 0 && r.err.contains("no group 'G999'"))
  }
}

/// A UK back-office export through the binary: the outcome is in the exit status, and standard input
/// works the same as a file (its first bytes are looked at for the time format, then read once).
@Suite("anpr ingest: real exports")
struct RealExportTests {
  @Test func ukLocalTimeExportExitCodes() throws {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-uk-\(UUID())").path
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    try "CameraID,site_id,latitude,longitude\nCAM1,S1,51.5,0.6\nCAM2,S2,51.51,0.61\n".write(toFile: d + "/cams.csv", atomically: true, encoding: .utf8)
    var csv = "VRM,CameraID,ReadTime,Confidence\n"
    for i in 0..<40 { csv += "AB\(10 + i) CDE,CAM\(1 + i % 2),\(String(format: "%02d", 1 + i % 28))/03/2026 0\(i % 10):02:08,0.9\n" }
    try csv.write(toFile: d + "/uk.csv", atomically: true, encoding: .utf8)
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
    try "CameraID,latitude,longitude\nX1,51.5,0.6\n".write(toFile: d + "/other.csv", atomically: true, encoding: .utf8)
    var wrong = common; wrong[1] = d + "/other.csv"
    r = try runANPR(["ingest", d + "/uk.csv", "--store", d + "/c.anpr", "--timezone", "Europe/London"] + wrong)
    #expect(r.status == 1 && r.err.contains("unknown_camera") && r.err.contains("line 2") && r.err.contains("nothing was stored"), "\(r.err)")
    #expect(!FileManager.default.fileExists(atPath: d + "/c.anpr"))
    r = try runANPR(["ingest", d + "/uk.csv", "--store", d + "/c.anpr", "--timezone", "Mars/Olympus"] + common)
    #expect(r.status != 0 && r.err.contains("Mars/Olympus"))
  }
}
