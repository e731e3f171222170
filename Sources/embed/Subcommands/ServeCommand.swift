import ArgumentParser
import EmbedKit
import EmbedKitBERT
import EmbedServe
import Foundation
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve embeddings (OpenAI-compatible) and search over HTTP.",
        discussion: """
            POST /v1/embeddings takes OpenAI's request ({"input": "text" or ["texts"], "encoding_format": \
            "float" or "base64"}) and answers as OpenAI does, so any OpenAI client, and embed's own \
            --embedder openai, can use it. Texts from concurrent requests are embedded together in batches. \
            GET /healthz answers {"status":"ok"}. SIGTERM or SIGINT stops taking connections and finishes the \
            requests in flight.

            The embedder is the first index's (--db), else the one the options name, else \
            \(EmbedderKind.default.rawValue). Without --client-key-env the server listens on 127.0.0.1 only, \
            unless --host says otherwise.
            """)

    @Option(name: .long, help: "An index whose embedder to serve (repeatable).", completion: .file())
    var db: [String] = []

    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "The port to listen on (0: any free port, printed at start).")
    var port: Int = 8080

    @Option(help: "The environment variable holding the key clients must send as 'Authorization: Bearer KEY'.")
    var clientKeyEnv: String?

    @Option(help: ArgumentHelp(
        "Milliseconds an idle model waits for more texts to batch.",
        discussion: "Default: 5, and only while other requests are in flight; a value given is waited always."))
    var batchWindowMs: Int?

    @Option(help: "The most texts embedded in one batch.")
    var maxBatch: Int = 64

    @Option(help: "The most texts waiting to be embedded; more are refused with 429.")
    var queueLimit: Int = 8192

    @Option(help: "The largest request body, in MiB (413 beyond).")
    var maxBodyMib: Int = 8

    @Option(
        help: "A folder under which POST /v1/ingest may read (repeatable); without one, ingest jobs are refused.",
        completion: .directory)
    var allowRoot: [String] = []

    @Option(help: "Seconds a connection may idle, and a request may take to arrive whole (408 beyond).")
    var clientTimeout: Int = 30

    @Option(help: "Batches of an ingest or reindex job in flight at once (the model sees them through the batcher).")
    var jobConcurrency: Int = 2

    @Option(help: "Texts an ingest or reindex job hands to the model at a time.")
    var jobBatchSize: Int = 64

    @Option(help: "Log level: trace, debug, info (one access-log line per request), notice, warning, error.")
    var logLevel: String = "info"

    @OptionGroup var embedderOptions: EmbedderOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
        guard (batchWindowMs ?? 0) >= 0 else { throw ValidationError("--batch-window-ms must not be negative.") }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be at least 1.") }
        guard queueLimit >= maxBatch else { throw ValidationError("--queue-limit must be at least --max-batch.") }
        guard maxBodyMib >= 1 else { throw ValidationError("--max-body-mib must be at least 1.") }
        guard clientTimeout >= 1 else { throw ValidationError("--client-timeout must be at least 1 second.") }
        guard jobConcurrency >= 1 else { throw ValidationError("--job-concurrency must be at least 1.") }
        guard jobBatchSize >= 1 else { throw ValidationError("--job-batch-size must be at least 1.") }
    }

    func run() async throws {
        let server: EmbeddingServer
        do {
            // Open the indexes once, resolve the embedder against the first one's recipe.
            // A server answers many queries: its readers hold the keyword postings (D65).
            let search = try await IndexSearch(opening: db, keepingKeywordPostings: true)
            var resolved = try embedderOptions.request().resolved(against: try search.sharedRecipe())
            let queryPrefix = resolved.queryPrefix
            // The batcher embeds what it is given: /v1/embeddings gets no prefix, /v1/search adds the query's.
            (resolved.queryPrefix, resolved.documentPrefix) = ("", "")
            let embedder = try await resolved.makeEmbedder(embedding: .document)
            var apiKey: String?
            if let clientKeyEnv {
                guard let key = ProcessInfo.processInfo.environment[clientKeyEnv], !key.isEmpty else {
                    throw UsageError("--client-key-env \(clientKeyEnv): the variable is not set; export it with the key")
                }
                apiKey = key
            }
            var allowedRoots: [String] = []
            for root in allowRoot {
                guard let real = FileWalker.canonicalPath(root) else { throw UsageError("--allow-root \(root): no such folder") }
                allowedRoots.append(real)
            }
            let batching = MicroBatcher.Configuration(
                window: .milliseconds(batchWindowMs ?? 5), waitsAlone: batchWindowMs != nil, maxBatch: maxBatch,
                maxQueuedTexts: queueLimit)
            server = EmbeddingServer(
                configuration: .init(
                    host: host, port: port, maxBodyBytes: maxBodyMib << 20, apiKey: apiKey,
                    clientTimeout: .seconds(clientTimeout), allowedRoots: allowedRoots,
                    jobPipeline: .init(embeddingConcurrency: jobConcurrency, batchSize: jobBatchSize)),
                search: db.isEmpty ? nil : search, queryPrefix: queryPrefix
            ) { onBatch, othersInFlight in
                MicroBatcher(embedder: embedder, configuration: batching, onBatch: onBatch, othersInFlight: othersInFlight)
            }
        } catch {
            throw Terminal.fail(error)
        }
        var logger = Logger(label: "embed.serve")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let host = self.host
        do {
            try await server.run(logger: logger) { port in
                Terminal.error("embed serve: listening on http://\(host):\(port) (model \(server.modelName))")
                if server.configuration.apiKey == nil, !["127.0.0.1", "localhost", "::1"].contains(host) {
                    Terminal.error(
                        "embed serve: warning: no --client-key-env, so anyone who can reach \(host):\(port) can use this server")
                }
            }
        } catch {
            throw Terminal.fail(error)
        }
    }
}
