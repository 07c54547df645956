import Foundation

/// The one layout of a route context's key — up to three sites, oldest first, in 16-bit fields (site
/// index + 1; 0 = none) and the time band + 1 in bits 48–55 (0 = any band) — and of a travel-time
/// cell's key (from + 1, to + 1 in 20-bit fields, band + 1 from bit 40). Transition counts, their
/// accumulator, the statistics file, the route model and its batch predictions all make and read
/// keys here, so the layout has one definition. Site indices must be at most `maxSiteIndex` (the route
/// model refuses more sites).
public enum ContextKey {
  /// Sites a context holds at most.
  public static let maxSites = 3
  /// Largest site index a context can hold (the field keeps 0 for "none").
  public static let maxSiteIndex = 0xFFFE

  /// The key of the last (up to three) `sites`, with `band` (nil: any band).
  @inlinable public static func make(_ sites: ArraySlice<Int>, band: Int?) -> UInt64 {
    var k: UInt64 = 0
    for (i, s) in sites.suffix(maxSites).enumerated() { k |= field(s, i) }
    if let band { k |= bandBits(band) }
    return k
  }

  /// The key of `count` sites of `sites` ending just before `end` (oldest first), any band.
  @inlinable public static func make(_ sites: UnsafeBufferPointer<Int32>, end: Int, count: Int) -> UInt64 {
    var k: UInt64 = 0
    for j in 0..<count { k |= field(Int(sites[end - count + j]), j) }
    return k
  }

  /// `band`'s bits, to OR into a key made with any band.
  @inlinable public static func bandBits(_ band: Int) -> UInt64 { UInt64(band + 1) << 48 }

  /// How many sites the context of `key` holds.
  @inlinable public static func length(_ key: UInt64) -> Int {
    (0..<maxSites).filter { (key >> (16 * UInt64($0))) & 0xFFFF != 0 }.count
  }

  @inlinable static func field(_ site: Int, _ position: Int) -> UInt64 { UInt64((site + 1) & 0xFFFF) << (16 * UInt64(position)) }

  /// The key of a travel-time cell: from, to, and band (nil = any band).
  @inlinable public static func travel(_ a: Int, _ b: Int, band: Int?) -> UInt64 {
    UInt64(a + 1) | UInt64(b + 1) << 20 | UInt64((band ?? -1) + 1) << 40
  }

  /// The sites and band of a travel-time key (band nil: any band).
  @inlinable public static func travelParts(_ k: UInt64) -> (from: Int, to: Int, band: Int?) {
    let band = Int(k >> 40) - 1
    return (Int(k & 0xFFFFF) - 1, Int((k >> 20) & 0xFFFFF) - 1, band < 0 ? nil : band)
  }
}
