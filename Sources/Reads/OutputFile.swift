import Foundation

/// A file a command writes, written safely:
/// - a regular file (or a new one) goes to a temporary file beside it, is synced and renamed over the
///   target, and the directory is synced, so a crash leaves the old file or the new one, never half;
/// - a symbolic link is followed: its target is replaced, the link kept;
/// - a FIFO, a character device or a socket (`/dev/null`, `/dev/stdout`, a pipe) is written through,
///   never replaced by a regular file;
/// - the temporary file is removed on any error, or when the writer is dropped without `commit()`.
public final class OutputFile {
  /// The path as the user gave it (for messages).
  public let path: String
  private let target: String
  private let temporary: String?
  private var fd: Int32
  private var done = false

  /// Temporary files of this tool are named `NAME.anprkit-tmp-PID` (`NAME.tmp-PID` before 0.x).
  public static let temporaryMarker = ".anprkit-tmp-"

  /// Told the path of each temporary file an interrupted run left beside a target (its process gone),
  /// as it is removed; the CLI prints it.
  nonisolated(unsafe) public static var staleRemoved: ((String) -> Void)?

  /// Removes temporary files of this tool whose process no longer exists: those of `target` itself,
  /// or (`family`) of any file whose name starts with the target's (a store's segments and manifest).
  public static func removeStale(beside target: String, family: Bool = false) {
    let dir = PathParts(target).directory
    let name = PathParts(target).name
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return }
    for e in entries where e.hasPrefix(name) {
      for marker in [temporaryMarker, ".tmp-"] {
        guard let r = e.range(of: marker, options: .backwards), family || e[..<r.lowerBound] == name,
          let pid = Int32(e[r.upperBound...]), pid > 0, pid != getpid() else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH {
          let path = dir.isEmpty ? e : (dir as NSString).appendingPathComponent(e)
          if unlink(path) == 0 { staleRemoved?(path) }
        }
        break
      }
    }
  }

  /// Temporary files being written now, as C strings, for the signal handler (fixed slots: a handler
  /// may not allocate).
  nonisolated(unsafe) private static let liveTemporaries: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
    let slots = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: liveSlots)
    slots.initialize(repeating: nil, count: liveSlots)
    return slots
  }()
  private static let liveSlots = 64
  private var liveSlot: Int?

  /// Makes SIGINT, SIGTERM, SIGHUP and SIGPIPE remove the temporary files being written before the
  /// process ends as the signal says (a SIGKILL cannot be caught: the next run removes them).
  public static func removeTemporariesOnSignals() {
    _ = liveTemporaries
    for sig in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] {
      signal(sig) { sig in
        for i in 0..<OutputFile.liveSlots { if let p = OutputFile.liveTemporaries[i] { unlink(p) } }
        signal(sig, SIG_DFL)
        raise(sig)
      }
    }
  }

  private func registerLive(_ path: String) {
    for i in 0..<Self.liveSlots where Self.liveTemporaries[i] == nil {
      Self.liveTemporaries[i] = strdup(path)
      liveSlot = i
      return
    }
  }

  private func unregisterLive() {
    guard let i = liveSlot else { return }
    let p = Self.liveTemporaries[i]
    Self.liveTemporaries[i] = nil
    free(p)
    liveSlot = nil
  }

  /// - Parameter permissions: mode of a newly created file (0600 for files holding raw plates).
  /// - Throws: `IngestError.cannotWrite` naming the file and the system's reason.
  public init(path: String, permissions: mode_t = 0o644) throws(IngestError) {
    self.path = path
    var resolved = path
    var st = stat()
    // Follow symbolic links by hand (realpath fails on a link to a file not yet made).
    var hops = 0
    while lstat(resolved, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK && hops < 40 {
      var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
      let n = readlink(resolved, &buffer, buffer.count - 1)
      guard n > 0 else { break }
      let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
      let dir = PathParts(resolved).directory
      resolved = link.hasPrefix("/") || dir.isEmpty ? link : (dir as NSString).appendingPathComponent(link)
      hops += 1
    }
    target = resolved
    let exists = stat(resolved, &st) == 0
    let kind = st.st_mode & S_IFMT
    if exists && kind == S_IFDIR { throw .cannotWrite(file: path, reason: "is a directory") }
    // The process's own streams are written through whatever they point at (`--out /dev/stdout >> log`).
    let ownStream = ["/dev/stdout", "/dev/stderr", "/dev/fd/", "/proc/self/fd/"].contains { path.hasPrefix($0) }
    if ownStream || (exists && kind != S_IFREG) {
      // A FIFO, device or socket: write through.
      fd = open(resolved, O_WRONLY)
      temporary = nil
    } else {
      Self.removeStale(beside: resolved)
      let tmp = resolved + Self.temporaryMarker + "\(getpid())"
      fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, permissions)
      // A replaced file never becomes more open than it was (a chmod 600 store stays 600).
      if fd >= 0 && exists { _ = fchmod(fd, st.st_mode & 0o777 & permissions) }
      temporary = tmp
    }
    if fd < 0 { throw .cannotWrite(file: path, reason: String(cString: strerror(errno))) }
    if let temporary { registerLive(temporary) }
  }

  deinit { if !done { discard() } }

  /// Appends bytes.
  public func write(_ data: Data) throws(IngestError) {
    let failure = data.withUnsafeBytes { writeAll($0) }
    if failure != 0 { throw .cannotWrite(file: path, reason: String(cString: strerror(failure))) }
  }

  public func write(_ bytes: [UInt8]) throws(IngestError) {
    let failure = bytes.withUnsafeBytes { writeAll($0) }
    if failure != 0 { throw .cannotWrite(file: path, reason: String(cString: strerror(failure))) }
  }

  public func write(_ text: String) throws(IngestError) { try write(Data(text.utf8)) }

  /// Writes all of `b`, retrying on interrupts; the errno of a failure, or 0.
  private func writeAll(_ b: UnsafeRawBufferPointer) -> Int32 {
    var off = 0
    while off < b.count {
      let n = Foundation.write(fd, b.baseAddress! + off, b.count - off)
      if n < 0 { if errno == EINTR { continue }; return errno }
      off += n
    }
    return 0
  }

  /// Makes the file the target: sync, close, rename over the target, sync the directory.
  public func commit() throws(IngestError) {
    guard !done else { return }
    done = true
    guard let temporary else { close(fd); return }
    defer { unregisterLive() }
    if fsync(fd) != 0 { let e = errno; close(fd); unlink(temporary); throw .cannotWrite(file: path, reason: String(cString: strerror(e))) }
    close(fd)
    Failpoint.reached("before-rename")
    if rename(temporary, target) != 0 {
      let e = errno
      unlink(temporary)
      throw .cannotWrite(file: path, reason: String(cString: strerror(e)))
    }
    let dir = PathParts(target).directory
    let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY)
    if dfd >= 0 { _ = fsync(dfd); close(dfd) }
  }

  /// Abandons the file: the target is untouched and the temporary file removed.
  public func discard() {
    guard !done else { return }
    done = true
    close(fd)
    if let temporary { unlink(temporary) }
    unregisterLive()
  }
}

