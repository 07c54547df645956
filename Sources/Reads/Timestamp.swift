/// Parses timestamps from bytes without Foundation: ISO 8601 / RFC 3339 (`2026-03-05T17:02:11Z`,
/// `2026-03-05 17:02:11.250+01:00`, `...T17:02Z`) or Unix epoch seconds (`1772730131`, `1772730131.5`).
/// A time without a zone is refused, because ANPR exports mix UTC and local time and a silent guess
/// would shift every forecast by an hour in summer.
public enum Timestamp {
  /// Why a timestamp did not parse.
  public enum Problem: Error, Equatable, Sendable {
    case empty, malformed, noTimeZone, outOfRange
    /// A local time that never happened: the clocks went forward over it.
    case nonexistentLocalTime
    /// A local time that happened twice: the clocks went back over it.
    case ambiguousLocalTime
    public var reason: String {
      switch self {
      case .nonexistentLocalTime:
        return "local time in the spring-forward gap (the clocks skipped it): no such time in this zone; check the export's clock"
      case .ambiguousLocalTime:
        return "local time in the repeated autumn hour (it happened twice); choose with --ambiguous first|second"
      case .empty: return "empty timestamp"
      case .malformed: return "unparsable timestamp (expected ISO 8601 like 2026-03-05T17:02:11Z, or epoch seconds)"
      case .noTimeZone: return "timestamp has no time zone: pass --timezone ZONE (e.g. Europe/London, or UTC) for local times"
      case .outOfRange: return "timestamp out of range (year 1970–2100; month, day, hour, minute, second valid)"
      }
    }
  }

  /// Seconds since 1970-01-01T00:00:00Z (fraction kept in `Double`).
  @inlinable
  public static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Result<Double, Problem> {
    switch parseCivil(b) {
    case .success(let c):
      guard let offset = c.offset else { return .failure(.noTimeZone) }
      return .success(c.seconds - Double(offset))
    case .failure(let p): return .failure(p)
    }
  }

  /// A time as written: seconds since 1970-01-01T00:00 on the clock the time was written in, and the
  /// UTC offset it carries (nil for a zone-less local time; 0 for `Z` and epoch seconds).
  public struct Civil: Sendable, Equatable {
    public var seconds: Double
    public var offset: Int?
    @inlinable public init(seconds: Double, offset: Int?) { self.seconds = seconds; self.offset = offset }
  }

  /// Parses ISO 8601 / RFC 3339 or epoch seconds, keeping a zone-less time as written (for
  /// `TimeReader`, which places it on a local clock).
  @inlinable
  public static func parseCivil(_ b: UnsafeBufferPointer<UInt8>) -> Result<Civil, Problem> {
    let n = b.count
    if n == 0 { return .failure(.empty) }
    @inline(__always) func digit(_ i: Int) -> Int? {
      guard i < n else { return nil }
      let d = Int(b[i]) &- 48
      return (0...9).contains(d) ? d : nil
    }
    @inline(__always) func num(_ i: Int, _ len: Int) -> Int? {
      var v = 0
      for k in 0..<len { guard let d = digit(i + k) else { return nil }; v = v * 10 + d }
      return v
    }
    // Epoch seconds: digits with an optional fraction, nothing else.
    if n >= 5 && b[4] != 0x2D {
      var v = 0.0, i = 0
      var sawDigit = false
      while i < n, let d = digit(i) { v = v * 10 + Double(d); i += 1; sawDigit = true }
      if i < n && b[i] == 0x2E {
        i += 1
        var scale = 0.1
        while i < n, let d = digit(i) { v += Double(d) * scale; scale *= 0.1; i += 1 }
      }
      guard sawDigit, i == n else { return .failure(.malformed) }
      guard v < 4_102_444_800 else { return .failure(.outOfRange) }
      return .success(Civil(seconds: v, offset: 0))
    }
    guard n >= 16, let y = num(0, 4), b[4] == 0x2D, let mo = num(5, 2), b[7] == 0x2D, let d = num(8, 2),
      b[10] == 0x54 || b[10] == 0x20 || b[10] == 0x74, let h = num(11, 2), b[13] == 0x3A, let mi = num(14, 2)
    else { return .failure(.malformed) }
    var i = 16
    var sec = 0.0
    if i < n && b[i] == 0x3A {
      guard let s = num(17, 2) else { return .failure(.malformed) }
      sec = Double(s); i = 19
      if i < n && (b[i] == 0x2E || b[i] == 0x2C) {
        i += 1
        var scale = 0.1
        var any = false
        while i < n, let dd = digit(i) { sec += Double(dd) * scale; scale *= 0.1; i += 1; any = true }
        if !any { return .failure(.malformed) }
      }
    }
    guard y >= 1970, y <= 2100, (1...12).contains(mo), d >= 1, d <= daysInMonth(y, mo), h <= 23, mi <= 59, sec < 61
    else { return .failure(.outOfRange) }
    let civil = Double(daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60) + sec
    if i == n { return .success(Civil(seconds: civil, offset: nil)) }
    var offset = 0
    if b[i] == 0x5A || b[i] == 0x7A {  // Z
      i += 1
    } else if b[i] == 0x2B || b[i] == 0x2D {
      let sign = b[i] == 0x2B ? 1 : -1
      guard let oh = num(i + 1, 2) else { return .failure(.malformed) }
      var j = i + 3
      var om = 0
      if j < n && b[j] == 0x3A { j += 1 }
      if j < n { guard let m = num(j, 2) else { return .failure(.malformed) }; om = m; j += 2 }
      guard oh <= 18, om <= 59 else { return .failure(.outOfRange) }
      offset = sign * (oh * 3600 + om * 60)
      i = j
    } else {
      return .failure(.malformed)
    }
    guard i == n else { return .failure(.malformed) }
    return .success(Civil(seconds: civil, offset: offset))
  }

  /// Parses a `String` (convenience for tests and small files).
  public static func parse(_ s: String) -> Result<Double, Problem> {
    var s = s
    return s.withUTF8 { parse($0) }
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
  @inlinable
  public static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
    let y = m <= 2 ? y0 - 1 : y0
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468
  }

  /// The civil date (year, month, day) of a day count since 1970-01-01 (`civil_from_days`).
  public static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
    let z = z0 + 719468
    let era = (z >= 0 ? z : z - 146096) / 146097
    let doe = z - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
  }

  @inlinable
  public static func daysInMonth(_ y: Int, _ m: Int) -> Int {
    switch m {
    case 2: return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Formats epoch seconds as `YYYY-MM-DDTHH:MM:SSZ` (whole seconds).
  public static func iso8601(_ t: Int64) -> String {
    let days = Int(t >= 0 ? t / 86400 : (t - 86399) / 86400)
    let rem = Int(t - Int64(days) * 86400)
    let (y, m, d) = civilFromDays(days)
    func p2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(y)-\(p2(m))-\(p2(d))T\(p2(rem / 3600)):\(p2(rem / 60 % 60)):\(p2(rem % 60))Z"
  }
}
