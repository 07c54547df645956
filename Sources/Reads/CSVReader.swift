/// One CSV record as the reader hands it out: its fields (unquoted), the physical line it starts
/// on, and its raw bytes (for the rejects file). Valid only inside the callback that receives it.
public struct CSVRecord {
  /// 1-based line number in the file where the record starts (the header is line 1).
  public let line: Int
  @usableFromInline let bytes: UnsafeBufferPointer<UInt8>
  @usableFromInline let starts: UnsafeBufferPointer<Int>
  @usableFromInline let ends: UnsafeBufferPointer<Int>
  /// The record's bytes as they were in the file, without the line ending.
  public let raw: UnsafeBufferPointer<UInt8>

  /// Number of fields.
  @inlinable public var count: Int { starts.count }

  /// Field `i` as bytes (quotes removed, `""` unescaped).
  @inlinable public func bytes(_ i: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(rebasing: bytes[starts[i]..<ends[i]])
  }

  /// Field `i` as a string (decoding UTF-8, replacing invalid sequences).
  public func string(_ i: Int) -> String { String(decoding: bytes(i), as: UTF8.self) }

  /// Field `i` with ASCII spaces and tabs trimmed from both ends.
  @inlinable public func trimmed(_ i: Int) -> UnsafeBufferPointer<UInt8> {
    var s = starts[i], e = ends[i]
    while s < e, bytes[s] == 0x20 || bytes[s] == 0x09 { s += 1 }
    while e > s, bytes[e - 1] == 0x20 || bytes[e - 1] == 0x09 { e -= 1 }
    return UnsafeBufferPointer(rebasing: bytes[s..<e])
  }

  /// The raw record as a string (for error messages and rejects).
  public var rawString: String { String(decoding: raw, as: UTF8.self) }
}

/// A streaming RFC 4180 CSV reader over bytes: quoted fields with embedded commas, quotes (`""`)
/// and newlines; LF or CRLF line endings; a UTF-8 byte-order mark at the start is skipped.
/// It never builds a `String` per line: fields are handed out as byte ranges.
///
/// - Complexity: O(bytes), one pass; memory is the chunk size plus the longest record.
public struct CSVReader {
  private let source: ByteSource
  private let chunkSize: Int
  /// Records longer than this are an error (a missing closing quote would otherwise swallow the file).
  public var maxRecordBytes = 1 << 20

  public init(source: ByteSource, chunkSize: Int = 1 << 20) {
    self.source = source
    self.chunkSize = chunkSize
  }

  /// Calls `body` for each record, in order, including the header (line 1).
  /// Blank lines are passed as records with one empty field, so the caller accounts for them.
  /// - Throws: `IngestError.unterminatedQuote` / `.recordTooLong`, read errors, or what `body` throws.
  public func forEachRecord(_ body: (CSVRecord) throws -> Void) throws {
    var chunk = [UInt8](repeating: 0, count: chunkSize)
    var carry: [UInt8] = []          // bytes of a record that began in an earlier chunk
    var field = [UInt8]()            // unquoted field bytes of the current record
    field.reserveCapacity(4096)
    var starts = [Int](), ends = [Int]()
    starts.reserveCapacity(32); ends.reserveCapacity(32)
    var line = 1
    var first = true
    var eof = false
    var pending: [UInt8] = []        // unconsumed bytes: carry + current chunk

    // State machine over `pending`, record by record.
    while true {
      if !eof {
        let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0.baseAddress!, count: chunkSize) }
        if n == 0 { eof = true } else {
          if carry.isEmpty { pending = Array(chunk[0..<n]) } else { pending = carry + chunk[0..<n]; carry = [] }
        }
        if eof { pending = carry; carry = [] }
      } else { return }
      if first {
        if pending.count < 3 && !eof { carry = pending; continue }
        if pending.count >= 3, pending[0] == 0xEF, pending[1] == 0xBB, pending[2] == 0xBF { pending.removeFirst(3) }
        first = false
      }
      var consumed = 0
      let total = pending.count
      try pending.withUnsafeBufferPointer { buf in
        var pos = 0
        recordLoop: while pos < total {
          // Parse one record starting at pos.
          field.removeAll(keepingCapacity: true)
          starts.removeAll(keepingCapacity: true)
          ends.removeAll(keepingCapacity: true)
          let recordStart = pos
          var p = pos
          var newlinesInside = 0
          var fieldStart = 0
          var inQuotes = false
          var complete = false
          var recordEnd = 0   // end of raw bytes (before line ending)
          while p < total {
            let c = buf[p]
            if inQuotes {
              if c == 0x22 {  // quote
                if p + 1 < total {
                  if buf[p + 1] == 0x22 { field.append(0x22); p += 2; continue }
                  inQuotes = false; p += 1; continue
                } else if eof { inQuotes = false; p += 1; continue } else { break }  // need more bytes
              }
              if c == 0x0A { newlinesInside += 1 }
              field.append(c); p += 1
            } else {
              if c == 0x2C {  // comma
                starts.append(fieldStart); ends.append(field.count); fieldStart = field.count; p += 1
              } else if c == 0x0A {
                recordEnd = (p > recordStart && buf[p - 1] == 0x0D) ? p - 1 : p
                var fe = field.count
                if p > recordStart, buf[p - 1] == 0x0D, fe > fieldStart, field[fe - 1] == 0x0D { fe -= 1 }
                starts.append(fieldStart); ends.append(fe)
                p += 1; complete = true; break
              } else if c == 0x22 && field.count == fieldStart {
                inQuotes = true; p += 1
              } else {
                field.append(c); p += 1
              }
            }
            if p - recordStart > maxRecordBytes {
              throw inQuotes ? IngestError.unterminatedQuote(file: source.name, line: line)
                : IngestError.recordTooLong(file: source.name, line: line, limit: maxRecordBytes)
            }
          }
          if !complete {
            if eof && p >= total && p > recordStart {
              if inQuotes { throw IngestError.unterminatedQuote(file: source.name, line: line) }
              recordEnd = (buf[total - 1] == 0x0D) ? total - 1 : total
              var fe = field.count
              if buf[total - 1] == 0x0D, fe > fieldStart, field[fe - 1] == 0x0D { fe -= 1 }
              starts.append(fieldStart); ends.append(fe)
              p = total
            } else {
              break recordLoop  // incomplete: carry the rest to the next chunk
            }
          }
          let thisLine = line
          line += 1 + newlinesInside
          try field.withUnsafeBufferPointer { fb in
            try starts.withUnsafeBufferPointer { sb in
              try ends.withUnsafeBufferPointer { eb in
                try body(CSVRecord(
                  line: thisLine, bytes: fb, starts: sb, ends: eb,
                  raw: UnsafeBufferPointer(rebasing: buf[recordStart..<recordEnd])))
              }
            }
          }
          pos = p
          consumed = p
        }
      }
      if consumed < total { carry = Array(pending[consumed..<total]) }
      if eof {
        if !carry.isEmpty {  // only possible if a record never completed; loop handled eof above
          throw IngestError.unterminatedQuote(file: source.name, line: line)
        }
        return
      }
    }
  }
}
