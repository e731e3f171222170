public import Foundation
import EmbedKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real HTTP/1.1 OpenAI-compatible embeddings server on 127.0.0.1, for tests and benchmarks.
///
/// POSIX sockets and one thread per connection; no dependencies. It binds an ephemeral port (or
/// ``Configuration/port``), parses requests with `Content-Length` bodies over keep-alive connections, and
/// answers `POST …/embeddings` with ``DeterministicVectors`` (dimension: the request's `dimensions`, else
/// ``Configuration/dimension``; base64 when asked), after ``Configuration/latency``.
///
/// Faults: each embeddings request takes the next scripted fault (``script(_:)``), else one drawn with the
/// probabilities in ``Configuration/randomFaults`` (seeded, so runs repeat). It records every request and the
/// most embeddings requests it was ever handling at once (``maxInFlight``). ``stop()`` closes everything and
/// waits for its threads; call it when done (the server's threads keep it alive until then). Every loop is
/// bounded by timeouts or sizes.
///
/// Runs on its own threads, so a standalone executable can start one and sleep:
/// `let server = try LoopbackEmbeddingServer(.init(port: 8089, latency: .milliseconds(40), randomFaults: [.init(.rateLimited(retryAfter: "1"), probability: 0.05)]))`.
public final class LoopbackEmbeddingServer: Sendable {
    /// A way to answer one embeddings request wrongly.
    public enum Fault: Sendable, Hashable {
        /// 429 with this `Retry-After` value (none when nil).
        case rateLimited(retryAfter: String?)
        /// This status with an OpenAI-style error body (500, 503, 401, 400, ...).
        case status(Int)
        /// Answer correctly, but only after this extra delay (longer than the client timeout to time it out).
        case slow(Duration)
        /// Close the connection without answering, with a TCP reset (SO_LINGER 0).
        case resetConnection
        /// Answer 200 with a truncated JSON body.
        case malformedJSON
        /// Answer 200 with one vector one component too long.
        case wrongDimension
        /// Answer 200 without the last embedding.
        case wrongCount
        /// Answer 200 with index 0 twice (when there are at least two inputs).
        case duplicateIndex
        /// Answer this redirect status (301, 302, 307, 308, ...) with this `Location`.
        case redirect(status: Int, location: String)
    }

    /// A fault drawn at random with a probability.
    public struct RandomFault: Sendable, Hashable {
        public var fault: Fault
        public var probability: Double
        public init(_ fault: Fault, probability: Double) {
            self.fault = fault
            self.probability = probability
        }
    }

    public struct Configuration: Sendable {
        /// The port to bind on 127.0.0.1; 0 for an ephemeral one. Default 0.
        public var port: UInt16
        /// The dimension of vectors when the request does not ask for one. Default 8.
        public var dimension: Int
        /// How long each embeddings request takes before its answer. Default zero.
        public var latency: Duration
        /// Faults drawn per request when the script is empty (probabilities summed in order). Default none.
        public var randomFaults: [RandomFault]
        /// When set, requests without `Authorization: Bearer <key>` get 401.
        public var requiredAPIKey: String?
        /// The seed of the fault draws. Default 1.
        public var seed: UInt64
        /// The most embeddings requests worked on at once, as a model server with that many slots: the others
        /// queue (their ``latency`` starts when a slot frees). Nil for no bound. Default nil.
        public var capacity: Int?

        public init(
            port: UInt16 = 0, dimension: Int = 8, latency: Duration = .zero, randomFaults: [RandomFault] = [],
            requiredAPIKey: String? = nil, seed: UInt64 = 1, capacity: Int? = nil
        ) {
            self.capacity = capacity
            self.port = port
            self.dimension = dimension
            self.latency = latency
            self.randomFaults = randomFaults
            self.requiredAPIKey = requiredAPIKey
            self.seed = seed
        }
    }

    /// One request as the server received it.
    public struct RecordedRequest: Sendable {
        public var method: String
        public var path: String
        /// Header fields with lower-cased names.
        public var headers: [String: String]
        public var model: String?
        public var inputs: [String]
        public var encodingFormat: String?
        public var dimensions: Int?
        /// The fault it was answered with, or nil for a correct answer.
        public var fault: Fault?
    }

