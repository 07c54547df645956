import Crypto
import Foundation
import Reads

/// The custodian's key pair for a plate vault (X25519). Ingest needs only the public half, so the
/// analysts who ingest and query cannot open the vault; the private half stays with the custodian
/// (a supervisor or the data protection officer) and opens it in `anpr reveal`.
public struct CustodianKey: Sendable {
  public let privateKey: Curve25519.KeyAgreement.PrivateKey
  public var publicKey: Curve25519.KeyAgreement.PublicKey { privateKey.publicKey }

  public init() { privateKey = Curve25519.KeyAgreement.PrivateKey() }

  /// Reads the private key (64 hex digits) from a file only its owner may read.
  public init(file: String) throws {
    guard let bytes = try SecretKeyFile.load(file: file, variable: "", environment: [:], what: "custodian key") else {
      throw GovernanceError.vault(file: file, reason: "no custodian key")
    }
    let m = SecretKeyFile.material(bytes)
    do { privateKey = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: m) } catch {
      throw GovernanceError.vault(file: file, reason: "is not a custodian key (64 hex digits from 'anpr keygen --custodian')")
    }
  }

  /// The private key as text for its file.
  public var privateText: String { Self.hex(privateKey.rawRepresentation) }
  /// The public key as text for its file (`KEY.pub`).
  public var publicText: String { Self.hex(publicKey.rawRepresentation) }

  /// Reads a public key (64 hex digits).
  public static func publicKey(file: String) throws -> Curve25519.KeyAgreement.PublicKey {
    guard let data = FileManager.default.contents(atPath: file) else {
      throw GovernanceError.vault(file: file, reason: "cannot read the custodian's public key")
    }
    let m = SecretKeyFile.material(SecretKeyFile.trimmed([UInt8](data)))
    guard m.count == 32, let k = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: m) else {
      throw GovernanceError.vault(file: file, reason: "is not a custodian public key (64 hex digits, the .pub file 'anpr keygen --custodian' writes)")
    }
    return k
  }

  /// Identifies a custodian public key without revealing anything (first 8 bytes of its SHA-256, hex).
  public static func fingerprint(_ k: Curve25519.KeyAgreement.PublicKey) -> String {
    SHA256.hash(data: k.rawRepresentation).prefix(8).map { String(format: "%02x", $0) }.joined()
  }

  static func hex(_ d: some DataProtocol) -> String { d.map { String(format: "%02x", $0) }.joined() }
}

/// Each pseudonym's plate, encrypted for the custodian: the one authorised way back from a
/// pseudonym to a plate (the HMAC pseudonym itself is one-way).
///
/// A JSON-lines file: a header (format, the custodian's key fingerprint, the store's pseudonymisation
/// key fingerprint, the audit log's path), one line per batch (an ingest: its ephemeral X25519 public
/// key), and one line per pseudonym: its plate sealed with AES-256-GCM under a key derived (HKDF-SHA256)
/// from the batch's ephemeral key and the custodian's public key, with the pseudonym as authenticated
/// data, so an entry cannot be moved to another pseudonym. Encryption is randomised (fresh nonces and
/// ephemeral keys): unlike stores and models, two vaults of the same plates differ byte for byte.
public struct PlateVault {
  public struct Header: Codable, Equatable {
    public var format = "anprkit-plate-vault"
    public var version = 1
    public var custodian: String
    public var keyFingerprint: String
    public var audit: String?
  }
  struct Batch: Codable { var batch: Int; var ephemeral: String }
  struct Entry: Codable { var pseudonym: String; var batch: Int; var sealed: String }

  public var header: Header
  var batches: [Batch] = []
  var entries: [String: Entry] = [:]
  public var count: Int { entries.count }
  public func contains(_ pseudonym: String) -> Bool { entries[pseudonym] != nil }

  public init(custodian: Curve25519.KeyAgreement.PublicKey, keyFingerprint: String, audit: String?) {
    header = Header(custodian: CustodianKey.fingerprint(custodian), keyFingerprint: keyFingerprint, audit: audit)
  }

  static let info = Array("anprkit plate vault v1".utf8)

  static func key(_ secret: SharedSecret, ephemeral: Data, custodian: Data) -> SymmetricKey {
    secret.hkdfDerivedSymmetricKey(using: SHA256.self, salt: ephemeral + custodian, sharedInfo: info, outputByteCount: 32)
  }

