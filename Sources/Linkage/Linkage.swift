import Foundation
import Linalg
import Modelling
import Reads

/// Settings of behaviour linkage.
public struct LinkageModel: Codable, Sendable, Equatable {
  public static let kind: ModelKind = "behaviour-linkage"
  /// Seed of the random draws (the null pairs when there are too many to use all, the reference
  /// vehicles, and the profile pass's pairs beyond its limit); `--seed`. Seed 1, the default, draws as the
  /// fixed seeds before it did.
  public var seed: UInt64 = 1
  /// Two groups (or vehicles) merge when the mean score of the pairs across them reaches this
  /// (average linkage); a pair's score is the similarity of the two signatures plus any succession bonus.
  public var threshold = 0.65
  /// A merge also needs at least this confidence (the probability of one actor, learned from the store):
  /// the similarity threshold is then never below where the store's own evidence makes a link more likely
  /// right than wrong.
  public var minimumConfidence = 0.5
  /// Neighbours examined per vehicle.
  public var neighbours = 10
  /// Added to a pair's score when one vehicle's active period starts within `successionDays` of the
  /// other's end, without overlap. Off by default: on the simulated towns it lowered F1 (BENCHMARKS.md),
  /// because an actor's next car is often first seen days after the last was; the succession is still
  /// reported in each link's evidence.
  public var successionBonus = 0.0
  public var successionDays = 3.0
  /// A vehicle left out of every group joins the group whose combined profile (per block, the
  /// normalised sum of its members' signatures) it matches with at least `groupProfileFloor` similarity
  /// and this confidence: more likely one actor than not, the rule a merge keeps. (It was 0.95 while the
  /// confidence was over-stated; with the null's own tail, 0.5 raised recall on both generators' design
  /// towns at about the same calibration — BENCHMARKS.md, issue 14.)
  public var groupProfileConfidence = 0.5
  /// A vehicle joins a group by profile only if its similarity to the profile is at least this (and
  /// the confidence reaches `groupProfileConfidence`).
  public var groupProfileFloor = 0.60
  /// Vehicles whose active periods overlap by more than this many hours are never linked: the
  /// case is one actor changing cars, and one actor drives one car at a time.
  public var maxOverlapHours = 12.0
  /// Periods of use on the road at the same time (a visit of each sharing a minute or more) are never
  /// linked, however short the overlap of their spans, and are part of the null for link confidence:
  /// one driver drives one car at a time, so the rule applies to time on the road, not only to the
  /// periods of use (`--allow-simultaneous` turns it off).
  public var separateSimultaneousDrivers = true
  /// Only vehicles with at least this many visits get signatures.
  public var minimumTrips = 1
  /// Reads with no gap longer than this (seconds) form one visit: a signature counts visits, so a stop
  /// of up to this long between two drives is a stop, not the end of one trip and the start of another.
  public var visitGap = LinkageModel.defaultVisitGap
  public static let defaultVisitGap: Int64 = 7200
  /// Only rental vehicles are linked (rotating hire cars); false links every vehicle type.
  public var rentalOnly = true
  /// Only vehicles with at least this many short stops (5–40 min inside a trip) are linked: the pattern
  /// the linkage looks for is "same road in, same hours, same short stops", and without a stop two
  /// vehicles share only an entry road and an hour, which thousands of innocent drivers share too.
  public var minimumShortStops = 1
  public var weights = Signatures.Weights()
  /// What is linked: periods of use found by segmenting each car's history (default), or whole plates
  /// (right only when every plate has one driver).
  public var unit = Unit.episode
  public enum Unit: String, Codable, Sendable, CaseIterable { case episode, plate }
  public var segmenter = EpisodeSegmenter()
  public init() {}
}

/// What a link rests on (written as its raw value in links files and JSON).
public enum LinkBasis: String, Codable, Sendable, CaseIterable {
  /// Two periods of use alike.
  case pair
  /// Two groups whose members are alike on average (the merge of two groups of average linkage).
  case groupAverage = "group average"
  /// A period of use alike the combined behaviour of a group.
  case groupProfile = "group profile"
}

/// One link between two vehicles, with the evidence an analyst can check.
public struct Link: Codable, Sendable {
  public var a: String
  public var b: String
  public var similarity: Double
  public var succession: Bool
  public var score: Double
  /// 1 − the estimated false-discovery rate at this score (from the null of overlapping pairs).
  public var confidence: Double
  public var evidence: String
  public var basis = LinkBasis.pair
}

