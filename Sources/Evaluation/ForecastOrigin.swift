import Foundation
import Modelling
import Reads

/// The instant a forecast is made from. Never the time of the last read by accident: the default is
/// the end of the last full day of data (`LocalClock.endOfLastFullDay`), and every command says which
/// origin it used.
public enum ForecastOrigin {
  /// The origin for `store` on `clock` — `at` rounded up to a whole hour, or by default the end of the
  /// last full day — and a line saying what it is.
  /// - Throws: `SpecError` when the store has no reads, the origin is before its first read (nothing
  ///   to learn from), or more than `maximumStaleDays` after its last read (the days in between hold no
  ///   reads, and a forecast would take them for days the vehicle was not seen).
  public static func resolve(store: ReadStore, at t: Int64?, clock: LocalClock) throws -> (time: Int64, note: String) {
    guard let first = store.header.timeStart, let last = store.header.timeEnd else { throw SpecError.invalid("the store has no reads") }
    let local = { (t: Int64) in "\(Timestamp.iso8601(t)) (\(clock.label(t)) \(clock.timeZone.identifier))" }
    guard let t else {
      let o = clock.endOfLastFullDay(lastRead: last)
      let why = o > last ? "the end of the last full day of data" : "the start of the last day of data, which ends at \(clock.label(last))"
      return (o, "origin \(local(o)): \(why); last read \(Timestamp.iso8601(last)); --at chooses another")
    }
    let o = (t % 3600 == 0) ? t : (t / 3600 + 1) * 3600
    guard o > first else {
      throw SpecError.invalid("--at \(Timestamp.iso8601(t)) is before the store's first read (\(Timestamp.iso8601(first))): there is no history to forecast from")
    }
    let staleDays = (o - last) / 86400
    guard staleDays <= maximumStaleDays else {
      throw SpecError.invalid("--at \(Timestamp.iso8601(t)) is \(staleDays) days after the store's last read (\(Timestamp.iso8601(last))): the store holds no reads for those days, so a forecast from it would count them as days the vehicle was not seen; ingest the reads up to the origin, or choose an origin at most \(maximumStaleDays) days after the last read")
    }
    var note = "origin \(local(o))" + (o != t ? " (--at rounded up to the hour)" : "")
    if staleDays >= 1 { note += "; \(staleDays) days after the last read (\(Timestamp.iso8601(last))): days without reads count as days not seen" }
    return (o, note)
  }

  /// The latest origin allowed after a store's last read, in days: a week, the default horizon (a store
  /// brought up to date weekly can still be forecast from).
  public static let maximumStaleDays: Int64 = 7
}
