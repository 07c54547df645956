import Foundation
import Testing

@testable import Governance
import Reads

/// A new empty directory for one test.
func freshDirectory(_ tag: String) throws -> String {
  let d = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-gov-\(tag)-\(UUID())").path
  try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
  return d
}

/// A log of `n` query/result pairs and its lines.
func writtenLog(_ tag: String, pairs n: Int) throws -> (AuditLog, [String]) {
  let log = AuditLog(path: try freshDirectory(tag) + "/a.audit.jsonl")
  for k in 0..<n {
    var q = AuditEntry(phase: .query, user: "analyst\(k % 2)", osUser: "u", command: "next-appearance")
    q.reason = "CASE-\(k)"
    q.pseudonyms = ["V00000000000000\(String(format: "%02x", k))"]
    let written = try log.append(q)
    var r = AuditEntry(phase: .result, user: "analyst\(k % 2)", osUser: "u", command: "next-appearance")
    r.query = written.seq; r.status = "ok"; r.counts = ["windows": k]
    try log.append(r)
  }
  let text = try String(contentsOfFile: log.path, encoding: .utf8)
  return (log, text.split(separator: "\n").map(String.init))
}

func rewrite(_ log: AuditLog, lines: [String], trailingNewline: Bool = true) throws {
  try (lines.joined(separator: "\n") + (trailingNewline ? "\n" : "")).write(toFile: log.path, atomically: false, encoding: .utf8)
}

@Suite struct AuditChainTests {
  @Test func anIntactLogVerifies() throws {
    let (log, lines) = try writtenLog("intact", pairs: 5)
    #expect(lines.count == 10)
    let v = try log.verify()
    #expect(v.ok && v.entries.count == 10 && v.notes.isEmpty)
    #expect(v.entries.map(\.seq) == Array(1...10))
    #expect(v.entries[0].prev == AuditLog.genesis)
  }

  @Test func anEditedByteIsNamedByLine() throws {
    for target in [3, 10] {  // a middle line (caught by the next link) and the last (caught by the head)
      let (log, lines) = try writtenLog("edit\(target)", pairs: 5)
      var l = lines
      l[target - 1] = l[target - 1].replacingOccurrences(of: "CASE-", with: "CASF-")
        .replacingOccurrences(of: "\"ok\"", with: "\"ko\"")
      #expect(l[target - 1] != lines[target - 1])
      try rewrite(log, lines: l)
      let v = try log.verify()
      #expect(v.firstBad?.line == target, "edit of line \(target): \(String(describing: v.firstBad))")
      #expect(v.firstBad?.reason.contains("changed") == true)
    }
  }

  @Test func aDeletedLineIsNamed() throws {
    let (log, lines) = try writtenLog("delete", pairs: 5)
    var l = lines
    l.remove(at: 3)  // entry 4
    try rewrite(log, lines: l)
    let v = try log.verify()
    #expect(v.firstBad?.line == 4 && v.firstBad!.reason.contains("deleted"), "\(String(describing: v.firstBad))")
  }

  @Test func swappedLinesAreNamed() throws {
    let (log, lines) = try writtenLog("swap", pairs: 5)
    var l = lines
    l.swapAt(5, 6)  // entries 6 and 7
    try rewrite(log, lines: l)
    let v = try log.verify()
    #expect(v.firstBad?.line == 6, "\(String(describing: v.firstBad))")
  }

  @Test func truncationIsNamedAtALineBoundaryAndInsideALine() throws {
    let (log, lines) = try writtenLog("truncate", pairs: 5)
    try rewrite(log, lines: Array(lines.prefix(7)))
    var v = try log.verify()
    #expect(v.firstBad?.line == 8 && v.firstBad!.reason.contains("truncated"), "\(String(describing: v.firstBad))")
    var cut = Array(lines.prefix(10))
    cut[9] = String(cut[9].prefix(30))
    try rewrite(log, lines: cut, trailingNewline: false)
    v = try log.verify()
    #expect(v.firstBad?.line == 10 && v.firstBad!.reason.contains("cut short"), "\(String(describing: v.firstBad))")
    // And an append onto a cut log is refused rather than chained to garbage.
    #expect(throws: AuditError.self) { try log.append(AuditEntry(phase: .query, user: "u", osUser: "u", command: "inspect")) }
  }

