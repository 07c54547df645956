import ArgumentParser
import Evaluation
import Governance
import Foundation
import Linkage
import ModelCatalogue
import Modelling
import Reads
import Routes

/// Resolves `--plate`, `--vehicle` or `--group FILE:ID` to store vehicle indices, with the spans of the
/// group's periods of use (a re-hired car's other hirers are not the group).
struct VehicleSelection: ParsableArguments {
  @Option(help: "Plate (pseudonymised with the key before the lookup).") var plate: String?
  @Option(help: "Vehicle id as the store holds it (pseudonym).") var vehicle: String?
  @Option(help: "An actor group from 'anpr link': GROUPS.csv:G1 (its periods of use are pooled, whatever cars they were in).") var group: String?
  @Option(help: "Key file for --plate on a pseudonymised store (or ANPR_KEY).") var keyFile: String?

  /// The key for `--plate` (nil for `--vehicle`/`--group`, or a raw store).
  func key(_ store: ReadStore) throws -> Pseudonymiser? {
    plate != nil && store.isPseudonymised ? try Pseudonymiser.load(file: keyFile) : nil
  }

  /// What the selection looks up, for the audit entry, and the oldest read it touches.
  func auditScope(_ store: ReadStore) throws -> AuditScope {
    var scope = AuditScope()
    if let plate { scope.plates = [plate] }
    if let vehicle { scope.vehicles = [vehicle] }
    if let group { scope.vehicles = ["group " + group] }
    if plate != nil || vehicle != nil || group != nil, let r = try? resolveWithSpans(store) {
      if group != nil { scope.vehicles = r.vehicles.map { store.vehicles[$0].id } }
      scope.oldestTouched = r.vehicles.compactMap { v in store.reads(ofVehicle: v).first.map { store.time(Int($0)) } }.min()
    }
    return scope
  }

  func resolve(_ store: ReadStore) throws -> (vehicles: [Int], label: String) {
    let r = try resolveWithSpans(store)
    return (r.vehicles, r.label)
  }

  /// The vehicles, the spans their reads must fall in (vehicles absent from `spans`: every read), and a label.
  func resolveWithSpans(_ store: ReadStore) throws -> (vehicles: [Int], spans: [Int: [ClosedRange<Int64>]], label: String) {
    let index = Dictionary(store.vehicles.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    if let plate {
      let id: String?
      if store.isPseudonymised {
        guard let p = try Pseudonymiser.load(file: keyFile) else { throw CLIError("the store is pseudonymised: pass --key-file to look up a plate") }
        id = p.pseudonym(plate: plate)
      } else { id = Plate.normalise(plate) }
      guard let id, let v = index[id] else { throw CLIError("plate not in the store (never read, or a different key)") }
      return ([v], [:], id)
    }
    if let vehicle {
      let r = EpisodeID.resolve([vehicle], in: store)
      guard !r.vehicles.isEmpty else { throw CLIError("vehicle '\(vehicle)' not in the store") }
      return (r.vehicles, r.spans, vehicle)
    }
    if let group {
      let (name, ids): (String, [String])
      do { (name, ids) = try GroupsFile.members(reference: group) } catch { throw CLIError("--group: \(error)") }
      let r = EpisodeID.resolve(ids, in: store)
      guard !r.vehicles.isEmpty else { throw CLIError("group '\(name)' has no vehicle in this store") }
      if !r.unknown.isEmpty { throw CLIError("group '\(name)': \(r.unknown.count) of its \(ids.count) members are not in this store (first: \(r.unknown[0])); was it linked on another store?") }
      return (r.vehicles, r.spans, "group \(name) (\(ids.count) periods of use in \(r.vehicles.count) cars)")
    }
    throw ValidationError("Give --plate, --vehicle or --group.")
  }
}

extension ANPR {
  struct NextAppearance: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "next-appearance",
      abstract: "When and where a repeat vehicle (or an actor group, whatever car it drives) will next enter: top (camera site, hour) windows.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var selection: VehicleSelection
    @OptionGroup var origin: OriginOption
    @Option(help: "Trained next-appearance model (anpr train --spec Models/next-appearance.yaml); default: fitted on the store's visits before the origin.")
    var model: String?
    @Option(help: "Days ahead (local days from the origin).") var days = 7
    @Option(help: "Windows to list.") var top = 10
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
      let (store, clock) = try storeOptions.open()
      let audit = try storeOptions.governance.begin("next-appearance", storePath: storeOptions.store, store: store,
                                                    key: try selection.key(store), scope: try selection.auditScope(store))
      try audited(audit) { ["windows": try forecast(store, clock: clock)] }
    }

