import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// `--query-prefix` and `--document-prefix` end to end: what the embedding server receives, what the index
/// records, what is refused, and indexes written before prefixes existed.
@Suite("query and document prefixes on the command line", .serialized)
struct PrefixCLITests {
    static func openai(_ server: LoopbackEmbeddingServer, _ extra: [String] = []) -> [String] {
        ["--embedder", "openai", "--base-url", server.baseURL.absoluteString, "--model", "fake-embed", "--dimensions", "8"]
            + extra
    }

    static let e5 = ["--query-prefix", "query: ", "--document-prefix", "passage: "]

    /// The `settings` JSON in the index's metadata, read with the sqlite3 shell (another client).
    static func settingsJSON(_ db: String) async -> String {
        let result = await EmbedBinary.shell("sqlite3 '\(db)' \"SELECT value FROM index_meta WHERE key = 'settings'\"")
        #expect(result.status == 0, "\(result.output)")
        return result.output.trimmingCharacters(in: .newlines)
    }

    static func writeDocs(_ dir: TemporaryDirectory) throws {
        try dir.write("docs/alpha.txt", "Alpha keeps the lighthouse.\n\nThe lamp of the alpha lighthouse burns oil.")
        try dir.write("docs/bravo.md", "# Bravo\n\nBravo repairs the harbour wall after every storm.")
    }

