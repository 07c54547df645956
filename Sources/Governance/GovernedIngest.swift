import Foundation
import Reads

/// `anpr ingest`'s workflow as a library call: read and check the export, seal each new pseudonym's
/// plate in the vault (before the store is written: if the write then fails, the vault holds a few
/// plates no store names yet, never the reverse), then append to the store or make it — a new store
/// records its audit log and policy, so a deleted or moved log is noticed later.
public enum GovernedIngest {
  public struct Request {
    public var options: IngestOptions
    public var store: String
    /// The store as it is (nil: it is made).
    public var existing: ReadStore?
    /// The policy a new store records (nil: none).
    public var policy: AccessPolicy?
    /// The plate vault and the custodian's public key file.
    public var vault: (path: String, custodianPublicKey: String)?
    /// The audit log a new store records (absolute).
    public var auditLog: String
    /// Reads of one plate at one site (or camera) within this many seconds are one pass.
    public var dedupeWindow: Int64
    public var dedupeBySite: Bool

    public init(options: IngestOptions, store: String, existing: ReadStore?, policy: AccessPolicy?, vault: (path: String, custodianPublicKey: String)?,
                auditLog: String, dedupeWindow: Int64, dedupeBySite: Bool) {
      self.options = options; self.store = store; self.existing = existing; self.policy = policy; self.vault = vault
      self.auditLog = auditLog; self.dedupeWindow = dedupeWindow; self.dedupeBySite = dedupeBySite
    }
  }

  public struct Result {
    /// Every row accounted for (read = accepted + rejected + duplicates).
    public var report: IngestReport
    /// How an append was written (nil for a new store).
    public var outcome: StoreUpdate.Outcome?
    /// New plates sealed in the vault.
    public var sealed: Int
  }

  /// - Throws: `GovernanceError.refused` when a policy would be changed on an existing store (a policy
  ///   is recorded when a store is made) or `asOf` would move a policy's retention (it is now).
  public static func run(_ r: Request, progress: Reads.Ingest.Progress? = nil, notice: ((String) -> Void)? = nil) throws -> Result {
    let recorded = r.existing?.header.governance?.policy
    if r.options.asOf != nil, r.policy != nil || recorded != nil {
      throw GovernanceError.refused("--as-of cannot move the reference time of a policy's retention (it is now); leave it out")
    }
    if let policy = r.policy, r.existing != nil, recorded != policy {
      throw GovernanceError.refused("\(r.store) exists\(recorded == nil ? " without a policy" : " with another policy"); a policy is recorded when a store is made (ingest into a new store, or leave out --policy)")
    }
    var o = r.options
    // Under a policy, reads past its retention are not taken in at all.
    // A longer --retain-days cannot take in what the policy keeps out.
    if let p = r.policy ?? r.existing?.header.governance?.policy { o.retainDays = min(o.retainDays ?? p.retentionDays, p.retentionDays) }
    o.platesForVault = r.vault != nil
    var (contents, ingested) = try Reads.Ingest.run(o, progress: progress, notice: notice)
    var sealed = 0
    if let vault = r.vault, let plates = contents.platesForVault {
      let custodian = try CustodianKey.publicKey(file: vault.custodianPublicKey)
      var v = FileManager.default.fileExists(atPath: vault.path) ? try PlateVault.load(vault.path)
        : PlateVault(custodian: custodian, keyFingerprint: contents.keyFingerprint ?? "", audit: r.auditLog)
      guard v.header.keyFingerprint == contents.keyFingerprint else {
        throw GovernanceError.vault(file: vault.path, reason: "holds plates pseudonymised under another key (fingerprint \(v.header.keyFingerprint)); use that key or another vault")
      }
      sealed = try v.seal(plates, for: custodian)
      try v.write(to: vault.path)
    }
    contents.platesForVault = nil
    if r.existing != nil {
      let (report, outcome) = try StoreUpdate.append(contents, to: r.store, window: r.dedupeWindow, bySite: r.dedupeBySite)
      return Result(report: report, outcome: outcome, sealed: sealed)
    }
    try StoreUpdate.requireNoOrphans(store: r.store)
    contents.governance = StoreGovernance(auditLog: r.auditLog, policy: r.policy)
    try StoreWriter.write(contents, to: r.store)
    return Result(report: ingested, outcome: nil, sealed: sealed)
  }
}
