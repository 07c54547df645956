import Crypto
import Foundation
import Reads

/// One line of the audit log. A command that takes or reveals a plate, or reads a store, writes a
/// `query` entry before it runs (no entry, no run) and a `result` entry when it ends; a request the
/// rules refuse is written as `refused`. Plates never appear: arguments carry pseudonyms instead.
public struct AuditEntry: Codable, Equatable, Sendable {
  public enum Phase: String, Codable, Sendable { case query, result, refused }
  /// 1, 2, 3, … in file order.
  public var seq: Int
  /// SHA-256 (hex) of the previous line's bytes; 64 zeros for the first line. Any edit, deletion or
  /// reordering breaks the chain at the first changed line.
  public var prev: String
  /// When the entry was written (UTC, ISO 8601).
  public var time: String
  public var phase: Phase
  /// Who, as they said (`--user`), and the operating-system account that ran the command.
  public var user: String
  public var osUser: String
  public var command: String
  /// The command line, plates replaced by pseudonyms (`query` and `refused` only).
  public var arguments: [String]?
  /// The case or incident reference given with `--reason`.
  public var reason: String?
  /// The authority reference given with `--authority` (reads past the policy's authority age).
  public var authority: String?
  /// The store or vault the command read, and the store's id.
  public var store: String?
  public var storeID: String?
  /// Pseudonyms (or periods of use) the command looked up.
  public var pseudonyms: [String]?
  /// For `result`: the `seq` of its query, `ok` or the failure, and what was returned (counts only).
  public var query: Int?
  public var status: String?
  public var counts: [String: Int]?

  public init(phase: Phase, user: String, osUser: String, command: String) {
    seq = 0; prev = ""; time = ""
    self.phase = phase; self.user = user; self.osUser = osUser; self.command = command
  }
}

/// Why an audit log could not be written or read.
public enum AuditError: Error, CustomStringConvertible, Equatable {
  case cannotWrite(file: String, reason: String)
  case cannotRead(file: String, reason: String)
  public var description: String {
    switch self {
    case let .cannotWrite(f, r): return "\(f): cannot write the audit log (\(r)); the command did not run"
    case let .cannotRead(f, r): return "\(f): cannot read the audit log (\(r))"
    }
  }
}

/// The append-only, hash-chained audit log (JSON lines) and its head file (`LOG.head`: the number of
/// entries and the last entry's hash), which makes truncation detectable: a log cut back to an earlier
/// line still chains, but no longer reaches the head.
///
/// Appends are serialised across processes by an exclusive `flock` on the log and synced to disk
/// before the command goes on.
public struct AuditLog: Sendable {
  public let path: String
  public var headPath: String { path + ".head" }
  public static let genesis = String(repeating: "0", count: 64)

  public init(path: String) { self.path = path }

  /// Where a command's entries go: `explicit` (`--audit`), else the path the store's header records
  /// (relative to the store's folder), else `STORE.audit.jsonl` beside the store.
  public static func path(explicit: String?, store: String?, recorded: String?) -> String? {
    if let explicit { return explicit }
    guard let store else { return nil }
    if let recorded {
      let dir = PathParts(store).directory
      return recorded.hasPrefix("/") || dir.isEmpty ? recorded : dir + "/" + recorded
    }
    return store + ".audit.jsonl"
  }

  static func hash(_ line: some Sequence<UInt8>) -> String {
    SHA256.hash(data: Array(line)).map { String(format: "%02x", $0) }.joined()
  }

