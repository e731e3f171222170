public import Foundation

/// One HTTP request, as the remote embedder hands it to an ``HTTPTransport``.
public struct HTTPRequest: Sendable {
    public var url: URL
    public var method: String
    /// Header fields; names are matched case-insensitively by servers.
    public var headers: [String: String]
    public var body: Data
    /// How long the whole exchange may take, by the wall clock (connecting, sending, redirects and every byte
    /// of the response), before failing with ``HTTPTransportError/Kind-swift.enum/timedOut``.
    public var timeout: Duration
    /// The largest response body accepted, counted after content decoding (gzip); a longer one fails the
    /// request. Default ``defaultMaxResponseBytes``.
    public var maxResponseBytes: Int

    /// 64 MiB.
    public static let defaultMaxResponseBytes = 64 << 20

    public init(
        url: URL, method: String = "POST", headers: [String: String] = [:], body: Data = Data(),
        timeout: Duration = .seconds(60), maxResponseBytes: Int = defaultMaxResponseBytes
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.maxResponseBytes = max(0, maxResponseBytes)
    }

    /// A byte count for messages: `512 bytes`, `17 KiB`, `64 MiB`, `1.0 GiB`.
    static func describe(bytes: Int64) -> String {
        if bytes < 1 << 10 { return "\(bytes) bytes" }
        if bytes < 1 << 20 { return "\(bytes >> 10) KiB" }
        if bytes < 1 << 30 { return "\(bytes >> 20) MiB" }
        return String(format: "%.1f GiB", Double(bytes) / Double(1 << 30))
    }
}

/// One HTTP response: status, header fields and the whole body.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header fields with lower-cased names.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = Dictionary(
            headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.body = body
    }

    /// The value of a header field, matched case-insensitively.
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Sends HTTP requests. The remote embedder depends on this protocol, not on a client library, so tests can
/// script responses (modelled on swift-openapi-runtime's `ClientTransport`).
///
/// Implementations are `Sendable` and safe to call from many tasks at once. They return every response that
/// arrived, whatever its status, and throw ``HTTPTransportError`` only when no complete response arrived.
/// They never forward a request to another origin on a redirect: they return the 3xx response instead, so the
/// caller can refuse it (the request's headers carry the API key).
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns the response.
    /// - Throws: ``HTTPTransportError`` when no complete response arrived; `CancellationError` when cancelled.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// Why no response arrived. Messages never contain request bodies or header values.
public struct HTTPTransportError: CodedError, Sendable {
    public enum Code: Sendable, Hashable {
        /// No complete response within the request timeout.
        case timedOut
        /// The connection could not be made, or was closed or reset before the response was complete.
        case connectionFailed
        /// Anything else (bad URL, TLS failure, a response over the size cap, ...); not worth retrying.
        case other
        /// An answer in a form the client refuses whatever it holds (compressed though it asked for identity):
        /// the server will answer the next request the same way.
        case unacceptable
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }
}
