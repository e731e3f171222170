public import Foundation

/// Embeds texts through several OpenAI-compatible endpoints that serve the same model: a fleet of embedding
/// servers (text-embeddings-inference, vLLM, Ollama, ...) behind the OpenAI API.
///
/// ```swift
/// let fleet = try await EmbeddingFleet.connect(
///     .init(baseURL: URL(string: "http://10.0.0.1:8080/v1")!, model: "bge-small-en-v1.5"),
///     moreBaseURLs: [URL(string: "http://10.0.0.2:8080/v1")!, URL(string: "http://10.0.0.3:8080/v1")!])
/// let vectors = try await fleet.embed(["first chunk", "second chunk"])
/// ```
///
/// One ``OpenAICompatibleEmbedder`` per endpoint sends the requests (its own connections, its own key lookup);
/// a ``FleetScheduler`` decides where each attempt goes:
///
/// - to the endpoint with the fewest requests in flight, each endpoint within its own AIMD limit of
///   ``OpenAICompatibleEmbedder/Configuration/maxConcurrentRequests`` (halved on 429, as with one server);
/// - an endpoint that fails (no answer, 5xx, 408, two bad answers in a row) is taken out at once and the request
///   goes to another endpoint straight away; it is probed back in after 1 s, doubling to 30 s, by the next
///   request routed to it once that time has come;
/// - a refusal that no server would change (401, 403, 404, 400, 413, 422, a redirect) fails the request with the
///   same error as one server gives.
///
/// Each request's vectors are returned once, in order. A request uses each endpoint at most
/// ``RetryPolicy/maxAttempts`` times; when every endpoint is out and has failed that many times in a row, it
/// fails with ``EmbeddingError/Code/transport`` naming the endpoints and how each last failed.
///
/// - **Identity**: the first endpoint's (`<model>@<host>[:port]`), so an index built against one server keeps
///   working when more are added after it: every endpoint must serve the same model. Every answer is checked
///   against the dimension, whichever endpoint gave it.
public struct EmbeddingFleet: Embedder {
    /// One embedder per endpoint, in the order given; the first names the fleet.
    public let members: [OpenAICompatibleEmbedder]
    let scheduler: FleetScheduler

    /// The first endpoint's identity.
    public var identity: EmbedderIdentity { members[0].identity }
    public var maxBatchSize: Int { members[0].maxBatchSize }
    public var tokenCounter: any TokenCounter { members[0].tokenCounter }
    public var maxInputTokens: Int? { members[0].maxInputTokens }

    /// Creates a fleet whose dimension is already known.
    /// - Parameters:
    ///   - configuration: everything but the other endpoints; its base URL is the first endpoint.
    ///   - moreBaseURLs: the other endpoints, in order.
    ///   - environment: where the API key is read from; default the process environment.
    /// - Throws: ``EmbeddingError`` `.rejected` when a URL or the configuration is invalid, or a URL is given twice.
    public init(
        _ configuration: OpenAICompatibleEmbedder.Configuration, moreBaseURLs: [URL], dimension: Int,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        let members = try Self.members(configuration, moreBaseURLs: moreBaseURLs) { configuration in
            try OpenAICompatibleEmbedder(configuration, dimension: dimension, environment: environment)
        }
        self.init(members: members, scheduler: Self.scheduler(for: members))
    }

    private init(members: [OpenAICompatibleEmbedder], scheduler: FleetScheduler) {
        self.members = members
        self.scheduler = scheduler
    }

