/// A problem with one file: reported, counted, and the run goes on.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        /// The file was skipped or indexed with a caveat (binary file, recovered markup, symlink not followed).
        case warning
        /// The file could not be indexed (unreadable, embedding failed): the run exits with status 1.
        case error
    }

    public var path: String
    public var severity: Severity
    public var message: String

    public init(path: String, _ severity: Severity, _ message: String) {
        self.path = path
        self.severity = severity
        self.message = message
    }

    /// Compiler style: `path: warning: what happened` (without the path when the problem is not a file's).
    public var description: String {
        path.isEmpty ? "\(severity.rawValue): \(message)" : "\(path): \(severity.rawValue): \(message)"
    }
}
