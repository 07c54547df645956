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
/// the store's trip stream (`ReadStore.forEachCollapsedTrip`: trips split at gaps longer than `gap`, reads
/// in `[from, to)`, repeats at one site collapsed) with each read's local time band of `clock`. The
/// buffers are reused: no allocation per trip.
func forEachTrip(store: ReadStore, vehicles: Range<Int>, include: (Int) -> Bool = { _ in true }, gap: Int64,
                 from: Int64 = .min, to: Int64 = .max, clock: LocalClock,
                 _ body: (UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Int64>, UnsafeBufferPointer<Int32>) -> Void) {
  var b: [Int32] = []
  b.reserveCapacity(256)
  store.forEachCollapsedTrip(vehicles: vehicles, include: include, gap: gap, from: from, to: to) { _, sites, times in
    b.removeAll(keepingCapacity: true)
    for t in times { b.append(Int32(timeBand(t, clock: clock))) }
    b.withUnsafeBufferPointer { body(sites, times, $0) }
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
