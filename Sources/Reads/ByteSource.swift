import CZlib
import Foundation

/// A stream of bytes from a file, a gzip file (detected from its magic bytes, not its name), or
/// standard input (`-`), read in large chunks. Gzip is inflated here with zlib's `inflate`, member by
/// member to the end of the input, each member's trailer (CRC-32 and length) checked: a stream cut short,
/// a damaged member, or bytes after the last member that are not gzip are errors naming the compressed
/// byte offset, never a silent end of input.
public final class ByteSource {
  /// What the user called the input (a path, or `<stdin>`); used in every error message.
  public let name: String
  /// Accept a gzip stream that stops before its end, or is followed by bytes that are not gzip
  /// (`truncated` is then set), instead of failing.
  public var allowTruncated = false
  /// The input stopped before its end, or had data after it (only with `allowTruncated`; otherwise reading throws).
  public private(set) var truncated = false
  /// Gzip members read to their end so far.
  public private(set) var gzipMembers = 0
  private var decompressed: Int64 = 0
  /// The size on disk when known (plain files), for progress percentages.
  public let sizeOnDisk: Int64?
  /// Raw descriptor of a file or standard input (-1 for bytes in memory).
  private var fd: Int32 = -1
  private var inflater: GzipInflater?
  /// Plain-file byte range read with `pread` (parallel ingest): next offset, end.
  private var rangeStart: Int64 = 0
  private var rangeNext: Int64 = 0
  private var rangeEnd: Int64 = 0
  private var isRange = false
  /// Raw bytes consumed from `fd` (plain input).
  private var rawConsumed: Int64 = 0
  /// Decompressed bytes read ahead (`peek`) or given (`init(bytes:)`), handed out before the rest.
  private var prefix: [UInt8] = []
  private var prefixNext = 0

  /// Opens `path` (or standard input when `path == "-"`).
  /// - Throws: `IngestError.cannotOpen` naming the file and the system's reason.
  public init(path: String) throws(IngestError) {
    if path == "-" {
      fd = dup(0)
      name = "<stdin>"
      sizeOnDisk = nil
      guard fd >= 0 else { throw .cannotOpen(file: name, reason: "cannot read standard input") }
    } else {
      var st = stat()
      guard stat(path, &st) == 0 else {
        throw .cannotOpen(file: path, reason: String(cString: strerror(errno)))
      }
      if (st.st_mode & S_IFMT) == S_IFDIR { throw .cannotOpen(file: path, reason: "is a directory") }
      name = path
      fd = open(path, O_RDONLY)
      guard fd >= 0 else { throw .cannotOpen(file: path, reason: String(cString: strerror(errno))) }
      sizeOnDisk = Int64(st.st_size)
    }
    // Sniff the gzip magic; the bytes read stay in the inflater's input or the plain prefix.
    var head: [UInt8] = []
    var one: UInt8 = 0
    while head.count < 2 {
      let n = Foundation.read(fd, &one, 1)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { break }
      head.append(one)
    }
    if head == [0x1F, 0x8B] {
      inflater = try GzipInflater(name: name, initialInput: head)
    } else {
      prefix = head
      rawConsumed = Int64(head.count)
    }
  }

  /// Reads only bytes `range` of a plain (uncompressed) file, for one worker of a parallel ingest.
  public init(path: String, range: Range<Int64>) throws(IngestError) {
    fd = open(path, O_RDONLY)
    name = path
    sizeOnDisk = range.upperBound - range.lowerBound
    guard fd >= 0 else { throw .cannotOpen(file: path, reason: String(cString: strerror(errno))) }
    isRange = true
    rangeStart = range.lowerBound; rangeNext = range.lowerBound; rangeEnd = range.upperBound
  }

  /// A source over bytes in memory (a sample of a file, a test).
  public init(bytes: [UInt8], name: String) {
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

  deinit { if fd >= 0 { close(fd) } }

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
    if fd < 0 || truncated { return 0 }
    if isRange {
      let want = Int(min(Int64(count), rangeEnd - rangeNext))
      if want <= 0 { return 0 }
      while true {
        let n = pread(fd, buffer, want, off_t(rangeNext))
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw .cannotOpen(file: name, reason: String(cString: strerror(errno))) }
        rangeNext += Int64(n)
        return n
      }
    }
    guard let inflater else {
      while true {
        let n = Foundation.read(fd, buffer, count)
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw .cannotOpen(file: name, reason: String(cString: strerror(errno))) }
        rawConsumed += Int64(n)
        decompressed += Int64(n)
        return n
      }
    }
    do {
      let n = try inflater.read(from: fd, into: buffer, count: count)
      gzipMembers = inflater.membersEnded
      decompressed += Int64(n)
      return n
    } catch let stop as GzipInflater.Stop {
      gzipMembers = inflater.membersEnded
      if allowTruncated { truncated = true; return 0 }
      throw .corruptInput(file: name, reason: stop.message + "; pass --allow-truncated to keep the rows read so far")
    } catch let e as IngestError { throw e } catch { throw .corruptInput(file: name, reason: "\(error)") }
  }

  /// Compressed bytes consumed so far (for progress on gzip input), or bytes read for plain files.
  public var position: Int64 { isRange ? rangeNext - rangeStart : inflater?.compressedConsumed ?? rawConsumed }
}