  /// A log cut back, its head deleted, or its last line edited is not extended: the next command's
  /// entry would otherwise make it look whole (found by a review as a new user).
  @Test func aTamperedTailIsNotExtended() throws {
    let q = AuditEntry(phase: .query, user: "u", osUser: "u", command: "inspect")
    var (log, lines) = try writtenLog("tail-truncated", pairs: 3)
    try rewrite(log, lines: Array(lines.prefix(4)))
    #expect(throws: AuditError.self) { try log.append(q) }
    (log, lines) = try writtenLog("tail-head", pairs: 3)
    try FileManager.default.removeItem(atPath: log.headPath)
    #expect(throws: AuditError.self) { try log.append(q) }
    (log, lines) = try writtenLog("tail-edited", pairs: 3)
    var l = lines
    l[5] = l[5].replacingOccurrences(of: "\"ok\"", with: "\"ko\"")
    try rewrite(log, lines: l)
    #expect(throws: AuditError.self) { try log.append(q) }
    // An edit further back is found by verify, which no longer lists the changed entry.
    (log, lines) = try writtenLog("verify-drops", pairs: 3)
    l = lines
    l[2] = l[2].replacingOccurrences(of: "CASE-1", with: "CASE-9")
    try rewrite(log, lines: l)
    let v = try log.verify()
    #expect(v.firstBad?.line == 3 && v.entries.count == 2 && !v.entries.contains { $0.reason == "CASE-9" })
    // A whole log emptied while its head remains is not restarted either.
    (log, lines) = try writtenLog("emptied", pairs: 1)
    try "".write(toFile: log.path, atomically: false, encoding: .utf8)
    #expect(throws: AuditError.self) { try log.append(q) }
  }

  @Test func aMissingHeadIsABreakAndALaggingHeadANote() throws {
    let (log, _) = try writtenLog("head", pairs: 2)
    let head = try String(contentsOfFile: log.headPath, encoding: .utf8)
    try FileManager.default.removeItem(atPath: log.headPath)
    #expect(try log.verify().firstBad?.reason.contains("head file") == true)
    // A crash between the line and the head leaves the head one entry behind: a note, not tampering.
    try head.write(toFile: log.headPath, atomically: false, encoding: .utf8)
    try log.append(AuditEntry(phase: .query, user: "u", osUser: "u", command: "inspect"))
    try head.write(toFile: log.headPath, atomically: false, encoding: .utf8)
    let v = try log.verify()
    #expect(v.ok && v.entries.count == 5 && v.notes.count == 1)
  }

  @Test func concurrentAppendsChainInOneOrder() throws {
    let log = AuditLog(path: try freshDirectory("concurrent") + "/a.audit.jsonl")
    DispatchQueue.concurrentPerform(iterations: 4) { t in
      for _ in 0..<20 { _ = try? log.append(AuditEntry(phase: .query, user: "t\(t)", osUser: "u", command: "inspect")) }
    }
    let v = try log.verify()
    #expect(v.ok && v.entries.count == 80)
    #expect(Set(v.entries.map(\.user)).count == 4)
  }

  @Test func anUnwritableLogStopsTheCommand() throws {
    let d = try freshDirectory("unwritable")
    let log = AuditLog(path: d + "/missing-folder/a.audit.jsonl")
    var r = AccessRequest(command: "inspect", arguments: ["inspect", "s.anpr"])
    r.reason = "CASE-1"
    #expect(throws: AuditError.self) { _ = try AuditedCommand.begin(r, log: log, policy: nil, now: 0) }
  }
}

@Suite struct AccessRuleTests {
  let now: Int64 = 1_800_000_000
  let day: Int64 = 86_400

  func request(_ command: String = "train", vehicles: Bool = false, oldest: Int64? = nil, reason: String? = nil, authority: String? = nil) -> AccessRequest {
    var r = AccessRequest(command: command, arguments: [command])
    r.queriesVehicles = vehicles; r.oldestStored = oldest; r.oldestTouched = oldest; r.reason = reason; r.authority = authority
    return r
  }

