import Foundation

/// Prints an HTML page to PDF with headless Chromium (Debian's `chromium`): the report's print CSS
/// (A4 pages, one page per day and shift of the patrol plan, the marking on every page) is what the
/// browser lays out. The HTML is written to a private temporary folder, printed there, and the PDF's
/// bytes returned (the caller writes them atomically); the folder is removed whatever happens.
public enum PDFPrinter {
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// The Chromium on the PATH (`chromium`, `chromium-browser`, `google-chrome`), or nil.
  public static func browser() -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for name in ["chromium", "chromium-browser", "google-chrome"] {
      for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      }
    }
    return nil
  }

  /// - Throws: `Failure` naming what is missing or what Chromium said, when it is not found, fails,
  ///   takes longer than `timeout` seconds, or writes something that is not a PDF.
  public static func pdf(html: String, timeout: TimeInterval = 120) throws -> Data {
    guard let browser = browser() else {
      throw Failure(description: "printing to PDF needs headless Chromium: install Debian's chromium (apt-get install chromium; `make screenshot` does)")
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anprkit-pdf-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    defer { try? FileManager.default.removeItem(at: dir) }
    let page = dir.appendingPathComponent("report.html"), out = dir.appendingPathComponent("report.pdf")
    try Data(html.utf8).write(to: page)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: browser)
    p.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-pdf-header-footer",
                   "--user-data-dir=\(dir.path)/profile", "--print-to-pdf=\(out.path)", page.absoluteString]
    // Chromium's messages go to a file, not a pipe: a full pipe would stall it.
    let errPath = dir.appendingPathComponent("chromium.log").path
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let err = FileHandle(forWritingAtPath: errPath)
    p.standardOutput = FileHandle.nullDevice
    p.standardError = err
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(50_000) }
    if p.isRunning {
      p.terminate()
      p.waitUntilExit()
      throw Failure(description: "Chromium did not print the report within \(Int(timeout)) s")
    }
    try? err?.close()
    let said = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    guard p.terminationStatus == 0, let bytes = try? Data(contentsOf: out), bytes.starts(with: Data("%PDF-".utf8)) else {
      throw Failure(description: "Chromium (\(browser)) did not print a PDF (exit \(p.terminationStatus)): \(said.split(separator: "\n").suffix(3).joined(separator: " / "))")
    }
    return bytes
  }

  /// Pages in a PDF: its page objects (`/Type /Page`, not `/Pages`).
  public static func pageCount(_ pdf: Data) -> Int {
    let text = String(decoding: pdf, as: UTF8.self)
    var n = 0, search = text.startIndex..<text.endIndex
    while let r = text.range(of: "/Type /Page", range: search) {
      if r.upperBound == text.endIndex || text[r.upperBound] != "s" { n += 1 }
      search = r.upperBound..<text.endIndex
    }
    return n
  }
}
