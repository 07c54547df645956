import Foundation

/// One result slot per parallel task, for `DispatchQueue.concurrentPerform`: each task writes only its
/// own slot, and the caller reads them after the join. Raw storage, so concurrent writes to different
/// slots share no array bookkeeping.
public final class ParallelSlots<T>: @unchecked Sendable {
  private let slots: UnsafeMutablePointer<T?>
  public let count: Int
  public init(count: Int) {
    self.count = count
    slots = .allocate(capacity: count)
    slots.initialize(repeating: nil, count: count)
  }
  deinit { slots.deinitialize(count: count); slots.deallocate() }
  /// Stores task `i`'s result (call from task `i` only).
  public func set(_ i: Int, _ v: T?) { slots[i] = v }
  /// Task `i`'s result, or nil if it stored none (call after the join).
  public func get(_ i: Int) -> T? { slots[i] }
}

/// How many worker threads the toolkit uses: `ANPR_THREADS` when set (a positive whole number), else
/// every core. Results never depend on it (every parallel sum is merged in a fixed order); the
/// determinism tests run the binary with different values and compare bytes.
public let workerThreads: Int = {
  if let v = ProcessInfo.processInfo.environment["ANPR_THREADS"], let n = Int(v), n > 0 { return n }
  return ProcessInfo.processInfo.activeProcessorCount
}()

/// `body(i)` for every index, on up to `threads` threads in contiguous blocks; results in index order.
public func concurrentMap<T>(_ count: Int, threads: Int = workerThreads,
                             _ body: @Sendable (Int) -> T) -> [T] {
  let blocks = max(1, min(threads, count / 256 + 1))
  let slots = ParallelSlots<[T]>(count: blocks)
  DispatchQueue.concurrentPerform(iterations: blocks) { b in
    let lo = count * b / blocks, hi = count * (b + 1) / blocks
    slots.set(b, (lo..<hi).map(body))
  }
  return (0..<blocks).flatMap { slots.get($0)! }
}

/// Hands a value that is not `Sendable` to concurrent tasks when the caller guarantees it is safe: the
/// tasks touch disjoint parts of it, only read it, or only one task uses it.
public struct UncheckedSendable<T>: @unchecked Sendable {
  public let value: T
  public init(_ v: T) { value = v }
}
