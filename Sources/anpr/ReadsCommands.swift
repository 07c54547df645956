import ArgumentParser
import Foundation
import Governance
import Reads

/// How an export is read, the same for `anpr ingest` and `anpr stats`: the registries beside it, the
/// key, its columns and times, de-duplication, and what happens to bad rows.
struct ExportReading: ParsableArguments {
  @Option(help: "Optional vehicles CSV (plate,keeper_type,make,colour).") var vehicles: String?
  @Option(help: "File holding the pseudonymisation key (or set ANPR_KEY; /dev/fd/N works).") var keyFile: String?
  @Flag(help: "Keep raw plates instead of pseudonyms (personal data: only if you must).") var keepRawPlates = false
  @Option(help: "Where rejected rows go (CSV: file,line,field,reason,raw).") var rejects: String?
  @Option(help: "Column names in your export, e.g. plate=VRM,camera_id=CameraID,timestamp=ReadTime.") var columns: String?
  @Flag(help: "Stop at the first bad row with file:line: field: reason.") var strict = false
  @Option(help: "Seconds within which a repeat at one site counts once.") var dedupeWindow: Int = 10
  @Flag(help: "Do not merge one-character OCR confusions (O/0, I/1, B/8, S/5).") var noMisreadMerge = false
  @Option(help: ArgumentHelp(
    "How the export writes times: iso8601, epoch, epoch-ms, or a pattern like '%d/%m/%Y %H:%M:%S' (default: detected from the first rows).",
    valueName: "pattern")) var timeFormat: String?
  @Option(help: "A local time in the repeated autumn hour: first (summer time), second (winter time) or reject.")
  var ambiguous: String = "reject"
  @Option(help: "Coordinate system of the camera registry, e.g. EPSG:27700 (British National Grid: easting,northing columns); default WGS84 latitude,longitude.")
  var crs: String?
  @Option(help: "Fail, keeping nothing, when more than this fraction of rows is rejected (1 = never).")
  var maxRejectRate: Double = 0.5
  @Flag(help: "Keep the rows of a gzip export that was cut short (reported) instead of failing.") var allowTruncated = false

  func validate() throws {
    if TimeReading.Ambiguity(rawValue: ambiguous) == nil { throw ValidationError("--ambiguous must be first, second or reject.") }
    if !(0...1).contains(maxRejectRate) { throw ValidationError("--max-reject-rate must be between 0 and 1.") }
    if let timeFormat { do { _ = try TimeReading.Format(parsing: timeFormat) } catch { throw ValidationError("\(error)") } }
    if keepRawPlates && keyFile != nil { throw ValidationError("Use --key-file or --keep-raw-plates, not both.") }
    if dedupeWindow < 0 { throw ValidationError("--dedupe-window must be ≥ 0 seconds.") }
  }

  /// The ingest options these say, with the key loaded (no key without --keep-raw-plates is an error).
  /// - Parameter timeZone: the zone of times written without one.
  func options(reads: String, cameras: String, timeZone: String?) throws -> IngestOptions {
    var o = IngestOptions(readsPath: reads, camerasPath: cameras)
    o.vehiclesPath = vehicles
    if let columns { o.columns = try ColumnMapping(parsing: columns) }
    o.strict = strict
    o.rejectsPath = rejects
    o.dedupeWindow = Int64(dedupeWindow)
    o.mergeMisreads = !noMisreadMerge
    o.timeFormat = try timeFormat.map { try TimeReading.Format(parsing: $0) }
    o.timeZone = timeZone
    o.ambiguousTime = TimeReading.Ambiguity(rawValue: ambiguous)!
    o.maxRejectRate = maxRejectRate
    o.camerasCRS = crs
    o.allowTruncated = allowTruncated
    if !keepRawPlates {
      guard let p = try Pseudonymiser.load(file: keyFile) else {
        throw CLIError("""
          no pseudonymisation key: pass --key-file FILE (make one with 'anpr keygen --out FILE', kept away \
          from the data; every shard of one export uses the same key) or set ANPR_KEY; to keep raw plates \
          instead, pass --keep-raw-plates
          """)
      }
      o.pseudonymiser = p
    }
    return o
  }
}

