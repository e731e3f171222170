import EmbedKitTestSupport
import Foundation
import Testing

/// The keyword index (FTS5) of an index on disk: `stats --check` reports it missing, damaged or out of step,
/// `reindex` rebuilds it without touching chunks or vectors, and an older index gets it on its first write.
@Suite("keyword index: stats --check and reindex", .serialized)
struct KeywordIndexCLITests {
    /// Runs SQL on the index with the sqlite3 shell; returns its output lines.
    @discardableResult
    static func sql(_ db: String, _ statements: String) async -> [String] {
        let result = await EmbedBinary.shell("sqlite3 '\(db)' \"\(statements)\"")
        #expect(result.status == 0, "\(result.output)")
        return result.output.split(separator: "\n").map(String.init)
    }

    /// Chunks found by the keyword index for `word`.
    static func matches(_ db: String, _ word: String) async -> [String] {
        await sql(db, "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH '\(word)' ORDER BY rowid")
    }

    /// An index of 12 documents built with the hash embedder; returns its path and its export with vectors.
    func makeIndex(_ dir: TemporaryDirectory) async throws -> (db: String, export: String) {
        for i in 0..<12 {
            try dir.write("docs/d\(i).txt", "Document \(i) about lighthouses and keepers number \(i).")
        }
        try dir.write("docs/tides.md", "# Tides\n\nThe moon pulls the sea twice a day.\n")
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(!ingest.stderr.contains("keyword index"), "\(ingest.stderr)")
        return await (db, try export(db))
    }

    func export(_ db: String) async throws -> String {
        let run = try await EmbedBinary.run(["export", "--db", db, "--vectors"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines.count == 13)
        return run.stdout
    }

    /// `stats --check` fails with status 3, names the problem and says to run reindex on this index.
    func expectCheckFails(_ db: String, saying problem: String) async throws {
        let check = try await EmbedBinary.run(["stats", "--db", db, "--check"])
        #expect(check.status == 3, "\(check.stderr)")
        #expect(check.stderr.contains("\(db): error: \(problem)"), "\(check.stderr)")
        #expect(check.stderr.contains("rebuild it with `embed reindex --db \(db)`"), "\(check.stderr)")
    }

    func expectSound(_ db: String) async throws {
        let check = try await EmbedBinary.run(["stats", "--db", db, "--check"])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stderr == "\(db): integrity check passed\n")
    }

    @Test("a dropped keyword index: stats --check reports it, reindex rebuilds it, chunks and vectors intact")
    func droppedTable() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (db, export) = try await makeIndex(dir)
        try await expectSound(db)
        await Self.sql(db, "DROP TABLE chunks_fts")
        try await expectCheckFails(db, saying: "the keyword index (table chunks_fts) is missing")

