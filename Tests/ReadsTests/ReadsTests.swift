import Foundation
import Testing
@testable import Reads

/// A fresh temporary directory per test.
func tempDir() -> URL {
  let u = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-tests-\(UUID().uuidString)")
  try! FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
  return u
}

func write(_ s: String, _ dir: URL, _ name: String) -> String {
  let p = dir.appendingPathComponent(name).path
  FileManager.default.createFile(atPath: p, contents: Data(s.utf8))
  return p
}

let camerasCSV = """
  camera_id,site_id,latitude,longitude,bearing,road,description
  C1,S1,51.540,0.700,90,A13,"West, inbound"
  C2,S1,51.540,0.700,270,A13,outbound
  C3,S3,51.550,0.720,,,
  C4,S4,51.900,1.200,,,far away

  """

let key = try! Pseudonymiser(keyBytes: Array("0123456789abcdef0123456789abcdef".utf8))

func ingest(_ reads: String, configure: (inout IngestOptions) -> Void = { _ in }) throws -> (StoreContents, IngestReport, URL) {
  let d = tempDir()
  var o = IngestOptions(readsPath: write(reads, d, "reads.csv"), camerasPath: write(camerasCSV, d, "cameras.csv"))
  o.pseudonymiser = key
  o.rejectsPath = d.appendingPathComponent("rejects.csv").path
  o.maxRejectRate = 1  // the fixtures reject on purpose; the limit has its own tests
  configure(&o)
  let (c, r) = try Ingest.run(o)
  return (c, r, d)
}

@Suite("CSV reader")
struct CSVReaderTests {
  func records(_ text: [UInt8], chunk: Int = 7) throws -> [[String]] {
    let d = tempDir()
    let p = d.appendingPathComponent("x.csv").path
    FileManager.default.createFile(atPath: p, contents: Data(text))
    var out: [[String]] = []
    try CSVReader(source: ByteSource(path: p), chunkSize: chunk).forEachRecord { r in
      out.append((0..<r.count).map(r.string))
    }
    return out
  }

  @Test(arguments: [1, 2, 3, 7, 64, 1 << 20])
  func quotingCRLFAndBOMAcrossChunkBoundaries(chunk: Int) throws {
    let text: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",\"multi\nline\"\r\n,,\r\nlast,row,no-newline".utf8)
    let r = try records(text, chunk: chunk)
    #expect(r == [["a", "b", "c"], ["x,1", "say \"hi\"", "multi\nline"], ["", "", ""], ["last", "row", "no-newline"]])
  }

  @Test func lineNumbersCountEmbeddedNewlines() throws {
    let d = tempDir()
    let p = write("h\n\"a\nb\"\nc\n", d, "x.csv")
    var lines: [Int] = []
    try CSVReader(source: ByteSource(path: p), chunkSize: 3).forEachRecord { lines.append($0.line) }
    #expect(lines == [1, 2, 4])
  }

  @Test func unterminatedQuoteIsAnError() throws {
    let e = #expect(throws: IngestError.self) { _ = try records(Array("a\n\"open,field\n".utf8)) }
    #expect("\(e!)".contains("x.csv:2: a quoted field never closes"))
  }

  @Test func missingFileNamesIt() {
    #expect(throws: IngestError.self) { try ByteSource(path: "/no/such/file.csv") }
  }
}

@Suite("Timestamps")
struct TimestampTests {
  @Test(arguments: [
    ("2026-03-05T17:02:11Z", 1_772_730_131.0),
    ("2026-03-05T18:02:11+01:00", 1_772_730_131.0),
    ("2026-03-05T17:02:11.250Z", 1_772_730_131.25),
    ("2026-03-05 12:02:11-0500", 1_772_730_131.0),
    ("2026-03-05T17:02Z", 1_772_730_120.0),
    ("1772730131", 1_772_730_131.0),
    ("1772730131.5", 1_772_730_131.5),
    ("1970-01-01T00:00:00Z", 0.0),
    ("2024-02-29T00:00:00Z", 1_709_164_800.0),
  ])
  func parses(text: String, expected: Double) throws {
    #expect(try Timestamp.parse(text).get() == expected)
  }

  @Test(arguments: [
    ("", Timestamp.Problem.empty), ("2026-03-05T17:02:11", .noTimeZone), ("2026-02-30T00:00:00Z", .outOfRange),
    ("2026-03-05T25:00:00Z", .outOfRange), ("yesterday", .malformed), ("2026-03-05T17:02:11Q", .malformed),
    ("12ab", .malformed),
  ])
  func refuses(text: String, problem: Timestamp.Problem) {
    #expect(throws: problem) { try Timestamp.parse(text).get() }
  }

