import Foundation

/// A camera from `cameras.csv`.
public struct Camera: Sendable, Codable, Hashable {
  /// The identifier the export uses (e.g. "CAM017").
  public var id: String
  /// The site it belongs to (defaults to the camera id); sites group cameras at one place
  /// (e.g. one per direction).
  public var site: String
  public var latitude: Double
  public var longitude: Double
  /// Compass bearing the camera faces, degrees, if known.
  public var bearing: Double?
  public var road: String?
  public var description: String?

  public init(id: String, site: String, latitude: Double, longitude: Double, bearing: Double? = nil,
              road: String? = nil, description: String? = nil) {
    self.id = id; self.site = site; self.latitude = latitude; self.longitude = longitude
    self.bearing = bearing; self.road = road; self.description = description
  }
}

/// How a vehicle is kept, from `vehicles.csv` (hire cars matter to the analysis).
public enum KeeperType: String, Sendable, Codable, CaseIterable {
  case `private`, rental, lease, fleet, unknown
}

/// Great-circle distance in metres between two WGS84 points (haversine, mean Earth radius 6 371 008.8 m).
public func haversineMetres(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
  let r = 6_371_008.8
  let p1 = lat1 * .pi / 180, p2 = lat2 * .pi / 180
  let dp = p2 - p1, dl = (lon2 - lon1) * .pi / 180
  let a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2)
  return 2 * r * asin(min(1, sqrt(a)))
}

/// Maps the toolkit's column names to the names a real export uses (`--columns plate=VRM,camera_id=CameraID`).
/// Header matching is case-insensitive and ignores surrounding spaces.
public struct ColumnMapping: Sendable, Equatable {
  /// canonical name → name in the file
  public private(set) var names: [String: String] = [:]

  public init() {}

  /// Parses `canonical=Actual,canonical=Actual`.
  /// - Throws: `IngestError.badColumnMapping` for a malformed pair or an unknown canonical name.
  public init(parsing spec: String, allowed: Set<String> = ColumnMapping.allCanonicalNames) throws(IngestError) {
    for pair in spec.split(separator: ",", omittingEmptySubsequences: true) {
      let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        throw .badColumnMapping("'\(pair)' is not NAME=COLUMN (e.g. plate=VRM)")
      }
      guard allowed.contains(parts[0]) else {
        throw .badColumnMapping("unknown column '\(parts[0])'; known: \(allowed.sorted().joined(separator: ", "))")
      }
      names[parts[0]] = parts[1]
    }
  }

  public static let allCanonicalNames: Set<String> = [
    "read_id", "plate", "camera_id", "timestamp", "confidence", "site_id", "latitude", "longitude", "bearing",
    "road", "description", "keeper_type", "make", "colour", "event_id", "category", "easting", "northing",
  ]

  /// Column indices of `canonical` names in `header`; required ones must be present.
  func resolve(header: [String], required: [String], optional: [String], file: String) throws(IngestError) -> [String: Int] {
    let norm = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    var out: [String: Int] = [:]
    for name in required + optional {
      // The mapped name first, then the canonical one (one --columns serves reads and cameras files).
      let wants = [names[name], name].compactMap { $0?.lowercased() }
      if let i = wants.lazy.compactMap({ norm.firstIndex(of: $0) }).first { out[name] = i }
      else if required.contains(name) { throw .missingColumn(file: file, column: name, header: header) }
    }
    return out
  }
}