public struct LinkageResult: Codable, Sendable {
  public var format = "anprkit-linkage"
  public var formatVersion = 1
  public var model: LinkageModel
  public var candidates: Int
  public var links: [Link]
  /// Groups of two or more vehicle ids, with a group confidence (the weakest link on a spanning tree).
  public var groups: [[String]]
  public var groupConfidence: [Double]
  public var notes: [String]
  /// Every candidate unit (an episode, or a whole plate), by id.
  public var units: [LinkedUnit] = []
  /// The segmentation's empirical-Bayes hyperparameters (episode mode).
  public var segmentation: SegmentationSummary?
}

/// A candidate unit of linkage: one car's period of use.
public struct LinkedUnit: Codable, Sendable {
  /// `VEHICLE#FROM..TO` for an episode, the vehicle id for a whole plate.
  public var id: String
  /// The store's vehicle id (a pseudonym unless the store keeps raw plates).
  public var vehicle: String
  public var first: Int64, last: Int64
  public var visits: Int
  /// Posterior probability that the episode's boundaries are right.
  public var boundaryConfidence: Double
  /// Evidence for the cuts that start and end the episode ("" at the plate's first or last read).
  public var cutBefore: String, cutAfter: String
}

public struct SegmentationSummary: Codable, Sendable {
  public var vehicles: Int, episodes: Int
  public var concentration: Double, changeProbability: Double
  /// Where periods of use most often begin and end (site id and ratio to other visits), and whether the
  /// segmentation used it.
  public var boundaryStart: String? = nil, boundaryEnd: String? = nil
  public var boundaryPlacesUsed: Bool? = nil
}

extension LinkageModel {
  /// Groups vehicles whose behaviour matches and whose use of a car does not overlap in time: average
  /// linkage over the signatures' similarities, then vehicles left out join a group whose combined
  /// profile they match. Every merge is reported as a link with its confidence and evidence.
  public func link(store: ReadStore, clock: LocalClock) throws -> LinkageResult {
    var notes: [String] = []
    if rentalOnly && !store.vehicles.contains(where: { $0.keeper == .rental }) {
      notes.append("no rental vehicles in the store (ingest with --vehicles to mark keeper types), so nothing to link")
    }
    let f = features(store: store, clock: clock)
    let (candidates, sig, xAll) = (f.candidates, f.signatures, f.features)
    let units = candidates.map { e in
      LinkedUnit(id: unitID(store, e), vehicle: store.vehicles[e.vehicle].id, first: e.first, last: e.last, visits: e.visits,
                 boundaryConfidence: e.confidence, cutBefore: e.cutBefore?.evidence ?? "", cutAfter: e.cutAfter?.evidence ?? "")
    }
    let ids = units.map(\.id)
    if let seg = f.segmentation {
      notes.append("segmented \(seg.vehicles) cars into \(seg.episodes) periods of use (empirical Bayes: concentration \(seg.concentration), change probability \(seg.changeProbability)); \(candidates.count) with short stops are candidates")
      if let a = seg.boundaryStart, let b = seg.boundaryEnd {
        let mode = segmenter.boundaryPlaces, ratio = String(format: "%g", segmenter.branchRatio)
        let how: String
        switch (seg.boundaryPlacesUsed == true, mode) {
        case (true, .auto): how = "a branch (both ≥ ×\(ratio)): counted as evidence of a boundary (--boundary-places off to ignore it)"
        case (true, _): how = "counted as evidence of a boundary (--boundary-places on)"
        case (false, .auto): how = "no branch (≥ ×\(ratio) at both ends), so not counted (--boundary-places on to count it)"
        case (false, _): how = "not counted (--boundary-places off)"
        }
        notes.append("periods of use most often begin entering by \(a) and end leaving by \(b) (× their share at other visits): " + how)
      }
    }
    guard candidates.count >= 2 else {
      if notes.isEmpty { notes.append("fewer than two candidates with short stops: nothing to link") }
      return LinkageResult(model: self, candidates: candidates.count, links: [], groups: [], groupConfidence: [], notes: notes,
                           units: units, segmentation: f.segmentation)
    }
    let c = try cluster(signatures: sig, features: xAll, candidates: candidates.count)
    notes += c.notes
    var links: [Link] = c.merges.map { mg in
      let single = mg.sizes.0 == 1 && mg.sizes.1 == 1, succ = succession(sig, mg.i, mg.j)
      let lead = single ? "" : "groups of \(mg.sizes.0) and \(mg.sizes.1) vehicles, mean similarity \(String(format: "%.2f", mg.score)) over their \(mg.sizes.0 * mg.sizes.1) pairs; closest pair: "
      return Link(a: ids[mg.i], b: ids[mg.j], similarity: mg.similarity,
                  succession: succ, score: mg.score, confidence: mg.confidence,
                  evidence: lead + evidence(store: store, sig: sig, i: mg.i, j: mg.j, clock: clock, succession: succ),
                  basis: single ? .pair : .groupAverage)
    }
    links += c.attachments.map { at in
      let succ = succession(sig, at.i, at.j)
      return Link(a: ids[at.i], b: ids[at.j], similarity: at.similarity, succession: succ, score: at.score, confidence: at.confidence,
                  evidence: "matches the combined profile of \(at.sizes.1) linked vehicles (similarity \(String(format: "%.2f", at.score))); "
                    + evidence(store: store, sig: sig, i: at.i, j: at.j, clock: clock, succession: succ),
                  basis: .groupProfile)
    }
    var weakest: [Int: Double] = [:]
    let idIndex = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
    for link in links {
      let r = c.group[idIndex[link.a]!]
      weakest[r] = min(weakest[r] ?? 1, link.confidence)
    }
    var groupMembers: [Int: [String]] = [:]
    for i in 0..<candidates.count { groupMembers[c.group[i], default: []].append(ids[i]) }
    let groups = groupMembers.filter { $0.value.count >= 2 }.sorted { $0.value.min()! < $1.value.min()! }
    if groups.contains(where: { $0.value.count == 2 }) {
      notes.append("a group of two vehicles rests on one pair of signatures: on the simulated towns most false groups were of two vehicles (BENCHMARKS.md); check its evidence before acting on it")
    }
    return LinkageResult(model: self, candidates: candidates.count, links: links, groups: groups.map { $0.value.sorted() },
                         groupConfidence: groups.map { weakest[$0.key] ?? 0 }, notes: notes, units: units, segmentation: f.segmentation)
  }

