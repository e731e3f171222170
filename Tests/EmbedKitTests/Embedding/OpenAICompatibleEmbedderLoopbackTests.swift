import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// The embedder over real sockets, against ``LoopbackEmbeddingServer`` on 127.0.0.1.
@Suite("OpenAICompatibleEmbedder over loopback")
struct OpenAICompatibleEmbedderLoopbackTests {
    static let fastRetries = RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(5), maxDelay: .milliseconds(40))

    static func embedder(
        _ server: LoopbackEmbeddingServer, environment: [String: String] = [:],
        change: (inout OpenAICompatibleEmbedder.Configuration) -> Void = { _ in }
    ) throws -> OpenAICompatibleEmbedder {
        var configuration = OpenAICompatibleEmbedder.Configuration(
            baseURL: server.baseURL, model: "loopback-model", requestTimeout: .seconds(5), retryPolicy: fastRetries)
        change(&configuration)
        return try OpenAICompatibleEmbedder(
            configuration, dimension: configuration.dimensions ?? server.configuration.dimension,
            environment: environment)
    }

    static func texts(_ count: Int, _ prefix: String = "text") -> [String] {
        (0..<count).map { "\(prefix) \($0): \(String(repeating: "é", count: $0 % 7))" }
    }

    /// Every text got its own vector, and the server saw each text answered exactly once.
    static func expectExact(
        _ vectors: [[Float]], for texts: [String], server: LoopbackEmbeddingServer, dimension: Int = 8
    ) {
        #expect(vectors == texts.map { DeterministicVectors.vector(for: $0, dimension: dimension) })
        let answered = server.requests.filter { $0.fault == nil }.flatMap(\.inputs)
        #expect(answered.sorted() == texts.sorted())
    }

    @Test("connect probes the dimension; every input gets exactly its own vector")
    func correctAnswers() async throws {
        let server = try LoopbackEmbeddingServer(.init(dimension: 12))
        defer { server.stop() }
        let configuration = OpenAICompatibleEmbedder.Configuration(
            baseURL: server.baseURL, model: "loopback-model", maxInputsPerRequest: 16, retryPolicy: Self.fastRetries)
        let embedder = try await OpenAICompatibleEmbedder.connect(configuration, environment: [:])
        #expect(embedder.identity.model == "loopback-model@127.0.0.1:\(server.port)")
        #expect(embedder.identity.dimension == 12)
        let texts = Self.texts(300)
        let vectors = try await embedder.embed(texts)
        #expect(vectors == texts.map { DeterministicVectors.vector(for: $0, dimension: 12) })
        let embedded = server.requests.dropFirst()
        #expect(embedded.count == 19)
        #expect(embedded.flatMap(\.inputs).sorted() == texts.sorted())
        #expect(
            embedded.allSatisfy { $0.model == "loopback-model" && $0.encodingFormat == "float" && $0.dimensions == nil }
        )
    }

    @Test("requests in flight never exceed maxConcurrentRequests across many concurrent embed calls")
    func boundedInFlight() async throws {
        let server = try LoopbackEmbeddingServer(.init(latency: .milliseconds(15)))
        defer { server.stop() }
        let embedder = try Self.embedder(server) {
            $0.maxConcurrentRequests = 3
            $0.maxInputsPerRequest = 4
        }
        let batches = (0..<8).map { Self.texts(24, "caller \($0)") }
        let results = try await Self.embedConcurrently(batches, with: embedder)
        Self.expectExact(results.flatMap { $0 }, for: batches.flatMap { $0 }, server: server)
        #expect(server.requests.count == 48)
        #expect(server.maxInFlight <= 3)
        #expect(server.maxInFlight >= 2)
    }

    @Test(
        "each fault is survived by retrying, with nothing lost or duplicated",
        arguments: [
            LoopbackEmbeddingServer.Fault.rateLimited(retryAfter: "0"), .rateLimited(retryAfter: nil), .status(500),
            .status(503), .resetConnection, .malformedJSON, .wrongDimension, .wrongCount, .duplicateIndex,
        ])
    func faultSurvived(fault: LoopbackEmbeddingServer.Fault) async throws {
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        server.script([fault, fault])
        // A generous limit: the suite's blocking CLI tests can hold every thread of the test process's pool for
        // many seconds, and a good answer not read within the limit would be asked for again.
        let embedder = try Self.embedder(server) {
            $0.maxInputsPerRequest = 5
            $0.requestTimeout = .seconds(60)
        }
        let texts = Self.texts(10)
        let vectors = try await embedder.embed(texts)
        Self.expectExact(vectors, for: texts, server: server)
        #expect(server.requests.count == 4)
    }

    @Test("a server slower than the request timeout is retried, and every input still gets its own vector")
    func slowServerRetried() async throws {
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        server.script([.slow(.seconds(20)), .slow(.seconds(20))])
        let embedder = try Self.embedder(server) {
            $0.maxInputsPerRequest = 5
            $0.requestTimeout = .seconds(3)
        }
        let texts = Self.texts(10)
        let vectors = try await embedder.embed(texts)
        #expect(vectors == texts.map { DeterministicVectors.vector(for: $0, dimension: 8) })
        // Both slow requests were given up on and asked again; a loaded machine may ask a good one again too,
        // which the caller never sees.
        let requests = server.requests
        #expect(requests.filter { $0.fault != nil }.count == 2)
        #expect(Set(requests.filter { $0.fault == nil }.flatMap(\.inputs)) == Set(texts))
    }

    @Test("cancelling embed stops waiting for a slow server promptly")
    func cancellation() async throws {
        let server = try LoopbackEmbeddingServer(.init(latency: .seconds(600)))
        defer { server.stop() }
        let embedder = try Self.embedder(server) { $0.requestTimeout = .seconds(1200) }
        let clock = ContinuousClock()
        let start = clock.now
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = try? await embedder.embed(Self.texts(3)) }
            try? await Task.sleep(for: .milliseconds(100))
            group.cancelAll()
        }
        // Far less than the server's 600 s: the request was abandoned, not awaited. Alone this takes under a
        // second; the bound is loose because tests running beside this one can keep every thread of the pool
        // busy for half a minute under ThreadSanitizer.
        #expect(clock.now - start < .seconds(180))
    }

    @Test("4xx fail at once with .rejected", arguments: [400, 403, 404])
    func failFast(status: Int) async throws {
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        server.script([.status(status)])
        let embedder = try Self.embedder(server)
        let error = await #expect(throws: EmbeddingError.self) { try await embedder.embed(["a", "b"]) }
        #expect(error?.code == .rejected)
        #expect(
            error?.message.hasPrefix(
                "request 1 (inputs 0..1): the server at 127.0.0.1:\(server.port) answered HTTP \(status), server_error: "
            ) == true)
        #expect(server.requests.count == 1)
    }

    @Test("401 names the key's environment variable, never its value; the right key is sent as a bearer token")
    func unauthorized() async throws {
        let server = try LoopbackEmbeddingServer(.init(requiredAPIKey: "sk-right"))
        defer { server.stop() }
        let wrong = try Self.embedder(server, environment: ["EMBED_API_KEY": "sk-wrong-value"])
        let error = await #expect(throws: EmbeddingError.self) { try await wrong.embed(["a"]) }
        #expect(error?.code == .rejected)
        #expect(
            error?.message
                == "request 1 (inputs 0..0): the server at 127.0.0.1:\(server.port) answered HTTP 401, invalid_request_error/invalid_api_key: it refused the API key in EMBED_API_KEY. Check that EMBED_API_KEY holds a valid key for this provider."
        )
        #expect(error.map { "\($0)".contains("sk-wrong") } == false)

        let right = try Self.embedder(server, environment: ["EMBED_API_KEY": "sk-right"])
        #expect(try await right.embed(["a"]) == [DeterministicVectors.vector(for: "a", dimension: 8)])
        #expect(server.requests.last?.headers["authorization"] == "Bearer sk-right")
    }

    @Test("base64 encoding and requested dimensions travel over the wire")
    func base64() async throws {
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        let embedder = try Self.embedder(server) {
            $0.encoding = .base64
            $0.dimensions = 5
        }
        let texts = Self.texts(20)
        let vectors = try await embedder.embed(texts)
        Self.expectExact(vectors, for: texts, server: server, dimension: 5)
        #expect(server.requests.allSatisfy { $0.encodingFormat == "base64" && $0.dimensions == 5 })
    }

    @Test("Retry-After in seconds and as an HTTP date is waited for")
    func retryAfter() async throws {
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let date = formatter.string(from: Date().addingTimeInterval(3))
        server.script([.rateLimited(retryAfter: "1"), .rateLimited(retryAfter: date)])
        let embedder = try Self.embedder(server)
        let clock = ContinuousClock()
        let start = clock.now
        let vectors = try await embedder.embed(["a"])
        let elapsed = clock.now - start
        #expect(vectors == [DeterministicVectors.vector(for: "a", dimension: 8)])
        #expect(server.requests.count == 3)
        // 1 s, then until the date (1 to 2 s later, at second resolution); the upper bound has slack for a
        // loaded machine but stays below what ignoring Retry-After for the default backoff cap would take.
        #expect(elapsed >= .seconds(2))
        // Generous: under a sanitizer or a loaded machine every step is slower; the lower bound is the check.
        #expect(elapsed < TestTiming.bound(.seconds(60)))
    }

    @Test("a 429 storm lowers the concurrency limit, which recovers when it stops")
    func adaptiveLimit() async throws {
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        server.script(Array(repeating: .rateLimited(retryAfter: "0"), count: 16))
        let embedder = try Self.embedder(server) {
            $0.maxConcurrentRequests = 8
            $0.maxInputsPerRequest = 1
            $0.retryPolicy.maxAttempts = 20
        }
        let texts = Self.texts(8)
        Self.expectExact(try await embedder.embed(texts), for: texts, server: server)
        #expect(embedder.currentConcurrencyLimit < 8)
        let more = Self.texts(40, "more")
        _ = try await embedder.embed(more)
        #expect(embedder.currentConcurrencyLimit == 8)
    }

    @Test("random faults under concurrent callers lose and duplicate nothing")
    func chaos() async throws {
        let server = try LoopbackEmbeddingServer(
            .init(
                latency: .milliseconds(2),
                randomFaults: [
                    .init(.rateLimited(retryAfter: "0"), probability: 0.1), .init(.status(500), probability: 0.05),
                    .init(.malformedJSON, probability: 0.03),
                ], seed: 7))
        defer { server.stop() }
        let embedder = try Self.embedder(server) {
            $0.maxConcurrentRequests = 4
            $0.maxInputsPerRequest = 5
            $0.retryPolicy.maxAttempts = 10
        }
        let batches = (0..<4).map { Self.texts(50, "chaos \($0)") }
        let results = try await Self.embedConcurrently(batches, with: embedder)
        Self.expectExact(results.flatMap { $0 }, for: batches.flatMap { $0 }, server: server)
        #expect(server.requests.contains { $0.fault != nil })
        #expect(server.maxInFlight <= 4)
    }

    @Test("the server stops cleanly with idle keep-alive connections open")
    func stops() async throws {
        let server = try LoopbackEmbeddingServer()
        let embedder = try Self.embedder(server)
        _ = try await embedder.embed(["a"])
        let clock = ContinuousClock()
        let start = clock.now
        server.stop()
        #expect(clock.now - start < .seconds(1))
        let error = await #expect(throws: EmbeddingError.self) {
            try await Self.embedder(server) { $0.retryPolicy = .none }.embed(["a"])
        }
        #expect(error?.code == .transport)
    }

    /// Embeds each batch from its own concurrent caller; results in batch order.
    static func embedConcurrently(_ batches: [[String]], with embedder: OpenAICompatibleEmbedder) async throws
        -> [[[Float]]]
    {
        try await withThrowingTaskGroup(of: (Int, [[Float]]).self) { group in
            for (i, batch) in batches.enumerated() {
                group.addTask { (i, try await embedder.embed(batch)) }
            }
            var results = [[[Float]]](repeating: [], count: batches.count)
            for try await (i, vectors) in group { results[i] = vectors }
            return results
        }
    }
}