  func refusal(_ r: AccessRequest, _ p: AccessPolicy? = .nasple) -> String? {
    AuditedCommand.refusal(r, reason: r.reason, authority: r.authority, policy: p, now: now)
  }

  @Test func vehicleQueriesAndRevealsNeedAReason() {
    #expect(refusal(request("next-appearance", vehicles: true), nil)?.contains("--reason") == true)
    #expect(refusal(request("reveal", vehicles: true), nil)?.contains("--reason") == true)
    #expect(refusal(request("next-appearance", vehicles: true, reason: "CASE-7"), nil) == nil)
    #expect(refusal(request("train"), nil) == nil, "a whole-store command needs no reason unless the policy says so")
    var p = AccessPolicy.nasple
    p.reasonRequired = ["train"]
    #expect(refusal(request("train"), p)?.contains("policy requires a reason") == true)
    #expect(refusal(request("inspect"), p) == nil)
    p.reasonRequired = ["all"]
    #expect(refusal(request("inspect"), p) != nil)
  }

  @Test func retentionAndAuthorityAgesAtTheirBoundaries() {
    // Exactly 365 days old is inside retention; one second more is past it.
    #expect(refusal(request(oldest: now - 365 * day, authority: "A1")) == nil)
    #expect(refusal(request(oldest: now - 365 * day - 1, authority: "A1"))?.contains("retention") == true)
    // Exactly 90 days old needs no authority; one second more does.
    #expect(refusal(request(oldest: now - 90 * day)) == nil)
    #expect(refusal(request(oldest: now - 90 * day - 1))?.contains("--authority") == true)
    #expect(refusal(request(oldest: now - 90 * day - 1, authority: "AUTH-3")) == nil)
    // Purge is how expired reads leave: never refused for them.
    #expect(refusal(request("purge", oldest: now - 400 * day)) == nil)
    // No policy: no ages enforced.
    #expect(refusal(request(oldest: now - 4000 * day), nil) == nil)
  }

  @Test func aRefusedRequestIsLoggedAndThrown() throws {
    let log = AuditLog(path: try freshDirectory("refused") + "/a.audit.jsonl")
    #expect(throws: GovernanceError.self) { _ = try AuditedCommand.begin(request("next-appearance", vehicles: true), log: log, policy: nil, now: now) }
    let v = try log.verify()
    #expect(v.entries.count == 1 && v.entries[0].phase == .refused && v.entries[0].status?.contains("--reason") == true)
  }

