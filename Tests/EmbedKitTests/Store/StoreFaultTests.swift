@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

@Suite("store faults")
struct StoreFaultTests {
    func pipeline(_ store: SQLiteIndexStore) -> IngestPipeline {
        let embedder = HashEmbedder()
        return IngestPipeline(
            embedder: embedder, parser: ParserRegistry(), chunker: TextChunker(tokenCounter: embedder.tokenCounter),
            store: store, configuration: .init(writeBatchChunks: 8))
    }

    @Test("a full disk (max_page_count) fails the run with .diskFull; the index stays intact and usable")
    func diskFull() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path + "/index.sqlite"
        for i in 0..<5 { try dir.write("docs/first\(i).txt", "First document \(i) about lighthouses.") }
        _ = try await pipeline(try SQLiteIndexStore(path: db)).run(paths: [dir.path + "/docs"])
        let before = try IndexReader(path: db).statistics().documents
        #expect(before == 5)

        // Distinct words per file, so each chunk needs its own vector row: the file must grow.
        for i in 0..<200 {
            let words = (0..<120).map { "w\(i)x\($0)" }.joined(separator: " ")
            try dir.write("docs/more\(i).txt", "More document \(i): \(words).")
        }
        let store = try SQLiteIndexStore(path: db)
        try await store.limitPageCount(to: try await store.pageCount() + 4)
        do {
            _ = try await pipeline(store).run(paths: [dir.path + "/docs"])
            Issue.record("the run did not fail")
        } catch let error as StoreError {
            #expect(error.code == .diskFull)
            #expect(error.message.contains("full"), "\(error.message)")
        }

        let reader = try IndexReader(path: db)
        #expect(try reader.check() == [])
        #expect(try reader.statistics().documents >= before)
        // With room again, the next run completes what was left.
        let report = try await pipeline(try SQLiteIndexStore(path: db)).run(paths: [dir.path + "/docs"])
        #expect(report.failed == 0)
        #expect(try IndexReader(path: db).statistics().documents == 205)
        #expect(try IndexReader(path: db).check() == [])
    }
}
