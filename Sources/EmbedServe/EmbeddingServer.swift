public import EmbedKit
import Foundation
import EmbedServeAPI
import Hummingbird
public import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// `embed serve`: an HTTP service for embeddings and search over the indexes it was started with.
///
/// Every request is async; the model sees micro-batches (``MicroBatcher``) of whatever concurrent callers
/// send. Bounded everywhere: request bodies (413), inputs per request (413), the embedding queue (429 with
/// `Retry-After`).
public struct EmbeddingServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port (printed when the server runs).
        public var port: Int
        /// The largest request body accepted.
        public var maxBodyBytes: Int
        /// The most texts one `/v1/embeddings` request may send.
        public var maxInputs: Int
        /// When set, every request but `/healthz` needs `Authorization: Bearer <key>`.
        public var apiKey: String?
        /// How long a connection may stay idle, and how long a request may take to arrive whole (its head,
        /// then its body): a client slower than that (slowloris) gets 408 and is disconnected.
        public var clientTimeout: Duration
        /// The folders (absolute, symlink-free) under which `/v1/ingest` may read; none: it reads nothing.
        public var allowedRoots: [String]
        /// How ingest and reindex jobs batch and overlap their texts on their way to the served model.
        public var jobPipeline: IngestPipeline.Configuration

        public init(
            host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 8 << 20, maxInputs: Int = 2048,
            apiKey: String? = nil, clientTimeout: Duration = .seconds(30), allowedRoots: [String] = [],
            jobPipeline: IngestPipeline.Configuration = .init(embeddingConcurrency: 2, batchSize: 64)
        ) {
            self.jobPipeline = jobPipeline
            self.allowedRoots = allowedRoots
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.maxInputs = maxInputs
            self.apiKey = apiKey
            self.clientTimeout = clientTimeout
        }
    }

    public let configuration: Configuration
    /// Embeds `/v1/embeddings` inputs as given, without prefixes (OpenAI's meaning).
    public let batcher: MicroBatcher
    /// The indexes `/v1/search` searches, opened once; nil when none was given.
    public let search: IndexSearch?
    /// Embeds queries through the batcher, with the indexes' query prefix.
    let queryEmbedder: any Embedder
    /// The model's name in answers.
    public let modelName: String
    let metrics: ServeMetrics
    /// Ingest and reindex jobs on the served indexes; nil when none is served.
    let jobs: IngestJobs?

    /// - Parameters:
    ///   - queryPrefix: put before every query of `/v1/search` (the indexes' own).
    ///   - makeBatcher: the batcher, given the hook that counts its batches for `/metrics` and the one that
    ///     tells whether other requests are in flight (for its batch window).
    public init(
        configuration: Configuration, search: IndexSearch?, queryPrefix: String,
        makeBatcher: (_ onBatch: @escaping @Sendable (Int) -> Void, _ othersInFlight: @escaping @Sendable () -> Bool)
            -> MicroBatcher
    ) {
        let metrics = ServeMetrics()
        let batcher = makeBatcher({ metrics.batch(texts: $0) }, { metrics.requestsInFlight > 1 })
        self.configuration = configuration
        self.batcher = batcher
        self.search = search
        self.metrics = metrics
        self.modelName = batcher.embedder.identity.model
        queryEmbedder = BatchedEmbedder(batcher).prefixing(query: queryPrefix, document: "", embedding: .query)
        // Jobs embed through the same model and queue as the requests, with the index's document prefix.
        jobs = search.map { _ in
            IngestJobs { resolved in
                BatchedEmbedder(batcher, waitsForRoom: true).prefixing(query: "", document: resolved.documentPrefix, embedding: .document)
            }
        }
    }

    /// Runs until SIGTERM or SIGINT, then stops taking connections, finishes the requests in flight, and
    /// returns. `onRunning` gets the port the server listens on.
    public func run(logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics, logger: logger))
        router.add(middleware: ErrorMiddleware())
        if let key = configuration.apiKey { router.add(middleware: BearerMiddleware(key: key)) }
        router.get("healthz") { _, _ in try Self.json(["status": "ok"]) }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.text(queuedTexts: batcher.statistics.queuedTexts))))
        }
        router.post("v1/embeddings") { request, _ in try await embeddings(request) }
        router.post("v1/search") { request, _ in try await searching(request, logger: logger) }
        router.post("v1/ingest") { request, _ in try await startJob(request, reindex: false) }
        router.post("v1/reindex") { request, _ in try await startJob(request, reindex: true) }
        router.get("v1/jobs/:id") { _, context in try jobStatus(try context.parameters.require("id")) }
        router.delete("v1/jobs/:id") { _, context in try cancelJob(try context.parameters.require("id")) }
        let app = Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ClientDeadline(timeout: .init(configuration.clientTimeout))],
                    idleTimeout: .init(configuration.clientTimeout))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "embed"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        // Stopped in reverse order: the jobs first (each stops after its batches in flight, which need the
        // batcher, and so ends the streams that follow it), then the server (it drains its requests), then the
        // batcher.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: batcher), .init(service: app)] + (jobs.map { [.init(service: $0)] } ?? []),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    func embeddings(_ request: Request) async throws -> Response {
        let asked = try await decode(EmbeddingsRequest.self, from: request, naming: "an embeddings request")
        guard asked.input.count <= configuration.maxInputs else {
            throw ServeError(
                status: 413, type: "invalid_request_error",
                "\(asked.input.count) inputs in one request; at most \(configuration.maxInputs)")
        }
        let dimension = batcher.embedder.identity.dimension
        if let dimensions = asked.dimensions, dimensions != dimension {
            throw ServeError.invalid("this model's vectors have \(dimension) dimensions; 'dimensions' cannot change that")
        }
        let vectors = try await batcher.embed(asked.input)
        let tokens = asked.input.reduce(0) { $0 + batcher.embedder.tokenCounter.tokenCount($1[...]) }
        let answer = EmbeddingsResponse(
            data: vectors.enumerated().map { index, vector in
                .init(index: index, embedding: asked.encodingFormat == .base64 ? .base64(Data(VectorCoding.encode(vector)).base64EncodedString()) : .floats(vector))
            },
            model: modelName, usage: .init(prompt_tokens: tokens, total_tokens: tokens))
        return try Self.json(answer)
    }

    /// `POST /v1/search`: one JSON line per result, as `embed query --json` prints them.
    func searching(_ request: Request, logger: Logger) async throws -> Response {
        guard let search else {
            throw ServeError(status: 404, type: "not_found_error", "no index is served: start embed serve with --db")
        }
        let asked = try await decode(SearchRequest.self, from: request, naming: "a search request")
        let options = asked.options
        let outcome = try await search.search(
            asked.queries, embedder: options.mode.usesVectors ? queryEmbedder : nil, options: options)
        guard outcome.problems.count < search.indexes.count else {
            let problems = outcome.problems.map { $0.error.namingPath($0.path) }.joined(separator: "; ")
            throw ServeError(status: 500, type: "server_error", "no index could be searched: \(problems)")
        }
        for problem in outcome.problems + outcome.keywordProblems {
            logger.warning("index left out of a search", metadata: ["problem": "\(problem.error.namingPath(problem.path))"])
        }
        var lines = ""
        for result in outcome.results {
            for hit in result.hits { lines += HitLine(query: result.query, hit: hit).jsonLine + "\n" }
        }
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init(byteBuffer: ByteBuffer(string: lines)))
    }

    /// The request's body, read up to the size limit and decoded as `type`.
    /// - Parameter emptyBody: what an empty body stands for, when it may be empty.
    /// - Throws: ``ServeError`` 413 for a body over the limit, 400 (or the decoder's own) for one that is not
    ///   `what`.
    func decode<T: Decodable>(
        _ type: T.Type, from request: Request, naming what: String, emptyBody: String? = nil
    ) async throws -> T {
        var body = try await Self.body(of: request, upTo: configuration.maxBodyBytes)
        if body.isEmpty, let emptyBody { body = Data(emptyBody.utf8) }
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch let error as ServeError {
            throw error
        } catch {
            throw ServeError.invalid("the body is not the JSON of \(what): \(Self.describe(error))")
        }
    }

    static func body(of request: Request, upTo limit: Int) async throws -> Data {
        // A declared length over the limit is refused before a byte of the body is read.
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw ServeError(status: 413, type: "invalid_request_error", "the body is larger than \(limit >> 20) MiB")
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw ServeError(status: 413, type: "invalid_request_error", "the body is larger than \(limit >> 20) MiB")
        }
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): context.debugDescription
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case DecodingError.keyNotFound(let key, _): "'\(key.stringValue)' is missing"
        default: "\(error)"
        }
    }
}

