import Foundation
import Testing
@testable import Reads

let faultyReads = """
  read_id,plate,camera_id,timestamp,confidence
  1,AB12CDE,C1,2026-03-05T17:00:00Z,0.9
  2,AB12CDE,C2,2026-03-05T17:00:05Z,95
  3,,C1,2026-03-05T17:00:00Z,1
  4,XY12ZZZ,C9,2026-03-05T17:00:00Z,1
  5,XY12ZZZ,C3,2026-03-05 17:00:00,1
  6,XY12ZZZ,C3,not-a-time,1
  7,XY12ZZZ,C3,2026-03-05T17:00:00Z,250
  8,short
  9,XY12ZZZ,,2026-03-05T17:00:00Z,1

  10,XY12ZZZ,C3,2026-03-05T16:00:00Z,
  11,AB12CDE,C3,2026-03-05T17:05:00Z,
  12,A812CDE,C3,2026-03-05T17:05:04Z,
  13,AB12CDE,C1,2026-03-05T17:00:30Z,
  14,QQ99QQQQQQQQQQQQQQQQ,C1,2026-03-05T17:00:30Z,
  15,A123BCD,C4,2026-03-05T17:06:00Z,

  """

@Suite("Ingest accounting")
struct IngestTests {
  @Test func everyRejectionReasonAndTheIdentity() throws {
    let (c, r, d) = try ingest(faultyReads)
    #expect(r.read == 16)
    #expect(r.balances, "\(r.summaryLine)")
    #expect(r.rejectedByReason == [
      "empty_plate": 1, "unknown_camera": 1, "timestamp_without_zone": 1, "bad_timestamp": 1, "bad_confidence": 1,
      "wrong_column_count": 1, "missing_camera": 1, "empty_line": 1, "plate_too_long": 1,
    ])
    #expect(r.exactDuplicates == 1)  // row 2: same plate, same site S1, 5 s later
    #expect(r.misreadMerges == 1)  // row 12: A812CDE 4 s after AB12CDE at S3
    #expect(r.accepted == 5)
    #expect(r.outOfOrderRows >= 1)
    #expect(c.times == c.times.sorted())
    // Rejects file: header + one line per rejected row, naming line, field and reason.
    let rejects = try String(contentsOfFile: d.appendingPathComponent("rejects.csv").path, encoding: .utf8)
    let lines = rejects.split(separator: "\n")
    #expect(lines.count == 1 + r.rejected)
    #expect(rejects.contains("reads.csv,4,plate,empty plate"))
    #expect(rejects.contains("reads.csv,5,camera_id,unknown camera 'C9'"))
    #expect(rejects.contains("reads.csv,11,-,empty line"))
    // The merge kept the commoner spelling and recorded both (as pseudonyms).
    #expect(c.merges.count == 1)
    #expect(c.merges[0].kept == key.pseudonym(plate: "AB12CDE"))
    #expect(c.merges[0].merged == key.pseudonym(plate: "A812CDE"))
  }

  /// Parsing byte ranges on several threads gives exactly the one-pass result: same reads, vehicles,
  /// merges, accounting and rejects file (line numbers included), also when a range boundary falls
  /// inside a quoted field holding a newline (that case falls back to one pass).
  @Test(arguments: [false, true]) func parallelParseEqualsOnePass(hugeQuotedField: Bool) throws {
    var text = "read_id,plate,camera_id,timestamp,confidence\n"
    var x: UInt64 = 7
    func next(_ n: UInt64) -> UInt64 { x = x &* 6364136223846793005 &+ 1442695040888963407; return (x >> 33) % n }
    let plates = ["AB12CDE", "A812CDE", "XY12ZZZ", "QR51ABC", "GH70OPQ", "GH7OOPQ", "LM19STU"]
    for i in 0..<4000 {
      // With `hugeQuotedField`, row 2000's id is one quoted field of 100 000 lines, so range boundaries
      // fall inside it (and the parse falls back to one pass); without, ranges split cleanly.
      let id = hugeQuotedField && i == 2000 ? "\"" + String(repeating: "x\n", count: 100_000) + "\"" : next(40) == 0 ? "\"note \(i)\nsecond line, with comma\"" : "\(i)"
      let plate = next(60) == 0 ? "" : plates[Int(next(UInt64(plates.count)))]
      let cam = next(80) == 0 ? "C9" : "C\(1 + next(4))"
      let t = next(90) == 0 ? "2026-03-05 17:00:00" : "\(1_772_730_000 + Int(i) * 7 + Int(next(20)))"
      text += next(100) == 0 ? "\"bad\nrow \(i)\",short\n" : "\(id),\(plate),\(cam),\(t),\(next(101))\n"
    }
    func withoutFileColumn(_ csv: String) -> [String] {
      csv.split(separator: "\n").map { line -> String in String(line.drop { $0 != "," }) }
    }
    func run(_ threads: Int) throws -> (StoreContents, IngestReport, String) {
      let (c, r, d) = try ingest(text) { $0.parseThreads = threads; $0.parallelMinimumBytes = 0 }
      return (c, r, try String(contentsOfFile: d.appendingPathComponent("rejects.csv").path, encoding: .utf8))
    }
    let (c1, r1, rej1) = try run(1)
    #expect(r1.rejected > 100 && r1.duplicates > 10 && r1.balances)
    #expect(rej1.contains("bad\nrow"))
    for threads in 2...7 {
      let (c, r, rej) = try run(threads)
      #expect(c.times == c1.times && c.cameraIndex == c1.cameraIndex && c.vehicleIndex == c1.vehicleIndex, "\(threads) threads")
      #expect(c.confidence == c1.confidence && c.vehicles == c1.vehicles && c.merges == c1.merges)
      var rn = r; rn.file = r1.file
      #expect(rn == r1)
      #expect(withoutFileColumn(rej) == withoutFileColumn(rej1))
    }
  }

  @Test func strictStopsAtFirstBadRowNamingFileLineField() throws {
    do {
      _ = try ingest(faultyReads) { $0.strict = true }
      Issue.record("expected strict failure")
    } catch let e as IngestError {
      guard case let .strictRejection(file, line, field, _) = e else { Issue.record("\(e)"); return }
      #expect(file.hasSuffix("reads.csv") && line == 4 && field == "plate")
      #expect("\(e)".contains("reads.csv:4: plate: empty plate"))
    }
  }

  @Test func dedupeWindowIsConfigurable() throws {
    let rows = """
      plate,camera_id,timestamp
      AB12CDE,C1,2026-03-05T17:00:00Z
      AB12CDE,C1,2026-03-05T17:00:08Z
      AB12CDE,C1,2026-03-05T17:00:20Z
      AB12CDE,C2,2026-03-05T17:00:21Z

      """
    let (_, r10, _) = try ingest(rows)
    #expect(r10.accepted == 2 && r10.duplicates == 2)  // 17:00:08 within 10 s; C2 is the same site
    let (_, r5, _) = try ingest(rows) { $0.dedupeWindow = 5 }
    #expect(r5.accepted == 3)
    let (_, rc, _) = try ingest(rows) { $0.dedupeBySite = false }
    #expect(rc.accepted == 3)  // C2 is a different camera
    let (_, r0, _) = try ingest(rows) { $0.dedupeWindow = 0 }
    #expect(r0.accepted == 4)
  }

  @Test func outOfOrderRowsAreSortedNotLost() throws {
    let rows = """
      plate,camera_id,timestamp
      AB12CDE,C3,2026-03-05T18:00:00Z
      AB12CDE,C1,2026-03-05T17:00:00Z
      XY12ZZZ,C1,2026-03-05T17:30:00Z

      """
    let (c, r, _) = try ingest(rows)
    #expect(r.accepted == 3 && r.outOfOrderRows == 2)
    #expect(c.times == c.times.sorted())
  }

  @Test func columnMappingAndErrors() throws {
    let rows = "VRM,CameraID,ReadTime\nAB12CDE,C1,2026-03-05T17:00:00Z\n"
    let (_, r, _) = try ingest(rows) {
      $0.columns = try! ColumnMapping(parsing: "plate=VRM,camera_id=CameraID,timestamp=ReadTime")
    }
    #expect(r.accepted == 1)
    let e = #expect(throws: IngestError.self) { try ingest(rows) }
    #expect("\(e!)".contains("reads.csv:1: required column 'plate' not in header [VRM,CameraID,ReadTime]; map it with --columns plate="))
    #expect(throws: IngestError.self) { try ColumnMapping(parsing: "plate") }
    #expect(throws: IngestError.self) { try ColumnMapping(parsing: "nonsense=X") }
  }

  @Test func gzipInput() throws {
    let d = tempDir()
    let plain = write("plate,camera_id,timestamp\nAB12CDE,C1,2026-03-05T17:00:00Z\nXY12ZZZ,C3,1772730000\n", d, "r.csv")
    let gz = Process()
    gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
    gz.arguments = ["-k", plain]
    try gz.run(); gz.waitUntilExit()
    var o = IngestOptions(readsPath: plain + ".gz", camerasPath: write(camerasCSV, d, "c.csv"))
    o.pseudonymiser = key
    let (_, r) = try Ingest.run(o)
    #expect(r.read == 2 && r.accepted == 2)
  }

  /// A gzip export cut short anywhere is an error naming the offset (zlib alone ends it as if complete);
  /// `allowTruncated` keeps the rows read and says so. A CR-only or empty file is an error, not "read 0".
  @Test func truncatedGzipEmptyAndCROnlyInputsAreRefused() throws {
    let d = tempDir()
    var text = "plate,camera_id,timestamp\n"
    for i in 0..<20_000 { text += "AB\(i % 97)CDE,C\(1 + i % 3),\(1_772_730_000 + i * 7)\n" }
    let plain = write(text, d, "r.csv")
    let gz = Process()
    gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
    gz.arguments = ["-k", plain]
    try gz.run(); gz.waitUntilExit()
    let whole = try Data(contentsOf: URL(fileURLWithPath: plain + ".gz"))
    let cams = write(camerasCSV, d, "c.csv")
    for cut in [whole.count / 3, whole.count / 2, whole.count - 9, whole.count - 1] {
      let path = d.appendingPathComponent("cut-\(cut).csv.gz").path
      FileManager.default.createFile(atPath: path, contents: whole.prefix(cut))
      var o = IngestOptions(readsPath: path, camerasPath: cams)
      o.pseudonymiser = key
      #expect(performing: { _ = try Ingest.run(o) }, throws: { e in "\(e)".contains("cut short") && "\(e)".contains("--allow-truncated") })
      o.allowTruncated = true
      let (_, r) = try Ingest.run(o)
      #expect(r.truncatedInput == true && r.read <= 20_000 && r.balances, "cut at \(cut): \(r.summaryLine)")
    }
    var o = IngestOptions(readsPath: plain + ".gz", camerasPath: cams)
    o.pseudonymiser = key
    let (_, r) = try Ingest.run(o)
    #expect(r.read == 20_000 && r.truncatedInput == nil)
    for (name, bytes) in [("cr.csv", "plate,camera_id,timestamp\rAB12CDE,C1,1772730000\r"), ("empty.csv", "")] {
      var e = IngestOptions(readsPath: write(bytes, d, name), camerasPath: cams)
      e.pseudonymiser = key
      #expect(performing: { _ = try Ingest.run(e) }, throws: { err in "\(err)".contains(name == "cr.csv" ? "carriage return" : "empty") })
    }
  }

  /// Every gzip member is read (`cat a.gz b.gz`), and bytes after the last member that are not gzip
  /// (zlib's `gzread` ignored them, losing the rows) are an error naming the offset. A damaged member
  /// (its CRC-32 trailer wrong) is refused, not read as complete.
  @Test func everyGzipMemberIsReadAndTrailingDataIsRefused() throws {
    let d = tempDir()
    func gzip(_ text: String, _ name: String) throws -> Data {
      let plain = write(text, d, name)
      let gz = Process()
      gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
      gz.arguments = ["-kf", plain]
      try gz.run(); gz.waitUntilExit()
      return try Data(contentsOf: URL(fileURLWithPath: plain + ".gz"))
    }
    let first = try gzip("plate,camera_id,timestamp\nAB12CDE,C1,1772730000\n", "a.csv")
    let second = try gzip("XY12CDE,C2,1772730060\n", "b.csv")
    let cams = write(camerasCSV, d, "c.csv")
    func run(_ bytes: Data, _ name: String, allowTruncated: Bool = false) throws -> IngestReport {
      let path = d.appendingPathComponent(name).path
      FileManager.default.createFile(atPath: path, contents: bytes)
      var o = IngestOptions(readsPath: path, camerasPath: cams)
      o.pseudonymiser = key
      o.allowTruncated = allowTruncated
      return try Ingest.run(o).1
    }
    #expect(try run(first + second, "two-members.csv.gz").read == 2)
    let trailing = first + Data("XY12CDE,C2,1772730060\n".utf8)
    #expect(performing: { _ = try run(trailing, "trailing.csv.gz") },
            throws: { e in "\(e)".contains("data after the end of its gzip stream at compressed byte \(first.count)") })
    let kept = try run(trailing, "trailing.csv.gz", allowTruncated: true)
    #expect(kept.read == 1 && kept.truncatedInput == true)
    var damaged = first
    damaged[damaged.count - 6] ^= 0xFF  // inside the CRC-32 trailer
    #expect(performing: { _ = try run(damaged, "damaged.csv.gz") }, throws: { e in "\(e)".contains("damaged") })
  }

  /// Rows past retention are dropped on purpose: they never make the ingest fail the reject-rate test.
  @Test func retentionDropsAreNotFailures() throws {
    var text = "plate,camera_id,timestamp\n"
    for i in 0..<10 { text += "AB\(i)CDE,C1,\(1_772_323_200 - (i < 8 ? 90 : 1) * 86400 + i * 60)\n" }
    let (_, r, _) = try ingest(text) { o in o.retainDays = 30; o.asOf = 1_772_323_200; o.maxRejectRate = 0.5 }
    #expect(r.rejectedByReason == ["outside_retention": 8] && r.accepted == 2)
  }

  @Test func retentionDropsOldReadsAndCountsThem() throws {
    let rows = """
      plate,camera_id,timestamp
      AB12CDE,C1,2026-01-01T00:00:00Z
      AB12CDE,C1,2026-03-01T00:00:00Z

      """
    let (_, r, d) = try ingest(rows) {
      $0.retainDays = 30
      $0.asOf = 1_772_323_200 + 86400  // 2026-03-02
    }
    #expect(r.accepted == 1 && r.rejectedByReason["outside_retention"] == 1 && r.balances)
    // The expired row's content is not copied into the rejects file.
    let rejects = try String(contentsOfFile: d.appendingPathComponent("rejects.csv").path, encoding: .utf8)
    #expect(!rejects.contains("AB12CDE"))
  }

  @Test func badCameraRegistryIsFatalAndNamesLineAndField() throws {
    let d = tempDir()
    let p = write("camera_id,latitude,longitude\nC1,51.5,0.7\nC2,north,0.7\n", d, "c.csv")
    #expect(throws: IngestError.badRegistry(file: p, line: 3, field: "latitude", reason: "'north' is not a number in -90.0...90.0")) {
      try loadCameras(path: p)
    }
  }

  @Test func vehiclesKeeperTypes() throws {
    let d = tempDir()
    var o = IngestOptions(
      readsPath: write("plate,camera_id,timestamp\nAB12CDE,C1,2026-03-05T17:00:00Z\n", d, "r.csv"),
      camerasPath: write(camerasCSV, d, "c.csv"))
    o.vehiclesPath = write("plate,keeper_type,make,colour\nab12 cde,rental,Ford,blue\n", d, "v.csv")
    o.pseudonymiser = key
    let (c, _) = try Ingest.run(o)
    #expect(c.vehicles.map(\.keeper) == [.rental])
    let bad = write("plate,keeper_type\nAB12CDE,stolen\n", d, "v2.csv")
    #expect(throws: IngestError.self) { try loadVehicles(path: bad) }
  }
}

