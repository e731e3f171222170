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

    struct WireError: Decodable {
        struct Detail: Decodable {
            var type: String?
            var code: String?
        }
        var error: Detail?
    }

    /// Sends one request of `inputs`, retrying per the policy, holding a permit of the shared limiter
    /// for each attempt (not while backing off).
    /// - Parameter label: names the request in errors, such as `request 3 (inputs 256..383)`.
    func send(_ inputs: [String], label: String, expectedDimension: Int?) async throws -> [[Float]] {
        let body: Data
        do {
            body = try JSONEncoder().encode(
                WireRequest(
                    model: configuration.model, input: inputs, encoding_format: configuration.encoding.rawValue,
                    dimensions: configuration.dimensions))
        } catch {
            throw EmbeddingError(.rejected, "\(label): the request could not be encoded as JSON")
        }
        var headers = ["Content-Type": "application/json", "Accept": "application/json", "User-Agent": "embed"]
        if let apiKey { headers["Authorization"] = "Bearer \(apiKey.value)" }
        let request = HTTPRequest(
            url: endpoint, method: "POST", headers: headers, body: body, timeout: configuration.requestTimeout)
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
                failure = .transport(error.kind)
                detail = error.message
            }

            switch policy.decide(failure, attempt: attempt, jitter: Double.random(in: 0..<1)) {
            case .retry(let delay):
                try await Task.sleep(for: delay)
            case .fail(let reason):
                if case .badResponse = failure, var error = lastBadResponse {
                    error.message +=
                        " (\(attempt) attempt\(attempt == 1 ? "" : "s")). Check that the server at \(host) is OpenAI-compatible"
                        + " and serves model \(configuration.model)."
                    throw error
                }
                throw exhausted(reason, detail: detail, attempt: attempt, label: label)
            }
        }
    }

    private enum AttemptResult {
        case success([[Float]])
        case badResponse(EmbeddingError)
        case status(HTTPResponse)
        case transport(HTTPTransportError)
    }

    /// One attempt under one permit of the shared limiter, released with the attempt's outcome.
    private func attemptOnce(
        _ request: HTTPRequest, count: Int, expectedDimension: Int?, label: String
    ) async throws -> AttemptResult {
        let permit = try await limiter.acquire()
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch let error as HTTPTransportError {
            limiter.release(permit, outcome: .neutral)
            return .transport(error)
        } catch {
            limiter.release(permit, outcome: .neutral)
            throw error
        }
        guard (200..<300).contains(response.status) else {
            limiter.release(permit, outcome: response.status == 429 ? .rateLimited : .neutral)
            return .status(response)
        }
        do {
            let vectors = try Self.decode(
                response.body, count: count, expectedDimension: expectedDimension, label: label)
            limiter.release(permit, outcome: .success)
            return .success(vectors)
        } catch let error as EmbeddingError {
            limiter.release(permit, outcome: .neutral)
            return .badResponse(error)
        }
    }

    private func exhausted(_ reason: RetryPolicy.Reason, detail: String, attempt: Int, label: String) -> EmbeddingError
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

    /// The error for a 4xx that retrying cannot fix. Names the key's variable, never its value, and only the
    /// provider's error type/code, never its message (which may quote the input).
    private func rejection(_ response: HTTPResponse, label: String) -> EmbeddingError {
        let status = response.status
        var provider = ""
        if let wire = try? JSONDecoder().decode(WireError.self, from: response.body), let detail = wire.error {
            let parts = [detail.type, detail.code].compactMap { $0 }.filter { Self.isIdentifier($0) }
            if !parts.isEmpty { provider = ", \(parts.joined(separator: "/"))" }
        }
        let prefix = "\(label): the server at \(host) answered HTTP \(status)\(provider)"
        let message: String
        switch status {
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
                "\(prefix): not found. Check the base URL (\(configuration.baseURL.absoluteString); most providers' end in /v1) and the model name \(configuration.model)."
        case 413:
            message = "\(prefix): the request is too large. Lower the inputs or tokens per request."
        default:
            message =
                "\(prefix): the request was rejected. Check the model name \(configuration.model), the dimensions and the input limits (at most \(configuration.maxInputTokens) tokens per input)."
        }
        // A refused key, a forbidden model or a wrong URL fails every request alike.
        return EmbeddingError(.rejected, message, stopsRun: [401, 403, 404].contains(status))
    }

    private static func isIdentifier(_ text: String) -> Bool {
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
                .badResponse, "\(label): the response is not valid embeddings JSON (\(body.count) bytes)")
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
        return data.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { i in
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            }
        }
    }
}
