import Foundation
import Modelling
import Reads
import Testing
import TestSupport
@testable import Hotspots

/// Which reads a hotspot model counts (issue 15: actor hotspots from linked groups).
@Suite("Targets")
struct TargetTests {
  /// Every linked group as the target (`--target groups=GROUPS.csv`): a read of a member's period of
  /// use counts with the member's link confidence; the same car's reads outside the period count
  /// nothing; the exposure is every read.
  @Test func linkedGroupsWeighReadsByLinkConfidence() throws {
    let dir = try makeTemporaryDirectory("targets")
    try "camera_id,site_id,latitude,longitude\nC1,S1,51.54,0.70\nC2,S2,51.55,0.72\n".write(toFile: dir + "/c.csv", atomically: false, encoding: .utf8)
    // AB12CDE: 3 reads at S1 on 2 March (its period of use in the group) and 2 at S1 on 9 March (a
    // later hirer). XY34ZZZ: 2 reads at S2 on 2 March, linked as a whole car. ZZ99ZZZ: in no group.
    let rows = """
      plate,camera_id,timestamp
      AB12CDE,C1,2026-03-02T08:00:00Z
      AB12CDE,C1,2026-03-02T08:20:00Z
      AB12CDE,C1,2026-03-02T09:10:00Z
      AB12CDE,C1,2026-03-09T08:00:00Z
      AB12CDE,C1,2026-03-09T08:30:00Z
      XY34ZZZ,C2,2026-03-02T10:00:00Z
      XY34ZZZ,C2,2026-03-02T10:40:00Z
      ZZ99ZZZ,C2,2026-03-02T10:05:00Z

      """
    try rows.write(toFile: dir + "/r.csv", atomically: false, encoding: .utf8)
    let (contents, _) = try Ingest.run(IngestOptions(readsPath: dir + "/r.csv", camerasPath: dir + "/c.csv"))
    try StoreWriter.write(contents, to: dir + "/s.anpr")
    let store = try ReadStore(path: dir + "/s.anpr")
    let episode = "AB12CDE#2026-03-02T08:00Z..2026-03-02T09:11Z"
    let target = Target.linkedGroups(ids: [episode, "XY34ZZZ"], weights: [0.9, 0.6])
    try target.requireMatches(in: store)
    let table = CountTable.build(store: store, target: target, binning: .seconds(86400), from: store.header.timeStart!, to: store.header.timeEnd! + 1)
    let s1 = table.units.firstIndex { $0.id == "S1" }!, s2 = table.units.firstIndex { $0.id == "S2" }!
    #expect(abs(table[s1, 0] - 3 * 0.9) < 1e-12 && abs(table[s2, 0] - 2 * 0.6) < 1e-12)
    #expect(table[s1, 7] == 0, "the car's later hirer is not the group")
    #expect(table.exposure!.reduce(0, +) == 8)
    // The same members unweighted count 1 a read.
    let plain = CountTable.build(store: store, target: .vehicles([episode, "XY34ZZZ"]), binning: .seconds(86400),
                                 from: store.header.timeStart!, to: store.header.timeEnd! + 1)
    #expect(plain[s1, 0] == 3 && plain[s2, 0] == 2)
    // It survives a model file (the target is part of the model's context).
    let decoded = try JSONDecoder().decode(Target.self, from: try JSONEncoder().encode(target))
    #expect(decoded == target)
    #expect(target.description.contains("weighted by its link confidence"))
    #expect(throws: (any Error).self) { try Target.linkedGroups(ids: ["NOPE"], weights: [1]).requireMatches(in: store) }
  }
}