    /// Creates a fleet, learning the dimension from one tiny request (to whichever endpoint answers) when
    /// ``OpenAICompatibleEmbedder/Configuration/dimensions`` is nil.
    /// - Throws: ``EmbeddingError`` when the configuration is invalid or no endpoint answers the probe.
    public static func connect(
        _ configuration: OpenAICompatibleEmbedder.Configuration, moreBaseURLs: [URL],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> EmbeddingFleet {
        if let dimensions = configuration.dimensions {
            return try EmbeddingFleet(
                configuration, moreBaseURLs: moreBaseURLs, dimension: dimensions, environment: environment)
        }
        // A placeholder dimension; the probe request checks no dimension.
        let probe = try EmbeddingFleet(
            configuration, moreBaseURLs: moreBaseURLs, dimension: 1, environment: environment)
        let vectors = try await probe.send(["dimension probe"], label: "the dimension probe", expectedDimension: nil)
        // The same connections and endpoint health as the probe's: an endpoint found down stays out.
        let members = try probe.members.map { member in
            try OpenAICompatibleEmbedder(
                member.configuration, dimension: vectors[0].count, transport: member.transport,
                environment: environment)
        }
        return EmbeddingFleet(members: members, scheduler: probe.scheduler)
    }

    private static func members(
        _ configuration: OpenAICompatibleEmbedder.Configuration, moreBaseURLs: [URL],
        make: (OpenAICompatibleEmbedder.Configuration) throws -> OpenAICompatibleEmbedder
    ) throws -> [OpenAICompatibleEmbedder] {
        var seen: Set<String> = []
        return try ([configuration.baseURL] + moreBaseURLs).map { url in
            guard seen.insert(url.absoluteString).inserted else {
                throw EmbeddingError(
                    .rejected, "The endpoint \(HTTPURLs.display(url)) is given twice. Give each endpoint once.")
            }
            var member = configuration
            member.baseURL = url
            return try make(member)
        }
    }

    private static func scheduler(for members: [OpenAICompatibleEmbedder]) -> FleetScheduler {
        FleetScheduler(
            FleetScheduler.State(
                limits: members.map(\.configuration.maxConcurrentRequests),
                giveUpAfter: members[0].configuration.retryPolicy.maxAttempts))
    }

    /// Embeds `texts`, splitting them into requests as one endpoint would and spreading those over the fleet.
    /// - Returns: one vector per text, in order, each of ``identity`` `.dimension` finite floats.
    /// - Throws: ``EmbeddingError``; `CancellationError` when cancelled.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        if texts.isEmpty { return [] }
        let first = members[0]
        let (inputs, tokenCounts) = try first.prepare(texts)
        let batches = OpenAICompatibleEmbedder.plan(
            tokenCounts: tokenCounts, maxInputs: first.configuration.maxInputsPerRequest,
            maxTokens: first.configuration.maxTokensPerRequest)
        let dimension = identity.dimension
        // The scheduler bounds requests per endpoint; this bounds child tasks per call to what the fleet can take.
        let capacity = members.reduce(0) { $0 + $1.configuration.maxConcurrentRequests }
        let perBatch = try await Array(batches.enumerated()).boundedConcurrentMap(maxConcurrentTasks: capacity) {
            number, range in
            let label = "request \(number + 1) (inputs \(range.lowerBound)..\(range.upperBound - 1))"
            return try await send(Array(inputs[range]), label: label, expectedDimension: dimension)
        }
        let results = Array(perBatch.joined())
        try EmbeddingError.validate(results, count: texts.count, dimension: dimension, source: "The embeddings API")
        return results
    }

