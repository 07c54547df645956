import Foundation
import Modelling
import Reads

/// How time is cut into bins: a fixed width (15 minutes to days), days of the analyst's time zone
/// (local midnight to local midnight: 23, 24 or 25 hours), or calendar months (police.uk street-level
/// crime carries the month only).
public enum Binning: Codable, Sendable, Hashable, CustomStringConvertible {
  case seconds(Int)
  case month
  /// Whole local days of a time zone (IANA name), in runs of `count` days counted from 1970-01-01.
  case localDays(Int, zone: String)

  public static let hourly = Binning.seconds(3600)

  /// Parses `15m`, `1h`, `6h`, `1d`, `month`.
  public static func parse(_ s: String) throws -> Binning {
    if s == "month" { return .month }
    let unit = s.last.map(String.init) ?? ""
    guard let n = Int(s.dropLast()), n > 0 else { throw SpecError.invalid("bin '\(s)': use e.g. 15m, 1h, 1d or month") }
    let secs: Int
    switch unit {
    case "m": secs = n * 60
    case "h": secs = n * 3600
    case "d": secs = n * 86400
    default: throw SpecError.invalid("bin '\(s)': use e.g. 15m, 1h, 1d or month")
    }
    guard secs >= 900 else { throw SpecError.invalid("bin '\(s)' is shorter than 15 minutes") }
    return .seconds(secs)
  }

  /// Bins of whole days follow `clock`'s days (local midnights) unless its zone is UTC; other bins as
  /// they are. Days are what an analyst means by "tomorrow": in New York a UTC day runs 19:00 to 19:00.
  public func localised(_ clock: LocalClock) -> Binning {
    switch self {
    case .seconds(let w) where w % 86400 == 0 && !clock.isUTC:
      return .localDays(w / 86400, zone: clock.timeZone.identifier)
    case .localDays(let n, _) where clock.isUTC: return .seconds(n * 86400)
    case .localDays(let n, _): return .localDays(n, zone: clock.timeZone.identifier)
    default: return self
    }
  }

  /// Seconds in a bin when bins have one nominal width (local days count as 86 400 s each); nil for months.
  public var nominalSeconds: Int? {
    switch self {
    case .seconds(let w): return w
    case .localDays(let n, _): return n * 86400
    case .month: return nil
    }
  }

  /// The clock of a local-day binning's zone (one per zone, kept).
  static func clock(_ zone: String) -> LocalClock {
    clockLock.lock(); defer { clockLock.unlock() }
    if let c = clocks[zone] { return c }
    let c = (try? LocalClock(identifier: zone)) ?? .utc
    clocks[zone] = c
    return c
  }
  nonisolated(unsafe) private static var clocks: [String: LocalClock] = [:]
  private static let clockLock = NSLock()

  /// The local day number of the bin holding `t`'s first day (local-day bins).
  func firstDay(of t: Int64, _ n: Int, _ c: LocalClock) -> Int64 {
    let d = c.day(t)
    return d - ((d % Int64(n)) + Int64(n)) % Int64(n)
  }

  /// Start of the bin holding `t` (UTC epoch seconds; fixed bins align to UTC midnight, local days to
  /// the zone's midnight).
  public func start(of t: Int64) -> Int64 {
    switch self {
    case .seconds(let w): return t - ((t % Int64(w)) + Int64(w)) % Int64(w)
    case .month:
      let (y, m, _) = Timestamp.civilFromDays(Int(t >= 0 ? t / 86400 : (t - 86399) / 86400))
      return Int64(Timestamp.daysFromCivil(y, m, 1)) * 86400
    case .localDays(let n, let zone):
      let c = Self.clock(zone)
      return c.startOfDay(firstDay(of: t, n, c))
    }
  }

  /// Start of the bin after the one starting at `s`.
  public func next(_ s: Int64) -> Int64 {
    switch self {
    case .seconds(let w): return s + Int64(w)
    case .month:
      let (y, m, _) = Timestamp.civilFromDays(Int(s / 86400))
      return Int64(m == 12 ? Timestamp.daysFromCivil(y + 1, 1, 1) : Timestamp.daysFromCivil(y, m + 1, 1)) * 86400
    case .localDays(let n, let zone):
      let c = Self.clock(zone)
      return c.startOfDay(firstDay(of: s, n, c) + Int64(n))
    }
  }

