import Dispatch
import Foundation
import Synchronization

/// Turns the first SIGINT or SIGTERM into a request to stop after the batches in flight; a second one ends the
/// process at once.
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
                    Foundation.exit(ExitStatus.interrupted)
                }
                Terminal.error("\nStopping after the batches in flight (press Ctrl-C again to quit at once)...")
            }
            source.resume()
            Self.sources.append(source)
        }
    }

    var isRequested: Bool { requested.load(ordering: .relaxed) }
}