/// Refuses a command whose output would overwrite one of its own inputs (the same file, by device and
/// inode, or the same path): `--rejects S.anpr`, `train --out SPEC`, `forecast --geojson MODEL`, ….
/// - Throws: `IngestError.cannotWrite` naming both options.
public func requireDistinct(outputs: [(option: String, path: String?)], inputs: [(option: String, path: String?)]) throws(IngestError) {
  func identity(_ p: String) -> String {
    var st = stat()
    if stat(p, &st) == 0 {
      let kind = st.st_mode & S_IFMT
      if kind != S_IFREG && kind != S_IFDIR { return "" }  // devices and FIFOs are written through, never replaced
      return "\(st.st_dev):\(st.st_ino)"
    }
    return URL(fileURLWithPath: p).standardizedFileURL.path
  }
  let ins = inputs.compactMap { i in i.path.flatMap { $0 == "-" ? nil : (i.option, $0, identity($0)) } }
  var seen: [String: String] = [:]
  for o in outputs {
    guard let p = o.path, p != "-" else { continue }
    let id = identity(p)
    if id.isEmpty { continue }
    if let clash = ins.first(where: { $0.2 == id }) {
      throw .cannotWrite(file: p, reason: "\(o.option) \(p) is also the input \(clash.0) \(clash.1); refusing to overwrite an input: choose another path")
    }
    if let other = seen[id] { throw .cannotWrite(file: p, reason: "\(o.option) and \(other) name the same file") }
    seen[id] = o.option
  }
}