  @Test func policyFilesDefaultToNASPLEAndRefuseWhatTheyDoNotKnow() throws {
    #expect(try PolicyFile.parse("", file: "p.yaml") == .nasple)
    #expect(AccessPolicy.nasple.retentionDays == 365 && AccessPolicy.nasple.authorityAgeDays == 90)
    let p = try PolicyFile.parse("retention_days: 180\nauthority_age_days: 30\nreason_required: [train, compare]\n", file: "p.yaml")
    #expect(p.retentionDays == 180 && p.authorityAgeDays == 30 && p.reasonRequired == ["compare", "train"])
    for (bad, says) in [("retention_day: 30", "unknown setting 'retention_day'"), ("retention_days: 0", "at least 1"),
                        ("retention_days: ten", "whole number"), ("retention_days: 30\nauthority_age_days: 60", "past retention_days"),
                        ("reason_required: 3", "list of command names"), ("reason_required: [trian]", "'trian' is not a command"),
                        ("- a\n- b", "mapping")] {
      #expect(throws: GovernanceError.self) { try PolicyFile.parse(bad, file: "p.yaml") }
      do { _ = try PolicyFile.parse(bad, file: "p.yaml") } catch { #expect("\(error)".contains(says) && "\(error)".hasPrefix("p.yaml:"), "\(error)") }
    }
  }
}

@Suite struct PlateVaultTests {
  @Test func onlyTheCustodianKeyRevealsAndAnEntryCannotMove() throws {
    let custodian = CustodianKey()
    var vault = PlateVault(custodian: custodian.publicKey, keyFingerprint: "fp", audit: nil)
    #expect(try vault.seal([("V0000000000000001", "AB12CDE"), ("V0000000000000002", "XY51ZZZ")], for: custodian.publicKey) == 2)
    #expect(try vault.seal([("V0000000000000001", "AB12CDE"), ("V0000000000000003", "LM02ABC")], for: custodian.publicKey) == 1,
            "a pseudonym already sealed is kept, not sealed again")
    let path = try freshDirectory("vault") + "/v.vault"
    try vault.write(to: path)
    let text = try String(contentsOfFile: path, encoding: .utf8)
    for plate in ["AB12CDE", "XY51ZZZ", "LM02ABC"] { #expect(!text.contains(plate), "the vault holds no plate in clear") }
    var st = stat()
    #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
    let loaded = try PlateVault.load(path)
    #expect(loaded.count == 3)
    #expect(try loaded.reveal("V0000000000000002", with: custodian, file: path) == "XY51ZZZ")
    #expect(try loaded.reveal("V0000000000000003#2026-03-02T10:00..2026-03-05T18:00", with: custodian, file: path) == "LM02ABC")
    // Another key (say, the analyst's own) does not open it.
    #expect(throws: GovernanceError.self) { try loaded.reveal("V0000000000000002", with: CustodianKey(), file: path) }
    // An entry copied onto another pseudonym fails authentication (the pseudonym is authenticated data).
    var lines = text.split(separator: "\n").map(String.init)
    let i1 = lines.firstIndex { $0.contains("V0000000000000001") }!, i2 = lines.firstIndex { $0.contains("V0000000000000002") }!
    let sealed1 = try JSONSerialization.jsonObject(with: Data(lines[i1].utf8)) as! [String: Any]
    lines[i2] = lines[i2].replacingOccurrences(of: #""sealed":"[^"]*""#, with: "\"sealed\":\"\(sealed1["sealed"] as! String)\"", options: .regularExpression)
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
    #expect(throws: GovernanceError.self) { try PlateVault.load(path).reveal("V0000000000000002", with: custodian, file: path) }
    #expect(try PlateVault.load(path).reveal("V0000000000000001", with: custodian, file: path) == "AB12CDE")
  }
}

@Suite struct KeyHygieneTests {
  func keyFile(_ text: String, mode: mode_t = 0o600) throws -> String {
    let p = try freshDirectory("key") + "/k"
    try text.write(toFile: p, atomically: false, encoding: .utf8)
    chmod(p, mode)
    return p
  }

  @Test func aGeneratedKeyLoads() throws {
    let k = try keyFile(Pseudonymiser.generateKeyText() + "\n")
    #expect(try Pseudonymiser.load(file: k, environment: [:]) != nil)
  }

  @Test func keysOthersCanReadAreRefused() throws {
    let k = try keyFile(Pseudonymiser.generateKeyText(), mode: 0o644)
    do { _ = try Pseudonymiser.load(file: k, environment: [:]); Issue.record("a 0644 key loaded") } catch {
      #expect("\(error)".contains("read by others") && "\(error)".contains("chmod 600"), "\(error)")
    }
  }

  @Test func shortPatternedAndLowEntropyKeysAreRefused() throws {
    let cases = [("0123456789abcdef0123456789abcdef", "16 bytes"),  // 32 hex digits: 16 bytes
                 (String(repeating: "0", count: 64), "pattern"),
                 (String(repeating: "abc123", count: 11), "pattern"),
                 ("secret", "6 bytes"),
                 ("xxxxxxxxxxxxxxxxxxxxxxxxyyyyyyyyyyyyyyyyyyzz", "low entropy")]
    for (text, says) in cases {
      let k = try keyFile(text)
      do { _ = try Pseudonymiser.load(file: k, environment: [:]); Issue.record("weak key '\(text)' loaded") } catch {
        #expect("\(error)".contains(says), "\(text): \(error)")
      }
      #expect(throws: IngestError.self) { try Pseudonymiser.load(file: nil, environment: ["ANPR_KEY": text]) }
    }
    #expect(try Pseudonymiser.load(file: nil, environment: ["ANPR_KEY": Pseudonymiser.generateKeyText()]) != nil)
    #expect(try Pseudonymiser.load(file: nil, environment: [:]) == nil)
  }

