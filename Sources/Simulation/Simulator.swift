import Foundation
import Modelling
import Reads

/// Settings of a simulated town. Rates are per unit of `scale` unless said otherwise.
public struct SimulationConfig: Sendable, Codable {
  public var seed: UInt64 = 1
  public var days = 14
  public var scale = 1.0
  /// First simulated day, local midnight (default Monday 2 March 2026).
  public var startDate = "2026-03-02"
  public var timeZone = "Europe/London"
  public var residents = 2500.0
  public var regularVisitors = 500.0
  public var vans = 50.0
  public var taxis = 30.0
  public var oneOffVisitorsPerDay = 250.0
  /// Innocent short-term car hires starting per day (share the rental fleet with the actors).
  public var rentalHiresPerDay = 2.5
  /// Groups of interest; at least one.
  public var actorGroups = 3.0
  /// A group changes hire car every 3–9 days.
  public var rotationDays = 3...9
  public var detection = 0.85...0.98
  public var misreadRate = 0.004
  public var doubleReadRate = 0.02
  /// Cameras with a skewed clock (count per unit scale) and the size of the skew, seconds.
  public var skewedCameras = 2.0
  public var skewSeconds = 30.0...90.0
  /// Extra malformed rows per read row.
  public var malformedRate = 0.0005
  /// Days after the simulated period covered by the oracle forecast.
  public var forecastDays = 7
  /// Monte Carlo replicates per agent-day for the oracle expected counts (0 = no oracle).
  public var oracleReplicates = 40
  /// Simulated actor visits per group for the next-site oracle.
  public var nextSiteReplicates = 2000

  /// How rental cars are hired: `.oneHirer` gives each plate (nearly always) one hirer; `.shared`
  /// re-hires a small fleet to one customer after another with depot gaps, as a real hire firm does.
  public var fleet = Fleet.oneHirer
  public enum Fleet: String, Codable, Sendable, CaseIterable { case oneHirer = "one-hirer", shared }
  /// Shared fleet: rental cars per unit of scale (the fleet grows when every car is out).
  public var fleetCars = 30.0
  /// Shared fleet: days a returned car stands at the depot before its next hire.
  public var depotGapDays = 0...10
  /// Shared fleet: cars are collected from and returned to a branch in town, so each hire's first day
  /// begins with a drive from the branch out of town by the hirer's own road (a family's: to its holiday
  /// let) and its last day ends with the drive back; otherwise a car comes and goes unseen.
  public var depot = false
  /// Shared fleet: business renters (per unit scale), each hiring a car for 2–4 days every 1–2 weeks
  /// and making regular client calls from a gateway at habitual hours.
  public var businessRenters = 6.0
  /// Shared fleet: family holiday hires starting per day (3–10 days, trips from a holiday let).
  public var familyHiresPerDay = 0.3
  /// Shared fleet: chance that a one-off hirer's stop is at a place some actor group uses.
  public var decoyActorPlaceShare = 0.35
  /// Shared fleet: chance that a group shares one of its places (a deal site) with the group before it.
  public var sharedDealSite = 0.5
  /// Shared fleet: chance that a group's next hire starts a day before its current car goes back.
  public var twoCarsAtOnce = 0.2
  /// Places (stops) each actor group uses, and its habitual days per week.
  public var actorPlaces = 4
  public var actorHabitDays = 2

  public init() {}
}

/// One simulated hire of a rental car: who had which plate, when.
public struct Hire: Sendable, Codable, Hashable {
  public var plate: String
  /// "actor-N" for a group of interest; an innocent hirer is "renter-N" (one-off), "business-N" (a
  /// business renter, the same holder on each of its hires) or "family-N".
  public var holder: String
  public var fromDay: Int
  public var toDay: Int  // exclusive
}

/// Generates a town's reads, registry and ground truth. Deterministic: the same config gives
/// the same bytes (every agent-day draws from its own stream, derived from the seed).
public struct Simulator: Sendable {
  public let config: SimulationConfig
  public let town: Town
  let startWeekday: Int
  let startUTC: Int64
  let clock: LocalClock
  var agents: [Agent] = []
  var plates: [String] = []  // per non-renting agent (index = agent index); "" for renters/actors/one-offs
  var keeper: [String: KeeperType] = [:]
  var makeColour: [String: (String, String)] = [:]
  var hires: [Hire] = []
  var hireAgent: [Int] = []  // agent index of each hire
  /// The branch hire cars are collected from and returned to (shared fleet with `depot`).
  var depotNode: Int? = nil
  var detection: [Double] = []
  var skew: [Int: Int64] = [:]

