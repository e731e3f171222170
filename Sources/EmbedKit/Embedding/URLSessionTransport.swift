import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The production ``HTTPTransport``: Foundation's `URLSession` (libcurl on Linux).
///
/// One transport owns one session and its connection pool; share it between requests (and embedders) so
/// connections are kept alive. The session is invalidated when the transport is deallocated.
///
/// Defences against broken or hostile servers:
/// - **Deadline**: ``HTTPRequest/timeout`` bounds the whole exchange by the wall clock (redirects included), so a
///   server that drips one byte at a time cannot hold a request; `URLSession`'s own timeout is only an idle one.
/// - **Size cap**: the body is received piece by piece through a delegate and the request fails as soon as it
///   exceeds ``HTTPRequest/maxResponseBytes`` (counted after gzip/deflate decoding, which libcurl does), or as soon
///   as the declared `Content-Length` does.
/// - **Redirects**: never followed by `URLSession` (it copies every header, the API key included, to any host).
///   The transport itself follows 307 and 308 to the same origin (scheme, host and port), at most
///   ``maxRedirects`` times, re-sending the same method and body; any other redirect is returned as the response.
/// - **Cancellation**: cancelling the calling task cancels the `URLSessionTask` and returns at once.
///
/// Known Linux limitation (swift-corelibs-foundation over libcurl): when a server resets a *reused* keep-alive
/// connection mid-request, the failure is only reported when the request timeout expires; the embedder then
/// retries. So a dropped connection costs up to one request timeout.
public final class URLSessionTransport: HTTPTransport {
    /// The most same-origin 307/308 redirects followed for one request.
    public static let maxRedirects = 3

    private let session: URLSession
    private let delegate: SessionDelegate
    /// Where tasks are created, resumed and cancelled and the session invalidated. In the Foundation of Swift 6.3
    /// these wait synchronously for URLSession's work queue, which every session shares and which libcurl can hold
    /// for seconds (inflating a decompression bomb); a private serial queue gets a thread of its own, so the wait
    /// never blocks the Swift concurrency pool (that stalled every task in the process, deadlines included) nor a
    /// delegate callback running on the work queue (a deadlock).
    private let control = DispatchQueue(label: "URLSessionTransport.control")

    /// Creates a transport that keeps at most `maxConnectionsPerHost` connections open to one host.
    public init(maxConnectionsPerHost: Int = 8) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = max(1, maxConnectionsPerHost)
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        delegate = SessionDelegate()
        // A session delegate (not a completion handler) so the body reaches us piece by piece instead of being
        // accumulated by URLSession without bound; called inline so libcurl cannot outrun it (see InlineQueue).
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: InlineQueue())
    }

    deinit {
        let session = session
        control.async { session.invalidateAndCancel() }
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let deadline = ContinuousClock.now + request.timeout
        var url = request.url
        var hops = 0
        while true {
            let response = try await exchange(request, url: url, deadline: deadline)
            guard response.status == 307 || response.status == 308, hops < Self.maxRedirects,
                let target = HTTPURLs.redirectTarget(response, from: url), HTTPURLs.sameOrigin(target, url)
            else { return response }
            hops += 1
            url = target
        }
    }

    /// One request/response under the wall-clock `deadline`.
    private func exchange(_ request: HTTPRequest, url: URL, deadline: ContinuousClock.Instant) async throws
        -> HTTPResponse
    {
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method
        urlRequest.httpBody = request.body
        // URLSession's idle timeout is a backstop only; the deadline below fires first. Whole seconds, at least
        // 1: swift-corelibs-foundation truncates the interval, so 0.5 s would become 0 and fail at once.
        urlRequest.timeoutInterval = max(1, request.timeout.seconds.rounded(.up)) + 1
        // Uncompressed answers only: a compressed body's size is unknown until it is inflated, and libcurl
        // inflates far past the cap (a 1 MB gzip body can become 1 GB) before a cancel lands.
        urlRequest.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        for (name, value) in request.headers {
            urlRequest.setValue(value, forHTTPHeaderField: name)
        }
        let timeout = request.timeout
        let exchange = Exchange(maxBytes: request.maxResponseBytes, control: control, delegate: delegate)
        let (session, prepared) = (session, urlRequest)
        // The deadline is a timer that finishes the exchange, not a task racing it: the exchange's state
        // decides which came first at the moment each happens. Two tasks would be decided by which one the
        // pool ran first, and with every thread busy (parsing large files, say) a response that arrived in
        // time could lose to the timer and be asked for again.
        let timer = DispatchWorkItem {
            exchange.finish(.failure(HTTPTransportError(.timedOut, "no complete response within \(timeout)")))
        }
        let remaining = max(0, (deadline - ContinuousClock.now).seconds)
        DispatchQueue.global().asyncAfter(deadline: .now() + remaining, execute: timer)
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                exchange.start(continuation, session: session, request: prepared)
            }
        } onCancel: {
            exchange.finish(.failure(CancellationError()))
        }
    }

    /// Maps a `URLError` to a transport error kind. The message names the failure, never the request.
    static func transportError(_ error: any Error) -> HTTPTransportError {
        guard let urlError = error as? URLError else {
            return HTTPTransportError(.other, "the request failed: \(type(of: error))")
        }
        switch urlError.code {
        case .timedOut:
            return HTTPTransportError(.timedOut, "the connection was idle too long")
        case .networkConnectionLost, .cannotConnectToHost, .notConnectedToInternet, .badServerResponse,
            .cannotFindHost, .dnsLookupFailed, .zeroByteResource, .cannotParseResponse:
            return HTTPTransportError(.connectionFailed, "the connection failed (URLError \(urlError.code.rawValue))")
        case .cannotDecodeContentData, .cannotDecodeRawData:
            return HTTPTransportError(
                .connectionFailed, "the response body could not be decoded (URLError \(urlError.code.rawValue))")
        default:
            return HTTPTransportError(.other, "the request failed (URLError \(urlError.code.rawValue))")
        }
    }
}

