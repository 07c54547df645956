import ArgumentParser
import Foundation
import Reads

/// `--at TIME`: the instant a forecast is made from. Never the time of the last read by accident:
/// the default is the end of the last full day of data (`LocalClock.endOfLastFullDay`), and every
/// command says which origin it used.
struct OriginOption: ParsableArguments {
  @Option(help: ArgumentHelp(
    "Forecast origin (ISO 8601; rounded up to a whole hour); reads after it are not used. Default: the end of the last full day of data.",
    valueName: "time"))
  var at: String?

  /// The origin for `store` on `clock`, and a line saying what it is.
  /// - Throws: when the origin is before the store's first read (nothing to learn from).
  func origin(_ store: ReadStore, clock: LocalClock) throws -> (time: Int64, note: String) {
    guard let first = store.header.timeStart, let last = store.header.timeEnd else { throw CLIError("the store has no reads") }
    let local = { (t: Int64) in "\(Timestamp.iso8601(t)) (\(clock.label(t)) \(clock.timeZone.identifier))" }
    guard let at else {
      let o = clock.endOfLastFullDay(lastRead: last)
      let why = o > last ? "the end of the last full day of data" : "the start of the last day of data, which ends at \(clock.label(last))"
      return (o, "origin \(local(o)): \(why); last read \(Timestamp.iso8601(last)); --at chooses another")
    }
    let t = try parseTime(at, option: "--at")
    let o = (t % 3600 == 0) ? t : (t / 3600 + 1) * 3600
    guard o > first else {
      throw CLIError("--at \(at) is before the store's first read (\(Timestamp.iso8601(first))): there is no history to forecast from")
    }
    var note = "origin \(local(o))" + (o != t ? " (--at rounded up to the hour)" : "")
    if o > last + 86400 { note += "; \((o - last) / 86400) days after the last read (\(Timestamp.iso8601(last)))" }
    return (o, note)
  }
}

extension LocalClock {
  /// `Thu 16:00` in local time.
  func label(_ t: Int64) -> String {
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    let s = secondOfDay(t)
    return String(format: "%@ %02d:%02d", names[weekday(t)], s / 3600, s % 3600 / 60)
  }
}