  @Test func iso8601RoundTrip() throws {
    for t: Int64 in [0, 86399, 1_772_730_131, 951_782_400] {
      #expect(try Timestamp.parse(Timestamp.iso8601(t)).get() == Double(t))
    }
  }

  @Test func londonClockFollowsSummerTime() throws {
    let london = try LocalClock(identifier: "Europe/London")
    let winter = Int64(try Timestamp.parse("2026-01-15T12:00:00Z").get())
    let summer = Int64(try Timestamp.parse("2026-07-15T12:00:00Z").get())
    #expect(london.hourOfDay(winter) == 12)
    #expect(london.hourOfDay(summer) == 13)
    #expect(london.weekday(winter) == 3)  // Thursday
    #expect(london.hourOfWeek(summer) == 2 * 24 + 13)  // Wednesday 13:00
    #expect(throws: LocalClock.ClockError.self) { try LocalClock(identifier: "Mars/Olympus") }
  }
}

/// python3 -c "import hmac,hashlib;print(hmac.new(b'0123456789abcdef0123456789abcdef',b'AB12CDE',hashlib.sha256).hexdigest()[:16])"
let pythonHMACReference = "a98111cce3e7e1e0"

@Suite("Plates")
struct PlateTests {
  @Test func normalisation() {
    #expect(Plate.normalise("ab12 cde") == "AB12CDE")
    #expect(Plate.normalise(" a-b.1 ") == "AB1")
    #expect(Plate.normalise(" - ") == nil)
  }

  @Test(arguments: [
    ("AB12CDE", Plate.Format?.some(.current)), ("A123BCD", .prefix), ("ABC123D", .suffix), ("ABC1234", .dateless),
    ("1234AB", .dateless), ("A1", .dateless), ("AB12CD3", nil), ("ABCDEFG", nil), ("12345678", nil),
  ])
  func gbFormats(plate: String, format: Plate.Format?) {
    #expect(Plate.gbFormat(Array(plate.utf8)) == format)
  }

  @Test func misreadPairs() {
    func m(_ a: String, _ b: String) -> Bool { Plate.isLikelyMisread(Array(a.utf8), Array(b.utf8)) }
    #expect(m("AB12CDE", "A812CDE"))
    #expect(m("SO12ABC", "S012ABC"))
    #expect(!m("AB12CDE", "AB12CDE"))
    #expect(!m("AB12CDE", "XB12CDE"))  // A/X is not a confusion
    #expect(!m("AB12CDE", "A812CD3"))  // two differences
  }

  @Test func pseudonymsAreStableKeyedAndOpaque() throws {
    let a = key.pseudonym(plate: "AB12 CDE")
    #expect(a == key.pseudonym(plate: "ab12cde"))
    #expect(a?.count == 17 && a?.hasPrefix("V") == true)
    let other = try Pseudonymiser(keyBytes: Array("another key, also 32 bytes long!".utf8))
    #expect(other.pseudonym(plate: "AB12CDE") != a)
    #expect(other.fingerprint != key.fingerprint)
    #expect(throws: IngestError.self) { try Pseudonymiser(keyBytes: [1, 2, 3]) }
  }

  @Test func pseudonymMatchesPythonHMAC() {
    // Independent reference: python3 hmac.new(key, b"AB12CDE", sha256).hexdigest()[:16]
    #expect(key.pseudonym(plate: "AB12CDE") == "V" + pythonHMACReference)
  }

  @Test func keyFromEnvironmentOrFile() throws {
    #expect(try Pseudonymiser.load(file: nil, environment: [:]) == nil)
    let text = "3f9a0c6e1b7d24859e0af3c2d1b6e7480a9c5f3e2d1b0a9f8e7d6c5b4a392817"
    let strong = try Pseudonymiser(keyBytes: Array(text.utf8))
    let env = try Pseudonymiser.load(file: nil, environment: ["ANPR_KEY": text])
    #expect(env?.fingerprint == strong.fingerprint, "the key is the text's bytes, as keygen writes it")
    let d = tempDir()
    let f = write(text + "\n", d, "k")
    chmod(f, 0o600)
    #expect(try Pseudonymiser.load(file: f)?.fingerprint == strong.fingerprint)
    #expect(throws: IngestError.self) { try Pseudonymiser.load(file: nil, environment: ["ANPR_KEY": "0123456789abcdef0123456789abcdef"]) }
    #expect(throws: IngestError.self) { try Pseudonymiser.load(file: d.appendingPathComponent("missing").path) }
  }
}

