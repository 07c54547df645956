import Foundation
import Modelling
import Reads

// Linkage and co-travel in the model contract: their statistic is the store (each car's reads), and
// what they learn — the groups and links, the convoys — is their fitted model, saved and compared like
// any other.

extension LinkageModel: ModelSpec {
  public static let family = ModelFamily.linkage
  public typealias Context = NoContext
  /// Spec `params`: any setting (snake_case or as written in the saved model), nested ones too
  /// (`weights.hour`, `segmenter.concentrations`); missing keys keep their defaults, unknown ones are refused.
  public static func decodeParameters(_ json: Data) throws -> LinkageModel {
    let m = try StrictParameters.decode(LinkageModel.self, from: json, defaults: LinkageModel(), kind: kind)
    if let problem = m.parameterProblem { throw SpecError.invalid("\(kind): \(problem)") }
    return m
  }

  /// What is wrong with the settings (nil when they can be used).
  public var parameterProblem: String? {
    let w = weights
    let blockWeights = [w.entry, w.exit, w.stops, w.stopPairs, w.stopArea, w.dwell, w.weekday, w.hour, w.bigrams, w.durations, w.rental, w.entryHour]
    if !(-1...1).contains(threshold) { return "threshold \(threshold) is not a similarity (−1 … 1)" }
    if !(0...1).contains(minimumConfidence) { return "minimum_confidence \(minimumConfidence) is not a probability" }
    if !(0...1).contains(groupProfileConfidence) { return "group_profile_confidence \(groupProfileConfidence) is not a probability" }
    if !(-1...1).contains(groupProfileFloor) { return "group_profile_floor \(groupProfileFloor) is not a similarity (−1 … 1)" }
    if neighbours < 1 { return "neighbours must be at least 1" }
    if !(maxOverlapHours >= 0) || !(successionDays >= 0) || !successionBonus.isFinite { return "max_overlap_hours and succession_days must be ≥ 0, succession_bonus finite" }
    if minimumTrips < 1 || minimumShortStops < 0 || visitGap <= 0 { return "minimum_trips ≥ 1, minimum_short_stops ≥ 0 and visit_gap > 0" }
    if blockWeights.contains(where: { !($0 >= 0) || !$0.isFinite }) || blockWeights.reduce(0, +) <= 0 { return "weights must be finite, ≥ 0 and not all 0" }
    if segmenter.concentrations.isEmpty || segmenter.concentrations.contains(where: { !($0 > 0) })
      || segmenter.changeProbabilities.isEmpty || segmenter.changeProbabilities.contains(where: { !($0 > 0 && $0 < 1) }) {
      return "segmenter: concentrations > 0 and change probabilities in (0, 1), at least one each"
    }
    let s = segmenter
    if !(s.boundaryPriorWeight > 0 && s.boundaryPriorWeight.isFinite) || !(s.branchRatio >= 1 && s.branchRatio.isFinite) || !(1...20).contains(s.boundaryRounds) {
      return "segmenter: boundary_prior_weight > 0, branch_ratio ≥ 1 and boundary_rounds in 1…20"
    }
    return nil
  }
  public func fit(_ store: ReadStore, clock: LocalClock) throws -> LinkageResult {
    guard store.count > 0 else { throw FitError.noData("the store has no reads") }
    return try link(store: store, clock: clock)
  }
}

extension LinkageResult: FittedModel {
  /// What is wrong with the body (nil when it can be used): a confidence per group, confidences that are
  /// probabilities, links and groups that name candidate units.
  public func bodyProblem() -> String? {
    if groupConfidence.count != groups.count { return "groupConfidence has \(groupConfidence.count) values for \(groups.count) groups" }
    if let c = (groupConfidence + links.map(\.confidence)).first(where: { !(0...1).contains($0) }) { return "confidence \(c) is not a probability" }
    if !units.isEmpty {
      let ids = Set(units.map(\.id))
      if let g = groups.joined().first(where: { !ids.contains($0) }) { return "groups: '\(g)' is not a candidate unit" }
      if let l = links.first(where: { !ids.contains($0.a) || !ids.contains($0.b) }) { return "links: \(l.a)–\(l.b) is not a pair of candidate units" }
    }
    return nil
  }

  public func summary() -> ModelSummary {
    var facts: [ModelSummary.Fact] = [.init("unit", model.unit.rawValue), .init("candidates", "\(candidates)"),
                                      .init("links", "\(links.count)"), .init("groups", "\(groups.count)")]
    if let s = segmentation {
      facts.append(.init("periods of use", "\(s.episodes) in \(s.vehicles) cars (concentration \(s.concentration), change probability \(s.changeProbability))"))
    }
    return ModelSummary(kind: LinkageModel.kind, facts: facts, notes: notes)
  }
}

/// The pairs co-travel detection found, most significant first.
public struct CoTravelResult: FittedModel, Equatable {
  public var detector: CoTravelDetector
  public var pairs: [CoTravel]
  public init(detector: CoTravelDetector, pairs: [CoTravel]) { self.detector = detector; self.pairs = pairs }
  public func bodyProblem() -> String? {
    if let p = pairs.first(where: { !(0...1).contains($0.pValue) || !($0.expected >= 0) || $0.together < 1 }) {
      return "pair \(p.a)–\(p.b): p-value \(p.pValue), expected \(p.expected), together \(p.together) out of range"
    }
    return nil
  }
  public func summary() -> ModelSummary {
    ModelSummary(kind: CoTravelDetector.kind, facts: [
      .init("pairs", "\(pairs.count)"), .init("window", "\(detector.windowSeconds) s"),
      .init("minimum sites", "\(detector.minimumSites)"), .init("largest p-value", "\(detector.maxPValue)"),
    ])
  }
}

extension CoTravelDetector: ModelSpec {
  public static let kind: ModelKind = "co-travel"
  public static let family = ModelFamily.coTravel
  public typealias Context = NoContext
  public static func decodeParameters(_ json: Data) throws -> CoTravelDetector {
    let d = try StrictParameters.decode(CoTravelDetector.self, from: json, defaults: CoTravelDetector(), kind: kind)
    if d.windowSeconds <= 0 { throw SpecError.invalid("\(kind): window_seconds \(d.windowSeconds) must be > 0") }
    if d.minimumSites < 1 { throw SpecError.invalid("\(kind): minimum_sites \(d.minimumSites) must be ≥ 1") }
    if !(d.maxPValue > 0 && d.maxPValue <= 1) { throw SpecError.invalid("\(kind): max_p_value \(d.maxPValue) must be in (0, 1]") }
    return d
  }
  public func fit(_ store: ReadStore, clock: LocalClock) throws -> CoTravelResult {
    guard store.count > 0 else { throw FitError.noData("the store has no reads") }
    return CoTravelResult(detector: self, pairs: detect(store: store, clock: clock))
  }
}
