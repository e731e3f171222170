import EmbedKit
import Foundation

/// A status line on stderr for long work. On a terminal it is redrawn in place at most 10 times a second; into a
/// file or a pipe (`--progress` from cron) it is a plain line every 5 seconds, so a log gets no carriage returns
/// or escape codes.
final class StatusLine: Sendable {
    private let enabled: Bool
    private let live: Bool
    private let state = Locked<(lastDraw: Double, drawn: Bool)>((-1, false))

    /// Seconds between plain lines when stderr is not a terminal.
    static let plainInterval = 5.0

    init(enabled: Bool, live: Bool = Terminal.stderrIsTTY) {
        self.enabled = enabled
        self.live = live
    }

    /// Shows `text` (made only when it is shown), `elapsed` seconds into the work.
    func show(at elapsed: Double, _ text: () -> String) {
        guard enabled else { return }
        let shouldDraw = state.withLock { state -> Bool in
            // Plain lines start after one interval: a short run logs only its summary.
            let last = live || state.lastDraw >= 0 ? state.lastDraw : 0
            guard elapsed - last >= (live ? 0.1 : Self.plainInterval) else { return false }
            state = (elapsed, true)
            return true
        }
        guard shouldDraw else { return }
        FileHandle.standardError.write(Data((live ? "\r\u{1B}[K" + text() : text() + "\n").utf8))
    }

    /// Clears the live line so that the next message starts on a clean line.
    func clear() {
        guard enabled, live, state.withLock({ $0.drawn }) else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
