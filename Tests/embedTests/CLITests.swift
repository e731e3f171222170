import EmbedKitTestSupport
import Foundation
import Testing

/// End to end: the built `embed` binary on the demo corpus and on small trees made by the tests.
@Suite("embed command line", .serialized)
struct CLITests {
    static let corpus = EmbedBinary.repository.appendingPathComponent("corpora").path

    static var corpusFiles: Int {
        FileManager.default.enumerator(atPath: corpus)!.compactMap { $0 as? String }.filter {
            !$0.split(separator: "/").contains { $0.hasPrefix(".") }
                && (try? FileManager.default.attributesOfItem(atPath: corpus + "/" + $0)[.type] as? FileAttributeType)
                    == .typeRegular
        }.count
    }

    @Test("ingest the demo corpus, re-ingest without duplicates, then query, stats and export")
    func endToEnd() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path + "/index.sqlite"
        let files = Self.corpusFiles
        #expect(files >= 40)

        let ingest = try await EmbedBinary.run(["ingest", Self.corpus, "--db", db, "--embedder", "hash"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stdout.isEmpty)
        #expect(ingest.stderr.hasPrefix("Indexed \(files) files: \(files) added, 0 updated, 0 unchanged, 0 removed;"))

        let stats = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
        #expect(stats["documents"] as? Int == files)
        let chunks = try #require(stats["chunks"] as? Int)
        #expect(chunks > files)
        #expect(stats["embedder"] as? String == "hash")
        #expect(stats["dimension"] as? Int == 384)

        let again = try await EmbedBinary.run(["ingest", Self.corpus, "--db", db, "--json"])  // the index's own embedder
        #expect(again.status == 0)
        let summary = try EmbedBinary.json(again.stdout)
        #expect(summary["unchanged"] as? Int == files)
        #expect(summary["chunks_embedded"] as? Int == 0)
        #expect(try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)["chunks"] as? Int == chunks)

        let query = try await EmbedBinary.run([
            "query", "--db", db, "-k", "3", "keeping a sourdough starter alive",
            "TCP slow start and the congestion window",
        ])
        #expect(query.status == 0, "\(query.stderr)")
        let blocks = query.stdout.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(blocks.count == 2)
        #expect(blocks[0].hasPrefix("query: keeping a sourdough starter alive\n  1. "))
        #expect(blocks[0].split(separator: "\n")[1].contains("cooking/sourdough.md:"))
        #expect(blocks[1].split(separator: "\n")[1].contains("tech/tcp-congestion.md:"))

        let json = try await EmbedBinary.run(["query", "--db", db, "--json", "-k", "2", "magma chamber volcano eruption"])
        #expect(json.lines.count == 2)
        let hit = try EmbedBinary.json(json.lines[0])
        #expect(Set(hit.keys).isSuperset(of: ["query", "rank", "score", "path", "chunk_id", "start_offset", "end_offset", "line", "text", "heading_path", "index"]))
        #expect(hit["rank"] as? Int == 1)
        #expect((hit["path"] as? String)?.hasSuffix("nature/volcanoes.html") == true)
        let second = try EmbedBinary.json(json.lines[1])
        #expect(try #require(hit["score"] as? Double) >= (try #require(second["score"] as? Double)))

        // Filters apply during the scan: k results come back when k match.
        let question = "TCP slow start and the congestion window"
        for (filter, check) in [
            (["--format", "html"], { (path: String) in path.hasSuffix(".html") }),
            (["--under", Self.corpus + "/science"], { (path: String) in path.contains("/corpora/science/") }),
            (["--path", "nature/*.xml"], { (path: String) in path.contains("/nature/") && path.hasSuffix(".xml") }),
        ] {
            let filtered = try await EmbedBinary.run(["query", "--db", db, "--json", "-k", "3"] + filter + [question])
            let paths = try filtered.lines.map { try EmbedBinary.json($0)["path"] as? String ?? "" }
            #expect(paths.count == 3, "\(filter)")
            #expect(paths.allSatisfy(check), "\(filter): \(paths)")
        }
        let floor = try await EmbedBinary.run(["query", "--db", db, "--json", "-k", "50", "--min-score", "0.3", question])
        let scores = try floor.lines.map { try #require(EmbedBinary.json($0)["score"] as? Double) }
        #expect(!scores.isEmpty && scores.count < 50)
        #expect(scores.allSatisfy { $0 >= 0.3 })

        let export = try await EmbedBinary.run(["export", "--db", db, "--vectors"])
        #expect(export.status == 0)
        #expect(export.lines.count == chunks)
        let first = try EmbedBinary.json(export.lines[0])
        #expect((first["vector"] as? [Any])?.count == 384)
        #expect(Set(first.keys).isSuperset(of: ["path", "ordinal", "start_offset", "end_offset", "line", "heading_path", "text"]))
    }

    @Test("queries from stdin, several indexes merged, and a missing index reported without hiding the others")
    func severalIndexes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("a/bees.txt", "Honeybee colonies have a queen, workers and drones.")
        try dir.write("b/glaciers.md", "# Glaciers\n\nGlaciers carve valleys as the ice moves downhill.")
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/a", "--db", dir.path + "/a.sqlite", "--embedder", "hash"]).status == 0)
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/b", "--db", dir.path + "/b.sqlite", "--embedder", "hash"]).status == 0)
        let both = try await EmbedBinary.run(
            ["query", "--db", dir.path + "/a.sqlite", "--db", dir.path + "/b.sqlite", "--json", "-k", "1"],
            stdin: "queen bees\nglacier ice valleys\n")
        #expect(both.status == 0)
        let hits = try both.lines.map(EmbedBinary.json)
        #expect(hits.map { $0["query"] as? String } == ["queen bees", "glacier ice valleys"])
        #expect((hits[0]["index"] as? String)?.hasSuffix("a.sqlite") == true)
        #expect((hits[1]["index"] as? String)?.hasSuffix("b.sqlite") == true)

        let missing = try await EmbedBinary.run(
            ["query", "--db", dir.path + "/a.sqlite", "--db", dir.path + "/nope.sqlite", "-k", "1", "queen bees"])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("bees.txt"))
        // The path is named once, in the message.
        #expect(missing.stderr.contains("error: \(dir.path)/nope.sqlite: no index here"), "\(missing.stderr)")
        let strict = try await EmbedBinary.run(
            ["query", "--strict", "--db", dir.path + "/a.sqlite", "--db", dir.path + "/nope.sqlite", "queen bees"])
        #expect(strict.status == 3)
    }

    @Test("exit statuses: 2 for usage, 1 when a file fails, 3 when the index cannot be used")
    func exitStatuses() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let usage = try await EmbedBinary.run(["ingest", "--no-such-flag", "x"])
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("Usage: embed ingest"))
        #expect(try await EmbedBinary.run(["ingest"]).status == 2)
        #expect(try await EmbedBinary.run(["query", "-k", "-1", "x"]).status == 2)

        try dir.write("docs/good.txt", "A good file about lighthouses.")
        try dir.write("docs/binary.txt", bytes: [0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 1, 2, 3])
        let db = dir.path + "/index.sqlite"
        let partial = try await EmbedBinary.run(["ingest", dir.path + "/docs", dir.path + "/missing", "--db", db, "--embedder", "hash"])
        #expect(partial.status == 1)
        #expect(partial.stderr.contains("/missing: error: no such file or directory"))
        #expect(partial.stderr.contains("/docs/binary.txt: warning: binary file"))
        #expect(try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)["documents"] as? Int == 1)

        let mismatch = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--chunk-tokens", "50"])
        #expect(mismatch.status == 3)
        #expect(mismatch.stderr.hasPrefix("error: \(db) was built with chunks of 200 tokens"))
        #expect(try await EmbedBinary.run(["query", "--db", dir.path + "/none.sqlite", "x"]).status == 3)
        #expect(try await EmbedBinary.run(["stats", "--db", dir.path + "/none.sqlite"]).status == 3)
    }

    @Test("--chunk-tokens larger than the model's input window is a usage error naming the window; nothing is written")
    func chunkTokensOverWindow() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "Some text to index.")
        let db = dir.path + "/index.sqlite"
        let refused = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--chunk-tokens", "1000"])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("--chunk-tokens 1000 is larger than the input window of sentence-transformers/all-MiniLM-L6-v2, 254 tokens"))
        #expect(!FileManager.default.fileExists(atPath: db))
        // At the window it is accepted.
        let fits = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--chunk-tokens", "254", "--chunk-context", "none"])
        #expect(fits.status == 0, "\(fits.stderr)")

        // A chunk header takes its 32 tokens from the window: the whole window is refused, what it leaves is not.
        let headed = dir.path + "/headed.sqlite"
        let headers = ["--chunk-context", "title-headings"]
        let over = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", headed, "--chunk-tokens", "254"] + headers)
        #expect(over.status == 2, "\(over.stderr)")
        #expect(
            over.stderr.contains(
                "--chunk-tokens 254 is larger than the 222 tokens the chunk header (--chunk-context title-headings, up to "
                    + "32 tokens) leaves of the 254-token input window of sentence-transformers/all-MiniLM-L6-v2: "),
            "\(over.stderr)")
        #expect(over.stderr.contains("Use --chunk-tokens 222 or less."))
        await #expect(try EmbedBinary.run(["ingest", dir.path + "/docs", "--db", headed, "--chunk-tokens", "223"] + headers).status == 2)
        let inside = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", headed, "--chunk-tokens", "222"] + headers)
        #expect(inside.status == 0, "\(inside.stderr)")

        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        let openai = [
            "--embedder", "openai", "--base-url", server.baseURL.absoluteString, "--model", "fake-embed",
            "--max-input-tokens", "100", "--chunk-context", "none",
        ]
        let other = dir.path + "/openai.sqlite"
        let tooLong = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", other, "--chunk-tokens", "101"] + openai)
        #expect(tooLong.status == 2, "\(tooLong.stderr)")
        #expect(tooLong.stderr.contains("input window of fake-embed@"))
        #expect(tooLong.stderr.contains(", 100 tokens: "))
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", other, "--chunk-tokens", "100"] + openai).status == 0)
    }

    @Test("encode prints one vector per text, from arguments or JSON lines on stdin")
    func encode() async throws {
        let args = try await EmbedBinary.run(["encode", "--embedder", "hash", "first text", "second text"])
        #expect(args.status == 0)
        #expect(args.lines.count == 2)
        let stdin = try await EmbedBinary.run(
            ["encode", "--embedder", "hash"], stdin: "\"tab\\there\"\n{\"text\": \"nul \\u0000 and more\"}\n\n\"first text\"\n")
        #expect(stdin.status == 0, "\(stdin.stderr)")
        #expect(stdin.lines.count == 3)
        #expect(stdin.lines[2] == args.lines[0])
        let vector = try #require(JSONSerialization.jsonObject(with: Data(stdin.lines[0].utf8)) as? [Double])
        #expect(vector.count == 384)
        let bad = try await EmbedBinary.run(["encode", "--embedder", "hash"], stdin: "\"ok\"\n{\"nope\": 1}\n")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("stdin line 2: expected a JSON string or an object with a \"text\" field"))
    }
}
