package import Foundation

extension OpenAICompatibleEmbedder {
    struct WireRequest: Encodable {
        var model: String
        var input: [String]
        var encoding_format: String
        var dimensions: Int?
    }

    struct WireResponse: Decodable {
        struct Item: Decodable {
            var index: Int
            var embedding: WireEmbedding
        }
        var data: [Item]
    }

    enum WireEmbedding: Decodable {
        case floats([Float])
        case base64(String)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let string = try? container.decode(String.self) {
                self = .base64(string)
            } else {
                self = .floats(try container.decode([Float].self))
            }
        }
    }

    /// An error body: `{"error": {"message", "type", "code"}}` (OpenAI, llama.cpp), with `code` a string or a
    /// number (vLLM), or `{"error": "message"}` (text-embeddings-inference). Decoding never fails on odd fields.
    struct WireError: Decodable {
        var type: String?
        var code: String?
        var message: String?

        private enum Keys: String, CodingKey { case error, type, code, message }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            if let text = try? container.decode(String.self, forKey: .error) {
                message = text
                return
            }
            let detail = try container.nestedContainer(keyedBy: Keys.self, forKey: .error)
            type = try? detail.decode(String.self, forKey: .type)
            code = (try? detail.decode(String.self, forKey: .code)) ?? (try? detail.decode(Int.self, forKey: .code)).map(String.init)
            message = try? detail.decode(String.self, forKey: .message)
        }

        /// `, type/code` when either is a plain identifier, else empty.
        var identifiers: String {
            let parts = [type, code].compactMap { $0 }.filter { OpenAICompatibleEmbedder.isIdentifier($0) }
            return parts.isEmpty ? "" : ", \(parts.joined(separator: "/"))"
        }
    }

    /// The response cap of a request: about 48 bytes per float (full precision, pretty-printed) plus slack per
    /// vector and 1 MiB overall, and never below 16 MiB, so a valid answer always fits but an endless or
    /// decompression-bomb body fails early. The dimension probe (no dimension yet) gets the floor.
    static func maxResponseBytes(inputs: Int, dimension: Int?) -> Int {
        let floats = min(max(dimension ?? 8192, 1), 1 << 20)
        let perVector = floats * 48 + 256
        return max(16 << 20, min(inputs, 1 << 20) * perVector + (1 << 20))
    }

    /// The JSON body of a request for `inputs`, the same for every endpoint of a fleet.
    /// - Throws: ``EmbeddingError`` `.rejected` when it cannot be encoded.
    func requestBody(_ inputs: [String], label: String) throws -> Data {
        do {
            return try JSONEncoder().encode(
                WireRequest(
                    model: configuration.model, input: inputs, encoding_format: configuration.encoding.rawValue,
                    dimensions: configuration.dimensions))
        } catch {
            throw EmbeddingError(.rejected, "\(label): the request could not be encoded as JSON", cause: error)
        }
    }

    /// The request to this embedder's endpoint carrying `body` (of `count` inputs), with this embedder's key.
    func request(body: Data, count: Int, expectedDimension: Int?) -> HTTPRequest {
        var headers = ["Content-Type": "application/json", "Accept": "application/json", "User-Agent": "embed"]
        if let apiKey { headers["Authorization"] = "Bearer \(apiKey.value)" }
        return HTTPRequest(
            url: endpoint, method: "POST", headers: headers, body: body, timeout: configuration.requestTimeout,
            maxResponseBytes: Self.maxResponseBytes(inputs: count, dimension: expectedDimension))
    }

    /// Sends one request of `inputs`, retrying per the policy, holding a permit of the shared limiter
    /// for each attempt (not while backing off).
    /// - Parameter label: names the request in errors, such as `request 3 (inputs 256..383)`.
    func send(_ inputs: [String], label: String, expectedDimension: Int?) async throws -> [[Float]] {
        let request = request(
            body: try requestBody(inputs, label: label), count: inputs.count, expectedDimension: expectedDimension)
        let policy = configuration.retryPolicy

        var attempt = 0
        var badResponses = 0
        while true {
            attempt += 1
            let failure: RetryPolicy.Failure
            let detail: String
            var lastBadResponse: EmbeddingError? = nil
            switch try await attemptOnce(
                request, count: inputs.count, expectedDimension: expectedDimension, label: label)
            {
            case .success(let vectors):
                return vectors
            case .badResponse(let error):
                badResponses += 1
                failure = .badResponse(count: badResponses)
                detail = "a bad response"
                lastBadResponse = error
            case .status(let response):
                failure = .status(response.status, headers: response.headers)
                detail = "HTTP \(response.status)"
                if case .fail(.notRetryable) = policy.decide(failure, attempt: attempt, jitter: 0) {
                    throw rejection(response, label: label)
                }
            case .transport(let error):
                // An answer embed never accepts (compressed against its request) will not change on a retry or
                // on the next batch: stop the run, as a redirect to another origin does.
                if error.code == .unacceptable { throw unacceptable(error, label: label) }
                failure = .transport(error.code)
                detail = error.message
            }

            switch policy.decide(failure, attempt: attempt, jitter: Double.random(in: 0..<1)) {
            case .retry(let delay):
                try await Task.sleep(for: delay)  // throws at once when the task is cancelled
            case .fail(let reason):
                if case .badResponse = failure, let error = lastBadResponse {
                    throw finalBadResponse(error, attempts: attempt)
                }
                throw exhausted(reason, detail: detail, attempt: attempt, label: label)
            }
        }
    }

    /// How one attempt went.
    enum AttemptResult {
        case success([[Float]])
        case badResponse(EmbeddingError)
        case status(HTTPResponse)
        case transport(HTTPTransportError)

        /// What the attempt says about the server's load, for an AIMD limit.
        var limitOutcome: AdaptiveConcurrencyLimit.Outcome {
            switch self {
            case .success: .success
            case .status(let response) where response.status == 429: .rateLimited
            default: .neutral
            }
        }
    }

    /// One attempt under one permit of the shared limiter, released with the attempt's outcome.
    private func attemptOnce(
        _ request: HTTPRequest, count: Int, expectedDimension: Int?, label: String
    ) async throws -> AttemptResult {
        let permit = try await limiter.acquire()
        let result: AttemptResult
        do {
            result = try await exchange(request, count: count, expectedDimension: expectedDimension, label: label)
        } catch {
            limiter.release(permit, outcome: .neutral)
            throw error
        }
        limiter.release(permit, outcome: result.limitOutcome)
        return result
    }

    /// One attempt, without retries and without this embedder's limiter: the primitive a caller that schedules
    /// attempts itself (``EmbeddingFleet``) builds on. Decodes and checks a 2xx answer.
    /// - Throws: only `CancellationError` (or what the transport throws besides ``HTTPTransportError``).
    func exchange(
        _ request: HTTPRequest, count: Int, expectedDimension: Int?, label: String
    ) async throws -> AttemptResult {
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch let error as HTTPTransportError {
            return .transport(error)
        }
        guard (200..<300).contains(response.status) else { return .status(response) }
        do {
            return .success(
                try Self.decode(response.body, count: count, expectedDimension: expectedDimension, label: label))
        } catch var error as EmbeddingError {
            // Some servers answer 200 with an error body: say what the server said rather than "not embeddings".
            if let wire = try? JSONDecoder().decode(WireError.self, from: response.body) {
                let said = wire.message.map { ": \"\(redact(Self.excerpt($0)))\"" } ?? ""
                error.message =
                    "\(label): the server at \(host) answered HTTP \(response.status) with an error instead of embeddings\(wire.identifiers)\(said)"
            }
            return .badResponse(error)
        }
    }

    /// The run-stopping error for an answer embed never accepts: it will not change on a retry or the next batch.
    func unacceptable(_ error: HTTPTransportError, label: String) -> EmbeddingError {
        EmbeddingError(.rejected, "\(label): the server at \(host) sent \(error.message)", stopsRun: true)
    }

    /// The last bad response of a request that gets no more attempts, with what to check.
    func finalBadResponse(_ error: EmbeddingError, attempts: Int) -> EmbeddingError {
        var error = error
        error.message +=
            " (\(attempts) attempt\(attempts == 1 ? "" : "s")). Check that the server at \(host) is OpenAI-compatible"
            + " and serves model \(configuration.model)."
        return error
    }

    /// A server's message for ours: one line of at most 300 characters.
    static func excerpt(_ text: String) -> String {
        let line = String(
            text.map { character in
                let control = character.unicodeScalars.contains { $0.properties.generalCategory == .control }
                return character.isNewline || control ? " " : character
            })
        return line.count > 300 ? String(line.prefix(300)) + "..." : line
    }

    /// `text` with the API key and any bearer token replaced, for text that came from the server.
    func redact(_ text: String) -> String {
        var text = text
        if let apiKey, !apiKey.value.isEmpty { text = text.replacingOccurrences(of: apiKey.value, with: "<redacted>") }
        return text.replacing(/(?i)bearer\s+[^\s"'),;]+/, with: "Bearer <redacted>")
    }

    func exhausted(_ reason: RetryPolicy.Reason, detail: String, attempt: Int, label: String) -> EmbeddingError
    {
        switch reason {
        case .retryAfterTooLong(let wait):
            return EmbeddingError(
                .transport,
                "\(label): the server at \(host) is rate limiting and asked to wait \(wait.components.seconds) s "
                    + "(Retry-After), longer than the \(configuration.retryPolicy.maxRetryAfter.components.seconds) s allowed. "
                    + "Try again later or with fewer concurrent requests.")
        case .notRetryable:
            return EmbeddingError(
                .transport, "\(label): the request to \(host) failed: \(detail). Check the base URL and the network.")
        case .attemptsExhausted, .badResponsesExhausted:
            return EmbeddingError(
                .transport,
                "\(label): gave up after \(attempt) attempt\(attempt == 1 ? "" : "s") to \(host); the last failed with \(detail). "
                    + "The server may be down or overloaded: try again later or with fewer concurrent requests.")
        }
    }

    /// The error for a 3xx or 4xx that retrying cannot fix. Names the key's variable, never its value, and only
    /// the provider's error type/code, never its message (which may quote the input).
    func rejection(_ response: HTTPResponse, label: String) -> EmbeddingError {
        let status = response.status
        let provider = (try? JSONDecoder().decode(WireError.self, from: response.body))?.identifiers ?? ""
        let prefix = "\(label): the server at \(host) answered HTTP \(status)\(provider)"
        let message: String
        switch status {
        case 300..<400:
            // Every request would meet the same redirect.
            return EmbeddingError(.rejected, redirection(response, label: label), stopsRun: true)
        case 401:
            message =
                apiKey == nil
                ? "\(prefix): it needs an API key. Set the environment variable \(keyVariable) to your key."
                : "\(prefix): it refused the API key in \(keyVariable). Check that \(keyVariable) holds a valid key for this provider."
        case 403:
            message =
                "\(prefix): access denied. Check that the key in \(keyVariable) may use model \(configuration.model)."
        case 404:
            message =
                "\(prefix): not found. Check the base URL (\(HTTPURLs.display(configuration.baseURL)); most providers' end in /v1) and the model name \(configuration.model)."
        case 413:
            message = "\(prefix): the request is too large. Lower the inputs or tokens per request."
        default:
            message =
                "\(prefix): the request was rejected. Check the model name \(configuration.model), the dimensions and the input limits (at most \(configuration.maxInputTokens) tokens per input)."
        }
        // A refused key, a forbidden model or a wrong URL fails every request alike.
        return EmbeddingError(.rejected, message, stopsRun: [401, 403, 404].contains(status))
    }

    /// The error for a redirect the transport did not follow: names the target and the base URL to use instead.
    private func redirection(_ response: HTTPResponse, label: String) -> String {
        let prefix = "\(label): the server at \(host) answered HTTP \(response.status), a redirect"
        guard let target = HTTPURLs.redirectTarget(response, from: endpoint), target.host != nil else {
            return "\(prefix) without a usable Location. Set the base URL (--base-url) to the server's API root."
        }
        let shown = redact(HTTPURLs.display(target))
        var base = HTTPURLs.removingUserInfo(target)
        if base.lastPathComponent == "embeddings" { base.deleteLastPathComponent() }
        var suggestion = redact(HTTPURLs.display(base))
        if suggestion.hasSuffix("/") { suggestion.removeLast() }
        let why =
            HTTPURLs.sameOrigin(target, endpoint)
            ? "which is not followed (only 307 and 308 within the same origin are, at most \(URLSessionTransport.maxRedirects) times)"
            : "another origin: not followed, because the request carries the API key"
        return "\(prefix) to \(shown), \(why). If that is the right server, set the base URL (--base-url) to the final URL, \(suggestion)."
    }

    static func isIdentifier(_ text: String) -> Bool {
        text.count <= 64
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
    }

    /// Decodes and checks a 2xx body: valid JSON, one item per input, each index exactly once, one finite
    /// dimension throughout (equal to `expectedDimension` when given).
    package static func decode(_ body: Data, count: Int, expectedDimension: Int?, label: String) throws -> [[Float]] {
        let response: WireResponse
        do {
            response = try JSONDecoder().decode(WireResponse.self, from: body)
        } catch {
            throw EmbeddingError(
                .badResponse, "\(label): the response is not valid embeddings JSON (\(body.count) bytes)", cause: error)
        }
        guard response.data.count == count else {
            throw EmbeddingError(
                .badResponse, "\(label): the response has \(response.data.count) embeddings for \(count) inputs")
        }
        var vectors = [[Float]?](repeating: nil, count: count)
        for item in response.data {
            guard (0..<count).contains(item.index) else {
                throw EmbeddingError(
                    .badResponse,
                    "\(label): the response has an embedding with index \(item.index), outside 0..\(count - 1)")
            }
            guard vectors[item.index] == nil else {
                throw EmbeddingError(.badResponse, "\(label): the response has index \(item.index) twice")
            }
            let vector: [Float]
            switch item.embedding {
            case .floats(let floats):
                vector = floats
            case .base64(let text):
                guard let decoded = decodeBase64(text) else {
                    throw EmbeddingError(
                        .badResponse, "\(label): the embedding at index \(item.index) is not valid base64 float32 data")
                }
                vector = decoded
            }
            vectors[item.index] = vector
        }
        let result = vectors.map { $0 ?? [] }
        let dimension = expectedDimension ?? result[0].count
        for (i, vector) in result.enumerated() {
            guard vector.count == dimension, dimension > 0 else {
                throw EmbeddingError(
                    .badResponse,
                    "\(label): the embedding at index \(i) has dimension \(vector.count), expected \(dimension)")
            }
            guard vector.allSatisfy(\.isFinite) else {
                throw EmbeddingError(.badResponse, "\(label): the embedding at index \(i) has a non-finite value")
            }
        }
        return result
    }

    /// Decodes base64 little-endian float32 values.
    static func decodeBase64(_ text: String) -> [Float]? {
        guard let data = Data(base64Encoded: text), data.count % 4 == 0 else { return nil }
        return data.withUnsafeBytes { VectorCoding.decode($0) }
    }
}