  /// How the candidates group, without the store: rows 0..<candidates of `x` (and `sig`) are the
  /// candidate units, the rows after them reference vehicles for the null.
  public struct Clustering: Sendable {
    /// One link: rows i and j (the closest pair across two groups, or a unit and the closest member
    /// of the group it joins), the score it rests on (the mean over the cross pairs, or the similarity to
    /// the group's profile), its confidence, and the sizes of the two sides.
    public struct Join: Sendable { public var i: Int, j: Int, similarity: Double, score: Double, confidence: Double, sizes: (Int, Int) }
    /// Merges of average linkage, in order, then units joined to a group's profile.
    public var merges: [Join], attachments: [Join]
    /// Each candidate's group: the row of its representative.
    public var group: [Int]
    public var notes: [String]
  }

  /// Groups the candidate rows of `x` whose behaviour matches and whose use of a car does not overlap
  /// in time: average linkage over the similarities, then units left out join a group whose combined
  /// profile they match. Every merge carries its confidence (1 − local fdr, learned from pairs that
  /// cannot be one driver).
  public func cluster(signatures sig: Signatures, features xAll: Matrix, candidates n: Int) throws -> Clustering {
    try cluster(signatures: sig, features: xAll, candidates: n, profilePairLimit: 4_000_000, profileBlockRows: 4096, profileDraws: 2_000_000)
  }