/// One request on the wire: its `URLSessionTask` (made on the control queue), its body so far, and the
/// continuation of the `send` waiting for it. Finished exactly once: by the delegate (complete, failed, too
/// large) or by cancellation, which never waits for URLSession.
private final class Exchange: Sendable {
    private struct State {
        var continuation: CheckedContinuation<HTTPResponse, any Error>?
        var outcome: Result<HTTPResponse, any Error>?
        var task: URLSessionDataTask?
        var body = Data()
    }

    let maxBytes: Int
    private let control: DispatchQueue
    private let delegate: SessionDelegate
    private let state = Locked(State())

    init(maxBytes: Int, control: DispatchQueue, delegate: SessionDelegate) {
        self.maxBytes = maxBytes
        self.control = control
        self.delegate = delegate
    }

    /// Installs the continuation, then makes and starts the task on the control queue (unless finished by then).
    func start(
        _ continuation: CheckedContinuation<HTTPResponse, any Error>, session: URLSession, request: URLRequest
    ) {
        let outcome = state.withLock { state -> Result<HTTPResponse, any Error>? in
            if let outcome = state.outcome { return outcome }
            state.continuation = continuation
            return nil
        }
        if let outcome {
            continuation.resume(with: outcome)
            return
        }
        control.async { [self] in
            guard state.withLock({ $0.outcome == nil }) else { return }
            let task = session.dataTask(with: request)
            delegate.register(self, for: task)
            let finished = state.withLock { state -> Bool in
                state.task = task
                return state.outcome != nil
            }
            if finished {
                delegate.unregister(task)
                task.cancel()
            } else {
                task.resume()
            }
        }
    }

    /// Ends the exchange with `outcome` if it has not ended yet; a failure also cancels the task.
    func finish(_ outcome: Result<HTTPResponse, any Error>) {
        let (continuation, task) = state.withLock {
            state -> (CheckedContinuation<HTTPResponse, any Error>?, URLSessionDataTask?) in
            guard state.outcome == nil else { return (nil, nil) }
            state.outcome = outcome
            state.body = Data()
            defer { state.continuation = nil }
            return (state.continuation, state.task)
        }
        if let task {
            delegate.unregister(task)
            if case .failure = outcome { control.async { task.cancel() } }  // see URLSessionTransport.control
        }
        continuation?.resume(with: outcome)
    }

    /// Ends the exchange with a redirect's status and headers (no body), and the task with it.
    func redirected(_ response: HTTPURLResponse, task: URLSessionTask) {
        finish(.success(HTTPResponse(status: response.statusCode, headers: Self.headers(of: response), body: Data())))
        control.async { task.cancel() }  // see URLSessionTransport.control
    }

    /// Checks the declared length against the cap, and refuses a compressed body, before any body arrives.
    /// - Returns: false when the response is refused.
    @discardableResult
    func received(_ response: URLResponse) -> Bool {
        if response.expectedContentLength > Int64(maxBytes) {
            finish(.failure(Self.tooLarge(maxBytes, declared: response.expectedContentLength)))
            return false
        } else if let encoding = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Encoding"),
            !["", "identity"].contains(encoding.trimmingCharacters(in: .whitespaces).lowercased())
        {
            finish(.failure(HTTPTransportError(
                .unacceptable,
                "a compressed answer (Content-Encoding: \(encoding.prefix(40))) though embed asked for an uncompressed "
                    + "one (Accept-Encoding: identity): its size is unknown until inflated, where a few MB can become "
                    + "gigabytes. Serve embeddings uncompressed")))
            return false
        }
        return true
    }

