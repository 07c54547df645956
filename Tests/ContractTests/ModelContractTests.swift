import Foundation
import Hotspots
import ModelCatalogue
import Modelling
import Reads
import Testing
import TestSupport

/// The sample town (Data/sample: 14 days, 20 sites, keeper types), ingested once for every check.
enum SampleStore {
  static let directory: String = {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-contract-\(UUID())").path
    try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
  }()
  static let store: ReadStore = {
    var o = IngestOptions(readsPath: "Data/sample/reads.csv.gz", camerasPath: "Data/sample/cameras.csv")
    o.vehiclesPath = "Data/sample/vehicles.csv"
    let (contents, _) = try! Ingest.run(o)
    try! StoreWriter.write(contents, to: directory + "/sample.anpr")
    return try! ReadStore(path: directory + "/sample.anpr")
  }()
  static let clock = try! LocalClock(identifier: "Europe/London")
}

/// Every model in `ModelRegistry.standard` keeps the contract; a model added to the registry is checked
/// here without a line of test code.
@Suite("The model contract, for every registered model")
struct ModelContractTests {
  @Test(arguments: ModelRegistry.standard.all)
  func parametersAreStrict(_ r: ModelRegistration) {
    #expect(ModelContractChecks.parametersAreStrict(r) == [], "\(r.kind)")
  }

  @Test(arguments: ModelRegistry.standard.all)
  func saveLoadGivesTheSameModelAndBytes(_ r: ModelRegistration) throws {
    let d = SampleStore.directory + "/\(UUID())"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    #expect(ModelContractChecks.saveLoadRoundTrip(r, store: SampleStore.store, clock: SampleStore.clock, directory: d) == [], "\(r.kind)")
  }

  @Test(arguments: ModelRegistry.standard.all)
  func emptyDataThrows(_ r: ModelRegistration) {
    #expect(ModelContractChecks.emptyDataThrows(r, store: SampleStore.store, clock: SampleStore.clock) == [], "\(r.kind)")
  }

  @Test(arguments: ModelRegistry.standard.kinds(of: .hotspot).map { try! ModelRegistry.standard.registration($0) })
  func unseenSitesFallBackAndSaySo(_ r: ModelRegistration) {
    #expect(ModelContractChecks.unseenUnitsFallBack(r, store: SampleStore.store, clock: SampleStore.clock) == [], "\(r.kind)")
  }

  /// Every family has a model, and no kind is registered twice (the registry refuses it).
  @Test func everyFamilyIsRegistered() {
    #expect(Set(ModelRegistry.standard.all.map(\.family)) == Set(ModelFamily.allCases))
  }

  /// Format 1 model files (a key per family for the body) still load, as the same model, for every
  /// kind that had one; a body holding two fitted models is refused.
  @Test func formatOneFilesStillLoad() throws {
    let d = SampleStore.directory + "/v1-\(UUID())"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    let legacy = ModelRegistry.standard.all.filter { $0.bodyKeys.count > 1 }
    #expect(legacy.count >= 7, "every hotspot kind and the route model had a format-1 key")
    for r in legacy {
      let path = d + "/\(r.kind).json"
      try Training.train(spec: try SpecFile(r, params: r.quickParameters), store: SampleStore.store, target: .allReads, clock: SampleStore.clock, to: path)
      var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
      var header = json["header"] as! [String: Any], body = json["body"] as! [String: Any]
      header["formatVersion"] = 1
      let fitted = body.removeValue(forKey: "fitted")
      body[r.bodyKeys[1]] = fitted
      json["header"] = header; json["body"] = body
      try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path + ".v1"))
      let old = try ModelRegistry.standard.load(path + ".v1"), new = try ModelRegistry.standard.load(path)
      let enc = JSONEncoder(); enc.outputFormatting = .sortedKeys
      #expect(try enc.encode(old.fitted) == enc.encode(new.fitted), "\(r.kind)")
      // Two bodies: the format-1 key beside `fitted`.
      body["fitted"] = fitted
      json["body"] = body
      try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path + ".two"))
      #expect(performing: { _ = try ModelRegistry.standard.load(path + ".two") }, throws: { "\($0)".contains("one fitted model expected") })
    }
  }

  /// A model file is refused when asked for as another family, naming what was expected.
  @Test func aModelOfAnotherFamilyIsRefused() throws {
    let d = SampleStore.directory + "/family-\(UUID())"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    let r = try ModelRegistry.standard.registration("historical-mean")
    try Training.train(spec: try SpecFile(r), store: SampleStore.store, target: .allReads, clock: SampleStore.clock, to: d + "/hm.json")
    #expect(performing: { _ = try ModelRegistry.standard.load(d + "/hm.json", family: .route) },
            throws: { "\($0)".contains("a route model (markov-route)") && "\($0)".contains("historical-mean") })
  }
}
