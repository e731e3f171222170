import EmbedKit
import Foundation

/// Tells the user about a build of the keyword index (an older index upgraded, a damaged one repaired), which
/// takes minutes on a large index: a line when it starts, a live count of chunks on a terminal, a line when it
/// ends. A repair is a problem, so its first line is printed even with `--quiet`; an upgrade is not.
final class KeywordIndexReporter: Sendable {
    private let db: String
    private let quiet: Bool
    private let live: Bool
    private let state = Locked<(lastDraw: Double, drawn: Bool)>((-1, false))

    init(db: String, quiet: Bool, live: Bool) {
        self.db = db
        self.quiet = quiet
        self.live = live
    }

    var progress: KeywordIndexProgress { { [self] in report($0) } }

    func report(_ build: KeywordIndexBuild) {
        let chunks = build.chunksTotal == 1 ? "1 chunk" : "\(build.chunksTotal) chunks"
        if build.finished {
            clear()
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
        } else if live {
            let draw = state.withLock { state -> Bool in
                guard build.elapsedSeconds - state.lastDraw >= 0.1 else { return false }
                state = (build.elapsedSeconds, true)
                return true
            }
            guard draw else { return }
            var line = "keyword index: \(build.chunksDone)/\(build.chunksTotal) chunks"
            line += "  \(build.chunksDone * 100 / max(build.chunksTotal, 1))%"
            line += "  \(ProgressPrinter.formatSeconds(build.elapsedSeconds))"
            if build.chunksDone > 0 {
                let eta = build.elapsedSeconds / Double(build.chunksDone) * Double(build.chunksTotal - build.chunksDone)
                line += "  ETA \(ProgressPrinter.formatSeconds(eta))"
            }
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        }
    }

    private func clear() {
        guard state.withLock({ $0.drawn }) else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
