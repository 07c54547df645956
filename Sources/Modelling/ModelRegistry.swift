import Foundation
import Reads

/// A model file's body: the name the spec gave, the context the fitted parameters refer to (written
/// beside them, at the same level), and the fitted parameters under `fitted`.
///
/// Format 1 files kept each family's body under its own key (`poisson`, `kernel`, `route`, …); they
/// are read through `Fitted.legacyBodyKeys`. A body with none of the keys is refused, never read as
/// some default model.
public struct SavedModel<Context: ModelContext, Fitted: FittedModel>: Codable, Sendable {
  public var name: String
  public var context: Context
  public var fitted: Fitted

  public init(name: String, context: Context, fitted: Fitted) {
    self.name = name; self.context = context; self.fitted = fitted
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: AnyCodingKey.self)
    name = try c.decode(String.self, forKey: AnyCodingKey(stringValue: "name"))
    context = try Context(from: decoder)
    let keys = ["fitted"] + Fitted.legacyBodyKeys
    guard let key = keys.map(AnyCodingKey.init(stringValue:)).first(where: c.contains) else {
      throw DecodingError.keyNotFound(
        AnyCodingKey(stringValue: "fitted"),
        .init(codingPath: decoder.codingPath, debugDescription: "no fitted model in the body (looked for \(keys.joined(separator: ", ")))"))
    }
    fitted = try c.decode(Fitted.self, forKey: key)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: AnyCodingKey.self)
    try c.encode(name, forKey: AnyCodingKey(stringValue: "name"))
    try c.encode(fitted, forKey: AnyCodingKey(stringValue: "fitted"))
    try context.encode(to: encoder)
  }

  /// What is wrong with the body (nil when it can be used).
  public func problem() -> String? {
    if let p = context.contextProblem() ?? fitted.bodyProblem() { return p }
    if let c = context as? SiteContext, let f = fitted as? SiteIndexedModel, c.sites.count != f.siteCount {
      return "sites lists \(c.sites.count) sites but the fitted model has \(f.siteCount)"
    }
    return nil
  }
}

/// A model read from a file, whatever its kind.
public struct LoadedModel: Sendable {
  public var header: ModelFileHeader
  public var registration: ModelRegistration
  public var name: String
  public var context: any ModelContext
  public var fitted: any FittedModel
}

/// One model kind in a registry: how to read its spec and its model files. Made from the spec type
/// alone, so a new model is registered with one line.
public struct ModelRegistration: Sendable, CustomStringConvertible {
  public let kind: ModelKind
  public let family: ModelFamily
  /// One line on what the model is, for `anpr models` and error messages.
  public let about: String
  /// Parameters for a quick fit on a small store (the contract tests', like scikit-learn's test
  /// parameters): `{}` unless the defaults take minutes on a debug build.
  public let quickParameters: Data
  private let decodeSpec: @Sendable (Data) throws -> any ModelSpec
  private let makeDefault: @Sendable () -> any ModelSpec
  private let decodeFile: @Sendable (Data, String) throws -> (String, any ModelContext, any FittedModel)
  private let encodeFile: @Sendable (LoadedModel, String) throws -> Void
  /// The keys this kind's fitted body may be under (`fitted`, and its format-1 keys).
  public let bodyKeys: [String]

