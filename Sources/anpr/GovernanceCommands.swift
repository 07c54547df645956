import ArgumentParser
import Foundation
import Governance
import Hotspots
import Reads

/// Options every command that reads a store or looks up a vehicle takes: where the audit entry goes,
/// who asks and why.
struct GovernanceOptions: ParsableArguments {
  @Option(help: "Audit log for a new store (recorded in it); later commands use the store's own: the one its header names, else STORE.audit.jsonl beside it.") var audit: String?
  @Option(help: "Who is asking, for the audit log (default: the operating-system account, which is logged too).") var user: String?
  @Option(help: "Case or incident reference, written to the audit log (required to look up a plate, vehicle, group or watch list).")
  var reason: String?
  @Option(help: "Authority reference, when the store's policy requires one for reads older than its authority age.") var authority: String?
}

/// What a command asks of a store, for its audit entry.
struct AuditScope {
  /// Plates typed on the command line (pseudonymised, or fingerprinted on a raw store, before logging).
  var plates: [String] = []
  /// Vehicle ids (pseudonyms, periods of use) looked up.
  var vehicles: [String] = []
  /// The oldest read the command touches (default: the store's oldest).
  var oldestTouched: Int64? = nil
  /// Whether the command looks up particular vehicles (then a reason is required).
  var queriesVehicles: Bool { !plates.isEmpty || !vehicles.isEmpty }
}

extension GovernanceOptions {
  /// Checks the rules for `command` on `store` and writes the query entry; the command runs only
  /// when this returns. The command line is logged with every plate replaced by its pseudonym (or,
  /// on a store of raw plates, by a fingerprint salted with the store's id).
  func begin(_ command: String, storePath: String?, store: ReadStore?, key: Pseudonymiser? = nil, scope: AuditScope = AuditScope(),
             logPath explicit: String? = nil) throws -> AuditedCommand {
    guard let path = AuditLog.path(explicit: audit ?? explicit, store: storePath, recorded: store?.header.governance?.auditLog) else {
      throw CLIError("\(command): no audit log: pass --audit FILE")
    }
    // A store that records its log must find it: a deleted or moved log is not started afresh.
    if let recorded = store?.header.governance?.auditLog,
      !FileManager.default.fileExists(atPath: AuditLog.path(explicit: nil, store: storePath, recorded: recorded) ?? recorded) {
      throw CLIError("\(storePath ?? "the store") records its audit log at \(recorded), which is missing (deleted or moved); restore it — the store is not used without its log")
    }
    func hidden(_ plate: String) -> String? {
      guard let n = Plate.normalise(plate) else { return nil }
      if let key { return key.pseudonym(plate: n) }
      // A raw store (or no key given): a salted fingerprint an auditor who holds the plate can check.
      let salt = store?.header.storeID ?? "anprkit"
      return "plate-sha256:" + AuditLogFingerprint.of(salt + ":" + n)
    }
    let args = ArgumentRedaction.redact(Array(CommandLine.arguments.dropFirst()), plateOptions: ["--plate", "--vehicle"],
                                        isPseudonym: isPseudonymLike, pseudonym: hidden)
    // An existing store's log is fixed: --audit cannot send a query's entry somewhere else (the attempt
    // is written to the store's own log).
    if let store, let audit, let storePath {
      let own = AuditLog.path(explicit: nil, store: storePath, recorded: store.header.governance?.auditLog)!
      if absolutePath(audit) != absolutePath(own) {
        let why = "\(storePath) keeps its audit log at \(own); --audit chooses the log only when a store is made"
        var e = AuditEntry(phase: .refused, user: user ?? AuditedCommand.osUser(), osUser: AuditedCommand.osUser(), command: command)
        e.arguments = args; e.store = storePath; e.storeID = store.header.storeID; e.status = why
        if FileManager.default.fileExists(atPath: own) { try AuditLog(path: own).append(e) }
        throw CLIError(why)
      }
    }
    if let reason, ArgumentRedaction.holdsPlate(reason) {
      throw CLIError("--reason seems to hold a plate ('\(reason)'); give the case or incident reference instead — the audit log keeps no plate")
    }
    var r = AccessRequest(command: command, arguments: args)
    r.user = user; r.reason = reason; r.authority = authority
    r.store = storePath; r.storeID = store?.header.storeID
    let plateIDs = scope.plates.map { hidden($0) ?? "[plate]" }
    // A vehicle id that is not a pseudonym (a plate typed as --vehicle by mistake) is hidden as a plate is.
    let ids = (plateIDs + scope.vehicles.map { id in
      store?.isPseudonymised == false || !isPseudonymLike(id) ? (hidden(id) ?? "[plate]") : id })
    r.pseudonyms = Array(Set(ids)).sorted()
    r.queriesVehicles = scope.queriesVehicles
    r.oldestStored = store?.header.timeStart
    r.oldestTouched = scope.oldestTouched ?? store?.header.timeStart
    return try AuditedCommand.begin(r, log: AuditLog(path: path), policy: store?.header.governance?.policy,
                                    now: Int64(Date().timeIntervalSince1970))
  }
}

