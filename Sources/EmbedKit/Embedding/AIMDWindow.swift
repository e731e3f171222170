/// The arithmetic of an additive-increase / multiplicative-decrease limit, as TCP's congestion window: the one
/// piece shared by ``AdaptiveConcurrencyLimit`` (one server) and ``EmbeddingFleet`` (one window per endpoint).
///
/// The limit starts at ``maxLimit``; a rate-limited outcome halves it (at least 1), and a run of ``limit``
/// successes in a row raises it by one, up to ``maxLimit``. Only one halving per congestion event: the requests
/// that were in flight together and all got 429 halve the limit once, not once each, because each remembers the
/// ``epoch`` it started in and only one of the current epoch may halve.
package struct AIMDWindow: Sendable, Hashable {
    /// The highest the limit goes.
    package let maxLimit: Int
    /// The requests allowed in flight now, between 1 and ``maxLimit``.
    package private(set) var limit: Int
    /// Bumped on each halving; stamp a request with it when it starts.
    package private(set) var epoch = 0
    private var successRun = 0

    package init(maxLimit: Int) {
        self.maxLimit = max(1, maxLimit)
        limit = self.maxLimit
    }

    /// Adapts the limit to how one request, started in `startEpoch`, went.
    package mutating func record(_ outcome: AdaptiveConcurrencyLimit.Outcome, startedIn startEpoch: Int) {
        switch outcome {
        case .success:
            successRun += 1
            if successRun >= limit, limit < maxLimit {
                limit += 1
                successRun = 0
            }
        case .rateLimited:
            successRun = 0
            if startEpoch == epoch {
                limit = max(1, limit / 2)
                epoch += 1
            }
        case .neutral:
            successRun = 0
        }
    }
}