  /// Adds the plates of pseudonyms not yet in the vault, as one new batch; returns how many were added.
  public mutating func seal(_ plates: [(pseudonym: String, plate: String)], for custodian: Curve25519.KeyAgreement.PublicKey) throws -> Int {
    guard CustodianKey.fingerprint(custodian) == header.custodian else {
      throw GovernanceError.vault(file: "vault", reason: "was made for custodian key \(header.custodian), not \(CustodianKey.fingerprint(custodian))")
    }
    let fresh = plates.filter { entries[$0.pseudonym] == nil }
    if fresh.isEmpty { return 0 }
    let eph = Curve25519.KeyAgreement.PrivateKey()
    let secret = try eph.sharedSecretFromKeyAgreement(with: custodian)
    let key = Self.key(secret, ephemeral: eph.publicKey.rawRepresentation, custodian: custodian.rawRepresentation)
    let id = (batches.last?.batch ?? 0) + 1
    batches.append(Batch(batch: id, ephemeral: CustodianKey.hex(eph.publicKey.rawRepresentation)))
    var added = 0
    for (p, plate) in fresh where entries[p] == nil {
      let box = try AES.GCM.seal(Array(plate.utf8), using: key, authenticating: Array(p.utf8))
      entries[p] = Entry(pseudonym: p, batch: id, sealed: box.combined!.base64EncodedString())
      added += 1
    }
    return added
  }

  /// The plate of `pseudonym` (a period of use `V…#FROM..TO` names its car), opened with the custodian's key.
  public func reveal(_ pseudonym: String, with custodian: CustodianKey, file: String) throws -> String {
    guard CustodianKey.fingerprint(custodian.publicKey) == header.custodian else {
      throw GovernanceError.vault(file: file, reason: "the key given is not this vault's custodian key (the vault was sealed for \(header.custodian), the key is \(CustodianKey.fingerprint(custodian.publicKey)))")
    }
    let car = pseudonym.split(separator: "#", maxSplits: 1).first.map(String.init) ?? pseudonym
    guard let e = entries[car] else { throw GovernanceError.vault(file: file, reason: "holds no plate for \(car)") }
    guard let b = batches.first(where: { $0.batch == e.batch }), let ephRaw = Self.unhex(b.ephemeral),
      let eph = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: ephRaw), let sealed = Data(base64Encoded: e.sealed)
    else { throw GovernanceError.vault(file: file, reason: "the entry for \(car) is damaged") }
    let secret = try custodian.privateKey.sharedSecretFromKeyAgreement(with: eph)
    let key = Self.key(secret, ephemeral: ephRaw, custodian: custodian.publicKey.rawRepresentation)
    do {
      let box = try AES.GCM.SealedBox(combined: sealed)
      let plate = try AES.GCM.open(box, using: key, authenticating: Array(car.utf8))
      return String(decoding: plate, as: UTF8.self)
    } catch {
      throw GovernanceError.vault(file: file, reason: "the entry for \(car) does not open (edited, or moved from another pseudonym)")
    }
  }

  static func unhex(_ s: String) -> Data? {
    let b = Array(s.utf8)
    guard b.count % 2 == 0 else { return nil }
    let m = SecretKeyFile.material(b)
    return m.count * 2 == b.count ? Data(m) : nil
  }

  static let encoder: JSONEncoder = {
    let e = JSONEncoder(); e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]; return e
  }()

  /// Reads a vault, naming the line of anything that is not one.
  public static func load(_ path: String) throws -> PlateVault {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw GovernanceError.vault(file: path, reason: "cannot read the vault")
    }
    let lines = data.split(separator: 0x0A)
    let d = JSONDecoder()
    guard let first = lines.first, let h = try? d.decode(Header.self, from: Data(first)), h.format == "anprkit-plate-vault" else {
      throw GovernanceError.vault(file: path, reason: "line 1: not a plate vault header")
    }
    guard h.version == 1 else { throw GovernanceError.vault(file: path, reason: "line 1: vault version \(h.version) is newer than this tool reads (1)") }
    var v = PlateVault(header: h)
    for (k, line) in lines.dropFirst().enumerated() {
      if let b = try? d.decode(Batch.self, from: Data(line)) { v.batches.append(b); continue }
      guard let e = try? d.decode(Entry.self, from: Data(line)) else {
        throw GovernanceError.vault(file: path, reason: "line \(k + 2): neither a batch nor an entry")
      }
      v.entries[e.pseudonym] = e
    }
    return v
  }

  private init(header: Header) { self.header = header }

  /// Writes the vault atomically (0600), entries in pseudonym order.
  public func write(to path: String) throws {
    let f = try OutputFile(path: path, permissions: 0o600)
    var out = Data()
    out += try Self.encoder.encode(header); out.append(0x0A)
    for b in batches { out += try Self.encoder.encode(b); out.append(0x0A) }
    for p in entries.keys.sorted() { out += try Self.encoder.encode(entries[p]!); out.append(0x0A) }
    try f.write(out)
    try f.commit()
  }
}
