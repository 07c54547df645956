/// Facts about this build of ANPRKit that files it writes record.
public enum ToolkitInfo {
  /// Semantic version of the toolkit, written into every store, model and report.
  public static let version = "0.1.0"
}
