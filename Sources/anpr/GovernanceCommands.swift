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

extension GovernanceOptions {
  /// Checks the rules for `command` on `store` and writes the query entry (`CommandAudit.begin`); the
  /// command runs only when this returns.
  func begin(_ command: String, storePath: String?, store: ReadStore?, key: Pseudonymiser? = nil, scope: AuditScope = AuditScope(),
             logPath explicit: String? = nil) throws -> AuditedCommand {
    do {
      return try CommandAudit.begin(command, arguments: Array(CommandLine.arguments.dropFirst()),
                                    asker: Asker(audit: audit, user: user, reason: reason, authority: authority),
                                    storePath: storePath, store: store, key: key, scope: scope, logPath: explicit)
    } catch let e as GovernanceError { throw CLIError("\(e)") }
  }
}


/// Runs `body` under `audit` (`CommandAudit.run`).
func audited(_ audit: AuditedCommand, _ body: () throws -> [String: Int]) throws {
  try CommandAudit.run(audit, arguments: Array(CommandLine.arguments.dropFirst()), body)
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
