import CFuzzerDriver
import Foundation
import Reads

/// libFuzzer target: any bytes as a store file. Opening must refuse it with a message or give a store
/// whose every read, vehicle index and summary can be used without a crash.
let path: String = {
  let d = NSTemporaryDirectory() + "anprkit-fuzz-store-\(getpid())"
  try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
  return d + "/s.anpr"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStore(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { fatalError("cannot write \(path)") }
  guard let store = try? ReadStore(path: path) else { return 0 }
  var previous = Int64.min
  for i in 0..<store.count {
    let t = store.time(i)
    precondition(t >= previous, "reads out of time order")
    previous = t
    _ = store.cameras[store.camera(i)]
    _ = store.sites[store.site(i)]
    _ = store.vehicles[store.vehicle(i)]
    _ = store.confidence(i)
  }
  var total = 0
  for v in 0..<store.vehicles.count { total += store.reads(ofVehicle: v).count }
  precondition(total == store.count, "vehicle index covers \(total) of \(store.count) reads")
  if let a = store.header.timeStart, let b = store.header.timeEnd { _ = store.reads(from: a, to: b + 1) }
  _ = store.summary()
  _ = store.contents()
  return 0
}

/// The entry point SwiftPM links as `main`: hands over to libFuzzer's driver.
@_cdecl("fuzz_store_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
  var count = argc
  var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
  return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzStore(data ?? UnsafePointer(bitPattern: 1)!, size) }
}
