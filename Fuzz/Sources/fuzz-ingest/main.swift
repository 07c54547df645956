import CFuzzerDriver
import Foundation
import Reads

/// libFuzzer target: any bytes as a reads export (plain or gzip) through the whole ingest — CSV
/// reader, time-format detection, row checks, de-duplication, misread merging, pseudonymisation.
/// An error is a fine outcome; a crash, a hang, or accounting that does not add up is a finding.
let directory: String = {
  let d = NSTemporaryDirectory() + "anprkit-fuzz-ingest-\(getpid())"
  try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
  try? Data("camera_id,site_id,latitude,longitude\nC1,S1,51.54,0.70\nC2,S1,51.54,0.70\nC3,S3,51.55,0.72\nCAM0007,S7,51.60,0.80\n".utf8)
    .write(to: URL(fileURLWithPath: d + "/cameras.csv"))
  return d
}()
let key = try! Pseudonymiser(keyBytes: Array("0123456789abcdef0123456789abcdef".utf8))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIngest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let reads = directory + "/reads.csv"
  guard FileManager.default.createFile(atPath: reads, contents: Data(bytes: data, count: size)) else { fatalError("cannot write \(reads)") }
  var o = IngestOptions(readsPath: reads, camerasPath: directory + "/cameras.csv")
  o.pseudonymiser = key
  o.maxRejectRate = 1
  o.asOf = 1_800_000_000
  o.timeZone = size % 2 == 0 ? "Europe/London" : nil
  guard let (contents, report) = try? Ingest.run(o) else { return 0 }
  precondition(report.balances, "accounting does not add up: \(report.summaryLine)")
  let n = contents.times.count
  precondition(contents.cameraIndex.count == n && contents.vehicleIndex.count == n && contents.confidence.count == n)
  precondition(contents.vehicleIndex.allSatisfy { Int($0) < contents.vehicles.count })
  precondition(contents.cameraIndex.allSatisfy { Int($0) < contents.cameras.count })
  return 0
}

/// The entry point SwiftPM links as `main`: hands over to libFuzzer's driver.
@_cdecl("fuzz_ingest_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
  var count = argc
  var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
  return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzIngest(data ?? UnsafePointer(bitPattern: 1)!, size) }
}