  public init<S: ModelSpec>(_ spec: S.Type, about: String, quickParameters: String = "{}") {
    kind = S.kind
    family = S.family
    self.about = about
    self.quickParameters = Data(quickParameters.utf8)
    bodyKeys = ["fitted"] + S.Fitted.legacyBodyKeys
    decodeSpec = { try S.decodeParameters($0) }
    makeDefault = { S() }
    decodeFile = { data, path in
      let saved: SavedModel<S.Context, S.Fitted>
      do { saved = try JSONDecoder().decode(ModelEnvelope<SavedModel<S.Context, S.Fitted>>.self, from: data).body } catch {
        throw ModelFileError.corrupt(path: path, reason: "\(error)")
      }
      if let p = saved.problem() { throw ModelFileError.corrupt(path: path, reason: p) }
      return (saved.name, saved.context, saved.fitted)
    }
    encodeFile = { model, path in
      guard let context = model.context as? S.Context, let fitted = model.fitted as? S.Fitted else {
        throw ModelFileError.cannotWrite(path: path, reason: "the model is not a \(S.kind) model")
      }
      var header = model.header
      header.formatVersion = ModelFileHeader.currentFormatVersion
      try ModelFile.write(SavedModel(name: model.name, context: context, fitted: fitted), header: header, to: path)
    }
  }

  /// Writes a loaded model of this kind to `path` (in the current format).
  public func write(_ model: LoadedModel, to path: String) throws { try encodeFile(model, path) }

  public var description: String { kind.rawValue }

  /// The spec from `params` (JSON): unknown keys refused naming the allowed ones, values checked.
  public func spec(parameters json: Data) throws -> any ModelSpec { try decodeSpec(json) }
  /// The spec with every parameter at its default.
  public func defaultSpec() -> any ModelSpec { makeDefault() }

  /// Reads a model file of this kind (header already checked by `ModelRegistry.load`).
  func load(_ data: Data, header: ModelFileHeader, path: String) throws -> LoadedModel {
    let (name, context, fitted) = try decodeFile(data, path)
    return LoadedModel(header: header, registration: self, name: name, context: context, fitted: fitted)
  }
}

/// Every model kind the toolkit knows, in the order tables show them. Specs, model files, `compare`'s
/// default line-up and the contract tests all go through it.
public struct ModelRegistry: Sendable {
  public let all: [ModelRegistration]

  public init(_ entries: [ModelRegistration]) {
    var seen = Set<ModelKind>()
    for e in entries { precondition(seen.insert(e.kind).inserted, "model kind \(e.kind) registered twice") }
    all = entries
  }

  public var kinds: [ModelKind] { all.map(\.kind) }
  public func kinds(of family: ModelFamily) -> [ModelKind] { all.filter { $0.family == family }.map(\.kind) }

  /// The registration of `kind`; an unknown kind is an error listing the known ones.
  public func registration(_ kind: ModelKind) throws -> ModelRegistration {
    guard let r = all.first(where: { $0.kind == kind }) else {
      throw SpecError.invalid("unknown model kind '\(kind)'; known: \(kinds.map(\.rawValue).joined(separator: ", "))")
    }
    return r
  }

  /// Reads any model file: the header first (format, version, a registered kind, the family asked
  /// for), then the body of that kind, checked field by field.
  public func load(_ path: String, family: ModelFamily? = nil) throws -> LoadedModel {
    let header = try ModelFile.header(at: path)
    let wanted = family.map { kinds(of: $0) } ?? kinds
    guard let r = all.first(where: { $0.kind == header.kind }), wanted.contains(r.kind) else {
      let what = family.map { "a \($0.rawValue) model (\(wanted.map(\.rawValue).joined(separator: ", ")))" } ?? "a registered model kind"
      throw ModelFileError.wrongKind(path: path, expected: what, found: header.kind.rawValue)
    }
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw ModelFileError.unreadable(path: path, reason: error.localizedDescription) }
    // Exactly one fitted body: a file holding two (a stale format-1 key beside `fitted`, or two
    // families' bodies) is refused rather than read as whichever comes first.
    let allBodyKeys = Set(all.flatMap(\.bodyKeys))
    if let body = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["body"] as? [String: Any] {
      let present = body.keys.filter(allBodyKeys.contains).sorted()
      if present.count > 1 { throw ModelFileError.corrupt(path: path, reason: "body holds \(present.joined(separator: ", ")): one fitted model expected") }
    }
    return try r.load(data, header: header, path: path)
  }
}
