import Foundation
import Reads

/// What a command is about to do, as the governance rules see it.
public struct AccessRequest: Sendable {
  public var command: String
  /// The command line with plates already replaced (`ArgumentRedaction`).
  public var arguments: [String]
  /// `--user` (default: the operating-system account).
  public var user: String?
  public var reason: String?
  public var authority: String?
  public var store: String?
  public var storeID: String?
  /// Pseudonyms (or periods of use) looked up.
  public var pseudonyms: [String] = []
  /// The command looks up particular vehicles (a plate, a pseudonym, a group, a watch list) or
  /// reveals a plate: a reason is always required.
  public var queriesVehicles = false
  /// The oldest read the store holds (retention: every command refuses a store with expired reads).
  public var oldestStored: Int64?
  /// The oldest read the command touches (authority).
  public var oldestTouched: Int64?

  public init(command: String, arguments: [String]) { self.command = command; self.arguments = arguments }
}

/// A command under audit: the rules checked and the `query` entry written before it runs, the
/// `result` entry when it ends.
public final class AuditedCommand {
  public let log: AuditLog
  public let query: AuditEntry
  private var finished = false

  init(log: AuditLog, query: AuditEntry) { self.log = log; self.query = query }

  /// The operating-system account running this process.
  public static func osUser() -> String {
    if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return String(cString: name) }
    return "uid \(geteuid())"
  }

  /// Checks `request` against the rules and `policy` at time `now` (epoch seconds), then writes the
  /// `query` entry. A refused request is written as a `refused` entry (if the log can be written)
  /// and thrown.
  /// - Throws: `GovernanceError.refused` with what to give; `AuditError` when the log cannot be
  ///   written (then the command must not run).
  public static func begin(_ r: AccessRequest, log: AuditLog, policy: AccessPolicy?, now: Int64) throws -> AuditedCommand {
    var e = AuditEntry(phase: .query, user: r.user ?? osUser(), osUser: osUser(), command: r.command)
    e.arguments = r.arguments
    e.reason = r.reason.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
    e.authority = r.authority.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
    e.store = r.store; e.storeID = r.storeID
    e.pseudonyms = r.pseudonyms.isEmpty ? nil : r.pseudonyms
    if let refusal = refusal(r, reason: e.reason, authority: e.authority, policy: policy, now: now) {
      var x = e
      x.phase = .refused; x.status = refusal
      try log.append(x)
      throw GovernanceError.refused(refusal)
    }
    return AuditedCommand(log: log, query: try log.append(e))
  }

  /// Why the rules refuse `r`, or nil.
  static func refusal(_ r: AccessRequest, reason: String?, authority: String?, policy: AccessPolicy?, now: Int64) -> String? {
    if reason == nil {
      if r.queriesVehicles {
        return "\(r.command) \(r.command == "reveal" ? "shows a plate" : "looks up a vehicle"): give --reason with the case or incident reference (it is written to the audit log)"
      }
      if policy?.requiresReason(command: r.command) == true {
        return "the store's policy requires a reason for \(r.command): give --reason with the case or incident reference"
      }
    }
    guard let policy, r.command != "purge" else { return nil }
    if let oldest = r.oldestStored, oldest < policy.retentionCutoff(now: now) {
      return "\(r.store ?? "the store") holds reads older than the policy's \(policy.retentionDays)-day retention (oldest \(Timestamp.iso8601(oldest))); no command may use them: run 'anpr purge \(r.store ?? "STORE")' first"
    }
    if let oldest = r.oldestTouched, authority == nil, oldest < policy.authorityCutoff(now: now) {
      return "\(r.command) touches reads older than \(policy.authorityAgeDays) days (oldest \(Timestamp.iso8601(oldest))): the policy requires an authority reference; give --authority REF"
    }
    return nil
  }

  /// Writes the `result` entry: `ok` with what was returned, or the failure.
  public func finish(status: String = "ok", counts: [String: Int] = [:]) throws(AuditError) {
    guard !finished else { return }
    finished = true
    var e = AuditEntry(phase: .result, user: query.user, osUser: query.osUser, command: query.command)
    e.query = query.seq
    e.status = status
    e.counts = counts.isEmpty ? nil : counts
    try log.append(e)
  }
}

/// A short, salted SHA-256 fingerprint (16 hex digits) of a text.
public enum AuditLogFingerprint {
  public static func of(_ text: String) -> String { String(AuditLog.hash(Array(text.utf8)).prefix(16)) }
}

/// Replaces plates in a command line before it is logged: the value of a plate option
/// (`--plate AB12CDE`, `--plate=AB12CDE`) and plate elements of a vehicle list (`--target
/// vehicles=AB12CDE,V…`) become their pseudonyms, or `[plate]` when there is no key.
public enum ArgumentRedaction {
  /// Whether free text seems to hold a GB plate of a dated format — current, prefix or suffix — as one
  /// word or two adjacent words ("AB12 CDE"). Dateless plates ("ABC 123") look like ordinary
  /// references ("Op 1234") and are not looked for.
  public static func holdsPlate(_ text: String) -> Bool {
    let words = text.split { !$0.isLetter && !$0.isNumber }.map(String.init)
    func isPlate(_ w: String) -> Bool {
      guard let n = Plate.normalise(w), n.count >= 5, n.contains(where: \.isNumber), n.contains(where: \.isLetter) else { return false }
      guard let f = Plate.gbFormat(Array(n.utf8)) else { return false }
      return f != .dateless
    }
    for (i, w) in words.enumerated() {
      if isPlate(w) { return true }
      if i + 1 < words.count, isPlate(w + words[i + 1]) { return true }
    }
    return false
  }

  public static func redact(_ arguments: [String], plateOptions: Set<String> = ["--plate"],
                            isPseudonym: (String) -> Bool, pseudonym: (String) -> String?) -> [String] {
    func replace(_ plate: String) -> String { pseudonym(plate) ?? "[plate]" }
    func list(_ s: String) -> String {
      guard let r = s.range(of: "vehicles=") else { return s }
      let ids = s[r.upperBound...].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      return String(s[..<r.upperBound]) + ids.map { isPseudonym($0) || $0.contains("#") ? $0 : replace($0) }.joined(separator: ",")
    }
    var out: [String] = []
    var nextIsPlate = false
    for a in arguments {
      if nextIsPlate { out.append(replace(a)); nextIsPlate = false; continue }
      if plateOptions.contains(a) { out.append(a); nextIsPlate = true; continue }
      if let eq = a.firstIndex(of: "="), plateOptions.contains(String(a[..<eq])) {
        out.append(String(a[...eq]) + replace(String(a[a.index(after: eq)...]))); continue
      }
      out.append(list(a))
    }
    return out
  }
}
