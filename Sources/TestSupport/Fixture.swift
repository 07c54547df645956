import Foundation
import Numerics

/// Loads a JSON fixture committed beside a test target (`Tests/<Module>Tests/Fixtures/NAME.json`).
public enum Fixture {
  /// Decodes `Fixtures/<name>.json` from the given bundle.
  public static func load<T: Decodable>(_ type: T.Type, _ name: String, from bundle: Bundle) throws -> T {
    guard let url = bundle.url(forResource: name, withExtension: "json", subdirectory: "Fixtures")
      ?? bundle.url(forResource: name, withExtension: "json")
    else { throw FixtureError.missing(name) }
    return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
  }
}

public enum FixtureError: Error, CustomStringConvertible {
  case missing(String)
  public var description: String {
    switch self { case .missing(let n): return "fixture \(n).json not found in the test bundle" }
  }
}

/// Approximate comparison with a message that prints expected, actual and relative error.
public func approxEqual(
  _ actual: Double, _ expected: Double, abs absTol: Double = 0, rel relTol: Double = 1e-12
) -> Bool {
  actual.isApproximatelyEqual(to: expected, absoluteTolerance: absTol, relativeTolerance: relTol)
}

/// Element-wise approximate comparison of two arrays; `nil` when equal, else a description of the worst element.
public func approxMismatch(
  _ actual: [Double], _ expected: [Double], abs absTol: Double = 0, rel relTol: Double = 1e-12
) -> String? {
  guard actual.count == expected.count else { return "length \(actual.count) ≠ expected \(expected.count)" }
  for (i, (a, e)) in zip(actual, expected).enumerated() where !approxEqual(a, e, abs: absTol, rel: relTol) {
    let relErr = e == 0 ? Swift.abs(a) : Swift.abs(a - e) / Swift.abs(e)
    return "element \(i): expected \(e), actual \(a), relative error \(relErr)"
  }
  return nil
}

/// A tiny deterministic generator for test inputs (SplitMix64).
public struct TestRNG: RandomNumberGenerator {
  var state: UInt64
  public init(seed: UInt64) { state = seed }
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// A new empty directory under the system's temporary directory, named `anprkit-<prefix>-<UUID>`.
public func makeTemporaryDirectory(_ prefix: String) throws -> String {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-\(prefix)-\(UUID())").path
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}
