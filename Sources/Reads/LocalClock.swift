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

  /// Seconds to add to UTC to get local time at `t`.
  public func offset(at t: Int64) -> Int64 { cache.offset(t) }

  /// Local seconds since 1970-01-01T00:00 local (for day and hour arithmetic).
  public func local(_ t: Int64) -> Int64 { t + offset(at: t) }

  /// Local hour of day, 0–23.
  public func hourOfDay(_ t: Int64) -> Int { Int(floorMod(local(t), 86400) / 3600) }

  /// Local day number since 1970-01-01.
  public func day(_ t: Int64) -> Int64 { floorDiv(local(t), 86400) }

  /// Local day of week, 0 = Monday … 6 = Sunday.
  public func weekday(_ t: Int64) -> Int { Int(floorMod(day(t) + 3, 7)) }  // 1970-01-01 was a Thursday

  /// Local hour of week, 0 = Monday 00:00–01:00 … 167 = Sunday 23:00–24:00.
  public func hourOfWeek(_ t: Int64) -> Int { weekday(t) * 24 + hourOfDay(t) }

  public enum ClockError: Error, CustomStringConvertible, Equatable {
    case unknownZone(String)
    public var description: String {
      switch self { case .unknownZone(let z): return "unknown time zone '\(z)' (use an IANA name such as Europe/London)" }
    }
  }
}

@inlinable func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
@inlinable func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }

final class OffsetCache: @unchecked Sendable {
  private let tz: TimeZone
  private var hours: [Int64: Int64] = [:]
  private let lock = NSLock()
  init(_ tz: TimeZone) { self.tz = tz }
  func offset(_ t: Int64) -> Int64 {
    let h = floorDiv(t, 3600)
    lock.lock(); defer { lock.unlock() }
    if let o = hours[h] { return o }
    let o = Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(h * 3600))))
    hours[h] = o
    return o
  }
}