/// Plates typed on this command line (values of --plate and --vehicle, and plates in vehicles= lists),
/// as typed and normalised.
func typedPlates() -> [String] {
  let args = Array(CommandLine.arguments.dropFirst())
  var out: [String] = []
  for (i, a) in args.enumerated() {
    if (a == "--plate" || a == "--vehicle"), i + 1 < args.count { out.append(args[i + 1]) }
    for o in ["--plate=", "--vehicle="] where a.hasPrefix(o) { out.append(String(a.dropFirst(o.count))) }
    if let r = a.range(of: "vehicles=") { out += a[r.upperBound...].split(separator: ",").map(String.init) }
  }
  let plates = out.filter { !isPseudonymLike($0) && !$0.contains("#") && !$0.isEmpty }
  return Array(Set(plates + plates.compactMap(Plate.normalise))).sorted { $0.count > $1.count }
}

func isPseudonymLike(_ id: String) -> Bool { Target.isPseudonym(id) }

/// Runs `body` under `audit`: the result entry says `ok` with the counts returned, or the failure —
/// with any plate typed on the command line replaced, as in the query entry.
func audited(_ audit: AuditedCommand, _ body: () throws -> [String: Int]) throws {
  let counts: [String: Int]
  do { counts = try body() } catch {
    var status = "failed: \(error)"
    for typed in typedPlates() { status = status.replacingOccurrences(of: typed, with: "[plate]", options: .caseInsensitive) }
    try? audit.finish(status: status)
    throw error
  }
  try audit.finish(counts: counts)
}

