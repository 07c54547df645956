import ArgumentParser
import Foundation
import Simulation

extension ANPR {
  struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Simulate a town's ANPR reads with ground truth (actors who rotate hire cars, sensor faults, oracle forecasts).",
      discussion: """
        Writes reads.csv, cameras.csv, vehicles.csv (the input schema in Data/SCHEMA.md) and the truth:
        truth.json (actors, hires, injected faults, clock skews), truth-passes.csv (every true camera pass),
        truth-expected-counts.csv (oracle hotspot forecast) and truth-next-site.csv (oracle route predictor).
        Same seed, same bytes.
        """)
    @Option(help: "Seed for every random choice; same seed, same output.") var seed: UInt64 = 1
    @Option(help: "Days to simulate.") var days: Int = 14
    @Option(help: "Size: 1 ≈ a town of 60 cameras and ~3,000 vehicles; 50 ≈ a county.") var scale: Double = 1
    @Option(help: "Output directory (created if missing).") var out: String
    @Option(help: "First day, local midnight (YYYY-MM-DD).") var start: String = "2026-03-02"
    @Option(help: "Monte Carlo replicates for the oracle forecast (0: no oracle files).") var oracleReplicates: Int = 40
    @Option(help: "Days after the simulated period that the oracle forecast covers.") var forecastDays: Int = 7
    @Flag(help: "Print the summary as JSON.") var json = false
    @Flag(help: "Write reads.csv and truth-passes.csv gzip-compressed (.csv.gz), for county-scale runs.") var gzip = false

    func validate() throws {
      if days < 1 { throw ValidationError("--days must be at least 1.") }
      if !(scale > 0 && scale <= 1000) { throw ValidationError("--scale must be in (0, 1000].") }
      if oracleReplicates < 0 { throw ValidationError("--oracle-replicates must be ≥ 0.") }
    }

    func run() throws {
      var cfg = SimulationConfig()
      cfg.seed = seed; cfg.days = days; cfg.scale = scale; cfg.startDate = start
      cfg.oracleReplicates = oracleReplicates; cfg.forecastDays = forecastDays
      let sim = try Simulator(config: cfg)
      let progress = ProgressLine("simulate")
      let s = try sim.run(to: out, gzip: gzip) { d, n in progress.update(done: Double(d), total: Double(n), unit: "days") }
      progress.finish()
      if json { try printJSONLine(s); return }
      print("simulated \(s.days) days: \(s.cameras) cameras at \(s.sites) sites, \(s.vehicles) vehicles, \(s.actorGroups) actor groups (\(s.hires) rental hires)")
      print("\(s.readRows) read rows (\(s.detectedPasses) of \(s.truePasses) passes detected; \(s.misreads) misreads, \(s.doubleReads) double reads, \(s.malformedRows) malformed rows)")
      print("wrote " + s.files.map { (out as NSString).appendingPathComponent($0) }.joined(separator: ", "))
    }
  }
}
