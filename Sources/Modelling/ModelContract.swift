import Foundation
import Reads

/// The kind of a model as spec and model files spell it (`poisson-hotspot`, `markov-route`): a typed
/// identity, compared and sorted as its text.
public struct ModelKind: RawRepresentable, Hashable, Comparable, Codable, Sendable, CustomStringConvertible,
  ExpressibleByStringLiteral
{
  public let rawValue: String
  public init(rawValue: String) { self.rawValue = rawValue }
  public init(_ rawValue: String) { self.rawValue = rawValue }
  public init(stringLiteral value: String) { rawValue = value }
  public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(rawValue)
  }
  public var description: String { rawValue }
  public static func < (a: ModelKind, b: ModelKind) -> Bool { a.rawValue < b.rawValue }
}

/// What a model learns from and what it says: the families the toolkit compares within.
public enum ModelFamily: String, Codable, Sendable, CaseIterable {
  /// Expected counts per place and time bin (from counts per site or cell and bin).
  case hotspot
  /// The next site of a trip and the travel time to it (from moves between sites).
  case route
  /// When and where a repeat vehicle or group next appears (from each vehicle's visits).
  case nextAppearance = "next-appearance"
  /// Periods of use of different cars that belong to one actor (from each car's behaviour).
  case linkage
  /// Pairs of vehicles seen together more often than chance (from reads at the same site and minute).
  case coTravel = "co-travel"
}

/// What a fitted model says about itself, in the manner of statsmodels' `summary()`: the facts an
/// analyst checks before trusting a forecast (what it learned from, what it learned, how the fit went).
public struct ModelSummary: Sendable, Equatable, CustomStringConvertible {
  public var kind: ModelKind
  /// Named facts, in order ("observations", "converged", "learned hour pooling", ...).
  public var facts: [Fact]
  /// Plain-language notes (terms left out, non-convergence, fallbacks).
  public var notes: [String]
  public struct Fact: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) { self.name = name; self.value = value }
  }
  public init(kind: ModelKind, facts: [Fact] = [], notes: [String] = []) {
    self.kind = kind; self.facts = facts; self.notes = notes
  }
  /// Adds the fit's diagnostics (iterations, convergence, deviance, log-likelihood) as facts and notes.
  public mutating func add(_ d: FitDiagnostics) {
    facts.append(Fact("observations", "\(d.observations)"))
    facts.append(Fact("parameters", "\(d.parameters)"))
    facts.append(Fact("converged", d.converged ? "yes, in \(d.iterations) iterations" : "NO (stopped after \(d.iterations) iterations)"))
    if d.nullDeviance > 0 { facts.append(Fact("deviance (null)", String(format: "%.1f (%.1f)", d.deviance, d.nullDeviance))) }
    if d.logLikelihood.isFinite && d.logLikelihood != 0 { facts.append(Fact("log-likelihood", String(format: "%.3f", d.logLikelihood))) }
    notes += d.notes
  }
  public var description: String {
    let width = facts.map(\.name.count).max() ?? 0
    var lines = ["\(kind)"]
    lines += facts.map { "  " + $0.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.value }
    lines += notes.map { "  note: \($0)" }
    return lines.joined(separator: "\n")
  }
}

/// A fitted model, saved in a model file's body: parameters, never the reads it learned from (linkage
/// and co-travel results hold the ids of the periods of use and pairs they found, and evidence in
/// words; on a store of raw plates those ids are plates, and the file is written private).
public protocol FittedModel: Codable, Sendable {
  /// What is wrong with the body as read from a file (nil when it can be used): array lengths that
  /// disagree, numbers that are not finite or out of range. A damaged or hand-edited file is refused
  /// naming the field, never used to forecast nonsense.
  func bodyProblem() -> String?
  /// What the model learned and how the fit went.
  func summary() -> ModelSummary
  /// Keys this body was saved under in model files of format 1 (each family had its own).
  static var legacyBodyKeys: [String] { get }
}

extension FittedModel {
  public static var legacyBodyKeys: [String] { [] }
}

/// What a saved model needs besides its parameters to be used again: the binning and target of a
/// hotspot model, the sites of a route model. Encoded beside the fitted body, at the same level.
public protocol ModelContext: Codable, Sendable {
  func contextProblem() -> String?
}

