import Crypto
import Foundation

/// Number-plate text handling: normalisation, GB format recognition and OCR confusions.
public enum Plate {
  /// Upper case, ASCII letters and digits only ("ab12 cde" → "AB12CDE"). Returns `nil` if nothing is left.
  @inlinable
  public static func normalise(_ b: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    var out = [UInt8]()
    out.reserveCapacity(b.count)
    for c in b {
      if c >= 0x61 && c <= 0x7A { out.append(c - 32) }
      else if (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) { out.append(c) }
    }
    return out.isEmpty ? nil : out
  }

  /// Normalises a `String` plate.
  public static func normalise(_ s: String) -> String? {
    var s = s
    return s.withUTF8 { normalise($0) }.map { String(decoding: $0, as: UTF8.self) }
  }

  /// The GB registration formats a normalised plate matches, if any.
  public enum Format: String, Sendable, Codable, CaseIterable {
    /// 2001–: two letters, two digits, three letters (AB12CDE).
    case current
    /// 1983–2001 prefix: a letter, 1–3 digits, three letters (A123BCD).
    case prefix
    /// 1963–1983 suffix: three letters, 1–3 digits, a letter (ABC123D).
    case suffix
    /// Dateless: 1–3 letters then 1–4 digits, or 1–4 digits then 1–3 letters (also Northern Ireland).
    case dateless
  }

  /// Which GB format `plate` (normalised) follows; `nil` means "matches no known format" and is
  /// flagged at ingest, never dropped (foreign plates and misreads both land here).
  public static func gbFormat(_ plate: [UInt8]) -> Format? {
    // Run-length shape: letters (L) and digits (D) groups.
    var groups: [(isLetter: Bool, count: Int)] = []
    for c in plate {
      let isLetter = c >= 0x41 && c <= 0x5A
      if let last = groups.last, last.isLetter == isLetter { groups[groups.count - 1].count += 1 }
      else { groups.append((isLetter, 1)) }
    }
    let shape = groups.map { ($0.isLetter, $0.count) }
    switch shape.count {
    case 3:
      let (a, b, c) = (shape[0], shape[1], shape[2])
      if a.0, a.1 == 2, !b.0, b.1 == 2, c.0, c.1 == 3 { return .current }
      if a.0, a.1 == 1, !b.0, (1...3).contains(b.1), c.0, c.1 == 3 { return .prefix }
      if a.0, a.1 == 3, !b.0, (1...3).contains(b.1), c.0, c.1 == 1 { return .suffix }
      return nil
    case 2:
      let (a, b) = (shape[0], shape[1])
      if a.0, (1...3).contains(a.1), !b.0, (1...4).contains(b.1) { return .dateless }
      if !a.0, (1...4).contains(a.1), b.0, (1...3).contains(b.1) { return .dateless }
      return nil
    default: return nil
    }
  }

  /// Pairs of characters that ANPR OCR commonly confuses.
  public static let confusablePairs: [(UInt8, UInt8)] = [
    (0x4F, 0x30), (0x44, 0x30), (0x51, 0x30), (0x49, 0x31), (0x4C, 0x31), (0x42, 0x38),
    (0x53, 0x35), (0x5A, 0x32), (0x47, 0x36), (0x54, 0x37),
  ]  // O/0 D/0 Q/0 I/1 L/1 B/8 S/5 Z/2 G/6 T/7

  /// Confusable pairs as a 64 K bitmap (first byte × 256 + second byte), for the dedupe hot loop.
  static let confusable: [Bool] = {
    var m = [Bool](repeating: false, count: 65536)
    for (a, b) in confusablePairs { m[Int(a) << 8 | Int(b)] = true; m[Int(b) << 8 | Int(a)] = true }
    return m
  }()

  /// `true` when the two plates have equal length and differ in exactly one position by a commonly
  /// confused pair (O/0, I/1, B/8, S/5, ...): the signature of an OCR misread. Normalised plates of
  /// more than 16 characters are never stored, so they are never misreads of a stored plate.
  public static func isLikelyMisread(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard let ka = PlateKey(a), let kb = PlateKey(b) else { return false }
    return confusable.withUnsafeBufferPointer { isLikelyMisread(ka, kb, confusable: $0) }
  }

  /// The same test on packed plates (what ingest's de-duplication calls): exactly one differing byte,
  /// both bytes non-zero (so the lengths agree: no byte inside a plate is zero), a confusable pair.
  @inline(__always) static func isLikelyMisread(_ a: PlateKey, _ b: PlateKey, confusable: UnsafeBufferPointer<Bool>) -> Bool {
    let dh = a.hi ^ b.hi, dl = a.lo ^ b.lo
    if (dh == 0) == (dl == 0) { return false }  // identical, or differing in both halves
    let d = dh != 0 ? dh : dl
    let byte = UInt64(d.trailingZeroBitCount / 8) * 8
    if d >> byte > 0xFF { return false }  // more than one byte differs
    let x = UInt8(truncatingIfNeeded: (dh != 0 ? a.hi : a.lo) >> byte)
    let y = UInt8(truncatingIfNeeded: (dh != 0 ? b.hi : b.lo) >> byte)
    if x == 0 || y == 0 { return false }  // lengths differ
    return confusable[Int(x) << 8 | Int(y)]
  }
}