    /// Sends one request to whichever endpoint the scheduler picks, moving it to another when one fails.
    func send(_ inputs: [String], label: String, expectedDimension: Int?) async throws -> [[Float]] {
        let body = try members[0].requestBody(inputs, label: label)
        let policy = members[0].configuration.retryPolicy
        var attempts = [Int](repeating: 0, count: members.count)
        var lastFailure = [String?](repeating: nil, count: members.count)
        // Endpoints this request has had its attempts with.
        var usedUp: Set<Int> = []
        var badResponses = 0
        // The endpoint the last attempt failed at: not chosen again at once while another is in.
        var failedAt: Int?
        while true {
            guard let lease = try await scheduler.acquire(excluding: usedUp, avoiding: failedAt) else {
                throw exhausted(attempts: attempts, lastFailure: lastFailure, label: label)
            }
            let index = lease.endpoint
            let member = members[index]
            failedAt = index
            attempts[index] += 1
            if attempts[index] >= policy.maxAttempts { usedUp.insert(index) }
            let result: OpenAICompatibleEmbedder.AttemptResult
            do {
                let request = member.request(body: body, count: inputs.count, expectedDimension: expectedDimension)
                result = try await member.exchange(
                    request, count: inputs.count, expectedDimension: expectedDimension, label: label)
            } catch {
                scheduler.release(lease, .abandoned)
                throw error
            }
            switch result {
            case .success(let vectors):
                scheduler.release(lease, .success)
                return vectors
            case .badResponse(let error):
                scheduler.release(lease, .badResponse)
                lastFailure[index] = "a bad response"
                badResponses += 1
                if badResponses > policy.maxBadResponseRetries {
                    throw member.finalBadResponse(error, attempts: attempts.reduce(0, +))
                }
            case .status(let response):
                lastFailure[index] = "HTTP \(response.status)"
                let failure = RetryPolicy.Failure.status(response.status, headers: response.headers)
                let decision = policy.decide(failure, attempt: attempts[index], jitter: Double.random(in: 0..<1))
                if case .fail(.notRetryable) = decision {
                    // Every endpoint serves the same model with the same key: another would refuse it too.
                    scheduler.release(lease, .answered)
                    throw member.rejection(response, label: label)
                }
                guard response.status == 429 else {
                    // A 5xx or a 408: the endpoint is failing, and the next attempt goes elsewhere at once.
                    scheduler.release(lease, .failed)
                    continue
                }
                scheduler.release(lease, .rateLimited)
                switch decision {
                case .retry(let delay):
                    try await Task.sleep(for: delay)  // throws at once when the task is cancelled
                case .fail(let reason):
                    if case .retryAfterTooLong = reason {
                        throw member.exhausted(reason, detail: "HTTP 429", attempt: attempts[index], label: label)
                    }
                // Attempts used up at this endpoint (it is in usedUp): the others may still take it.
                }
            case .transport(let error):
                if error.code == .unacceptable {
                    scheduler.release(lease, .answered)
                    throw member.unacceptable(error, label: label)
                }
                scheduler.release(lease, .failed)
                lastFailure[index] = error.message
            }
        }
    }

    private func exhausted(attempts: [Int], lastFailure: [String?], label: String) -> EmbeddingError {
        let total = attempts.reduce(0, +)
        let state = scheduler.state
        let tried = members.indices.map { index in
            // Other requests may have found an endpoint down before this one could try it.
            let failures = state.endpoints[index].failuresInARow
            let why =
                lastFailure[index].map { "last: \($0)" } ?? "\(failures) failure\(failures == 1 ? "" : "s") in a row"
            return "\(members[index].host) (\(why))"
        }
        // Usually every endpoint is out; a request can also use up its attempts at endpoints still in (429s).
        let allOut = state.endpoints.allSatisfy(\.isOut) ? ", every one of them out" : ""
        return EmbeddingError(
            .transport,
            "\(label): gave up after \(total) attempt\(total == 1 ? "" : "s") across the \(members.count) endpoints"
                + "\(allOut): \(tried.joined(separator: ", ")). "
                + "The servers may be down or overloaded: try again later or with fewer concurrent requests.")
    }

    /// What one endpoint did so far.
    public struct EndpointUsage: Sendable, Hashable {
        /// The endpoint's base URL as shown (without credentials).
        public var endpoint: String
        /// Requests it answered with vectors.
        public var requestsServed: Int
        /// Attempts that failed there and were sent again (to another endpoint when one was in).
        public var failedAttempts: Int
        /// How many times it was taken out.
        public var timesTakenOut: Int
        /// Whether it is out now.
        public var isOut: Bool
    }

    /// Each endpoint's requests, failures and health so far, in the order given.
    public var usage: [EndpointUsage] {
        let state = scheduler.state
        return members.indices.map { index in
            let endpoint = state.endpoints[index]
            return EndpointUsage(
                endpoint: HTTPURLs.display(members[index].configuration.baseURL), requestsServed: endpoint.served,
                failedAttempts: endpoint.failedAttempts, timesTakenOut: endpoint.takenOut, isOut: endpoint.isOut)
        }
    }
}