@Suite("Store")
struct StoreTests {
  @Test func roundTripAndNoRawPlates() throws {
    let (c, _, d) = try ingest(faultyReads)
    let path = d.appendingPathComponent("s.anpr").path
    try StoreWriter.write(c, to: path)
    let s = try ReadStore(path: path)
    #expect(s.count == c.times.count)
    #expect((0..<s.count).map(s.time) == c.times)
    #expect((0..<s.count).map(s.vehicle).map { s.vehicles[$0].id } == c.vehicleIndex.map { c.vehicles[Int($0)].id })
    #expect(s.isPseudonymised && s.header.keyFingerprint == key.fingerprint)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    for plate in ["AB12CDE", "A812CDE", "XY12ZZZ", "A123BCD"] {
      #expect(bytes.range(of: Data(plate.utf8)) == nil, "raw plate \(plate) found in the store")
    }
    // 11 bytes per read in the columns.
    let columns = s.header.sections.filter { ["time", "camera", "vehicle", "confidence"].contains($0.name) }
    #expect(columns.map(\.length).reduce(0, +) == 11 * s.count)
    // Per-vehicle index and time-range lookups.
    for v in 0..<s.vehicles.count {
      let rs = s.reads(ofVehicle: v).map(Int.init)
      #expect(rs.allSatisfy { s.vehicle($0) == v })
      #expect(rs == rs.sorted())
    }
    #expect(s.reads(ofVehicle: 0).count + (1..<s.vehicles.count).map { s.reads(ofVehicle: $0).count }.reduce(0, +) == s.count)
    let range = s.reads(from: c.times[1], to: c.times[3])
    #expect(range.allSatisfy { s.time($0) >= c.times[1] && s.time($0) < c.times[3] })
  }

  @Test func rawPlatesOnlyWhenAsked() throws {
    let (c, _, d) = try ingest("plate,camera_id,timestamp\nab12cde,C1,2026-03-05T17:00:00Z\n") { $0.pseudonymiser = nil }
    let path = d.appendingPathComponent("raw.anpr").path
    try StoreWriter.write(c, to: path)
    let s = try ReadStore(path: path)
    #expect(!s.isPseudonymised && s.vehicles[0].id == "AB12CDE")
  }

  @Test func corruptTruncatedAndFutureStoresAreRefused() throws {
    let (c, _, d) = try ingest(faultyReads)
    let path = d.appendingPathComponent("s.anpr").path
    try StoreWriter.write(c, to: path)
    let good = try Data(contentsOf: URL(fileURLWithPath: path))
    func refused(_ data: Data, _ needle: String) {
      let p = d.appendingPathComponent("bad-\(UUID()).anpr").path
      FileManager.default.createFile(atPath: p, contents: data)
      do { _ = try ReadStore(path: p); Issue.record("accepted a bad store (\(needle))") } catch {
        #expect("\(error)".contains(needle), "\(error)")
        #expect("\(error)".contains(p))
      }
    }
    refused(good.prefix(good.count - 3), "truncated")
    var flipped = good
    flipped[flipped.count - 2] ^= 0xFF
    refused(flipped, "checksum")
    var future = good
    future[8] = 9
    refused(future, "newer")
    refused(Data("plate,camera\n".utf8), "not an ANPRKit store")
    refused(Data(), "not an ANPRKit store")
    // The header is checksummed: any edit is refused (one edit of baseTime shifted every timestamp).
    let text = String(decoding: good, as: UTF8.self)
    let base = try #require(text.range(of: "\"baseTime\":"))
    var edited = good
    let at = good.startIndex + text.utf8.distance(from: text.startIndex, to: base.upperBound)
    edited[at] = edited[at] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
    refused(edited, "checksum mismatch in the header")
    // Crafted numbers with a valid checksum are range-checked, not used (19 digits crashed before).
    let hlen = Int(good[12]) | Int(good[13]) << 8 | Int(good[14]) << 16 | Int(good[15]) << 24
    var header = String(decoding: good[20..<(20 + hlen)], as: UTF8.self)
    let count = try #require(header.range(of: #""readCount":\d+"#, options: .regularExpression))
    header.replaceSubrange(count, with: "\"readCount\":9223372036854775807")
    #expect(header.hasSuffix("   "), "the header is padded with spaces")
    header.removeLast(max(0, header.utf8.count - hlen))
    var crafted = Data(good[0..<20]) + Data(header.utf8)
    crafted.append(good[(20 + hlen)...])
    let crc = crc32(Array(crafted[20..<(20 + hlen)]))
    for k in 0..<4 { crafted[16 + k] = UInt8((crc >> (8 * UInt32(k))) & 0xFF) }
    refused(crafted, "out of range")
  }

  /// CRC-32 (IEEE, as zlib), for crafting test stores.
  func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
      c ^= UInt32(b)
      for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
    }
    return ~c
  }

  @Test func appendMergesAndKeepsAccounting() throws {
    let first = """
      plate,camera_id,timestamp
      AB12CDE,C1,2026-03-05T17:00:00Z
      XY12ZZZ,C3,2026-03-05T17:10:00Z

      """
    let second = """
      plate,camera_id,timestamp
      AB12CDE,C1,2026-03-05T17:00:04Z
      AB12CDE,C3,2026-03-06T09:00:00Z
      NEW1ABC,C1,2026-03-06T09:00:00Z

      """
    var (a, _, d) = try ingest(first)
    let (b, rb, _) = try ingest(second)
    #expect(rb.accepted == 3)
    try a.append(b, window: 10, bySite: true, storePath: "s.anpr")
    let last = a.ingests.last!
    #expect(last.accepted == 2 && last.alreadyInStore == 1 && last.balances)
    #expect(a.times.count == 4 && a.vehicles.count == 3)
    let path = d.appendingPathComponent("s.anpr").path
    try StoreWriter.write(a, to: path)
    let s = try ReadStore(path: path)
    #expect(s.header.ingests.count == 2)
    #expect(s.reads(ofVehicle: 0).count == 2)
    // A different key cannot be appended.
    var other = b
    other.keyFingerprint = "0000000000000000"
    #expect(throws: IngestError.keyMismatch(store: "s.anpr")) { try a.append(other, window: 10, bySite: true, storePath: "s.anpr") }
  }

  @Test func purgeDropsOldReadsAndOrphanVehicles() throws {
    var (c, _, _) = try ingest("""
      plate,camera_id,timestamp
      AB12CDE,C1,2026-01-01T00:00:00Z
      XY12ZZZ,C1,2026-03-01T00:00:00Z

      """)
    let removed = c.purge(before: 1_770_000_000)
    #expect(removed == 1 && c.vehicles.count == 1 && c.vehicleIndex == [0])
  }
}