extension ANPR {
  struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Validate, de-duplicate and pseudonymise a reads CSV into a columnar store.",
      discussion: """
        Every row is accounted for: read N = accepted + rejected + duplicates. Rejected rows go to the
        rejects file with file, line, field and reason. If the store exists, the new reads are merged in
        (append). Plates are pseudonymised with HMAC-SHA256 under your key (--key-file or ANPR_KEY);
        without a key you must say --keep-raw-plates. Keep the key away from the store.
        """)

    @Argument(help: "Reads CSV (plain or gzip), or - for standard input.") var reads: String
    @Option(help: "Camera registry CSV.") var cameras: String
    @Option(help: "Store to write (created, or appended to if it exists).") var store: String
    @OptionGroup var export: ExportReading
    @Flag(help: "De-duplicate per camera rather than per site.") var dedupePerCamera = false
    @Option(help: "Drop reads older than this many days (UK practice keeps ANPR reads 12 months).") var retainDays: Int?
    @Option(help: "Reference time for --retain-days (ISO 8601; default now).") var asOf: String?
    @Option(name: .customLong("timezone"), help: ArgumentHelp(
      "IANA zone of times written without one (local time), e.g. Europe/London; times with a zone or Z keep theirs.",
      valueName: "zone")) var timeZone: String?
    @Option(help: "Access policy (YAML: retention_days, authority_age_days, reason_required) recorded in a new store; every later command enforces it.")
    var policy: String?
    @Option(help: "Plate vault to write (each pseudonym's plate encrypted for the custodian; created or extended).") var vault: String?
    @Option(help: "The custodian's public key (CUSTODIAN.pub from 'anpr keygen --custodian'), for --vault.") var custodianPublicKey: String?
    @OptionGroup var governance: GovernanceOptions
    @Flag(help: "Print the report as one JSON object on the last line.") var json = false

    func validate() throws {
      if (vault == nil) != (custodianPublicKey == nil) { throw ValidationError("--vault and --custodian-public-key go together.") }
      if vault != nil && export.keepRawPlates { throw ValidationError("--vault keeps plates for pseudonyms; a store of raw plates needs none.") }
      if let r = retainDays, r <= 0 { throw ValidationError("--retain-days must be positive.") }
    }

    func run() throws {
      try requireDistinct(outputs: [("--store", store), ("--rejects", export.rejects), ("--vault", vault), ("--audit", governance.audit)],
                          inputs: [("READS", reads), ("--cameras", cameras), ("--vehicles", export.vehicles), ("--key-file", export.keyFile),
                                   ("--policy", policy), ("--custodian-public-key", custodianPublicKey)])
      // One writer at a time: a second ingest into this store waits (withExtendedLifetime keeps the lock to the end).
      let lock = try StoreLock(store: store) { FileHandle.standardError.write(Data("waiting for another writer of \(store) to finish…\n".utf8)) }
      defer { withExtendedLifetime(lock) {} }
      let existing = FileManager.default.fileExists(atPath: store) ? try ReadStore(path: store) : nil
      let newPolicy = try policy.map(PolicyFile.load)
      // A policy changed on an existing store, or --as-of under a policy, is refused by GovernedIngest.
      let audit = try governance.begin("ingest", storePath: store, store: existing)
      try audited(audit) { try ingest(existing: existing, policy: newPolicy) }
    }

    func ingest(existing: ReadStore?, policy newPolicy: AccessPolicy?) throws -> [String: Int] {
      var o = try export.options(reads: reads, cameras: cameras, timeZone: timeZone)
      o.dedupeBySite = !dedupePerCamera
      o.retainDays = retainDays
      if let asOf { o.asOf = try parseTime(asOf, option: "--as-of") }
      let progress = ProgressLine("ingest \(reads)")
      // A new store records its audit log (absolute), so a deleted or moved log is noticed and a copy of
      // the store keeps writing to the original's log; a vault records the same log.
      let log = AuditLog.path(explicit: governance.audit, store: store, recorded: existing?.header.governance?.auditLog).map(absolutePath)!
      let result = try GovernedIngest.run(
        GovernedIngest.Request(options: o, store: store, existing: existing, policy: newPolicy,
                               vault: vault.flatMap { v in custodianPublicKey.map { (v, $0) } }, auditLog: log,
                               dedupeWindow: Int64(export.dedupeWindow), dedupeBySite: !dedupePerCamera),
        progress: { bytes, total, rows in progress.update(done: Double(bytes), total: total.map(Double.init), unit: "bytes", count: rows) },
        notice: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
      progress.finish()
      let (report, outcome, sealed) = (result.report, result.outcome, result.sealed)
      let counts = ["read": report.read, "accepted": report.accepted, "rejected": report.rejected, "duplicates": report.duplicates,
                    "plates_sealed": sealed]
      if json {
        try printJSONLine(report)
      } else {
        print(report.summaryLine)
        if report.truncatedInput == true { print("  warning: \(reads) was cut short (the gzip stream stops before its end); the rows before the cut were kept") }
        if report.duplicates > 0 {
          print("  duplicates: \(report.exactDuplicates) repeats, \(report.misreadMerges) misreads merged, \(report.alreadyInStore) already in store")
        }
        for (reason, n) in report.rejectedByReason.sorted(by: { $0.key < $1.key }) {
          let e = (report.rejectExamples?[reason] ?? []).map { "line \($0.line)" + ($0.value.map { " '\($0)'" } ?? "") }
          print("  rejected \(reason): \(n)" + (e.isEmpty ? "" : " (e.g. \(e.joined(separator: ", ")))"))
        }
        if let top = report.topRejection(), report.rejected * 100 > report.read {
          print("  most rows rejected for \(top.code): \(RejectReason.hint(code: top.code))")
        }
        if report.nonstandardPlateReads > 0 { print("  flagged: \(report.nonstandardPlateReads) reads of plates in no GB format (kept)") }
        if report.rejected > 0, let rejects = export.rejects { print("  rejected rows written to \(rejects)") }
        else if report.rejected > 0 { print("  (pass --rejects FILE to keep the rejected rows)") }
        switch outcome {
        case let .segment(index, path)?: print("store: \(store) (appended as segment \(index), \(path); 'anpr compact' folds segments into one file)")
        case let .compacted(n)?: print("store: \(store) (compacted: \(n) segments and this batch rewritten as one file)")
        case nil: print("store: \(store)")
        }
        if let vault { print("vault: \(vault) (\(sealed) new plates sealed for the custodian)") }
      }
      return counts
    }
  }

  struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Summarise a store: counts, time span, activity, repeat vehicles, rejects, data quality.")
    @Argument(help: "Store written by 'anpr ingest'.") var store: String
    @Option(help: "Time zone for days and hours (IANA name).") var timezone = "Europe/London"
    @Option(help: "A repeat vehicle is seen on at least this many distinct days.") var repeatDays = 3
    @OptionGroup var governance: GovernanceOptions
    @Flag(help: "Print the summary as JSON.") var json = false

    func run() throws {
      let opened = try openStore(store)
      try audited(try governance.begin("inspect", storePath: store, store: opened)) {
        try show(opened.summary(clock: try LocalClock(identifier: timezone), repeatDays: repeatDays))
        return ["reads": opened.count, "vehicles": opened.vehicles.count]
      }
    }

    func show(_ s: StoreSummary) throws {
      if json { try printJSONLine(s); return }
      print("store \(store) (format v\(s.formatVersion), plates \(s.plates)"
        + ((s.segments ?? 0) > 0 ? ", \(s.segments!) appended segments: 'anpr compact' folds them)" : ")"))
      print("reads \(s.reads), vehicles \(s.vehicles), cameras \(s.cameras), sites \(s.sites)")
      print("time span \(s.timeStart ?? "-") to \(s.timeEnd ?? "-") (\(s.readsPerDay.count) days, \(s.timeZone))")
      print("repeat vehicles (≥\(s.repeatDays) days): \(s.repeatVehicles); rental: \(s.rentalVehicles); plates in no GB format: \(s.nonstandardPlateVehicles)")
      print("reads per hour: " + s.readsPerHour.enumerated().map { "\($0.offset):\($0.element)" }.joined(separator: " "))
      print("top cameras: " + s.topCameras.map { "\($0.camera) \($0.reads)" }.joined(separator: ", "))
      for ing in s.ingests {
        print("ingest \(ing.file): \(ing.summaryLine)"
          + (ing.rejectedByReason.isEmpty ? "" : " [" + ing.rejectedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "]"))
      }
      print("misreads merged: \(s.misreadMerges)")
      let q = s.quality
      print("quality: \(q.impossibleTravelCount) impossible-travel pairs, \(q.silentCameras.count) silent cameras, \(q.clockDrift.count) cameras with clock drift")
      for x in q.impossibleTravel.prefix(5) {
        print("  impossible travel: \(x.vehicle) \(x.fromSite)→\(x.toSite) \(Int(x.metres)) m in \(x.seconds) s at \(Timestamp.iso8601(x.time))")
      }
      for c in q.silentCameras { print("  silent: \(c.camera) for \(String(format: "%.1f", c.longestSilenceHours)) h from \(Timestamp.iso8601(c.silentFrom))") }
      for c in q.clockDrift {
        print("  clock drift: \(c.camera) ≈ \(String(format: "%+.0f s (95%% interval %+.0f to %+.0f s", c.estimatedOffsetSeconds, c.ciLowSeconds, c.ciHighSeconds)), from \(c.neighbours) neighbours); check the camera's clock")
      }
    }
  }

  struct Purge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Drop reads older than the retention period from a store.")
    @Argument(help: "Store to purge (rewritten atomically).") var store: String
    @Option(help: "Keep this many days of reads (at least 1; default: the store's policy's retention).") var retainDays: Int?
    @Option(help: "Reference time (ISO 8601; default now).") var asOf: String?
    @OptionGroup var governance: GovernanceOptions
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
      if let r = retainDays, r < 1 { throw ValidationError("--retain-days must be at least 1 (0 would empty the store).") }
    }

    func run() throws {
      let ref = try asOf.map { try parseTime($0, option: "--as-of") } ?? Int64(Date().timeIntervalSince1970)
      let lock = try StoreLock(store: store) { FileHandle.standardError.write(Data("waiting for another writer of \(store) to finish…\n".utf8)) }
      defer { withExtendedLifetime(lock) {} }
      let opened = try openStore(store)
      let policy = opened.header.governance?.policy
      if policy != nil && asOf != nil { throw CLIError("--as-of cannot move the reference time of the store's policy (it is now); leave it out") }
      guard let retainDays = retainDays ?? policy?.retentionDays else {
        throw ValidationError("Give --retain-days (the store has no policy to take it from).")
      }
      if let policy, retainDays > policy.retentionDays {
        throw CLIError("--retain-days \(retainDays) keeps reads longer than the store's policy allows (\(policy.retentionDays) days)")
      }
      try audited(try governance.begin("purge", storePath: store, store: opened)) { try purge(opened, retainDays: retainDays, ref: ref) }
    }

    func purge(_ opened: ReadStore, retainDays: Int, ref: Int64) throws -> [String: Int] {
      var c = opened.contents()
      let before = c.times.count
      let removed = c.purge(before: ref - Int64(retainDays) * 86400)
      try StoreUpdate.rewrite(c, replacing: opened)
      struct Out: Encodable { var before: Int; var purged: Int; var remaining: Int }
      if json { try printJSONLine(Out(before: before, purged: removed, remaining: before - removed)) }
      else { print("purged \(removed) of \(before) reads older than \(retainDays) days; \(before - removed) remain") }
      return ["before": before, "purged": removed]
    }
  }

  struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Fold a store's segments (one per append) into one file.",
      discussion: "Appends write a new segment file beside the store; an append past 16 segments compacts automatically.")
    @Argument(help: "Store to compact (rewritten atomically).") var store: String
    @OptionGroup var governance: GovernanceOptions
    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
      let lock = try StoreLock(store: store) { FileHandle.standardError.write(Data("waiting for another writer of \(store) to finish…\n".utf8)) }
      defer { withExtendedLifetime(lock) {} }
      guard FileManager.default.fileExists(atPath: store) else { throw CLIError("\(store): no such store") }
      try audited(try governance.begin("compact", storePath: store, store: try ReadStore(path: store))) { ["segments_folded": try compact()] }
    }

    func compact() throws -> Int {
      let n = try StoreUpdate.compact(store)
      struct Out: Encodable { var store: String; var segmentsFolded: Int }
      if json { try printJSONLine(Out(store: store, segmentsFolded: n)) }
      else { print(n == 0 ? "\(store) had no segments; rewritten as one file" : "folded \(n) segments into \(store)") }
      return n
    }
  }

  struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Make a new random pseudonymisation key (keep it away from the data; lose it and pseudonyms can't be recomputed).")
    @Option(help: "Where to write the key (created with permissions 0600; never overwritten).") var out: String
    @Flag(help: "Make a plate-vault custodian key pair instead: the private key at --out (for 'anpr reveal', kept by the custodian) and the public key at OUT.pub (for 'anpr ingest --vault').")
    var custodian = false
    func run() throws {
      for p in [out] + (custodian ? [out + ".pub"] : []) where FileManager.default.fileExists(atPath: p) {
        throw CLIError("\(p) exists; refusing to overwrite a key")
      }
      // Through the atomic writer: a key file is whole or absent, never a half-written key.
      if custodian {
        let k = CustodianKey()
        let pub = try OutputFile(path: out + ".pub", permissions: 0o644)
        try pub.write(k.publicText + "\n")
        let file = try OutputFile(path: out, permissions: 0o600)
        try file.write(k.privateText + "\n")
        try pub.commit()
        try file.commit()
        print("custodian key written to \(out) (private: give it to the custodian only) and \(out).pub (public: for ingest --vault)")
        return
      }
      let file = try OutputFile(path: out, permissions: 0o600)
      try file.write(Pseudonymiser.generateKeyText() + "\n")
      try file.commit()
      print("key written to \(out)")
    }
  }
}

/// `path` made absolute (against the working folder), for paths recorded in a file and used later from elsewhere.

/// Parses an ISO 8601 time or epoch seconds for an option, with an error that names the option.
func parseTime(_ s: String, option: String) throws -> Int64 {
  switch Timestamp.parse(s) {
  case .success(let v): return Int64(v)
  case .failure(let p): throw ValidationError("\(option) '\(s)': \(p.reason)")
  }
}
