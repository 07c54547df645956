import Foundation
import Reads

/// What a command asks of a store, for its audit entry.
public struct AuditScope {
  /// Plates typed on the command line (pseudonymised, or fingerprinted on a raw store, before logging).
  public var plates: [String] = []
  /// Vehicle ids (pseudonyms, periods of use) looked up.
  public var vehicles: [String] = []
  /// The oldest read the command touches (default: the store's oldest).
  public var oldestTouched: Int64? = nil
  /// Whether the command looks up particular vehicles (then a reason is required).
  public var queriesVehicles: Bool { !plates.isEmpty || !vehicles.isEmpty }
  public init(plates: [String] = [], vehicles: [String] = [], oldestTouched: Int64? = nil) {
    self.plates = plates; self.vehicles = vehicles; self.oldestTouched = oldestTouched
  }
}

/// Who asks, and why: the audit options every command that reads a store takes.
public struct Asker: Sendable {
  /// The audit log for a new store (later commands use the store's own).
  public var audit: String?
  /// Who is asking (default: the operating-system account, which is logged too).
  public var user: String?
  /// Case or incident reference.
  public var reason: String?
  /// Authority reference, for reads older than the policy's authority age.
  public var authority: String?
  public init(audit: String? = nil, user: String? = nil, reason: String? = nil, authority: String? = nil) {
    self.audit = audit; self.user = user; self.reason = reason; self.authority = authority
  }
}

/// The audit gate every command passes: the access rules checked and the query entry written before
/// the command runs, the result entry after.
public enum CommandAudit {
  /// Checks the rules for `command` on `store` and writes the query entry; the command runs only
  /// when this returns. `arguments` (the command line) are logged with every plate replaced by its
  /// pseudonym (or, on a store of raw plates, by a fingerprint salted with the store's id).
  /// - Throws: `GovernanceError.refused` saying why: no log or a missing log (nothing to log to); an
  ///   `--audit` that would move an existing store's log (logged as refused in the store's own log); a
  ///   reason holding a plate (not logged: the log keeps no plate); or the policy's rules (logged as refused).
  public static func begin(_ command: String, arguments: [String], asker: Asker, storePath: String?, store: ReadStore?,
                           key: Pseudonymiser? = nil, scope: AuditScope = AuditScope(), logPath explicit: String? = nil,
                           now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> AuditedCommand {
    let (audit, user, reason, authority) = (asker.audit, asker.user, asker.reason, asker.authority)
    guard let path = AuditLog.path(explicit: audit ?? explicit, store: storePath, recorded: store?.header.governance?.auditLog) else {
      throw GovernanceError.refused("\(command): no audit log: pass --audit FILE")
    }
    // A store that records its log must find it: a deleted or moved log is not started afresh.
    if let recorded = store?.header.governance?.auditLog,
      !FileManager.default.fileExists(atPath: AuditLog.path(explicit: nil, store: storePath, recorded: recorded) ?? recorded) {
      throw GovernanceError.refused("\(storePath ?? "the store") records its audit log at \(recorded), which is missing (deleted or moved); restore it — the store is not used without its log")
    }
    func hidden(_ plate: String) -> String? {
      guard let n = Plate.normalise(plate) else { return nil }
      if let key { return key.pseudonym(plate: n) }
      // A raw store (or no key given): a salted fingerprint an auditor who holds the plate can check.
      let salt = store?.header.storeID ?? "anprkit"
      return "plate-sha256:" + AuditLogFingerprint.of(salt + ":" + n)
    }
    let args = ArgumentRedaction.redact(arguments, plateOptions: ["--plate", "--vehicle"],
                                        isPseudonym: Pseudonymiser.looksLikePseudonym, pseudonym: hidden)
    // An existing store's log is fixed: --audit cannot send a query's entry somewhere else (the attempt
    // is written to the store's own log).
    if let store, let audit, let storePath {
      let own = AuditLog.path(explicit: nil, store: storePath, recorded: store.header.governance?.auditLog)!
      if absolutePath(audit) != absolutePath(own) {
        let why = "\(storePath) keeps its audit log at \(own); --audit chooses the log only when a store is made"
        var e = AuditEntry(phase: .refused, user: user ?? AuditedCommand.osUser(), osUser: AuditedCommand.osUser(), command: command)
        e.arguments = args; e.store = storePath; e.storeID = store.header.storeID; e.status = why
        if FileManager.default.fileExists(atPath: own) { try AuditLog(path: own).append(e) }
        throw GovernanceError.refused(why)
      }
    }
    if let reason, ArgumentRedaction.holdsPlate(reason) {
      throw GovernanceError.refused("--reason seems to hold a plate ('\(reason)'); give the case or incident reference instead — the audit log keeps no plate")
    }
    var r = AccessRequest(command: command, arguments: args)
    r.user = user; r.reason = reason; r.authority = authority
    r.store = storePath; r.storeID = store?.header.storeID
    let plateIDs = scope.plates.map { hidden($0) ?? "[plate]" }
    // A vehicle id that is not a pseudonym (a plate typed as --vehicle by mistake) is hidden as a plate is.
    let ids = (plateIDs + scope.vehicles.map { id in
      store?.isPseudonymised == false || !Pseudonymiser.looksLikePseudonym(id) ? (hidden(id) ?? "[plate]") : id })
    r.pseudonyms = Array(Set(ids)).sorted()
    r.queriesVehicles = scope.queriesVehicles
    r.oldestStored = store?.header.timeStart
    r.oldestTouched = scope.oldestTouched ?? store?.header.timeStart
    return try AuditedCommand.begin(r, log: AuditLog(path: path), policy: store?.header.governance?.policy, now: now)
  }

  /// Plates typed on a command line (values of --plate and --vehicle, and plates in vehicles= lists),
  /// as typed and normalised.
  public static func typedPlates(_ args: [String]) -> [String] {
  var out: [String] = []
  for (i, a) in args.enumerated() {
    if (a == "--plate" || a == "--vehicle"), i + 1 < args.count { out.append(args[i + 1]) }
    for o in ["--plate=", "--vehicle="] where a.hasPrefix(o) { out.append(String(a.dropFirst(o.count))) }
    if let r = a.range(of: "vehicles=") { out += a[r.upperBound...].split(separator: ",").map(String.init) }
  }
  let plates = out.filter { !Pseudonymiser.looksLikePseudonym($0) && !$0.contains("#") && !$0.isEmpty }
  return Array(Set(plates + plates.compactMap(Plate.normalise))).sorted { $0.count > $1.count }
  }

  /// Runs `body` under `audit`: the result entry says `ok` with the counts returned, or the failure —
  /// with any plate typed on the command line (`arguments`) replaced, as in the query entry.
  public static func run(_ audit: AuditedCommand, arguments: [String], _ body: () throws -> [String: Int]) throws {
  let counts: [String: Int]
  do { counts = try body() } catch {
    var status = "failed: \(error)"
    for typed in typedPlates(arguments) { status = status.replacingOccurrences(of: typed, with: "[plate]", options: .caseInsensitive) }
    try? audit.finish(status: status)
    throw error
  }
  try audit.finish(counts: counts)
}
}
