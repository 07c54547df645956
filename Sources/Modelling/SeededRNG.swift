/// SplitMix64 (Steele, Lea & Flood 2014, doi:10.1145/2714064.2660195): the seeded generator every
/// random choice in ANPRKit uses, so the same seed gives the same bits on every machine.
/// Never `SystemRandomNumberGenerator` in modelling or simulation code.
public struct SeededRNG: RandomNumberGenerator, Sendable {
  public private(set) var state: UInt64

  public init(seed: UInt64) { state = seed }

  /// An independent stream for a sub-task, derived from a seed and labels (agent, day, ...), so
  /// results do not depend on the order in which sub-tasks run.
  public init(seed: UInt64, _ labels: UInt64...) {
    var s = seed
    for l in labels { s = SeededRNG.mix(s ^ SeededRNG.mix(l &+ 0x9E37_79B9_7F4A_7C15)) }
    state = s
  }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    return SeededRNG.mix(state)
  }

  @inlinable static func mix(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [0, 1) with 53 random bits.
  public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

  /// Standard normal by Box–Muller.
  public mutating func normal() -> Double {
    let u1 = max(uniform(), 1e-300), u2 = uniform()
    return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
  }

  /// Normal with mean and standard deviation.
  public mutating func normal(mean: Double, sd: Double) -> Double { mean + sd * normal() }

  /// `true` with probability p.
  public mutating func bernoulli(_ p: Double) -> Bool { uniform() < p }

  /// Poisson variate (inversion for small means, normal approximation above 50).
  public mutating func poisson(_ mean: Double) -> Int {
    if mean <= 0 { return 0 }
    if mean > 50 { return max(0, Int((normal(mean: mean, sd: mean.squareRoot())).rounded())) }
    let l = exp(-mean)
    var k = 0, p = 1.0
    repeat { k += 1; p *= uniform() } while p > l
    return k - 1
  }

  /// An index drawn with probability proportional to `weights`.
  public mutating func weightedIndex(_ weights: [Double]) -> Int {
    let total = weights.reduce(0, +)
    var u = uniform() * total
    for (i, w) in weights.enumerated() { u -= w; if u < 0 { return i } }
    return weights.count - 1
  }

  /// Uniform integer in a range.
  public mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &self) }
}

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