        let reindex = try await EmbedBinary.run(["reindex", "--db", db])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        #expect(reindex.stderr.contains(
            "\(db): warning: the keyword index needs repair (it is missing); rebuilding it from the 13 chunks..."))
        #expect(reindex.stderr.contains("rebuilt the keyword index of \(db) (13 chunks) in "))
        try await expectSound(db)
        await #expect(Self.matches(db, "lighthouse").count == 12)
        await #expect(Self.matches(db, "moon").count == 1)
        await #expect(try self.export(db) == export)
        // Once repaired, the next run has nothing to say about it.
        let again = try await EmbedBinary.run(["reindex", "--db", db])
        #expect(again.status == 0)
        #expect(!again.stderr.contains("keyword index"), "\(again.stderr)")
    }

    @Test("a dropped trigger: reported, put back by reindex, and later changes reach the keyword index")
    func droppedTrigger() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (db, export) = try await makeIndex(dir)
        await Self.sql(db, "DROP TRIGGER chunks_fts_after_delete")
        try await expectCheckFails(
            db,
            saying: "the keyword index is damaged: the trigger chunks_fts_after_delete, which keeps it in step with "
                + "the chunks, is missing")
        let reindex = try await EmbedBinary.run(["reindex", "--quiet", "--db", db])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        // With --quiet, the repair is still said, in one line.
        #expect(reindex.stderr.split(separator: "\n").count == 1, "\(reindex.stderr)")
        #expect(reindex.stderr.contains("warning: the keyword index needs repair (the trigger chunks_fts_after_delete"))
        await #expect(Self.sql(db, "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'chunks_fts%' ORDER BY name")
            == ["chunks_fts_after_delete", "chunks_fts_after_insert", "chunks_fts_after_update"])
        try await expectSound(db)
        await #expect(try self.export(db) == export)

        // The trigger works: a file deleted leaves the keyword index with its chunks.
        try FileManager.default.removeItem(atPath: dir.path + "/docs/tides.md")
        #expect(try await EmbedBinary.run(["reindex", "--quiet", "--db", db]).status == 0)
        await #expect(Self.matches(db, "moon").isEmpty)
        await #expect(Self.sql(db, "SELECT count(*) FROM chunks_fts_docsize") == ["12"])
    }

    @Test("a keyword index out of step with the chunks: reported and rebuilt")
    func outOfStep() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (db, export) = try await makeIndex(dir)
        await Self.sql(
            db,
            """
            INSERT INTO chunks_fts(chunks_fts, rowid, text, heading_path)
                SELECT 'delete', id, text, heading_path FROM chunks WHERE id % 3 = 0
            """)
        await #expect(Self.matches(db, "lighthouse").count < 12)
        try await expectCheckFails(db, saying: "the keyword index does not match the chunks: it holds 9 chunks, the index 13")
        let reindex = try await EmbedBinary.run(["reindex", "--db", db])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        #expect(reindex.stderr.contains("needs repair (it holds 9 chunks, the index 13)"), "\(reindex.stderr)")
        try await expectSound(db)
        await #expect(Self.matches(db, "lighthouse").count == 12)
        await #expect(try self.export(db) == export)
    }

    @Test("damage only the thorough check finds: stats --check names --rebuild-keyword-index, which rebuilds it")
    func thoroughOnly() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (db, export) = try await makeIndex(dir)
        // Chunk 3 (not among the 8 that every run samples) out, a row for no chunk in: the counts still agree.
        await Self.sql(
            db,
            """
            INSERT INTO chunks_fts(chunks_fts, rowid, text, heading_path)
                SELECT 'delete', id, text, heading_path FROM chunks WHERE id = 3;
            INSERT INTO chunks_fts(rowid, text, heading_path) VALUES (1000, 'a chunk that is not there', '[]');
            """)
        let check = try await EmbedBinary.run(["stats", "--db", db, "--check"])
        #expect(check.status == 3, "\(check.stderr)")
        #expect(check.stderr.contains("\(db): error: the keyword index does not match the chunks: 1 chunk is not in it"))
        #expect(check.stderr.contains("rebuild it with `embed reindex --rebuild-keyword-index --db \(db)`"))
        // The quick check of a plain run does not see it (that is what the option is for).
        let plain = try await EmbedBinary.run(["reindex", "--db", db])
        #expect(plain.status == 0)
        #expect(!plain.stderr.contains("keyword index"), "\(plain.stderr)")

        let rebuild = try await EmbedBinary.run(["reindex", "--rebuild-keyword-index", "--db", db])
        #expect(rebuild.status == 0, "\(rebuild.stderr)")
        #expect(rebuild.stderr.hasPrefix("rebuilding the keyword index of \(db) (13 chunks)...\n"), "\(rebuild.stderr)")
        #expect(rebuild.stderr.contains("rebuilt the keyword index of \(db) (13 chunks) in "))
        try await expectSound(db)
        await #expect(Self.matches(db, "there").isEmpty)
        await #expect(try self.export(db) == export)
    }

    @Test("an index from before the keyword index: stats notes it, the first write builds it and says so")
    func olderIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (db, export) = try await makeIndex(dir)
        await Self.sql(db, OlderSchema.withoutKeywordIndex)
        let check = try await EmbedBinary.run(["stats", "--db", db, "--check"])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stderr.contains("\(db): note: no keyword index yet"), "\(check.stderr)")

        let reindex = try await EmbedBinary.run(["reindex", "--db", db, "--progress"])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        let lines = reindex.stderr.split(separator: "\n").map(String.init)
        #expect(lines.first == "building the keyword index of \(db) (13 chunks)...", "\(reindex.stderr)")
        #expect(lines.contains { $0.hasPrefix("built the keyword index of \(db) (13 chunks) in ") }, "\(reindex.stderr)")
        #expect(!reindex.stderr.contains("warning"), "\(reindex.stderr)")
        await #expect(Self.matches(db, "keepers").count == 12)
        try await expectSound(db)
        await #expect(try self.export(db) == export)
    }
}
