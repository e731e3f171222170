import EmbedKitTestSupport
import Foundation
import Testing

/// `embed query --mode`: every mode on the command line, with hostile query texts, old indexes, JSON fields.
@Suite("query modes on the command line")
struct QueryModeCLITests {
    static func writeDocs(_ dir: TemporaryDirectory) throws {
        try dir.write("docs/vacuum.txt", "The VACUUM command reclaims storage occupied by dead tuples.")
        try dir.write("docs/copy.txt", "The VACUUM command reclaims storage occupied by dead tuples.")
        try dir.write("docs/backup.md", "# Backups\n\nRun pg_dump every night; keep the dumps for a week.")
        try dir.write("docs/harbour.txt", "Ships wait in the harbour until the tide turns.")
    }

    func index(_ dir: TemporaryDirectory) async throws -> String {
        try Self.writeDocs(dir)
        let db = dir.path + "/index.sqlite"
        let run = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"])
        #expect(run.status == 0, "\(run.stderr)")
        return db
    }

    @Test("quotes, operators, punctuation, NUL and a 10,000-word query are answered in every mode, never an SQLite error")
    func hostileQueries() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await index(dir)
        let queries = [
            "\"unbalanced quote", "vacuum AND", "NOT NEAR(storage", "***", "-vacuum", "col:text vacuum", "?!… ---",
            "vac\u{0}uum storage", "'; DROP TABLE chunks; --", (0..<10_000).map { "word\($0)" }.joined(separator: " "),
        ]
        let file = try dir.write("queries.txt", queries.joined(separator: "\n"))
        for mode in ["vector", "keyword", "hybrid"] {
            let run = try await EmbedBinary.run(["query", "--db", db, "--mode", mode, "--json", "-k", "2", "--queries-file", file])
            #expect(run.status == 0, "\(mode): \(run.stderr)")
            for word in ["sqlite", "fts5", "syntax", "malformed"] {
                #expect(!run.stderr.lowercased().contains(word), "\(mode): \(run.stderr)")
            }
            let answered = Set(try run.lines.map { try EmbedBinary.json($0)["query"] as? String ?? "" })
            #expect(answered.contains("vacuum AND") && answered.contains("-vacuum"), "\(mode)")
            if mode == "keyword" {
                #expect(!answered.contains("?!… ---") && run.stderr.contains("has no word to search for"))
            }
        }
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)
    }

    @Test("a -k larger than the index, up to the largest integer, returns every chunk in every mode")
    func hugeK() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await index(dir)
        for k in ["9223372036854775807", "100000000000", "5"] {
            for mode in ["vector", "keyword", "hybrid"] {
                let run = try await EmbedBinary.run(["query", "--db", db, "--mode", mode, "--all", "--json", "-k", k, "the"])
                #expect(run.status == 0, "\(mode) -k \(k): \(run.stderr)")
                #expect(run.lines.count == 4, "\(mode) -k \(k)")
            }
        }
    }

    @Test("JSON says which rankings found each hit and where the query's words are; copies are one result unless --all")
    func jsonFields() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await index(dir)
        let run = try await EmbedBinary.run(["query", "--db", db, "--json", "-k", "3", "reclaiming storage"])
        #expect(run.status == 0, "\(run.stderr)")
        let first = try EmbedBinary.json(try #require(run.lines.first))
        let text = try #require(first["text"] as? String)
        #expect(text.hasPrefix("The VACUUM command reclaims"))
        let found = try #require(first["found_by"] as? [String: [String: Any]])
        #expect(found["vector"]?["rank"] as? Int == 1 && found["keyword"]?["rank"] as? Int == 1)
        let scalars = Array(text.unicodeScalars)
        let words = try #require(first["matches"] as? [[Int]]).map { String(String.UnicodeScalarView(scalars[$0[0]..<$0[1]])) }
        #expect(words == ["reclaims", "storage"])
        let copies = try #require(first["copies"] as? [[String: Any]])
        #expect(copies.count == 1)
        #expect(Set([first["path"] as? String, copies[0]["path"] as? String])
            == [dir.path + "/docs/vacuum.txt", dir.path + "/docs/copy.txt"])
        let snippet = try #require(first["snippet"] as? [String: Any])
        #expect(snippet["start"] as? Int == 0 && snippet["text"] as? String == text)

        let all = try await EmbedBinary.run(["query", "--db", db, "--json", "--all", "-k", "2", "reclaiming storage"])
        #expect(try all.lines.map { try EmbedBinary.json($0)["text"] as? String } == [text, text])

        let text2 = try await EmbedBinary.run(["query", "--db", db, "-k", "1", "reclaiming storage"])
        #expect(text2.stdout.contains("docs/vacuum.txt:1") && text2.stdout.contains("also in "), "\(text2.stdout)")
        #expect(!text2.stdout.contains("\u{1B}["), "no bold when the output is not a terminal")
    }

    @Test("on a terminal the query's words are set in bold")
    func bold() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await index(dir)
        // script(1) gives the command a terminal for its output.
        let binary = try #require(EmbedBinary.executable).path
        let command = "\(binary) query --db '\(db)' -k 1 --mode keyword pg_dump"
        let run = await EmbedBinary.shell("script -qec \"\(command)\" /dev/null")
        #expect(run.status == 0, "\(run.output)")
        // FTS5 reads "pg_dump" as two words; one word on the screen is marked as one. "dumps" matches by stem.
        #expect(run.output.contains("\u{1B}[1mpg_dump\u{1B}[22m every night"), "\(run.output)")
        #expect(run.output.contains("\u{1B}[1mdumps\u{1B}[22m"), "\(run.output)")
    }

    @Test("keyword mode needs no embedder: it answers while the embedding server is gone")
    func keywordWithoutEmbedder() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeDocs(dir)
        let db = dir.path + "/index.sqlite"
        let server = try LoopbackEmbeddingServer()
        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--embedder", "openai", "--base-url", server.baseURL.absoluteString,
             "--model", "fake-embed", "--dimensions", "8"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        server.stop()
        let keyword = try await EmbedBinary.run(["query", "--db", db, "--mode", "keyword", "--json", "pg_dump"])
        #expect(keyword.status == 0, "\(keyword.stderr)")
        #expect(try keyword.lines.map { try EmbedBinary.json($0)["path"] as? String } == [dir.path + "/docs/backup.md"])
        let vector = try await EmbedBinary.run(["query", "--db", db, "--mode", "vector", "pg_dump"])
        #expect(vector.status != 0)
    }

    @Test("an index from before keyword search: hybrid warns and answers by vector, keyword refuses, reindex builds it")
    func oldIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await index(dir)
        _ = await QuietCronTests.rows(db, OlderSchema.withoutKeywordIndex)
        let hybrid = try await EmbedBinary.run(["query", "--db", db, "-k", "1", "pg_dump"])
        #expect(hybrid.status == 0 && hybrid.stdout.contains("backup.md"), "\(hybrid.stderr)")
        #expect(hybrid.stderr.contains("has no keyword index yet") && hybrid.stderr.contains("embed reindex --db"))
        let keyword = try await EmbedBinary.run(["query", "--db", db, "--mode", "keyword", "pg_dump"])
        #expect(keyword.status == 3 && keyword.stdout.isEmpty, "\(keyword.stdout)")
        #expect(keyword.stderr.contains("has no keyword index yet"))

        #expect(try await EmbedBinary.run(["reindex", "--db", db]).status == 0)
        let rebuilt = try await EmbedBinary.run(["query", "--db", db, "--mode", "keyword", "-k", "1", "pg_dump"])
        #expect(rebuilt.status == 0 && rebuilt.stderr.isEmpty && rebuilt.stdout.contains("backup.md"), "\(rebuilt.stderr)")
    }

    @Test("a damaged keyword index is an error in every mode that reads it; hybrid still answers by vector")
    func damagedKeywordIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await index(dir)
        _ = await QuietCronTests.rows(db, "DROP TRIGGER chunks_fts_after_delete")
        let hybrid = try await EmbedBinary.run(["query", "--db", db, "-k", "1", "pg_dump"])
        #expect(hybrid.status == 1 && hybrid.stdout.contains("backup.md"), "\(hybrid.stderr)")
        #expect(hybrid.stderr.contains("error:") && hybrid.stderr.contains("keyword index is damaged"), "\(hybrid.stderr)")
        #expect(hybrid.stderr.contains("embed reindex --db"))
        let keyword = try await EmbedBinary.run(["query", "--db", db, "--mode", "keyword", "pg_dump"])
        #expect(keyword.status == 3 && keyword.stdout.isEmpty, "\(keyword.stderr)")
        let strict = try await EmbedBinary.run(["query", "--db", db, "--strict", "pg_dump"])
        #expect(strict.status == 3, "\(strict.stderr)")
        #expect(try await EmbedBinary.run(["query", "--db", db, "--mode", "vector", "pg_dump"]).status == 0)

        #expect(try await EmbedBinary.run(["reindex", "--db", db]).status == 0)
        let repaired = try await EmbedBinary.run(["query", "--db", db, "-k", "1", "pg_dump"])
        #expect(repaired.status == 0 && repaired.stderr.isEmpty, "\(repaired.stderr)")
    }
}
