import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

@Suite("IngestPipeline")
struct IngestPipelineTests {
    struct Setup {
        let dir: TemporaryDirectory
        let db: String
        let root: String

        init() throws {
            dir = try TemporaryDirectory()
            root = dir.path + "/docs"
            db = dir.path + "/index.sqlite"
        }

        func pipeline(_ embedder: any Embedder, concurrency: Int = 2, batchSize: Int = 4) throws -> IngestPipeline {
            IngestPipeline(
                embedder: embedder, parser: ParserRegistry(),
                chunker: TextChunker(configuration: .init(maxTokens: 24, overlapTokens: 4), tokenCounter: embedder.tokenCounter),
                store: try SQLiteIndexStore(path: db),
                configuration: .init(embeddingConcurrency: concurrency, batchSize: batchSize, parseConcurrency: 2))
        }

        func writeDocuments(_ count: Int, paragraphs: Int = 6) throws {
            for i in 0..<count {
                let text = (0..<paragraphs).map { "Document \(i) paragraph \($0) about topic\(i) and words." }
                try dir.write("docs/doc\(i).txt", text.joined(separator: "\n\n"))
            }
        }
    }

    @Test("embedding batches in flight never exceed the bound")
    func bounded() async throws {
        let setup = try Setup()
        defer { setup.dir.remove() }
        try setup.writeDocuments(40)
        let embedder = CountingEmbedder(delay: .milliseconds(5))
        let report = try await setup.pipeline(embedder, concurrency: 3, batchSize: 4).run(paths: [setup.root])
        #expect(report.added == 40)
        #expect(report.failed == 0)
        #expect(embedder.snapshot.maxInFlight <= 3)
        #expect(embedder.snapshot.maxInFlight >= 2)  // the bound is used, not just respected
        #expect(report.chunks == (try IndexReader(path: setup.db).statistics()).chunks)
    }

    @Test("re-running embeds nothing; a changed file is replaced; a deleted file is removed")
    func incremental() async throws {
        let setup = try Setup()
        defer { setup.dir.remove() }
        try setup.writeDocuments(5)
        let first = CountingEmbedder()
        let initial = try await setup.pipeline(first).run(paths: [setup.root])
        #expect(initial.added == 5)
        let chunks = try IndexReader(path: setup.db).statistics().chunks

        let second = CountingEmbedder()
        let again = try await setup.pipeline(second).run(paths: [setup.root])
        #expect(again.unchanged == 5)
        #expect(second.snapshot.calls == 0)
        #expect(try IndexReader(path: setup.db).statistics().chunks == chunks)

        try setup.dir.write("docs/doc0.txt", "Completely new text for document zero.")
        try FileManager.default.removeItem(atPath: setup.root + "/doc1.txt")
        let third = CountingEmbedder()
        let changed = try await setup.pipeline(third).run(paths: [setup.root])
        #expect((changed.added, changed.updated, changed.unchanged, changed.removed) == (0, 1, 3, 1))
        #expect(third.snapshot.texts == 1)
        #expect(try IndexReader(path: setup.db).statistics().documents == 4)
    }

    @Test("nested roots: each file is taken once, counted once and embedded once, from the first root")
    func nestedRoots() async throws {
        let setup = try Setup()
        defer { setup.dir.remove() }
        try setup.writeDocuments(3)
        try setup.dir.write("docs/inner/a.txt", "Inner file a, with words of its own.")
        try setup.dir.write("docs/inner/b.txt", "Inner file b, with other words.")
        let inner = setup.root + "/inner"
        let first = CountingEmbedder()
        let initial = try await setup.pipeline(first).run(paths: [setup.root, inner])
        #expect(initial.added == 5 && initial.files == 5)
        try setup.dir.write("docs/inner/a.txt", "Inner file a, changed.")
        let second = CountingEmbedder()
        let again = try await setup.pipeline(second).run(paths: [inner, setup.root])
        #expect((again.updated, again.unchanged, again.files) == (1, 4, 5))
        #expect(second.snapshot.texts == 1, "the changed file was embedded once")
        #expect(try IndexReader(path: setup.db).statistics().documents == 5)
    }

    @Test("a failed batch fails only its documents; the rest go in, and a re-run embeds only what is missing")
    func failures() async throws {
        let setup = try Setup()
        defer { setup.dir.remove() }
        try setup.writeDocuments(6, paragraphs: 1)
        try setup.dir.write("docs/poison.txt", "This text contains POISON and cannot be embedded.")
        let failing = CountingEmbedder(failMarker: "POISON")
        var diagnostics: [Diagnostic] = []
        let collected = Collected()
        let report = try await setup.pipeline(failing, batchSize: 1).run(
            paths: [setup.root], observer: .init(diagnostic: { collected.append($0) }))
        diagnostics = collected.items
        #expect(report.failed == 1)
        #expect(report.added == 6)
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.path.hasSuffix("/docs/poison.txt") == true)
        #expect(diagnostics.first?.description.contains(": error: not indexed: embedding failed: injected failure") == true)
        #expect(try IndexReader(path: setup.db).statistics().documents == 6)

        let healthy = CountingEmbedder()
        let rerun = try await setup.pipeline(healthy).run(paths: [setup.root])
        #expect((rerun.added, rerun.unchanged, rerun.failed) == (1, 6, 0))
        #expect(healthy.snapshot.texts == 1)
    }

    @Test("a renamed file costs no embedding: its chunks come from the cache")
    func rename() async throws {
        let setup = try Setup()
        defer { setup.dir.remove() }
        try setup.writeDocuments(2)
        _ = try await setup.pipeline(CountingEmbedder()).run(paths: [setup.root])
        try FileManager.default.moveItem(atPath: setup.root + "/doc0.txt", toPath: setup.root + "/renamed.txt")
        let embedder = CountingEmbedder()
        let report = try await setup.pipeline(embedder).run(paths: [setup.root])
        #expect((report.added, report.removed, report.unchanged) == (1, 1, 1))
        #expect(embedder.snapshot.texts == 0)
        #expect(report.cacheHits == report.chunks)
    }

    @Test("a stop request ends the run early and keeps only whole documents")
    func stop() async throws {
        let setup = try Setup()
        defer { setup.dir.remove() }
        try setup.writeDocuments(30)
        let embedder = CountingEmbedder(delay: .milliseconds(20))
        let stopAfter = Collected()
        let report = try await setup.pipeline(embedder).run(
            paths: [setup.root],
            observer: .init(progress: { _ in stopAfter.append(Diagnostic(path: "", .warning, "")) },
                            shouldStop: { stopAfter.items.count > 5 }))
        #expect(report.interrupted)
        #expect(report.added < 30)
        let stats = try IndexReader(path: setup.db).statistics()
        #expect(stats.documents == report.added)
        // Every stored document has all of its chunks.
        #expect(stats.chunks == report.chunks)
    }
}

/// Collects values from a `@Sendable` callback.
final class Collected: Sendable {
    private let storage = Locked<[Diagnostic]>([])
    func append(_ item: Diagnostic) { storage.withLock { $0.append(item) } }
    var items: [Diagnostic] { storage.withLock { $0 } }
}
