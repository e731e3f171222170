import EmbedKit
import Foundation

/// Ingest progress on a ``StatusLine``: files, chunks, chunks/s, elapsed and ETA.
final class ProgressPrinter: Sendable {
    private let status: StatusLine

    init(enabled: Bool) {
        status = StatusLine(enabled: enabled)
    }

    func update(_ progress: IngestProgress) {
        status.show(at: progress.elapsedSeconds) { Self.line(progress) }
    }

    /// Clears the line so that the next message starts on a clean line.
    func clear() {
        status.clear()
    }

    static func line(_ p: IngestProgress) -> String {
        let rate = p.elapsedSeconds > 0 ? Double(p.chunksStored) / p.elapsedSeconds : 0
        var text = "files \(p.filesDone)/\(p.filesFound)\(p.walkFinished ? "" : "+")  chunks \(p.chunksStored)"
        text += "  \(Int(rate)) chunks/s  \(formatSeconds(p.elapsedSeconds))"
        if p.filesDone < p.filesFound, let eta = p.estimatedSecondsLeft {
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
