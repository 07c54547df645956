import ArgumentParser
import Foundation
import Evaluation
import Modelling
import Reads

/// `--at TIME`: the instant a forecast is made from. Never the time of the last read by accident:
/// the default is the end of the last full day of data (`LocalClock.endOfLastFullDay`), and every
/// command says which origin it used.
struct OriginOption: ParsableArguments {
  @Option(help: ArgumentHelp(
    "Forecast origin (ISO 8601; rounded up to a whole hour); reads after it are not used. Default: the end of the last full day of data.",
    valueName: "time"))
  var at: String?

  /// The origin for `store` on `clock`, and a line saying what it is (`ForecastOrigin.resolve`).
  func origin(_ store: ReadStore, clock: LocalClock) throws -> (time: Int64, note: String) {
    let t = try at.map { try parseTime($0, option: "--at") }
    do { return try ForecastOrigin.resolve(store: store, at: t, clock: clock) } catch let e as SpecError { throw CLIError("\(e)") }
  }
}
