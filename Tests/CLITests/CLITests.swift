import Foundation
import Testing

/// Runs the built `anpr` binary (beside the test bundle in .build/<config>/) and captures its output.
func runANPR(_ args: [String], stdin: Data? = nil, environment: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
  var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  // swift-testing may run from inside the .xctest bundle on some layouts
  while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("anpr").path), dir.path != "/" {
    dir = dir.deletingLastPathComponent()
  }
  let p = Process()
  p.executableURL = dir.appendingPathComponent("anpr")
  p.arguments = args
  if let environment { p.environment = environment }
  let out = Pipe(), err = Pipe(), inp = Pipe()
  p.standardOutput = out
  p.standardError = err
  p.standardInput = inp
  try p.run()
  if let stdin { inp.fileHandleForWriting.write(stdin) }
  try inp.fileHandleForWriting.close()
  let o = out.fileHandleForReading.readDataToEndOfFile()
  let e = err.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite("anpr binary")
struct BinaryTests {
  @Test func versionAndHelp() throws {
    let v = try runANPR(["--version"])
    #expect(v.status == 0)
    #expect(v.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    let h = try runANPR(["--help"])
    #expect(h.status == 0)
    #expect(h.out.contains("selfcheck"))
  }

  @Test func selfcheckPasses() throws {
    let r = try runANPR(["selfcheck"])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    #expect(!r.out.contains("FAIL"))
  }

  @Test func unknownSubcommandIsAUsageError() throws {
    let r = try runANPR(["no-such-command"])
    #expect(r.status == 64)
    #expect(r.err.contains("Usage") || r.err.contains("USAGE"))
  }
}
