import EmbedKit
import EmbedKitTestSupport
import Testing

@Suite("AdaptiveConcurrencyLimit")
struct AdaptiveConcurrencyLimitTests {
    @Test("grants at most the limit")
    func bounded() throws {
        let limiter = AdaptiveConcurrencyLimit(maxLimit: 3)
        let permits = (0..<3).compactMap { _ in limiter.tryAcquire() }
        #expect(permits.count == 3)
        #expect(limiter.tryAcquire() == nil)
        limiter.release(permits[0], outcome: .success)
        #expect(limiter.inFlight == 2)
        #expect(limiter.tryAcquire() != nil)
    }

    @Test("one burst of 429s halves the limit once; a run of successes adds one, up to the maximum")
    func aimd() throws {
        let limiter = AdaptiveConcurrencyLimit(maxLimit: 8)
        let burst = (0..<8).compactMap { _ in limiter.tryAcquire() }
        for permit in burst { limiter.release(permit, outcome: .rateLimited) }
        #expect(limiter.limit == 4)

        // A permit granted after the halving may halve again.
        let later = try #require(limiter.tryAcquire())
        limiter.release(later, outcome: .rateLimited)
        #expect(limiter.limit == 2)
        for _ in 0..<5 {
            let permit = try #require(limiter.tryAcquire())
            limiter.release(permit, outcome: .rateLimited)
        }
        #expect(limiter.limit == 1)

        // Recovery: `limit` successes in a row raise the limit by one.
        var steps: [Int] = []
        for _ in 0..<40 {
            let permit = try #require(limiter.tryAcquire())
            limiter.release(permit, outcome: .success)
            steps.append(limiter.limit)
        }
        #expect(steps.prefix(6) == [2, 2, 3, 3, 3, 4])
        #expect(limiter.limit == 8)
    }

    @Test("neutral outcomes break a run of successes")
    func neutral() throws {
        let limiter = AdaptiveConcurrencyLimit(maxLimit: 4)
        for _ in 0..<4 {
            let permit = try #require(limiter.tryAcquire())
            limiter.release(permit, outcome: .rateLimited)
        }
        #expect(limiter.limit == 1)
        let a = try #require(limiter.tryAcquire())
        limiter.release(a, outcome: .neutral)
        let b = try #require(limiter.tryAcquire())
        limiter.release(b, outcome: .success)
        #expect(limiter.limit == 2)
        let c = try #require(limiter.tryAcquire())
        limiter.release(c, outcome: .neutral)
        let d = try #require(limiter.tryAcquire())
        limiter.release(d, outcome: .success)
        #expect(limiter.limit == 2)
    }

    @Test("waiters are woken by releases and never exceed the limit")
    func waiters() async throws {
        let limiter = AdaptiveConcurrencyLimit(maxLimit: 2)
        let high = HighWater()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    let permit = try await limiter.acquire()
                    high.enter()
                    try await Task.sleep(for: .milliseconds(1))
                    high.leave()
                    limiter.release(permit, outcome: .neutral)
                }
            }
            try await group.waitForAll()
        }
        #expect(high.max <= 2)
        #expect(high.max >= 1)
        #expect(limiter.inFlight == 0)
    }

    @Test("cancelling a waiter makes acquire throw and leaks no permit")
    func cancellation() async throws {
        let limiter = AdaptiveConcurrencyLimit(maxLimit: 1)
        let held = try #require(limiter.tryAcquire())
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    _ = try await limiter.acquire()
                    return false
                } catch {
                    return error is CancellationError
                }
            }
            try? await Task.sleep(for: .milliseconds(20))
            group.cancelAll()
            #expect(await group.next() == true)
        }
        limiter.release(held, outcome: .success)
        #expect(limiter.inFlight == 0)
        #expect(limiter.tryAcquire() != nil)
    }
}