    func received(_ data: Data) {
        let over = state.withLock { state -> Bool in
            guard state.outcome == nil else { return false }
            guard state.body.count + data.count <= maxBytes else { return true }
            state.body.append(data)
            return false
        }
        if over { finish(.failure(Self.tooLarge(maxBytes, declared: nil))) }
    }

    func completed(_ response: URLResponse?, error: (any Error)?) {
        if let error {
            finish(.failure(URLSessionTransport.transportError(error)))
            return
        }
        guard let http = response as? HTTPURLResponse else {
            finish(.failure(HTTPTransportError(.other, "the response is not an HTTP response")))
            return
        }
        let body = state.withLock { $0.body }
        finish(.success(HTTPResponse(status: http.statusCode, headers: Self.headers(of: http), body: body)))
    }

    /// Header fields with lower-cased names.
    private static func headers(of response: HTTPURLResponse) -> [String: String] {
        var headers: [String: String] = [:]
        for (name, value) in response.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return headers
    }

    private static func tooLarge(_ maxBytes: Int, declared: Int64?) -> HTTPTransportError {
        let limit = HTTPRequest.describe(bytes: Int64(maxBytes))
        if let declared {
            return HTTPTransportError(
                .other,
                "the response declares \(HTTPRequest.describe(bytes: declared)), more than the \(limit) a valid answer can need"
            )
        }
        return HTTPTransportError(
            .other, "the response grew past \(limit) (decompressed), more than a valid answer can need")
    }
}

/// A delegate "queue" that runs each callback at once, on the thread that schedules it.
///
/// swift-corelibs-foundation schedules every delegate callback with `addOperation` from its serial work queue,
/// the queue that also drives libcurl. With an ordinary queue nothing slows libcurl down: against a fast endless or
/// decompression-bomb body, received pieces piled up in the queue faster than it ran them (1.2 GB before the first
/// callback saw the cap). Run inline, each piece is counted before libcurl reads the next, so the cap holds. The
/// callbacks only take short locks and never wait on URLSession (cancelling goes to the control queue), so running
/// them on its work queue is safe (it does the same for `data(for:)`'s completion). Should a Foundation schedule
/// differently, callbacks still arrive, only later.
private final class InlineQueue: OperationQueue, @unchecked Sendable {
    override func addOperation(_ block: @Sendable @escaping () -> Void) {
        block()
    }

    override func addOperation(_ operation: Operation) {
        operation.start()
    }

    override func addOperations(_ operations: [Operation], waitUntilFinished wait: Bool) {
        for operation in operations { operation.start() }
    }
}

/// Routes the session's callbacks to each task's ``Exchange``. Callbacks arrive one at a time, on URLSession's
/// work queue.
private final class SessionDelegate: NSObject, URLSessionDataDelegate, Sendable {
    private let exchanges = Locked<[Int: Exchange]>([:])

    func register(_ exchange: Exchange, for task: URLSessionTask) {
        exchanges.withLock { $0[task.taskIdentifier] = exchange }
    }

    func unregister(_ task: URLSessionTask) {
        _ = exchanges.withLock { $0.removeValue(forKey: task.taskIdentifier) }
    }

    private func exchange(_ task: URLSessionTask) -> Exchange? {
        exchanges.withLock { $0[task.taskIdentifier] }
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @Sendable @escaping (URLRequest?) -> Void
    ) {
        // Never let URLSession follow: it would send the Authorization header to whatever host is named (and on
        // Linux drop the body). The 3xx itself is the answer: the transport decides with it in hand. The
        // completion handler is never called and the task is cancelled instead: in this Foundation, a cancel
        // that lands between the handler and its processing on the work queue is a fatal error ("Received
        // callback for HTTP redirection, but we're not waiting for it"), and the redirect's body is not needed.
        if let exchange = exchange(task) {
            exchange.redirected(response, task: task)
        } else {
            exchangeless(task)
        }
    }

    /// Cancels a task whose exchange has already ended (its cancel may be on its way too; a second is harmless).
    private func exchangeless(_ task: URLSessionTask) {
        DispatchQueue.global().async { task.cancel() }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @Sendable @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        // A response refused at its headers is cancelled here, before libcurl reads (and inflates) its body.
        let refused = exchange(dataTask)?.received(response) == false
        completionHandler(refused ? .cancel : .allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        exchange(dataTask)?.received(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        exchange(task)?.completed(task.response, error: error)
    }
}
