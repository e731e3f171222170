import EmbedKit
import Foundation
import Testing

@Suite("RetryPolicy")
struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 4, baseDelay: .seconds(1), maxDelay: .seconds(5), maxRetryAfter: .seconds(60))

    @Test("429 waits what Retry-After says in seconds")
    func retryAfterSeconds() {
        let decision = policy.decide(.status(429, headers: ["retry-after": "7"]), attempt: 1, jitter: 0.5)
        #expect(decision == .retry(after: .seconds(7)))
    }

    @Test("429 waits until a Retry-After HTTP date")
    func retryAfterDate() {
        let now = Date(timeIntervalSince1970: 784_111_767)  // Sun, 06 Nov 1994 08:49:27 GMT
        let decision = policy.decide(
            .status(429, headers: ["retry-after": "Sun, 06 Nov 1994 08:49:37 GMT"]), attempt: 1, jitter: 0.5, now: now)
        #expect(decision == .retry(after: .seconds(10)))
    }

    @Test("Retry-After parses all three HTTP date formats; past dates mean now; junk is ignored")
    func httpDates() {
        let now = Date(timeIntervalSince1970: 784_111_767)
        #expect(RetryPolicy.retryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == .seconds(10))
        #expect(RetryPolicy.retryAfter("Sun Nov  6 08:49:37 1994", now: now) == .seconds(10))
        #expect(RetryPolicy.retryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now: now) == .zero)
        #expect(RetryPolicy.retryAfter(" 0 ", now: now) == .zero)
        #expect(RetryPolicy.retryAfter("soon", now: now) == nil)
        #expect(RetryPolicy.retryAfter("-3", now: now) == nil)
    }

    @Test("429 without a usable Retry-After backs off exponentially")
    func rateLimitedWithoutHeader() {
        #expect(policy.decide(.status(429, headers: [:]), attempt: 2, jitter: 0.5) == .retry(after: .seconds(1)))
        #expect(
            policy.decide(.status(429, headers: ["retry-after": "soon"]), attempt: 1, jitter: 1)
                == .retry(after: .seconds(1)))
    }

    @Test("a Retry-After longer than allowed fails")
    func retryAfterTooLong() {
        let decision = policy.decide(.status(429, headers: ["retry-after": "600"]), attempt: 1, jitter: 0)
        #expect(decision == .fail(.retryAfterTooLong(.seconds(600))))
    }

    @Test("backoff is full jitter under a doubling ceiling capped at maxDelay")
    func backoff() {
        #expect(policy.backoff(attempt: 1, jitter: 1) == .seconds(1))
        #expect(policy.backoff(attempt: 2, jitter: 1) == .seconds(2))
        #expect(policy.backoff(attempt: 3, jitter: 0.5) == .seconds(2))
        #expect(policy.backoff(attempt: 4, jitter: 1) == .seconds(5))
        #expect(policy.backoff(attempt: 60, jitter: 1) == .seconds(5))
        #expect(policy.backoff(attempt: 3, jitter: 0) == .zero)
    }

    @Test(
        "5xx, 408, timeouts and dropped connections are retried",
        arguments: [
            RetryPolicy.Failure.status(500, headers: [:]), .status(502, headers: [:]), .status(503, headers: [:]),
            .status(504, headers: [:]), .status(408, headers: [:]), .transport(.timedOut),
            .transport(.connectionFailed),
        ])
    func retried(failure: RetryPolicy.Failure) {
        #expect(policy.decide(failure, attempt: 1, jitter: 1) == .retry(after: .seconds(1)))
        #expect(policy.decide(failure, attempt: 3, jitter: 1) == .retry(after: .seconds(4)))
    }

    @Test("attempts are limited")
    func exhausted() {
        #expect(policy.decide(.status(500, headers: [:]), attempt: 4, jitter: 1) == .fail(.attemptsExhausted))
        #expect(
            policy.decide(.status(429, headers: ["retry-after": "1"]), attempt: 4, jitter: 1)
                == .fail(.attemptsExhausted))
        #expect(policy.decide(.transport(.timedOut), attempt: 4, jitter: 1) == .fail(.attemptsExhausted))
        #expect(RetryPolicy.none.decide(.transport(.timedOut), attempt: 1, jitter: 1) == .fail(.attemptsExhausted))
    }

    @Test("4xx other than 408 and 429 fail at once", arguments: [400, 401, 403, 404, 413, 422])
    func failFast(status: Int) {
        #expect(
            policy.decide(.status(status, headers: ["retry-after": "1"]), attempt: 1, jitter: 1) == .fail(.notRetryable)
        )
    }

    @Test("other transport failures are not retried")
    func otherTransport() {
        #expect(policy.decide(.transport(.other), attempt: 1, jitter: 1) == .fail(.notRetryable))
    }

    @Test("bad responses are retried at most maxBadResponseRetries times")
    func badResponses() {
        #expect(policy.decide(.badResponse(count: 1), attempt: 1, jitter: 1) == .retry(after: .seconds(1)))
        #expect(policy.decide(.badResponse(count: 2), attempt: 2, jitter: 1) == .retry(after: .seconds(2)))
        #expect(policy.decide(.badResponse(count: 3), attempt: 3, jitter: 1) == .fail(.badResponsesExhausted))
    }
}
