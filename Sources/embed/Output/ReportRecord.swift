import EmbedKit

/// Collects, while a run goes, what its JSON report lists.
final class ReportRecord: Sendable {
    /// Diagnostics kept for the report; a run with more (a tree of unreadable files) counts the rest.
    static let limit = 10_000
    private let state = Locked<(diagnostics: [DiagnosticLine], omitted: Int, files: [FileActionLine])>(([], 0, []))

    func add(_ diagnostic: Diagnostic) {
        state.withLock { state in
            guard state.diagnostics.count < Self.limit else { return state.omitted += 1 }
            state.diagnostics.append(
                DiagnosticLine(path: diagnostic.path, severity: diagnostic.severity.rawValue, message: diagnostic.message))
        }
    }

    func add(_ file: FileActionLine) {
        state.withLock { $0.files.append(file) }
    }

    var contents: (diagnostics: [DiagnosticLine], omitted: Int, files: [FileActionLine]?) {
        state.withLock { ($0.diagnostics, $0.omitted, $0.files) }
    }
}
