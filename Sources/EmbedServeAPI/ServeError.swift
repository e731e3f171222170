/// Why the server refused a request, with the HTTP status and the OpenAI error `type` it answers with.
public struct ServeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var type: String
    public var message: String
    /// Seconds to wait before trying again (429, 503).
    public var retryAfter: Int?

    public init(status: Int, type: String, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { message }

    package static func invalid(_ message: String) -> ServeError {
        ServeError(status: 400, type: "invalid_request_error", message)
    }

    package static func overloaded(queued: Int) -> ServeError {
        ServeError(
            status: 429, type: "rate_limit_error",
            "the embedding queue is full (\(queued) texts waiting); try again shortly", retryAfter: 1)
    }

    package static let shuttingDown = ServeError(
        status: 503, type: "server_error", "the server is shutting down", retryAfter: 1)
}
