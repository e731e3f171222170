import EmbedKitTestSupport
import Foundation
import Testing

@testable import EmbedKit

/// Unit tests over a scripted transport (no network). The socket tests are in
/// `OpenAICompatibleEmbedderLoopbackTests`.
@Suite("OpenAICompatibleEmbedder")
struct OpenAICompatibleEmbedderTests {
    static let fastRetries = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5))

    static func configuration(
        _ url: String = "https://api.example.com/v1", dimensions: Int? = 4,
        change: (inout OpenAICompatibleEmbedder.Configuration) -> Void = { _ in }
    ) -> OpenAICompatibleEmbedder.Configuration {
        var configuration = OpenAICompatibleEmbedder.Configuration(
            baseURL: URL(string: url)!, model: "test-model", dimensions: dimensions, retryPolicy: fastRetries)
        change(&configuration)
        return configuration
    }

    func body(_ request: HTTPRequest) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
    }

    @Test("posts model, inputs, encoding and dimensions to {baseURL}/embeddings with the key as a bearer token")
    func request() async throws {
        let transport = FakeHTTPTransport(dimension: 4)
        let embedder = try OpenAICompatibleEmbedder(
            Self.configuration(), dimension: 4, transport: transport, environment: ["EMBED_API_KEY": "sk-secret"])
        let vectors = try await embedder.embed(["a", "b"])
        #expect(vectors == ["a", "b"].map { DeterministicVectors.vector(for: $0, dimension: 4) })
        let request = try #require(transport.requests.first)
        #expect(request.url.absoluteString == "https://api.example.com/v1/embeddings")
        #expect(request.method == "POST")
        #expect(request.headers["Authorization"] == "Bearer sk-secret")
        let json = try body(request)
        #expect(json["model"] as? String == "test-model")
        #expect(json["input"] as? [String] == ["a", "b"])
        #expect(json["encoding_format"] as? String == "float")
        #expect(json["dimensions"] as? Int == 4)
    }

    @Test("identity is openai, model@host[:port], the dimension, not normalized by default")
    func identity() throws {
        let remote = try OpenAICompatibleEmbedder(Self.configuration(), dimension: 4, transport: FakeHTTPTransport())
        #expect(
            remote.identity
                == EmbedderIdentity(
                    name: "openai", model: "test-model@api.example.com", dimension: 4, isNormalized: false))
        let local = try OpenAICompatibleEmbedder(
            Self.configuration("http://127.0.0.1:8080/v1", dimensions: nil) { $0.isNormalized = true }, dimension: 3,
            transport: FakeHTTPTransport())
        #expect(
            local.identity
                == EmbedderIdentity(
                    name: "openai", model: "test-model@127.0.0.1:8080", dimension: 3, isNormalized: true))
    }

    @Test("without a key no Authorization header is sent; OPENAI_API_KEY is used only for api.openai.com")
    func keys() async throws {
        let transport = FakeHTTPTransport()
        let local = try OpenAICompatibleEmbedder(
            Self.configuration(), dimension: 4, transport: transport, environment: ["OPENAI_API_KEY": "sk-openai"])
        _ = try await local.embed(["x"])
        #expect(transport.requests.last?.headers["Authorization"] == nil)

        let openAI = try OpenAICompatibleEmbedder(
            Self.configuration("https://api.openai.com/v1"), dimension: 4, transport: transport,
            environment: ["OPENAI_API_KEY": "sk-openai"])
        _ = try await openAI.embed(["x"])
        #expect(transport.requests.last?.headers["Authorization"] == "Bearer sk-openai")
        #expect(!String(describing: openAI).contains("sk-openai"))
        #expect(!String(reflecting: openAI).contains("sk-openai"))
    }

    @Test("connect learns the dimension from one probe request when dimensions is not given")
    func probe() async throws {
        let transport = FakeHTTPTransport(dimension: 6)
        let embedder = try await OpenAICompatibleEmbedder.connect(
            Self.configuration(dimensions: nil), transport: transport, environment: [:])
        #expect(embedder.identity.dimension == 6)
        #expect(transport.requests.count == 1)
        #expect(try body(transport.requests[0])["dimensions"] == nil)

        let given = try await OpenAICompatibleEmbedder.connect(
            Self.configuration(dimensions: 4), transport: transport, environment: [:])
        #expect(given.identity.dimension == 4)
        #expect(transport.requests.count == 1)
    }

    @Test("splits by input count and token budget, in order")
    func splitting() async throws {
        #expect(
            OpenAICompatibleEmbedder.plan(tokenCounts: [1, 1, 1, 1, 1], maxInputs: 2, maxTokens: 100) == [
                0..<2, 2..<4, 4..<5,
            ])
        #expect(
            OpenAICompatibleEmbedder.plan(tokenCounts: [3, 3, 3, 9, 1], maxInputs: 10, maxTokens: 6) == [
                0..<2, 2..<3, 3..<4, 4..<5,
            ])
        #expect(OpenAICompatibleEmbedder.plan(tokenCounts: [], maxInputs: 2, maxTokens: 6) == [])

        let transport = FakeHTTPTransport()
        let embedder = try OpenAICompatibleEmbedder(
            Self.configuration { $0.maxInputsPerRequest = 3 }, dimension: 4, transport: transport, environment: [:])
        let texts = (0..<10).map { "text \($0)" }
        let vectors = try await embedder.embed(texts)
        #expect(vectors == texts.map { DeterministicVectors.vector(for: $0, dimension: 4) })
        #expect(transport.requests.count == 4)
    }

    @Test("an input over maxInputTokens fails before sending, or is truncated")
    func inputLength() async throws {
        let transport = FakeHTTPTransport()
        let long = String(repeating: "word ", count: 20)
        let failing = try OpenAICompatibleEmbedder(
            Self.configuration { $0.maxInputTokens = 10 }, dimension: 4, transport: transport, environment: [:])
        let error = await #expect(throws: EmbeddingError.self) { try await failing.embed(["short", long]) }
        #expect(error?.code == .inputTooLong)
        #expect(
            error?.message
                == "Input 1 has about 20 tokens, more than the 10 allowed for test-model. Use smaller chunks, or the truncate input-length policy."
        )
        #expect(transport.requests.isEmpty)

        let truncating = try OpenAICompatibleEmbedder(
            Self.configuration {
                $0.maxInputTokens = 10; $0.inputLengthPolicy = .truncate
            }, dimension: 4,
            transport: transport, environment: [:])
        let vectors = try await truncating.embed(["short", long])
        let sent = try #require(try body(transport.requests[0])["input"] as? [String])
        #expect(sent[1] == String(repeating: "word ", count: 10))
        #expect(vectors[1] == DeterministicVectors.vector(for: sent[1], dimension: 4))
    }

    @Test("token estimate: ASCII words by 4 characters, other letters and symbols one each")
    func estimator() {
        let estimator = OpenAITokenEstimator()
        #expect(estimator.tokenCount("hello world") == 4)
        #expect(estimator.tokenCount("a, b.") == 4)
        #expect(estimator.tokenCount("日本語") == 3)
        #expect(estimator.tokenCount("  ") == 0)
        #expect(estimator.prefix(of: "abcdefgh ijkl", maxTokens: 2) == "abcdefgh ")
    }

    @Test("decodes base64 little-endian float32")
    func base64() async throws {
        let transport = FakeHTTPTransport(dimension: 5)
        let embedder = try OpenAICompatibleEmbedder(
            Self.configuration(dimensions: nil) { $0.encoding = .base64 }, dimension: 5, transport: transport,
            environment: [:])
        let vectors = try await embedder.embed(["p", "q"])
        #expect(vectors == ["p", "q"].map { DeterministicVectors.vector(for: $0, dimension: 5) })
        #expect(try body(transport.requests[0])["encoding_format"] as? String == "base64")
        #expect(OpenAICompatibleEmbedder.decodeBase64("AACAPwAAAMA=") == [1, -2])
        #expect(OpenAICompatibleEmbedder.decodeBase64("AACAPw==AA") == nil)
    }

    @Test("retries 429, 5xx, timeouts, dropped connections and bad responses, then succeeds")
    func retries() async throws {
        let transport = FakeHTTPTransport(script: [
            .status(429, headers: ["retry-after": "0"]), .status(500), .fail(.timedOut), .fail(.connectionFailed),
        ])
        let embedder = try OpenAICompatibleEmbedder(
            Self.configuration { $0.retryPolicy.maxAttempts = 5 }, dimension: 4, transport: transport, environment: [:])
        #expect(try await embedder.embed(["x"]) == [DeterministicVectors.vector(for: "x", dimension: 4)])
        #expect(transport.requests.count == 5)

        let bad = FakeHTTPTransport(script: [.malformed, .wrongDimension(3)])
        let second = try OpenAICompatibleEmbedder(Self.configuration(), dimension: 4, transport: bad, environment: [:])
        #expect(try await second.embed(["x", "y"]).count == 2)
        #expect(bad.requests.count == 3)
    }

    @Test("gives up with .transport after maxAttempts, naming the request")
    func exhausted() async throws {
        let transport = FakeHTTPTransport(script: Array(repeating: .status(503), count: 10))
        let embedder = try OpenAICompatibleEmbedder(
            Self.configuration(), dimension: 4, transport: transport, environment: [:])
        let error = await #expect(throws: EmbeddingError.self) { try await embedder.embed(["x", "y"]) }
        #expect(error?.code == .transport)
        #expect(
            error?.message
                == "request 1 (inputs 0..1): gave up after 4 attempts to api.example.com; the last failed with HTTP 503. The server may be down or overloaded: try again later or with fewer concurrent requests."
        )
        #expect(transport.requests.count == 4)
    }

    @Test(
        "bad responses that persist fail with .badResponse",
        arguments: [
            FakeHTTPTransport.Step.malformed, .wrongDimension(3), .dropLast,
        ])
    func persistentBadResponse(step: FakeHTTPTransport.Step) async throws {
        let transport = FakeHTTPTransport(script: Array(repeating: step, count: 5))
        let embedder = try OpenAICompatibleEmbedder(
            Self.configuration(), dimension: 4, transport: transport, environment: [:])
        let error = await #expect(throws: EmbeddingError.self) { try await embedder.embed(["x", "y"]) }
        #expect(error?.code == .badResponse)
        #expect(error?.message.hasPrefix("request 1 (inputs 0..1): ") == true)
        #expect(transport.requests.count == 3)
    }

    @Test("4xx fail at once with .rejected", arguments: [400, 403, 404, 422])
    func rejected(status: Int) async throws {
        let transport = FakeHTTPTransport(script: [.status(status)])
        let embedder = try OpenAICompatibleEmbedder(
            Self.configuration(), dimension: 4, transport: transport, environment: [:])
        let error = await #expect(throws: EmbeddingError.self) { try await embedder.embed(["x"]) }
        #expect(error?.code == .rejected)
        #expect(
            error?.message.hasPrefix("request 1 (inputs 0..0): the server at api.example.com answered HTTP \(status): ")
                == true)
        #expect(transport.requests.count == 1)
    }

    @Test("401 names the key's variable, never its value")
    func unauthorized() async throws {
        let transport = FakeHTTPTransport(script: [.status(401), .status(401)])
        let withKey = try OpenAICompatibleEmbedder(
            Self.configuration { $0.apiKeyEnvironmentVariable = "MY_KEY" }, dimension: 4, transport: transport,
            environment: ["MY_KEY": "sk-do-not-print"])
        let error = await #expect(throws: EmbeddingError.self) { try await withKey.embed(["x"]) }
        #expect(
            error?.message
                == "request 1 (inputs 0..0): the server at api.example.com answered HTTP 401: it refused the API key in MY_KEY. Check that MY_KEY holds a valid key for this provider."
        )
        #expect(error.map { String(describing: $0).contains("sk-do-not-print") } == false)

        let withoutKey = try OpenAICompatibleEmbedder(
            Self.configuration(), dimension: 4, transport: transport, environment: [:])
        let missing = await #expect(throws: EmbeddingError.self) { try await withoutKey.embed(["x"]) }
        #expect(
            missing?.message
                == "request 1 (inputs 0..0): the server at api.example.com answered HTTP 401: it needs an API key. Set the environment variable EMBED_API_KEY to your key."
        )
    }

    @Test("the provider's error type and code are quoted, its message is not")
    func providerError() async throws {
        let body = Data(
            #"{"error":{"message":"input 'secret text' too long","type":"invalid_request_error","code":null}}"#.utf8)
        let transport = FakeHTTPTransport(script: [.respond(HTTPResponse(status: 400, body: body))])
        let embedder = try OpenAICompatibleEmbedder(
            Self.configuration(), dimension: 4, transport: transport, environment: [:])
        let error = await #expect(throws: EmbeddingError.self) { try await embedder.embed(["secret text"]) }
        #expect(
            error?.message.hasPrefix(
                "request 1 (inputs 0..0): the server at api.example.com answered HTTP 400, invalid_request_error: ")
                == true)
        #expect(error?.message.contains("secret") == false)
    }

    @Test("invalid configurations are rejected")
    func invalidConfiguration() {
        #expect(throws: EmbeddingError.self) {
            try OpenAICompatibleEmbedder(
                Self.configuration("file:///tmp"), dimension: 4, transport: FakeHTTPTransport())
        }
        #expect(throws: EmbeddingError.self) {
            try OpenAICompatibleEmbedder(
                Self.configuration { $0.maxConcurrentRequests = 0 }, dimension: 4, transport: FakeHTTPTransport())
        }
        #expect(throws: EmbeddingError.self) {
            try OpenAICompatibleEmbedder(
                Self.configuration(dimensions: 8), dimension: 4, transport: FakeHTTPTransport())
        }
    }
}
