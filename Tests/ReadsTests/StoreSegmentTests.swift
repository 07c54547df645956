import Foundation
import Testing
@testable import Reads

/// Segmented stores: an append writes only its batch; the store opened reads as one sorted store, the
/// same as the store written whole; compaction, purge and every crash state leave it readable and
/// never lose or double a read.
@Suite("Store segments")
struct StoreSegmentTests {
  /// Reads of a few plates at cameras C1…C4 from `start`, one every `step` seconds.
  func batch(_ plates: [String], start: Int64, count: Int, step: Int64 = 37) -> String {
    var text = "plate,camera_id,timestamp\n"
    for i in 0..<count { text += "\(plates[i % plates.count]),C\(1 + (i * 7) % 4),\(start + Int64(i) * step)\n" }
    return text
  }

  func contents(_ text: String, vehicles: String? = nil) throws -> StoreContents {
    try ingest(text) { o in
      if let vehicles { o.vehiclesPath = write(vehicles, tempDir(), "vehicles.csv") }
    }.0
  }

  /// Every read of `s` as (time, camera id, vehicle id, confidence), in store order.
  func rows(_ s: ReadStore) -> [String] {
    (0..<s.count).map { i in "\(s.time(i)) \(s.cameras[s.camera(i)].id) \(s.vehicles[s.vehicle(i)].id) \(s.confidence(i) ?? -1)" }
  }

