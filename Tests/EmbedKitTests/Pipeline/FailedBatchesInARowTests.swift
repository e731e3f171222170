import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// The run gives up on a server that keeps failing, instead of failing every document one by one.
@Suite("Ingest stops after failed batches in a row")
struct FailedBatchesInARowTests {
    static let fastRetries = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20))

    static func pipeline(_ baseURL: URL, db: String, concurrency: Int = 2) throws -> IngestPipeline {
        let embedder = try OpenAICompatibleEmbedder(
            .init(baseURL: baseURL, model: "m", requestTimeout: .seconds(5), retryPolicy: fastRetries), dimension: 8,
            environment: [:])
        return IngestPipeline(
            embedder: embedder, parser: ParserRegistry(),
            chunker: TextChunker(configuration: .init(maxTokens: 200, overlapTokens: 0), tokenCounter: embedder.tokenCounter),
            store: try SQLiteIndexStore(path: db),
            configuration: .init(embeddingConcurrency: concurrency, batchSize: 1, parseConcurrency: 2))
    }

    @Test("a refusing server stops the run after 5 failed batches, keeping what was stored before")
    func deadServer() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path + "/index.sqlite"
        let healthy = try LoopbackEmbeddingServer()
        for i in 0..<3 { try dir.write("docs/kept\(i).txt", "Kept document \(i).") }
        let first = try await Self.pipeline(healthy.baseURL, db: db).run(paths: [dir.path + "/docs"])
        #expect(first.added == 3)
        // Its port now refuses connections.
        healthy.stop()

        for i in 0..<20 { try dir.write("docs/new\(i).txt", "New document \(i).") }
        let start = ContinuousClock.now
        let error = await #expect(throws: EmbeddingError.self) {
            _ = try await Self.pipeline(healthy.baseURL, db: db).run(paths: [dir.path + "/docs"])
        }
        #expect(error?.stopsRun == true)
        #expect(error?.message.hasPrefix("the embedding server failed 5 batches in a row: request 1 (inputs 0..0): ") == true, "\(String(describing: error))")
        #expect(error?.message.hasSuffix("; check it and run again (what was stored is kept)") == true)
        #expect(ContinuousClock.now - start < TestTiming.bound(.seconds(60)))  // about a second alone
        #expect(try IndexReader(path: db).statistics().documents == 3)
    }

    @Test("failures with successes between them do not stop the run")
    func intermittent() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        server.failInputs(containing: "BROKEN", with: .status(500))
        // Walked in name order, one batch at a time: broken and fine alternate (two parsers may swap a pair,
        // so at most 2 or 3 failures run together), 8 failures in all.
        for i in 0..<8 {
            try dir.write("docs/\(i)a.txt", "BROKEN document \(i).")
            try dir.write("docs/\(i)b.txt", "Fine document \(i).")
        }
        let report = try await Self.pipeline(server.baseURL, db: dir.path + "/index.sqlite", concurrency: 1)
            .run(paths: [dir.path + "/docs"])
        #expect(report.failed == 8)
        #expect(report.added == 8)
    }
}
