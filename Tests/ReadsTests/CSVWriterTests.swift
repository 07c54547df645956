import Foundation
import Testing
@testable import Reads

/// The one CSV writer: whatever a field holds, the project's reader gives it back exactly.
@Suite("CSV writer")
struct CSVWriterTests {
  /// Random fields drawn from the characters that break hand-written CSV: quotes, commas, CR, LF,
  /// backslashes, spaces, a BOM-like code point and non-ASCII.
  @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8]) func anyFieldRoundTrips(seed: UInt64) throws {
    var x = seed &* 0x9E37_79B9_7F4A_7C15
    func next(_ n: Int) -> Int { x = x &* 6364136223846793005 &+ 1442695040888963407; return Int((x >> 33) % UInt64(n)) }
    let alphabet: [String] = ["a", "Z", "0", ",", "\"", "\n", "\r", "\r\n", "\\", " ", "–", "é", "字", "😀", "\t", "#", "'", "\u{FEFF}"]
    var t = CSVTable(header: ["id", "name, with comma", "say \"hi\""])
    for r in 0..<60 {
      let fields = (0..<3).map { _ in (0..<next(12)).map { _ in alphabet[next(alphabet.count)] }.joined() }
      t.append(["r\(r)"] + Array(fields.dropFirst()))
    }
    for bom in [false, true] {
      let dir = tempDir()
      let path = write(t.encoded(byteOrderMark: bom), dir, "t.csv")
      let back = try CSVTable.read(path: path)
      #expect(back.header == t.header)
      #expect(back.rows == t.rows)
    }
  }

  @Test func formulasAreNeutralisedForExcelOnly() {
    var t = CSVTable(header: ["a", "b"])
    t.append(["=HYPERLINK(\"x\")", "-0.5"])
    t.append(["@SUM(A1)", "+44 20"])
    #expect(t.encoded(neutraliseFormulas: true) == "a,b\n\"'=HYPERLINK(\"\"x\"\")\",-0.5\n'@SUM(A1),'+44 20\n")
    #expect(t.encoded().contains("\"=HYPERLINK"))
  }

  @Test func quotingIsMinimalAndRFC4180() {
    var t = CSVTable(header: ["a", "b"])
    t.append(["plain", "x,y"])
    t.append(["say \"hi\"", "two\nlines"])
    #expect(t.encoded() == "a,b\nplain,\"x,y\"\n\"say \"\"hi\"\"\",\"two\nlines\"\n")
    #expect(t.encoded(byteOrderMark: true).utf8.prefix(3).elementsEqual([0xEF, 0xBB, 0xBF]))
  }

  /// A replaced file keeps tighter permissions; a link to a file not yet made stays a link.
  @Test func outputFileKeepsPermissionsAndLinks() throws {
    let d = tempDir()
    let p = write("old", d, "out.csv")
    chmod(p, 0o600)
    try writeAtomically("new", to: p)
    var st = stat()
    let content = try String(contentsOfFile: p, encoding: .utf8)
    #expect(stat(p, &st) == 0 && st.st_mode & 0o777 == 0o600 && content == "new")
    let link = d.appendingPathComponent("link.csv").path
    symlink(d.appendingPathComponent("target.csv").path, link)
    try writeAtomically("via link", to: link)
    #expect(lstat(link, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK)
    let viaLink = try String(contentsOfFile: d.appendingPathComponent("target.csv").path, encoding: .utf8)
    #expect(viaLink == "via link")
  }
}