@Suite("Trips and quality")
struct TripQualityTests {
  @Test func tripsSplitAtTheGapWithStops() throws {
    let (c, _, d) = try ingest("""
      plate,camera_id,timestamp
      AB12CDE,C1,2026-03-05T17:00:00Z
      AB12CDE,C3,2026-03-05T17:05:00Z
      AB12CDE,C1,2026-03-05T17:25:00Z
      AB12CDE,C3,2026-03-05T19:00:00Z

      """)
    let path = d.appendingPathComponent("s.anpr").path
    try StoreWriter.write(c, to: path)
    let s = try ReadStore(path: path)
    let trips = s.trips(ofVehicle: 0)
    #expect(trips.count == 2)
    #expect(trips[0].reads.count == 3 && trips[0].duration == 1500)
    #expect(trips[0].entrySite == s.cameraSite[0] && trips[0].exitSite == s.cameraSite[0])
    #expect(trips[0].stops(minimum: 600).map(\.seconds) == [1200])
    #expect(s.trips(ofVehicle: 0, gap: 7200).count == 1)
  }

  @Test func impossibleTravelAndSilentCameraAreFlagged() throws {
    // C4 is ~50 km from C1: one minute apart is impossible.
    let (c, _, d) = try ingest("""
      plate,camera_id,timestamp
      AB12CDE,C1,2026-03-05T17:00:00Z
      AB12CDE,C4,2026-03-05T17:01:00Z
      XY12ZZZ,C3,2026-03-07T17:00:00Z

      """)
    let path = d.appendingPathComponent("s.anpr").path
    try StoreWriter.write(c, to: path)
    let q = try ReadStore(path: path).quality()
    #expect(q.impossibleTravelCount == 1)
    #expect(q.impossibleTravel.first?.kmh ?? 0 > 1000)
    // Two sites read at the same second: no finite speed, and the report still encodes as JSON.
    let (c2, _, d2) = try ingest("plate,camera_id,timestamp\nAB12CDE,C1,2026-03-05T17:00:00Z\nAB12CDE,C4,2026-03-05T17:00:00Z\n")
    try StoreWriter.write(c2, to: d2.appendingPathComponent("s.anpr").path)
    let q2 = try ReadStore(path: d2.appendingPathComponent("s.anpr").path).quality()
    #expect(q2.impossibleTravelCount == 1 && q2.impossibleTravel[0].kmh == nil)
    _ = try JSONEncoder().encode(q2)
    #expect(q.silentCameras.contains { $0.camera == "C2" })
  }
}

