import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// The fleet over real sockets, against several ``LoopbackEmbeddingServer``s on 127.0.0.1.
@Suite("EmbeddingFleet over loopback")
struct EmbeddingFleetTests {
    static let fastRetries = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(5), maxDelay: .milliseconds(40))

    static func fleet(
        _ servers: [LoopbackEmbeddingServer], environment: [String: String] = [:],
        change: (inout OpenAICompatibleEmbedder.Configuration) -> Void = { _ in }
    ) throws -> EmbeddingFleet {
        var configuration = OpenAICompatibleEmbedder.Configuration(
            baseURL: servers[0].baseURL, model: "loopback-model", maxConcurrentRequests: 2, maxInputsPerRequest: 4,
            requestTimeout: .seconds(5), retryPolicy: fastRetries)
        change(&configuration)
        return try EmbeddingFleet(
            configuration, moreBaseURLs: servers.dropFirst().map(\.baseURL), dimension: 8, environment: environment)
    }

    static func texts(_ count: Int, _ prefix: String = "text") -> [String] {
        (0..<count).map { "\(prefix) \($0): \(String(repeating: "é", count: $0 % 5))" }
    }

    static func expected(_ texts: [String]) -> [[Float]] {
        texts.map { DeterministicVectors.vector(for: $0, dimension: 8) }
    }

    /// Texts some server answered with vectors.
    static func answered(by servers: [LoopbackEmbeddingServer]) -> Set<String> {
        Set(servers.flatMap { $0.requests.filter { $0.fault == nil }.flatMap(\.inputs) })
    }

    @Test("endpoints of different speeds, one stopped mid-run and restarted: every text once, in order, its own vector")
    func stoppedMidRunAndProbedBackIn() async throws {
        let fast = try LoopbackEmbeddingServer(.init(latency: .milliseconds(5), capacity: 2))
        defer { fast.stop() }
        let alsoFast = try LoopbackEmbeddingServer(.init(latency: .milliseconds(5), capacity: 2))
        defer { alsoFast.stop() }
        let slow = try LoopbackEmbeddingServer(.init(latency: .milliseconds(80), capacity: 2))
        defer { slow.stop() }
        let doomed = try LoopbackEmbeddingServer(.init(latency: .milliseconds(5), capacity: 2))
        let fleet = try Self.fleet([fast, alsoFast, slow, doomed])

        let texts = Self.texts(2000)
        async let embedding = fleet.embed(texts)
        // Stopped while the fleet is busy: requests in flight there are cut, later ones are refused.
        let deadline = ContinuousClock.now + .seconds(TestTiming.bound(60))
        while doomed.servedCount < 20, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        doomed.stop()
        let servedBeforeStop = doomed.servedCount
        let vectors = try await embedding

        #expect(vectors == Self.expected(texts), "a text is missing, out of order or not its own vector")
        #expect(Self.answered(by: [fast, alsoFast, slow, doomed]) == Set(texts))
        #expect(servedBeforeStop >= 20)
        #expect(servedBeforeStop < 500, "the doomed endpoint was stopped after the run, not during it")
        // Requests were spread by load: the slow endpoint, holding each request longer, got fewer.
        #expect(slow.servedCount < fast.servedCount)
        #expect(slow.servedCount < alsoFast.servedCount)
        #expect(fast.maxInFlight <= 2 && alsoFast.maxInFlight <= 2 && slow.maxInFlight <= 2)
        let usage = fleet.usage
        #expect(usage.map(\.requestsServed).reduce(0, +) == 500)
        #expect(usage[3].timesTakenOut >= 1)
        #expect(usage[3].failedAttempts >= 1, "no batch was sent to the stopped endpoint and moved")
        #expect(usage[3].requestsServed <= servedBeforeStop)
        #expect(usage[0...2].allSatisfy { $0.timesTakenOut == 0 })

        // Started again on the same port: the next request routed there after its backoff is the probe.
        let restarted = try await LoopbackEmbeddingServer.restarted(
            .init(port: UInt16(doomed.port), latency: .milliseconds(5), capacity: 2), patience: .seconds(TestTiming.bound(20)))
        defer { restarted.stop() }
        let again = ContinuousClock.now + .seconds(TestTiming.bound(40))
        var round = 0
        while restarted.servedCount == 0, ContinuousClock.now < again {
            round += 1
            let more = Self.texts(200, "round \(round)")
            #expect(try await fleet.embed(more) == Self.expected(more))
        }
        #expect(restarted.servedCount > 0, "the restarted endpoint was never probed back in")
        let more = Self.texts(400, "after")
        #expect(try await fleet.embed(more) == Self.expected(more))
        #expect(fleet.usage[3].isOut == false)
        #expect(restarted.servedCount > 1, "back in, it serves again")
    }

    @Test("every endpoint down: a transport error naming each endpoint, after bounded effort")
    func everyEndpointDown() async throws {
        let first = try LoopbackEmbeddingServer()
        let second = try LoopbackEmbeddingServer()
        let fleet = try Self.fleet([first, second]) { $0.retryPolicy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(5)) }
        first.stop()
        second.stop()
        let started = ContinuousClock.now
        let error = await #expect(throws: EmbeddingError.self) { try await fleet.embed(Self.texts(9)) }
        let elapsed = ContinuousClock.now - started
        #expect(error?.code == .transport)
        #expect(error?.stopsRun == false)
        let message = try #require(error?.message)
        #expect(message.contains("127.0.0.1:\(first.port) ("), "\(message)")
        #expect(message.contains("127.0.0.1:\(second.port) ("), "\(message)")
        #expect(message.contains("(last: the connection failed"), "\(message)")
        #expect(message.contains("across the 2 endpoints, every one of them out"), "\(message)")
        // Taken out, then probed after 1 s and 2 s: three failures in a row each, about 3 s on a quiet machine
        // (the bound only catches a hang: a loaded one delays the timers). The effort is what is bounded.
        #expect(elapsed >= .seconds(2))
        #expect(elapsed < .seconds(TestTiming.bound(60)))
        let total = message.firstMatch(of: /gave up after (\d+) attempts/).map { Int($0.1)! }
        #expect(total.map { $0 <= 2 * 3 } == true, "\(message)")
    }

    @Test("a 5xx takes an endpoint out at once: its batches go to the others without a backoff wait")
    func serverErrorTakesOut() async throws {
        let failing = try LoopbackEmbeddingServer(.init(randomFaults: [.init(.status(503), probability: 1)]))
        defer { failing.stop() }
        let healthy = try LoopbackEmbeddingServer(.init(latency: .milliseconds(2)))
        defer { healthy.stop() }
        // A backoff of up to an hour: a batch that waited one out would not finish within the test's bound.
        let fleet = try Self.fleet([failing, healthy]) {
            $0.retryPolicy = RetryPolicy(baseDelay: .seconds(3600), maxDelay: .seconds(3600))
        }
        let texts = Self.texts(100)
        let started = ContinuousClock.now
        #expect(try await fleet.embed(texts) == Self.expected(texts))
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(TestTiming.bound(30)))
        // The two sent to it at first, before it was out; then at most its probes, 1 s, 2 s, 4 s... apart.
        let probes = elapsed < .seconds(1) ? 0 : Int(log2(elapsed / .seconds(1))) + 1
        #expect(failing.requests.count <= 2 + probes, "\(failing.requests.count) requests in \(elapsed)")
        #expect(fleet.usage[0].timesTakenOut == 1)
        #expect(fleet.usage[0].isOut)
        #expect(fleet.usage[1].requestsServed == 25)
    }

    @Test("a 429 halves that endpoint's limit but does not take it out")
    func rateLimitedStaysIn() async throws {
        let limited = try LoopbackEmbeddingServer(.init(latency: .milliseconds(5)))
        defer { limited.stop() }
        let other = try LoopbackEmbeddingServer(.init(latency: .milliseconds(5)))
        defer { other.stop() }
        limited.script(Array(repeating: .rateLimited(retryAfter: "0"), count: 3))
        let fleet = try Self.fleet([limited, other]) { $0.maxConcurrentRequests = 4 }
        let texts = Self.texts(200)
        #expect(try await fleet.embed(texts) == Self.expected(texts))
        #expect(limited.requests.filter { $0.fault != nil }.count == 3)
        let usage = fleet.usage
        #expect(usage[0].timesTakenOut == 0 && usage[0].failedAttempts == 0)
        #expect(usage[0].requestsServed > 0)
    }

    @Test("a refused key fails as with one endpoint: the same message, and the run stops")
    func refusalAsWithOneEndpoint() async throws {
        let guarded = try LoopbackEmbeddingServer(.init(requiredAPIKey: "right"))
        defer { guarded.stop() }
        let alsoGuarded = try LoopbackEmbeddingServer(.init(requiredAPIKey: "right"))
        defer { alsoGuarded.stop() }
        let environment = ["EMBED_API_KEY": "wrong"]
        let fleet = try Self.fleet([guarded, alsoGuarded], environment: environment)
        let fleetError = await #expect(throws: EmbeddingError.self) { try await fleet.embed(["one"]) }
        let single = try OpenAICompatibleEmbedder(
            .init(baseURL: guarded.baseURL, model: "loopback-model", retryPolicy: Self.fastRetries), dimension: 8,
            environment: environment)
        let singleError = await #expect(throws: EmbeddingError.self) { try await single.embed(["one"]) }
        #expect(fleetError?.code == .rejected)
        #expect(fleetError?.stopsRun == true)
        #expect(fleetError?.message == singleError?.message)
        #expect(fleet.usage.allSatisfy { $0.timesTakenOut == 0 })
    }

    @Test("repeated bad answers take an endpoint out; its batches go to the others")
    func badAnswersTakeOut() async throws {
        let broken = try LoopbackEmbeddingServer(.init(randomFaults: [.init(.malformedJSON, probability: 1)]))
        defer { broken.stop() }
        let healthy = try LoopbackEmbeddingServer(.init(latency: .milliseconds(2)))
        defer { healthy.stop() }
        let fleet = try Self.fleet([broken, healthy])
        let texts = Self.texts(100)
        #expect(try await fleet.embed(texts) == Self.expected(texts))
        #expect(fleet.usage[0].timesTakenOut >= 1)
        #expect(fleet.usage[0].requestsServed == 0)
        #expect(fleet.usage[1].requestsServed == 25)
    }

    @Test("the identity is the first endpoint's; connect learns the dimension from whichever endpoint answers")
    func identityAndConnect() async throws {
        let down = try LoopbackEmbeddingServer(.init(dimension: 6))
        down.stop()
        let up = try LoopbackEmbeddingServer(.init(dimension: 6))
        defer { up.stop() }
        let fleet = try await EmbeddingFleet.connect(
            .init(baseURL: down.baseURL, model: "m", retryPolicy: Self.fastRetries), moreBaseURLs: [up.baseURL],
            environment: [:])
        #expect(fleet.identity.model == "m@127.0.0.1:\(down.port)")
        #expect(fleet.identity.name == "openai")
        #expect(fleet.identity.dimension == 6)
        #expect(fleet.usage[0].isOut)
        #expect(try await fleet.embed(["x"]) == [DeterministicVectors.vector(for: "x", dimension: 6)])
    }

    @Test("an endpoint given twice, or with a user name and password, is refused")
    func badEndpoints() throws {
        let base = URL(string: "http://127.0.0.1:9/v1")!
        let twice = #expect(throws: EmbeddingError.self) {
            try EmbeddingFleet(.init(baseURL: base, model: "m"), moreBaseURLs: [base], dimension: 4)
        }
        #expect(twice?.message == "The endpoint http://127.0.0.1:9/v1 is given twice. Give each endpoint once.")
        let secret = #expect(throws: EmbeddingError.self) {
            try EmbeddingFleet(
                .init(baseURL: base, model: "m"), moreBaseURLs: [URL(string: "http://u:p@127.0.0.1:10/v1")!],
                dimension: 4)
        }
        #expect(secret?.message.contains("must not contain a user name or password") == true)
    }
}