  /// `cluster` with the profile pass's limits: every (candidate, group) pair up to `profilePairLimit`,
  /// else `profileDraws` drawn pairs and blocks of `profileBlockRows` candidates (tests set them small).
  func cluster(signatures sig: Signatures, features xAll: Matrix, candidates n: Int, profilePairLimit: Int, profileBlockRows: Int,
               profileDraws: Int) throws -> Clustering {
    precondition(n >= 2 && n <= sig.vehicles.count && xAll.rows == sig.vehicles.count, "cluster: candidates are the first rows of the signatures and features")
    var notes: [String] = []
    let m = sig.vehicles.count
    let x = m == n ? xAll : xAll.rows(0..<n)
    let rows = RowMajor(xAll)
    let nn = try topKNeighbours(x, k: min(neighbours, n - 1))
    func overlaps(_ i: Int, _ j: Int) -> Bool { cannotBeOneDriver(sig, i, j) }
    // Null distribution: similarities of pairs in use at the same time (periods that overlap by more
    // than `maxOverlapHours`, or cars on the road at the same moment). One driver drives one car at a
    // time, so these pairs are not the same actor; how often they reach a similarity says how often
    // unrelated periods of use do. Cars on the road together share the day and hour, so they also
    // show how alike two drivers who keep the same hours look. Every pair of candidates is examined (up to 2 000 000, else that many
    // drawn with a seeded generator): those in use at the same time are the null, the others the pairs a
    // link could join. Pairs of a candidate and a reference vehicle (up to 200 000 drawn) stand in for
    // the null only when the candidates give too few.
    var null: [Double] = [], referenceNull: [Double] = [], open: [Double] = []
    var rng = SeededRNG(seed: seed &+ 16)
    let candidatePairs = n * (n - 1) / 2
    if candidatePairs <= 2_000_000 {
      for i in 0..<n { for j in (i + 1)..<n {
        if overlaps(i, j) { null.append(rows.dot(i, j)) } else { open.append(rows.dot(i, j)) }
      } }
    } else {
      for _ in 0..<2_000_000 {
        let a = Int(rng.next() % UInt64(n)), b = Int(rng.next() % UInt64(n - 1))
        let (i, j) = (a, b >= a ? b + 1 : b)
        if overlaps(i, j) { null.append(rows.dot(i, j)) } else { open.append(rows.dot(i, j)) }
      }
    }
    let referencePairs = n * (m - n)
    for k in 0..<min(referencePairs, 200_000) {
      let (i, j) = referencePairs <= 200_000 ? (k % n, n + k / n) : (Int(rng.next() % UInt64(n)), n + Int(rng.next() % UInt64(m - n)))
      if overlaps(i, j) { referenceNull.append(rows.dot(i, j)) }
    }
    // The null is pairs of candidates in use at the same time: hire cars' periods of use are more alike
    // each other than a hire car is to a private car, so reference vehicles fill in only when the
    // candidates give too few pairs.
    if null.count < 50 {
      notes.append("only \(null.count) pairs of candidates in use at the same time: the null for link confidence includes \(referenceNull.count) pairs with reference vehicles")
      null += referenceNull
    }
    // Confidence of a merge: the probability of one actor at its mean score (1 − local fdr, learned
    // from this store's null and open pairs). Without enough pairs for that, nothing is linked.
    let calibration = LocalFDR(null: null, open: open)
    if let calibration { notes.append(calibration.description) } else {
      notes.append("too few candidate pairs (\(null.count) in use at the same time, \(open.count) not; or fewer than two distinct in the null's top 5%) to calibrate a link's confidence: nothing is linked")
    }
    func confidence(_ s: Double) -> Double { calibration?.probability(s) ?? 0 }
    let bonus: ((Int, Int) -> Double)? = successionBonus > 0 ? { self.succession(sig, $0, $1) ? self.successionBonus : 0 } : nil
    func pairScore(_ i: Int, _ j: Int) -> Double { rows.dot(i, j) + (bonus?(i, j) ?? 0) }
    // Edges: neighbour pairs in use at different times whose score reaches the threshold. Two groups
    // can only reach an average at the threshold if some pair across them does, so these are the only
    // places a merge can start.
    var edges: [(Int, Int)] = []
    var seenPairs = Set<Int>()
    for i in 0..<n {
      for (j, _) in nn[i] where seenPairs.insert(min(i, j) * n + max(i, j)).inserted {
        if !overlaps(i, j) && pairScore(i, j) >= threshold { edges.append((min(i, j), max(i, j))) }
      }
    }
    // Average linkage (UPGMA) under the one-car-at-a-time constraint: repeatedly merge the two groups
    // whose cross pairs have the highest mean score, while that mean reaches the threshold and no
    // vehicle of one is in use while a vehicle of the other is. A merge rests on every pair across the
    // two groups, so one look-alike pair cannot join two actors, and an actor's car seen on one visit
    // joins when it is alike the group as a whole.
    let linkage = AverageLinkage(rows: rows, n: n, edges: edges, cannotLink: overlaps, extra: bonus,
                                 accept: { $0 >= threshold && confidence($0) >= minimumConfidence })
    var members = linkage.members
    // Each merge is reported by the closest pair across it, at the mean it was made at.
    let merges: [Clustering.Join] = linkage.merges.map { mg in
      let closest = mg.from.flatMap { p in mg.into.map { (p, $0) } }.max { rows.dot($0.0, $0.1) < rows.dot($1.0, $1.1) }!
      return .init(i: closest.0, j: closest.1, similarity: rows.dot(closest.0, closest.1), score: mg.mean, confidence: confidence(mg.mean),
                   sizes: (mg.from.count, mg.into.count))
    }
    let attachments = try attachToGroupProfiles(sig: sig, features: x, rows: rows, neighbours: nn, blocks: sig.blockScales(weights), candidates: n,
                                                members: &members, overlaps: overlaps, pairLimit: profilePairLimit, blockRows: profileBlockRows,
                                                draws: profileDraws)
    var group = Array(0..<n)
    for (r, ms) in members.enumerated() { for p in ms { group[p] = r } }
    return Clustering(merges: merges, attachments: attachments, group: group, notes: notes)
  }

