import CZlib
import Foundation

/// A stream of bytes from a file, a gzip file (detected from its magic bytes, not its name), or
/// standard input (`-`), read in large chunks through zlib's `gzread`, which passes plain files
/// through unchanged.
public final class ByteSource {
  /// What the user called the input (a path, or `<stdin>`); used in every error message.
  public let name: String
  /// The size on disk when known (plain files), for progress percentages.
  public let sizeOnDisk: Int64?
  private let handle: gzFile

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

  deinit { gzclose(handle) }

  /// Reads up to `count` bytes into `buffer`; returns 0 at the end of input.
  /// - Throws: `IngestError.corruptInput` when the gzip stream is damaged or truncated.
  public func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(IngestError) -> Int {
    let n = gzread(handle, buffer, UInt32(min(count, Int(Int32.max))))
    if n < 0 {
      var errnum: Int32 = 0
      let msg = gzerror(handle, &errnum).map { String(cString: $0) } ?? "read error"
      throw .corruptInput(file: name, reason: msg)
    }
    return Int(n)
  }

  /// Compressed bytes consumed so far (for progress on gzip input), or bytes read for plain files.
  public var position: Int64 { Int64(gzoffset(handle)) }
}
