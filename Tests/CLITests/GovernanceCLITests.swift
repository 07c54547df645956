import Foundation
import Testing

/// Governance through the binary: the audit log, reasons, the plate vault and reveal, a policy's
/// ages, and key hygiene. Reads are dated relative to now, so the policy ages hold whatever the date.
@Suite("anpr governance")
struct GovernanceCLITests {
  let plates = ["AB12CDE", "XY51ZZZ", "LM02ABC"]

  /// Reads of three plates at three sites: 400, 100, 50, 20, 10, 5 and 2 days ago at 08:00–08:30.
  func readsCSV(now: Date = Date()) -> String {
    let iso = ISO8601DateFormatter()
    var rows = ["read_id,plate,camera_id,timestamp,confidence"]
    var id = 1
    for days in [400, 100, 50, 20, 10, 5, 2] {
      let dayStart = Calendar(identifier: .gregorian).startOfDay(for: now.addingTimeInterval(-Double(days) * 86_400))
      for (k, plate) in plates.enumerated() {
        for (m, cam) in ["CAM0001", "CAM0003", "CAM0005"].enumerated() {
          rows.append("\(id),\(plate),\(cam),\(iso.string(from: dayStart.addingTimeInterval(Double(8 * 3600 + k * 300 + m * 600)))),0.9")
          id += 1
        }
      }
    }
    return rows.joined(separator: "\n") + "\n"
  }

  func session(_ tag: String) throws -> String {
    let d = try freshDirectory(tag)
    try readsCSV().write(toFile: d + "/reads.csv", atomically: false, encoding: .utf8)
    #expect(try runANPR(["keygen", "--out", d + "/key"]).status == 0)
    #expect(try runANPR(["keygen", "--custodian", "--out", d + "/custodian"]).status == 0)
    return d
  }