  /// Whether rows i and j of `sig` cannot be one driver: their periods of use overlap by more than
  /// `maxOverlapHours`, or (with `separateSimultaneousDrivers`) the two cars were on the road together.
  public func cannotBeOneDriver(_ sig: Signatures, _ i: Int, _ j: Int) -> Bool {
    min(sig.lastSeen[i], sig.lastSeen[j]) - max(sig.firstSeen[i], sig.firstSeen[j]) > Int64(maxOverlapHours * 3600)
      || (separateSimultaneousDrivers && sig.drivenTogether(i, j))
  }

  /// The id a unit is reported by: `VEHICLE#FROM..TO` for an episode, the vehicle id for a whole plate.
  func unitID(_ store: ReadStore, _ e: Episode) -> String {
    unit == .plate ? store.vehicles[e.vehicle].id : e.id(vehicleID: store.vehicles[e.vehicle].id)
  }

  /// Second pass: a candidate left out of every group is compared with each group's combined profile
  /// (the normalised sum of its members' signatures), which a short-lived hire car with few trips can
  /// match even when it matches no single member well (`groupProfileFloor` rather than `threshold`). The null is the similarity to a group's profile
  /// of pool vehicles in use at the same time as one of its members (one actor drives one car at a
  /// time, so they are not that actor); the confidence is 1 − FDR as for pair links. A vehicle joins at
  /// most one group, the best, if the score reaches `groupProfileFloor`, the confidence reaches
  /// `groupProfileConfidence`, it overlaps no member, and it is more alike the group than any other
  /// left-out candidate (else it more likely belongs with those, to an actor whose group has not formed).
  func attachToGroupProfiles(sig: Signatures, features: Matrix, rows x: RowMajor, neighbours nn: [[(index: Int, similarity: Double)]],
                             blocks: [(range: Range<Int>, scale: Double)], candidates n: Int,
                             members: inout [[Int]], overlaps: (Int, Int) -> Bool, pairLimit: Int, blockRows: Int, draws: Int) throws -> [Clustering.Join] {
    // A group's members are listed under its representative; every other unit's list is empty.
    let roots = (0..<n).filter { members[$0].count >= 2 }
    guard !roots.isEmpty else { return [] }
    let m = sig.vehicles.count, groups = roots.count
    let profiles = roots.map { profile(x, members[$0], blocks: blocks) }
    // Similarity of every candidate to every group's profile: blocks of candidate rows against all
    // profiles (dgemm), kept whole when small, else each block in turn.
    var profileMatrix = Matrix(rows: groups, columns: x.columns)
    for (g, p) in profiles.enumerated() { for k in 0..<x.columns { profileMatrix.elements[g + k * groups] = p[k] } }
    func similarities(_ range: Range<Int>) throws -> Matrix {
      try BLAS.withThreadCount(workerThreads) { try BLAS.multiply(features.rows(range), profileMatrix, transposeB: true) }
    }
    let whole = n * groups <= pairLimit ? try similarities(0..<n) : nil
    var rng = SeededRNG(seed: seed &+ 44)
    func draw(_ count: Int) -> Int { Int(rng.next() % UInt64(count)) }
    // Null: pool vehicles (candidates and references) that overlap a member of the group — every pair
    // up to `pairLimit` (candidate, group) pairs, else `draws` pairs drawn with a seeded generator.
    // (Every pair, too, when there are no more of them than the draws would take.)
    var null: [Double] = []
    func inNull(_ i: Int, _ r: Int) -> Bool { !members[r].contains(i) && members[r].contains(where: { overlaps(i, $0) }) }
    if whole != nil || n * groups <= draws {
      for (g, r) in roots.enumerated() {
        for i in 0..<n where inNull(i, r) { null.append(whole.map { $0.elements[i + g * n] } ?? x.dot(i, profiles[g])) }
      }
    } else {
      for _ in 0..<draws {
        let (i, g) = (draw(n), draw(groups))
        if inNull(i, roots[g]) { null.append(x.dot(i, profiles[g])) }
      }
    }
    if null.count < 50 {
      for (g, r) in roots.enumerated() {
        for i in n..<m where members[r].contains(where: { overlaps(i, $0) }) { null.append(x.dot(i, profiles[g])) }
      }
    }
    // Singletons and their best admissible group (no member in use at the same time); the
    // admissible similarities are the density the null is set against (drawn as the null when large).
    let singles = (0..<n).filter { members[$0].count == 1 }
    let isSingle = (0..<n).map { members[$0].count == 1 }
    func admissible(_ i: Int, _ r: Int) -> Bool { !members[r].contains(where: { overlaps(i, $0) }) }
    var admissibleSimilarities: [Double] = []
    // Every admissible pair is collected in the pass below when the whole matrix is at hand or there are
    // no more pairs than the draws would take; else they are drawn here.
    let everyPair = whole != nil || singles.count * groups <= draws
    if !everyPair && !singles.isEmpty {
      for _ in 0..<draws {
        let (i, g) = (singles[draw(singles.count)], draw(groups))
        if admissible(i, roots[g]) { admissibleSimilarities.append(x.dot(i, profiles[g])) }
      }
    }
    var best: [(i: Int, g: Int, s: Double)] = []
    var block = (range: 0..<0, values: Matrix(rows: 0, columns: 0))
    for i in singles {
      if whole == nil && !block.range.contains(i) {
        // Rows of the block × every group stay within about `pairLimit` values (at least one row).
        let range = i..<min(n, i + max(1, min(blockRows, pairLimit / groups)))
        block = (range, try similarities(range))
      }
      func s(_ g: Int) -> Double { whole.map { $0.elements[i + g * n] } ?? block.values.elements[(i - block.range.lowerBound) + g * block.range.count] }
      var top: (Int, Double)? = nil
      for (g, r) in roots.enumerated() {
        let v = s(g)
        if everyPair {
          guard admissible(i, r) else { continue }
          admissibleSimilarities.append(v)
          if v > (top?.1 ?? -1) { top = (g, v) }
        } else if v > (top?.1 ?? -1) && admissible(i, r) { top = (g, v) }
      }
      guard let top, top.1 >= groupProfileFloor else { continue }
      // A singleton alike another singleton more than any group is more likely one of an actor whose
      // own group has not formed: it is not attached to someone else's group. The most alike singleton
      // not in use at the same time: the first such among i's nearest neighbours (no candidate off the
      // list is more alike than the list's last); if none is on a full list, every singleton is compared
      // only when the list's last is alike enough to block the attachment.
      let listed = nn[i].first { isSingle[$0.index] && !overlaps(i, $0.index) }
      let rival: Double
      if let listed { rival = x.dot(i, listed.index) }
      else if nn[i].count < n - 1 && (nn[i].last?.similarity ?? -1) >= top.1 - 1e-9 {
        rival = singles.filter { $0 != i && !overlaps(i, $0) }.map { x.dot(i, $0) }.max() ?? -1
      } else { rival = -1 }
      if top.1 > rival { best.append((i, top.0, top.1)) }
    }
    guard !null.isEmpty else { return [] }
    // Confidence: 1 − local fdr of the similarity to a profile, from this null and the admissible pairs.
    guard let profileCalibration = LocalFDR(null: null, open: admissibleSimilarities) else { return [] }
    var out: [Clustering.Join] = []
    for b in best.sorted(by: { $0.s > $1.s }) {
      let confidence = profileCalibration.probability(b.s)
      guard confidence >= groupProfileConfidence else { continue }
      let r = roots[b.g]
      guard !members[r].contains(where: { overlaps(b.i, $0) }) else { continue }
      // Report against the most similar member.
      let closest = members[r].max { x.dot(b.i, $0) < x.dot(b.i, $1) }!
      out.append(.init(i: b.i, j: closest, similarity: b.s, score: b.s, confidence: confidence, sizes: (1, members[r].count)))
      members[r].append(b.i)
      members[b.i] = []
    }
    return out
  }