/// Keyed pseudonyms for plates: `HMAC-SHA256(key, normalised plate)`, truncated to 64 bits and
/// written as `V` + 16 hex digits. The same key gives the same pseudonym in every run and every
/// shard, so pseudonymised stores merge; without the key a pseudonym cannot be reversed or
/// recomputed from a guessed plate. The key is never written to a store, model or report: only a
/// fingerprint (an HMAC of a fixed label) that lets `append` check the same key is in use.
public struct Pseudonymiser: Sendable {
  private let key: SymmetricKey
  /// Identifies the key without revealing it (`HMAC(key, "anprkit:key-fingerprint")`, 64 bits hex).
  public let fingerprint: String

  /// The HMAC state after the key, copied (value semantics) for each plate.
  private let keyed: UncheckedSendable<HMAC<SHA256>>
  private static let hexDigits = Array("0123456789abcdef".utf8)

  /// The fewest key bytes the library accepts (128 bits); key files and `ANPR_KEY` need 32 (`SecretKeyFile`).
  public static let minimumKeyBytes = 16

  /// A pseudonymiser over raw key bytes.
  /// - Throws: `IngestError.noKey` when the key is shorter than 16 bytes.
  public init(keyBytes: [UInt8]) throws(IngestError) {
    guard keyBytes.count >= Self.minimumKeyBytes else {
      throw .noKey("the pseudonymisation key is \(keyBytes.count) bytes; use at least \(Self.minimumKeyBytes) (anpr keygen makes one)")
    }
    key = SymmetricKey(data: keyBytes)
    keyed = UncheckedSendable(HMAC<SHA256>(key: key))
    let mac = HMAC<SHA256>.authenticationCode(for: Array("anprkit:key-fingerprint".utf8), using: key)
    fingerprint = Array(mac).prefix(8).map { String(format: "%02x", $0) }.joined()
  }

  /// Loads the key from a file (its bytes, surrounding whitespace trimmed; `/dev/fd/N` reads a file
  /// descriptor) or, when `file` is nil, from the environment variable `ANPR_KEY`. Returns `nil` when
  /// neither is given.
  /// - Throws: `IngestError.noKey` when the file is readable by group or others, or the key is shorter
  ///   than 32 bytes or of low entropy (`SecretKeyFile.weakness`).
  public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
    throws(IngestError) -> Pseudonymiser?
  {
    guard let bytes = try SecretKeyFile.load(file: file, variable: "ANPR_KEY", environment: environment, what: "pseudonymisation key")
    else { return nil }
    return try Pseudonymiser(keyBytes: bytes)
  }

  /// The pseudonym of a normalised plate.
  public func pseudonym(_ plate: [UInt8]) -> String {
    var hmac = keyed.value  // a copy of the keyed state: the key pads are hashed once, not per plate
    hmac.update(data: plate)
    let mac = hmac.finalize()
    // "V" + the first 8 bytes in lower-case hex, built as bytes (no per-character String work).
    var out = [UInt8](repeating: UInt8(ascii: "V"), count: 17)
    mac.withUnsafeBytes { m in
      for k in 0..<8 {
        out[1 + 2 * k] = Self.hexDigits[Int(m[k] >> 4)]
        out[2 + 2 * k] = Self.hexDigits[Int(m[k] & 15)]
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The pseudonym of a plate given as text (normalised first).
  public func pseudonym(plate: String) -> String? {
    Plate.normalise(plate).map { pseudonym(Array($0.utf8)) }
  }

  /// A new random key: 32 bytes as 64 hex characters (text, so it survives copy and paste).
  public static func generateKeyText() -> String {
    var g = SystemRandomNumberGenerator()  // a secret, not a modelling choice: must not be seeded
    return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined()
  }
}

extension Pseudonymiser {
  /// Whether `id` has the form of a pseudonym (`V` and 16 lower-case hex digits), or of a period of
  /// use of one (`V…#FROM..TO`): the test that keeps a plate typed where a pseudonym belongs out of logs.
  public static func looksLikePseudonym(_ id: String) -> Bool {
    let car = id.split(separator: "#", maxSplits: 1).first.map(String.init) ?? id
    return car.utf8.count == 17 && car.first == "V" && car.utf8.dropFirst().allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
  }
}