  @Test func plateQueriesNeedAReasonAndTheLogHoldsNoPlate() throws {
    let d = try session("gov-log")
    let s = d + "/s.anpr"
    var r = try runANPR(["ingest", d + "/reads.csv", "--cameras", "Data/sample/cameras.csv", "--store", s, "--key-file", d + "/key",
                         "--vault", d + "/plates.vault", "--custodian-public-key", d + "/custodian.pub", "--json"])
    #expect(r.status == 0, "\(r.err)")
    // A plate looked up without a reason: refused, nothing printed, the attempt logged.
    let query = ["next-appearance", "--store", s, "--plate", "ab12 cde", "--key-file", d + "/key"]
    r = try runANPR(query)
    #expect(r.status == 1 && r.err.contains("--reason") && r.out.isEmpty, "\(r.out)\(r.err)")
    r = try runANPR(query + ["--reason", "CASE-2026-0042", "--user", "DC Smith"])
    #expect(r.status == 0 && r.out.contains("past visits"), "\(r.out)\(r.err)")
    r = try runANPR(["train", "--store", s, "--target", "vehicles=XY51 ZZZ", "--key-file", d + "/key", "--out", d + "/m.model.json",
                     "--spec", "Models/historical-mean.yaml", "--reason", "CASE-2026-0043"])
    #expect(r.status == 0, "\(r.err)")
    // The vault: only the custodian's key opens it, and only with a reason.
    let log = try String(contentsOfFile: s + ".audit.jsonl", encoding: .utf8)
    let queried = log.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
      .first { ($0["reason"] as? String) == "CASE-2026-0042" }
    let pseudonym = try #require((queried?["pseudonyms"] as? [String])?.first)
    #expect(queried?["user"] as? String == "DC Smith" && queried?["osUser"] as? String != nil)
    r = try runANPR(["reveal", pseudonym, "--vault", d + "/plates.vault", "--reason", "CASE-2026-0042"])
    #expect(r.status == 64, "without the custodian key there is nothing to reveal with: \(r.err)")
    r = try runANPR(["reveal", pseudonym, "--vault", d + "/plates.vault", "--custodian-key", d + "/key", "--reason", "CASE-2026-0042"])
    #expect(r.status == 1 && r.err.contains("not this vault's custodian key") && r.out.isEmpty, "the analyst's key does not open it: \(r.err)")
    r = try runANPR(["reveal", pseudonym, "--vault", d + "/plates.vault", "--custodian-key", d + "/custodian"])
    #expect(r.status == 1 && r.err.contains("--reason") && r.out.isEmpty)
    r = try runANPR(["reveal", pseudonym, "--vault", d + "/plates.vault", "--custodian-key", d + "/custodian", "--reason", "CASE-2026-0042 authorised"])
    #expect(r.status == 0 && r.out == "AB12CDE\n", "\(r.out)\(r.err)")
    // Every command is in the log, which verifies, and no plate appears in it in any spacing.
    r = try runANPR(["audit", "verify", s + ".audit.jsonl", "--json"])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    let v = try lastJSONLine(r.out)
    #expect(v["ok"] as? Bool == true && (v["entries"] as? Int ?? 0) >= 12)
    let after = try String(contentsOfFile: s + ".audit.jsonl", encoding: .utf8).uppercased()
    for p in plates {
      for form in [p, p.prefix(4) + " " + p.dropFirst(4)] { #expect(!after.contains(form), "plate \(form) in the audit log") }
    }
    r = try runANPR(["audit", "show", s + ".audit.jsonl", "--reason", "case-2026-0042"])
    #expect(r.status == 0 && r.out.contains("REFUSED") == false && r.out.contains("reveal") && r.out.contains("plates_revealed=1"), "\(r.out)")
    r = try runANPR(["audit", "show", s + ".audit.jsonl", "--command", "next-appearance"])
    #expect(r.out.contains("REFUSED"), "the refused attempt is listed: \(r.out)")
    // Tampering: one changed byte is named by line, and exit 1.
    var lines = try String(contentsOfFile: s + ".audit.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
    let k = try #require(lines.firstIndex { $0.contains("CASE-2026-0043") })
    lines[k] = lines[k].replacingOccurrences(of: "CASE-2026-0043", with: "CASE-2026-0044")
    try (lines.joined(separator: "\n") + "\n").write(toFile: s + ".audit.jsonl", atomically: false, encoding: .utf8)
    r = try runANPR(["audit", "verify", s + ".audit.jsonl"])
    #expect(r.status == 1 && r.out.contains("line \(k + 1):") && r.out.contains("NOT intact"), "\(r.out)\(r.err)")
    // A plate typed as --vehicle by mistake, or in a reason, never reaches the log.
    r = try runANPR(["next-appearance", "--store", s, "--vehicle", "XY51ZZZ", "--reason", "CASE-2026-0050"])
    #expect(r.status == 1)
    r = try runANPR(query + ["--reason", "stop of AB12 CDE"])
    #expect(r.status == 1 && r.err.contains("seems to hold a plate") && r.out.isEmpty, "\(r.err)")
    let logNow = try String(contentsOfFile: s + ".audit.jsonl", encoding: .utf8).uppercased()
    for p in plates { #expect(!logNow.contains(p) && !logNow.contains(p.prefix(4) + " " + p.dropFirst(4)), "plate \(p) in the log") }
    // A store's log cannot be moved by a later command, and a command that cannot be logged does not run.
    r = try runANPR(["inspect", s, "--audit", d + "/elsewhere.jsonl"])
    #expect(r.status == 1 && r.err.contains("keeps its audit log at") && r.out.isEmpty, "\(r.out)\(r.err)")
    #expect(try String(contentsOfFile: s + ".audit.jsonl", encoding: .utf8).split(separator: "\n").last?.contains("\"refused\"") == true,
            "the attempt is in the store's own log")
    // A deleted log is not started afresh: the store records it.
    try FileManager.default.moveItem(atPath: s + ".audit.jsonl", toPath: d + "/moved.jsonl")
    r = try runANPR(["inspect", s])
    #expect(r.status == 1 && r.err.contains("which is missing") && r.out.isEmpty, "\(r.err)")
    try FileManager.default.moveItem(atPath: d + "/moved.jsonl", toPath: s + ".audit.jsonl")
    r = try runANPR(["ingest", d + "/reads.csv", "--cameras", "Data/sample/cameras.csv", "--store", d + "/full.anpr", "--key-file", d + "/key",
                     "--audit", "/dev/full"])
    #expect(r.status == 1 && r.err.contains("cannot write the audit log") && !FileManager.default.fileExists(atPath: d + "/full.anpr"), "\(r.out)\(r.err)")
  }

  @Test func aPolicyRecordedAtIngestIsEnforcedByEveryCommand() throws {
    let d = try session("gov-policy")
    let s = d + "/s.anpr"
    try "retention_days: 365\nauthority_age_days: 90\nreason_required: [link]\n".write(toFile: d + "/policy.yaml", atomically: false, encoding: .utf8)
    var r = try runANPR(["ingest", d + "/reads.csv", "--cameras", "Data/sample/cameras.csv", "--store", s, "--key-file", d + "/key",
                         "--policy", d + "/policy.yaml", "--max-reject-rate", "1", "--json"])
    #expect(r.status == 0, "\(r.err)")
    let report = try lastJSONLine(r.out)
    #expect((report["rejectedByReason"] as? [String: Int])?["outside_retention"] == 9, "the 400-day-old reads are not taken in: \(report)")
    // Reads 100 days old: every command needs an authority reference.
    r = try runANPR(["inspect", s])
    #expect(r.status == 1 && r.err.contains("--authority") && r.out.isEmpty, "\(r.out)\(r.err)")
    r = try runANPR(["inspect", s, "--authority", "AUTH-17"])
    #expect(r.status == 0 && r.out.contains("reads 54"), "\(r.out)\(r.err)")
    // The policy's own reason rule.
    r = try runANPR(["link", "--store", s, "--out", d + "/groups.csv", "--authority", "AUTH-17"])
    #expect(r.status == 1 && r.err.contains("policy requires a reason"), "\(r.err)")
    // A store keeps the policy it was made under.
    try "retention_days: 3650\n".write(toFile: d + "/loose.yaml", atomically: false, encoding: .utf8)
    r = try runANPR(["ingest", d + "/reads.csv", "--cameras", "Data/sample/cameras.csv", "--store", s, "--key-file", d + "/key",
                     "--policy", d + "/loose.yaml", "--authority", "AUTH-17"])
    #expect(r.status == 1 && r.err.contains("another policy"), "\(r.err)")
    r = try runANPR(["purge", s, "--as-of", "2020-01-01T00:00:00Z"])
    #expect(r.status == 1 && r.err.contains("--as-of cannot move"), "\(r.err)")
    r = try runANPR(["purge", s, "--retain-days", "500", "--authority", "AUTH-17"])
    #expect(r.status == 1 && r.err.contains("longer than the store's policy allows"), "\(r.err)")
    // Purging to 60 days leaves nothing past the authority age: no reference needed after it.
    r = try runANPR(["purge", s, "--retain-days", "60"])
    #expect(r.status == 0 && r.out.contains("purged 9 of 54"), "\(r.out)\(r.err)")
    r = try runANPR(["inspect", s])
    #expect(r.status == 0, "\(r.err)")
    try "retention_day: 30\n".write(toFile: d + "/typo.yaml", atomically: false, encoding: .utf8)
    r = try runANPR(["ingest", d + "/reads.csv", "--cameras", "Data/sample/cameras.csv", "--store", d + "/t.anpr", "--key-file", d + "/key",
                     "--policy", d + "/typo.yaml"])
    #expect(r.status == 1 && r.err.contains("unknown setting 'retention_day'") && !FileManager.default.fileExists(atPath: d + "/t.anpr"), "\(r.err)")
  }

  @Test func keyFilesOthersCanReadOrWeakAreRefused() throws {
    let d = try session("gov-keys")
    chmod(d + "/key", 0o644)
    var r = try runANPR(["ingest", d + "/reads.csv", "--cameras", "Data/sample/cameras.csv", "--store", d + "/s.anpr", "--key-file", d + "/key"])
    #expect(r.status == 1 && r.err.contains("chmod 600") && !FileManager.default.fileExists(atPath: d + "/s.anpr"), "\(r.err)")
    try "password123password123password123\n".write(toFile: d + "/weak", atomically: false, encoding: .utf8)
    chmod(d + "/weak", 0o600)
    r = try runANPR(["ingest", d + "/reads.csv", "--cameras", "Data/sample/cameras.csv", "--store", d + "/s.anpr", "--key-file", d + "/weak"])
    #expect(r.status == 1 && r.err.contains("pattern repeated"), "\(r.err)")
    r = try runANPR(["ingest", d + "/reads.csv", "--cameras", "Data/sample/cameras.csv", "--store", d + "/s.anpr"],
                    environment: ["ANPR_KEY": "short"])
    #expect(r.status == 1 && r.err.contains("$ANPR_KEY") && r.err.contains("at least 32"), "\(r.err)")
  }
}