extension ANPR {
  struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check or read an audit log: who queried what, when and why.",
      subcommands: [Verify.self, Show.self])

    struct Verify: ParsableCommand {
      static let configuration = CommandConfiguration(
        abstract: "Check an audit log's hash chain and head: any edit, deletion, reordering or truncation is named by line (exit 1).")
      @Argument(help: "Audit log (e.g. STORE.audit.jsonl).") var log: String
      @Flag(help: "Print the result as JSON.") var json = false
      func run() throws {
        let v = try AuditLog(path: log).verify()
        struct Out: Encodable { var log: String; var entries: Int; var ok: Bool; var firstBadLine: Int?; var reason: String?; var notes: [String] }
        if json {
          try printJSONLine(Out(log: log, entries: v.entries.count, ok: v.ok, firstBadLine: v.firstBad?.line, reason: v.firstBad?.reason, notes: v.notes))
        } else if let bad = v.firstBad {
          print("\(log): NOT intact: line \(bad.line): \(bad.reason) (the \(v.entries.count) entries before it verified)")
        } else {
          print("\(log): intact, \(v.entries.count) entries, chain and head agree")
        }
        for n in v.notes where !json { print("note: \(n)") }
        if let bad = v.firstBad { throw CLIError("\(log) line \(bad.line): the audit log was altered") }
      }
    }

    struct Show: ParsableCommand {
      static let configuration = CommandConfiguration(abstract: "List audit entries, filtered by time, user, reason or command (the log is verified first).")
      @Argument(help: "Audit log.") var log: String
      @Option(help: "Entries at or after this time (ISO 8601).") var since: String?
      @Option(help: "Entries by this user (as given with --user, or the OS account).") var user: String?
      @Option(help: "Entries whose reason contains this text.") var reason: String?
      @Option(help: "Entries of this command.") var command: String?
      @Flag(help: "Print entries as JSON lines.") var json = false
      func run() throws {
        let v = try AuditLog(path: log).verify()
        if let bad = v.firstBad { FileHandle.standardError.write(Data("warning: \(log) line \(bad.line): \(bad.reason); showing only the \(v.entries.count) entries before it\n".utf8)) }
        let from = try since.map { try parseTime($0, option: "--since") }
        let queries = Dictionary(v.entries.map { ($0.seq, $0) }, uniquingKeysWith: { a, _ in a })
        var shown = 0
        for e in v.entries {
          // Results are shown with (and filtered by) their query.
          let q = e.query.flatMap { queries[$0] } ?? e
          if let from, case .success(let t) = Timestamp.parse(e.time), Int64(t) < from { continue }
          if let user, q.user != user && q.osUser != user { continue }
          if let reason, !(q.reason ?? "").localizedCaseInsensitiveContains(reason) { continue }
          if let command, q.command != command { continue }
          shown += 1
          if json { try printJSONLine(e); continue }
          switch e.phase {
          case .query, .refused:
            print("#\(e.seq) \(e.time) \(e.phase == .refused ? "REFUSED " : "")\(e.user)\(e.user == e.osUser ? "" : " (os \(e.osUser))") \(e.command)"
              + (e.reason.map { " reason '\($0)'" } ?? "") + (e.authority.map { " authority '\($0)'" } ?? "")
              + ((e.pseudonyms ?? []).isEmpty ? "" : " looked up \(e.pseudonyms!.joined(separator: ","))")
              + (e.status.map { ": \($0)" } ?? ""))
          case .result:
            print("#\(e.seq) \(e.time)   result of #\(e.query ?? 0): \(e.status ?? "?")"
              + ((e.counts ?? [:]).isEmpty ? "" : " " + e.counts!.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
          }
        }
        if !json { print("\(shown) of \(v.entries.count) entries") }
      }
    }
  }

  struct Reveal: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Re-identify a pseudonym: print its plate from the plate vault, with the custodian's key (audited; a reason is required).",
      discussion: """
        The vault is written by 'anpr ingest --vault VAULT --custodian-public-key CUSTODIAN.pub'; only the holder of the
        custodian's private key (from 'anpr keygen --custodian') can open it. Every reveal, and every refused attempt,
        is written to the audit log the vault names.
        """)
    @Argument(help: "Pseudonym (V + 16 hex digits), or a period of use V…#FROM..TO.") var pseudonym: String
    @Option(help: "Plate vault written by ingest.") var vault: String
    @Option(help: "The custodian's private key file (0600).") var custodianKey: String
    @OptionGroup var governance: GovernanceOptions

    func run() throws {
      let v = try PlateVault.load(vault)
      let own = v.header.audit ?? (vault + ".audit.jsonl")
      if let audit = governance.audit, absolutePath(audit) != absolutePath(own) {
        throw CLIError("\(vault) keeps its audit log at \(own); reveals are written there")
      }
      let logPath = own
      var r = AccessRequest(command: "reveal", arguments: Array(CommandLine.arguments.dropFirst()))
      r.user = governance.user; r.reason = governance.reason; r.authority = governance.authority
      r.store = vault; r.pseudonyms = [pseudonym]; r.queriesVehicles = true
      let audit = try AuditedCommand.begin(r, log: AuditLog(path: logPath), policy: nil, now: Int64(Date().timeIntervalSince1970))
      try audited(audit) {
        let key = try CustodianKey(file: custodianKey)
        print(try v.reveal(pseudonym, with: key, file: vault))
        return ["plates_revealed": 1]
      }
    }
  }
}
