import Foundation

/// Decides which endpoint of an ``EmbeddingFleet`` gets each attempt, and keeps each endpoint's health.
///
/// A pure state machine (``State``) behind a lock, with waiting that honours cancellation:
///
/// - **Routing**: an attempt goes to the endpoint that is in, has room under its own ``AIMDWindow`` and has the
///   fewest attempts in flight; so a slow endpoint, which holds its attempts longer, gets fewer.
/// - **Taking out** (a circuit breaker): an endpoint that fails (no answer, 5xx, 408, repeated bad answers) is out
///   at once and gets nothing until its probe time, 1 s after the failure, doubling (to 30 s) each time a probe
///   fails. No background task probes it: the next attempt routed once the time has come is the probe (one at a
///   time, half-open), and an answer puts the endpoint back in.
/// - **Waiting**: when no endpoint has room, an attempt waits for one to free up, or for the earliest probe time
///   when every endpoint is out.
/// - **Bounded effort**: when every endpoint a request may still use is out, each has failed at least
///   `giveUpAfter` times in a row, and no probe is due, the request gets ``Choice/exhausted`` instead of waiting.
package final class FleetScheduler: Sendable {
    /// One attempt's claim on an endpoint; give it back with ``release(_:_:)`` exactly once.
    package struct Lease: Sendable, Hashable {
        package let endpoint: Int
        /// True when this attempt is the probe of an endpoint that was out.
        package let isProbe: Bool
        fileprivate let epoch: Int
    }

    /// How an attempt went, as far as its endpoint's health and limit go.
    package enum Outcome: Sendable, Hashable {
        /// Vectors came back.
        case success
        /// HTTP 429: halves the endpoint's limit; the endpoint stays in.
        case rateLimited
        /// The endpoint answered, but not with vectors for this request (a 4xx, one bad answer): it stays in.
        case answered
        /// A bad answer (malformed, wrong count or dimension): the endpoint is taken out when it is the second
        /// in a row.
        case badResponse
        /// No answer, a 5xx or a 408: the endpoint is taken out.
        case failed
        /// Cancelled before an answer: says nothing about the endpoint.
        case abandoned
    }

    /// What ``State/choose(now:excluding:)`` decided.
    package enum Choice: Sendable, Hashable {
        case lease(Lease)
        /// Wait for a change, or until this instant (the earliest probe time) when given.
        case wait(until: ContinuousClock.Instant?)
        /// Give up: no endpoint is left to try.
        case exhausted
    }

    /// One endpoint's health and load.
    package struct Endpoint: Sendable, Hashable {
        package var window: AIMDWindow
        package var inFlight = 0
        /// When out, the time from which one probe may go; nil when in.
        package var probeAt: ContinuousClock.Instant?
        /// The wait before the next probe if this one fails.
        package var backoff: Duration
        package var isProbing = false
        /// Failures (``Outcome/failed`` and take-outs by bad answers) since the last answer.
        package var failuresInARow = 0
        package var badResponsesInARow = 0
        /// Attempts that brought vectors back.
        package var served = 0
        /// Attempts that failed here (no answer, 5xx, 408, a bad answer), each then sent to an endpoint again.
        package var failedAttempts = 0
        /// How many times it was taken out.
        package var takenOut = 0

        package var isOut: Bool { probeAt != nil }
    }

    /// The scheduler's whole state: every decision is a synchronous function of it and the time, tested alone.
    package struct State: Sendable {
        package var endpoints: [Endpoint]
        package let firstBackoff: Duration
        package let maxBackoff: Duration
        package let giveUpAfter: Int

        package init(
            limits: [Int], firstBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(30), giveUpAfter: Int
        ) {
            endpoints = limits.map { Endpoint(window: AIMDWindow(maxLimit: $0), backoff: firstBackoff) }
            self.firstBackoff = firstBackoff
            self.maxBackoff = max(firstBackoff, maxBackoff)
            self.giveUpAfter = max(1, giveUpAfter)
        }

        /// Picks the endpoint for one attempt, skipping `excluded` (those this request has used up), and counts the
        /// attempt in flight there. `avoiding` (the endpoint the request just failed at) is skipped too while another
        /// endpoint is in: the request is not sent straight back as that endpoint's probe.
        package mutating func choose(
            now: ContinuousClock.Instant, excluding excluded: Set<Int>, avoiding: Int? = nil
        ) -> Choice {
            var candidates = endpoints.indices.filter { !excluded.contains($0) }
            if let avoiding, candidates.contains(where: { $0 != avoiding && !endpoints[$0].isOut }) {
                candidates.removeAll { $0 == avoiding }
            }
            // A due probe goes first: healthy endpoints with room would otherwise keep a restarted one out forever.
            let due = candidates.filter { index in
                endpoints[index].probeAt.map { $0 <= now } == true && !endpoints[index].isProbing
            }
            if let probe = due.min(by: { (endpoints[$0].probeAt ?? now) < (endpoints[$1].probeAt ?? now) }) {
                endpoints[probe].isProbing = true
                return .lease(take(probe, isProbe: true))
            }
            let open = candidates.filter { !endpoints[$0].isOut && endpoints[$0].inFlight < endpoints[$0].window.limit }
            if let best = open.min(by: { endpoints[$0].inFlight < endpoints[$1].inFlight }) {
                return .lease(take(best, isProbe: false))
            }
            if candidates.isEmpty { return .exhausted }
            let anyIn = candidates.contains { !endpoints[$0].isOut }
            let anyProbing = candidates.contains { endpoints[$0].isProbing }
            if !anyIn, !anyProbing, candidates.allSatisfy({ endpoints[$0].failuresInARow >= giveUpAfter }) {
                return .exhausted
            }
            let nextProbe = candidates.filter { endpoints[$0].isOut && !endpoints[$0].isProbing }
                .compactMap { endpoints[$0].probeAt }.min()
            return .wait(until: nextProbe)
        }

        private mutating func take(_ index: Int, isProbe: Bool) -> Lease {
            endpoints[index].inFlight += 1
            return Lease(endpoint: index, isProbe: isProbe, epoch: endpoints[index].window.epoch)
        }

        /// Counts the attempt under `lease` as done with `outcome`.
        package mutating func release(_ lease: Lease, _ outcome: Outcome, now: ContinuousClock.Instant) {
            var endpoint = endpoints[lease.endpoint]
            defer { endpoints[lease.endpoint] = endpoint }
            endpoint.inFlight -= 1
            if lease.isProbe { endpoint.isProbing = false }
            var takeOut = false
            switch outcome {
            case .abandoned:
                // A probe cancelled before its answer leaves the probe time as it was, due at once.
                return
            case .success:
                endpoint.window.record(.success, startedIn: lease.epoch)
                endpoint.served += 1
                endpoint.badResponsesInARow = 0
            case .rateLimited:
                endpoint.window.record(.rateLimited, startedIn: lease.epoch)
            case .answered:
                endpoint.window.record(.neutral, startedIn: lease.epoch)
            case .badResponse:
                endpoint.window.record(.neutral, startedIn: lease.epoch)
                endpoint.failedAttempts += 1
                endpoint.badResponsesInARow += 1
                takeOut = endpoint.badResponsesInARow >= 2
            case .failed:
                endpoint.window.record(.neutral, startedIn: lease.epoch)
                endpoint.failedAttempts += 1
                takeOut = true
            }
            if !takeOut {
                // It answered: it is alive, whatever it answered.
                endpoint.failuresInARow = 0
                if lease.isProbe || outcome == .success {
                    endpoint.probeAt = nil
                    endpoint.backoff = firstBackoff
                }
                return
            }
            endpoint.badResponsesInARow = 0
            // Attempts that were in flight when it went out fail too; they count as one failure, not one each.
            if lease.isProbe || !endpoint.isOut { endpoint.failuresInARow += 1 }
            if lease.isProbe {
                // A failed probe: wait twice as long before the next.
                endpoint.backoff = min(maxBackoff, endpoint.backoff * 2)
                endpoint.probeAt = now + endpoint.backoff
            } else if !endpoint.isOut {
                endpoint.takenOut += 1
                endpoint.backoff = firstBackoff
                endpoint.probeAt = now + firstBackoff
            }
            // Already out (attempts that were in flight when it went out failing too): its probe time stands.
        }
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct Shared {
        var state: State
        /// Bumped on every release, so a waiter that decided to wait before a release does not miss it.
        var generation: UInt64 = 0
        var nextID: UInt64 = 0
        var waiters: [Waiter] = []
        /// Waiters that have an id but have not registered yet, and those of them cancelled meanwhile.
        var unregisteredIDs: Set<UInt64> = []
        var cancelledIDs: Set<UInt64> = []
    }

    private let shared: Locked<Shared>

    package init(_ state: State) {
        shared = Locked(Shared(state: state))
    }

    /// A copy of the state now.
    package var state: State { shared.withLock { $0.state } }

    /// Waits for an endpoint this request may use (not in `excluded`) and claims it.
    /// - Returns: nil when no endpoint is left to try (see ``State/choose(now:excluding:)``).
    /// - Throws: `CancellationError` when cancelled while waiting.
    package func acquire(excluding excluded: Set<Int>, avoiding: Int? = nil) async throws -> Lease? {
        while true {
            try Task.checkCancellation()
            let (choice, generation) = shared.withLock { shared in
                (shared.state.choose(now: .now, excluding: excluded, avoiding: avoiding), shared.generation)
            }
            switch choice {
            case .lease(let lease): return lease
            case .exhausted: return nil
            case .wait(let deadline): try await waitForRelease(after: generation, orUntil: deadline)
            }
        }
    }

    /// Gives `lease` back with how its attempt went, and wakes the waiters to choose again.
    package func release(_ lease: Lease, _ outcome: Outcome) {
        let woken = shared.withLock { shared -> [Waiter] in
            shared.state.release(lease, outcome, now: .now)
            shared.generation &+= 1
            defer { shared.waiters.removeAll() }
            return shared.waiters
        }
        for waiter in woken { waiter.continuation.resume() }
    }

    /// Returns after the next release (at once if one happened since `generation`), or at `deadline`.
    private func waitForRelease(after generation: UInt64, orUntil deadline: ContinuousClock.Instant?) async throws {
        guard let deadline else { return try await nextRelease(after: generation) }
        // Both child tasks end when the group does: the first to finish cancels the other.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Task.sleep(until: deadline, clock: .continuous) }
            group.addTask { try await self.nextRelease(after: generation) }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    private func nextRelease(after generation: UInt64) async throws {
        let id = shared.withLock { shared -> UInt64 in
            shared.nextID &+= 1
            shared.unregisteredIDs.insert(shared.nextID)
            return shared.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Action { case resume, cancel, wait }
                let action = shared.withLock { shared -> Action in
                    shared.unregisteredIDs.remove(id)
                    if shared.cancelledIDs.remove(id) != nil { return .cancel }
                    if shared.generation != generation { return .resume }
                    shared.waiters.append(Waiter(id: id, continuation: continuation))
                    return .wait
                }
                switch action {
                case .resume: continuation.resume()
                case .cancel: continuation.resume(throwing: CancellationError())
                case .wait: break
                }
            }
        } onCancel: {
            let continuation = shared.withLock { shared -> CheckedContinuation<Void, any Error>? in
                if let index = shared.waiters.firstIndex(where: { $0.id == id }) {
                    return shared.waiters.remove(at: index).continuation
                }
                // Not registered yet: make the registration fail at once. (Already woken: nothing to do.)
                if shared.unregisteredIDs.remove(id) != nil { shared.cancelledIDs.insert(id) }
                return nil
            }
            continuation?.resume(throwing: CancellationError())
        }
    }
}