    private struct State {
        var script: [Fault] = []
        var inputFaults: [(marker: String, fault: Fault)] = []
        var requests: [RecordedRequest] = []
        var inFlight = 0
        var maxInFlight = 0
        var served = 0
        var connections: Set<Int32> = []
        var connectionCount = 0
        var random: UInt64
        var stopping = false
        var held = false
    }

    public let configuration: Configuration
    /// The port the server listens on.
    public let port: Int
    private let listener: Int32
    private let state: Locked<State>
    private let threads = DispatchGroup()
    private let slots: CapacityGate?

    /// Binds 127.0.0.1 and starts accepting connections.
    /// - Throws: `POSIXError` when the socket cannot be bound.
    /// A server started again on the port of one that stopped, as a restarted process would be. The port may be
    /// held for a moment by a client socket that got it as its own local port (another test's connection):
    /// binding is tried again for up to `patience`.
    public static func restarted(
        _ configuration: Configuration, patience: Duration = .seconds(20)
    ) async throws -> LoopbackEmbeddingServer {
        let deadline = ContinuousClock.now + patience
        while true {
            do {
                return try LoopbackEmbeddingServer(configuration)
            } catch let error as POSIXError where error.code == .EADDRINUSE && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    public init(_ configuration: Configuration = Configuration()) throws {
        self.configuration = configuration
        state = Locked(State(random: configuration.seed))
        slots = configuration.capacity.map { CapacityGate(capacity: $0) }
        (listener, port) = try LoopbackListener.open(port: configuration.port, backlog: 128)
        threads.enter()
        Thread { [self] in
            acceptLoop()
            threads.leave()
        }.start()
    }

    /// `http://127.0.0.1:<port>/v1`.
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }

    /// Holds every embeddings request, received but unanswered, until ``release()`` (or two minutes pass): a
    /// test can then look at what its client does while the model is busy.
    public func hold() {
        state.withLock { $0.held = true }
    }

    /// Answers the held requests and every one after.
    public func release() {
        state.withLock { $0.held = false }
    }

    private func waitWhileHeld() {
        let deadline = ContinuousClock.now + .seconds(120)
        while state.withLock({ $0.held }), !isStopping, ContinuousClock.now < deadline { sleep(.milliseconds(10)) }
    }

    /// Queues faults; each embeddings request takes the next one, in arrival order.
    public func script(_ faults: [Fault]) {
        state.withLock { $0.script.append(contentsOf: faults) }
    }

    /// Answers every embeddings request with an input containing `marker` with `fault`, before the script and
    /// the random faults (so one document's texts can be made to fail); a nil `fault` removes the rule.
    public func failInputs(containing marker: String, with fault: Fault?) {
        state.withLock { state in
            state.inputFaults.removeAll { $0.marker == marker }
            if let fault { state.inputFaults.append((marker, fault)) }
        }
    }

    /// Every request received so far, in arrival order.
    public var requests: [RecordedRequest] { state.withLock { $0.requests } }
    /// The embeddings requests being handled now.
    public var inFlight: Int { state.withLock { $0.inFlight } }
    /// The most embeddings requests ever handled at once.
    public var maxInFlight: Int { state.withLock { $0.maxInFlight } }
    /// How many embeddings requests it answered with vectors (a fault of `.slow` included, other faults not),
    /// counting answers a ``stop()`` cut off before they arrived.
    public var servedCount: Int { state.withLock { $0.served } }
    /// How many connections were accepted.
    public var connectionCount: Int { state.withLock { $0.connectionCount } }

    /// Stops accepting, closes every connection and waits (at most 5 s) for the server's threads.
    public func stop() {
        let connections = state.withLock { state -> Set<Int32> in
            state.stopping = true
            return state.connections
        }
        for fd in connections { shutdown(fd, Int32(SHUT_RDWR)) }
        _ = threads.wait(timeout: .now() + 5)
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    // MARK: - Connections

    private func acceptLoop() {
        defer { close(listener) }
        while !isStopping {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let fd = LoopbackListener.accept(listener)
            guard fd >= 0 else { continue }
            let accepted = state.withLock { state -> Bool in
                guard !state.stopping else { return false }
                state.connections.insert(fd)
                state.connectionCount += 1
                return true
            }
            guard accepted else {
                close(fd)
                break
            }
            var yes: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            threads.enter()
            Thread { [self] in
                serve(fd)
                threads.leave()
            }.start()
        }
    }

    private struct Request {
        var method: String
        var path: String
        var headers: [String: String]
        var body: [UInt8]
    }

    private enum ReadResult {
        case request(Request)
        case closed
        case bad(status: Int)
    }

    private func serve(_ fd: Int32) {
        var buffer: [UInt8] = []
        var reset = false
        defer {
            state.withLock { _ = $0.connections.remove(fd) }
            if reset {
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            }
            close(fd)
        }
        // Each iteration answers one request; ends when the peer closes, asks to, or the server stops.
        while !isStopping {
            switch readRequest(fd, &buffer) {
            case .closed:
                return
            case .bad(let status):
                write(
                    fd, status: status, body: Self.errorBody("bad request", type: "invalid_request_error"), close: true)
                return
            case .request(let request):
                let keepAlive = request.headers["connection"]?.lowercased() != "close"
                if !handle(request, on: fd, keepAlive: keepAlive) {
                    reset = true
                    return
                }
                if !keepAlive { return }
            }
        }
    }

    /// Answers one request. Returns false when the connection must be reset.
    private func handle(_ request: Request, on fd: Int32, keepAlive: Bool) -> Bool {
        let body = Data(request.body)
        let fields = DeterministicVectors.requestFields(body)
        var record = RecordedRequest(
            method: request.method, path: request.path, headers: request.headers, model: fields.model,
            inputs: DeterministicVectors.inputs(ofRequestBody: body) ?? [], encodingFormat: fields.encoding,
            dimensions: fields.dimensions, fault: nil)
        guard request.path.hasSuffix("/embeddings") else {
            state.withLock { $0.requests.append(record) }
            write(fd, status: 404, body: Self.errorBody("no such path", type: "not_found"), close: !keepAlive)
            return true
        }
        guard request.method == "POST" else {
            state.withLock { $0.requests.append(record) }
            write(fd, status: 405, body: Self.errorBody("use POST", type: "invalid_request_error"), close: !keepAlive)
            return true
        }
        let inputs = record.inputs
        let fault = state.withLock { state -> Fault? in
            state.inFlight += 1
            state.maxInFlight = max(state.maxInFlight, state.inFlight)
            if let rule = state.inputFaults.first(where: { rule in inputs.contains { $0.contains(rule.marker) } }) {
                return rule.fault
            }
            if !state.script.isEmpty { return state.script.removeFirst() }
            return Self.draw(configuration.randomFaults, random: &state.random)
        }
        record.fault = fault
        state.withLock { $0.requests.append(record) }
        defer { state.withLock { $0.inFlight -= 1 } }

        waitWhileHeld()
        if let slots {
            guard slots.enter(while: { !isStopping }) else { return true }
        }
        defer { slots?.leave() }
        sleep(configuration.latency)
        if let key = configuration.requiredAPIKey, request.headers["authorization"] != "Bearer \(key)" {
            write(
                fd, status: 401,
                body: Self.errorBody("invalid api key", type: "invalid_request_error", code: "invalid_api_key"),
                close: !keepAlive)
            return true
        }
        guard let inputs = DeterministicVectors.inputs(ofRequestBody: body) else {
            write(fd, status: 400, body: Self.errorBody("no input", type: "invalid_request_error"), close: !keepAlive)
            return true
        }
        let dimension = fields.dimensions ?? configuration.dimension
        let base64 = fields.encoding == "base64"
        var vectors = inputs.map { DeterministicVectors.vector(for: $0, dimension: dimension) }
        var indexes = Array(vectors.indices)
        switch fault {
        case nil:
            break
        case .rateLimited(let retryAfter):
            write(
                fd, status: 429, headers: retryAfter.map { ["Retry-After": $0] } ?? [:],
                body: Self.errorBody("rate limited", type: "rate_limit_exceeded"), close: !keepAlive)
            return true
        case .status(let status):
            write(fd, status: status, body: Self.errorBody("scripted failure", type: "server_error"), close: !keepAlive)
            return true
        case .slow(let delay):
            sleep(delay)
        case .resetConnection:
            return false
        case .malformedJSON:
            write(
                fd, status: 200, body: Data(#"{"object":"list","data":[{"index":0,"embedding":[0.5,"#.utf8),
                close: !keepAlive)
            return true
        case .wrongDimension:
            if !vectors.isEmpty { vectors[vectors.count - 1].append(0.5) }
        case .wrongCount:
            vectors = Array(vectors.dropLast())
            indexes = Array(indexes.dropLast())
        case .duplicateIndex:
            if indexes.count > 1 { indexes[1] = 0 }
        case .redirect(let status, let location):
            write(
                fd, status: status, headers: ["Location": location],
                body: Self.errorBody("moved", type: "redirect"), close: !keepAlive)
            return true
        }
        let correct =
            switch fault {
            case nil, .slow: true
            default: false
            }
        // Counted before the write: an answer cut off by stop() counts, so the client never sees more than this.
        if correct { state.withLock { $0.served += 1 } }
        write(
            fd, status: 200, body: DeterministicVectors.responseBody(vectors, base64: base64, indexes: indexes),
            close: !keepAlive)
        return true
    }

    /// Reads one request (headers and a Content-Length body) from `fd`, keeping any extra bytes in `buffer`.
    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> ReadResult {
        let maxHeader = 64 * 1024
        let maxBody = 64 * 1024 * 1024
        var headerEnd: Int? = nil
        while headerEnd == nil {
            headerEnd = Self.find([13, 10, 13, 10], in: buffer)
            if headerEnd != nil { break }
            if buffer.count > maxHeader { return .bad(status: 431) }
            guard receive(fd, into: &buffer) else { return .closed }
        }
        let end = headerEnd!
        guard let head = String(bytes: buffer[..<end], encoding: .utf8) else { return .bad(status: 400) }
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3 else { return .bad(status: 400) }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return .bad(status: 400) }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        if headers["transfer-encoding"] != nil { return .bad(status: 411) }
        let length = Int(headers["content-length"] ?? "0") ?? -1
        guard length >= 0, length <= maxBody else { return .bad(status: 413) }
        buffer.removeFirst(end + 4)
        if headers["expect"]?.lowercased() == "100-continue" {
            sendAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        while buffer.count < length {
            guard receive(fd, into: &buffer) else { return .closed }
        }
        let body = Array(buffer[..<length])
        buffer.removeFirst(length)
        return .request(
            Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body))
    }

    /// Appends what arrives within 50 ms to `buffer`; false when the peer closed or the server is stopping.
    private func receive(_ fd: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !isStopping {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 50)
            if ready < 0 && errno != EINTR { return false }
            guard ready > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            buffer.append(contentsOf: chunk[..<count])
            return true
        }
        return false
    }

    private func write(_ fd: Int32, status: Int, headers: [String: String] = [:], body: Data, close: Bool) {
        var head =
            "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n"
        sendAll(fd, Array(head.utf8) + Array(body))
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { return }  // the peer is gone (timed out or reset); nothing to do
            offset += sent
        }
    }