  @Test func aKeyFromAFileDescriptorLoads() throws {
    let pipe = Pipe()
    pipe.fileHandleForWriting.write(Data((Pseudonymiser.generateKeyText() + "\n").utf8))
    try pipe.fileHandleForWriting.close()
    #expect(try Pseudonymiser.load(file: "/dev/fd/\(pipe.fileHandleForReading.fileDescriptor)", environment: [:]) != nil)
  }
}

@Suite struct RedactionTests {
  @Test func platesOnTheCommandLineBecomePseudonyms() {
    let args = ["next-appearance", "--store", "s.anpr", "--plate", "AB12 CDE", "--target", "vehicles=XY51ZZZ,V0123456789abcdef,V0123456789abcdef#a..b",
                "--plate=LM02ABC", "--out", "AB12CDE.csv"]
    let out = ArgumentRedaction.redact(args, isPseudonym: { $0.count == 17 && $0.first == "V" }, pseudonym: { "P(\($0))" })
    #expect(out == ["next-appearance", "--store", "s.anpr", "--plate", "P(AB12 CDE)", "--target", "vehicles=P(XY51ZZZ),V0123456789abcdef,V0123456789abcdef#a..b",
                    "--plate=P(LM02ABC)", "--out", "AB12CDE.csv"])
    let noKey = ArgumentRedaction.redact(["--plate", "AB12CDE"], isPseudonym: { _ in false }, pseudonym: { _ in nil })
    #expect(noKey == ["--plate", "[plate]"])
    // Reasons are case references, not plates: dated GB plates are caught in any spacing.
    #expect(ArgumentRedaction.holdsPlate("stop of XN13 XAJ") && ArgumentRedaction.holdsPlate("xn13xaj seen") && ArgumentRedaction.holdsPlate("A123BCD"))
    #expect(!ArgumentRedaction.holdsPlate("CASE-2026-0042 authorised by Insp Smith") && !ArgumentRedaction.holdsPlate("Op 1234"))
  }
}

/// The ingest workflow's governance rules, as a library call.
@Suite struct GovernedIngestTests {
  func request(_ d: String, policy: AccessPolicy?, retainDays: Int? = nil, asOf: Int64? = nil) -> GovernedIngest.Request {
    var o = IngestOptions(readsPath: "Data/sample/reads.csv.gz", camerasPath: "Data/sample/cameras.csv")
    o.retainDays = retainDays; o.asOf = asOf
    return GovernedIngest.Request(options: o, store: d + "/s.anpr", existing: nil, policy: policy, vault: nil,
                                  auditLog: d + "/s.anpr.audit.jsonl", dedupeWindow: 60, dedupeBySite: true)
  }

  @Test func asOfCannotMoveAPolicysRetention() throws {
    let d = try freshDirectory("governed-asof")
    #expect(performing: { _ = try GovernedIngest.run(request(d, policy: .nasple, asOf: 1_800_000_000)) },
            throws: { "\($0)".contains("--as-of cannot move the reference time") })
    #expect(!FileManager.default.fileExists(atPath: d + "/s.anpr"), "nothing written")
  }

  /// A longer --retain-days does not take in reads a policy keeps out: the sample's reads (March 2026)
  /// are older than a 100-day policy allows, whatever --retain-days says.
  @Test func retainDaysCannotExceedThePolicy() throws {
    let d = try freshDirectory("governed-retain")
    let short = AccessPolicy(retentionDays: 100, authorityAgeDays: 90, reasonRequired: [])
    _ = try GovernedIngest.run(request(d, policy: short, retainDays: 3650))
    #expect(try ReadStore(path: d + "/s.anpr").count == 0, "reads past the policy's retention were taken in")
    let e = try freshDirectory("governed-retain-control")
    _ = try GovernedIngest.run(request(e, policy: nil, retainDays: 3650))
    #expect(try ReadStore(path: e + "/s.anpr").count > 0, "the control keeps them")
  }
}