  /// Bins from the one starting at `first` to the one holding `t` (0 for the first bin; negative before it).
  public func binsBetween(_ first: Int64, _ t: Int64) -> Int {
    switch self {
    case .seconds(let w): return Int(floorDivide(t - first, Int64(w)))
    case .localDays(let n, let zone):
      let c = Self.clock(zone)
      return Int(floorDivide(firstDay(of: t, n, c) - firstDay(of: first, n, c), Int64(n)))
    case .month:
      let (y0, m0, _) = Timestamp.civilFromDays(Int(floorDivide(first, 86400)))
      let (y1, m1, _) = Timestamp.civilFromDays(Int(floorDivide(t, 86400)))
      return (y1 - y0) * 12 + (m1 - m0)
    }
  }

  /// Bins per week for seasonal models (168 for hourly; 1 when bins are a day or longer).
  public var seasonalPeriod: Int {
    switch self {
    case .seconds(let w): return w < 86400 && (7 * 86400) % w == 0 ? 7 * 86400 / w : 1
    case .month, .localDays: return 1
    }
  }

  public var description: String {
    switch self {
    case .month: return "month"
    case .seconds(let w): return w % 86400 == 0 ? "\(w / 86400)d" : w % 3600 == 0 ? "\(w / 3600)h" : "\(w / 60)m"
    case .localDays(let n, _): return "\(n)d"
    }
  }
}

func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

/// A place counts are kept for: a camera site or a grid cell.
public struct SpatialUnit: Codable, Sendable, Hashable {
  public var id: String
  public var latitude: Double
  public var longitude: Double
  /// For grid cells: the cell's side in metres (nil for camera sites).
  public var cellMetres: Double?
  public init(id: String, latitude: Double, longitude: Double, cellMetres: Double? = nil) {
    self.id = id; self.latitude = latitude; self.longitude = longitude; self.cellMetres = cellMetres
  }
}

/// Which reads count towards the target series.
public enum Target: Codable, Sendable, Hashable, CustomStringConvertible {
  case allReads
  case keeper(KeeperType)
  /// Vehicles by id as the store holds them (pseudonyms, or plates in a raw store): a watch list or an
  /// actor group. An id may name a period of use (`VEHICLE#FROM..TO`, from `anpr link`): then only that
  /// car's reads in that span count, so a re-hired car's other hirers are not counted as the actor.
  case vehicles([String])
  /// Actor groups from `anpr link` (`--target groups=GROUPS.csv`): the periods of use (or vehicles)
  /// of every group, each read counted with its member's link confidence as its weight, so a strong
  /// link weighs more than a weak one. `ids` sorted, `weights` in the same order.
  case linkedGroups(ids: [String], weights: [Double])

