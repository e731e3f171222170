import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// `--chunk-context` end to end: what the embedding server receives, what the index stores and records, the
/// window budget, what is refused, and indexes written before chunk context existed.
@Suite("chunk context on the command line", .serialized)
struct ChunkContextCLITests {
    static func openai(_ server: LoopbackEmbeddingServer, _ extra: [String] = []) -> [String] {
        ["--embedder", "openai", "--base-url", server.baseURL.absoluteString, "--model", "fake-embed", "--dimensions", "8"]
            + extra
    }

    /// Headers on, whatever the default for a new index is.
    static let headers = ["--chunk-context", "title-headings"]

    /// A guide whose "Lamps" section is long enough for several chunks of 30 tokens.
    static func writeGuide(_ dir: TemporaryDirectory, under folder: String = "docs") throws {
        let sentences = (1...10).map { "The lamp number \($0) burns paraffin oil every night." }
        try dir.write(
            "\(folder)/guide.md",
            "# Lighthouse Guide\n\nThe lighthouse stands on the northern cape.\n\n## Lamps\n\n"
                + sentences.joined(separator: " ") + "\n")
    }

    /// Every chunk `embed export --vectors` prints.
    static func export(_ db: String) async throws -> [[String: Any]] {
        let export = try await EmbedBinary.run(["export", "--vectors", "--db", db])
        #expect(export.status == 0, "\(export.stderr)")
        return try export.lines.map(EmbedBinary.json)
    }

    /// The text embedded for a chunk of the guide, written out by hand from the rules.
    static func guideEmbeddedText(ordinal: Int, text: String) -> String {
        switch ordinal {
        case 0: text  // opens with the title
        case 1: "Lighthouse Guide\n\n" + text  // opens with its heading
        default: "Lighthouse Guide › Lamps\n\n" + text
        }
    }

