import EmbedKitTestSupport
import Foundation
import Testing

/// Chunks without words and hard-wrapped text, through the built binary and a real index on disk.
@Suite("chunks without words and wrapped lines, end to end", .serialized)
struct WordlessWrappedCLITests {
    /// A hard-wrapped article (12 sentences at 60 columns) and a page with a long table of citation numbers.
    static func writeCorpus(_ dir: TemporaryDirectory) async throws {
        try dir.write("docs/glaciers.txt", HardWrappedText.article(title: "GLACIERS"))
        let citations = (1...80).map { "\($0 * 7)\t\($0 % 5 + 1)\t\($0)" }.joined(separator: "\n")
        try dir.write("docs/survey.txt", "A survey of library classification schemes.\n\n" + citations + "\n")
    }

    @Test("wrapped text: every hit's path:line is the line where its text starts, and chunks start at sentences")
    func wrappedLines() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await Self.writeCorpus(dir)
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run([
            "ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--chunk-tokens", "60", "--overlap-tokens", "16",
            "--join-wrapped-lines", "true",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        // The file has single blank lines, so offsets into its text are offsets into the document's.
        let source = Array(try String(contentsOfFile: dir.path + "/docs/glaciers.txt", encoding: .utf8).unicodeScalars)
        let query = try await EmbedBinary.run(["query", "--db", db, "--json", "-k", "20", "--path", "*glaciers.txt", "glacier valley"])
        #expect(query.status == 0, "\(query.stderr)")
        let hits = try query.lines.map { try EmbedBinary.json($0) }
        #expect(hits.count >= 4)
        for hit in hits {
            let text = try #require(hit["text"] as? String)
            let line = try #require(hit["line"] as? Int)
            let start = try #require(hit["start_offset"] as? Int)
            #expect(String(String.UnicodeScalarView(source[start..<(start + text.unicodeScalars.count)])) == text)
            #expect(line == 1 + source[..<start].filter { $0 == "\n" }.count, "\(line): \(text)")
            if (hit["ordinal"] as? Int ?? 0) > 0 {
                #expect(text.split(whereSeparator: \.isWhitespace).first == "Sentence", "\(text)")
            }
        }
        // The text output names the same places.
        let plain = try await EmbedBinary.run(["query", "--db", db, "-k", "20", "--path", "*glaciers.txt", "glacier valley"])
        for hit in hits {
            #expect(plain.stdout.contains("glaciers.txt:\(hit["line"] as? Int ?? 0)"))
        }
        // The stored text is the file's, line breaks included.
        await #expect(KeywordIndexCLITests.sql(db, "SELECT count(*) FROM chunks WHERE instr(text, char(10)) > 0") != ["0"])
    }

    @Test("chunks without words: stored without a vector, found by keyword search only, and the index stays sound")
    func wordlessChunks() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await Self.writeCorpus(dir)
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run([
            "ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--chunk-tokens", "60", "--overlap-tokens", "0",
            "--json",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let report = try EmbedBinary.json(ingest.stdout)
        let without = try #require(report["chunks_without_vector"] as? Int)
        #expect(without >= 3)
        #expect(report["chunks_embedded"] as? Int == (report["chunks"] as? Int ?? 0) - without)

        let stats = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
        #expect(stats["chunks_without_vector"] as? Int == without)
        #expect(stats["embeds_wordless_chunks"] as? Bool == false)
        #expect(stats["joins_wrapped_lines"] as? Bool == false)
        let check = try await EmbedBinary.run(["stats", "--db", db, "--check"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")

        // Keyword search finds a number of the table; vector search never returns a chunk without a vector.
        let keyword = try await EmbedBinary.run(["query", "--db", db, "--mode", "keyword", "--json", "-k", "3", "343"])
        #expect(keyword.status == 0, "\(keyword.stderr)")
        #expect(try keyword.lines.map { try EmbedBinary.json($0)["text"] as? String ?? "" }.contains { $0.contains("343\t") })
        let wordless = await Set(KeywordIndexCLITests.sql(db, "SELECT c.id FROM chunks c JOIN vectors v ON v.id = c.vector_id WHERE length(v.embedding) = 0"))
        #expect(wordless.count == without)
        for mode in ["vector", "hybrid"] {
            let run = try await EmbedBinary.run(["query", "--db", db, "--mode", mode, "--json", "-k", "100", "glacier survey"])
            #expect(run.status == 0, "\(run.stderr)")
            let ids = try run.lines.map { "\(try EmbedBinary.json($0)["chunk_id"] as? Int ?? -1)" }
            if mode == "vector" { #expect(wordless.isDisjoint(with: ids)) }
            #expect(!ids.isEmpty)
        }
        // Hybrid search finds the table by its numbers (on BM25 alone: the vector side gives it nothing).
        let hybrid = try await EmbedBinary.run(["query", "--db", db, "--json", "-k", "10", "343"])
        let hybridIDs = try hybrid.lines.map { "\(try EmbedBinary.json($0)["chunk_id"] as? Int ?? -1)" }
        #expect(!wordless.isDisjoint(with: hybridIDs))
        // Export with vectors: no vector for those chunks.
        let export = try await EmbedBinary.run(["export", "--db", db, "--vectors"])
        let lines = try export.lines.map { try EmbedBinary.json($0) }
        #expect(lines.filter { $0["vector"] == nil }.count == without)

        // Re-ingesting embeds nothing again and keeps the chunks without vectors as they are.
        let again = try EmbedBinary.json(try await EmbedBinary.run(["reindex", "--db", db, "--json", "--checksum"]).stdout)
        #expect(again["chunks_embedded"] as? Int == 0)

        // Damage: a chunk with words whose vector was emptied is found by --check.
        await KeywordIndexCLITests.sql(db, "UPDATE vectors SET embedding = x'' WHERE id = (SELECT c.vector_id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.path LIKE '%glaciers.txt' LIMIT 1)")
        let damaged = try await EmbedBinary.run(["stats", "--db", db, "--check"])
        #expect(damaged.status == 3)
        #expect((damaged.stdout + damaged.stderr).contains("chunks with words have no vector"))
    }

    @Test("an index keeps its recipe: the older one (wrapped lines kept, every chunk embedded) goes on, another is refused, --reembed switches")
    func recipe() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await Self.writeCorpus(dir)
        let db = dir.path + "/index.sqlite"
        let old = try await EmbedBinary.run([
            "ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--chunk-tokens", "60",
            "--join-wrapped-lines", "false", "--embed-wordless-chunks", "true", "--json",
        ])
        #expect(old.status == 0, "\(old.stderr)")
        #expect(try EmbedBinary.json(old.stdout)["chunks_without_vector"] as? Int == 0)
        // As an index written before these settings: the keys removed from its recorded recipe.
        await KeywordIndexCLITests.sql(db, "UPDATE index_meta SET value = json_remove(value, '$.chunking.joinsWrappedLines', '$.chunking.embedsWordlessChunks') WHERE key = 'settings'")
        await #expect(!KeywordIndexCLITests.sql(db, "SELECT value FROM index_meta WHERE key = 'settings'").joined().contains("Wrapped"))
        try dir.write("docs/more.txt", (1...60).map { "\($0)" }.joined(separator: " | ") + "\n")
        let reindex = try await EmbedBinary.run(["reindex", "--db", db, "--json"])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        #expect(try EmbedBinary.json(reindex.stdout)["chunks_without_vector"] as? Int == 0)
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)

        let refused = try await EmbedBinary.run([
            "ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--embed-wordless-chunks", "false",
        ])
        #expect(refused.status == 3)
        #expect(
            refused.stderr.contains(
                "wrapped lines kept and chunks without words embedded, not wrapped lines kept and chunks without words not embedded"),
            "\(refused.stderr)")

        let rebuilt = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--reembed", "--json"])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        let stats = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
        #expect(stats["joins_wrapped_lines"] as? Bool == false)
        #expect((stats["chunks_without_vector"] as? Int ?? 0) > 0)
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)
    }
}
