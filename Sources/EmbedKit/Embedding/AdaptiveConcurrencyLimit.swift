
/// An async semaphore whose number of permits adapts to the server: AIMD, as TCP does.
///
/// At most ``limit`` permits are out at once. The limit starts at ``maxLimit``; a rate-limited outcome halves
/// it (at least 1), and a run of ``limit`` successes in a row raises it by one, up to ``maxLimit``. So while a
/// provider keeps answering 429 fewer requests are in flight, and the limit recovers when it stops.
///
/// Only one halving per congestion event: the many requests that were in flight together and all got 429
/// halve the limit once, not once each (each permit remembers the limit's epoch when it was granted, and
/// only a permit of the current epoch may halve). The arithmetic is ``AIMDWindow``'s.
///
/// Waiters are served first come, first served. Cancelling a waiting task makes its `acquire()` throw
/// `CancellationError`.
public final class AdaptiveConcurrencyLimit: Sendable {
    /// A granted slot; give it back with ``release(_:outcome:)`` exactly once.
    public struct Permit: Sendable {
        fileprivate let epoch: Int
    }

    /// How the work done under a permit went.
    public enum Outcome: Sendable {
        /// Counts towards raising the limit.
        case success
        /// The server is overloaded (HTTP 429): halve the limit.
        case rateLimited
        /// Neither: leaves the limit alone and breaks a run of successes.
        case neutral
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Permit, any Error>
    }

    private struct State {
        var window: AIMDWindow
        var inFlight = 0
        var nextID: UInt64 = 0
        var waiters: [Waiter] = []
        var waiterHead = 0
        /// Waiters that have an id but have not registered yet, and those of them cancelled meanwhile.
        var unregisteredIDs: Set<UInt64> = []
        var cancelledIDs: Set<UInt64> = []

        mutating func popGrantable() -> [(CheckedContinuation<Permit, any Error>, Permit)] {
            var granted: [(CheckedContinuation<Permit, any Error>, Permit)] = []
            while inFlight < window.limit, waiterHead < waiters.count {
                let waiter = waiters[waiterHead]
                waiterHead += 1
                inFlight += 1
                granted.append((waiter.continuation, Permit(epoch: window.epoch)))
            }
            if waiterHead > 64, waiterHead * 2 > waiters.count {
                waiters.removeFirst(waiterHead)
                waiterHead = 0
            }
            return granted
        }
    }

    /// The most permits ever out at once.
    public let maxLimit: Int
    private let state: Locked<State>

    /// Creates a limiter allowing at most `maxLimit` (at least 1) permits at once.
    public init(maxLimit: Int) {
        self.maxLimit = max(1, maxLimit)
        state = Locked(State(window: AIMDWindow(maxLimit: self.maxLimit)))
    }

    /// The current limit, between 1 and ``maxLimit``.
    public var limit: Int { state.withLock { $0.window.limit } }

    /// How many permits are out now.
    public var inFlight: Int { state.withLock { $0.inFlight } }

    /// Takes a permit if one is free and nobody is waiting.
    public func tryAcquire() -> Permit? {
        state.withLock { state in
            guard state.inFlight < state.window.limit, state.waiterHead == state.waiters.count else { return nil }
            state.inFlight += 1
            return Permit(epoch: state.window.epoch)
        }
    }

    /// Waits for a permit.
    /// - Throws: `CancellationError` if the task is cancelled while waiting.
    public func acquire() async throws -> Permit {
        try Task.checkCancellation()
        if let permit = tryAcquire() { return permit }
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            state.unregisteredIDs.insert(state.nextID)
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Permit, any Error>) in
                enum Action { case grant(Permit), cancel, wait }
                let action = state.withLock { state -> Action in
                    state.unregisteredIDs.remove(id)
                    if state.cancelledIDs.remove(id) != nil { return .cancel }
                    if state.inFlight < state.window.limit, state.waiterHead == state.waiters.count {
                        state.inFlight += 1
                        return .grant(Permit(epoch: state.window.epoch))
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .wait
                }
                switch action {
                case .grant(let permit): continuation.resume(returning: permit)
                case .cancel: continuation.resume(throwing: CancellationError())
                case .wait: break
                }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Permit, any Error>? in
                if let index = state.waiters[state.waiterHead...].firstIndex(where: { $0.id == id }) {
                    return state.waiters.remove(at: index).continuation
                }
                // Not registered yet: make the registration fail at once. (Already granted: nothing to do.)
                if state.unregisteredIDs.remove(id) != nil { state.cancelledIDs.insert(id) }
                return nil
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Gives a permit back, adapting the limit to `outcome`, and wakes waiters that now fit.
    public func release(_ permit: Permit, outcome: Outcome) {
        let granted = state.withLock { state in
            state.inFlight -= 1
            state.window.record(outcome, startedIn: permit.epoch)
            return state.popGrantable()
        }
        for (continuation, permit) in granted {
            continuation.resume(returning: permit)
        }
    }
}
