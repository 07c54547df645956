import Foundation
import Testing

/// Writers killed at random points and writers racing: the store is always the old one or the new
/// one, whole; no temporary file outlives the next run; two appends at once both land.
@Suite("Crash safety and concurrent writers", .serialized)
struct CrashSafetyTests {
  /// A small town split into a base (first days) and two later batches, plus the key.
  struct Town {
    let dir: String
    var cameras: String { dir + "/town/cameras.csv" }
    var key: String { dir + "/key" }
    func path(_ name: String) -> String { dir + "/" + name }
  }

  func makeTown() throws -> Town {
    let d = try freshDirectory("crash")
    let t = Town(dir: d)
    #expect(try runANPR(["simulate", "--seed", "4242", "--days", "6", "--scale", "0.8", "--oracle-replicates", "0", "--out", d + "/town"]).status == 0)
    #expect(try runANPR(["keygen", "--out", t.key]).status == 0)
    let text = try String(contentsOfFile: d + "/town/reads.csv", encoding: .utf8)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let header = lines.removeFirst()
    // Split by the day in the timestamp column: days 1–4 base, day 5 batch A, day 6 on batch B.
    let days = Set(lines.compactMap { $0.split(separator: ",").dropFirst(3).first?.prefix(10) }).sorted()
    var parts: [String: [Substring]] = ["base.csv": [header], "a.csv": [header], "b.csv": [header]]
    for l in lines where !l.isEmpty {
      let day = l.split(separator: ",").dropFirst(3).first?.prefix(10) ?? ""
      let k = days.firstIndex(of: day).map { $0 < 4 ? "base.csv" : $0 == 4 ? "a.csv" : "b.csv" } ?? "base.csv"
      parts[k]!.append(l)
    }
    for (name, rows) in parts { try (rows.joined(separator: "\n") + "\n").write(toFile: t.path(name), atomically: false, encoding: .utf8) }
    return t
  }

  func ingestArgs(_ t: Town, _ reads: String, store: String) -> [String] {
    ["ingest", t.path(reads), "--cameras", t.cameras, "--store", store, "--key-file", t.key, "--max-reject-rate", "1", "--json"]
  }

  func readCount(_ store: String) throws -> Int? {
    guard FileManager.default.fileExists(atPath: store) else { return nil }
    let r = try runANPR(["inspect", store, "--json"])
    #expect(r.status == 0, "the store opens after the kill: \(r.err)")
    return r.status == 0 ? (try lastJSONLine(r.out)["reads"] as? Int) : -1
  }