/// Clock drift on a hand-built network: 8 cameras, every pair driven both ways 20 times. C0's clock
/// runs 60 s ahead; the routes into and out of C5 differ by up to ±30 s (a one-way system), which the
/// old rule (median over neighbours ≥ 20 s) could not tell from a skew. Only C0 is flagged, with an
/// interval that holds its true offset, and its neighbours are not dragged along.
@Suite("Clock drift")
struct ClockDriftTests {
  @Test func onlyTheSkewedCameraIsFlaggedWithAnIntervalHoldingItsOffset() throws {
    let n = 8
    var cams = "camera_id,site_id,latitude,longitude\n"
    for i in 0..<n { cams += "K\(i),S\(i),\(51.5 + Double(i) * 0.01),\(0.6 + Double(i % 3) * 0.01)\n" }
    var reads = "plate,camera_id,timestamp\n"
    var x: UInt64 = 11
    func noise() -> Int { x = x &* 6364136223846793005 &+ 1442695040888963407; return Int((x >> 33) % 41) - 20 }
    let skew = [0: 60]
    var t = 1_772_668_800, plate = 0
    for a in 0..<n {
      for b in 0..<n where b != a {
        // Route asymmetry at C5: the way in is longer than the way out by a pair-specific amount.
        let asym = a == 5 || b == 5 ? ((a * 7 + b * 3) % 7 - 3) * 10 : 0
        let tau = 200 + 37 * abs(a - b) + (b == 5 ? asym : a == 5 ? -asym : 0)
        for _ in 0..<20 {
          let ta = t + (skew[a] ?? 0), tb = t + tau + noise() + (skew[b] ?? 0)
          reads += "P\(plate)X,K\(a),\(ta)\nP\(plate)X,K\(b),\(tb)\n"
          plate += 1; t += 3600
        }
      }
    }
    let d = tempDir()
    var o = IngestOptions(readsPath: write(reads, d, "reads.csv"), camerasPath: write(cams, d, "cams.csv"))
    o.pseudonymiser = key
    let (c, _) = try Ingest.run(o)
    let path = d.appendingPathComponent("s.anpr").path
    try StoreWriter.write(c, to: path)
    let q = try ReadStore(path: path).quality()
    #expect(q.clockDrift.map(\.camera) == ["K0"], "\(q.clockDrift)")
    let k0 = try #require(q.clockDrift.first)
    #expect(k0.ciLowSeconds <= 60 && 60 <= k0.ciHighSeconds && abs(k0.estimatedOffsetSeconds - 60) < 10, "\(k0)")
    #expect(k0.neighbours == n - 1)
  }

