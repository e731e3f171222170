import EmbedKit
import Testing

/// The scheduler's decisions, synchronously, on a clock the test moves.
@Suite("FleetScheduler")
struct FleetSchedulerTests {
    typealias State = FleetScheduler.State
    let start = ContinuousClock.now

    func lease(_ choice: FleetScheduler.Choice, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> FleetScheduler.Lease
    {
        guard case .lease(let lease) = choice else {
            Issue.record("expected a lease, got \(choice)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return lease
    }

    @Test("each attempt goes to the endpoint with the fewest in flight, within each endpoint's limit")
    func fewestInFlight() throws {
        var state = State(limits: [2, 2, 1], giveUpAfter: 3)
        let picks = try (0..<5).map { _ in try lease(state.choose(now: start, excluding: [])).endpoint }
        #expect(picks == [0, 1, 2, 0, 1])
        #expect(state.choose(now: start, excluding: []) == .wait(until: nil))
    }

    @Test("a 429 halves that endpoint's limit once per burst and leaves it in")
    func rateLimited() throws {
        var state = State(limits: [4, 4], giveUpAfter: 3)
        let burst = try (0..<4).map { _ in try lease(state.choose(now: start, excluding: [1])) }
        for lease in burst { state.release(lease, .rateLimited, now: start) }
        #expect(state.endpoints[0].window.limit == 2)
        #expect(!state.endpoints[0].isOut)
        #expect(state.endpoints[1].window.limit == 4)
    }

    @Test("a failure takes the endpoint out at once; one probe after 1 s, doubling while probes fail, up to 30 s")
    func takeOutAndProbe() throws {
        var state = State(limits: [2, 2], giveUpAfter: 10)
        let first = try lease(state.choose(now: start, excluding: []))
        let second = try lease(state.choose(now: start, excluding: []))
        #expect([first.endpoint, second.endpoint] == [0, 1])
        state.release(first, .failed, now: start)
        #expect(state.endpoints[0].isOut)
        #expect(state.endpoints[0].takenOut == 1)
        // While out it gets nothing, even with endpoint 1 full.
        let third = try lease(state.choose(now: start, excluding: []))
        #expect(third.endpoint == 1)
        #expect(state.choose(now: start, excluding: []) == .wait(until: start + .seconds(1)))

        var now = start + .seconds(1)
        var delays: [Duration] = []
        for _ in 0..<7 {
            let probe = try lease(state.choose(now: now, excluding: []))
            #expect(probe.endpoint == 0 && probe.isProbe)
            // One probe at a time.
            #expect(state.choose(now: now, excluding: [1]) == .wait(until: nil))
            state.release(probe, .failed, now: now)
            let next = try #require(state.endpoints[0].probeAt)
            delays.append(next - now)
            now = next
        }
        #expect(delays == [2, 4, 8, 16, 30, 30, 30].map { Duration.seconds($0) })
        #expect(state.endpoints[0].takenOut == 1, "failed probes are not new take-outs")

        let probe = try lease(state.choose(now: now, excluding: []))
        state.release(probe, .success, now: now)
        #expect(!state.endpoints[0].isOut)
        #expect(state.endpoints[0].backoff == .seconds(1))
    }

    @Test("a request is not sent straight back, as its probe, to the endpoint it just failed at, while another is in")
    func avoidsTheEndpointJustFailed() throws {
        var state = State(limits: [2, 2], giveUpAfter: 10)
        let failed = try lease(state.choose(now: start, excluding: []))
        #expect(failed.endpoint == 0)
        state.release(failed, .failed, now: start)
        let later = start + .seconds(1)
        // Its probe is due: another request takes it, but the one that failed there goes to endpoint 1.
        let moved = try lease(state.choose(now: later, excluding: [], avoiding: 0))
        #expect(moved.endpoint == 1 && !moved.isProbe)
        let probe = try lease(state.choose(now: later, excluding: []))
        #expect(probe.endpoint == 0 && probe.isProbe)
        state.release(probe, .failed, now: later)
        // With the other endpoint out too, the avoided one is all there is: its probe, when due, is taken.
        state.release(moved, .failed, now: later)
        let last = try lease(state.choose(now: later + .seconds(2), excluding: [], avoiding: 0))
        #expect(last.isProbe)
    }

    @Test("attempts in flight when an endpoint went out count as one failure, not one each")
    func inFlightFailuresCountOnce() throws {
        var state = State(limits: [3], giveUpAfter: 2)
        let leases = try (0..<3).map { _ in try lease(state.choose(now: start, excluding: [])) }
        for lease in leases { state.release(lease, .failed, now: start) }
        #expect(state.endpoints[0].failuresInARow == 1)
        #expect(state.choose(now: start, excluding: []) == .wait(until: start + .seconds(1)))
    }

    @Test("every endpoint out and failing in a row: exhausted, unless a probe is due")
    func exhausted() throws {
        var state = State(limits: [1, 1], giveUpAfter: 2)
        var now = start
        for endpoint in 0..<2 {
            let lease = try lease(state.choose(now: now, excluding: []))
            #expect(lease.endpoint == endpoint)
            state.release(lease, .failed, now: now)
        }
        now = start + .seconds(1)
        for _ in 0..<2 {
            let probe = try lease(state.choose(now: now, excluding: []))
            state.release(probe, .failed, now: now)
        }
        #expect(state.choose(now: now, excluding: []) == .exhausted)
        // A probe time come again lets one more attempt through, so a server that came back is found.
        let due = try lease(state.choose(now: now + .seconds(2), excluding: []))
        #expect(due.isProbe)
        state.release(due, .success, now: now + .seconds(2))
        #expect(try lease(state.choose(now: now + .seconds(2), excluding: [1])).endpoint == due.endpoint)
        #expect(state.choose(now: now, excluding: [0, 1]) == .exhausted)
    }

    @Test("a probe abandoned (cancelled) leaves the endpoint out, its probe due again")
    func abandonedProbe() throws {
        var state = State(limits: [1, 1], giveUpAfter: 3)
        let first = try lease(state.choose(now: start, excluding: []))
        state.release(first, .failed, now: start)
        let probe = try lease(state.choose(now: start + .seconds(1), excluding: []))
        #expect(probe.isProbe)
        state.release(probe, .abandoned, now: start + .seconds(1))
        #expect(state.endpoints[0].isOut)
        #expect(state.endpoints[0].inFlight == 0)
        #expect(try lease(state.choose(now: start + .seconds(1), excluding: [])).isProbe)
    }

    @Test("one bad answer leaves an endpoint in; a second in a row takes it out")
    func badAnswers() throws {
        var state = State(limits: [2], giveUpAfter: 3)
        let first = try lease(state.choose(now: start, excluding: []))
        state.release(first, .badResponse, now: start)
        #expect(!state.endpoints[0].isOut)
        let second = try lease(state.choose(now: start, excluding: []))
        state.release(second, .badResponse, now: start)
        #expect(state.endpoints[0].isOut)
    }
}
