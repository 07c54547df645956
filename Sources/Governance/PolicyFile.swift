import Foundation
import Reads
import Yams

/// Reads an access policy from YAML. Every key is optional and defaults to NASPLE's value; an unknown
/// key or a value of the wrong kind is an error naming the file and key (a misspelt `retention_day`
/// silently ignored would keep reads longer than the force decided).
///
/// ```yaml
/// retention_days: 365        # reads older than this are refused by every command and removed by purge
/// authority_age_days: 90     # queries touching older reads need --authority REF
/// reason_required: [train]   # commands needing --reason besides plate queries and reveal ("all": every command)
/// ```
public enum PolicyFile {
  public static let keys = ["retention_days", "authority_age_days", "reason_required"]
  /// Commands a policy can name in `reason_required` (`all`: every one).
  public static let commands = ["all", "compact", "compare", "evaluate", "forecast", "ingest", "inspect", "link", "next-appearance",
                                "predict-route", "purge", "report", "reveal", "sweep", "train"]

  public static func load(_ path: String) throws -> AccessPolicy {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw GovernanceError.badPolicy(file: path, reason: "cannot read the file")
    }
    return try parse(text, file: path)
  }

  public static func parse(_ text: String, file: String) throws -> AccessPolicy {
    let node: Any?
    do { node = try Yams.load(yaml: text) } catch { throw GovernanceError.badPolicy(file: file, reason: "not valid YAML (\(error))") }
    var p = AccessPolicy.nasple
    if node == nil { return p }
    guard let map = node as? [String: Any] else { throw GovernanceError.badPolicy(file: file, reason: "expected a mapping of settings") }
    for key in map.keys.sorted() where !keys.contains(key) {
      throw GovernanceError.badPolicy(file: file, reason: "unknown setting '\(key)' (known: \(keys.joined(separator: ", ")))")
    }
    func days(_ key: String) throws -> Int? {
      guard let v = map[key] else { return nil }
      guard let d = v as? Int, d >= 1 else { throw GovernanceError.badPolicy(file: file, reason: "\(key) must be a whole number of days, at least 1 (got \(v))") }
      return d
    }
    if let d = try days("retention_days") { p.retentionDays = d }
    if let d = try days("authority_age_days") { p.authorityAgeDays = d }
    if p.authorityAgeDays > p.retentionDays {
      throw GovernanceError.badPolicy(file: file, reason: "authority_age_days (\(p.authorityAgeDays)) is past retention_days (\(p.retentionDays)): no read would ever need authority")
    }
    if let v = map["reason_required"] {
      let list: [String]
      if let s = v as? String { list = [s] } else if let a = v as? [Any], a.allSatisfy({ $0 is String }) { list = a as! [String] } else {
        throw GovernanceError.badPolicy(file: file, reason: "reason_required must be a list of command names")
      }
      for c in list where !commands.contains(c) {
        throw GovernanceError.badPolicy(file: file, reason: "reason_required: '\(c)' is not a command (known: \(commands.joined(separator: ", ")))")
      }
      p.reasonRequired = list.sorted()
    }
    return p
  }
}

/// A request the governance rules refuse, or a policy or vault that cannot be used.
public enum GovernanceError: Error, CustomStringConvertible, Equatable {
  case badPolicy(file: String, reason: String)
  case refused(String)
  case vault(file: String, reason: String)
  public var description: String {
    switch self {
    case let .badPolicy(f, r): return "\(f): \(r)"
    case let .refused(r): return r
    case let .vault(f, r): return "\(f): \(r)"
    }
  }
}