    /// Sleeps `duration` in slices, returning early when the server stops.
    private func sleep(_ duration: Duration) {
        var remaining = duration
        let slice = Duration.milliseconds(10)
        while remaining > .zero, !isStopping {
            let step = min(slice, remaining)
            let (seconds, attoseconds) = step.components
            var time = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
            nanosleep(&time, nil)
            remaining -= step
        }
    }

    // MARK: - Helpers

    private static func draw(_ faults: [RandomFault], random: inout UInt64) -> Fault? {
        guard !faults.isEmpty else { return nil }
        random &+= 0x9E37_79B9_7F4A_7C15
        var z = random
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        var x = Double(z >> 11) / Double(1 << 53)
        for candidate in faults {
            if x < candidate.probability { return candidate.fault }
            x -= candidate.probability
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }

    private static func errorBody(_ message: String, type: String, code: String? = nil) -> Data {
        let codeJSON = code.map { "\"\($0)\"" } ?? "null"
        return Data(#"{"error":{"message":"\#(message)","type":"\#(type)","code":\#(codeJSON)}}"#.utf8)
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

/// At most `capacity` threads inside at once; the others wait their turn.
private final class CapacityGate: @unchecked Sendable {
    // `busy` is read and written only while `condition` is locked.
    private let condition = NSCondition()
    private var busy = 0
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Waits for a free place and takes it; returns false without one when `shouldWait` turns false.
    func enter(while shouldWait: () -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while busy >= capacity {
            guard shouldWait() else { return false }
            // Bounded so a stopping server is noticed.
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.05))
        }
        busy += 1
        return true
    }

    func leave() {
        condition.lock()
        busy -= 1
        condition.signal()
        condition.unlock()
    }
}