/// An advisory lock (`flock`) on a store for one writer at a time: held on `STORE.lock` (never
/// renamed, so it outlives the store's atomic replacement) until released or the process exits. A
/// second `ingest` into the same store, or a `purge`, waits for the first instead of both writing and
/// one batch being lost.
public final class StoreLock {
  private let fd: Int32
  public let path: String

  /// - Parameter waiting: called once when another writer holds the lock, before blocking.
  /// - Throws: `IngestError.cannotWrite` when the lock file cannot be opened.
  public init(store: String, waiting: (() -> Void)? = nil) throws(IngestError) {
    path = store + ".lock"
    fd = open(path, O_RDWR | O_CREAT, 0o600)
    if fd < 0 { throw .cannotWrite(file: path, reason: String(cString: strerror(errno))) }
    if flock(fd, LOCK_EX | LOCK_NB) != 0 {
      waiting?()
      while flock(fd, LOCK_EX) != 0 {
        if errno != EINTR { let e = errno; close(fd); throw .cannotWrite(file: path, reason: String(cString: strerror(e))) }
      }
    }
  }

  deinit { flock(fd, LOCK_UN); close(fd) }
}

/// Named pauses in the write and open paths, for crash-safety tests: with `ANPRKIT_FAILPOINT=NAME` (or
/// `NAME:SECONDS`) in the environment, reaching `NAME` prints `failpoint NAME reached` to standard error
/// and sleeps a minute (or SECONDS), so a test can kill the process exactly there, or change the files
/// under it. Unset (always, outside tests), it costs one lookup.
public enum Failpoint {
  /// `before-rename` (a temporary file complete, not yet renamed), `after-segment` (a segment written,
  /// the manifest not yet), `after-rewrite` (a rewritten base renamed in, old segments not yet removed),
  /// `after-base-open` (a reader has the base file open, not yet its manifest).
  public static func reached(_ name: String) {
    guard let armed = ProcessInfo.processInfo.environment["ANPRKIT_FAILPOINT"] else { return }
    let parts = armed.split(separator: ":", maxSplits: 1)
    guard parts.first.map(String.init) == name else { return }
    FileHandle.standardError.write(Data("failpoint \(name) reached\n".utf8))
    sleep(parts.count > 1 ? UInt32(parts[1]) ?? 60 : 60)
  }
}

/// A path's folder and file name, split at the last "/" ("" for a bare name). Foundation's
/// `NSString.deletingLastPathComponent` trapped on a one-character bare name (`anpr keygen --out k`).
public struct PathParts: Sendable {
  public let directory: String
  public let name: String
  public init(_ path: String) {
    if let slash = path.lastIndex(of: "/") {
      directory = slash == path.startIndex ? "/" : String(path[..<slash])
      name = String(path[path.index(after: slash)...])
    } else {
      directory = ""
      name = path
    }
  }
}

/// `path` made absolute and standardised (to compare two paths to one file, or record one).
public func absolutePath(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
