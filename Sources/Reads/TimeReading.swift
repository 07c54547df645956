import Foundation

/// A strftime-style pattern for times as exports write them, e.g. `%d/%m/%Y %H:%M:%S` for
/// `02/03/2026 05:02:08`. Directives: `%Y` (4-digit year), `%y` (2-digit: 69 and below are 20xx),
/// `%m`, `%d`, `%H`, `%I` (12-hour, with `%p` AM/PM), `%M`, `%S` (1 or 2 digits; `%S` takes an optional
/// `.fff` fraction), `%f` (fraction digits), `%b` / `%B` (month name or its first three letters, any
/// case), `%z` (`Z`, `+01:00`, `+0100`), `%F` (= `%Y-%m-%d`), `%T` (= `%H:%M:%S`), `%%`. A space
/// matches one or more spaces; any other character matches itself.
public struct TimePattern: Sendable, Equatable, CustomStringConvertible {
  enum Token: Sendable, Equatable {
    case literal(UInt8), spaces, year4, year2, month, monthName, day, hour24, hour12, minute, second, fraction, ampm, zone
  }
  let tokens: [Token]
  /// The pattern as given.
  public let text: String

  public enum Problem: Error, Equatable, CustomStringConvertible {
    case unknownDirective(String, pattern: String)
    case incomplete(String, missing: String)
    public var description: String {
      switch self {
      case let .unknownDirective(d, p):
        return "--time-format '\(p)': unknown directive '\(d)' (known: %Y %y %m %d %H %I %M %S %f %b %B %p %z %F %T %%)"
      case let .incomplete(p, m): return "--time-format '\(p)': no \(m) in the pattern"
      }
    }
  }

  public init(_ text: String) throws(Problem) {
    self.text = text
    var out: [Token] = []
    let bytes = Array(text.utf8)
    var i = 0
    while i < bytes.count {
      let c = bytes[i]
      if c == 0x25 {  // %
        guard i + 1 < bytes.count else { throw .unknownDirective("%", pattern: text) }
        let d = bytes[i + 1]
        i += 2
        switch d {
        case UInt8(ascii: "Y"): out.append(.year4)
        case UInt8(ascii: "y"): out.append(.year2)
        case UInt8(ascii: "m"): out.append(.month)
        case UInt8(ascii: "d"), UInt8(ascii: "e"): out.append(.day)
        case UInt8(ascii: "H"): out.append(.hour24)
        case UInt8(ascii: "I"): out.append(.hour12)
        case UInt8(ascii: "M"): out.append(.minute)
        case UInt8(ascii: "S"): out.append(.second)
        case UInt8(ascii: "f"): out.append(.fraction)
        case UInt8(ascii: "b"), UInt8(ascii: "B"), UInt8(ascii: "h"): out.append(.monthName)
        case UInt8(ascii: "p"): out.append(.ampm)
        case UInt8(ascii: "z"), UInt8(ascii: "Z"): out.append(.zone)
        case UInt8(ascii: "F"): out += [.year4, .literal(0x2D), .month, .literal(0x2D), .day]
        case UInt8(ascii: "T"): out += [.hour24, .literal(0x3A), .minute, .literal(0x3A), .second]
        case 0x25: out.append(.literal(0x25))
        default: throw .unknownDirective("%" + String(decoding: [d], as: UTF8.self), pattern: text)
        }
      } else if c == 0x20 {
        if out.last != .spaces { out.append(.spaces) }
        i += 1
      } else {
        out.append(.literal(c)); i += 1
      }
    }
    tokens = out
    guard out.contains(.year4) || out.contains(.year2) else { throw .incomplete(text, missing: "year (%Y or %y)") }
    guard out.contains(.month) || out.contains(.monthName) else { throw .incomplete(text, missing: "month (%m or %b)") }
    guard out.contains(.day) else { throw .incomplete(text, missing: "day (%d)") }
    guard out.contains(.hour24) || out.contains(.hour12) else { throw .incomplete(text, missing: "hour (%H or %I)") }
    if out.contains(.hour12) && !out.contains(.ampm) { throw .incomplete(text, missing: "AM/PM (%p) for the 12-hour %I") }
  }

