import Foundation

/// The id of a period of use of one car, `VEHICLE#FROM..TO` with the first and last read in UTC to the
/// minute (`K3F9…#2026-03-02T14:05Z..2026-03-06T18:41Z`): what `anpr link` groups, and what `--target
/// vehicles=…`, `--group` and a report accept wherever a vehicle id is accepted.
public enum EpisodeID {
  /// Formats an id; `last` is rounded up to the end of its minute so the span holds every read.
  public static func format(vehicle: String, first: Int64, last: Int64) -> String {
    "\(vehicle)#\(minute(first))..\(minute(last + 59))"
  }

  static func minute(_ t: Int64) -> String {
    String(Timestamp.iso8601(t - ((t % 60) + 60) % 60).prefix(16)) + "Z"
  }

  /// Parses an id into the vehicle id and its span `[from, to]` (UTC seconds, `to` the last second of its
  /// minute); nil when `id` is a plain vehicle id, or its span ends before it starts (not a period of
  /// use: such an id names nothing, and is refused as unknown where ids are resolved).
  public static func parse(_ id: String) -> (vehicle: String, from: Int64, to: Int64)? {
    guard let hash = id.lastIndex(of: "#") else { return nil }
    let span = id[id.index(after: hash)...].components(separatedBy: "..")
    guard span.count == 2, span.allSatisfy({ $0.count == 17 && $0.hasSuffix("Z") }),
          case .success(let a) = Timestamp.parse(span[0].dropLast() + ":00Z"),
          case .success(let b) = Timestamp.parse(span[1].dropLast() + ":00Z"), a <= b else { return nil }
    return (String(id[..<hash]), Int64(a), Int64(b) + 59)
  }

  /// Resolves ids (vehicle ids or episode ids) against a store: the vehicle indices, and for each vehicle
  /// named by episode ids the spans its reads must fall in (absent: every read of that vehicle). Ids not
  /// in the store are returned in `unknown`.
  public static func resolve(_ ids: [String], in store: ReadStore) -> (vehicles: [Int], spans: [Int: [ClosedRange<Int64>]], unknown: [String]) {
    resolve(ids, index: vehicleIndex(store))
  }

  /// The store's vehicle indices by id (build once when resolving many lists of ids).
  public static func vehicleIndex(_ store: ReadStore) -> [String: Int] {
    Dictionary(store.vehicles.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
  }

  /// `resolve(_:in:)` against a prebuilt `vehicleIndex`.
  public static func resolve(_ ids: [String], index: [String: Int]) -> (vehicles: [Int], spans: [Int: [ClosedRange<Int64>]], unknown: [String]) {
    var vehicles: [Int] = [], spans: [Int: [ClosedRange<Int64>]] = [:], whole = Set<Int>(), unknown: [String] = []
    for id in ids {
      if let e = parse(id), let v = index[e.vehicle] {
        if !vehicles.contains(v) { vehicles.append(v) }
        spans[v, default: []].append(e.from...e.to)
      } else if let v = index[id] {
        if !vehicles.contains(v) { vehicles.append(v) }
        whole.insert(v)
      } else { unknown.append(id) }
    }
    for v in whole { spans[v] = nil }
    return (vehicles, spans, unknown)
  }

  /// Whether time `t` of vehicle `v` falls in its spans (a vehicle without spans: always).
  @inline(__always) public static func inUse(_ spans: [Int: [ClosedRange<Int64>]], vehicle v: Int, at t: Int64) -> Bool {
    guard let s = spans[v] else { return true }
    return s.contains { $0.contains(t) }
  }
}