/// Loads `cameras.csv`: `camera_id,site_id,latitude,longitude,bearing,road,description` (WGS84), or
/// with `crs` (e.g. `EPSG:27700`, British National Grid) `easting,northing` in place of latitude and
/// longitude, converted to WGS84 with PROJ. The registry must be clean (every later read refers to
/// it), so a bad row is a fatal error naming its line and field, not a rejection.
public func loadCameras(path: String, columns: ColumnMapping = ColumnMapping(), crs: String? = nil) throws -> [Camera] {
  let reader = CSVReader(source: try ByteSource(path: path))
  let position = try RegistryPosition(crs: crs)
  var idx: [String: Int] = [:]
  var cams: [Camera] = []
  var seen = Set<String>()
  try reader.forEachRecord { r in
    if r.line == 1 {
      idx = try columns.resolve(
        header: (0..<r.count).map(r.string), required: ["camera_id"] + position.columns,
        optional: ["site_id", "bearing", "road", "description"], file: path)
      return
    }
    if r.count == 1 && r.bytes(0).isEmpty { return }  // blank line in a registry: harmless
    func field(_ name: String) -> String? {
      guard let i = idx[name], i < r.count else { return nil }
      let s = r.string(i).trimmingCharacters(in: .whitespaces)
      return s.isEmpty ? nil : s
    }
    func number(_ name: String, _ range: ClosedRange<Double>) throws -> Double? {
      guard let s = field(name) else { return nil }
      guard let v = Double(s), range.contains(v) else {
        throw IngestError.badRegistry(file: path, line: r.line, field: name, reason: "'\(s)' is not a number in \(range)")
      }
      return v
    }
    guard let id = field("camera_id") else {
      throw IngestError.badRegistry(file: path, line: r.line, field: "camera_id", reason: "empty")
    }
    guard seen.insert(id).inserted else {
      throw IngestError.badRegistry(file: path, line: r.line, field: "camera_id", reason: "'\(id)' listed twice")
    }
    guard let a = field(position.columns[0]) else {
      throw IngestError.badRegistry(file: path, line: r.line, field: position.columns[0], reason: "empty")
    }
    guard let b = field(position.columns[1]) else {
      throw IngestError.badRegistry(file: path, line: r.line, field: position.columns[1], reason: "empty")
    }
    let p: (latitude: Double, longitude: Double)
    switch position.position(a, b) {
    case .success(let x): p = x
    case .failure(let e): throw IngestError.badRegistry(file: path, line: r.line, field: e.field, reason: e.reason)
    }
    cams.append(Camera(
      id: id, site: field("site_id") ?? id, latitude: p.latitude, longitude: p.longitude, bearing: try number("bearing", 0...360),
      road: field("road"), description: field("description")))
  }
  if cams.isEmpty { throw IngestError.badRegistry(file: path, line: 1, field: "camera_id", reason: "no cameras listed") }
  guard cams.count <= Int(UInt16.max) else {
    throw IngestError.badRegistry(file: path, line: 1, field: "camera_id", reason: "more than 65535 cameras")
  }
  return cams
}

/// Loads `vehicles.csv` (`plate,keeper_type,make,colour`): normalised plate → keeper type.
/// Unknown keeper types are a fatal error naming line and field (the file is a registry).
public func loadVehicles(path: String, columns: ColumnMapping = ColumnMapping()) throws -> [String: KeeperType] {
  let reader = CSVReader(source: try ByteSource(path: path))
  var idx: [String: Int] = [:]
  var out: [String: KeeperType] = [:]
  try reader.forEachRecord { r in
    if r.line == 1 {
      idx = try columns.resolve(header: (0..<r.count).map(r.string), required: ["plate"],
                                optional: ["keeper_type", "make", "colour"], file: path)
      return
    }
    if r.count == 1 && r.bytes(0).isEmpty { return }
    guard let pi = idx["plate"], pi < r.count, let plate = Plate.normalise(r.string(pi)) else {
      throw IngestError.badRegistry(file: path, line: r.line, field: "plate", reason: "empty")
    }
    var keeper = KeeperType.unknown
    if let ki = idx["keeper_type"], ki < r.count, let exact = KeeperType(rawValue: r.string(ki)) {
      keeper = exact  // the common case: already a lower-case type name, no trimming needed
    } else if let ki = idx["keeper_type"], ki < r.count {
      let s = r.string(ki).trimmingCharacters(in: .whitespaces).lowercased()
      if !s.isEmpty {
        guard let k = KeeperType(rawValue: s) else {
          throw IngestError.badRegistry(
            file: path, line: r.line, field: "keeper_type",
            reason: "'\(s)' is not one of \(KeeperType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        keeper = k
      }
    }
    out[plate] = keeper
  }
  return out
}
