import Foundation
import Testing
@testable import Reads

/// Reading times as exports write them: patterns, local times across both 2026 UK clock changes,
/// detection, and ingest outcomes that match the facts.
@Suite("Time formats and local time")
struct TimeReadingTests {
  func utc(_ s: String) -> Double { try! Timestamp.parse(s).get() }

  @Test(arguments: [
    ("%d/%m/%Y %H:%M:%S", "02/03/2026 05:02:08", "2026-03-02T05:02:08Z"),
    ("%d/%m/%Y %H:%M", "2/3/2026 5:02", "2026-03-02T05:02:00Z"),
    ("%m/%d/%Y %I:%M:%S %p", "03/02/2026 05:02:08 PM", "2026-03-02T17:02:08Z"),
    ("%m/%d/%Y %I:%M %p", "03/02/2026 12:02 am", "2026-03-02T00:02:00Z"),
    ("%d-%b-%Y %H:%M:%S", "02-MAR-2026 05:02:08", "2026-03-02T05:02:08Z"),
    ("%d %B %Y %T", "2 march 2026 05:02:08", "2026-03-02T05:02:08Z"),
    ("%F %T %z", "2026-03-02 06:02:08 +01:00", "2026-03-02T05:02:08Z"),
    ("%Y%m%d %H%M%S", "20260302 050208", "2026-03-02T05:02:08Z"),
    ("%d/%m/%y %H:%M:%S", "02/03/26 05:02:08.250", "2026-03-02T05:02:08Z"),
    ("%d/%m/%Y %H:%M:%S.%f", "02/03/2026 05:02:08.250", "2026-03-02T05:02:08Z"),
    ("%d/%m/%Y %H:%M:%S,%f %z", "02/03/2026 06:02:08,5 +0100", "2026-03-02T05:02:08Z"),
  ])
  func patternsParse(pattern: String, text: String, expected: String) throws {
    var r = try TimeReader(TimeReading(format: .pattern(try TimePattern(pattern)), zone: "UTC"))
    let v = try r.read(text).get()
    #expect(v.rounded(.down) == utc(expected), "\(pattern) on \(text)")
  }

  @Test func partialZonesAreRefused() throws {
    var r = try TimeReader(TimeReading(format: .pattern(try TimePattern("%F %T %z"))))
    #expect(throws: Timestamp.Problem.malformed) { try r.read("2026-03-02 06:02:08 +011").get() }
    #expect(throws: Timestamp.Problem.malformed) { try r.read("2026-03-02 06:02:08 +01:").get() }
    #expect(try r.read("2026-03-02 06:02:08 +01").get() == utc("2026-03-02T05:02:08Z"))
  }

  @Test func badPatternsAndTimesAreRefused() throws {
    #expect(throws: TimePattern.Problem.self) { try TimePattern("%d/%m %H:%M") }  // no year
    #expect(throws: TimePattern.Problem.self) { try TimePattern("%Y-%m-%d %Q") }
    #expect(throws: TimePattern.Problem.self) { try TimePattern("%Y-%m-%d %I:%M") }  // 12-hour without %p
    var r = try TimeReader(TimeReading(format: .pattern(try TimePattern("%d/%m/%Y %H:%M:%S")), zone: "UTC"))
    #expect(throws: Timestamp.Problem.outOfRange) { try r.read("31/02/2026 05:02:08").get() }
    #expect(throws: Timestamp.Problem.malformed) { try r.read("2026-03-02 05:02:08").get() }
    #expect(throws: Timestamp.Problem.malformed) { try r.read("02/03/2026 05:02:08 extra").get() }
    #expect(throws: Timestamp.Problem.empty) { try r.read("").get() }
    var ms = try TimeReader(TimeReading(format: .epochMilliseconds))
    #expect(try ms.read("1772730131250").get() == 1_772_730_131.25)
    #expect(throws: Timestamp.Problem.malformed) { try ms.read("17727x").get() }
  }