  static let encoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return e
  }()

  /// Appends `entry` (its `seq`, `prev` and `time` filled in here) and returns it as written.
  /// - Throws: `AuditError.cannotWrite` when the log cannot be opened, locked, extended or synced, or
  ///   its last line is cut short (run `anpr audit verify`).
  @discardableResult
  public func append(_ entry: AuditEntry, now: Date = Date()) throws(AuditError) -> AuditEntry {
    let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw .cannotWrite(file: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    while flock(fd, LOCK_EX) != 0 {
      if errno != EINTR { throw .cannotWrite(file: path, reason: String(cString: strerror(errno))) }
    }
    defer { flock(fd, LOCK_UN) }
    var e = entry
    (e.seq, e.prev) = try lastLink(fd)
    try requireHeadAgrees(lastSeq: e.seq - 1, lastHash: e.prev)
    e.time = Timestamp.iso8601(Int64(now.timeIntervalSince1970))
    var line: [UInt8]
    do { line = Array(try Self.encoder.encode(e)) } catch { throw .cannotWrite(file: path, reason: "\(error)") }
    let digest = Self.hash(line)
    line.append(0x0A)
    var off = 0
    while off < line.count {
      let n = line.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + off, line.count - off) }
      if n < 0 { if errno == EINTR { continue }; throw .cannotWrite(file: path, reason: String(cString: strerror(errno))) }
      off += n
    }
    if fsync(fd) != 0 { throw .cannotWrite(file: path, reason: String(cString: strerror(errno))) }
    // The head is rewritten whole (a temporary file renamed over it); a crash before the rename
    // leaves the head one entry behind, which `verify` reports as a note, never as tampering. Not
    // through OutputFile: the head needs no sync of its own (the line it names was synced), and the
    // store's crash-test failpoints belong to the store's writes.
    try writeHead("{\"entries\":\(e.seq),\"last\":\"\(digest)\"}\n")
    return e
  }

  private func writeHead(_ text: String) throws(AuditError) {
    OutputFile.removeStale(beside: headPath)
    let tmp = headPath + OutputFile.temporaryMarker + "\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw .cannotWrite(file: headPath, reason: String(cString: strerror(errno))) }
    let bytes = Array(text.utf8)
    let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress!, $0.count) }
    close(fd)
    guard n == bytes.count, rename(tmp, headPath) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(tmp)
      throw .cannotWrite(file: headPath, reason: reason)
    }
  }

  /// Refuses to extend a log that does not reach its head: truncated (the head records more entries),
  /// its head deleted, or its last line edited. A head one entry behind (a command interrupted between
  /// its line and its head) is allowed: the next head repairs it. Edits further back are found by
  /// `anpr audit verify`, which reads the whole log.
  func requireHeadAgrees(lastSeq: Int, lastHash: String) throws(AuditError) {
    let data = FileManager.default.contents(atPath: headPath)
    if lastSeq == 0 {
      if data != nil, let head = try? JSONDecoder().decode(Head.self, from: data!), head.entries > 0 {
        throw .cannotWrite(file: path, reason: "the log is empty but its head records \(head.entries) entries: it was truncated or replaced; run 'anpr audit verify \(path)'")
      }
      return
    }
    guard let data, let head = try? JSONDecoder().decode(Head.self, from: data) else {
      throw .cannotWrite(file: path, reason: "its head file \(headPath) is missing or damaged, so the log cannot be shown whole; run 'anpr audit verify \(path)'")
    }
    if head.entries > lastSeq {
      throw .cannotWrite(file: path, reason: "the log ends at entry \(lastSeq) but its head records \(head.entries): it was truncated; run 'anpr audit verify \(path)'")
    }
    if head.entries == lastSeq && head.last != lastHash {
      throw .cannotWrite(file: path, reason: "its last entry does not match its head: it was edited; run 'anpr audit verify \(path)'")
    }
    if head.entries < lastSeq - 1 {
      throw .cannotWrite(file: path, reason: "the log holds \(lastSeq) entries but its head records \(head.entries); run 'anpr audit verify \(path)'")
    }
  }

  struct Head: Decodable { var entries: Int; var last: String }

  /// The next entry's `seq` and `prev`, from the last line of the open log.
  private func lastLink(_ fd: Int32) throws(AuditError) -> (Int, String) {
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw .cannotWrite(file: path, reason: String(cString: strerror(errno))) }
    let size = Int(st.st_size)
    if size == 0 { return (1, Self.genesis) }
    // Read back from the end until the start of the last line.
    var tail: [UInt8] = []
    var chunk = 4096
    while true {
      let start = max(0, size - chunk)
      tail = [UInt8](repeating: 0, count: size - start)
      let n = tail.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, size - start, off_t(start)) }
      guard n == size - start else { throw .cannotWrite(file: path, reason: "cannot read its last entry") }
      guard tail.last == 0x0A else {
        throw .cannotWrite(file: path, reason: "its last line is cut short; run 'anpr audit verify \(path)'")
      }
      if let nl = tail.dropLast().lastIndex(of: 0x0A) { tail = Array(tail[(nl + 1)...]); break }
      if start == 0 { break }
      chunk *= 4
    }
    let line = tail.dropLast()
    guard let last = try? JSONDecoder().decode(AuditEntry.self, from: Data(line)) else {
      throw .cannotWrite(file: path, reason: "its last line is not an audit entry; run 'anpr audit verify \(path)'")
    }
    return (last.seq + 1, Self.hash(line))
  }

  /// What `verify` found: every entry read, and the first bad line with the reason when the log was
  /// edited, cut or reordered.
  public struct Verification: Sendable, Equatable {
    public var entries: [AuditEntry]
    /// 1-based line and what is wrong there.
    public var firstBad: (line: Int, reason: String)?
    public var notes: [String]
    public var ok: Bool { firstBad == nil }
    public static func == (a: Self, b: Self) -> Bool {
      a.entries == b.entries && a.firstBad?.line == b.firstBad?.line && a.firstBad?.reason == b.firstBad?.reason && a.notes == b.notes
    }
  }

  /// Reads the whole log and checks its chain and head.
  public func verify() throws(AuditError) -> Verification {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .cannotRead(file: path, reason: FileManager.default.fileExists(atPath: path) ? "unreadable" : "no such file")
    }
    let bytes = [UInt8](data)
    var v = Verification(entries: [], firstBad: nil, notes: [])
    var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    if lines.last?.isEmpty == true { lines.removeLast() }
    var prevHash = Self.genesis
    let decoder = JSONDecoder()
    func bad(_ line: Int, _ reason: String) -> Verification { var w = v; w.firstBad = (line, reason); return w }
    for (k, line) in lines.enumerated() {
      let n = k + 1
      if n == lines.count && bytes.last != 0x0A {
        return bad(n, "the last line is cut short (the log was truncated inside an entry)")
      }
      guard let e = try? decoder.decode(AuditEntry.self, from: Data(line)) else {
        return bad(n, "is not an audit entry (edited)")
      }
      if e.seq != n {
        return bad(n, e.seq > n ? "holds entry \(e.seq) where entry \(n) belongs: entries before it were deleted, or lines reordered"
                               : "holds entry \(e.seq) where entry \(n) belongs: lines were reordered or copied")
      }
      if e.prev != prevHash {
        // This line's link does not match the line before: that line (or this link) was changed.
        if !v.entries.isEmpty { v.entries.removeLast() }
        return bad(n - 1, "changed after it was written: entry \(n) recorded a different hash for it")
      }
      prevHash = Self.hash(line)
      v.entries.append(e)
    }
    guard let headData = FileManager.default.contents(atPath: headPath) else {
      if lines.isEmpty { return v }
      return bad(lines.count, "the head file \(headPath) is missing, so truncation cannot be ruled out")
    }
    guard let head = try? decoder.decode(Head.self, from: headData) else {
      return bad(lines.count, "the head file \(headPath) is not a head (edited)")
    }
    if head.entries > lines.count {
      return bad(lines.count + 1, "missing: the log ends after entry \(lines.count) but its head records \(head.entries) entries (truncated)")
    }
    if head.entries > 0 {
      let recorded = Self.hash(lines[head.entries - 1])
      if recorded != head.last {
        v.entries = Array(v.entries.prefix(head.entries - 1))
        return bad(head.entries, "changed after it was written: its hash is not the one the head recorded")
      }
    }
    if head.entries < lines.count {
      v.notes.append("\(lines.count - head.entries) entr\(lines.count - head.entries == 1 ? "y was" : "ies were") written after the head was last updated (an interrupted command); the chain holds")
    }
    return v
  }
}