  /// Whether one of rows i and j of `sig` starts its use within `successionDays` of the other's end.
  func succession(_ sig: Signatures, _ i: Int, _ j: Int) -> Bool {
    Double(max(sig.firstSeen[i], sig.firstSeen[j]) - min(sig.lastSeen[i], sig.lastSeen[j])) <= successionDays * 86400
  }

  /// Evidence in words: shared entry sites and time blocks, shared stop sites, and the succession.
  func evidence(store: ReadStore, sig: Signatures, i: Int, j: Int, clock: LocalClock, succession: Bool) -> String {
    let d = sig.layout.dimension, L = sig.layout
    func top(_ r: Int, _ range: Range<Int>) -> Set<Int> {
      let vals = range.map { sig.sums[r * d + $0] }
      let m = vals.max() ?? 0
      return m > 0 ? Set(range.filter { sig.sums[r * d + $0] >= 0.5 * m }.map { $0 - range.lowerBound }) : []
    }
    func siteName(_ bucket: Int) -> String {
      let names = store.sites.indices.filter { $0 % L.siteBuckets == bucket }.map { store.sites[$0] }
      let road = store.cameras.first { $0.site == names.first }?.road
      return (names.count == 1 ? names[0] : names.joined(separator: "/")) + (road.map { " (\($0))" } ?? "")
    }
    let days = LocalClock.weekdayShortNames
    var parts: [String] = []
    let entries = top(i, L.entry).intersection(top(j, L.entry))
    let wd = top(i, L.weekday).intersection(top(j, L.weekday)).sorted().map { days[$0] }
    let hours = top(i, L.hour).intersection(top(j, L.hour)).sorted()
    var when = wd.isEmpty ? "" : " on " + wd.joined(separator: "/")
    if let h0 = hours.first, let h1 = hours.last { when += " \(h0)–\(h1 + 1)h" }
    if !entries.isEmpty { parts.append("both enter by " + entries.sorted().map(siteName).joined(separator: " or ") + when) }
    else if !when.isEmpty { parts.append("both start trips" + when) }
    let stops = top(i, L.stops).intersection(top(j, L.stops))
    if !stops.isEmpty { parts.append("both stop near " + stops.sorted().map(siteName).joined(separator: " and ") + " for 5 min or more") }
    func day(_ t: Int64) -> String { String(Timestamp.iso8601(t + clock.offset(at: t)).prefix(10)) }
    let pa = "\(day(sig.firstSeen[i]))…\(day(sig.lastSeen[i]))", pb = "\(day(sig.firstSeen[j]))…\(day(sig.lastSeen[j]))"
    parts.append(succession ? "one car's use ends as the other's begins (\(pa), \(pb))" : "active \(pa) and \(pb), not at the same time")
    return parts.joined(separator: "; ")
  }
}