  /// Europe/London 2026: clocks go forward at 01:00 GMT on 29 March (local 01:00–02:00 never
  /// happens) and back at 01:00 GMT on 25 October (local 01:00–02:00 happens twice).
  @Test func ukClockChangesOf2026() throws {
    let uk = TimeReading(format: .pattern(try TimePattern("%d/%m/%Y %H:%M:%S")), zone: "Europe/London")
    var r = try TimeReader(uk)
    let cases: [(String, String?)] = [
      ("28/03/2026 23:59:00", "2026-03-28T23:59:00Z"), ("29/03/2026 00:59:59", "2026-03-29T00:59:59Z"),
      ("29/03/2026 01:00:00", nil), ("29/03/2026 01:59:59", nil), ("29/03/2026 02:00:00", "2026-03-29T01:00:00Z"),
      ("24/10/2026 12:00:00", "2026-10-24T11:00:00Z"), ("25/10/2026 00:59:59", "2026-10-24T23:59:59Z"),
      ("25/10/2026 02:00:00", "2026-10-25T02:00:00Z"), ("13/11/2026 05:02:08", "2026-11-13T05:02:08Z"),
    ]
    for (text, expected) in cases {
      if let expected { #expect(try r.read(text).get() == utc(expected), "\(text)") }
      else { #expect(throws: Timestamp.Problem.nonexistentLocalTime) { try r.read(text).get() } }
    }
    #expect(throws: Timestamp.Problem.ambiguousLocalTime) { try r.read("25/10/2026 01:30:00").get() }
    var first = try TimeReader(TimeReading(format: uk.format, zone: uk.zone, ambiguous: .first))
    var second = try TimeReader(TimeReading(format: uk.format, zone: uk.zone, ambiguous: .second))
    #expect(try first.read("25/10/2026 01:30:00").get() == utc("2026-10-25T00:30:00Z"))
    #expect(try second.read("25/10/2026 01:30:00").get() == utc("2026-10-25T01:30:00Z"))
    // A time with its own zone keeps it whatever --timezone says.
    var iso = try TimeReader(TimeReading(format: .iso8601, zone: "America/New_York"))
    #expect(try iso.read("2026-07-01T12:00:00+01:00").get() == utc("2026-07-01T11:00:00Z"))
    #expect(try iso.read("2026-07-01 12:00:00").get() == utc("2026-07-01T16:00:00Z"))
    #expect(throws: Timestamp.Problem.nonexistentLocalTime) { try iso.read("2026-03-08 02:30:00").get() }
  }

  /// The per-hour cache gives the same instants as resolving every time afresh, minute by minute
  /// through both changes (against Foundation's own conversion as the reference).
  @Test func cachedReaderAgreesWithFoundationAcrossAYear() throws {
    var r = try TimeReader(TimeReading(format: .iso8601, zone: "Europe/London", ambiguous: .first))
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_GB_POSIX")
    f.timeZone = TimeZone(identifier: "Europe/London")
    f.dateFormat = "yyyy-MM-dd HH:mm:ss"
    var t = Int64(utc("2026-03-28T22:00:00Z"))
    var checked = 0
    while t < Int64(utc("2026-10-26T04:00:00Z")) {
      let text = f.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
      let back = try r.read(text).get()
      // In the repeated hour `first` gives the summer-time instant: an hour early for the second pass.
      let repeated = t >= Int64(utc("2026-10-25T01:00:00Z")) && t < Int64(utc("2026-10-25T02:00:00Z"))
      #expect(Int64(back) == (repeated ? t - 3600 : t), "\(text)")
      checked += 1
      t += t < Int64(utc("2026-03-30T00:00:00Z")) || t > Int64(utc("2026-10-24T20:00:00Z")) ? 60 : 86400 + 61
    }
    #expect(checked > 3000)
  }

  @Test func detectionFindsTheCommonForms() throws {
    let uk = TimeFormatDetection.detect(["02/03/2026 05:02:08", "13/03/2026 05:02:08", "14/03/2026 23:00:00"])
    #expect(uk.format == .pattern(try TimePattern("%d/%m/%Y %H:%M:%S")))
    #expect(uk.zoneless == 3 && uk.alsoFits == nil)
    let us = TimeFormatDetection.detect(["03/02/2026 05:02 PM", "03/13/2026 05:02 AM"])
    #expect(us.format == .pattern(try TimePattern("%m/%d/%Y %I:%M %p")))
    let both = TimeFormatDetection.detect(["02/03/2026 05:02:08", "04/03/2026 05:02:08"])
    #expect(both.alsoFits != nil, "day-first and month-first both fit: a tie is reported, not guessed")
    #expect(TimeFormatDetection.detect(["2026-03-02T05:02:08Z", "1772730131"]).format == .iso8601)
    let local = TimeFormatDetection.detect(["2026-03-02 05:02:08", "2026-03-02 05:02:09"])
    #expect(local.format == .iso8601 && local.zoneless == 2)
    #expect(TimeFormatDetection.detect(["1772730131250", "1772730131999"]).format == .epochMilliseconds)
    #expect(TimeFormatDetection.detect(["yesterday", "soon"]).format == nil)
  }
}

@Suite("UK exports and ingest outcomes")
struct UKExportTests {
  /// A back-office export (`VRM,CameraID,ReadTime,Confidence`, UK local time, day-first) spanning both
  /// 2026 clock changes: reads every 10 minutes written on the local clock, plus three rows the clock
  /// cannot have written (in the spring gap). Exactly the repeated autumn hour's 12 rows and the 3 gap
  /// rows are rejected, each with its own reason, and every accepted read is at its true instant.
  @Test func localTimesAcrossBothClockChanges() throws {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_GB_POSIX")
    f.timeZone = TimeZone(identifier: "Europe/London")
    f.dateFormat = "dd/MM/yyyy HH:mm:ss"
    var text = "VRM,CameraID,ReadTime,Confidence\n"
    var truth: [Int64] = []
    var n = 0
    for (from, to) in [("2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z"), ("2026-10-24T12:00:00Z", "2026-10-25T12:00:00Z")] {
      var t = Int64(try Timestamp.parse(from).get())
      while t < Int64(try Timestamp.parse(to).get()) {
        text += "AB\(n % 100)C \(String(UnicodeScalar(UInt8(65 + n / 100 % 26))))XY,C\(1 + n % 3),\(f.string(from: Date(timeIntervalSince1970: TimeInterval(t)))),0.9\n"
        truth.append(t); t += 600; n += 1
      }
    }
    for m in ["01:00:00", "01:20:00", "01:50:00"] { text += "ZZ\(m.prefix(2))ZZZ,C3,29/03/2026 \(m),0.9\n" }
    let total = n + 3
    let (c, r, d) = try ingest(text) { o in
      o.columns = try! ColumnMapping(parsing: "plate=VRM,camera_id=CameraID,timestamp=ReadTime,confidence=Confidence")
      o.timeZone = "Europe/London"
      o.maxRejectRate = 0.5
    }
    #expect(r.read == total)
    #expect(r.rejectedByReason == ["ambiguous_local_time": 12, "nonexistent_local_time": 3])
    #expect(r.accepted + r.duplicates == total - 15)
    #expect(r.timeFormatDetected == true)
    #expect(r.timeReading?.contains("%d/%m/%Y %H:%M:%S") == true)
    let repeated = Int64(try Timestamp.parse("2026-10-25T00:00:00Z").get())..<Int64(try Timestamp.parse("2026-10-25T02:00:00Z").get())
    let expected = truth.filter { !repeated.contains($0) }.sorted()
    #expect(c.times == expected)
    let rejects = try String(contentsOfFile: d.appendingPathComponent("rejects.csv").path, encoding: .utf8)
    #expect(rejects.contains("repeated autumn hour") && rejects.contains("spring-forward gap"))
    // Choosing the summer-time instant keeps the 12 rows; the ones written on the second pass land an hour early.
    let (c2, r2, _) = try ingest(text) { o in
      o.columns = try! ColumnMapping(parsing: "plate=VRM,camera_id=CameraID,timestamp=ReadTime")
      o.timeZone = "Europe/London"; o.ambiguousTime = .first
    }
    #expect(r2.rejectedByReason == ["nonexistent_local_time": 3])
    #expect(c2.times.count == c.times.count + 12)
  }

  @Test func zoneLessTimesWithoutATimeZoneFailBeforeIngest() throws {
    let text = "plate,camera_id,timestamp\nAB12CDE,C1,02/03/2026 05:02:08\nAB12CDF,C1,13/03/2026 05:02:08\n"
    do {
      _ = try ingest(text)
      Issue.record("expected an error")
    } catch let e as IngestError {
      guard case .noTimeZone = e else { Issue.record("\(e)"); return }
      #expect(e.description.contains("--timezone"))
    }
    let ambiguous = "plate,camera_id,timestamp\nAB12CDE,C1,02/03/2026 05:02:08\nAB12CDF,C1,04/03/2026 05:02:08\n"
    #expect { _ = try ingest(ambiguous) } throws: { e in
      guard case .ambiguousTimeFormat = e as? IngestError else { return false }
      return "\(e)".contains("--time-format")
    }
    // With a zone, a tie follows the region's convention, and says so.
    var notices: [String] = []
    let d = tempDir()
    var o = IngestOptions(readsPath: write(ambiguous, d, "r.csv"), camerasPath: write(camerasCSV, d, "c.csv"))
    o.pseudonymiser = key; o.timeZone = "Europe/London"
    let (uk, _) = try Ingest.run(o, notice: { notices.append($0) })
    #expect(uk.times.first == Int64(try Timestamp.parse("2026-03-02T05:02:08Z").get()))
    #expect(notices.contains { $0.contains("as usual in Europe/London") })
    o.timeZone = "America/New_York"
    let (us, _) = try Ingest.run(o)
    #expect(us.times.first == Int64(try Timestamp.parse("2026-02-03T10:02:08Z").get()))
    // Said explicitly, it ingests.
    let (c, _, _) = try ingest(ambiguous) { o in
      o.timeZone = "Europe/London"; o.timeFormat = .pattern(try! TimePattern("%m/%d/%Y %H:%M:%S"))
    }
    #expect(c.times == [Int64(try Timestamp.parse("2026-02-03T05:02:08Z").get()), Int64(try Timestamp.parse("2026-04-03T04:02:08Z").get())])
  }

  @Test func mostlyRejectedStoresNothingAndSaysWhy() throws {
    var text = "plate,camera_id,timestamp\n"
    for i in 0..<10 { text += "AB\(i)CDE,\(i < 4 ? "C1" : "C9"),2026-03-05T17:0\(i):00Z\n" }
    #expect { _ = try ingest(text) { $0.maxRejectRate = 0.5 } } throws: { e in
      guard case let .tooManyRejected(_, _, allowed, code, count, examples) = e as? IngestError else { return false }
      return allowed == 0.5 && code == "unknown_camera" && count == 6 && examples.map(\.line) == [6, 7, 8]
        && examples.first?.value == "C9" && "\(e)".contains("--cameras") && "\(e)".contains("nothing was stored")
    }
    let (_, r, _) = try ingest(text) { $0.maxRejectRate = 0.7 }
    #expect(r.accepted == 4 && r.rejected == 6)
    #expect { _ = try ingest("plate,camera_id,timestamp\nAB1,C9,2026-03-05T17:00:00Z\n") { $0.maxRejectRate = 1 } } throws: { e in
      guard case .tooManyRejected(_, _, nil, _, _, _) = e as? IngestError else { return false }
      return "\(e)".contains("no row accepted")
    }
    #expect(throws: IngestError.noRows(file: "")) {
      do { _ = try ingest("plate,camera_id,timestamp\n") } catch IngestError.noRows { throw IngestError.noRows(file: "") }
    }
  }
}