  /// Whether times in this pattern carry their own zone.
  public var hasZone: Bool { tokens.contains(.zone) }
  public var description: String { text }

  private static let monthNames: [[UInt8]] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].map { Array($0.utf8) }
  private static let fullMonthNames: [[UInt8]] = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
  ].map { Array($0.utf8) }

  /// Parses `b` as this pattern: the time as written and its offset (nil without `%z`).
  public func parse(_ b: UnsafeBufferPointer<UInt8>) -> Result<Timestamp.Civil, Timestamp.Problem> {
    let n = b.count
    if n == 0 { return .failure(.empty) }
    var i = 0
    var y = -1, mo = -1, d = -1, h = -1, mi = 0, s = 0
    var frac = 0.0
    var pm: Bool?
    var offset: Int?
    func number(maxDigits: Int, minDigits: Int = 1) -> Int? {
      var v = 0, k = 0
      while k < maxDigits, i < n, b[i] >= 0x30, b[i] <= 0x39 { v = v * 10 + Int(b[i] - 0x30); i += 1; k += 1 }
      return k >= minDigits ? v : nil
    }
    func fraction() -> Double? {
      var v = 0.0, scale = 0.1, k = 0
      while i < n, b[i] >= 0x30, b[i] <= 0x39 { v += Double(b[i] - 0x30) * scale; scale *= 0.1; i += 1; k += 1 }
      return k > 0 ? v : nil
    }
    @inline(__always) func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c + 32 : c }
    for (ti, token) in tokens.enumerated() {
      switch token {
      case .literal(let c):
        guard i < n, b[i] == c else { return .failure(.malformed) }
        i += 1
      case .spaces:
        guard i < n, b[i] == 0x20 || b[i] == 0x54 || b[i] == 0x74 else { return .failure(.malformed) }
        if b[i] != 0x20 { i += 1 } else { while i < n, b[i] == 0x20 { i += 1 } }
      case .year4: guard let v = number(maxDigits: 4, minDigits: 4) else { return .failure(.malformed) }; y = v
      case .year2: guard let v = number(maxDigits: 2, minDigits: 2) else { return .failure(.malformed) }; y = v <= 69 ? 2000 + v : 1900 + v
      case .month: guard let v = number(maxDigits: 2) else { return .failure(.malformed) }; mo = v
      case .day: guard let v = number(maxDigits: 2) else { return .failure(.malformed) }; d = v
      case .hour24, .hour12: guard let v = number(maxDigits: 2) else { return .failure(.malformed) }; h = v
      case .minute: guard let v = number(maxDigits: 2) else { return .failure(.malformed) }; mi = v
      case .second:
        guard let v = number(maxDigits: 2) else { return .failure(.malformed) }
        s = v
        // An optional fraction, unless the pattern spells it out next (`%S.%f`).
        let spelled = ti + 2 < tokens.count && (tokens[ti + 1] == .literal(0x2E) || tokens[ti + 1] == .literal(0x2C)) && tokens[ti + 2] == .fraction
        if !spelled, i + 1 < n, b[i] == 0x2E || b[i] == 0x2C, b[i + 1] >= 0x30, b[i + 1] <= 0x39 { i += 1; frac = fraction() ?? 0 }
      case .fraction: guard let v = fraction() else { return .failure(.malformed) }; frac = v
      case .monthName:
        var word: [UInt8] = []
        while i < n, (b[i] | 0x20) >= 0x61, (b[i] | 0x20) <= 0x7A { word.append(lower(b[i])); i += 1 }
        if let k = Self.fullMonthNames.firstIndex(of: word) ?? (word.count == 3 ? Self.monthNames.firstIndex(of: word) : nil) {
          mo = k + 1
        } else { return .failure(.malformed) }
      case .ampm:
        guard i + 1 < n, lower(b[i + 1]) == 0x6D else { return .failure(.malformed) }
        switch lower(b[i]) {
        case 0x61: pm = false
        case 0x70: pm = true
        default: return .failure(.malformed)
        }
        i += 2
      case .zone:
        guard i < n else { return .failure(.malformed) }
        if b[i] == 0x5A || b[i] == 0x7A { offset = 0; i += 1; break }
        guard b[i] == 0x2B || b[i] == 0x2D else { return .failure(.malformed) }
        let sign = b[i] == 0x2B ? 1 : -1
        i += 1
        guard let oh = number(maxDigits: 2, minDigits: 2) else { return .failure(.malformed) }
        var om = 0
        if i < n, b[i] == 0x3A {
          i += 1
          guard let m = number(maxDigits: 2, minDigits: 2) else { return .failure(.malformed) }
          om = m
        } else if i < n, b[i] >= 0x30, b[i] <= 0x39 {
          guard let m = number(maxDigits: 2, minDigits: 2) else { return .failure(.malformed) }
          om = m
        }
        guard oh <= 18, om <= 59 else { return .failure(.outOfRange) }
        offset = sign * (oh * 3600 + om * 60)
      }
    }
    guard i == n else { return .failure(.malformed) }
    if let pm {
      guard (1...12).contains(h) else { return .failure(.outOfRange) }
      h = h % 12 + (pm ? 12 : 0)
    }
    guard y >= 1970, y <= 2100, (1...12).contains(mo), d >= 1, d <= Timestamp.daysInMonth(y, mo), (0...23).contains(h), mi <= 59, s <= 60
    else { return .failure(.outOfRange) }
    let civil = Double(Timestamp.daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) + frac
    return .success(Timestamp.Civil(seconds: civil, offset: offset))
  }

  public func parse(_ s: String) -> Result<Timestamp.Civil, Timestamp.Problem> {
    var s = s
    return s.withUTF8 { parse($0) }
  }
}

