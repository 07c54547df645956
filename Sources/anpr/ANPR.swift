import ArgumentParser
import Foundation
import Linalg
import Reads

/// The `anpr` command: a thin tree over the library modules. Each subcommand parses, calls one
/// library API and prints; no modelling logic lives here.
///
/// Exit codes: 0 success (rejected rows within `--max-reject-rate`), 1 run-time failure (bad file, corrupt
/// store, an ingest that accepted no row or rejected too many),
/// 64 usage error (from swift-argument-parser's `ValidationError`).
@main
struct ANPR: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "anpr",
    abstract: "Learn from ANPR camera reads; forecast where and when vehicles of interest will appear.",
    discussion: """
      Typical flow: simulate (or bring your own CSV) → ingest → inspect → train/forecast → compare → report.
      Raw plates are pseudonymised with a keyed HMAC at ingest unless you pass --keep-raw-plates.
      """,
    version: ToolkitInfo.version,
    subcommands: [SelfCheck.self, Simulate.self, Ingest.self, Inspect.self, Purge.self, Compact.self, Stats.self, Merge.self, Keygen.self, Train.self, Models.self, Forecast.self, Evaluate.self, Compare.self, SweepCommand.self, PredictRoute.self, Link.self, NextAppearance.self, Report.self, Audit.self, Reveal.self]
  )

  /// Says so when a write clears a temporary file an interrupted run left, removes the temporary
  /// files being written if a signal ends the run, then runs the command.
  static func main() {
    // One OpenBLAS thread: the model fits' threaded routines (`dsyrk`, `dpotrf`) give results that differ
    // in the last digits with the number of threads that split them — so with the machine's core count —
    // and on the fits' small matrices the threads gain nothing measurable (BENCHMARKS.md, issue 17).
    // Linkage's large products take the worker threads for themselves (`BLAS.withThreadCount`);
    // `selfcheck --threads` sets any count.
    BLAS.setThreadCount(1)
    keepFreedMemoryForReuse()
    OutputFile.staleRemoved = { FileHandle.standardError.write(Data("removed \($0), a temporary file an interrupted run left behind\n".utf8)) }
    OutputFile.removeTemporariesOnSignals()
    main(nil)
  }
}

/// glibc returns freed memory at the top of the heap to the system once 128 KB–64 MB of it is free (the
/// threshold moves with the largest block freed), and maps blocks over that threshold afresh. The model
/// fits free and allocate arrays of a few hundred kilobytes to a few megabytes at every iteration (a GLM's
/// weights and working response over its rows), so each came back as fresh pages: a tenth of the NB GLM's
/// backtest time was the kernel zeroing them (`perf`: page faults 9%; sys 0.5 s of 4.5 s). Blocks up to
/// 32 MB now come from the heap and up to 128 MB of free heap is kept for reuse (glibc's `GLIBC_TUNABLES`,
/// set by the user, still wins). Larger blocks (a store's columns) are mapped and returned as before.
func keepFreedMemoryForReuse() {
  #if os(Linux)
  if ProcessInfo.processInfo.environment["GLIBC_TUNABLES"]?.contains("malloc") == true { return }
  // mallopt(3) from <malloc.h>, which the Glibc module does not export; M_TRIM_THRESHOLD is −1 and
  // M_MMAP_THRESHOLD −3 there.
  typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
  guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
  let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
  _ = mallopt(-3, 32 << 20)
  _ = mallopt(-1, 128 << 20)
  #endif
}

/// A run-time failure with a message that says what to do next; exits with code 1.
struct CLIError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

extension ANPR {
  struct SelfCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "selfcheck", abstract: "Check that OpenBLAS and LAPACKE are linked and give known answers.")

    @Option(help: "BLAS threads to use (default: 1, as every command uses for its model fits).") var threads: Int?

    func run() throws {
      if let threads { BLAS.setThreadCount(threads) }
      var failed = false
      for check in LinalgSelfCheck.run() {
        print("\(check.passed ? "ok  " : "FAIL") \(check.name): \(check.detail)")
        failed = failed || !check.passed
      }
      if failed { throw CLIError("linear-algebra self-check failed; is libopenblas-dev installed? Run scripts/install-deps.sh") }
    }
  }
}
