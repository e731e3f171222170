@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

@Suite("Keyword index: state, checks, build progress and repair")
struct KeywordIndexMaintenanceTests {
    let settings = IndexSettings(embedder: HashEmbedder().identity, chunking: .init())

    func document(_ path: String, texts: [String]) -> IndexedDocument {
        let embedder = HashEmbedder()
        let chunks = texts.enumerated().map { i, text in
            Chunk(
                ordinal: i, text: text, startOffset: 0, endOffset: text.unicodeScalars.count, line: 1,
                headingPath: ["Guide", path], tokenCount: 1)
        }
        return IndexedDocument(
            path: path, size: 10, modificationTimeNanoseconds: 5, contentHash: Array(path.utf8), format: .text,
            title: "T", chunks: chunks, textHashes: texts.map { Array($0.utf8) }, vectors: texts.map(embedder.vector(for:)))
    }

    /// An index of three documents, seven chunks.
    func makeIndex(_ dir: TemporaryDirectory) async throws -> String {
        let path = dir.path + "/index.sqlite"
        let store = try SQLiteIndexStore(path: path)
        try await store.prepare(settings, roots: [])
        try await store.write([
            document("/a", texts: ["Lighthouses guide ships at night.", "Keepers trimmed the wicks.", "Fog horns."]),
            document("/b", texts: ["Harbours shelter boats from storms.", "Cranes unload containers."]),
            document("/c", texts: ["Tides rise twice a day.", "The moon pulls the sea."]),
        ])
        return path
    }

    /// Every chunk with its vector, as export writes them.
    func contents(_ path: String) throws -> [String] {
        var rows: [String] = []
        try IndexReader(path: path).forEachChunk(withVectors: true) { chunk, vector in
            rows.append("\(chunk.id) \(chunk.path) \(chunk.ordinal) \(chunk.text) \(vector ?? [])")
        }
        return rows
    }

    func hits(_ path: String, _ query: String) throws -> Int {
        try IndexReader(path: path).keywordSearch(query, limit: 10).count
    }

    func sql(_ path: String, _ statements: String) throws {
        try SQLiteConnection(path: path, create: false).execute(statements)
    }

    /// Opens the index as a writer and returns what it reported about the keyword index.
    func openAsWriter(_ path: String) throws -> [KeywordIndexBuild] {
        let reports = Locked<[KeywordIndexBuild]>([])
        _ = try SQLiteIndexStore(path: path, keywordIndexProgress: { build in reports.withLock { $0.append(build) } })
        return reports.withLock { $0 }
    }