/// How an export writes its times and which clock a zone-less time is on (`ingest --time-format
/// --timezone --ambiguous`). A zone-less time is a local time in `zone`, converted to UTC by the zone's
/// rules: a time the clocks skipped (spring forward) is rejected with its own reason, and a time the
/// clocks repeated (autumn) follows `ambiguous`.
public struct TimeReading: Sendable, Equatable, CustomStringConvertible {
  public enum Format: Sendable, Equatable, CustomStringConvertible {
    /// ISO 8601 / RFC 3339, with or without a zone; epoch seconds are accepted too.
    case iso8601
    case epochSeconds
    case epochMilliseconds
    case pattern(TimePattern)

    /// `iso8601`, `epoch`, `epoch-ms`, or a strftime-style pattern (`%d/%m/%Y %H:%M:%S`).
    public init(parsing s: String) throws(TimePattern.Problem) {
      switch s.lowercased() {
      case "iso8601", "iso", "iso-8601": self = .iso8601
      case "epoch", "epoch-s", "epoch-seconds": self = .epochSeconds
      case "epoch-ms", "epoch-milliseconds": self = .epochMilliseconds
      default: self = .pattern(try TimePattern(s))
      }
    }

    public var description: String {
      switch self {
      case .iso8601: return "ISO 8601"
      case .epochSeconds: return "epoch seconds"
      case .epochMilliseconds: return "epoch milliseconds"
      case .pattern(let p): return p.text
      }
    }

    /// Whether times in this format can carry their own zone (ISO 8601 may; epoch times are UTC).
    var carriesZone: Bool {
      switch self {
      case .iso8601, .epochSeconds, .epochMilliseconds: return true
      case .pattern(let p): return p.hasZone
      }
    }
  }

  /// What to do with a local time in the hour the clocks repeat.
  public enum Ambiguity: String, Sendable, CaseIterable, Equatable {
    /// The earlier instant (summer time).
    case first
    /// The later instant (winter time).
    case second
    /// Reject the row (`ambiguous_local_time`).
    case reject
  }

  public var format: Format
  /// IANA zone of zone-less times; nil = every time must carry its zone.
  public var zone: String?
  public var ambiguous: Ambiguity

  public init(format: Format = .iso8601, zone: String? = nil, ambiguous: Ambiguity = .reject) {
    self.format = format; self.zone = zone; self.ambiguous = ambiguous
  }

