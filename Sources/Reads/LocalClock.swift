import Foundation

/// Converts UTC epoch seconds to the analyst's local clock (default Europe/London), so hour-of-week
/// and shifts follow local time across British Summer Time changes. Offsets are cached per UTC hour.
public struct LocalClock: Sendable {
  public let timeZone: TimeZone
  private let cache: OffsetCache

  /// - Throws: `IngestError.badColumnMapping`-style message when the zone name is unknown.
  public init(identifier: String = "Europe/London") throws(ClockError) {
    guard let tz = TimeZone(identifier: identifier) else { throw .unknownZone(identifier) }
    timeZone = tz
    cache = OffsetCache(tz)
  }

  public static let utc = try! LocalClock(identifier: "UTC")

  /// Whether local time is UTC at every instant (UTC, GMT, Etc/UTC, …): no offset and no daylight saving.
  public var isUTC: Bool {
    timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: 0)) == 0 && timeZone.secondsFromGMT() == 0
      && timeZone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: 0)) == nil
  }

  /// Seconds to add to UTC to get local time at `t`.
  public func offset(at t: Int64) -> Int64 { cache.offset(t) }

  /// Local seconds since 1970-01-01T00:00 local (for day and hour arithmetic).
  public func local(_ t: Int64) -> Int64 { t + offset(at: t) }

  /// Local day number and hour of day of `t`, from one offset lookup (for hot loops that need both).
  public func dayAndHour(_ t: Int64) -> (day: Int64, hour: Int) {
    let l = local(t), d = floorDiv(l, 86400)
    return (d, Int((l - d * 86400) / 3600))
  }

  /// Local hour of day, 0–23.
  public func hourOfDay(_ t: Int64) -> Int { Int(floorMod(local(t), 86400) / 3600) }

  /// Local day number since 1970-01-01.
  public func day(_ t: Int64) -> Int64 { floorDiv(local(t), 86400) }

  /// Local day of week, 0 = Monday … 6 = Sunday.
  public func weekday(_ t: Int64) -> Int { Self.weekday(ofDay: day(t)) }
  /// Weekday (0 = Monday) of local day `day` (days since 1970-01-01, a Thursday).
  public static func weekday(ofDay day: Int64) -> Int { Int(floorMod(day + 3, 7)) }

  /// Local hour of week, 0 = Monday 00:00–01:00 … 167 = Sunday 23:00–24:00.
  public func hourOfWeek(_ t: Int64) -> Int { weekday(t) * 24 + hourOfDay(t) }

  /// Local seconds since the day's midnight, 0 ..< 86 400 (the clock on the wall, in seconds).
  public func secondOfDay(_ t: Int64) -> Int { Int(floorMod(local(t), 86400)) }

  /// Local seconds since Monday 00:00, 0 ..< 604 800 (for seasonal slots finer than an hour).
  public func secondOfWeek(_ t: Int64) -> Int { weekday(t) * 86400 + Int(floorMod(local(t), 86400)) }

  /// The first instant of local day `day` (days since 1970-01-01 local): its midnight, the earlier one
  /// when the clocks go back over it, or the instant the clocks skip to when they jump over it.
  public func startOfDay(_ day: Int64) -> Int64 {
    let l = day * 86400
    switch resolve(local: l) {
    case .unique(let t): return t
    case .ambiguous(let earlier, _): return earlier
    case .nonexistent: return l - offset(at: l - 86400)
    }
  }

  /// Weekday names, Monday first (index = `weekday`), short and in full.
  public static let weekdayShortNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
  public static let weekdayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

  /// `Thu 16:00`: weekday and time on this clock.
  public func label(_ t: Int64) -> String {
    let s = secondOfDay(t)
    return String(format: "%@ %02d:%02d", Self.weekdayShortNames[weekday(t)], s / 3600, s % 3600 / 60)
  }

  /// The first instant of the local day that holds `t` (its midnight, right across clock changes:
  /// `t − local seconds since midnight` is an hour out on the day the clocks change).
  public func startOfDay(containing t: Int64) -> Int64 { startOfDay(day(t)) }

  /// The first instant of the local day after the one that holds `t` (23, 24 or 25 hours on).
  public func startOfNextDay(after t: Int64) -> Int64 { startOfDay(day(t) + 1) }

  /// The default forecast origin: the end of the last full local day of data. The day of the last read
  /// counts as full when the reads reach into its last hour (then the origin is the midnight after it);
  /// otherwise the origin is the midnight that starts that day, and the partial day is forecast rather
  /// than used as history — a store whose last read is seconds before midnight and one whose last read
  /// is at noon both forecast whole days from a midnight.
  public func endOfLastFullDay(lastRead: Int64) -> Int64 {
    let day = self.day(lastRead)
    let next = startOfDay(day + 1)
    return lastRead >= next - 3600 ? next : startOfDay(day)
  }

  /// The UTC instants a local clock reading (seconds since 1970-01-01T00:00 local) can mean.
  public enum LocalResolution: Equatable, Sendable {
    /// One instant (almost every time).
    case unique(Int64)
    /// The clocks went back over it: the earlier and the later instant.
    case ambiguous(earlier: Int64, later: Int64)
    /// The clocks went forward over it: no instant has this reading.
    case nonexistent
  }

  /// The UTC instant(s) of local reading `l`: an instant `t` qualifies when `t + offset(t) == l`. The
  /// offsets in force a day before and after are the only candidates (zones change offset at most
  /// once in two days).
  public func resolve(local l: Int64) -> LocalResolution {
    let before = offset(at: l - 86400), after = offset(at: l + 86400)
    let t1 = l - before, t2 = l - after
    let ok1 = offset(at: t1) == before, ok2 = before != after && offset(at: t2) == after
    switch (ok1, ok2) {
    case (true, true): return .ambiguous(earlier: min(t1, t2), later: max(t1, t2))
    case (true, false): return .unique(t1)
    case (false, true): return .unique(t2)
    case (false, false): return .nonexistent
    }
  }

  public enum ClockError: Error, CustomStringConvertible, Equatable {
    case unknownZone(String)
    public var description: String {
      switch self { case .unknownZone(let z): return "unknown time zone '\(z)' (use an IANA name such as Europe/London)" }
    }
  }
}