/// Turns every error into OpenAI's error body with the right status.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as ServeError {
            return Self.response(error)
        } catch let error as HTTPError {
            let type = error.status.code == 404 ? "not_found_error" : "invalid_request_error"
            return Self.response(ServeError(status: error.status.code, type: type, error.body ?? error.status.reasonPhrase))
        } catch let error as EmbeddingError {
            return Self.response(ServeError(status: 500, type: "server_error", "the embedder failed: \(error.message)"))
        } catch {
            return Self.response(ServeError(status: 500, type: "server_error", "\(error)"))
        }
    }

    static func response(_ error: ServeError) -> Response {
        var response =
            (try? EmbeddingServer.json(
                ErrorBody(error: .init(message: error.message, type: error.type)),
                status: .init(code: error.status)))
            ?? Response(status: .init(code: error.status))
        if let seconds = error.retryAfter { response.headers[.retryAfter] = String(seconds) }
        return response
    }
}

/// Requires `Authorization: Bearer <key>`, compared in constant time.
struct BearerMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let key: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.uri.path == "/healthz" || Self.matches(request.headers[.authorization], key: key) else {
            throw ServeError(status: 401, type: "authentication_error", "a valid 'Authorization: Bearer' key is required")
        }
        return try await next(request, context)
    }

    /// Whether `header` is `Bearer <key>`, in time that depends on the lengths only.
    static func matches(_ header: String?, key: String) -> Bool {
        let given = Array((header ?? "").utf8)
        let expected = Array("Bearer \(key)".utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in expected.indices {
            difference |= expected[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }
}