  /// Parses `all`, `keeper=rental`, `vehicles=V1,V2,...`, or `watchlist=FILE` (ids one per line).
  public static func parse(_ s: String) throws -> Target {
    if s == "all" { return .allReads }
    if s.hasPrefix("keeper=") {
      let k = String(s.dropFirst(7))
      guard let kt = KeeperType(rawValue: k) else {
        throw SpecError.invalid("--target keeper=\(k): keeper must be one of \(KeeperType.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      return .keeper(kt)
    }
    if s.hasPrefix("vehicles=") { return .vehicles(s.dropFirst(9).split(separator: ",").map(String.init).sorted()) }
    if s.hasPrefix("watchlist=") {
      let path = String(s.dropFirst(10))
      guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw SpecError.invalid("--target watchlist=\(path): cannot read the file")
      }
      return .vehicles(text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.sorted())
    }
    throw SpecError.invalid("--target '\(s)': use all, keeper=rental, vehicles=ID,ID or watchlist=FILE")
  }

  /// Whether `id` is a pseudonym (`V` + 16 hex digits), or a period of use of one, rather than a plate.
  public static func isPseudonym(_ id: String) -> Bool { Pseudonymiser.looksLikePseudonym(id) }

  /// The target with every plate in a watch list or vehicle list (any spacing and case) normalised and,
  /// for a pseudonymised store, replaced by its pseudonym under the store's key, so no plate reaches
  /// a model. Ids that are already pseudonyms (or periods of use) are kept.
  /// - Throws: when the list holds plates, the store is pseudonymised and no key is given, or the key
  ///   is not the store's.
  public func pseudonymised(for store: ReadStore, with key: Pseudonymiser?) throws -> Target {
    guard case .vehicles(let ids) = self else { return self }  // linked groups name the store's own ids
    let plates = ids.filter { !Self.isPseudonym($0) && !$0.contains("#") }
    if plates.isEmpty { return self }
    guard store.isPseudonymised else { return .vehicles(ids.map { Self.isPseudonym($0) || $0.contains("#") ? $0 : Plate.normalise($0) ?? $0 }.sorted()) }
    guard let key else {
      throw SpecError.invalid("the watch list holds \(plates.count) plate(s) and the store is pseudonymised: pass --key-file (or set ANPR_KEY) so they can be pseudonymised")
    }
    if let fp = store.header.keyFingerprint, fp != key.fingerprint {
      throw SpecError.invalid("the key given is not the one the store was pseudonymised with (fingerprint \(key.fingerprint), store \(fp))")
    }
    return .vehicles(ids.map { Self.isPseudonym($0) || $0.contains("#") ? $0 : key.pseudonym(plate: $0) ?? $0 }.sorted())
  }

  /// Throws when a vehicle list matches no vehicle of `store` (a wrong key, or plates never read):
  /// a model trained on nothing is not a result.
  public func requireMatches(in store: ReadStore) throws {
    guard let ids = listedIDs else { return }
    if !mask(store).contains(true) {
      throw SpecError.invalid("the target's \(ids.count) vehicle(s) match no vehicle in the store (first: \(ids.first ?? "-")): plates never read, or a different key")
    }
  }

  /// Which store vehicles match.
  public func mask(_ store: ReadStore) -> [Bool] {
    switch self {
    case .allReads: return Array(repeating: true, count: store.vehicles.count)
    case .keeper(let k): return store.vehicles.map { $0.keeper == k }
    case .vehicles(let ids), .linkedGroups(let ids, _):
      var m = [Bool](repeating: false, count: store.vehicles.count)
      for v in EpisodeID.resolve(ids, in: store).vehicles { m[v] = true }
      return m
    }
  }

  /// The ids a vehicle list or linked groups name (nil for all reads or a keeper type).
  public var listedIDs: [String]? {
    switch self {
    case .vehicles(let ids), .linkedGroups(let ids, _): return ids
    default: return nil
    }
  }

  /// For linked groups: each vehicle's periods of use (nil span: the whole vehicle) with their weights;
  /// nil for targets whose reads all weigh 1.
  public func readWeights(_ store: ReadStore) -> [Int: [(span: ClosedRange<Int64>?, weight: Double)]]? {
    guard case .linkedGroups(let ids, let weights) = self else { return nil }
    let index = EpisodeID.vehicleIndex(store)
    var out: [Int: [(span: ClosedRange<Int64>?, weight: Double)]] = [:]
    for (id, w) in zip(ids, weights) {
      if let e = EpisodeID.parse(id), let v = index[e.vehicle] { out[v, default: []].append((e.from...e.to, w)) }
      else if let v = index[id] { out[v, default: []].append((nil, w)) }
    }
    return out
  }

  /// The weight of read `i` of `store` under `readWeights` (the largest of the spans holding it; 0 if none).
  @inline(__always) public static func weight(_ store: ReadStore, _ i: Int, _ weights: [Int: [(span: ClosedRange<Int64>?, weight: Double)]]) -> Double {
    guard let entries = weights[store.vehicle(i)] else { return 0 }
    let t = store.time(i)
    var w = 0.0
    for e in entries where e.span?.contains(t) ?? true { w = max(w, e.weight) }
    return w
  }

  /// For vehicles named by periods of use, the spans their reads must fall in (others: every read).
  public func spans(_ store: ReadStore) -> [Int: [ClosedRange<Int64>]] {
    if let ids = listedIDs { return EpisodeID.resolve(ids, in: store).spans }
    return [:]
  }

  /// Whether read `i` of `store` counts, given `mask` and `spans` from this target.
  @inline(__always) public static func counts(_ store: ReadStore, _ i: Int, mask: [Bool], spans: [Int: [ClosedRange<Int64>]]) -> Bool {
    let v = store.vehicle(i)
    return mask[v] && EpisodeID.inUse(spans, vehicle: v, at: store.time(i))
  }

  public var description: String {
    switch self {
    case .allReads: return "all reads"
    case .keeper(let k): return "reads of \(k.rawValue) vehicles"
    case .vehicles(let v): return "reads of \(v.count) listed vehicles"
    case .linkedGroups(let ids, _): return "reads of \(ids.count) linked periods of use, each weighted by its link confidence"
    }
  }
}

/// Counts of the target per (unit, time bin), plus exposure (all traffic) per (unit, bin).
///
/// A `CountTable` is built in one streaming pass over reads (or events), and two tables over
/// disjoint reads of the same units and binning *merge by addition* (`merged(with:)`): shards (a day,
/// a district, a cluster partition) compute their parts independently.
public struct CountTable: Codable, Sendable, Equatable {
  public var units: [SpatialUnit]
  public var binning: Binning
  /// Start of bin 0 and the number of bins; bins are contiguous.
  public var firstBin: Int64
  public var binCount: Int
  /// Unit-major: `counts[u * binCount + b]`.
  public var counts: [Double]
  /// All reads per unit and bin (the traffic that could have been a target); nil for events.
  public var exposure: [Double]?

