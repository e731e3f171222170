import EmbedKit
import Foundation

/// Tells the user about a build of the keyword index (an older index upgraded, a damaged one repaired), which
/// takes minutes on a large index: a line when it starts, a live count of chunks on a terminal, a line when it
/// ends. A repair is a problem, so its first line is printed even with `--quiet`; an upgrade is not.
final class KeywordIndexReporter: Sendable {
    private let db: String
    private let quiet: Bool
    private let status: StatusLine

    /// - Parameter live: whether to show the count of chunks as the build goes.
    init(db: String, quiet: Bool, live: Bool) {
        self.db = db
        self.quiet = quiet
        status = StatusLine(enabled: live)
    }

    var progress: KeywordIndexProgress { { [self] in report($0) } }

    func report(_ build: KeywordIndexBuild) {
        let chunks = counted(build.chunksTotal, "chunk")
        if build.finished {
            status.clear()
            guard !quiet else { return }
            let time = ProgressPrinter.formatSeconds(build.elapsedSeconds)
            switch build.reason {
            case .upgrade: Terminal.error("built the keyword index of \(db) (\(chunks)) in \(time)")
            case .repair, .requested: Terminal.error("rebuilt the keyword index of \(db) (\(chunks)) in \(time)")
            }
        } else if build.chunksDone == 0 {
            switch build.reason {
            case .upgrade:
                if !quiet { Terminal.error("building the keyword index of \(db) (\(chunks))...") }
            case .requested:
                if !quiet { Terminal.error("rebuilding the keyword index of \(db) (\(chunks))...") }
            case .repair(let reason):
                Terminal.error(
                    "\(db): warning: the keyword index needs repair (\(reason)); rebuilding it from the \(chunks)...")
            }
        } else {
            status.show(at: build.elapsedSeconds) { Self.line(build) }
        }
    }

    private static func line(_ build: KeywordIndexBuild) -> String {
        var line = "keyword index: \(build.chunksDone)/\(build.chunksTotal) chunks"
        line += "  \(build.chunksDone * 100 / max(build.chunksTotal, 1))%"
        line += "  \(ProgressPrinter.formatSeconds(build.elapsedSeconds))"
        if build.chunksDone > 0 {
            let eta = build.elapsedSeconds / Double(build.chunksDone) * Double(build.chunksTotal - build.chunksDone)
            line += "  ETA \(ProgressPrinter.formatSeconds(eta))"
        }
        return line
    }
}
