import Foundation
import Reads

/// Open-addressing hash table from a 64-bit context key and a next symbol to a count: the hot loop of
/// transition counting (five to seven increments per trip step) without per-entry allocation or
/// SipHash. Converted to the `TransitionCounts` dictionaries once counting is done (and used the same
/// way by the statistics map step).
public struct FlatCountTable: Sendable {
  private(set) var contexts: [UInt64]
  private(set) var symbols: [Int32]
  private(set) var values: [Double]
  private var occupied: [Bool]
  private var mask: Int
  public private(set) var count = 0

  public init(capacity: Int = 1 << 14) {
    var c = 16
    while c < capacity * 2 { c <<= 1 }
    contexts = .init(repeating: 0, count: c); symbols = .init(repeating: 0, count: c)
    values = .init(repeating: 0, count: c); occupied = .init(repeating: false, count: c); mask = c - 1
  }

  @inline(__always) private static func hash(_ k: UInt64, _ s: Int32) -> Int {
    Int(truncatingIfNeeded: mix64(k ^ (UInt64(UInt32(bitPattern: s)) &* 0x9E37_79B9_7F4A_7C15)))
  }

  /// Adds `w` to the cell (k, s).
  @inline(__always) public mutating func add(_ k: UInt64, _ s: Int32, _ w: Double) {
    var i = Self.hash(k, s) & mask
    while occupied[i] {
      if contexts[i] == k && symbols[i] == s { values[i] += w; return }
      i = (i + 1) & mask
    }
    occupied[i] = true; contexts[i] = k; symbols[i] = s; values[i] = w; count += 1
    if count * 2 > mask { grow() }
  }

  private mutating func grow() {
    let old = (contexts, symbols, values, occupied)
    let c = (mask + 1) * 2
    contexts = .init(repeating: 0, count: c); symbols = .init(repeating: 0, count: c)
    values = .init(repeating: 0, count: c); occupied = .init(repeating: false, count: c); mask = c - 1; count = 0
    for i in old.3.indices where old.3[i] { add(old.0[i], old.1[i], old.2[i]) }
  }

  /// The value of cell (k, s), or nil when it was never added.
  @inline(__always) func value(_ k: UInt64, _ s: Int32) -> Double? {
    var i = Self.hash(k, s) & mask
    while occupied[i] {
      if contexts[i] == k && symbols[i] == s { return values[i] }
      i = (i + 1) & mask
    }
    return nil
  }

  /// Every occupied cell.
  public func forEach(_ body: (UInt64, Int32, Double) -> Void) {
    for i in occupied.indices where occupied[i] { body(contexts[i], symbols[i], values[i]) }
  }

  mutating func merge(_ o: FlatCountTable) { o.forEach { add($0, $1, $2) } }
}

extension TransitionCounts {
  /// Per-shard counting state: next-symbol counts (key, symbol) and travel statistics, where the
  /// travel cell (key, 0/1/2) holds n, Σ log s and Σ log² s (the statistics map step counts with it too).
  public struct Accumulator: Sendable {
    public private(set) var next = FlatCountTable()
    public private(set) var travel = FlatCountTable()
    /// Trips entering at each site.
    public private(set) var entries: [Double]
    public let order: Int
    public init(order: Int, siteCount: Int) { self.order = order; entries = .init(repeating: 0, count: siteCount) }

    /// One trip's (already collapsed) sites, times and bands.
    @inline(__always) public mutating func add(sites s: UnsafeBufferPointer<Int32>, times t: UnsafeBufferPointer<Int64>, bands: UnsafeBufferPointer<Int32>, weight: Double) {
      let n = s.count
      guard n > 0 else { return }
      entries[Int(s[0])] += weight
      for i in 0..<n {
        let nxt: Int32 = i + 1 < n ? s[i + 1] : Int32(endOfTrip)
        let band = ContextKey.bandBits(Int(bands[i]))
        // Context of the last k sites (ContextKey's layout).
        for k in 1...order where i - k + 1 >= 0 {
          let ctx = ContextKey.make(s, end: i + 1, count: k)
          next.add(ctx | band, nxt, weight)
          next.add(ctx, nxt, weight)
        }
        next.add(0, nxt, weight)
        if nxt != Int32(endOfTrip) {
          let (l, l2) = TransitionCounts.logSeconds(t[i + 1] - t[i])
          let a = TransitionCounts.travelKey(Int(s[i]), Int(nxt), band: nil)
          let b = TransitionCounts.travelKey(Int(s[i]), Int(nxt), band: Int(bands[i]))
          travel.add(a, 0, weight); travel.add(a, 1, weight * l); travel.add(a, 2, weight * l2)
          travel.add(b, 0, weight); travel.add(b, 1, weight * l); travel.add(b, 2, weight * l2)
        }
      }
    }

    mutating func merge(_ o: Accumulator) {
      next.merge(o.next); travel.merge(o.travel)
      for i in entries.indices { entries[i] += o.entries[i] }
    }

    func counts(siteCount: Int) -> TransitionCounts {
      var c = TransitionCounts(order: order, siteCount: siteCount)
      next.forEach { k, s, w in c.next[k, default: [:]][Int(s)] = w }
      travel.forEach { k, j, w in
        if c.travel[k] == nil { c.travel[k] = [0, 0, 0] }
        c.travel[k]![Int(j)] = w
      }
      for (i, w) in entries.enumerated() where w != 0 { c.entries[i] = w }
      return c
    }
  }
}