  /// Student-t quantiles against scipy.stats.t.ppf(0.975, df) (scipy 1.x; the values printed by
  /// `python3 -c "from scipy.stats import t; print([t.ppf(0.975, d) for d in (3, 4, 5, 8, 10, 20, 50)])"`).
  @Test func studentTQuantilesMatchScipy() {
    let scipy: [(Double, Double)] = [(3, 3.1824463052837078), (4, 2.7764451051977934), (5, 2.5705818356363146), (8, 2.306004135204166),
                                     (10, 2.228138851986274), (20, 2.085963447265864), (50, 2.008559112100761)]
    for (df, q) in scipy { #expect(abs(StudentT.quantile(0.975, degrees: df) - q) < 1e-9, "df \(df)") }
    #expect(abs(StudentT.cdf(0, degrees: 7) - 0.5) < 1e-15)
  }
}

@Suite("Store sections")
struct StoreSectionTests {
  /// The hand-written vehicles JSON decodes to the same records, whatever the id holds.
  @Test func vehiclesJSONRoundTrips() throws {
    let vehicles = [
      VehicleRecord(id: "V0123456789abcdef", keeper: .rental, nonstandardPlate: false),
      VehicleRecord(id: "AB12CDE", keeper: .private, nonstandardPlate: true),
      VehicleRecord(id: "q\"uo\\te\n\u{1}é", keeper: .unknown, nonstandardPlate: false),
    ]
    #expect(try JSONDecoder().decode([VehicleRecord].self, from: Data(encodeVehicles(vehicles))) == vehicles)
    #expect(try JSONDecoder().decode([VehicleRecord].self, from: Data(encodeVehicles([]))) == [])
  }
}