  public init(units: [SpatialUnit], binning: Binning, firstBin: Int64, binCount: Int, withExposure: Bool) {
    self.units = units; self.binning = binning; self.firstBin = binning.start(of: firstBin); self.binCount = binCount
    counts = Array(repeating: 0, count: units.count * binCount)
    exposure = withExposure ? Array(repeating: 0, count: units.count * binCount) : nil
  }

  /// Bin starts, in order.
  public var binStarts: [Int64] {
    var out: [Int64] = []
    out.reserveCapacity(binCount)
    var s = firstBin
    for _ in 0..<binCount { out.append(s); s = binning.next(s) }
    return out
  }

  /// End of the last bin (exclusive).
  public var end: Int64 { binStarts.last.map(binning.next) ?? firstBin }

  /// Index of the bin holding `t`, or nil outside the table.
  public func binIndex(_ t: Int64) -> Int? {
    guard t >= firstBin else { return nil }
    let i = binning.binsBetween(firstBin, t)
    return i >= 0 && i < binCount ? i : nil
  }

  public subscript(unit: Int, bin: Int) -> Double { counts[unit * binCount + bin] }

  /// Total target count per unit.
  public var unitTotals: [Double] { (0..<units.count).map { u in counts[(u * binCount)..<((u + 1) * binCount)].reduce(0, +) } }

  /// The sum of two tables over the union of their bins (same units and binning).
  /// - Throws: `SpecError.invalid` when units or binning differ.
  public func merged(with o: CountTable) throws -> CountTable {
    guard units == o.units, binning == o.binning else { throw SpecError.invalid("count tables differ in units or binning; cannot merge") }
    let start = min(firstBin, o.firstBin)
    var n = 0
    var s = start
    let e = max(end, o.end)
    while s < e { s = binning.next(s); n += 1 }
    var out = CountTable(units: units, binning: binning, firstBin: start, binCount: n, withExposure: exposure != nil && o.exposure != nil)
    for t in [self, o] {
      let off = out.binIndex(t.firstBin)!
      for u in 0..<units.count {
        for b in 0..<t.binCount {
          out.counts[u * n + off + b] += t.counts[u * t.binCount + b]
          if out.exposure != nil { out.exposure![u * n + off + b] += t.exposure![u * t.binCount + b] }
        }
      }
    }
    return out
  }