extension LinkageModel {
  /// The candidates and the signatures and weighted, centred features the linkage compares: rows
  /// 0..<candidates.count are the candidate units (rental cars' periods of use, or whole plates); the rows
  /// after them are reference vehicles for the null — other vehicles (any keeper) with the same
  /// short-stop pattern, up to 1500, chosen by a seeded shuffle — which share the candidates' weighting
  /// and background.
  public func features(store: ReadStore, clock: LocalClock) -> (candidates: [Episode], signatures: Signatures, features: Matrix, segmentation: SegmentationSummary?) {
    let travel = store.typicalTravelSeconds()
    let cars = (0..<store.vehicles.count).filter { !rentalOnly || store.vehicles[$0].keeper == .rental }
    var units: [Episode]
    var summary: SegmentationSummary? = nil
    if unit == .episode {
      let r = segmenter.segment(store: store, clock: clock, vehicles: cars, travel: travel)
      units = r.episodes
      func place(_ b: EpisodeSegmenter.BoundaryPlace?) -> String? {
        b.map { "\(store.sites[$0.site]) (×\(String(format: "%.1f", $0.ratio)))" }
      }
      summary = SegmentationSummary(vehicles: cars.count, episodes: r.episodes.count, concentration: r.concentration, changeProbability: r.changeProbability,
                                    boundaryStart: place(r.boundaryStart), boundaryEnd: place(r.boundaryEnd), boundaryPlacesUsed: r.boundaryPlacesUsed)
    } else {
      units = cars.compactMap { v in
        let t = store.trips(ofVehicle: v, gap: visitGap)
        return t.isEmpty ? nil : Episode(vehicle: v, first: t.first!.start, last: t.last!.end, visits: t.count)
      }
    }
    var tripsOf: [Int: [Trip]] = [:]
    for e in units where tripsOf[e.vehicle] == nil { tripsOf[e.vehicle] = store.trips(ofVehicle: e.vehicle, gap: visitGap) }
    let candidates = units.filter { qualifies(store: store, $0, travel: travel, trips: tripsOf[$0.vehicle]) }
    var others = rentalOnly ? (0..<store.vehicles.count).filter { store.vehicles[$0].keeper != .rental }.compactMap { v -> Episode? in
      let t = store.trips(ofVehicle: v, gap: visitGap)
      guard let a = t.first, let b = t.last else { return nil }
      let e = Episode(vehicle: v, first: a.start, last: b.end, visits: t.count)
      return qualifies(store: store, e, travel: travel, trips: t) ? e : nil
    } : []
    var shuffle = SeededRNG(seed: seed &+ 28)
    others.shuffle(using: &shuffle)
    others = Array(others.prefix(1500)).sorted { $0.vehicle < $1.vehicle }
    let sig = Signatures.build(store: store, clock: clock, episodes: candidates + others, visitGap: visitGap, travel: travel)
    return (candidates, sig, sig.features(weights), summary)
  }

  /// Whether a unit has enough visits and short stops (5–40 min inside a visit) to be linked.
  func qualifies(store: ReadStore, _ e: Episode, travel: [Int: Double], trips: [Trip]? = nil) -> Bool {
    let ts = (trips ?? store.trips(ofVehicle: e.vehicle, gap: visitGap)).filter { $0.start >= e.first && $0.end <= e.last }
    guard ts.count >= minimumTrips else { return false }
    let short = ts.reduce(0) { n, t in
      n + t.stops(travel: travel, siteCount: store.sites.count, minimumExcess: 300).filter { $0.seconds <= 2400 }.count
    }
    return short >= minimumShortStops
  }
}