@inlinable func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
@inlinable func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }

/// UTC offsets as an immutable table of the zone's transitions (1900–2100), looked up by binary search:
/// no lock and no allocation per call, so clocks can be shared across threads in hot loops. Times
/// outside the table ask the time zone directly.
final class OffsetCache: Sendable {
  private let tz: TimeZone
  /// Transition instants (epoch seconds, ascending) and the offset in force from each one on.
  private let transitions: [Int64]
  private let offsets: [Int64]
  /// Offset before the first transition.
  private let initialOffset: Int64
  private static let tableStart: Int64 = -2_208_988_800  // 1900-01-01
  private static let tableEnd: Int64 = 4_102_444_800  // 2100-01-01

  init(_ tz: TimeZone) {
    self.tz = tz
    var ts: [Int64] = [], os: [Int64] = []
    var d = Date(timeIntervalSince1970: TimeInterval(Self.tableStart))
    while let next = tz.nextDaylightSavingTimeTransition(after: d), next.timeIntervalSince1970 < TimeInterval(Self.tableEnd) {
      ts.append(Int64(next.timeIntervalSince1970.rounded(.down)))
      os.append(Int64(tz.secondsFromGMT(for: next)))
      d = next
    }
    transitions = ts; offsets = os
    initialOffset = Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(Self.tableStart))))
  }

  @inline(__always) func offset(_ t: Int64) -> Int64 {
    guard t >= Self.tableStart && t < Self.tableEnd else { return Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))) }
    // Last transition at or before t.
    var lo = 0, hi = transitions.count
    while lo < hi { let mid = (lo + hi) >> 1; if transitions[mid] <= t { lo = mid + 1 } else { hi = mid } }
    return lo == 0 ? initialOffset : offsets[lo - 1]
  }
}
