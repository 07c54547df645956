import Foundation
import Modelling
import Reads

/// The instant a forecast is made from. Never the time of the last read by accident: the default is
/// the end of the last full day of data (`LocalClock.endOfLastFullDay`), and every command says which
/// origin it used.
public enum ForecastOrigin {
  /// The origin for `store` on `clock` — `at` rounded up to a whole hour, or by default the end of the
  /// last full day — and a line saying what it is.
  /// - Throws: `SpecError` when the store has no reads or the origin is before its first read (nothing
  ///   to learn from).
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
    var note = "origin \(local(o))" + (o != t ? " (--at rounded up to the hour)" : "")
    if o > last + 86400 { note += "; \((o - last) / 86400) days after the last read (\(Timestamp.iso8601(last)))" }
    return (o, note)
  }
}