/// The rows of a feature matrix one after another: a column-major `Matrix` reads a row with a stride of
/// its row count, which at thousands of rows misses the cache on every element of every dot product.
struct RowMajor {
  let columns: Int
  let values: [Double]

  init(_ x: Matrix) {
    columns = x.columns
    var v = [Double](repeating: 0, count: x.rows * x.columns)
    for k in 0..<x.columns { for i in 0..<x.rows { v[i * x.columns + k] = x.elements[i + k * x.rows] } }
    values = v
  }

  /// Dot product of rows i and j.
  func dot(_ i: Int, _ j: Int) -> Double {
    var s = 0.0
    let (a, b) = (i * columns, j * columns)
    for k in 0..<columns { s += values[a + k] * values[b + k] }
    return s
  }

  /// Dot product of row i with a vector.
  func dot(_ i: Int, _ v: [Double]) -> Double {
    var s = 0.0
    let a = i * columns
    for k in 0..<columns { s += values[a + k] * v[k] }
    return s
  }

  func row(_ i: Int) -> [Double] { Array(values[(i * columns)..<((i + 1) * columns)]) }
}

/// A group's combined profile: per block, the sum of its rows of `x` scaled to the block's norm in a
/// row (zero where they sum to zero), so its dot product with a row is the weighted mean of per-block
/// cosines, as between two rows.
func profile(_ x: RowMajor, _ rows: [Int], blocks: [(range: Range<Int>, scale: Double)]) -> [Double] {
  var c = [Double](repeating: 0, count: x.columns)
  for i in rows { for k in 0..<x.columns { c[k] += x.values[i * x.columns + k] } }
  for (range, scale) in blocks {
    let norm = range.reduce(0) { $0 + c[$1] * c[$1] }.squareRoot()
    for k in range { c[k] = norm > 0 ? c[k] / norm * scale : 0 }
  }
  return c
}

/// Pairwise and B-cubed scores of a grouping against the truth (vehicle → actor).
public struct LinkageScores: Codable, Sendable {
  public var pairPrecision: Double, pairRecall: Double, pairF1: Double
  public var bcubedPrecision: Double, bcubedRecall: Double, bcubedF1: Double

  /// - Parameters:
  ///   - groups: predicted groups of ids (singletons implicit).
  ///   - truth: id → true actor for vehicles of interest; other ids are their own singletons.
  ///   - universe: every id considered (candidates).
  public static func score(groups: [[String]], truth: [String: String], universe: [String]) -> LinkageScores {
    var predicted: [String: Int] = [:]
    for (g, members) in groups.enumerated() { for m in members { predicted[m] = g } }
    let ids = universe
    func pred(_ x: String) -> String { predicted[x].map { "g\($0)" } ?? "s:" + x }
    func actual(_ x: String) -> String { truth[x].map { "a:" + $0 } ?? "s:" + x }
    var tp = 0.0, fp = 0.0, fn = 0.0
    var byPred: [String: [String]] = [:], byTrue: [String: [String]] = [:]
    for x in ids { byPred[pred(x), default: []].append(x); byTrue[actual(x), default: []].append(x) }
    for (_, m) in byPred where m.count > 1 {
      for i in 0..<m.count { for j in (i + 1)..<m.count { if actual(m[i]) == actual(m[j]) { tp += 1 } else { fp += 1 } } }
    }
    for (_, m) in byTrue where m.count > 1 {
      for i in 0..<m.count { for j in (i + 1)..<m.count where pred(m[i]) != pred(m[j]) { fn += 1 } }
    }
    let p = tp + fp > 0 ? tp / (tp + fp) : 1, r = tp + fn > 0 ? tp / (tp + fn) : 1
    var bp = 0.0, br = 0.0
    for x in ids {
      let pc = byPred[pred(x)]!, tc = byTrue[actual(x)]!
      let both = Double(pc.filter { actual($0) == actual(x) }.count)
      bp += both / Double(pc.count); br += both / Double(tc.count)
    }
    let n = Double(max(1, ids.count))
    bp /= n; br /= n
    return LinkageScores(pairPrecision: p, pairRecall: r, pairF1: p + r > 0 ? 2 * p * r / (p + r) : 0,
                         bcubedPrecision: bp, bcubedRecall: br, bcubedF1: bp + br > 0 ? 2 * bp * br / (bp + br) : 0)
  }
}
