import Foundation
import Linalg

/// Builds a `FactorDesign` one observation at a time, keeping one design row for every distinct
/// combination of factor levels, dense values and offset, with the number of observations it stands
/// for and their summed count (`CountResponse`). The fit is the same as on the rows one by one (the
/// IRLS needs only each group's size and total), and a sparse grid of cell-days — most of them zero
/// counts with no recent activity — costs its distinct rows in memory and time, not cells × bins.
/// Rows are kept in order of first appearance, so the result does not depend on a hash seed.
public struct CollapsedDesignBuilder {
  let factorCount: Int
  let denseCount: Int
  let withOffset: Bool
  var levels: [[Int32]]
  /// Dense values, row-major while building.
  var dense: [Double] = []
  var offsets: [Double] = []
  var totals: [Double] = []
  var sizes: [Double] = []
  var hashes: [UInt64] = []
  /// Open addressing: slot → row + 1 (0 = empty).
  var slots: [Int32]
  /// Slots filled since the block began (cleared by `beginBlock`).
  var usedSlots: [Int] = []
  var smallCounts = [Double](repeating: 0, count: 1024)
  var otherCounts: [Double: Double] = [:]
  var observations = 0

  public init(factors: Int, denseColumns: Int, offset: Bool) {
    factorCount = factors; denseCount = denseColumns; withOffset = offset
    levels = Array(repeating: [], count: factors)
    slots = [Int32](repeating: 0, count: 1 << 8)
  }

  /// Starts a block of observations that never share a design row with earlier ones (a unit's rows,
  /// when the unit is a factor): the lookup table then holds one block's distinct rows and stays in
  /// cache, where one table for a city's 400 000 rows missed it on nearly every lookup.
  public mutating func beginBlock() {
    for s in usedSlots { slots[s] = 0 }
    usedSlots.removeAll(keepingCapacity: true)
  }

  /// Distinct design rows so far.
  public var rows: Int { totals.count }

  /// Indexes every row built so far in one lookup table, so later observations (without `beginBlock`)
  /// are matched against all of them: a design built block by block can then be extended with the rows
  /// of new bins.
  public mutating func indexAll() {
    var size = 1 << 8
    while size < 2 * max(1, rows) + 2 { size <<= 1 }
    slots = [Int32](repeating: 0, count: size)
    usedSlots.removeAll(keepingCapacity: true)
    usedSlots.reserveCapacity(rows)
    let mask = size - 1
    for r in 0..<rows {
      var s = Int(truncatingIfNeeded: hashes[r]) & mask
      while slots[s] != 0 { s = (s + 1) & mask }
      slots[s] = Int32(r + 1)
      usedSlots.append(s)
    }
  }

  /// One step of the row hash (also used to fingerprint the counts a design was built from).
  public static func mix(_ h: UInt64, _ v: UInt64) -> UInt64 {
    var x = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
    x ^= x >> 29
    return x
  }

  /// MurmurHash3's 64-bit finaliser: every input bit reaches the low bits the table indexes by
  /// (without it, rows differing only in their values' high bits probed long runs of one cluster).
  static func finalise(_ k: UInt64) -> UInt64 {
    var x = k
    x ^= x >> 33; x &*= 0xFF51_AFD7_ED55_8CCD
    x ^= x >> 33; x &*= 0xC4CE_B9FE_1A85_EC53
    x ^= x >> 33
    return x
  }

  /// Adds one observation: its factor levels (`factors` values), dense values (`denseColumns`),
  /// offset (ignored without one) and count.
  public mutating func add(levels l: [Int32], dense d: [Double], offset o: Double = 0, count y: Double) {
    observations += 1
    if y >= 0, y < 1024, y == y.rounded(.down) { smallCounts[Int(y)] += 1 } else { otherCounts[y, default: 0] += 1 }
    var h: UInt64 = 0x243F_6A88_85A3_08D3
    for v in l { h = Self.mix(h, UInt64(UInt32(bitPattern: v))) }
    // +0.0 for −0.0, so equal values hash alike.
    for v in d { h = Self.mix(h, (v == 0 ? 0 : v).bitPattern) }
    if withOffset { h = Self.mix(h, (o == 0 ? 0 : o).bitPattern) }
    h = Self.finalise(h)
    let mask = slots.count - 1
    var s = Int(truncatingIfNeeded: h) & mask
    while slots[s] != 0 {
      let r = Int(slots[s]) - 1
      if hashes[r] == h && same(r, l, d, o) { totals[r] += y; sizes[r] += 1; return }
      s = (s + 1) & mask
    }
    let r = totals.count
    slots[s] = Int32(r + 1)
    usedSlots.append(s)
    hashes.append(h)
    for f in 0..<factorCount { levels[f].append(l[f]) }
    dense.append(contentsOf: d)
    if withOffset { offsets.append(o) }
    totals.append(y); sizes.append(1)
    if 2 * usedSlots.count > slots.count { grow() }
  }

  func same(_ r: Int, _ l: [Int32], _ d: [Double], _ o: Double) -> Bool {
    for f in 0..<factorCount where levels[f][r] != l[f] { return false }
    let base = r * denseCount
    for j in 0..<denseCount where dense[base + j] != d[j] { return false }
    return !withOffset || offsets[r] == o
  }

  mutating func grow() {
    let rows = usedSlots.map { Int(slots[$0]) - 1 }
    slots = [Int32](repeating: 0, count: slots.count * 2)
    usedSlots.removeAll(keepingCapacity: true)
    let mask = slots.count - 1
    for r in rows {
      var s = Int(truncatingIfNeeded: hashes[r]) & mask
      while slots[s] != 0 { s = (s + 1) & mask }
      slots[s] = Int32(r + 1)
      usedSlots.append(s)
    }
  }

  /// The design (dense columns column-major), the grouped counts, and the offsets (nil without one).
  public func finish(levels levelCounts: [Int]) -> (FactorDesign, CountResponse, [Double]?) {
    let n = rows
    var m = Matrix(rows: n, columns: denseCount)
    m.elements.withUnsafeMutableBufferPointer { M in
      dense.withUnsafeBufferPointer { D in
        for i in 0..<n { for j in 0..<denseCount { M[i + j * n] = D[i * denseCount + j] } }
      }
    }
    var frequencies = otherCounts
    for (v, f) in smallCounts.enumerated() where f > 0 { frequencies[Double(v)] = f }
    let response = CountResponse(totals: totals, sizes: sizes, frequencies: frequencies, observations: observations)
    return (FactorDesign(factors: levels, levels: levelCounts, dense: m), response, withOffset ? offsets : nil)
  }
}
