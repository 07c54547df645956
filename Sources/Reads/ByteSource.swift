import CZlib
import Foundation

/// A stream of bytes from a file, a gzip file (detected from its magic bytes, not its name), or
/// standard input (`-`), read in large chunks through zlib's `gzread`, which passes plain files
/// through unchanged.
public final class ByteSource {
  /// What the user called the input (a path, or `<stdin>`); used in every error message.
  public let name: String
  /// Accept a gzip stream that stops before its end (`truncated` is then set) instead of failing.
  public var allowTruncated = false
  /// The gzip stream stopped before its end (only with `allowTruncated`; otherwise reading throws).
  public private(set) var truncated = false
  private var decompressed: Int64 = 0
  /// The size on disk when known (plain files), for progress percentages.
  public let sizeOnDisk: Int64?
  private let handle: gzFile?
  /// Plain-file byte range read with `pread` (parallel ingest): descriptor, next offset, end.
  private var rangeFD: Int32 = -1
  private var rangeStart: Int64 = 0
  private var rangeNext: Int64 = 0
  private var rangeEnd: Int64 = 0
  /// Decompressed bytes read ahead (`peek`) or given (`init(bytes:)`), handed out before the rest.
  private var prefix: [UInt8] = []
  private var prefixNext = 0

  /// Opens `path` (or standard input when `path == "-"`).
  /// - Throws: `IngestError.cannotOpen` naming the file and the system's reason.
  public init(path: String) throws(IngestError) {
    if path == "-" {
      guard let h = gzdopen(dup(0), "rb") else { throw .cannotOpen(file: "<stdin>", reason: "cannot read standard input") }
      handle = h
      name = "<stdin>"
      sizeOnDisk = nil
    } else {
      var st = stat()
      guard stat(path, &st) == 0 else {
        throw .cannotOpen(file: path, reason: String(cString: strerror(errno)))
      }
      if (st.st_mode & S_IFMT) == S_IFDIR { throw .cannotOpen(file: path, reason: "is a directory") }
      guard let h = gzopen(path, "rb") else {
        throw .cannotOpen(file: path, reason: String(cString: strerror(errno)))
      }
      handle = h
      name = path
      sizeOnDisk = Int64(st.st_size)
    }
    gzbuffer(handle, 1 << 20)
  }

  /// Reads only bytes `range` of a plain (uncompressed) file, for one worker of a parallel ingest.
  public init(path: String, range: Range<Int64>) throws(IngestError) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw .cannotOpen(file: path, reason: String(cString: strerror(errno))) }
    handle = nil
    name = path
    sizeOnDisk = range.upperBound - range.lowerBound
    rangeFD = fd; rangeStart = range.lowerBound; rangeNext = range.lowerBound; rangeEnd = range.upperBound
  }

  /// A source over bytes in memory (a sample of a file, a test).
  public init(bytes: [UInt8], name: String) {
    handle = nil
    self.name = name
    sizeOnDisk = Int64(bytes.count)
    prefix = bytes
  }

  /// The first `count` bytes of the (decompressed) stream, without consuming them: later reads hand
  /// them out first. For looking at the start of standard input before reading it.
  /// - Throws: `IngestError.corruptInput` when the gzip stream is damaged.
  public func peek(_ count: Int) throws(IngestError) -> [UInt8] {
    let chunk = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 1)
    defer { chunk.deallocate() }
    while prefix.count - prefixNext < count {
      let want = min(1 << 16, count - (prefix.count - prefixNext))
      let n = try readUnderlying(into: chunk, count: want)
      if n == 0 { break }
      prefix += UnsafeRawBufferPointer(start: chunk, count: n)
    }
    return Array(prefix[prefixNext...])
  }

  deinit {
    if let handle { gzclose(handle) }
    if rangeFD >= 0 { close(rangeFD) }
  }

  /// `true` when `path` is a regular file that is not gzip-compressed (so byte ranges can be read
  /// independently); its size.
  public static func plainFileSize(_ path: String) -> Int64? {
    guard path != "-" else { return nil }
    var st = stat()
    guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var magic: [UInt8] = [0, 0]
    let n = pread(fd, &magic, 2, 0)
    if n == 2 && magic[0] == 0x1F && magic[1] == 0x8B { return nil }
    return Int64(st.st_size)
  }

  /// Reads up to `count` bytes into `buffer`; returns 0 at the end of input.
  /// - Throws: `IngestError.corruptInput` when the gzip stream is damaged or truncated.
  public func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(IngestError) -> Int {
    if prefixNext < prefix.count {
      let n = min(count, prefix.count - prefixNext)
      prefix.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + prefixNext, byteCount: n) }
      prefixNext += n
      if prefixNext == prefix.count { prefix = []; prefixNext = 0 }
      return n
    }
    return try readUnderlying(into: buffer, count: count)
  }

  private func readUnderlying(into buffer: UnsafeMutableRawPointer, count: Int) throws(IngestError) -> Int {
    guard let handle else {
      let want = Int(min(Int64(count), rangeEnd - rangeNext))
      if want <= 0 { return 0 }
      let n = pread(rangeFD, buffer, want, off_t(rangeNext))
      if n < 0 { throw .cannotOpen(file: name, reason: String(cString: strerror(errno))) }
      rangeNext += Int64(n)
      return n
    }
    let n = gzread(handle, buffer, UInt32(min(count, Int(Int32.max))))
    if n < 0 {
      var errnum: Int32 = 0
      let msg = gzerror(handle, &errnum).map { String(cString: $0) } ?? "read error"
      throw .corruptInput(file: name, reason: msg)
    }
    if n == 0 {
      // zlib ends a stream cut short (no trailer) as if it were complete, noting Z_BUF_ERROR.
      var errnum: Int32 = 0
      _ = gzerror(handle, &errnum)
      if errnum == Z_BUF_ERROR && !truncated {
        truncated = true
        if !allowTruncated {
          let at = gzoffset(handle) >= 0 ? "at compressed byte \(gzoffset(handle))" : "after \(decompressed) bytes of data"
          throw .corruptInput(file: name, reason: "the gzip stream stops \(at) before its end (the file was cut short); pass --allow-truncated to keep the rows read so far")
        }
      }
    }
    decompressed += Int64(n)
    return Int(n)
  }

  /// Compressed bytes consumed so far (for progress on gzip input), or bytes read for plain files.
  public var position: Int64 { handle.map { Int64(gzoffset($0)) } ?? (rangeNext - rangeStart) }
}