  public var description: String {
    format.description + (zone.map { ", zone-less times in \($0)" } ?? "")
      + (zone != nil ? ", repeated autumn hour: \(ambiguous.rawValue)" : "")
  }

  /// A reader for these settings (one per thread: it caches the last local hour's offset).
  /// - Throws: `LocalClock.ClockError` for an unknown zone.
  public func reader() throws -> TimeReader { try TimeReader(self) }
}

/// Reads one timestamp field into UTC epoch seconds under a `TimeReading`. The default (ISO 8601 with
/// a zone) is the parser alone; local times add one offset lookup, cached per local hour.
public struct TimeReader: Sendable {
  public let reading: TimeReading
  @usableFromInline let clock: LocalClock?
  @usableFromInline let isDefault: Bool
  /// The last local hour that resolved to one instant throughout, and its offset.
  @usableFromInline var cachedHour: Int64 = .min
  @usableFromInline var cachedOffset: Int64 = 0

  public init(_ reading: TimeReading) throws(LocalClock.ClockError) {
    self.reading = reading
    if let id = reading.zone { clock = try LocalClock(identifier: id) } else { clock = nil }
    isDefault = reading.format == .iso8601 && reading.zone == nil
  }

  /// UTC epoch seconds of field `b`.
  @inlinable
  public mutating func read(_ b: UnsafeBufferPointer<UInt8>) -> Result<Double, Timestamp.Problem> {
    if isDefault { return Timestamp.parse(b) }
    return readSlow(b)
  }

  @usableFromInline
  mutating func readSlow(_ b: UnsafeBufferPointer<UInt8>) -> Result<Double, Timestamp.Problem> {
    let civil: Timestamp.Civil
    switch reading.format {
    case .iso8601:
      switch Timestamp.parseCivil(b) { case .success(let c): civil = c; case .failure(let p): return .failure(p) }
    case .epochSeconds, .epochMilliseconds:
      // Digits with an optional fraction.
      var v = 0.0, i = 0, scale = 0.1, dot = false, any = false
      while i < b.count {
        let c = b[i]
        if c >= 0x30 && c <= 0x39 {
          if dot { v += Double(c - 0x30) * scale; scale *= 0.1 } else { v = v * 10 + Double(c - 0x30) }
          any = true
        } else if c == 0x2E && !dot { dot = true } else { return .failure(b.isEmpty ? .empty : .malformed) }
        i += 1
      }
      if b.isEmpty { return .failure(.empty) }
      guard any else { return .failure(.malformed) }
      if reading.format == .epochMilliseconds { v /= 1000 }
      guard v < 4_102_444_800 else { return .failure(.outOfRange) }
      return .success(v)
    case .pattern(let p):
      switch p.parse(b) { case .success(let c): civil = c; case .failure(let pr): return .failure(pr) }
    }
    if let offset = civil.offset { return .success(civil.seconds - Double(offset)) }
    guard let clock else { return .failure(.noTimeZone) }
    let whole = civil.seconds.rounded(.down)
    let fraction = civil.seconds - whole
    let local = Int64(whole)
    let hour = local >= 0 ? local / 3600 : (local - 3599) / 3600
    if hour == cachedHour { return .success(Double(local - cachedOffset) + fraction) }
    switch clock.resolve(local: local) {
    case .unique(let t):
      // Cache the hour when both its ends resolve to the same single offset.
      let offset = local - t
      if case .unique(let a) = clock.resolve(local: hour * 3600), hour * 3600 - a == offset,
         case .unique(let z) = clock.resolve(local: hour * 3600 + 3599), hour * 3600 + 3599 - z == offset {
        cachedHour = hour; cachedOffset = offset
      }
      return .success(Double(t) + fraction)
    case .nonexistent: return .failure(.nonexistentLocalTime)
    case let .ambiguous(earlier, later):
      switch reading.ambiguous {
      case .first: return .success(Double(earlier) + fraction)
      case .second: return .success(Double(later) + fraction)
      case .reject: return .failure(.ambiguousLocalTime)
      }
    }
  }

  public mutating func read(_ s: String) -> Result<Double, Timestamp.Problem> {
    var s = s
    return s.withUTF8 { read($0) }
  }
}

