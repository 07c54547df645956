import Foundation
import Modelling

/// The kinds of road user the simulator moves.
public enum AgentKind: String, Sendable, Codable {
  case resident, visitor, van, taxi, oneOff = "one-off", renter, actor, business, family
}

/// One trip as planned: leave `origin` at `depart` (seconds since the simulation start, local
/// clock), visit each leg's destination and wait there `dwell` seconds.
/// How an actor group behaves, as the simulator draws it; written into the truth so the
/// next-appearance oracle forecasts from the same numbers the town was drawn with.
public enum ActorBehaviour {
  /// P(a visit) on one of the group's habit weekdays, and on any other day.
  public static let habitDayVisitProbability = 0.85
  public static let otherDayVisitProbability = 0.06
  /// Standard deviation (hours) of the departure around the habitual entry hour.
  public static let entryHourSD = 0.4
}

struct PlannedTrip {
  var depart: Double
  var origin: Int
  var legs: [(dest: Int, dwell: Double)]
}

/// A vehicle or group with its fixed traits; its day plans are random given the day's stream.
struct Agent: Sendable {
  var kind: AgentKind
  var id: Int
  var home: Int
  var work: Int
  var gateway: Int
  var habitDays: [Int] = []
  var entryHour = 0.0
  var places: [Int] = []
  var placeWeights: [Double] = []
}

extension Simulator {
  func hours(_ h: Double) -> Double { h * 3600 }

  func pickDestination(_ rng: inout SeededRNG, seafront: Double, centre: Double) -> Int {
    let u = rng.uniform()
    if u < seafront, !town.seafront.isEmpty { return town.seafront[rng.int(0...(town.seafront.count - 1))] }
    if u < seafront + centre, !town.centre.isEmpty { return town.centre[rng.int(0...(town.centre.count - 1))] }
    return rng.int(0...(town.width * town.height - 1))
  }

  func randomGateway(_ rng: inout SeededRNG, londonWeight: Double = 0.4) -> Int {
    if rng.bernoulli(londonWeight) { return town.londonGateway }
    return town.gateways[rng.int(0...(town.gateways.count - 1))]
  }

