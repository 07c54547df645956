/// One CSV record as the reader hands it out: its fields (unquoted), the physical line it starts
/// on, and its raw bytes (for the rejects file). Valid only inside the callback that receives it.
public struct CSVRecord {
  /// 1-based line number in the file where the record starts (the header is line 1).
  public let line: Int
  @usableFromInline let fields: UnsafeBufferPointer<UnsafeBufferPointer<UInt8>>
  /// The record's bytes as they were in the file, without the line ending.
  public let raw: UnsafeBufferPointer<UInt8>

  /// Number of fields.
  @inlinable public var count: Int { fields.count }

  /// Field `i` as bytes (quotes removed, `""` unescaped).
  @inlinable public func bytes(_ i: Int) -> UnsafeBufferPointer<UInt8> { fields[i] }

  /// Field `i` as a string (decoding UTF-8, replacing invalid sequences).
  public func string(_ i: Int) -> String { String(decoding: fields[i], as: UTF8.self) }

  /// Field `i` with ASCII spaces and tabs trimmed from both ends.
  @inlinable public func trimmed(_ i: Int) -> UnsafeBufferPointer<UInt8> {
    let f = fields[i]
    var s = 0, e = f.count
    while s < e, f[s] == 0x20 || f[s] == 0x09 { s += 1 }
    while e > s, f[e - 1] == 0x20 || f[e - 1] == 0x09 { e -= 1 }
    return UnsafeBufferPointer(rebasing: f[s..<e])
  }

  /// The raw record as a string (for error messages and rejects).
  public var rawString: String { String(decoding: raw, as: UTF8.self) }
}

/// A streaming RFC 4180 CSV reader over bytes: quoted fields with embedded commas, quotes (`""`)
/// and newlines; LF or CRLF line endings; a UTF-8 byte-order mark at the start is skipped.
/// It never builds a `String` per line: unquoted fields point into the read buffer (no copy), and
/// quoted ones are unescaped into a scratch buffer.
///
/// - Complexity: O(bytes), one pass; memory is the chunk size plus the longest record.
public struct CSVReader {
  private let source: ByteSource
  private let chunkSize: Int
  /// Records longer than this are an error (a missing closing quote would otherwise swallow the file).
  public var maxRecordBytes = 1 << 20

  public init(source: ByteSource, chunkSize: Int = 1 << 20) {
    self.source = source
    self.chunkSize = max(1, chunkSize)
  }

  /// Calls `body` for each record, in order, including the header (line 1).
  /// Blank lines are passed as records with one empty field, so the caller accounts for them.
  /// - Parameter skipByteOrderMark: skip a UTF-8 BOM at the start (false for a worker reading from
  ///   the middle of a file).
  /// - Returns: the number of physical lines read.
  /// - Throws: `IngestError.unterminatedQuote` / `.recordTooLong`, read errors, or what `body` throws.
  @discardableResult
  public func forEachRecord(skipByteOrderMark: Bool = true, _ body: (CSVRecord) throws -> Void) throws -> Int {
    let scratchCap = maxRecordBytes + 16
    let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: scratchCap)
    defer { scratch.deallocate() }
    // Field views of the current record, in raw storage (grown when a record has more fields).
    var fieldCapacity = 64
    var fields = UnsafeMutablePointer<UnsafeBufferPointer<UInt8>>.allocate(capacity: fieldCapacity)
    defer { fields.deallocate() }
    var fieldCount = 0
    @inline(__always) func addField(_ f: UnsafeBufferPointer<UInt8>) {
      if fieldCount == fieldCapacity {
        let bigger = UnsafeMutablePointer<UnsafeBufferPointer<UInt8>>.allocate(capacity: fieldCapacity * 2)
        bigger.moveInitialize(from: fields, count: fieldCount)
        fields.deallocate()
        fields = bigger; fieldCapacity *= 2
      }
      (fields + fieldCount).initialize(to: f)
      fieldCount += 1
    }
    var buffer = [UInt8]()   // carried-over bytes + new chunk
    var chunk = [UInt8](repeating: 0, count: chunkSize)
    var line = 1
    var first = skipByteOrderMark
    var eof = false

