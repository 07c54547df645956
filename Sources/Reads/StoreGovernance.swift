import Foundation

/// Who may see how old reads, for how long reads are kept, and which commands need a stated reason:
/// the store-level rules of the UK National ANPR Standards (NASPLE), with their values as defaults.
/// A store made with a policy carries it in its header, so every later command on that store
/// enforces the same rules; `Governance.PolicyFile` reads one from YAML.
public struct AccessPolicy: Codable, Sendable, Equatable {
  /// Reads older than this many days are refused by every command and removed by `purge` (NASPLE: 12 months).
  public var retentionDays: Int
  /// A query touching reads older than this many days needs an authority reference (NASPLE: 90 days).
  public var authorityAgeDays: Int
  /// Commands that need `--reason` besides plate queries and reveals, which always do; `all` for every command.
  public var reasonRequired: [String]

  /// The NASPLE defaults: 365-day retention, authority beyond 90 days, reasons for plate queries and reveals.
  public static let nasple = AccessPolicy(retentionDays: 365, authorityAgeDays: 90, reasonRequired: [])

  public init(retentionDays: Int, authorityAgeDays: Int, reasonRequired: [String]) {
    self.retentionDays = retentionDays; self.authorityAgeDays = authorityAgeDays; self.reasonRequired = reasonRequired
  }

  /// Epoch seconds before which reads are past retention, at reference time `now`.
  public func retentionCutoff(now: Int64) -> Int64 { now - Int64(retentionDays) * 86_400 }
  /// Epoch seconds before which reads need an authority reference, at reference time `now`.
  public func authorityCutoff(now: Int64) -> Int64 { now - Int64(authorityAgeDays) * 86_400 }

  /// Whether `command` needs a reason under this policy (plate queries and reveals always do; the
  /// caller says so separately).
  public func requiresReason(command: String) -> Bool {
    reasonRequired.contains("all") || reasonRequired.contains(command)
  }
}

/// What a store's header records about its governance: where its audit log is and the policy it was
/// made under. Absent in stores made before governance (format 3 without the field): then the audit
/// log is beside the store and no policy applies.
public struct StoreGovernance: Codable, Sendable, Equatable {
  /// The audit log's path chosen when the store was made (absolute; a relative one is taken relative to the store's folder).
  public var auditLog: String?
  public var policy: AccessPolicy?
  public init(auditLog: String? = nil, policy: AccessPolicy? = nil) { self.auditLog = auditLog; self.policy = policy }
}