  /// The trips an agent makes on `day` (0-based; weekday 0 = Monday).
  func plan(_ a: Agent, day: Int, rng: inout SeededRNG) -> [PlannedTrip] {
    let weekday = (startWeekday + day) % 7
    let weekend = weekday >= 5
    let d0 = Double(day) * 86400
    func at(_ h: Double) -> Double { d0 + hours(min(max(h, 0.1), 23.8)) }
    var trips: [PlannedTrip] = []
    switch a.kind {
    case .resident:
      if !weekend && rng.bernoulli(0.85) {
        let leave = rng.normal(mean: 8.0, sd: 0.6), back = rng.normal(mean: 17.3, sd: 0.8)
        trips.append(PlannedTrip(depart: at(leave), origin: a.home, legs: [(a.work, max(hours(back - leave) - 1200, 1800)), (a.home, 0)]))
      }
      let commuteEnds = trips.isEmpty ? 0.0 : (trips[0].depart - d0) / 3600 + trips[0].legs[0].dwell / 3600 + 1.5
      if rng.bernoulli(weekend ? 0.6 : 0.25) {
        let start = max(weekend ? rng.normal(mean: 11.5, sd: 2) : rng.normal(mean: 19.5, sd: 1), commuteEnds)
        var legs = [(pickDestination(&rng, seafront: 0.45, centre: 0.35), hours(1 + 3 * rng.uniform()))]
        if rng.bernoulli(0.3) { legs.append((pickDestination(&rng, seafront: 0.3, centre: 0.4), hours(0.5 + rng.uniform()))) }
        legs.append((a.home, 0))
        trips.append(PlannedTrip(depart: at(start), origin: a.home, legs: legs))
      }
    case .visitor:
      if a.habitDays.contains(weekday) || rng.bernoulli(0.08) {
        let exit = rng.bernoulli(0.7) ? a.gateway : randomGateway(&rng)
        trips.append(PlannedTrip(depart: at(rng.normal(mean: 10, sd: 2)), origin: a.gateway,
                                 legs: [(a.work, hours(1 + 4 * rng.uniform())), (exit, 0)]))
      }
    case .van:
      if rng.bernoulli(weekend ? (weekday == 5 ? 0.3 : 0.05) : 0.9) {
        var legs: [(Int, Double)] = []
        for _ in 0..<rng.int(5...12) { legs.append((rng.int(0...(town.width * town.height - 1)), 180 + 720 * rng.uniform())) }
        legs.append((a.home, 0))
        trips.append(PlannedTrip(depart: at(rng.normal(mean: 7.5, sd: 0.5)), origin: a.home, legs: legs))
      }
    case .taxi:
      // One shift: pick-ups and drop-offs back to back, waiting between fares.
      if rng.bernoulli(0.8) {
        var legs: [(Int, Double)] = []
        for _ in 0..<rng.int(6...12) {
          legs.append((rng.int(0...(town.width * town.height - 1)), 60 + 120 * rng.uniform()))
          legs.append((pickDestination(&rng, seafront: 0.2, centre: 0.4), 300 + 1200 * rng.uniform()))
        }
        legs.append((a.home, 0))
        trips.append(PlannedTrip(depart: at(min(max(rng.normal(mean: 13, sd: 3), 6), 17)), origin: a.home, legs: legs))
      }
    case .oneOff:
      let exit = rng.bernoulli(0.6) ? a.gateway : randomGateway(&rng)
      trips.append(PlannedTrip(depart: at(rng.normal(mean: 12, sd: 2.5)), origin: a.gateway,
                               legs: [(pickDestination(&rng, seafront: 0.5, centre: 0.35), hours(1.5 + 3.5 * rng.uniform())), (exit, 0)]))
    case .renter:
      if rng.bernoulli(0.75) {
        var legs = [(pickDestination(&rng, seafront: 0.4, centre: 0.4), hours(0.5 + 2.5 * rng.uniform()))]
        // A decoy hirer (shared fleet) stops briefly where an actor group stops.
        if let place = a.places.first, rng.bernoulli(0.6) { legs.insert((place, 300 + 900 * rng.uniform()), at: 0) }
        if rng.bernoulli(0.4) { legs.append((pickDestination(&rng, seafront: 0.3, centre: 0.3), hours(0.5 + 2 * rng.uniform()))) }
        legs.append((rng.bernoulli(0.7) ? a.gateway : randomGateway(&rng), 0))
        trips.append(PlannedTrip(depart: at(rng.normal(mean: 11, sd: 3)), origin: a.gateway, legs: legs))
      }
    case .business:
      // Client calls: in from its gateway at a habitual hour on habitual weekdays, 1–3 clients, 10–45 min each.
      if rng.bernoulli(a.habitDays.contains(weekday) ? 0.85 : 0.15) {
        var legs: [(Int, Double)] = []
        var remaining = Array(a.places.indices)
        for _ in 0..<min(rng.int(1...3), remaining.count) {
          let k = rng.weightedIndex(remaining.map { a.placeWeights[$0] })
          legs.append((a.places[remaining[k]], 600 + 2100 * rng.uniform()))
          remaining.remove(at: k)
        }
        legs.append((a.gateway, 0))
        trips.append(PlannedTrip(depart: at(a.entryHour + rng.normal(mean: 0, sd: 0.5)), origin: a.gateway, legs: legs))
      }
    case .family:
      // A family on holiday: day trips from the holiday let to the seafront and centre.
      if rng.bernoulli(0.8) {
        var legs = [(pickDestination(&rng, seafront: 0.6, centre: 0.3), hours(1 + 3 * rng.uniform()))]
        if rng.bernoulli(0.4) { legs.append((pickDestination(&rng, seafront: 0.4, centre: 0.4), hours(0.3 + 1.5 * rng.uniform()))) }
        legs.append((a.home, 0))
        trips.append(PlannedTrip(depart: at(rng.normal(mean: 10.5, sd: 1.5)), origin: a.home, legs: legs))
      }
    case .actor:
      let habitual = a.habitDays.contains(weekday)
      if rng.bernoulli(habitual ? ActorBehaviour.habitDayVisitProbability : ActorBehaviour.otherDayVisitProbability) {
        let entry = a.entryHour + rng.normal(mean: 0, sd: ActorBehaviour.entryHourSD)
        var remaining = a.places.indices.map { $0 }
        var legs: [(Int, Double)] = []
        for _ in 0..<min(rng.int(2...4), remaining.count) {
          let k = rng.weightedIndex(remaining.map { a.placeWeights[$0] })
          legs.append((a.places[remaining[k]], 300 + 900 * rng.uniform()))  // 5–20 min stops
          remaining.remove(at: k)
        }
        legs.append((rng.bernoulli(0.8) ? town.londonGateway : randomGateway(&rng, londonWeight: 0), 0))
        trips.append(PlannedTrip(depart: at(entry), origin: town.londonGateway, legs: legs))
      }
    }
    return trips
  }

  /// Travel-time multiplier for congestion at local hour `h` (fractional) on a weekday or weekend.
  func congestion(_ h: Double, weekend: Bool) -> Double {
    if weekend { return 1 + 0.25 * exp(-pow((h - 13) / 2, 2)) }
    return 1 + 0.7 * exp(-pow((h - 8.2) / 0.7, 2)) + 0.6 * exp(-pow((h - 17.4) / 0.9, 2))
  }

  /// Drives a planned trip: every camera the vehicle passes, with the true (local-clock) time.
  func drive(_ trip: PlannedTrip, rng: inout SeededRNG) -> [(camera: Int, time: Double)] {
    var out: [(Int, Double)] = []
    var t = trip.depart
    var cur = trip.origin
    var first = true
    for (dest, dwell) in trip.legs {
      let path = town.path(from: cur, to: dest)
      for k in 0..<path.count {
        let node = path[k]
        if k > 0 {
          let e = town.edge(path[k - 1], node)
          let day = Int(t / 86400)
          let weekend = (startWeekday + day) % 7 >= 5
          let h = (t - Double(day) * 86400) / 3600
          t += e.metres / (e.kmh / 3.6) * congestion(h, weekend: weekend) * exp(0.12 * rng.normal())
        } else if !first { continue }  // the leg's start was recorded as the previous leg's end
        if let c = town.camera(at: node, from: k > 0 ? path[k - 1] : nil, to: k + 1 < path.count ? path[k + 1] : nil) {
          out.append((c, t))
        }
      }
      first = false
      cur = dest
      t += dwell
    }
    return out
  }
}