  func temporaries(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".anprkit-tmp-") }
  }

  /// Starts `args`, waits `delay` seconds, sends `signal`; returns once the process has ended.
  func runKilled(_ args: [String], after delay: Double, signal: Int32) throws {
    let p = Process()
    p.executableURL = anprBinary()
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    usleep(useconds_t(delay * 1_000_000))
    kill(p.processIdentifier, signal)
    p.waitUntilExit()
  }

  /// Starts `args` with the failpoint `name` armed, SIGKILLs it once it reports reaching it; whether it did.
  func runKilled(_ args: [String], atFailpoint name: String) throws -> Bool {
    let p = Process()
    p.executableURL = anprBinary()
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    env["ANPRKIT_FAILPOINT"] = name
    p.environment = env
    let err = Pipe()
    p.standardOutput = FileHandle.nullDevice
    p.standardError = err
    try p.run()
    var seen = Data()
    while true {
      let chunk = err.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      seen += chunk
      if String(decoding: seen, as: UTF8.self).contains("failpoint \(name) reached") { break }
    }
    let reached = String(decoding: seen, as: UTF8.self).contains("failpoint \(name) reached")
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
    return reached
  }

  /// Runs `args` to completion (it must succeed); its wall time in seconds.
  func timed(_ args: [String]) throws -> Double {
    let start = Date()
    let r = try runANPR(args)
    #expect(r.status == 0, "\(args.first ?? ""): \(r.err)")
    return Date().timeIntervalSince(start)
  }

  /// ingest (new store), append, compact and purge, each killed (SIGKILL) at points drawn from a
  /// fixed seed across its running time, and interrupted once with SIGTERM: after each, the store
  /// holds exactly the reads before or after the command; the next run clears what the kill left and
  /// ends with the full result; a SIGTERM leaves no temporary file at all.
  @Test func killedWritersLeaveTheOldStoreOrTheNew() throws {
    let t = try makeTown()
    let store = t.path("s.anpr")
    let pristine = t.path("pristine")
    try FileManager.default.createDirectory(atPath: pristine, withIntermediateDirectories: true)
    // Reference results, and each command's running time.
    var duration: [String: Double] = [:]
    duration["ingest"] = try timed(ingestArgs(t, "base.csv", store: store))
    let base = try readCount(store)!
    for f in ["s.anpr"] { try FileManager.default.copyItem(atPath: store, toPath: pristine + "/" + f) }
    duration["append"] = try timed(ingestArgs(t, "a.csv", store: store))
    let appended = try readCount(store)!
    #expect(appended > base)
    for f in ["s.anpr", "s.anpr.manifest", "s.anpr.seg-0-0001"] { try FileManager.default.copyItem(atPath: t.path(f), toPath: pristine + "/appended-" + f) }
    duration["compact"] = try timed(["compact", store])
    #expect(try readCount(store) == appended)
    let purgeArgs = ["purge", store, "--retain-days", "2", "--as-of", "2026-03-07T00:00:00Z"]
    duration["purge"] = try timed(purgeArgs)
    let purged = try readCount(store)!
    #expect(purged < appended)

    func reset(_ state: String) throws {
      for f in ((try? FileManager.default.contentsOfDirectory(atPath: t.dir)) ?? []) where f.hasPrefix("s.anpr") && !f.hasPrefix("s.anpr.audit") { try FileManager.default.removeItem(atPath: t.path(f)) }
      switch state {
      case "none": break
      case "base": try FileManager.default.copyItem(atPath: pristine + "/s.anpr", toPath: store)
      default:
        for f in ["s.anpr", "s.anpr.manifest", "s.anpr.seg-0-0001"] { try FileManager.default.copyItem(atPath: pristine + "/appended-" + f, toPath: t.path(f)) }
      }
    }
    let cases: [(name: String, start: String, args: [String], before: Int?, after: Int)] = [
      ("ingest", "none", ingestArgs(t, "base.csv", store: store), nil, base),
      ("append", "base", ingestArgs(t, "a.csv", store: store), base, appended),
      ("compact", "appended", ["compact", store], appended, appended),
      ("purge", "appended", purgeArgs, appended, purged),
    ]
    var x: UInt64 = 2026
    for c in cases {
      for k in 0..<4 {
        x = x &* 6364136223846793005 &+ 1442695040888963407
        let delay = duration[c.name]! * (0.05 + 0.9 * Double(x >> 11) / Double(1 << 53))
        try reset(c.start)
        try runKilled(c.args, after: delay, signal: k == 3 ? SIGTERM : SIGKILL)
        let n = try readCount(store)
        #expect(n == c.before || n == c.after, "\(c.name) killed after \(delay) s: \(n.map(String.init) ?? "no store") reads, expected \(c.before.map(String.init) ?? "no store") or \(c.after)")
        if k == 3 { #expect(temporaries(t.dir).isEmpty, "SIGTERM to \(c.name) after \(delay) s left \(temporaries(t.dir))") }
        // The next run clears what the kill left, and completes.
        if n == c.after && c.before != c.after { continue }
        let again = try runANPR(n == c.after ? ["compact", store] : c.args)
        #expect(again.status == 0, "\(c.name) re-run after a kill at \(delay) s: \(again.err)")
        #expect(temporaries(t.dir).isEmpty, "after the re-run of \(c.name): \(temporaries(t.dir))")
        #expect(try readCount(store) == c.after)
      }
    }
  }

  /// Killed exactly at each point of the write path: with a temporary file complete but not renamed
  /// (the old store intact; the next run removes the file and says so), with a segment written but not
  /// yet listed (the old store; the next append replaces it), and with a rewritten base renamed in but
  /// the old manifest and segments still there (the new store; the next writer removes them).
  @Test func writersKilledAtEachFailpoint() throws {
    let t = try makeTown()
    let store = t.path("s.anpr")
    let saved = t.path("saved")
    try FileManager.default.createDirectory(atPath: saved, withIntermediateDirectories: true)
    #expect(try timed(ingestArgs(t, "base.csv", store: store)) > 0)
    let base = try readCount(store)!
    try FileManager.default.copyItem(atPath: store, toPath: saved + "/base")
    #expect(try timed(ingestArgs(t, "a.csv", store: store)) > 0)
    let appended = try readCount(store)!
    for f in ["s.anpr", "s.anpr.manifest", "s.anpr.seg-0-0001"] { try FileManager.default.copyItem(atPath: t.path(f), toPath: saved + "/" + f) }
    let purgeArgs = ["purge", store, "--retain-days", "2", "--as-of", "2026-03-07T00:00:00Z"]
    #expect(try timed(purgeArgs) > 0)
    let purged = try readCount(store)!
    func reset(_ state: String) throws {
      for f in ((try? FileManager.default.contentsOfDirectory(atPath: t.dir)) ?? []) where f.hasPrefix("s.anpr") && !f.hasPrefix("s.anpr.audit") { try FileManager.default.removeItem(atPath: t.path(f)) }
      if state == "base" { try FileManager.default.copyItem(atPath: saved + "/base", toPath: store) }
      if state == "appended" { for f in ["s.anpr", "s.anpr.manifest", "s.anpr.seg-0-0001"] { try FileManager.default.copyItem(atPath: saved + "/" + f, toPath: t.path(f)) } }
    }
    let cases: [(start: String, args: [String], point: String, left: Int?, after: Int)] = [
      ("none", ingestArgs(t, "base.csv", store: store), "before-rename", nil, base),
      ("base", ingestArgs(t, "a.csv", store: store), "before-rename", base, appended),
      ("base", ingestArgs(t, "a.csv", store: store), "after-segment", base, appended),
      ("appended", ["compact", store], "before-rename", appended, appended),
      ("appended", ["compact", store], "after-rewrite", appended, appended),
      ("appended", purgeArgs, "before-rename", appended, purged),
      ("appended", purgeArgs, "after-rewrite", purged, purged),
    ]
    for c in cases {
      let what = "\(c.args[0]) killed at \(c.point)"
      try reset(c.start)
      #expect(try runKilled(c.args, atFailpoint: c.point), "\(what): the failpoint was never reached")
      #expect(try readCount(store) == c.left, "\(what)")
      let leftTemporaries = temporaries(t.dir)
      #expect(c.point != "before-rename" || leftTemporaries.count == 1, "\(what): \(leftTemporaries)")
      if c.point == "after-segment" { #expect(FileManager.default.fileExists(atPath: store + ".seg-0-0002") || FileManager.default.fileExists(atPath: store + ".seg-0-0001")) }
      if c.point == "after-rewrite" { #expect(FileManager.default.fileExists(atPath: store + ".manifest"), "\(what): the old manifest is still there") }
      // The next run: the same command when it did not land, a compaction when it did.
      let again = try runANPR(c.left == c.after ? ["compact", store] : c.args)
      #expect(again.status == 0, "\(what), re-run: \(again.err)")
      if !leftTemporaries.isEmpty { #expect(again.err.contains("a temporary file an interrupted run left behind"), "\(what): \(again.err)") }
      #expect(temporaries(t.dir).isEmpty && !FileManager.default.fileExists(atPath: store + ".seg-0-0002"), "\(what), after the re-run")
      #expect(try readCount(store) == c.after, "\(what)")
      let files = ((try? FileManager.default.contentsOfDirectory(atPath: t.dir)) ?? []).filter { $0.hasPrefix("s.anpr") && $0 != "s.anpr.lock" && !$0.hasPrefix("s.anpr.audit.jsonl") }
      #expect(files.allSatisfy { $0 == "s.anpr" || $0 == "s.anpr.manifest" || $0 == "s.anpr.seg-0-0001" }, "\(what): \(files)")
    }
  }

  /// A reader that has the base open when a compaction replaces it (readers take no lock) opens again,
  /// and reads the whole store: it used to read the old base alone, the segments just folded away.
  @Test func aReaderRacingACompactionReadsTheWholeStore() throws {
    let t = try makeTown()
    let store = t.path("s.anpr")
    #expect(try timed(ingestArgs(t, "base.csv", store: store)) > 0)
    let base = try readCount(store)!
    #expect(try timed(ingestArgs(t, "a.csv", store: store)) > 0)
    let whole = try readCount(store)!
    #expect(whole > base)
    let p = Process()
    p.executableURL = anprBinary()
    p.arguments = ["inspect", store, "--json"]
    var env = ProcessInfo.processInfo.environment
    env["ANPRKIT_FAILPOINT"] = "after-base-open:3"
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    var seen = Data()
    while !String(decoding: seen, as: UTF8.self).contains("reached") {
      let chunk = err.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      seen += chunk
    }
    let compact = try runANPR(["compact", store])
    #expect(compact.status == 0, "\(compact.err)")
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    let seenReads = try lastJSONLine(text)["reads"] as? Int
    #expect(seenReads == whole, "the reader saw \(seenReads.map(String.init) ?? "nothing") of \(whole) reads")
  }

  /// A bare one-letter output name in the working folder (`keygen --out k`) is written, not a crash
  /// (Foundation's path splitting trapped on it).
  @Test func bareOneLetterOutputNamesAreWritten() throws {
    let d = try freshDirectory("bare")
    let p = Process()
    p.executableURL = anprBinary()
    p.arguments = ["keygen", "--out", "k"]
    p.currentDirectoryURL = URL(fileURLWithPath: d)
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0 && FileManager.default.fileExists(atPath: d + "/k"))
  }

  /// Two appends started together into one store: the second waits for the first's lock, and both
  /// batches are in the store (3 of 3 trials lost one before the lock).
  @Test func twoAppendsAtOnceBothLand() throws {
    let t = try makeTown()
    let store = t.path("s.anpr")
    #expect(try runANPR(ingestArgs(t, "base.csv", store: store)).status == 0)
    let base = try readCount(store)!
    // Both started before either is waited for.
    let runs = try ["a.csv", "b.csv"].map { batch in
      let p = Process()
      p.executableURL = anprBinary()
      p.arguments = ingestArgs(t, batch, store: store)
      let out = Pipe()
      p.standardOutput = out
      p.standardError = FileHandle.nullDevice
      try p.run()
      return (p, out)
    }
    var accepted: [Int] = []
    for (p, out) in runs {
      let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      p.waitUntilExit()
      #expect(p.terminationStatus == 0)
      accepted.append(try lastJSONLine(text)["accepted"] as! Int)
    }
    #expect(try readCount(store) == base + accepted.reduce(0, +))
    let inspect = try lastJSONLine(try runANPR(["inspect", store, "--json"]).out)
    #expect((inspect["ingests"] as? [Any])?.count == 3 && inspect["segments"] as? Int == 2)
  }
}
