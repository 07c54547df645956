import ArgumentParser
import Foundation
import Testing
@testable import anpr

/// The command line parsed in process, as argument-parser's own examples are tested: arguments reach
/// the right command and fields, bad combinations are refused before anything runs, and every
/// command's help is pinned by a snapshot (`SNAPSHOT_RECORD=1 swift test --filter helpSnapshots`
/// re-records them after a deliberate change; review the diff).
@Suite("anpr parsed in process")
struct ParseTests {
  @Test func argumentsReachTheirCommand() throws {
    let train = try #require(try ANPR.parseAsRoot(["train", "--store", "s.anpr", "--spec", "Models/poisson-hotspot.yaml", "--target", "keeper=rental"]) as? ANPR.Train)
    #expect(train.store == "s.anpr" && train.spec == "Models/poisson-hotspot.yaml" && train.target == "keeper=rental")
    let models = try #require(try ANPR.parseAsRoot(["models", "--json"]) as? ANPR.Models)
    #expect(models.json && models.model == nil)
    let forecast = try #require(try ANPR.parseAsRoot(["forecast", "--store", "s.anpr", "--model", "m.json", "--window", "Wed 22-06"]) as? ANPR.Forecast)
    #expect(forecast.window == "Wed 22-06")
  }

  /// Each refused for its own reason, said in the message (the spec named exists, so the other checks run).
  @Test func badCombinationsAreRefusedBeforeAnythingRuns() {
    func refusal(_ args: [String]) -> String {
      do { _ = try ANPR.parseAsRoot(args); return "accepted" } catch { return ANPR.message(for: error) }
    }
    let spec = ["--spec", "Models/poisson-hotspot.yaml"]
    #expect(refusal(["train"] + spec).contains("Give one of --store, --events, --stats, --counts"))
    #expect(refusal(["train", "--store", "s.anpr", "--stats", "s.stats"] + spec).contains("Give one of --store, --events, --stats, --counts"))
    #expect(refusal(["train", "--store", "s.anpr", "--category", "Drugs"] + spec).contains("--category applies to --events"))
    #expect(refusal(["train", "--store", "s.anpr", "--spec", "Models/no-such.yaml"]).contains("No spec at 'Models/no-such.yaml'"))
    #expect(refusal(["train", "--store", "s.anpr", "--target", "everyone"] + spec).contains("everyone"))
    #expect(refusal(["models", "--no-such-flag"]).contains("--no-such-flag"))
    #expect(refusal(["predict-route", "--store", "s.anpr", "--model", "m.json"]).contains("Give exactly one of --plate, --vehicle, --group or --recent-hours"))
  }

  /// Every command's help, at 100 columns, against its committed snapshot.
  @Test func helpSnapshots() throws {
    let record = ProcessInfo.processInfo.environment["SNAPSHOT_RECORD"] == "1"
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
    var commands: [(String, ParsableCommand.Type)] = [("anpr", ANPR.self)]
    for c in ANPR.configuration.subcommands { commands.append((c._commandName, c)) }
    for (name, command) in commands {
      let help = ANPR.helpMessage(for: command, columns: 100)
      let file = dir.appendingPathComponent("help-\(name).txt")
      if record { try help.write(to: file, atomically: false, encoding: .utf8); continue }
      let pinned = try? String(contentsOf: file, encoding: .utf8)
      #expect(pinned == help, "help of '\(name)' changed; if deliberate, re-record with SNAPSHOT_RECORD=1 and review the diff")
    }
  }
}
