import ArgumentParser
import Foundation
import Simulation

extension SimulationConfig.Fleet: ExpressibleByArgument {}

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
    @Option(help: "Rental fleet: 'one-hirer' (each plate one hirer) or 'shared' (plates re-hired one customer after another, with depot gaps and decoy hirers).")
    var fleet: SimulationConfig.Fleet = .oneHirer
    @Option(help: "Actor groups (per unit scale).") var actorGroups: Double?
    @Option(help: "Places each actor group stops at.") var actorPlaces: Int?
    @Option(help: "Habitual days per week of each actor group.") var actorHabitDays: Int?
    @Option(help: "Innocent one-off hires starting per day (per unit scale).") var rentalHiresPerDay: Double?
    @Option(help: "Shared fleet: rental cars (per unit scale).") var fleetCars: Double?
    @Option(help: "Shared fleet: business renters with regular client calls (per unit scale).") var businessRenters: Double?
    @Option(help: "Shared fleet: family holiday hires starting per day (per unit scale).") var familyHiresPerDay: Double?
    @Option(help: "Shared fleet: chance a one-off hirer stops where an actor group stops.") var decoyShare: Double?
    @Option(help: "Shared fleet: chance a group shares a deal site with the group before it.") var sharedDealSite: Double?
    @Option(help: "Shared fleet: chance a group's next car is collected before its current one is returned.") var twoCarsAtOnce: Double?
    @Option(help: "Shared fleet: longest depot gap between hires, days (shortest 0).") var maxDepotGapDays: Int?
    @Flag(help: "Shared fleet: cars are collected from and returned to a branch in town (each hire begins and ends with a drive from or to it).")
    var depot = false
    @Option(help: "Cameras with a skewed clock (per unit scale; default 2).") var skewedCameras: Double?
    @Option(help: "Size of a camera's clock skew, seconds, as LOW-HIGH (sign random; default 30-90).") var skewSeconds: String?
    @Flag(help: "Print the summary as JSON.") var json = false
    @Flag(help: "Write reads.csv and truth-passes.csv gzip-compressed (.csv.gz), for county-scale runs.") var gzip = false

    func validate() throws {
      if days < 1 { throw ValidationError("--days must be at least 1.") }
      if !(scale > 0 && scale <= 1000) { throw ValidationError("--scale must be in (0, 1000].") }
      if oracleReplicates < 0 { throw ValidationError("--oracle-replicates must be ≥ 0.") }
      for (name, p) in [("--decoy-share", decoyShare), ("--shared-deal-site", sharedDealSite), ("--two-cars-at-once", twoCarsAtOnce)] {
        if let p, !(0...1).contains(p) { throw ValidationError("\(name) must be a probability in [0, 1].") }
      }
      for (name, x) in [("--actor-groups", actorGroups), ("--rental-hires-per-day", rentalHiresPerDay), ("--fleet-cars", fleetCars),
                        ("--business-renters", businessRenters), ("--family-hires-per-day", familyHiresPerDay)] {
        if let x, !(x >= 0 && x < 1e5) { throw ValidationError("\(name) must be a non-negative number.") }
      }
      if let actorPlaces, !(1...20).contains(actorPlaces) { throw ValidationError("--actor-places must be in 1…20.") }
      if let actorHabitDays, !(1...6).contains(actorHabitDays) { throw ValidationError("--actor-habit-days must be in 1…6.") }
      if let maxDepotGapDays, !(0...60).contains(maxDepotGapDays) { throw ValidationError("--max-depot-gap-days must be in 0…60.") }
      if depot && fleet != .shared { throw ValidationError("--depot needs --fleet shared (a one-hirer car has no branch to go back to).") }
      if let skewedCameras, !(skewedCameras >= 0 && skewedCameras <= 1000) { throw ValidationError("--skewed-cameras must be ≥ 0.") }
      _ = try skewRange()
    }

    func skewRange() throws -> ClosedRange<Double>? {
      guard let skewSeconds else { return nil }
      let p = skewSeconds.split(separator: "-").compactMap { Double($0) }
      guard p.count == 2, p[0] >= 0, p[0] <= p[1] else { throw ValidationError("--skew-seconds wants LOW-HIGH, e.g. 30-90.") }
      return p[0]...p[1]
    }

    func run() throws {
      var cfg = SimulationConfig()
      cfg.seed = seed; cfg.days = days; cfg.scale = scale; cfg.startDate = start
      cfg.oracleReplicates = oracleReplicates; cfg.forecastDays = forecastDays
      cfg.fleet = fleet
      if let actorGroups { cfg.actorGroups = actorGroups }
      if let actorPlaces { cfg.actorPlaces = actorPlaces }
      if let actorHabitDays { cfg.actorHabitDays = actorHabitDays }
      if let rentalHiresPerDay { cfg.rentalHiresPerDay = rentalHiresPerDay }
      if let fleetCars { cfg.fleetCars = fleetCars }
      if let businessRenters { cfg.businessRenters = businessRenters }
      if let familyHiresPerDay { cfg.familyHiresPerDay = familyHiresPerDay }
      if let decoyShare { cfg.decoyActorPlaceShare = decoyShare }
      if let sharedDealSite { cfg.sharedDealSite = sharedDealSite }
      if let twoCarsAtOnce { cfg.twoCarsAtOnce = twoCarsAtOnce }
      if let maxDepotGapDays { cfg.depotGapDays = 0...maxDepotGapDays }
      cfg.depot = depot
      if let skewedCameras { cfg.skewedCameras = skewedCameras }
      if let r = try skewRange() { cfg.skewSeconds = r }
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
