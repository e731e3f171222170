@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

@Suite("Keyword search (FTS5, BM25)")
struct KeywordSearchTests {
    let settings = IndexFixture.settings

    func document(_ path: String, texts: [String], hash: UInt8 = 1) -> IndexedDocument {
        IndexFixture.document(path, texts: texts, hash: hash)
    }

    func texts(_ reader: IndexReader, _ query: String, limit: Int = 10) throws -> [String] {
        let hits = try reader.keywordSearch(query, limit: limit)
        let chunks = try reader.chunks(ids: hits.map(\.chunkID))
        return hits.map { chunks[$0.chunkID]?.text ?? "?" }
    }

    @Test("BM25 ranks the chunk holding more and rarer query words first; stems match")
    func ranking() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await IndexFixture.index(in: dir, [
            document("/a", texts: ["The vacuum command reclaims storage.", "Indexes speed up reads."]),
            document("/b", texts: ["Autovacuum runs vacuum and analyze on tables.", "Tables hold rows."]),
        ])
        let reader = try IndexReader(path: path)
        #expect(try texts(reader, "vacuum analyze") == [
            "Autovacuum runs vacuum and analyze on tables.", "The vacuum command reclaims storage.",
        ])
        // Porter stemming: "reclaiming" finds "reclaims", "index" finds "Indexes".
        #expect(try texts(reader, "reclaiming") == ["The vacuum command reclaims storage."])
        #expect(try texts(reader, "index") == ["Indexes speed up reads."])
        // The heading path is searched too.
        #expect(try texts(reader, "guide").count == 4)
    }

    @Test("the keyword index follows every write, replacement and removal, in the same transaction")
    func inStep() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/index.sqlite"
        let store = try SQLiteIndexStore(path: path)
        try await store.prepare(settings, roots: [])
        try await store.write([document("/a", texts: ["alpha beta"]), document("/b", texts: ["beta gamma"])])
        #expect(try texts(IndexReader(path: path), "beta").count == 2)
        try await store.write([document("/a", texts: ["delta"], hash: 2)])
        #expect(try texts(IndexReader(path: path), "alpha").isEmpty)
        #expect(try texts(IndexReader(path: path), "delta") == ["delta"])
        try await store.remove(paths: ["/b"])
        #expect(try texts(IndexReader(path: path), "beta gamma").isEmpty)
        #expect(try texts(IndexReader(path: path), "delta") == ["delta"])
    }

    @Test(
        "user text is never FTS5 syntax: operators, quotes, punctuation, NUL and huge queries are answered",
        arguments: [
            ("\"unbalanced", false), ("vacuum AND", true), ("NOT vacuum", true), ("vacuum -analyze", true),
            ("vac*", false), ("(vacuum", true), ("a:b", false), ("^vacuum", true), ("NEAR(vacuum analyze)", true),
            ("vacuum\u{0}analyze", true), ("'; DROP TABLE chunks; --", false), ("col:text vacuum", true),
        ])
    func hostile(query: String, findsChunk: Bool) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await IndexFixture.index(in: dir, [document("/a", texts: ["vacuum analyze", "and not near"])])
        // Operators are plain words: "and", "not" and "near" find the chunk that holds them.
        let found = try texts(IndexReader(path: path), query)
        #expect(found.isEmpty == !findsChunk, "\(query): \(found)")
        #expect(try IndexReader(path: path).statistics().chunks == 2)
    }

    @Test("queries with no word find nothing; a 10,000-word query keeps its first words")
    func edges() async throws {
        #expect(KeywordQuery.expression(for: "?!… --- \"\"") == nil)
        #expect(KeywordQuery.expression(for: "") == nil)
        #expect(KeywordQuery.expression(for: "Vacuum, VACUUM vacuum") == "\"vacuum\"")
        #expect(KeywordQuery.expression(for: "naïve café") == "\"naïve\" OR \"café\"")
        let long = (0..<10_000).map { "word\($0)" }.joined(separator: " ")
        let expression = try #require(KeywordQuery.expression(for: long))
        #expect(expression.components(separatedBy: " OR ").count == KeywordQuery.maximumWords)
    }

    @Test("an index written before the keyword index gets it, built from its chunks, on the first writer's open")
    func migration() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await IndexFixture.index(in: dir, [document("/a", texts: ["legacy text about replication"])])
        // Take the index back to the schema before v3, as an older embed left it.
        let connection = try SQLiteConnection(path: path)
        try connection.execute(OlderSchema.withoutKeywordIndex)
        _ = try SQLiteIndexStore(path: path)
        #expect(try texts(IndexReader(path: path), "replication") == ["legacy text about replication"])
    }
}
