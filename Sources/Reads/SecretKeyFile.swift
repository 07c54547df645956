import Foundation

/// Reading secret keys (the pseudonymisation key, the vault custodian's key) the safe way: from a
/// file only its owner can read, from a file descriptor (`/dev/fd/N`), or from an environment
/// variable — never from a command-line argument, which other users see in the process list.
/// Keys that are short, or that a person typed (low entropy), are refused with the reason.
public enum SecretKeyFile {
  /// Minimum key material in bytes (256 bits): `anpr keygen` writes 32 random bytes as 64 hex digits.
  public static let minimumBytes = 32

  /// The file's bytes with surrounding whitespace trimmed.
  /// - Throws: `IngestError.noKey` when the file cannot be read, or is a regular file that group or
  ///   others may read or write (a key anyone on the machine can copy is not a secret).
  public static func read(_ path: String, what: String = "key") throws(IngestError) -> [UInt8] {
    var st = stat()
    guard stat(path, &st) == 0 else {
      throw .noKey("\(path): cannot read the \(what) file (\(String(cString: strerror(errno)))); make one with 'anpr keygen --out \(path)'")
    }
    if st.st_mode & S_IFMT == S_IFREG, st.st_mode & 0o077 != 0 {
      throw .noKey("\(path): the \(what) file can be read by others (mode \(String(st.st_mode & 0o777, radix: 8))); run 'chmod 600 \(path)'")
    }
    // read(2) in a loop, not FileManager.contents: a descriptor (`/dev/fd/3`, a pipe) has no size to read up to.
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .noKey("\(path): cannot read the \(what) file (\(String(cString: strerror(errno))))") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 1 << 20 {
      let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress!, $0.count) }
      if n < 0 { if errno == EINTR { continue }; throw .noKey("\(path): cannot read the \(what) file (\(String(cString: strerror(errno))))") }
      if n == 0 { break }
      bytes += buffer[0..<n]
    }
    return trimmed(bytes)
  }

  public static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
    var b = bytes[...]
    while let l = b.last, l == 0x0A || l == 0x0D || l == 0x20 || l == 0x09 { b.removeLast() }
    while let f = b.first, f == 0x0A || f == 0x0D || f == 0x20 || f == 0x09 { b.removeFirst() }
    return Array(b)
  }

  /// The secret a key text carries: hex digits decode to their bytes (64 digits = 32 bytes); any other
  /// text counts byte for byte.
  public static func material(_ bytes: [UInt8]) -> [UInt8] {
    func nibble(_ c: UInt8) -> UInt8? {
      switch c {
      case 0x30...0x39: return c - 0x30
      case 0x61...0x66: return c - 0x61 + 10
      case 0x41...0x46: return c - 0x41 + 10
      default: return nil
      }
    }
    guard bytes.count % 2 == 0, !bytes.isEmpty, bytes.allSatisfy({ nibble($0) != nil }) else { return bytes }
    return stride(from: 0, to: bytes.count, by: 2).map { nibble(bytes[$0])! << 4 | nibble(bytes[$0 + 1])! }
  }

  /// Why `bytes` is not a strong key, or nil when it is: fewer than 32 bytes of material; a repeated
  /// pattern ("abcabc…"); under 3 bits per byte of empirical entropy or fewer than 8 distinct byte
  /// values (typed or patterned text, e.g. all zeros). 32 random bytes have about 4.9 bits per byte
  /// and 30 distinct values; the checks catch mistakes, they do not certify randomness.
  public static func weakness(_ bytes: [UInt8]) -> String? {
    let m = material(bytes)
    if m.count < minimumBytes {
      return "holds \(m.count) bytes of key material; at least \(minimumBytes) are needed (64 hex digits; 'anpr keygen' makes one)"
    }
    for period in 1...(m.count / 2) where (period..<m.count).allSatisfy({ m[$0] == m[$0 - period] }) {
      return "is a \(period)-byte pattern repeated; use a random key ('anpr keygen')"
    }
    var freq = [Int](repeating: 0, count: 256)
    for b in m { freq[Int(b)] += 1 }
    let distinct = freq.filter { $0 > 0 }.count
    let n = Double(m.count)
    let bits = freq.filter { $0 > 0 }.reduce(0.0) { h, f in let p = Double(f) / n; return h - p * log2(p) }
    if distinct < 8 || bits < 3 {
      return String(format: "has low entropy (%d distinct byte values, %.1f bits per byte); use a random key ('anpr keygen')", distinct, bits)
    }
    return nil
  }

  /// The key from `file`, else from the environment variable `variable`; nil when neither is given.
  /// - Throws: `IngestError.noKey` naming the source and what is wrong with it.
  public static func load(file: String?, variable: String, environment: [String: String], what: String = "key")
    throws(IngestError) -> [UInt8]?
  {
    let bytes: [UInt8]
    let source: String
    if let file {
      bytes = try read(file, what: what); source = file
    } else if let env = environment[variable], !env.isEmpty {
      bytes = trimmed(Array(env.utf8)); source = "$\(variable)"
    } else { return nil }
    if let w = weakness(bytes) { throw .noKey("\(source): the \(what) \(w)") }
    return bytes
  }
}
