public import Foundation

/// Decides, for one failed attempt of a request, whether to try again and after how long.
///
/// A pure value: ``decide(_:attempt:jitter:now:)`` looks only at its arguments, so it is tested
/// synchronously. The rules:
///
/// - **429 Too Many Requests** (and 503 with `Retry-After`): wait what `Retry-After` says (seconds or an
///   HTTP date), or back off exponentially when it is absent. A `Retry-After` longer than
///   ``maxRetryAfter`` fails instead of stalling the run.
/// - **408, 5xx, timeouts and dropped connections**: exponential backoff with full jitter: a uniformly random
///   delay in `0 ... min(maxDelay, baseDelay · 2^(attempt-1))` (AWS Architecture Blog, "Exponential Backoff
///   and Jitter"), so many clients that failed together do not retry together.
/// - **Malformed or contract-breaking 2xx responses**: retried with backoff at most ``maxBadResponseRetries``
///   times (a truncated body from a proxy is transient; a server that always answers wrongly is not).
/// - **Any other 4xx** (400, 401, 403, 404, 413, 422, ...): fail at once; retrying cannot help.
/// - Every request gets at most ``maxAttempts`` attempts in all.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts per request in all, first one included. Default 6.
    public var maxAttempts: Int
    /// The backoff ceiling of the first retry; it doubles with each further attempt. Default 0.5 s.
    public var baseDelay: Duration
    /// The largest backoff ceiling. Default 20 s.
    public var maxDelay: Duration
    /// The longest `Retry-After` that is honoured; a longer one fails the request. Default 120 s.
    public var maxRetryAfter: Duration
    /// How many times a malformed or contract-breaking response is retried. Default 2.
    public var maxBadResponseRetries: Int

    public init(
        maxAttempts: Int = 6, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(20),
        maxRetryAfter: Duration = .seconds(120), maxBadResponseRetries: Int = 2
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = max(.zero, baseDelay)
        self.maxDelay = max(.zero, maxDelay)
        self.maxRetryAfter = max(.zero, maxRetryAfter)
        self.maxBadResponseRetries = max(0, maxBadResponseRetries)
    }

    /// The default policy.
    public static let `default` = RetryPolicy()

    /// Never retry.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// What happened on one attempt.
    public enum Failure: Sendable, Hashable {
        /// A response with a status outside 2xx; `headers` have lower-cased names.
        case status(Int, headers: [String: String])
        /// No response: timeout, refused or dropped connection, or another transport failure.
        case transport(HTTPTransportError.Code)
        /// A 2xx response whose body is malformed or breaks the contract; `count` is how many such responses
        /// this request has had, this one included.
        case badResponse(count: Int)
    }

    /// What to do next.
    public enum Decision: Sendable, Hashable {
        /// Try again after waiting this long.
        case retry(after: Duration)
        /// Stop and report the failure.
        case fail(Reason)
    }

    /// Why a request is not retried.
    public enum Reason: Sendable, Hashable {
        /// The status means retrying cannot help (most 4xx).
        case notRetryable
        /// All ``RetryPolicy/maxAttempts`` were used.
        case attemptsExhausted
        /// The server asked to wait longer than ``RetryPolicy/maxRetryAfter``.
        case retryAfterTooLong(Duration)
        /// Malformed responses kept coming.
        case badResponsesExhausted
    }

    /// Decides what to do after attempt number `attempt` (1-based) failed with `failure`.
    /// - Parameters:
    ///   - jitter: a number in `0 ..< 1` that picks the backoff within its ceiling (pass a random one;
    ///     tests pass fixed ones).
    ///   - now: the current time, for `Retry-After` dates.
    public func decide(_ failure: Failure, attempt: Int, jitter: Double, now: Date = Date()) -> Decision {
        switch failure {
        case .status(let status, let headers):
            let retryable = status == 408 || status == 429 || (500...599).contains(status)
            guard retryable else { return .fail(.notRetryable) }
            guard attempt < maxAttempts else { return .fail(.attemptsExhausted) }
            if status == 429 || status == 503, let value = headers["retry-after"],
                let wait = Self.retryAfter(value, now: now)
            {
                return wait > maxRetryAfter ? .fail(.retryAfterTooLong(wait)) : .retry(after: wait)
            }
            return .retry(after: backoff(attempt: attempt, jitter: jitter))
        case .transport(let kind):
            guard kind != .other else { return .fail(.notRetryable) }
            guard attempt < maxAttempts else { return .fail(.attemptsExhausted) }
            return .retry(after: backoff(attempt: attempt, jitter: jitter))
        case .badResponse(let count):
            guard count <= maxBadResponseRetries else { return .fail(.badResponsesExhausted) }
            guard attempt < maxAttempts else { return .fail(.attemptsExhausted) }
            return .retry(after: backoff(attempt: attempt, jitter: jitter))
        }
    }

    /// The full-jitter backoff after attempt `attempt`: `jitter · min(maxDelay, baseDelay · 2^(attempt-1))`.
    public func backoff(attempt: Int, jitter: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        return ceiling * min(max(jitter, 0), 1)
    }

    /// Parses a `Retry-After` value: delay-seconds, or an HTTP date (RFC 9110 §10.2.3), measured from `now`.
    /// A date in the past means zero. Returns nil for anything else.
    public static func retryAfter(_ value: String, now: Date) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty, trimmed.allSatisfy(\.isASCII), trimmed.allSatisfy(\.isNumber) {
            guard let seconds = Int(trimmed) else { return .seconds(Int.max / 2) }  // absurdly long
            return .seconds(seconds)
        }
        guard let date = httpDate(trimmed) else { return nil }
        let seconds = date.timeIntervalSince(now)
        return seconds <= 0 ? .zero : .milliseconds(Int((seconds * 1000).rounded(.up)))
    }

    /// Parses the three HTTP date formats: IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850
    /// `Sunday, 06-Nov-94 08:49:37 GMT` and asctime `Sun Nov  6 08:49:37 1994`.
    static func httpDate(_ text: String) -> Date? {
        let formats = ["EEE, dd MMM yyyy HH:mm:ss 'GMT'", "EEEE, dd-MMM-yy HH:mm:ss 'GMT'", "EEE MMM d HH:mm:ss yyyy"]
        let collapsed = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        for format in formats {
            // DateFormatter is not Sendable; a local one per call is fine for a rare header.
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(secondsFromGMT: 0)
            formatter.dateFormat = format
            if let date = formatter.date(from: collapsed) { return date }
        }
        return nil
    }
}
