import EmbedKit
import Foundation

/// The live progress line on stderr: files, chunks, chunks/s, elapsed and ETA, redrawn at most 10 times a second.
final class ProgressPrinter: Sendable {
    private let enabled: Bool
    private let state = Locked<(lastDraw: Double, drawn: Bool)>((-1, false))

    init(enabled: Bool) {
        self.enabled = enabled
    }

    func update(_ progress: IngestProgress) {
        guard enabled else { return }
        let shouldDraw = state.withLock { state -> Bool in
            guard progress.elapsedSeconds - state.lastDraw >= 0.1 else { return false }
            state = (progress.elapsedSeconds, true)
            return true
        }
        guard shouldDraw else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + Self.line(progress)).utf8))
    }

    /// Clears the line so that the next message starts on a clean line.
    func clear() {
        guard enabled, state.withLock({ $0.drawn }) else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    static func line(_ p: IngestProgress) -> String {
        let rate = p.elapsedSeconds > 0 ? Double(p.chunksStored) / p.elapsedSeconds : 0
        var text = "files \(p.filesDone)/\(p.filesFound)\(p.walkFinished ? "" : "+")  chunks \(p.chunksStored)"
        text += "  \(Int(rate)) chunks/s  \(formatSeconds(p.elapsedSeconds))"
        if p.walkFinished, p.filesDone > 0, p.filesDone < p.filesFound {
            let eta = p.elapsedSeconds / Double(p.filesDone) * Double(p.filesFound - p.filesDone)
            text += "  ETA \(formatSeconds(eta))"
        }
        return text
    }

    static func formatSeconds(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        let s = Int(seconds)
        return s < 3600 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s / 3600)h\(String(format: "%02d", s / 60 % 60))m"
    }
}