/// Gzip inflation over a raw descriptor: every member to its end, then either another member or the
/// end of input. zlib checks each member's trailer (CRC-32 and length of the data).
final class GzipInflater {
  /// Why reading stopped early: cut short, or bytes after the last member that are not gzip.
  struct Stop: Error { let message: String }

  private let name: String
  private let stream: UnsafeMutablePointer<z_stream>
  private let input: UnsafeMutablePointer<UInt8>
  private let inputCapacity = 1 << 20
  private var rawEOF = false
  private var memberEnded = false
  private var rawRead: Int64 = 0
  private(set) var membersEnded = 0

  init(name: String, initialInput: [UInt8]) throws(IngestError) {
    self.name = name
    stream = .allocate(capacity: 1)
    stream.initialize(to: z_stream())
    input = .allocate(capacity: inputCapacity)
    initialInput.withUnsafeBufferPointer { input.update(from: $0.baseAddress!, count: $0.count) }
    stream.pointee.next_in = input
    stream.pointee.avail_in = uInt(initialInput.count)
    rawRead = Int64(initialInput.count)
    // 15 + 16: a gzip wrapper (not zlib, not raw deflate), the largest window.
    guard inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw .corruptInput(file: name, reason: "cannot start gzip decompression")
    }
  }

  deinit {
    inflateEnd(stream)
    stream.deallocate()
    input.deallocate()
  }

  /// Compressed bytes used so far (read from the input and handed to zlib).
  var compressedConsumed: Int64 { rawRead - Int64(stream.pointee.avail_in) }

  /// Refills the input buffer when it is empty; `false` at the end of the raw input.
  private func fill(from fd: Int32) throws(IngestError) -> Bool {
    if stream.pointee.avail_in > 0 { return true }
    if rawEOF { return false }
    while true {
      let n = Foundation.read(fd, input, inputCapacity)
      if n < 0 && errno == EINTR { continue }
      if n < 0 { throw .cannotOpen(file: name, reason: String(cString: strerror(errno))) }
      if n == 0 { rawEOF = true; return false }
      rawRead += Int64(n)
      stream.pointee.next_in = input
      stream.pointee.avail_in = uInt(n)
      return true
    }
  }

  /// Up to `count` decompressed bytes; 0 at the clean end of the last member.
  func read(from fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) throws -> Int {
    while true {
      if memberEnded {
        // Another member, or the end: anything else after a member is refused.
        guard try fill(from: fd) else { return 0 }
        if stream.pointee.next_in[0] != 0x1F || (stream.pointee.avail_in >= 2 && stream.pointee.next_in[1] != 0x8B) {
          throw Stop(message: "has data after the end of its gzip stream at compressed byte \(compressedConsumed) that is not gzip (a file appended to a .gz?); nothing after that point would be read")
        }
        inflateReset(stream)
        memberEnded = false
      }
      let haveInput = try fill(from: fd)
      stream.pointee.next_out = buffer.assumingMemoryBound(to: UInt8.self)
      stream.pointee.avail_out = uInt(min(count, Int(UInt32.max)))
      let before = stream.pointee.avail_out
      let status = inflate(stream, Z_NO_FLUSH)
      let produced = Int(before - stream.pointee.avail_out)
      switch status {
      case Z_STREAM_END:
        memberEnded = true
        membersEnded += 1
      case Z_OK:
        break
      case Z_BUF_ERROR where !haveInput:
        throw Stop(message: "the gzip stream stops at compressed byte \(compressedConsumed) before its end (the file was cut short)")
      case Z_BUF_ERROR:
        break
      default:
        let detail = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
        throw IngestError.corruptInput(file: name, reason: "gzip data is damaged at compressed byte \(compressedConsumed) (\(detail))")
      }
      if produced > 0 { return produced }
      if !haveInput && !memberEnded {
        throw Stop(message: "the gzip stream stops at compressed byte \(compressedConsumed) before its end (the file was cut short)")
      }
    }
  }
}
