import Foundation
import Reads

/// The self-describing header every model file starts with. A reader decodes this alone first and
/// checks format, kind and version before it touches the body: a wrong or newer file is refused with
/// a message, never half-read.
public struct ModelFileHeader: Codable, Sendable, Equatable {
  /// 2: every body keeps its fitted parameters under `fitted` (format 1 used a key per family, still read).
  public static let currentFormatVersion = 2
  public var format = "anprkit-model"
  public var formatVersion = ModelFileHeader.currentFormatVersion
  /// "poisson-hotspot", "markov-route", ... (a kind in `ModelRegistry`).
  public var kind: ModelKind
  public var toolkitVersion = ToolkitInfo.version
  /// Epoch seconds of the first and last training bin (UTC).
  public var trainingStart: Int64
  public var trainingEnd: Int64
  /// A digest of the statistics the model learned from (no raw data, no plates).
  public var dataFingerprint: String
  /// The IANA zone of the clock the model learned hours, days and weekdays on (nil in files from
  /// before it was recorded). Forecasts evaluate the model on this clock whatever zone they display.
  public var timeZone: String?
  /// How bins are aligned: fixed-width bins start at multiples of their width from the Unix epoch (UTC).
  public var binAlignment: String?

  public init(kind: ModelKind, trainingStart: Int64, trainingEnd: Int64, dataFingerprint: String) {
    self.kind = kind; self.trainingStart = trainingStart; self.trainingEnd = trainingEnd
    self.dataFingerprint = dataFingerprint
  }
}

/// Why a model file was refused.
public enum ModelFileError: Error, CustomStringConvertible, Equatable {
  case unreadable(path: String, reason: String)
  case notAModel(path: String)
  case wrongKind(path: String, expected: String, found: String)
  case newerFormat(path: String, found: Int)
  case corrupt(path: String, reason: String)
  case cannotWrite(path: String, reason: String)

  public var description: String {
    switch self {
    case let .unreadable(p, r): return "\(p): cannot read model file: \(r)"
    case let .notAModel(p): return "\(p): not an ANPRKit model file (no 'anprkit-model' header); train one with 'anpr train'"
    case let .wrongKind(p, e, f): return "\(p): holds a '\(f)' model, expected '\(e)'"
    case let .newerFormat(p, v): return "\(p): model format v\(v) is newer than this ANPRKit reads (v\(ModelFileHeader.currentFormatVersion)); upgrade ANPRKit"
    case let .corrupt(p, r): return "\(p): model file is corrupt or truncated (\(r)); retrain it"
    case let .cannotWrite(p, r): return "\(p): cannot write model file: \(r)"
    }
  }
}

/// A file that holds a header and a body: `{"header": {...}, "body": {...}}`.
struct ModelEnvelope<Body: Codable>: Codable {
  var header: ModelFileHeader
  var body: Body
}
private struct HeaderOnly: Decodable { var header: ModelFileHeader }

public enum ModelFile {
  /// Writes `body` under `header` as sorted, pretty JSON, atomically. NaN/∞ are refused by the encoder.
  /// `permissions` 0600 for a model that holds raw plates (a linkage result on a store of raw plates).
  public static func write<Body: Codable>(_ body: Body, header: ModelFileHeader, to path: String,
                                          permissions: mode_t = 0o644) throws(ModelFileError) {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .prettyPrinted]
    do {
      let data = try enc.encode(ModelEnvelope(header: header, body: body))
      let file = try OutputFile(path: path, permissions: permissions)
      try file.write(data)
      try file.commit()
    } catch { throw .cannotWrite(path: path, reason: "\(error)") }
  }

  /// Reads the header only (to tell which kind of model a file holds).
  public static func header(at path: String) throws(ModelFileError) -> ModelFileHeader {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw .unreadable(path: path, reason: error.localizedDescription) }
    guard let h = try? JSONDecoder().decode(HeaderOnly.self, from: data).header else {
      if (try? JSONSerialization.jsonObject(with: data)) == nil { throw .corrupt(path: path, reason: "not valid JSON") }
      throw .notAModel(path: path)
    }
    guard h.format == "anprkit-model" else { throw .notAModel(path: path) }
    guard h.formatVersion <= ModelFileHeader.currentFormatVersion else { throw .newerFormat(path: path, found: h.formatVersion) }
    return h
  }

  /// Reads a model of `kind`: header first (format, version, kind), then the body.
  public static func read<Body: Codable>(_ type: Body.Type, kind: ModelKind, from path: String) throws(ModelFileError) -> (ModelFileHeader, Body) {
    let h = try header(at: path)
    guard h.kind == kind else { throw .wrongKind(path: path, expected: kind.rawValue, found: h.kind.rawValue) }
    do {
      let data = try Data(contentsOf: URL(fileURLWithPath: path))
      return (h, try JSONDecoder().decode(ModelEnvelope<Body>.self, from: data).body)
    } catch { throw .corrupt(path: path, reason: "\(error)") }
  }
}

/// FNV-1a 64-bit digest of numbers, for data fingerprints in model files.
public struct Fingerprint {
  private var h: UInt64 = 0xcbf2_9ce4_8422_2325
  public init() {}
  public mutating func add(_ x: UInt64) {
    for k in 0..<8 { h ^= (x >> (8 * UInt64(k))) & 0xFF; h = h &* 0x100_0000_01b3 }
  }
  public mutating func add(_ x: Double) { add(x.bitPattern) }
  public mutating func add(_ x: Int64) { add(UInt64(bitPattern: x)) }
  public mutating func add(_ s: String) { for b in s.utf8 { h ^= UInt64(b); h = h &* 0x100_0000_01b3 } }
  public var hex: String { String(format: "%016llx", h) }
}

/// Spec decoding that applies defaults for missing keys and rejects unknown keys, listing the allowed ones.
public struct AnyCodingKey: CodingKey {
  public var stringValue: String
  public var intValue: Int?
  public init(stringValue: String) { self.stringValue = stringValue }
  public init?(intValue: Int) { self.stringValue = "\(intValue)"; self.intValue = intValue }
}

public enum SpecError: Error, CustomStringConvertible {
  case unknownKeys([String], allowed: [String], kind: String)
  case invalid(String)
  public var description: String {
    switch self {
    case let .unknownKeys(k, a, kind):
      return "unknown key\(k.count > 1 ? "s" : "") \(k.joined(separator: ", ")) in \(kind) spec; allowed: \(a.joined(separator: ", "))"
    case .invalid(let m): return m
    }
  }
}

/// Throws when `decoder` holds keys outside `allowed`.
public func rejectUnknownKeys(_ decoder: Decoder, allowed: [String], kind: String) throws {
  let c = try decoder.container(keyedBy: AnyCodingKey.self)
  let unknown = c.allKeys.map(\.stringValue).filter { !allowed.contains($0) }.sorted()
  if !unknown.isEmpty { throw SpecError.unknownKeys(unknown, allowed: allowed.sorted(), kind: kind) }
}

extension ReadStore {
  /// FNV-1a over every read's time, camera and vehicle: one number that changes when any read does
  /// (for model-file headers and the report's provenance).
  public var fingerprint: String {
    var f = Fingerprint()
    for i in 0..<count { f.add(time(i)); f.add(UInt64(camera(i))); f.add(UInt64(vehicle(i))) }
    return "\(count) reads, FNV-1a \(f.hex)"
  }
}

/// Throws when `decoder` holds keys outside `allowed`.
public func rejectUnknownKeys(_ decoder: Decoder, allowed: [String], kind: ModelKind) throws {
  try rejectUnknownKeys(decoder, allowed: allowed, kind: kind.rawValue)
}