    func forecast(_ store: ReadStore, clock: LocalClock) throws -> Int {
      let (vehicles, spans, label) = try selection.resolveWithSpans(store)
      let (from, originNote) = try origin.origin(store, clock: clock)
      let travel = store.typicalTravelSeconds(until: from)  // once, for the model's visits and the forecast's
      let (model, note) = try Training.nextAppearanceModel(path: self.model, store: store, origin: from, clock: clock, travel: travel)
      let modelNote = note + String(format: "; learned: hours pooled across weekdays %.0f, spread to neighbouring hours %.2f, renewal weight %.2f, stop pseudo-visits %.1f (median over sites)",
                                    model.hourPooling ?? 0, model.hourSmoothing ?? 0, model.renewalWeight ?? 1, model.medianStopStrength)
      let f: NextAppearanceForecast
      do { f = try NextAppearanceForecast.make(store: store, model: model, vehicles: vehicles, spans: spans, origin: from, days: days, top: top, clock: clock, travel: travel) }
      catch let e as FitError { throw CLIError("\(label): \(e)") }
      let (rows, visits, dayP) = (f.windows, f.visits, f.dayProbabilities)
      // P(seen within 1, 3 and --days days), each once (--days 3 or 1 is not listed twice).
      let horizons = [1, 3, days].filter { $0 <= days }.reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }
      if json {
        struct Output: Encodable {
          var origin: String; var pSeen: [String: Double]; var windows: [NextAppearanceForecast.Window]; var stops: [NextAppearanceForecast.Stop]
          enum CodingKeys: String, CodingKey { case origin, pSeen = "p_seen", windows, stops }
        }
        let pSeen = Dictionary(uniqueKeysWithValues: horizons.map { ("\($0)d", f.pSeen(within: $0)) })
        try printJSONLine(Output(origin: Timestamp.iso8601(from), pSeen: pSeen, windows: rows, stops: f.stops))
        return rows.count
      }
      let seenDays = f.seenDays
      let within: [(Int, Double)] = horizons.map { k in (k, f.pSeen(within: k)) }
      print("\(label): \(visits.count) past visits on \(seenDays) days; P(seen within "
        + within.map { "\($0.0)" }.joined(separator: "/") + " days) = " + within.map { String(format: "%.2f", $0.1) }.joined(separator: " / "))
      print(originNote)
      print(modelNote)
      if seenDays < 2 { print("note: seen on one day only: the forecast leans on the habits of all repeat vehicles") }
      print("by day: " + dayP.enumerated().map { d, p in String(format: "%@ %.2f", clock.label(d == 0 ? from : clock.startOfDay(clock.day(from) + Int64(d))).prefix(3) as CVarArg, p) }
        .joined(separator: "  "))
      for r in rows { print("  \(r.hourStart)  \(r.local)  \(r.site)  p = \(String(format: "%.3f", r.probability))  — \(r.why)") }
      print("(probabilities of a first appearance in that site and hour; a forecast, not a certainty)")
      if !f.stops.isEmpty {
        print("likely stops on that visit (P(stops near the site); a visit may stop at several or none):")
        for s in f.stops { print("  \(s.site)  p = \(String(format: "%.2f", s.probability))  — \(s.why)") }
      }
      return rows.count
    }
  }
}
