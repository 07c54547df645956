import ArgumentParser
import Evaluation
import Foundation
import Governance
import Linkage
import Modelling
import Reads

extension LinkageModel.Unit: ExpressibleByArgument {}
extension EpisodeSegmenter.BoundaryPlacesMode: ExpressibleByArgument {}

extension ANPR {
  struct Link: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Tie rotating hire cars to one actor by behaviour; links carry a confidence and evidence to check.",
      discussion: """
        A hire car is re-hired, so a plate is not a person: each rental car's history is first cut into
        periods of use (episodes) by Bayesian change-point segmentation, and the episodes are linked.
        GROUPS.csv has one row per episode in a group of two or more:
        group_id,vehicle,plate,from,to,confidence,boundary_confidence,evidence. `vehicle` is the episode
        (PLATE#FROM..TO, UTC to the minute), `plate` the id the store holds for the car (a pseudonym unless
        the store keeps raw plates), `from`/`to` its first and last read (UTC), `confidence` the link's,
        `boundary_confidence` the posterior probability that the episode's boundaries are right. With
        --unit plate, whole plates are linked and `vehicle` equals `plate`. A link is a lead for an analyst
        to check, never a fact: read its evidence.
        """)
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Groups CSV to write.") var out: String
    @Option(help: "Two groups merge when the mean similarity of the vehicle pairs across them reaches this (average linkage; default 0.65).") var threshold: Double?
    @Option(help: "Links CSV to write (pairs with evidence).") var links: String?
    @Option(help: "Episodes CSV to write: every candidate period of use with its boundaries, their confidence and the evidence for each cut.") var episodes: String?
    @Option(help: "A merge also needs at least this confidence (probability of one actor; default 0.5).") var minConfidence: Double?
    @Flag(help: "Link all vehicles, not only rental ones.") var allVehicles = false
    @Flag(help: "Allow linking periods of use that were on the road at the same moment (by default two cars driven at once are two drivers).") var allowSimultaneous = false
    @Option(help: "Count the road periods of use begin and end by as evidence of a boundary: 'auto' when a branch shows (a road at least 3 times as common at both ends of periods as at other visits; the note names it), 'on' or 'off'.")
    var boundaryPlaces: EpisodeSegmenter.BoundaryPlacesMode = .auto
    @Option(help: "What to link: 'episode' (periods of use of a car, default) or 'plate' (whole plates; right only if each plate has one driver).")
    var unit: LinkageModel.Unit = .episode
    @Option(help: "Simulator truth (truth.json or its directory): prints precision, recall, F1, B-cubed and a threshold curve.") var truth: String?
    @Option(help: "Key the store was pseudonymised with (to match truth plates).") var keyFile: String?
    @Option(help: "Also detect co-travel (convoys) and write them here (CSV).") var convoys: String?
    @Option(help: "Co-travel: seconds within which two reads at one site count as together.") var convoyWindow: Int = 60
    @Option(help: "Co-travel: distinct sites a pair must share.") var convoyMinSites: Int = 3
    @OptionGroup var csvOptions: CSVOptions
    @Flag(help: "Print the result as one JSON object on the last line.") var json = false

    func run() throws {
      try requireDistinct(outputs: [("--out", out), ("--links", links), ("--episodes", episodes), ("--convoys", convoys)],
                          inputs: [("--store", storeOptions.store), ("--truth", truth), ("--key-file", keyFile)])
      let (store, clock) = try storeOptions.open()
      try audited(try storeOptions.governance.begin("link", storePath: storeOptions.store, store: store)) { try link(store, clock: clock) }
    }

    func link(_ store: ReadStore, clock: LocalClock) throws -> [String: Int] {
      var model = LinkageModel()
      model.seed = storeOptions.seed
      if let threshold { model.threshold = threshold }
      if let minConfidence {
        guard (0...1).contains(minConfidence) else { throw ValidationError("--min-confidence must be in [0, 1].") }
        model.minimumConfidence = minConfidence
      }
      model.rentalOnly = !allVehicles
      model.separateSimultaneousDrivers = !allowSimultaneous
      model.segmenter.boundaryPlaces = boundaryPlaces
      model.unit = unit
      let r = try model.link(store: store, clock: clock)
      let groups = GroupsFile(r).table
      try write(groups, to: out, excel: csvOptions.excel)
      if let links { try write(LinksFile.table(r.links), to: links, excel: csvOptions.excel) }
      if let episodes { try write(EpisodesFile.table(r.units), to: episodes, excel: csvOptions.excel) }
      struct Output: Encodable {
        var candidates: Int; var links: Int; var groups: Int; var convoys: Int?; var evaluation: LinkageScores?; var curve: [LinkageEvaluation.Point]?
        var boundaryAccuracy: Double?; var actorHires: Int?; var reliability: [LinkageEvaluation.ReliabilityBin]?
      }
      var output = Output(candidates: r.candidates, links: r.links.count, groups: r.groups.count)
      if let convoys {
        var d = CoTravelDetector()
        d.windowSeconds = Int64(convoyWindow); d.minimumSites = convoyMinSites
        let found = d.detect(store: store, clock: clock)
        try write(ConvoysFile.table(found), to: convoys, excel: csvOptions.excel)
        output.convoys = found.count
        if !json { print("co-travel: \(found.count) pairs seen together more than chance allows (p ≤ \(d.maxPValue)) → \(convoys)") }
      }
      if let truth {
        let hires = try LinkageEvaluation.hires(store: store, truthDirectory: try TruthDirectory.resolve(truth), pseudonymiser: try Pseudonymiser.load(file: keyFile))
        let t = LinkageEvaluation.truth(r, store: store, hires: hires)
        output.evaluation = LinkageEvaluation.score(r, hires: hires, store: store)
        let b = LinkageEvaluation.boundaryAccuracy(r, hires: hires, store: store)
        output.boundaryAccuracy = b.share; output.actorHires = b.hires
        output.reliability = LinkageEvaluation.reliability(r, truth: t)
        if !json { print(try LinkageEvaluation.diagnostics(model: model, store: store, clock: clock, result: r, truth: t)) }
        output.curve = try LinkageEvaluation.curve(model: model, store: store, clock: clock, hires: hires, thresholds: [0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9])
      }
      let counts = ["candidates": r.candidates, "links": r.links.count, "groups": r.groups.count]
      if json { try printJSONLine(output); return counts }
      print("\(r.candidates) candidate vehicles, \(r.links.count) links, \(r.groups.count) groups → \(out)")
      for (g, members) in r.groups.prefix(10).enumerated() {
        print("G\(g + 1) (\(members.count) vehicles, confidence ≥ \(String(format: "%.2f", r.groupConfidence[g]))): \(members.joined(separator: ", "))")
      }
      for l in r.links.prefix(5) { print("  \(l.a) ~ \(l.b) score \(String(format: "%.2f", l.score)) confidence \(String(format: "%.2f", l.confidence)): \(l.evidence)") }
      if let e = output.evaluation {
        print(String(format: "against truth: pairwise precision %.3f, recall %.3f, F1 %.3f; B-cubed precision %.3f, recall %.3f, F1 %.3f",
                     e.pairPrecision, e.pairRecall, e.pairF1, e.bcubedPrecision, e.bcubedRecall, e.bcubedF1))
        print(String(format: "episode boundaries within 12 h of the true hire's first and last read: %.3f of %d actor hires", output.boundaryAccuracy ?? 0, output.actorHires ?? 0))
        for bin in output.reliability ?? [] {
          print(String(format: "  links with confidence %.2f–%.2f: %d, mean stated %.3f, observed precision %.3f", bin.from, bin.to, bin.links, bin.stated, bin.observed))
        }
        for p in output.curve ?? [] {
          print(String(format: "  threshold %.2f: precision %.3f recall %.3f F1 %.3f (%d groups)", p.threshold, p.scores.pairPrecision, p.scores.pairRecall, p.scores.pairF1, p.groups))
        }
      }
      for n in r.notes { print("note: \(n)") }
      print("Links are leads to check, not facts.")
      return counts
    }
  }
}
