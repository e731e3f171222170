/// At most `limit` bodies at a time, across every task that calls ``run(_:)``: the forward passes of one
/// embedder across all its `embed` calls, the readers of one index across concurrent searches. Waiters suspend
/// (no thread is blocked) and are served in arrival order.
public final class AsyncLimiter: Sendable {
    private struct State {
        var free: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Locked<State>

    public init(limit: Int) {
        state = Locked(State(free: max(1, limit)))
    }

    /// Runs `body` once a slot is free.
    public func run<Result>(_ body: () async throws -> Result) async rethrows -> Result {
        await acquire()
        defer { release() }
        return try await body()
    }

    /// Calls `body(true)` holding one more slot when one is free right now, else `body(false)`, never
    /// waiting: for work that can use a second core when nobody else wants it.
    public func withSpareSlotIfFree<Result>(_ body: (Bool) throws -> Result) rethrows -> Result {
        let taken = state.withLock { state in
            guard state.free > 0 else { return false }
            state.free -= 1
            return true
        }
        defer { if taken { release() } }
        return try body(taken)
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
