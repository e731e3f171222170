import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The production ``HTTPTransport``: Foundation's `URLSession` (libcurl on Linux).
///
/// One transport owns one session and its connection pool; share it between requests (and embedders) so
/// connections are kept alive. The session is invalidated when the transport is deallocated.
///
/// Timeouts are rounded up to whole seconds (at least 1 s), because on Linux `URLSession` truncates them.
///
/// Known Linux limitation (swift-corelibs-foundation over libcurl): when a server resets a *reused* keep-alive
/// connection mid-request, the failure is only reported when the request timeout expires; the embedder then
/// retries. So a dropped connection costs up to one request timeout.
public final class URLSessionTransport: HTTPTransport {
    private let session: URLSession

    /// Creates a transport that keeps at most `maxConnectionsPerHost` connections open to one host.
    public init(maxConnectionsPerHost: Int = 8) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = max(1, maxConnectionsPerHost)
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration)
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        urlRequest.httpBody = request.body
        // Whole seconds, at least 1: swift-corelibs-foundation truncates the interval to whole seconds for its
        // timer, so 0.5 s would become 0 and fail every request at once with a bogus timeout.
        urlRequest.timeoutInterval = max(1, Self.seconds(request.timeout).rounded(.up))
        for (name, value) in request.headers {
            urlRequest.setValue(value, forHTTPHeaderField: name)
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: urlRequest)
        } catch {
            try Task.checkCancellation()
            throw Self.transportError(error, timeout: request.timeout)
        }
        guard let http = response as? HTTPURLResponse else {
            throw HTTPTransportError(.other, "the response is not an HTTP response")
        }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String {
                headers[name.lowercased()] = value
            }
        }
        return HTTPResponse(status: http.statusCode, headers: headers, body: data)
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// Maps a `URLError` to a transport error kind. The message names the failure, never the request.
    private static func transportError(_ error: any Error, timeout: Duration) -> HTTPTransportError {
        guard let urlError = error as? URLError else {
            return HTTPTransportError(.other, "the request failed: \(type(of: error))")
        }
        switch urlError.code {
        case .timedOut:
            return HTTPTransportError(.timedOut, "no response within \(timeout)")
        case .networkConnectionLost, .cannotConnectToHost, .notConnectedToInternet, .badServerResponse,
            .cannotFindHost, .dnsLookupFailed, .zeroByteResource, .cannotParseResponse:
            return HTTPTransportError(.connectionFailed, "the connection failed (URLError \(urlError.code.rawValue))")
        default:
            return HTTPTransportError(.other, "the request failed (URLError \(urlError.code.rawValue))")
        }
    }
}