    while !eof || !buffer.isEmpty {
      if !eof {
        let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0.baseAddress!, count: chunkSize) }
        if n == 0 { eof = true } else { buffer.append(contentsOf: chunk[0..<n]) }
        if !eof && buffer.count < 4 { continue }
      }
      if first {
        if buffer.count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { buffer.removeFirst(3) }
        first = false
      }
      let total = buffer.count
      var consumed = 0
      try buffer.withUnsafeBufferPointer { buf in
        let base = buf.baseAddress!
        var pos = 0
        while pos < total {
          fieldCount = 0
          let recordStart = pos
          var p = pos
          var newlines = 0
          var complete = false
          var recordEnd = total
          var scratchUsed = 0
          fieldLoop: while true {
            // One field starting at p.
            if p < total && buf[p] == 0x22 {
              // Quoted: unescape into scratch.
              let fs = scratchUsed
              p += 1
              while true {
                if p >= total { if eof { throw IngestError.unterminatedQuote(file: source.name, line: line) }; break fieldLoop }
                let c = buf[p]
                if c == 0x22 {
                  if p + 1 >= total && !eof { break fieldLoop }  // need the next byte to decide
                  if p + 1 < total && buf[p + 1] == 0x22 { scratch[scratchUsed] = 0x22; scratchUsed += 1; p += 2; continue }
                  p += 1
                  break
                }
                if c == 0x0A { newlines += 1 }
                scratch[scratchUsed] = c; scratchUsed += 1; p += 1
                if scratchUsed >= maxRecordBytes { throw IngestError.unterminatedQuote(file: source.name, line: line) }
              }
              // Bytes after the closing quote up to the delimiter are kept literally (lenient).
              while p < total && buf[p] != 0x2C && buf[p] != 0x0A {
                if buf[p] != 0x0D || (p + 1 < total && buf[p + 1] != 0x0A) { scratch[scratchUsed] = buf[p]; scratchUsed += 1 }
                p += 1
              }
              addField(UnsafeBufferPointer(start: scratch + fs, count: scratchUsed - fs))
            } else {
              let fs = p
              p = nextDelimiter(base, from: p, total: total)
              var fe = p
              if p < total && buf[p] == 0x0A && fe > fs && buf[fe - 1] == 0x0D { fe -= 1 }
              if p >= total && eof && fe > fs && buf[fe - 1] == 0x0D { fe -= 1 }
              addField(UnsafeBufferPointer(start: base + fs, count: fe - fs))
            }
            if p - recordStart > maxRecordBytes {
              throw IngestError.recordTooLong(file: source.name, line: line, limit: maxRecordBytes)
            }
            if p >= total {
              if eof { complete = true; recordEnd = total; if recordEnd > recordStart && buf[recordEnd - 1] == 0x0D { recordEnd -= 1 } }
              break
            }
            if buf[p] == 0x2C { p += 1; continue }
            // newline
            recordEnd = (p > recordStart && buf[p - 1] == 0x0D) ? p - 1 : p
            p += 1
            complete = true
            break
          }
          if !complete { break }  // incomplete record: wait for more bytes
          let thisLine = line
          line += 1 + newlines
          try body(CSVRecord(line: thisLine, fields: UnsafeBufferPointer(start: fields, count: fieldCount),
                             raw: UnsafeBufferPointer(start: base + recordStart, count: recordEnd - recordStart)))
          pos = p
          consumed = p
        }
      }
      if consumed > 0 { buffer.removeFirst(consumed) }
      if eof && !buffer.isEmpty && consumed == 0 {
        throw IngestError.unterminatedQuote(file: source.name, line: line)
      }
      if total - consumed > maxRecordBytes { throw IngestError.recordTooLong(file: source.name, line: line, limit: maxRecordBytes) }
    }
    return line - 1
  }
}

/// Position of the first `,` or line feed at or after `from` (or `total`), eight bytes at a time: the
/// classic "has zero byte" test on the word XORed with each delimiter (the lowest flagged byte is
/// always a true match), then byte by byte for the tail.
@inline(__always) func nextDelimiter(_ base: UnsafePointer<UInt8>, from: Int, total: Int) -> Int {
  var p = from
  let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
  while p + 8 <= total {
    let w = UInt64(littleEndian: UnsafeRawPointer(base + p).loadUnaligned(as: UInt64.self))
    let c = w ^ (0x2C &* ones), n = w ^ (0x0A &* ones)
    let hit = ((c &- ones) & ~c & highs) | ((n &- ones) & ~n & highs)
    if hit != 0 { return p + hit.trailingZeroBitCount / 8 }
    p += 8
  }
  while p < total && base[p] != 0x2C && base[p] != 0x0A { p += 1 }
  return p
}