    @Test("the header goes to the embedder with each chunk; the stored text, offsets and snippets are unchanged")
    func headerIsEmbeddedNotStored() async throws {
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeGuide(dir)
        let (db, plain) = (dir.path + "/index.sqlite", dir.path + "/plain.sqlite")
        let sizes = ["--chunk-tokens", "30", "--overlap-tokens", "0"]

        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db] + Self.headers + Self.openai(server, sizes))
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let sent = server.requests.flatMap(\.inputs)
        let chunks = try await Self.export(db)
        #expect(chunks.count >= 4)
        var expected: [String] = []
        for chunk in chunks {
            let text = try #require(chunk["text"] as? String)
            let embedded = Self.guideEmbeddedText(ordinal: try #require(chunk["ordinal"] as? Int), text: text)
            #expect(!text.contains("›") && !text.hasPrefix("Lighthouse Guide\n\nLamps"))
            // The vector stored is the one of the text with its header.
            let vector = try #require(chunk["vector"] as? [NSNumber]).map(\.floatValue)
            #expect(vector == DeterministicVectors.vector(for: embedded, dimension: 8), "\(embedded)")
            expected.append(embedded)
        }
        #expect(sent.sorted() == expected.sorted())
        #expect(sent.contains { $0.hasPrefix("Lighthouse Guide › Lamps\n\nThe lamp number") })

        // Without context, the same chunks with the same offsets, lines and heading paths; other vectors.
        let none = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", plain, "--chunk-context", "none"] + Self.openai(server, sizes))
        #expect(none.status == 0, "\(none.stderr)")
        let plainChunks = try await Self.export(plain)
        let fields = ["path", "ordinal", "start_offset", "end_offset", "line", "heading_path", "title", "format", "text"]
        #expect(plainChunks.count == chunks.count)
        for (with, without) in zip(chunks, plainChunks) {
            for field in fields {
                #expect("\(with[field] ?? "nil")" == "\(without[field] ?? "nil")", "\(field)")
            }
        }
        let differ = zip(chunks, plainChunks).filter { "\($0["vector"]!)" != "\($1["vector"]!)" }.count
        #expect(differ == chunks.count - 1)  // all but the first, which has no header

        // Results show the stored text: the same snippets and matches either way.
        func hits(_ db: String) async throws -> [String] {
            let query = try await EmbedBinary.run(["query", "--db", db, "--mode", "keyword", "--json", "-k", "3", "paraffin lamp 7"])
            #expect(query.status == 0, "\(query.stderr)")
            return try query.lines.map {
                let hit = try EmbedBinary.json($0)
                let snippet = try #require(hit["snippet"] as? [String: Any])
                let matches = try #require(hit["matches"] as? [[Int]])
                return "\(hit["text"] as? String ?? "") | \(snippet["text"] as? String ?? "") "
                    + "\(snippet["start"] as? Int ?? -1) \(snippet["end"] as? Int ?? -1) | \(matches)"
            }
        }
        await #expect(try hits(db) == hits(plain))
        await #expect(try !hits(db).contains { $0.contains("›") })
    }

    @Test("the embedding cache is keyed by the text embedded: one text under two titles gets two vectors")
    func cacheKeyedByEmbeddedText() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let body = "The harbour wall is repaired after every storm."
        try dir.write("docs/x.md", "---\ntitle: Xray Harbour\n---\n\(body)\n")
        try dir.write("docs/y.md", "---\ntitle: Yankee Harbour\n---\n\(body)\n")
        let (db, plain) = (dir.path + "/index.sqlite", dir.path + "/plain.sqlite")

        func ingest(_ arguments: [String]) async throws -> [String: Any] {
            let run = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--json", "--embedder", "hash"] + arguments)
            #expect(run.status == 0, "\(run.stderr)")
            return try EmbedBinary.json(run.stdout)
        }
        func distinctVectors(_ db: String) async throws -> Int? {
            try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)["vectors"] as? Int
        }
        let with = try await ingest(["--db", db] + Self.headers)
        #expect(with["chunks"] as? Int == 2)
        #expect(with["chunks_embedded"] as? Int == 2)
        await #expect(try distinctVectors(db) == 2)
        let texts = try await Self.export(db).map { $0["text"] as? String }
        #expect(texts == [body, body])
        // Without headers the two chunks are one text, embedded once and stored once.
        let without = try await ingest(["--db", plain, "--chunk-context", "none"])
        #expect(without["chunks_embedded"] as? Int == 1)
        await #expect(try distinctVectors(plain) == 1)

        // A third copy under a title already seen comes from the cache (the index's context needs no flag).
        try dir.write("docs/z.md", "---\ntitle: Xray Harbour\n---\n\(body)\n")
        let again = try await ingest(["--db", db])
        #expect(again["added"] as? Int == 1)
        #expect(again["cache_hits"] as? Int == 1)
        #expect(again["chunks_embedded"] as? Int == 0)
        await #expect(try distinctVectors(db) == 2)
    }

    @Test("the header takes its tokens from the window: with a long heading path every input still fits")
    func headerFitsTheWindow() async throws {
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let headings = [
            "# The Complete Handbook of the Northern Lighthouse Service",
            "## Volume Two: Maintenance and Repair of the Great Lamps",
            "### Chapter Seven: Lenses, Prisms and Their Careful Cleaning",
            "#### Part Four: Removing Salt Deposits from the Outer Prisms",
        ]
        let paragraph = (1...30).map { "Salt layer \($0) comes off with warm fresh water." }.joined(separator: " ")
        try dir.write("docs/handbook.md", headings.joined(separator: "\n\n") + "\n\n" + paragraph + "\n")
        let db = dir.path + "/index.sqlite"
        // The server's window: 60 estimated tokens per input; longer inputs fail (--long-inputs fail).
        let window = ["--max-input-tokens", "60", "--long-inputs", "fail", "--overlap-tokens", "0"]

        // Chunks of the whole window are refused: the header would push them over.
        let tooLarge = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--chunk-tokens", "60"] + Self.headers + Self.openai(server, window))
        #expect(tooLarge.status == 2, "\(tooLarge.stderr)")
        #expect(tooLarge.stderr.contains("the chunk header (--chunk-context title-headings, up to 32 tokens)"), "\(tooLarge.stderr)")
        #expect(tooLarge.stderr.contains("--chunk-tokens 28 or less"), "\(tooLarge.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db))

        // By default chunks are sized to what the header leaves: every input fits, none fails.
        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--json"] + Self.headers + Self.openai(server, window))
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(try EmbedBinary.json(ingest.stdout)["failed"] as? Int == 0)
        let estimator = OpenAITokenEstimator()
        let inputs = server.requests.flatMap(\.inputs)
        #expect(inputs.count > 4)
        #expect(inputs.allSatisfy { estimator.tokenCount($0[...]) <= 60 }, "\(inputs.map { estimator.tokenCount($0[...]) })")
        // The path is too long for the header: it keeps the title and the innermost heading.
        let shortened = "The Complete Handbook of the Northern Lighthouse Service › Part Four: Removing Salt Deposits from the Outer Prisms"
        #expect(estimator.tokenCount(shortened[...]) <= ChunkContext.maxHeaderTokens)
        #expect(inputs.filter { $0.hasPrefix(shortened + "\n\nSalt layer") }.count >= 3, "\(inputs)")
        for input in inputs where input.contains("›") {
            let header = input.components(separatedBy: "\n\n")[0]
            #expect(estimator.tokenCount(header[...]) <= ChunkContext.maxHeaderTokens, "\(header)")
        }

        // Without a header the whole window is the chunk's.
        let other = dir.path + "/none.sqlite"
        let none = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", other, "--chunk-tokens", "60", "--chunk-context", "none"]
                + Self.openai(server, window))
        #expect(none.status == 0, "\(none.stderr)")

        // A window too small for a header and some text is refused, naming the way out.
        let tiny = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", dir.path + "/tiny.sqlite"] + Self.headers
                + Self.openai(server, ["--max-input-tokens", "36"]))
        #expect(tiny.status == 2, "\(tiny.stderr)")
        #expect(tiny.stderr.contains("use --chunk-context none"), "\(tiny.stderr)")
    }

    @Test("a write with another chunk context than the index's is refused with status 3; --reembed changes it")
    func mismatchIsRefused() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeGuide(dir)
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"] + Self.headers)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let settings = await PrefixCLITests.settingsJSON(db)
        #expect(settings.contains(#""chunkContext":"title-headings""#), "\(settings)")
        let stats = try await EmbedBinary.run(["stats", "--db", db])
        #expect(stats.stdout.contains("\ncontext:    title-headings\n"), "\(stats.stdout)")

        for arguments in [
            ["ingest", dir.path + "/docs", "--db", db, "--chunk-context", "none"],
            ["reindex", "--db", db, "--chunk-context", "none"],
        ] {
            let run = try await EmbedBinary.run(arguments)
            #expect(run.status == 3, "\(arguments): \(run.stderr)")
            #expect(
                run.stderr.contains("\(db) was built with chunk context title-headings, not none: "), "\(run.stderr)")
            #expect(run.stderr.contains("--chunk-context title-headings"), "\(run.stderr)")
            #expect(run.stderr.hasSuffix("or --reembed to rebuild the index with chunk context none\n"), "\(run.stderr)")
        }
        await #expect(PrefixCLITests.settingsJSON(db) == settings)
        // The index's own context needs no flag; giving it is no change.
        #expect(try await EmbedBinary.run(["reindex", "--db", db]).status == 0)
        #expect(try await EmbedBinary.run(["reindex", "--db", db, "--chunk-context", "title-headings"]).status == 0)
        #expect(try await EmbedBinary.run(["query", "--db", db, "lamp"]).status == 0)

        let rebuilt = try await EmbedBinary.run(["reindex", "--db", db, "--reembed", "--embedder", "hash", "--chunk-context", "none"])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        let after = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
        #expect(after["chunk_context"] as? String == "none")
        await #expect(PrefixCLITests.settingsJSON(db) == PrefixCLITests.settingsWithoutPrefixes)

        // A new index without the flag gets the default: none, as measured (docs/decisions.md, "Chunks are
        // embedded under a header").
        let fresh = dir.path + "/fresh.sqlite"
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", fresh, "--embedder", "hash"]).status == 0)
        #expect(try await EmbedBinary.run(["stats", "--db", fresh]).stdout.contains("\ncontext:    none\n"))
    }

    @Test("indexes with and without headers are searched together: the query is embedded the same way")
    func searchedTogether() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeGuide(dir, under: "a")
        try dir.write("b/harbour.txt", "Harbour notes\n\nThe harbour wall is repaired after every storm.")
        let (first, second) = (dir.path + "/a.sqlite", dir.path + "/b.sqlite")
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/a", "--db", first, "--embedder", "hash"] + Self.headers).status == 0)
        #expect(
            try await EmbedBinary.run(["ingest", dir.path + "/b", "--db", second, "--embedder", "hash", "--chunk-context", "none"])
                .status == 0)
        let both = try await EmbedBinary.run(["query", "--db", first, "--db", second, "--mode", "vector", "--json", "-k", "50", "storm wall"])
        #expect(both.status == 0, "\(both.stderr)")
        let paths = Set(try both.lines.map { try EmbedBinary.json($0)["path"] as? String ?? "" })
        #expect(paths.contains { $0.hasSuffix("/harbour.txt") } && paths.contains { $0.hasSuffix("/guide.md") })
    }

    @Test("an index written before chunk context existed keeps embedding chunks alone, until --reembed")
    func indexWithoutContext() async throws {
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeGuide(dir)
        let db = dir.path + "/index.sqlite"
        let sizes = ["--chunk-tokens", "30", "--overlap-tokens", "0"]
        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--chunk-context", "none"] + Self.openai(server, sizes))
        #expect(ingest.status == 0, "\(ingest.stderr)")
        // The settings as embed wrote them before chunk context existed: no key for it at all.
        let settings = await PrefixCLITests.settingsJSON(db)
        #expect(!settings.contains("chunkContext"), "\(settings)")
        #expect(server.requests.flatMap(\.inputs).sorted() == (try await Self.export(db)).map { $0["text"] as? String ?? "" }.sorted())

        // Queries, reindex and writes with no flag keep it so: new chunks are embedded without a header.
        #expect(try await EmbedBinary.run(["query", "--db", db, "-k", "1", "lamp"]).status == 0)
        try Self.writeGuide(dir, under: "docs/more")
        var mark = server.requests.count
        let reindex = try await EmbedBinary.run(["reindex", "--db", db, "--json"])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        #expect(try EmbedBinary.json(reindex.stdout)["added"] as? Int == 1)
        // The copy's texts are all cached: same texts, no headers.
        #expect(try EmbedBinary.json(reindex.stdout)["chunks_embedded"] as? Int == 0)
        try dir.write("other/notes.txt", "Notes\n\n" + (1...12).map { "Line \($0) of the keeper's notes." }.joined(separator: " "))
        mark = server.requests.count
        let more = try await EmbedBinary.run(["ingest", dir.path + "/other", "--db", db] + Self.openai(server))
        #expect(more.status == 0, "\(more.stderr)")
        let sent = server.requests[mark...].flatMap(\.inputs)
        #expect(sent.count >= 2)
        #expect(sent.filter { $0.hasPrefix("Notes") }.count == 1, "\(sent)")
        await #expect(PrefixCLITests.settingsJSON(db) == settings)
        #expect(try await EmbedBinary.run(["stats", "--db", db]).stdout.contains("\ncontext:    none\n"))

        // Asking for headers is refused; --reembed builds the index again with them.
        let refused = try await EmbedBinary.run(["reindex", "--db", db, "--chunk-context", "title-headings"])
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.stderr.contains("was built with chunk context none, not title-headings"), "\(refused.stderr)")
        mark = server.requests.count
        let rebuilt = try await EmbedBinary.run(["reindex", "--db", db, "--reembed"] + Self.headers + Self.openai(server, sizes))
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        #expect(server.requests[mark...].flatMap(\.inputs).contains { $0.hasPrefix("Lighthouse Guide › Lamps\n\n") })
        await #expect(PrefixCLITests.settingsJSON(db).contains(#""chunkContext":"title-headings""#))
    }
}
