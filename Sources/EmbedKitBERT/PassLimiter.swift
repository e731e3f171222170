internal import EmbedKit

/// At most `limit` forward passes of one embedder at a time, across all its `embed` calls.
///
/// Each call already bounds its own passes, but the ingest pipeline runs several calls at once; without a
/// shared bound, calls × passes × BLAS threads could exceed the cores. Waiters suspend (no thread is
/// blocked) and are served in arrival order.
final class PassLimiter: Sendable {
    private struct State {
        var free: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Locked<State>

    init(limit: Int) {
        state = Locked(State(free: max(1, limit)))
    }

    /// Runs `body` once a slot is free.
    func run<Result>(_ body: () -> Result) async -> Result {
        await acquire()
        defer { release() }
        return body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state in
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.free += 1
                return nil
            }
            // The slot passes straight to the first waiter.
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