    @Test("a sound index is ready, passes the thorough check, and a writer's open leaves it alone")
    func sound() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await makeIndex(dir)
        #expect(try IndexReader(path: path).keywordIndexState() == .ready)
        #expect(try IndexReader(path: path).keywordIndexProblem() == nil)
        #expect(try openAsWriter(path).isEmpty)
        // The checks leave no temporary table behind in the writer's connection either.
        let store = try SQLiteIndexStore(path: path)
        try await store.write([document("/d", texts: ["Buoys mark the channel."])])
        #expect(try hits(path, "buoys") == 1)
    }

    @Test("a dropped table is missing; reported, rebuilt by a writer, chunks and vectors untouched")
    func droppedTable() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await makeIndex(dir)
        let before = try contents(path)
        try sql(path, "DROP TABLE chunks_fts")
        #expect(try IndexReader(path: path).keywordIndexState() == .missing)
        #expect(try IndexReader(path: path).keywordIndexProblem()?.message == "the keyword index (table chunks_fts) is missing")
        let reports = try openAsWriter(path)
        #expect(reports.first?.reason == .repair("it is missing"))
        #expect(reports.last == KeywordIndexBuild(
            reason: .repair("it is missing"), chunksDone: 7, chunksTotal: 7,
            elapsedSeconds: reports.last?.elapsedSeconds ?? 0, finished: true))
        #expect(try IndexReader(path: path).keywordIndexState() == .ready)
        #expect(try IndexReader(path: path).keywordIndexProblem() == nil)
        #expect(try hits(path, "lighthouse") == 1)
        #expect(try contents(path) == before)
    }

    @Test("a dropped trigger is damage; the writer puts it back, and later writes are indexed again")
    func droppedTrigger() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await makeIndex(dir)
        try sql(path, "DROP TRIGGER chunks_fts_after_insert")
        let state = try IndexReader(path: path).keywordIndexState()
        #expect(state == .damaged("the trigger chunks_fts_after_insert, which keeps it in step with the chunks, is missing"))
        #expect(try IndexReader(path: path).keywordIndexProblem()?.message.contains("chunks_fts_after_insert") == true)
        let store = try SQLiteIndexStore(path: path)
        try await store.write([document("/d", texts: ["Buoys mark the channel."])])
        #expect(try hits(path, "buoys") == 1)
        #expect(try IndexReader(path: path).keywordIndexProblem() == nil)
    }

    @Test("a keyword index out of step with its chunks is found, by the row count or by a sample, and rebuilt")
    func outOfStep() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await makeIndex(dir)
        let before = try contents(path)
        // Two chunks taken out of the keyword index only.
        try sql(
            path,
            """
            INSERT INTO chunks_fts(chunks_fts, rowid, text, heading_path)
                SELECT 'delete', id, text, heading_path FROM chunks WHERE id IN (2, 5)
            """)
        #expect(try IndexReader(path: path).keywordIndexState() == .ready)
        #expect(try IndexReader(path: path).keywordIndexProblem()?.message
            == "the keyword index does not match the chunks: it holds 5 chunks, the index 7")
        #expect(try hits(path, "keepers") == 0)
        #expect(try openAsWriter(path).first?.reason == .repair("it holds 5 chunks, the index 7"))
        #expect(try hits(path, "keepers") == 1)
        #expect(try contents(path) == before)

        // A text changed behind the triggers' back: the counts agree, the first chunk's token counts do not.
        try sql(
            path,
            """
            DROP TRIGGER chunks_fts_after_update;
            UPDATE chunks SET text = 'Lighthouses once burned whale oil, then kerosene.' WHERE id = 1;
            CREATE TRIGGER chunks_fts_after_update AFTER UPDATE ON chunks BEGIN
                INSERT INTO chunks_fts(chunks_fts, rowid, text, heading_path)
                    VALUES ('delete', old.id, old.text, old.heading_path);
                INSERT INTO chunks_fts(rowid, text, heading_path) VALUES (new.id, new.text, new.heading_path);
            END;
            """)
        #expect(try IndexReader(path: path).keywordIndexProblem()?.message
            == "the keyword index does not match the chunks: chunk 1 is not indexed as its text reads")
        #expect(try hits(path, "kerosene") == 0)
        #expect(try openAsWriter(path).first?.reason == .repair("chunk 1 is not indexed as its text reads"))
        #expect(try hits(path, "kerosene") == 1)
        #expect(try IndexReader(path: path).keywordIndexProblem() == nil)
    }

    @Test("a keyword index whose terms are lost, its row counts right, is found by looking chunks up by their words")
    func lostTerms() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await makeIndex(dir)
        let before = try contents(path)
        // FTS5's structure record (id 10), which lists the segments holding every term, garbled.
        try sql(path, "UPDATE chunks_fts_data SET block = x'00ff00ff' WHERE id = 10")
        #expect(try IndexReader(path: path).keywordIndexState() == .ready)
        let problem = try #require(try IndexReader(path: path).keywordIndexProblem())
        #expect(problem.message.hasPrefix("the keyword index does not match the chunks: "), "\(problem)")
        let reports = try openAsWriter(path)
        #expect(reports.last?.finished == true)
        #expect(try hits(path, "lighthouse") == 1)
        #expect(try IndexReader(path: path).keywordIndexProblem() == nil)
        #expect(try contents(path) == before)
    }

    @Test("an index from before the keyword index is not damaged; its build reports progress batch by batch")
    func upgradeProgress() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await makeIndex(dir)
        try sql(path, OlderSchema.withoutKeywordIndex)
        #expect(try IndexReader(path: path).keywordIndexState() == .missing)
        #expect(try IndexReader(path: path).keywordIndexProblem() == nil)
        let reports = try openAsWriter(path)
        #expect(reports.map(\.chunksDone) == [0, 7])
        #expect(reports.map(\.finished) == [false, true])
        #expect(reports.allSatisfy { $0.reason == .upgrade && $0.chunksTotal == 7 })
        #expect(try hits(path, "tides") == 1)

        // Batches of 3: a report before the first and after each.
        let connection = try SQLiteConnection(path: path, create: false)
        let batches = Locked<[Int]>([])
        try connection.transaction {
            try KeywordIndex.build(
                connection, reason: .upgrade, progress: { build in batches.withLock { $0.append(build.chunksDone) } },
                batchSize: 3)
        }
        #expect(batches.withLock { $0 } == [0, 3, 6, 7])
        #expect(try hits(path, "tides") == 1)
        #expect(try IndexReader(path: path).keywordIndexProblem() == nil)
    }

    @Test("a new, empty index says nothing about its keyword index")
    func emptyIndex() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/index.sqlite"
        #expect(try openAsWriter(path).isEmpty)
        #expect(try openAsWriter(path).isEmpty)
        #expect(try IndexReader(path: path).keywordIndexProblem() == nil)
    }
}
