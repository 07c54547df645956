import ModelCatalogue
import CFuzzerDriver
import Foundation
import Hotspots
import Modelling
import Reads
import Routes

/// libFuzzer target: any bytes as a model file (hotspot or route). Loading must refuse it naming the
/// problem, or give a model that forecasts finite, non-negative counts (hotspot) or probabilities
/// in [0, 1] (route), over the fixed history the corpus models were trained on, without a crash.
let path: String = {
  let d = NSTemporaryDirectory() + "anprkit-fuzz-model-\(getpid())"
  try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
  return d + "/model.json"
}()

/// The store the corpus models were trained on (`Fuzz/make-corpus.sh`): history for their forecasts.
let history = try? ReadStore(path: ProcessInfo.processInfo.environment["ANPRKIT_FUZZ_HISTORY"] ?? "Fuzz/Corpus/history.anpr")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModel(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { fatalError("cannot write \(path)") }
  if let (_, saved) = try? Training.loadHotspot(path), let history {
    if let f = try? Training.forecast(model: saved, store: history, clock: .utc, days: 1) {
      precondition(f.expected.allSatisfy { $0.isFinite && $0 >= 0 }, "a loaded model forecast a negative or non-finite count")
    }
  }
  if let (_, saved) = try? Training.loadRoute(path) {
    let route = saved.route
    for s in 0..<min(saved.sites.count, 20) {
      let p = route.predict(history: [s], time: 1_772_730_000, clock: .utc)
      precondition(p.ranked.allSatisfy { $0.probability.isFinite && $0.probability >= 0 && $0.probability <= 1 + 1e-9 }
        && p.remainderPerSite.isFinite && p.remainderPerSite >= 0, "route probability out of [0, 1]")
    }
  }
  return 0
}

/// The entry point SwiftPM links as `main`: hands over to libFuzzer's driver.
@_cdecl("fuzz_model_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
  var count = argc
  var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
  return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzModel(data ?? UnsafePointer(bitPattern: 1)!, size) }
}