  /// Sets up the town, the population and the hire schedule.
  public init(config: SimulationConfig) throws {
    self.config = config
    var rng = SeededRNG(seed: config.seed, 1)
    town = Town(scale: config.scale, rng: &rng)
    clock = try LocalClock(identifier: config.timeZone)
    guard case .success(let t) = Timestamp.parse(config.startDate + "T00:00:00Z") else {
      throw SimulationError.badConfig("startDate '\(config.startDate)' is not YYYY-MM-DD")
    }
    let localMidnight = Int64(t)
    startUTC = localMidnight - clock.offset(at: localMidnight)
    startWeekday = Int((localMidnight / 86400 + 3) % 7)
    guard config.days >= 1 else { throw SimulationError.badConfig("days must be at least 1") }
    detection = town.cameras.map { _ in config.detection.lowerBound + (config.detection.upperBound - config.detection.lowerBound) * rng.uniform() }
    let nSkew = min(town.cameras.count, Int((config.skewedCameras * max(1, config.scale)).rounded()))
    var camIdx = Array(town.cameras.indices)
    camIdx.shuffle(using: &rng)
    for c in camIdx.prefix(nSkew) {
      let mag = config.skewSeconds.lowerBound + (config.skewSeconds.upperBound - config.skewSeconds.lowerBound) * rng.uniform()
      skew[c] = Int64((rng.bernoulli(0.5) ? mag : -mag).rounded())
    }
    var used = Set<String>()
    func newPlate() -> String {
      let letters = Array("ABCDEFGHJKLMNOPRSTUVWXY")
      while true {
        var s = ""
        for _ in 0..<2 { s.append(letters[rng.int(0...(letters.count - 1))]) }
        s += String(format: "%02d", rng.int(2...75))
        for _ in 0..<3 { s.append(letters[rng.int(0...(letters.count - 1))]) }
        if used.insert(s).inserted { return s }
      }
    }
    let makes = ["Ford", "Vauxhall", "Volkswagen", "Toyota", "BMW", "Nissan", "Kia", "Peugeot"]
    let colours = ["black", "white", "silver", "grey", "blue", "red"]
    func register(_ p: String, _ k: KeeperType) {
      keeper[p] = k
      makeColour[p] = (makes[rng.int(0...(makes.count - 1))], colours[rng.int(0...(colours.count - 1))])
    }
    let s = config.scale
    let grid = town.width * town.height
    func count(_ x: Double) -> Int { max(1, Int((x * s).rounded())) }
    for _ in 0..<count(config.residents) {
      let home = town.residential[rng.int(0...(town.residential.count - 1))]
      let work = rng.bernoulli(0.5) ? town.centre[rng.int(0...(town.centre.count - 1))] : rng.int(0...(grid - 1))
      agents.append(Agent(kind: .resident, id: agents.count, home: home, work: work, gateway: 0))
      let p = newPlate(); plates.append(p); register(p, rng.bernoulli(0.15) ? .lease : .private)
    }
    for _ in 0..<count(config.regularVisitors) {
      var a = Agent(kind: .visitor, id: agents.count, home: 0, work: pickDestination(&rng, seafront: 0.3, centre: 0.4),
                    gateway: randomGateway(&rng))
      var days = Array(0..<7); days.shuffle(using: &rng)
      a.habitDays = Array(days.prefix(rng.int(1...2)))
      agents.append(a)
      let p = newPlate(); plates.append(p); register(p, .private)
    }
    for _ in 0..<count(config.vans) {
      agents.append(Agent(kind: .van, id: agents.count, home: rng.bernoulli(0.5) ? randomGateway(&rng) : town.residential[rng.int(0...(town.residential.count - 1))], work: 0, gateway: 0))
      let p = newPlate(); plates.append(p); register(p, .fleet)
    }
    for _ in 0..<count(config.taxis) {
      agents.append(Agent(kind: .taxi, id: agents.count, home: town.centre[rng.int(0...(town.centre.count - 1))], work: 0, gateway: 0))
      let p = newPlate(); plates.append(p); register(p, .fleet)
    }
    // Actor groups: habitual days and hours, a few preferred places.
    let nGroups = max(1, Int((config.actorGroups * max(1, s)).rounded()))
    var actorAgents: [Int] = []
    for _ in 0..<nGroups {
      var a = Agent(kind: .actor, id: agents.count, home: 0, work: 0, gateway: town.londonGateway)
      var days = Array(0..<6); days.shuffle(using: &rng)
      a.habitDays = Array(days.prefix(max(1, min(6, config.actorHabitDays))))
      a.entryHour = 14 + 5 * rng.uniform()
      var nodes = town.residential + town.centre
      nodes.shuffle(using: &rng)
      a.places = Array(nodes.prefix(max(1, config.actorPlaces)))
      a.placeWeights = a.places.map { _ in pow(0.3 + rng.uniform(), 2) }
      if config.fleet == .shared, let previous = actorAgents.last, rng.bernoulli(config.sharedDealSite),
         let site = agents[previous].places.first, !a.places.contains(site) {
        a.places[a.places.count - 1] = site  // a deal site two groups both use
      }
      actorAgents.append(agents.count)
      agents.append(a)
      plates.append("")
    }
    // Hire schedule over the simulated and forecast period; plates from one rental fleet.
    let horizon = config.days + config.forecastDays
    // Each actor group's hires, one after another; with `overlapChance`, the next car is sometimes
    // collected a day before the current one goes back (two cars out at once). Without it no draw is
    // made, so the one-hirer world's random stream is as before.
    func actorRequests(overlapChance: Double?) -> [(from: Int, to: Int, agent: Int, holder: String)] {
      var out: [(from: Int, to: Int, agent: Int, holder: String)] = []
      for (g, ai) in actorAgents.enumerated() {
        var d = -rng.int(0...3)
        while d < horizon {
          let len = rng.int(config.rotationDays)
          out.append((max(0, d), d + len, ai, "actor-\(g + 1)"))
          d += overlapChance.map { rng.bernoulli($0) && len > 1 } == true ? len - 1 : len
        }
      }
      return out
    }
    if config.fleet == .shared {
      // The shared fleet: a small set of rental plates, each re-hired to one customer after another
      // (actor groups, one-off hirers, business renters, families) with a depot gap of `depotGapDays`
      // between hires; a hire takes any free car, so a group can get back a car it or another group had.
      var fleet: [String] = []
      var freeFrom: [Int] = []
      for _ in 0..<count(config.fleetCars) { let p = newPlate(); register(p, .rental); fleet.append(p); freeFrom.append(-10) }
      if config.depot { depotNode = (town.centre + town.residential)[rng.int(0...(town.centre.count + town.residential.count - 1))] }
      var requests = actorRequests(overlapChance: config.twoCarsAtOnce)
      var actorPlaces: [Int] = actorAgents.flatMap { agents[$0].places }
      if actorPlaces.isEmpty { actorPlaces = [town.centre.first ?? 0] }
      let grid = town.width * town.height
      for b in 0..<count(config.businessRenters) {
        var a = Agent(kind: .business, id: agents.count, home: 0, work: 0,
                      gateway: rng.bernoulli(0.6) ? town.londonGateway : randomGateway(&rng))
        var days = Array(0..<5); days.shuffle(using: &rng)
        a.habitDays = Array(days.prefix(rng.int(2...3)))
        a.entryHour = 8 + 9 * rng.uniform()
        var nodes = town.centre + town.residential + (0..<8).map { _ in rng.int(0...(grid - 1)) }
        nodes.shuffle(using: &rng)
        a.places = Array(nodes.prefix(rng.int(2...4)))
        a.placeWeights = a.places.map { _ in pow(0.3 + rng.uniform(), 2) }
        agents.append(a); plates.append("")
        var d = rng.int(0...10)
        while d < horizon {
          let len = rng.int(2...4)
          requests.append((d, d + len, agents.count - 1, "business-\(b + 1)"))
          d += len + rng.int(5...12)
        }
      }
      var renters = 0, families = 0
      for day in 0..<horizon {
        for _ in 0..<rng.poisson(config.rentalHiresPerDay * s) {
          renters += 1
          var a = Agent(kind: .renter, id: agents.count, home: 0, work: 0, gateway: randomGateway(&rng, londonWeight: 0.35))
          // A one-off hirer who happens to stop where an actor group stops (a decoy).
          if rng.bernoulli(config.decoyActorPlaceShare) { a.places = [actorPlaces[rng.int(0...(actorPlaces.count - 1))]] }
          agents.append(a); plates.append("")
          requests.append((day, day + rng.int(1...7), agents.count - 1, "renter-\(renters)"))
        }
        for _ in 0..<rng.poisson(config.familyHiresPerDay * s) {
          families += 1
          let a = Agent(kind: .family, id: agents.count, home: town.residential[rng.int(0...(town.residential.count - 1))], work: 0,
                        gateway: randomGateway(&rng))
          agents.append(a); plates.append("")
          requests.append((day, day + rng.int(3...10), agents.count - 1, "family-\(families)"))
        }
      }
      requests.sort { ($0.from, $0.agent) < ($1.from, $1.agent) }
      for r in requests {
        var free = fleet.indices.filter { freeFrom[$0] <= r.from }
        if free.isEmpty {
          let p = newPlate(); register(p, .rental); fleet.append(p); freeFrom.append(-10); free = [fleet.count - 1]
        }
        let k = free[rng.int(0...(free.count - 1))]
        freeFrom[k] = r.to + rng.int(config.depotGapDays)
        hires.append(Hire(plate: fleet[k], holder: r.holder, fromDay: r.from, toDay: r.to))
        hireAgent.append(r.agent)
      }
      return
    }
    var fleet: [String] = []
    var busyUntil: [Int] = []
    var everHired: [Bool] = []
    // A hire takes a random free car, preferring cars this town has not seen hired before (a real
    // fleet is large, so a plate rarely comes back within weeks); the fleet grows when none is free.
    func hirePlate(from: Int, to: Int) -> String {
      var free = fleet.indices.filter { busyUntil[$0] <= from && !everHired[$0] }
      if free.isEmpty { free = fleet.indices.filter { busyUntil[$0] <= from } }
      let k: Int
      if free.isEmpty {
        let p = newPlate(); register(p, .rental); fleet.append(p); busyUntil.append(0); everHired.append(false); k = fleet.count - 1
      } else { k = free[rng.int(0...(free.count - 1))] }
      busyUntil[k] = to
      everHired[k] = true
      return fleet[k]
    }
    for _ in 0..<count(150) { let p = newPlate(); register(p, .rental); fleet.append(p); busyUntil.append(0); everHired.append(false) }
    var requests = actorRequests(overlapChance: nil)
    var renterCount = 0
    for day in 0..<horizon {
      for _ in 0..<rng.poisson(config.rentalHiresPerDay * s) {
        renterCount += 1
        let a = Agent(kind: .renter, id: agents.count, home: 0, work: 0, gateway: randomGateway(&rng, londonWeight: 0.35))
        agents.append(a); plates.append("")
        requests.append((day, day + rng.int(1...7), agents.count - 1, "renter-\(renterCount)"))
      }
    }
    requests.sort { ($0.from, $0.agent) < ($1.from, $1.agent) }
    for r in requests {
      hires.append(Hire(plate: hirePlate(from: r.from, to: r.to), holder: r.holder, fromDay: r.from, toDay: r.to))
      hireAgent.append(r.agent)
    }
  }