    @Test("the server gets 'passage: ' before every chunk at ingest and reindex, and 'query: ' before every query")
    func serverReceivesPrefixedTexts() async throws {
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeDocs(dir)
        let db = dir.path + "/index.sqlite"

        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db] + Self.openai(server) + Self.e5)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let sent = server.requests.flatMap(\.inputs)
        #expect(!sent.isEmpty)
        #expect(sent.allSatisfy { $0.hasPrefix("passage: ") }, "\(sent)")

        // The index stores the chunk texts as written, each with the vector of its prefixed text.
        let export = try await EmbedBinary.run(["export", "--vectors", "--db", db])
        #expect(export.status == 0, "\(export.stderr)")
        var texts: [String] = []
        for line in export.lines {
            let object = try EmbedBinary.json(line)
            let text = try #require(object["text"] as? String)
            let vector = try #require(object["vector"] as? [NSNumber]).map(\.floatValue)
            #expect(!text.hasPrefix("passage: "))
            #expect(vector == DeterministicVectors.vector(for: "passage: " + text, dimension: 8))
            texts.append(text)
        }
        #expect(sent.sorted() == texts.map { "passage: " + $0 }.sorted())

        // The prefixes are recorded: stats shows them, and a query with no flags uses the query prefix.
        let stats = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
        #expect(stats["query_prefix"] as? String == "query: ")
        #expect(stats["document_prefix"] as? String == "passage: ")
        let before = server.requests.count
        let query = try await EmbedBinary.run(
            ["query", "--db", db, "--mode", "vector", "--json", "-k", "1", "who keeps the lamp", "storm wall"])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(server.requests[before...].flatMap(\.inputs) == ["query: who keeps the lamp", "query: storm wall"])
        // Results name the query as the user wrote it.
        #expect(try query.lines.map { try EmbedBinary.json($0)["query"] as? String } == ["who keeps the lamp", "storm wall"])
        // Each score is the dot product of the prefixed query's vector and the prefixed chunk's.
        for line in query.lines {
            let hit = try EmbedBinary.json(line)
            let (q, text) = (try #require(hit["query"] as? String), try #require(hit["text"] as? String))
            let expected = zip(
                DeterministicVectors.vector(for: "query: " + q, dimension: 8),
                DeterministicVectors.vector(for: "passage: " + text, dimension: 8)
            ).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let score = try #require((hit["score"] as? NSNumber)?.floatValue)
            #expect(abs(score - expected) < 1e-4, "\(line)")
        }

        // Passing the recorded prefixes again is no change.
        let same = try await EmbedBinary.run(["query", "--db", db, "-k", "1", "lamp"] + Self.e5)
        #expect(same.status == 0, "\(same.stderr)")

        // Reindex embeds a new file's chunks with the recorded document prefix, without any flag.
        try dir.write("docs/charlie.txt", "Charlie paints the lighthouse red and white.")
        let mark = server.requests.count
        let reindex = try await EmbedBinary.run(["reindex", "--db", db, "--json"])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        #expect(try EmbedBinary.json(reindex.stdout)["chunks_embedded"] as? Int == 1)
        #expect(server.requests[mark...].flatMap(\.inputs) == ["passage: Charlie paints the lighthouse red and white."])
    }

    @Test("a write or query with other prefixes than the index's is refused with status 3 and says which")
    func mismatchIsRefused() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeDocs(dir)
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"] + Self.e5)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let settings = await Self.settingsJSON(db)

        let refusals: [[String]] = [
            ["ingest", dir.path + "/docs", "--db", db, "--document-prefix", "search_document: "],
            ["ingest", dir.path + "/docs", "--db", db, "--document-prefix", ""],
            ["reindex", "--db", db, "--query-prefix", "search_query: "],
            ["query", "--db", db, "--query-prefix", "search_query: ", "lamp"],
            ["query", "--db", db, "--query-prefix", "", "lamp"],
        ]
        for arguments in refusals {
            let run = try await EmbedBinary.run(arguments)
            #expect(run.status == 3, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains("query prefix 'query: ' and document prefix 'passage: '"), "\(run.stderr)")
            #expect(run.stderr.contains("not comparable"), "\(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
        let written = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--document-prefix", "x: "])
        #expect(written.stderr.contains("not query prefix 'query: ' and document prefix 'x: '"), "\(written.stderr)")
        // The write refusal names --reembed as a way out; nothing was changed.
        #expect(written.stderr.contains("--reembed"))
        await #expect(Self.settingsJSON(db) == settings)

        // --reembed rebuilds the index with the prefixes given now (here none).
        let rebuilt = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--reembed"])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        await #expect(!Self.settingsJSON(db).contains("Prefix"))
        #expect(try await EmbedBinary.run(["query", "--db", db, "--query-prefix", "query: ", "lamp"]).status == 3)
        #expect(try await EmbedBinary.run(["query", "--db", db, "lamp"]).status == 0)
    }

    @Test("two indexes with different prefixes are not searched together")
    func indexesWithDifferentPrefixes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeDocs(dir)
        let (first, second) = (dir.path + "/a.sqlite", dir.path + "/b.sqlite")
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", first, "--embedder", "hash"] + Self.e5).status == 0)
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", second, "--embedder", "hash"]).status == 0)
        let both = try await EmbedBinary.run(["query", "--db", first, "--db", second, "lamp"])
        #expect(both.status == 3, "\(both.stderr)")
        #expect(both.stderr.contains("must share one embedder"), "\(both.stderr)")
    }

    /// The settings an index written by embed before prefixes existed holds, byte for byte (hash embedder,
    /// default chunking): the synthesized encoding of the identity's four fields, keys sorted.
    static let settingsBeforePrefixes =
        #"{"chunking":{"maxTokens":200,"overlapTokens":32},"embedder":{"dimension":384,"isNormalized":true,"model":"fnv1a-words-bigrams-v1","name":"hash"}}"#
    /// The same index's settings as written now: the embedder as before, and the chunking saying that chunks
    /// without words are not embedded (D57).
    static let settingsWithoutPrefixes = settingsBeforePrefixes.replacingOccurrences(
        of: #"{"maxTokens":200"#, with: #"{"embedsWordlessChunks":false,"maxTokens":200"#)

    @Test("an index written before prefixes existed reads, queries, reindexes and takes writes as before")
    func indexWithoutPrefixes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeDocs(dir)
        let db = dir.path + "/index.sqlite"
        // Without chunk headers too: written before prefixes existed, it was written before headers existed.
        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--chunk-context", "none"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        // Without prefixes, the embedder is written exactly as before: older embeds read it unchanged.
        await #expect(Self.settingsJSON(db) == Self.settingsWithoutPrefixes)
        // The index as the previous schema wrote it (no prefix keys at all), in case the line above ever fails.
        let sql = try dir.write("update.sql", "UPDATE index_meta SET value = '\(Self.settingsBeforePrefixes)' WHERE key = 'settings';")
        let update = await EmbedBinary.shell("sqlite3 '\(db)' < '\(sql)'")
        #expect(update.status == 0, "\(update.output)")
        await #expect(Self.settingsJSON(db) == Self.settingsBeforePrefixes)

        let query = try await EmbedBinary.run(["query", "--db", db, "--json", "-k", "1", "lamp"])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.lines.count == 1)
        // Empty prefixes given explicitly are the same as none.
        let explicit = try await EmbedBinary.run(["query", "--db", db, "-k", "1", "--query-prefix", "", "--document-prefix", "", "lamp"])
        #expect(explicit.status == 0, "\(explicit.stderr)")
        try dir.write("docs/charlie.txt", "Charlie paints the lighthouse red and white.")
        let reindex = try await EmbedBinary.run(["reindex", "--db", db, "--json"])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        #expect(try EmbedBinary.json(reindex.stdout)["added"] as? Int == 1)
        try dir.write("more/delta.txt", "Delta counts the ships.")
        let more = try await EmbedBinary.run(["ingest", dir.path + "/more", "--db", db])
        #expect(more.status == 0, "\(more.stderr)")
        await #expect(Self.settingsJSON(db) == Self.settingsBeforePrefixes)
        let stats = try await EmbedBinary.run(["stats", "--db", db])
        #expect(!stats.stdout.contains("prefixes:"))

        // Adding a prefix to it is a change of embedder, refused like any other.
        let prefixed = try await EmbedBinary.run(["query", "--db", db, "--query-prefix", "query: ", "lamp"])
        #expect(prefixed.status == 3)
        #expect(prefixed.stderr.contains("query prefix '' and document prefix ''"), "\(prefixed.stderr)")
        #expect(try await EmbedBinary.run(["reindex", "--db", db, "--document-prefix", "passage: "]).status == 3)
        await #expect(Self.settingsJSON(db) == Self.settingsBeforePrefixes)
    }

    @Test("the document prefix takes its tokens from the chunk: prefixed chunks still fit the input window")
    func prefixLeavesRoomInWindow() async throws {
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Long paragraphs: every chunk is as large as the window allows.
        let words = (0..<400).map { "word\($0 % 37)" }.joined(separator: " ")
        try dir.write("docs/long.txt", words + ".\n\n" + words + ".")
        let db = dir.path + "/index.sqlite"
        let prefix = "search_document: "
        // The server's window: 30 estimated tokens per input; longer inputs fail (--long-inputs fail).
        // No chunk header, which would take most of so small a window (ChunkContextCLITests measure that one).
        let window = [
            "--max-input-tokens", "30", "--long-inputs", "fail", "--overlap-tokens", "0", "--chunk-context", "none",
        ]

        // Asking for chunks of the whole window is refused: the prefix would push them over.
        let tooLarge = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--chunk-tokens", "30", "--document-prefix", prefix]
                + Self.openai(server, window))
        #expect(tooLarge.status == 2, "\(tooLarge.stderr)")
        let estimator = OpenAITokenEstimator()
        let room = 30 - estimator.tokenCount(prefix[...])
        #expect(tooLarge.stderr.contains("--chunk-tokens \(room) or less"), "\(tooLarge.stderr)")
        #expect(tooLarge.stderr.contains("'\(prefix)'"), "\(tooLarge.stderr)")

        // By default chunks are sized to what the prefix leaves: every prefixed input fits, none fails.
        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--json", "--document-prefix", prefix] + Self.openai(server, window))
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(try EmbedBinary.json(ingest.stdout)["failed"] as? Int == 0)
        let inputs = server.requests.flatMap(\.inputs)
        #expect(inputs.count > 10)
        #expect(inputs.allSatisfy { $0.hasPrefix(prefix) })
        #expect(inputs.allSatisfy { estimator.tokenCount($0[...]) <= 30 }, "\(inputs.map { estimator.tokenCount($0[...]) })")
        // And they use the room: chunks are not made needlessly small.
        #expect(inputs.contains { estimator.tokenCount($0[...]) >= 28 })
    }

    @Test("encode puts the prefix of the kind of text it is told, or of the one prefix given")
    func encodeWithPrefixes() async throws {
        func encode(_ arguments: [String]) async throws -> EmbedBinary.Output {
            try await EmbedBinary.run(["encode", "--embedder", "hash"] + arguments)
        }
        let asQuery = try await encode(["query: lamp"]).stdout
        let asDocument = try await encode(["passage: lamp"]).stdout
        #expect(asQuery != asDocument)
        await #expect(try encode(["lamp"]).stdout != asQuery)
        await #expect(try encode(["--query-prefix", "query: ", "lamp"]).stdout == asQuery)
        await #expect(try encode(["--document-prefix", "passage: ", "lamp"]).stdout == asDocument)
        await #expect(try encode(["--as", "query"] + Self.e5 + ["lamp"]).stdout == asQuery)
        await #expect(try encode(["--as", "document"] + Self.e5 + ["lamp"]).stdout == asDocument)
        await #expect(try encode(["--as", "query", "--document-prefix", "passage: ", "lamp"]).stdout == encode(["lamp"]).stdout)
        let ambiguous = try await encode(Self.e5 + ["lamp"])
        #expect(ambiguous.status == 2)
        #expect(ambiguous.stderr.contains("--as query or --as document"), "\(ambiguous.stderr)")
    }
}