/// The sites a model's indices refer to (route and next-appearance models).
public struct SiteContext: ModelContext, Equatable {
  public var sites: [String]
  public init(sites: [String]) { self.sites = sites }
  public func contextProblem() -> String? {
    var seen = Set<String>()
    if let d = sites.first(where: { !seen.insert($0).inserted }) { return "sites: '\(d)' listed twice" }
    return nil
  }
}

/// No context: the fitted body is all there is.
public struct NoContext: ModelContext, Equatable {
  public init() {}
  public init(from decoder: Decoder) throws {}
  public func encode(to encoder: Encoder) throws {}
  public func contextProblem() -> String? { nil }
}

/// The model contract, after scikit-learn's estimator: a spec holds hyper-parameters only (what a
/// `Models/*.yaml` file's `params` say, every key optional, unknown keys refused), and `fit` learns from
/// one sufficient statistic and returns a fitted model that holds no training data. Every family
/// conforms, and registers in a `ModelRegistry`, so training, saving, loading and the contract tests
/// are written once.
public protocol ModelSpec: Codable, Sendable {
  /// What the model learns from (a count table, transition counts, visits, the store).
  associatedtype Statistic
  associatedtype Fitted: FittedModel
  associatedtype Context: ModelContext
  static var kind: ModelKind { get }
  static var family: ModelFamily { get }
  /// Every parameter at its default (what `params: {}` gives).
  init()
  /// Decodes `params` (JSON), refusing unknown keys and naming the allowed ones.
  static func decodeParameters(_ json: Data) throws -> Self
  /// Learns from `statistic`, which holds only data before the forecast origin.
  /// - Throws: `FitError` when there is nothing to learn from or the fit cannot be made.
  func fit(_ statistic: Statistic, clock: LocalClock) throws -> Fitted
}

extension ModelSpec {
  public static func decodeParameters(_ json: Data) throws -> Self { try JSONDecoder().decode(Self.self, from: json) }
}

/// Strict parameters for specs whose `Codable` is synthesised: keys missing from `params` take the
/// default spec's values (nested settings too), and a key the spec does not have is refused with the
/// keys allowed at that level.
public enum StrictParameters {
  public static func decode<S: Codable>(_ type: S.Type, from json: Data, defaults: S, kind: ModelKind) throws -> S {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    guard let base = try JSONSerialization.jsonObject(with: enc.encode(defaults)) as? [String: Any] else {
      throw SpecError.invalid("\(kind): the default spec is not a mapping")
    }
    guard let given = try JSONSerialization.jsonObject(with: json) as? [String: Any] else {
      throw SpecError.invalid("\(kind): params must be a mapping")
    }
    let merged = try merge(base, given, path: "", kind: kind)
    return try JSONDecoder().decode(S.self, from: JSONSerialization.data(withJSONObject: merged, options: [.sortedKeys]))
  }

  static func merge(_ base: [String: Any], _ given: [String: Any], path: String, kind: ModelKind) throws -> [String: Any] {
    func resolved(_ k: String) -> String? { base[k] != nil ? k : base[camelCase(k)] != nil ? camelCase(k) : nil }
    let unknown = given.keys.filter { resolved($0) == nil }.sorted()
    if !unknown.isEmpty {
      throw SpecError.unknownKeys(unknown.map { path + $0 }, allowed: base.keys.sorted().map { path + snakeCase($0) }, kind: kind.rawValue)
    }
    var out = base
    for (g, v) in given {
      let k = resolved(g)!
      if let b = base[k] as? [String: Any], let n = v as? [String: Any] {
        out[k] = try merge(b, n, path: path + snakeCase(k) + ".", kind: kind)
      } else {
        out[k] = v
      }
    }
    return out
  }

  /// `max_overlap_hours` → `maxOverlapHours`.
  static func camelCase(_ s: String) -> String {
    let parts = s.split(separator: "_")
    return (parts.first.map(String.init) ?? "") + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
  }
  /// `maxOverlapHours` → `max_overlap_hours`.
  static func snakeCase(_ s: String) -> String {
    s.reduce(into: "") { out, c in if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) } }
  }
}

/// A fitted model whose parameters are indexed by site (so its file's `sites` must list as many).
public protocol SiteIndexedModel {
  var siteCount: Int { get }
}
