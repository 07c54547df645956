import Foundation
import Reads

/// Runs `work` on vehicle ranges of about equal reads, one per shard, on parallel threads; the results
/// in vehicle order (the map step of a map-and-merge-by-addition).
func inVehicleShards<T>(store: ReadStore, shards: Int, _ work: @Sendable (Range<Int>) -> T) -> [T] {
  let bounds = vehicleShards(store: store, shards: shards)
  let results = ParallelSlots<T>(count: bounds.count - 1)
  DispatchQueue.concurrentPerform(iterations: bounds.count - 1) { k in results.set(k, work(bounds[k]..<bounds[k + 1])) }
  return (0..<(bounds.count - 1)).map { results.get($0)! }
}

/// Calls `body(sites, times, bands)` for every trip of the vehicles in `vehicles` that pass `include`:
/// trips are split at gaps longer than `gap` over all of a vehicle's reads, only reads in `[from, to)`
/// are kept, and consecutive reads at one site (two cameras, or a dwell) count once. Time bands are the
/// local ones of `clock`. No allocation per trip: the buffers are reused.
func forEachTrip(store: ReadStore, vehicles: Range<Int>, include: (Int) -> Bool = { _ in true }, gap: Int64,
                 from: Int64 = .min, to: Int64 = .max, clock: LocalClock,
                 _ body: (UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Int64>, UnsafeBufferPointer<Int32>) -> Void) {
  var s: [Int32] = [], t: [Int64] = [], b: [Int32] = []
  s.reserveCapacity(256); t.reserveCapacity(256); b.reserveCapacity(256)
  func flush() {
    guard !s.isEmpty else { return }
    s.withUnsafeBufferPointer { sp in t.withUnsafeBufferPointer { tp in b.withUnsafeBufferPointer { bp in body(sp, tp, bp) } } }
    s.removeAll(keepingCapacity: true); t.removeAll(keepingCapacity: true); b.removeAll(keepingCapacity: true)
  }
  for v in vehicles where include(v) {
    var last = Int64.min
    for r in store.reads(ofVehicle: v) {
      let i = Int(r), ti = store.time(i)
      if last != .min && ti - last > gap { flush() }
      last = ti
      guard ti >= from && ti < to else { continue }
      let si = Int32(store.site(i))
      if s.last == si { continue }
      s.append(si); t.append(ti); b.append(Int32(timeBand(ti, clock: clock)))
    }
    flush()
  }
}

/// Vehicle ranges `[b[k], b[k+1])` holding about equal numbers of reads, for parallel passes.
func vehicleShards(store: ReadStore, shards: Int) -> [Int] {
  let nv = store.vehicles.count
  let p = max(1, min(shards, nv / 1000 + 1))
  var bounds = [0]
  if p > 1 {
    let per = max(1, store.count / p)
    var acc = 0
    for v in 0..<nv {
      acc += store.reads(ofVehicle: v).count
      if acc >= per * bounds.count && bounds.count < p { bounds.append(v + 1) }
    }
  }
  bounds.append(nv)
  return bounds
}