  /// Bins `[from, to)` as a new table.
  public func slice(bins: Range<Int>) -> CountTable {
    var out = CountTable(units: units, binning: binning, firstBin: binStarts[bins.lowerBound], binCount: bins.count, withExposure: exposure != nil)
    for u in 0..<units.count {
      for (k, b) in bins.enumerated() {
        out.counts[u * bins.count + k] = counts[u * binCount + b]
        if exposure != nil { out.exposure![u * bins.count + k] = exposure![u * binCount + b] }
      }
    }
    return out
  }

  /// A digest of the table for model files.
  public var fingerprint: String {
    var f = Fingerprint()
    f.add(firstBin); f.add(UInt64(binCount))
    for u in units { f.add(u.id) }
    for c in counts { f.add(c) }
    return f.hex
  }

  /// The number of bins from the one holding `tmin` to the one holding `tmax`, after checking that a
  /// table of `units` × that many bins fits in memory (counts and exposure, 16 bytes a cell, at most
  /// half this machine's memory): otherwise an error saying how much it would need.
  static func binCount(from tmin: Int64, through tmax: Int64, binning: Binning, units: Int, source: String) throws -> Int {
    let n = binning.binsBetween(binning.start(of: tmin), tmax) + 1
    let bytes = Double(units) * Double(n) * 16
    let limit = Double(ProcessInfo.processInfo.physicalMemory) / 2
    guard bytes <= limit else {
      throw SpecError.invalid(String(format: "%@: %d units × %d bins of %@ would need %.1f GB for the count table alone, more than half this machine's %.1f GB; use larger cells or bins, or a shorter span",
                                     source, units, n, "\(binning)", bytes / 1e9, limit * 2 / 1e9))
    }
    return n
  }

  /// Site units of a store, in site order (location of the site's first camera).
  public static func siteUnits(_ store: ReadStore) -> [SpatialUnit] {
    zip(store.sites, store.siteLocations).map { SpatialUnit(id: $0, latitude: $1.latitude, longitude: $1.longitude) }
  }

  /// Counts target reads per camera site and bin over `[from, to)` in one pass over the store's time
  /// index: a pure function of the reads, so shards built over disjoint time ranges merge by addition.
  public static func build(store: ReadStore, target: Target, binning: Binning = .hourly, from: Int64, to: Int64) -> CountTable {
    let units = siteUnits(store)
    let first = binning.start(of: from)
    var n = 0
    var s = first
    while s < to { s = binning.next(s); n += 1 }
    var t = CountTable(units: units, binning: binning, firstBin: first, binCount: n, withExposure: true)
    let mask = target.mask(store), spans = target.spans(store), weights = target.readWeights(store)
    for i in store.reads(from: from, to: to) {
      guard let b = t.binIndex(store.time(i)) else { continue }
      let k = store.site(i) * n + b
      t.exposure![k] += 1
      if Target.counts(store, i, mask: mask, spans: spans) { t.counts[k] += weights.map { Target.weight(store, i, $0) } ?? 1 }
    }
    return t
  }
}

extension CountTable {
  /// Unit ids and locations: `cameras.csv` (sites from `site_id`, or `camera_id` when there is none;
  /// the first camera of a site gives its location) or any CSV with `unit_id,latitude,longitude`.
  public static func readUnits(path unitsPath: String, crs: String? = nil) throws -> [SpatialUnit] {
    let position = try RegistryPosition(crs: crs)
    let (xName, yName) = (position.columns[0], position.columns[1])
    var units: [SpatialUnit] = []
    var index: [String: Int] = [:]
    var cols: [String: Int] = [:]
    try CSVReader(source: ByteSource(path: unitsPath)).forEachRecord { r in
      if r.line == 1 { for i in 0..<r.count { cols[r.string(i).trimmingCharacters(in: .whitespaces).lowercased()] = i }; return }
      guard let idCol = cols["unit_id"] ?? cols["site_id"] ?? cols["camera_id"], let la = cols[xName], let lo = cols[yName] else {
        throw IngestError.missingColumn(file: unitsPath, column: "unit_id (or site_id/camera_id), \(xName), \(yName)", header: Array(cols.keys).sorted())
      }
      guard r.count > max(idCol, la, lo) else { return }
      let id = r.string(idCol).trimmingCharacters(in: .whitespaces)
      guard !id.isEmpty, index[id] == nil else { return }  // first camera of a site gives its location
      let (lat, lon): (Double, Double)
      switch position.position(r.string(la), r.string(lo)) {
      case .success(let p): (lat, lon) = p
      case .failure(let e): throw IngestError.badRegistry(file: unitsPath, line: r.line, field: e.field, reason: e.reason)
      }
      index[id] = units.count
      units.append(SpatialUnit(id: id, latitude: lat, longitude: lon))
    }
    guard !units.isEmpty else { throw IngestError.badRegistry(file: unitsPath, line: 1, field: "unit_id", reason: "no units listed") }
    return units
  }