  /// Hire `h`'s trips on `day`: the hirer's plan and, with a branch, the drive out of it on the hire's
  /// first day (before the hirer's first trip) and back to it on its last (after the last).
  func hirePlan(_ h: Int, day: Int, rng: inout SeededRNG) -> [PlannedTrip] {
    let a = agents[hireAgent[h]]
    var trips = plan(a, day: day, rng: &rng)
    guard let depot = depotNode else { return trips }
    let hire = hires[h], away = a.kind == .family ? a.home : a.gateway
    let d0 = Double(day) * 86400
    if day == hire.fromDay {
      let first = trips.map { ($0.depart - d0) / 3600 }.min() ?? 24
      let t = min(rng.normal(mean: 9.5, sd: 1), first - 1.5)
      trips.insert(PlannedTrip(depart: d0 + hours(max(t, 0.2)), origin: depot, legs: [(away, 0)]), at: 0)
    }
    if day == hire.toDay - 1 {
      // After the last trip's planned stops and an hour's driving (a late return comes at 23:30).
      let last = trips.map { ($0.depart + $0.legs.reduce(0) { $0 + $1.dwell } - d0) / 3600 }.max() ?? 0
      let t = max(rng.normal(mean: 18, sd: 1), last + 1)
      trips.append(PlannedTrip(depart: d0 + hours(min(t, 23.5)), origin: away, legs: [(depot, 0)]))
    }
    return trips
  }

  /// The hires driven on `day`: every hire in force that day, except that a hirer with two cars out at
  /// once (the next collected before the last is returned) drives only the newer one that day — one
  /// driver drives one car at a time, which is what linkage relies on.
  func drivenHires(on day: Int) -> [Int] {
    var newest: [Int: Int] = [:]  // agent → the hire it drives
    for (h, hire) in hires.enumerated() where hire.fromDay <= day && day < hire.toDay {
      if let k = newest[hireAgent[h]], (hires[k].fromDay, k) > (hire.fromDay, h) { continue }
      newest[hireAgent[h]] = h
    }
    return newest.values.sorted()
  }

  public enum SimulationError: Error, CustomStringConvertible {
    case badConfig(String)
    case cannotWrite(String)
    public var description: String {
      switch self {
      case .badConfig(let m): return "simulation config: \(m)"
      case .cannotWrite(let m): return "cannot write \(m)"
      }
    }
  }

  /// UTC epoch seconds of a simulation-local time.
  func utc(_ local: Double) -> Int64 {
    let approx = startUTC + Int64(local.rounded(.down))
    // startUTC is UTC of local midnight; correct for a change of offset (BST) since the start.
    return approx - (clock.offset(at: approx) - clock.offset(at: startUTC))
  }
}