/// Works out the time format of an export from a sample of its timestamp fields, before the ingest
/// starts: the format that parses the most samples, and whether they carry a zone.
public enum TimeFormatDetection {
  public struct Result: Sendable, Equatable {
    /// The format chosen, or nil when none parses at least half the samples.
    public var format: TimeReading.Format?
    /// Samples looked at, and how many the chosen format parses.
    public var sampled: Int
    public var parsed: Int
    /// Samples (of those parsed) that carry no zone.
    public var zoneless: Int
    /// A second format that parses exactly as many samples (day-first against month-first).
    public var alsoFits: TimeReading.Format?
    /// One sample, to quote in messages.
    public var example: String?
  }

  /// The forms tried, in order of preference. Day-first forms come before month-first ones (UK exports),
  /// but a tie between them is reported, not guessed.
  public static let candidates: [TimeReading.Format] = {
    var out: [TimeReading.Format] = [.iso8601, .epochMilliseconds]
    for date in ["%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%m/%d/%y", "%Y/%m/%d", "%d-%b-%Y", "%d %b %Y", "%Y%m%d"] {
      for time in ["%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p"] {
        for zone in ["", " %z"] { out.append(.pattern(try! TimePattern(date + " " + time + zone))) }
      }
    }
    return out
  }()

  /// Of a day-first and a month-first form that both fit, the one usual where `zone` is: month-first
  /// in the United States, day-first elsewhere. Nil when the two are not such a pair.
  public static func conventional(_ a: TimeReading.Format, _ b: TimeReading.Format, zone: String) -> TimeReading.Format? {
    guard case .pattern(let pa) = a, case .pattern(let pb) = b else { return nil }
    func dayFirst(_ p: TimePattern) -> Bool? {
      guard let d = p.tokens.firstIndex(of: .day), let m = p.tokens.firstIndex(of: .month) else { return nil }
      return d < m
    }
    guard let da = dayFirst(pa), let db = dayFirst(pb), da != db else { return nil }
    let usZones = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix", "America/Anchorage",
                   "America/Detroit", "America/Boise", "America/Indiana/Indianapolis", "Pacific/Honolulu"]
    let monthFirst = usZones.contains(zone) || ["US/", "America/Indiana/", "America/Kentucky/", "America/North_Dakota/"].contains { zone.hasPrefix($0) }
    return (da != monthFirst) ? a : b
  }

  /// Chooses a format for `samples` (trimmed timestamp fields).
  public static func detect(_ samples: [String]) -> Result {
    let samples = samples.filter { !$0.isEmpty }
    var best: (format: TimeReading.Format, parsed: Int, zoneless: Int)?
    var tie: TimeReading.Format?
    for f in candidates {
      var parsed = 0, zoneless = 0
      for s in samples {
        var s = s
        let civil: Swift.Result<Timestamp.Civil, Timestamp.Problem> = s.withUTF8 { b in
          switch f {
          case .iso8601: return Timestamp.parseCivil(b)
          case .pattern(let p): return p.parse(b)
          case .epochSeconds, .epochMilliseconds:
            guard b.count == 13, b.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return .failure(.malformed) }
            return .success(Timestamp.Civil(seconds: 0, offset: 0))
          }
        }
        if case .success(let c) = civil { parsed += 1; if c.offset == nil { zoneless += 1 } }
      }
      if let b = best {
        if parsed > b.parsed { best = (f, parsed, zoneless); tie = nil } else if parsed == b.parsed && parsed > 0 && tie == nil { tie = f }
      } else if parsed > 0 {
        best = (f, parsed, zoneless)
      }
    }
    guard let b = best, b.parsed * 2 >= samples.count, b.parsed > 0 else {
      return Result(format: nil, sampled: samples.count, parsed: best?.parsed ?? 0, zoneless: 0, alsoFits: nil, example: samples.first)
    }
    // Only a day/month swap of the same form is a real tie (a form with and without seconds cannot both parse).
    return Result(format: b.format, sampled: samples.count, parsed: b.parsed, zoneless: b.zoneless, alsoFits: tie,
                  example: samples.first)
  }
}
