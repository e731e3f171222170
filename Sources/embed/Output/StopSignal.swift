import Dispatch
import Foundation
import Synchronization

/// Turns the first SIGINT or SIGTERM into a request to stop: requests in flight are cancelled, finished
/// documents are committed, and the run ends. If that takes longer than `gracePeriod` (a file still being
/// parsed, a long final write), the process ends anyway: every commit is atomic, so what was committed is kept
/// and the rest is redone next time. A second signal ends the process at once. Service managers
/// (`TimeoutStopSec`) and cron wrappers can rely on an exit within a few seconds.
final class StopSignal: Sendable {
    private let requested = Atomic<Bool>(false)
    /// Signal sources must stay alive as long as the process; written once, before any other task runs.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    init() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                if requested.exchange(true, ordering: .relaxed) {
                    _exit(ExitStatus.interrupted)
                }
                Terminal.error("\nStopping: finished documents are being saved (press Ctrl-C again to quit at once)...")
                DispatchQueue.global().asyncAfter(deadline: .now() + Self.gracePeriod) {
                    Terminal.error("Did not stop within \(Int(Self.gracePeriod)) s; quitting now (committed documents are kept)")
                    _exit(ExitStatus.interrupted)
                }
            }
            source.resume()
            Self.sources.append(source)
        }
    }

    /// How long a stop may take before the process ends regardless; under systemd's usual 5 s budgets.
    static let gracePeriod: Double = 4

    var isRequested: Bool { requested.load(ordering: .relaxed) }

    /// Runs `body`, cancelling it as soon as a stop is requested (it then throws `CancellationError`, or
    /// whatever its cancelled work throws).
    func cancelling<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask { [self] in
                while !isRequested { try await Task.sleep(for: .milliseconds(50)) }
                throw CancellationError()
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw CancellationError()
        }
    }
}