@Suite struct ForecastOriginTests {
  /// A last read in the day's last hour makes the day full (origin: the midnight after); one at noon
  /// leaves it partial (origin: the midnight that starts it). Clock changes move midnight in UTC.
  @Test func theEndOfTheLastFullDay() throws {
    let london = try LocalClock(identifier: "Europe/London")
    func t(_ s: String) -> Int64 { if case .success(let v) = Timestamp.parse(s) { return Int64(v) }; fatalError(s) }
    #expect(london.endOfLastFullDay(lastRead: t("2026-03-15T23:59:58Z")) == t("2026-03-16T00:00:00Z"))
    #expect(london.endOfLastFullDay(lastRead: t("2026-03-15T23:00:00Z")) == t("2026-03-16T00:00:00Z"))
    #expect(london.endOfLastFullDay(lastRead: t("2026-03-15T12:00:00Z")) == t("2026-03-15T00:00:00Z"))
    // Summer time: local midnight is 23:00 UTC.
    #expect(london.endOfLastFullDay(lastRead: t("2026-07-01T22:30:00Z")) == t("2026-07-01T23:00:00Z"))
    #expect(london.startOfDay(london.day(t("2026-10-25T12:00:00Z"))) == t("2026-10-24T23:00:00Z"), "the day the clocks go back starts at BST midnight")
    #expect(london.startOfDay(london.day(t("2026-10-26T12:00:00Z"))) == t("2026-10-26T00:00:00Z"))
  }
}

@Suite struct LocalClockTableTests {
  /// The transition table must give exactly the offsets the time zone gives, including zones with
  /// half-hour DST (Lord Howe), southern-hemisphere DST and historical changes, and outside the table.
  @Test func offsetsMatchTheTimeZoneEverywhere() throws {
    for zone in ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"] {
      let clock = try LocalClock(identifier: zone)
      let tz = TimeZone(identifier: zone)!
      var x: UInt64 = 12345
      for _ in 0..<20_000 {
        x = x &* 6364136223846793005 &+ 1442695040888963407
        let t = Int64(x >> 33) % 6_000_000_000 - 2_500_000_000  // 1890 … 2110
        #expect(clock.offset(at: t) == Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))), "\(zone) at \(t)")
      }
      // Either side of every spring/autumn change in 2026.
      var d = Date(timeIntervalSince1970: 1_767_225_600)
      while let n = tz.nextDaylightSavingTimeTransition(after: d), n.timeIntervalSince1970 < 1_798_761_600 {
        for dt in [-1.0, 0, 1] {
          let t = n.addingTimeInterval(dt)
          #expect(clock.offset(at: Int64(t.timeIntervalSince1970)) == Int64(tz.secondsFromGMT(for: t)))
        }
        d = n
      }
    }
  }
}

@Suite struct DelimiterScanTests {
  /// The word-at-a-time scan finds the same first delimiter as a byte loop, on bytes chosen to
  /// provoke false positives (neighbours of ',' and LF, high bytes, zeros) at every offset and length.
  @Test func wordScanMatchesByteScan() {
    let alphabet: [UInt8] = [0x2C, 0x0A, 0x2B, 0x2D, 0x0B, 0x09, 0xAC, 0x8A, 0x00, 0xFF, 0x41, 0x30]
    var x: UInt64 = 99
    for _ in 0..<3000 {
      x = x &* 6364136223846793005 &+ 1442695040888963407
      let n = Int(x >> 58)
      let bytes = (0..<n).map { k -> UInt8 in
        x = x &* 6364136223846793005 &+ 1442695040888963407
        return (x >> 60) < 3 ? alphabet[Int((x >> 33) % 12)] : alphabet[2 + Int((x >> 33) % 10)]
      }
      bytes.withUnsafeBufferPointer { b in
        for from in 0...n {
          var expected = from
          while expected < n && b[expected] != 0x2C && b[expected] != 0x0A { expected += 1 }
          #expect(nextDelimiter(b.baseAddress ?? UnsafePointer(bitPattern: 1)!, from: from, total: n) == expected)
        }
      }
    }
  }
}