  func files(_ d: URL) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: d.path)) ?? []).sorted() }

  @Test func appendsWriteSegmentsAndReadAsTheWholeStore() throws {
    let d = tempDir()
    let path = d.appendingPathComponent("s.anpr").path
    let day0: Int64 = 1_772_668_800
    let first = try contents(batch(["AB12CDE", "XY12ZZZ"], start: day0, count: 200))
    try StoreWriter.write(first, to: path)
    // Day 2 with a new plate and a repeat of the last stored read (dropped as already in store);
    // day 3 late data (before day 2) with a keeper type learned for a stored plate.
    var second = batch(["AB12CDE", "NEW1ABC"], start: day0 + 86_400, count: 150)
    let last = try ReadStore(path: path)
    let lastRow = last.count - 1
    second += "\(last.vehicles[last.vehicle(lastRow)].id == key.pseudonym(plate: "AB12CDE") ? "AB12CDE" : "XY12ZZZ"),\(last.cameras[last.camera(lastRow)].id),\(last.time(lastRow) + 3)\n"
    let b = try contents(second)
    let (r2, o2) = try StoreUpdate.append(b, to: path, window: 10, bySite: true)
    #expect(o2 == .segment(index: 1, path: path + ".seg-0-0001"))
    #expect(r2.alreadyInStore == 1 && r2.accepted == b.times.count - 1 && r2.balances)
    let c = try contents(batch(["XY12ZZZ", "LATE1AB"], start: day0 + 3_600, count: 80, step: 41),
                         vehicles: "plate,keeper_type\nXY12ZZZ,rental\n")
    let (_, o3) = try StoreUpdate.append(c, to: path, window: 10, bySite: true)
    #expect(o3 == .segment(index: 2, path: path + ".seg-0-0002"))
    #expect(files(d).filter { $0.hasPrefix("s.anpr") } == ["s.anpr", "s.anpr.manifest", "s.anpr.seg-0-0001", "s.anpr.seg-0-0002"])

    // The same batches folded in memory the old way and written as one file.
    var whole = first
    try whole.append(b, window: 10, bySite: true, storePath: path)
    try whole.append(c, window: 10, bySite: true, storePath: path)
    let wholePath = d.appendingPathComponent("whole.anpr").path
    try StoreWriter.write(whole, to: wholePath)
    let segmented = try ReadStore(path: path), reference = try ReadStore(path: wholePath)
    #expect(segmented.segmentPaths.count == 2)
    #expect(rows(segmented) == rows(reference))
    #expect(segmented.vehicles == reference.vehicles && segmented.cameras == reference.cameras)
    #expect(segmented.vehicles.first { $0.id == key.pseudonym(plate: "XY12ZZZ") }?.keeper == .rental)
    #expect(segmented.header.ingests.count == 3 && segmented.header.timeStart == reference.header.timeStart
            && segmented.header.timeEnd == reference.header.timeEnd)
    for v in 0..<segmented.vehicles.count { #expect(Array(segmented.reads(ofVehicle: v)) == Array(reference.reads(ofVehicle: v))) }
    #expect(segmented.reads(from: day0 + 86_400, to: day0 + 2 * 86_400) == reference.reads(from: day0 + 86_400, to: day0 + 2 * 86_400))

    // A segment alone is not a store.
    #expect(performing: { _ = try ReadStore(path: path + ".seg-0-0001") }, throws: { "\($0)".contains("is segment 1 of a segmented store") })

    // Compaction: one file, the next generation, the same reads; the manifest and segments gone.
    #expect(try StoreUpdate.compact(path) == 2)
    #expect(files(d).filter { $0.hasPrefix("s.anpr") } == ["s.anpr"])
    let compacted = try ReadStore(path: path)
    #expect(compacted.generation == 1 && compacted.segmentPaths.isEmpty && compacted.storeID == segmented.storeID)
    #expect(rows(compacted) == rows(reference) && compacted.vehicles == reference.vehicles)
  }

  /// The states a crash can leave, each readable without loss: a segment written but not yet listed
  /// (ignored, then removed by the next writer); a compaction renamed in but its old manifest and
  /// segments not yet removed (ignored: the manifest is of an older generation). A listed segment
  /// missing, or a manifest of another store, is refused, not read as less data.
  @Test func crashStatesAndForeignFilesAreHandled() throws {
    let d = tempDir()
    let path = d.appendingPathComponent("s.anpr").path
    let day0: Int64 = 1_772_668_800
    try StoreWriter.write(try contents(batch(["AB12CDE"], start: day0, count: 50)), to: path)
    _ = try StoreUpdate.append(try contents(batch(["XY12ZZZ"], start: day0 + 86_400, count: 40)), to: path, window: 10, bySite: true)
    let before = rows(try ReadStore(path: path))
    #expect(before.count == 90)

    // An unlisted segment (the append died before its manifest): not read, then replaced.
    let manifest = try Data(contentsOf: URL(fileURLWithPath: path + ".manifest"))
    _ = try StoreUpdate.append(try contents(batch(["NEW1ABC"], start: day0 + 2 * 86_400, count: 30)), to: path, window: 10, bySite: true)
    try manifest.write(to: URL(fileURLWithPath: path + ".manifest"))
    #expect(FileManager.default.fileExists(atPath: path + ".seg-0-0002"))
    #expect(rows(try ReadStore(path: path)) == before)
    _ = try StoreUpdate.append(try contents(batch(["NEW2ABC"], start: day0 + 3 * 86_400, count: 20)), to: path, window: 10, bySite: true)
    let s = try ReadStore(path: path)
    #expect(s.count == 110 && !rows(s).contains { $0.contains(key.pseudonym(plate: "NEW1ABC")!) })

    // A compaction interrupted after its rename: the old manifest and segments are still there.
    let saved = files(d).filter { $0.hasPrefix("s.anpr.") }.map { ($0, try! Data(contentsOf: d.appendingPathComponent($0))) }
    let all = rows(s)
    _ = try StoreUpdate.compact(path)
    for (name, data) in saved { try data.write(to: d.appendingPathComponent(name)) }
    let afterCrash = try ReadStore(path: path)
    #expect(afterCrash.segmentPaths.isEmpty && rows(afterCrash) == all, "a stale manifest is ignored, not read twice")
    _ = try StoreUpdate.append(try contents(batch(["NEW3ABC"], start: day0 + 4 * 86_400, count: 10)), to: path, window: 10, bySite: true)
    #expect(files(d).filter { $0.hasPrefix("s.anpr") } == ["s.anpr", "s.anpr.manifest", "s.anpr.seg-1-0001"])
    #expect(try ReadStore(path: path).count == 120)

    // A listed segment removed: refused, naming it.
    try FileManager.default.removeItem(atPath: path + ".seg-1-0001")
    #expect(performing: { _ = try ReadStore(path: path) }, throws: { "\($0)".contains("seg-1-0001") && "\($0)".contains("missing") })
    // A manifest of another store beside this one: refused.
    let other = d.appendingPathComponent("t.anpr").path
    try StoreWriter.write(try contents(batch(["ZZ99ZZZ"], start: day0, count: 5)), to: other)
    let copied = try String(contentsOfFile: path + ".manifest", encoding: .utf8).replacingOccurrences(of: "s.anpr.seg", with: "t.anpr.seg")
    try copied.write(toFile: other + ".manifest", atomically: false, encoding: .utf8)
    #expect(performing: { _ = try ReadStore(path: other) }, throws: { "\($0)".contains("belongs to another store") })
    // The base removed while its segments remain: a new store by that name is refused.
    try FileManager.default.removeItem(atPath: path)
    #expect(performing: { try StoreUpdate.requireNoOrphans(store: path) }, throws: { "\($0)".contains("base file was removed") })
  }

  /// Past the segment bound an append compacts; a batch of another key is refused and writes nothing.
  @Test func segmentBoundCompactsAndKeysMustMatch() throws {
    let d = tempDir()
    let path = d.appendingPathComponent("s.anpr").path
    let day0: Int64 = 1_772_668_800
    try StoreWriter.write(try contents(batch(["AB12CDE"], start: day0, count: 10)), to: path)
    for k in 1...3 {
      let (_, o) = try StoreUpdate.append(try contents(batch(["XY\(k)2ZZZ"], start: day0 + Int64(k) * 86_400, count: 10)),
                                          to: path, window: 10, bySite: true, maxSegments: 2)
      #expect(o == (k <= 2 ? .segment(index: k, path: path + ".seg-0-000\(k)") : .compacted(segments: 2)))
    }
    let s = try ReadStore(path: path)
    #expect(s.count == 40 && s.generation == 1 && s.header.ingests.count == 4 && s.header.ingests.allSatisfy(\.balances))
    var foreign = try contents(batch(["AB12CDE"], start: day0 + 9 * 86_400, count: 3))
    foreign.keyFingerprint = "0000000000000000"
    #expect(throws: IngestError.keyMismatch(store: path)) { _ = try StoreUpdate.append(foreign, to: path, window: 10, bySite: true) }
    #expect(files(d).filter { $0.hasPrefix("s.anpr") } == ["s.anpr"])
  }

  /// The fast vehicles reader gives what `JSONDecoder` gives for what the writer writes (escapes
  /// included), and declines (nil) anything of another shape rather than misreading it.
  @Test func vehiclesSectionReaderAgreesWithJSONDecoder() throws {
    let vehicles = [
      VehicleRecord(id: "V0123456789abcdef", keeper: .rental, nonstandardPlate: false),
      VehicleRecord(id: "AB\"12\\C/DÉ\u{1}", keeper: .unknown, nonstandardPlate: true),
    ]
    let sortedKeys = JSONEncoder()
    sortedKeys.outputFormatting = [.sortedKeys]
    for bytes in [encodeVehicles(vehicles), encodeVehicles([]), Array(try sortedKeys.encode(vehicles))] {
      let fast = bytes.withUnsafeBytes { decodeVehicles($0) }
      #expect(fast == (try JSONDecoder().decode([VehicleRecord].self, from: Data(bytes))), "\(String(decoding: bytes, as: UTF8.self))")
    }
    for other in [#"[{"keeper":"rental","id":"x","nonstandardPlate":false}]"#, #"[ {"id":"x","keeper":"rental","nonstandardPlate":false}]"#,
                  #"[{"id":"x","keeper":"stolen","nonstandardPlate":false}]"#, #"[{"id":"\ud83d\ude00","keeper":"rental","nonstandardPlate":false}]"#,
                  #"[{"id":"x","keeper":"rental","nonstandardPlate":false}"#] {
      #expect(Array(other.utf8).withUnsafeBytes { decodeVehicles($0) } == nil, "\(other)")
    }
  }
}
