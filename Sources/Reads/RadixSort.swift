/// Stable LSD radix sort of (key, payload) pairs by a 64-bit key, 16 bits per pass; passes whose
/// digit is constant across all keys are skipped. O(n) per pass, no comparisons, no hashing: this is
/// what keeps ingest and store writing linear in the number of reads.
public func radixSortPairs(keys: inout [UInt64], payload: inout [UInt32]) {
  let n = keys.count
  precondition(payload.count == n)
  if n < 2 { return }
  var k2 = [UInt64](repeating: 0, count: n)
  var p2 = [UInt32](repeating: 0, count: n)
  var counts = [Int](repeating: 0, count: 65536)
  var orAll: UInt64 = 0, andAll: UInt64 = ~0
  for k in keys { orAll |= k; andAll &= k }
  let varying = orAll ^ andAll
  for pass in 0..<4 {
    let shift = UInt64(pass * 16)
    if (varying >> shift) & 0xFFFF == 0 { continue }
    for i in 0..<65536 { counts[i] = 0 }
    keys.withUnsafeBufferPointer { kb in
      for k in kb { counts[Int((k >> shift) & 0xFFFF)] += 1 }
    }
    var sum = 0
    for i in 0..<65536 { let c = counts[i]; counts[i] = sum; sum += c }
    keys.withUnsafeBufferPointer { kb in
      payload.withUnsafeBufferPointer { pb in
        k2.withUnsafeMutableBufferPointer { ko in
          p2.withUnsafeMutableBufferPointer { po in
            counts.withUnsafeMutableBufferPointer { cb in
              for i in 0..<n {
                let d = Int((kb[i] >> shift) & 0xFFFF)
                let j = cb[d]
                ko[j] = kb[i]; po[j] = pb[i]
                cb[d] = j + 1
              }
            }
          }
        }
      }
    }
    swap(&keys, &k2)
    swap(&payload, &p2)
  }
}

/// An open-addressing hash table from short byte strings (≤ 16 bytes, packed in two words) to
/// dense ids, with a cheap multiplicative hash: plates and camera ids are not adversarial input,
/// and SipHash per row dominated ingest time.
struct ByteKeyTable {
  /// One slot: the key's two words and its id (-1 = empty), together so a probe touches one cache line.
  struct Slot { var hi: UInt64; var lo: UInt64; var value: Int32 }
  private var slots: [Slot]
  private var mask: Int
  private(set) var count = 0

  init(capacity: Int = 1024) {
    var size = 16
    while size < capacity * 2 { size <<= 1 }
    slots = Array(repeating: Slot(hi: 0, lo: 0, value: -1), count: size)
    mask = size - 1
  }

  @inline(__always) private func slot(_ hi: UInt64, _ lo: UInt64) -> Int {
    Int(truncatingIfNeeded: mix64(hi ^ (lo &* 0xC2B2_AE3D_27D4_EB4F)) & UInt64(mask))
  }

  /// The id of a key, or nil.
  @inline(__always) func find(_ hi: UInt64, _ lo: UInt64) -> Int32? {
    slots.withUnsafeBufferPointer { t in
      var i = slot(hi, lo)
      while t[i].value >= 0 {
        if t[i].hi == hi && t[i].lo == lo { return t[i].value }
        i = (i + 1) & mask
      }
      return nil
    }
  }

  /// The id of a key, inserting it with `newID` if absent; returns (id, inserted).
  @inline(__always) mutating func findOrInsert(_ hi: UInt64, _ lo: UInt64, newID: Int32) -> (Int32, Bool) {
    if count * 2 >= slots.count { grow() }
    let start = slot(hi, lo), mask = self.mask
    let (found, at): (Int32?, Int) = slots.withUnsafeBufferPointer { t in
      var i = start
      while t[i].value >= 0 {
        if t[i].hi == hi && t[i].lo == lo { return (t[i].value, i) }
        i = (i + 1) & mask
      }
      return (nil, i)
    }
    if let found { return (found, false) }
    slots[at] = Slot(hi: hi, lo: lo, value: newID)
    count += 1
    return (newID, true)
  }

  private mutating func grow() {
    let old = slots
    slots = Array(repeating: Slot(hi: 0, lo: 0, value: -1), count: old.count * 2)
    mask = slots.count - 1
    count = 0
    for s in old where s.value >= 0 { _ = findOrInsert(s.hi, s.lo, newID: s.value) }
  }

  /// Packs up to 16 bytes; nil when longer.
  @inline(__always) static func pack(_ b: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
    guard b.count <= 16 else { return nil }
    var h: UInt64 = 0, l: UInt64 = 0
    for i in 0..<b.count {
      if i < 8 { h |= UInt64(b[i]) << (8 * UInt64(i)) } else { l |= UInt64(b[i]) << (8 * UInt64(i - 8)) }
    }
    return (h, l)
  }
}

/// The SplitMix64 finaliser: every input bit affects every output bit, so keys that differ only in
/// a few high bytes (camera ids `CAM0001`, `CAM0002`, … packed little-endian) still spread over the
/// low bits a hash table masks. (A bare multiply left those ids in a handful of slots.)
@inlinable public func mix64(_ x: UInt64) -> UInt64 {
  var h = x
  h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
  h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
  return h ^ (h >> 31)
}