  /// Reads counts computed elsewhere (a database query, a cluster job, a published aggregate):
  /// `counts.csv` with `unit_id,bin_start,count` (optionally `exposure`), and unit coordinates from a
  /// units file — `cameras.csv` (sites from `site_id`, or `camera_id` when there is none) or any CSV with
  /// `unit_id,latitude,longitude`. Rows for the same unit and bin add up (shards merge by addition);
  /// units in the units file with no rows are kept as zeros.
  /// - Throws: an error naming the file, line and field for unknown units, bad times, negative counts.
  public static func fromCSV(counts path: String, units unitsPath: String, binning: Binning, crs: String? = nil) throws -> CountTable {
    let units = try readUnits(path: unitsPath, crs: crs)
    let index = Dictionary(units.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    struct Row { var unit: Int; var t: Int64; var count: Double; var exposure: Double? }
    var rows: [Row] = []
    var ccols: [String: Int] = [:]
    try CSVReader(source: ByteSource(path: path)).forEachRecord { r in
      if r.line == 1 {
        for i in 0..<r.count { ccols[r.string(i).trimmingCharacters(in: .whitespaces).lowercased()] = i }
        for n in ["unit_id", "bin_start", "count"] where ccols[n] == nil {
          throw IngestError.missingColumn(file: path, column: n, header: (0..<r.count).map(r.string))
        }
        return
      }
      if r.count == 1 && r.bytes(0).isEmpty { return }
      let id = r.string(ccols["unit_id"]!).trimmingCharacters(in: .whitespaces)
      guard let u = index[id] else { throw IngestError.badRegistry(file: path, line: r.line, field: "unit_id", reason: "unknown unit '\(id)' (not in \(unitsPath))") }
      guard case .success(let t) = Timestamp.parse(r.trimmed(ccols["bin_start"]!)) else {
        throw IngestError.badRegistry(file: path, line: r.line, field: "bin_start", reason: "unparsable time (ISO 8601 with zone, or epoch seconds)")
      }
      guard let c = Double(r.string(ccols["count"]!)), c >= 0, c.isFinite else {
        throw IngestError.badRegistry(file: path, line: r.line, field: "count", reason: "not a non-negative number")
      }
      guard c == c.rounded() else {
        throw IngestError.badRegistry(file: path, line: r.line, field: "count",
                                      reason: "\(r.string(ccols["count"]!)) is not a whole number (the models are for counts; rates or averages would be misread)")
      }
      var e: Double? = nil
      if let ec = ccols["exposure"] {
        let text = r.string(ec).trimmingCharacters(in: .whitespaces)
        guard let x = Double(text), x >= 0, x.isFinite else {
          throw IngestError.badRegistry(file: path, line: r.line, field: "exposure", reason: "'\(text)' is not a non-negative number")
        }
        e = x
      }
      rows.append(Row(unit: u, t: Int64(t), count: c, exposure: e))
    }
    guard let tmin = rows.map(\.t).min(), let tmax = rows.map(\.t).max() else { throw SpecError.invalid("\(path): no count rows") }
    let n = try binCount(from: tmin, through: tmax, binning: binning, units: units.count, source: path)
    let withExposure = rows.contains { $0.exposure != nil }
    var table = CountTable(units: units, binning: binning, firstBin: tmin, binCount: n, withExposure: withExposure)
    for r in rows {
      let b = table.binIndex(r.t)!
      table.counts[r.unit * n + b] += r.count
      if withExposure { table.exposure![r.unit * n + b] += r.exposure ?? 0 }
    }
    return table
  }
}
