import EmbedKitTestSupport
import Foundation
import Testing

/// End to end: the built `embed` binary with `--embedder openai` against a real HTTP server in this process.
@Suite("embed with an OpenAI-compatible server", .serialized)
struct OpenAIIngestTests {
    /// Paragraphs of about 16 estimated tokens: each becomes its own chunk at --chunk-tokens 24.
    static func paragraphs(_ topic: String, count: Int, marker: String = "") -> String {
        (0..<count).map { "Paragraph \($0) of the \(topic) notes covers \(topic) detail \($0) \(marker) in plain words." }
            .joined(separator: "\n\n")
    }

    /// Without chunk headers, so each stored vector is its text's (ChunkContextCLITests test the headers).
    static let chunking = ["--chunk-tokens", "24", "--overlap-tokens", "0", "--chunk-context", "none"]

    static func openai(_ server: LoopbackEmbeddingServer, _ extra: [String] = []) -> [String] {
        ["--embedder", "openai", "--base-url", server.baseURL.absoluteString, "--model", "fake-embed"] + extra
    }

    /// The exported chunks: text and vector of each, checked to be there exactly once with its own vector.
    static func checkExport(_ db: String, dimension: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> [(path: String, text: String)]
    {
        let export = try await EmbedBinary.run(["export", "--vectors", "--db", db])
        #expect(export.status == 0, "\(export.stderr)", sourceLocation: sourceLocation)
        var chunks: [(path: String, text: String)] = []
        var keys = Set<String>()
        for line in export.lines {
            let object = try EmbedBinary.json(line)
            let path = try #require(object["path"] as? String)
            let text = try #require(object["text"] as? String)
            let ordinal = try #require(object["ordinal"] as? Int)
            let vector = try #require(object["vector"] as? [NSNumber]).map(\.floatValue)
            #expect(
                vector == DeterministicVectors.vector(for: text, dimension: dimension),
                "the vector of \(path)#\(ordinal) is not its own", sourceLocation: sourceLocation)
            #expect(keys.insert("\(path)#\(ordinal)").inserted, "\(path)#\(ordinal) twice", sourceLocation: sourceLocation)
            chunks.append((path, text))
        }
        #expect(Set(chunks.map(\.text)).count == chunks.count, "a chunk text is stored twice", sourceLocation: sourceLocation)
        return chunks
    }

    static func stats(_ db: String) async throws -> [String: Any] {
        try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
    }

    @Test("ingest, export, query and a reindex that sends nothing, with requests bounded by --concurrency")
    func ingestQueryReindex() async throws {
        let server = try LoopbackEmbeddingServer(.init(dimension: 8, latency: .milliseconds(20)))
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for topic in ["alpha", "bravo", "charlie"] { try dir.write("docs/\(topic).txt", Self.paragraphs(topic, count: 4)) }
        try dir.write("docs/sub/delta.md", "# Delta\n\n" + Self.paragraphs("delta", count: 3))
        let db = dir.path + "/index.sqlite"

        // No --dimensions: the dimension is learnt from one probe request.
        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--json", "--concurrency", "3", "--batch-size", "2",
             "--max-inputs-per-request", "2"] + Self.openai(server) + Self.chunking)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let summary = try EmbedBinary.json(ingest.stdout)
        #expect(summary["added"] as? Int == 4)
        #expect(summary["failed"] as? Int == 0)

        let chunks = try await Self.checkExport(db, dimension: 8)
        #expect(chunks.count >= 15)
        #expect(summary["chunks_embedded"] as? Int == chunks.count)
        let stats = try await Self.stats(db)
        #expect(stats["chunks"] as? Int == chunks.count)
        #expect(stats["dimension"] as? Int == 8)
        #expect(stats["embedder"] as? String == "openai")
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)

        // Each text was sent once (besides the probe), in requests of at most 2, at most 3 at a time.
        let embeddings = server.requests.filter { $0.inputs != ["dimension probe"] }
        #expect(embeddings.flatMap(\.inputs).sorted() == chunks.map(\.text).sorted())
        #expect(embeddings.allSatisfy { $0.inputs.count <= 2 && $0.model == "fake-embed" })
        #expect(server.maxInFlight <= 3)
        #expect(server.maxInFlight >= 2)

        // Query with the embedder recorded in the index: one request with the query text.
        let before = server.requests.count
        let query = try await EmbedBinary.run(["query", "--db", db, "--json", "-k", "2", "charlie detail"])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.lines.count == 2)
        #expect(server.requests.count == before + 1)
        #expect(server.requests.last?.inputs == ["charlie detail"])

        // Reindex with no flags: the recorded options, nothing changed, nothing sent.
        let reindex = try await EmbedBinary.run(["reindex", "--db", db, "--json"])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        let again = try EmbedBinary.json(reindex.stdout)
        #expect(again["unchanged"] as? Int == 4)
        #expect(again["chunks_embedded"] as? Int == 0)
        #expect(server.requests.count == before + 1)

        // A new file: reindex sends only its chunks, with the recorded batch limit.
        try dir.write("docs/echo.txt", Self.paragraphs("echo", count: 3))
        let added = try await EmbedBinary.run(["reindex", "--db", db, "--json"])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(try EmbedBinary.json(added.stdout)["chunks_embedded"] as? Int == 3)
        #expect(server.requests[(before + 1)...].flatMap(\.inputs).count == 3)
        #expect(server.requests[(before + 1)...].allSatisfy { $0.inputs.count <= 2 })
        await #expect(try Self.checkExport(db, dimension: 8).count == chunks.count + 3)
    }

    @Test("with random 429s, 500s, malformed JSON and wrong dimensions every chunk is still stored exactly once")
    func randomFaults() async throws {
        // Bad responses (malformed, wrong dimension) are retried twice, everything else five times: at these
        // rates a request that exhausts its retries is about 1 in 10^5.
        let server = try LoopbackEmbeddingServer(
            .init(
                latency: .milliseconds(5),
                randomFaults: [
                    .init(.rateLimited(retryAfter: "0"), probability: 0.10),
                    .init(.rateLimited(retryAfter: "1"), probability: 0.03),
                    .init(.status(500), probability: 0.06),
                    .init(.malformedJSON, probability: 0.03),
                    .init(.wrongDimension, probability: 0.03),
                ], seed: 7))
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for topic in ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"] {
            try dir.write("docs/\(topic).txt", Self.paragraphs(topic, count: 8))
        }
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--json", "--concurrency", "4", "--batch-size", "1",
             "--max-inputs-per-request", "1", "--dimensions", "12", "--encoding", "base64"]
                + Self.openai(server) + Self.chunking)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let summary = try EmbedBinary.json(ingest.stdout)
        #expect(summary["added"] as? Int == 6)
        #expect(summary["chunks_embedded"] as? Int == 48)
        await #expect(try Self.checkExport(db, dimension: 12).count == 48)
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)

        let faults = server.requests.compactMap(\.fault)
        #expect(faults.count >= 5, "too few faults to test anything: \(faults)")
        #expect(server.maxInFlight <= 4)
        #expect(server.requests.allSatisfy { $0.encodingFormat == "base64" && $0.dimensions == 12 })
        // Every text was answered correctly exactly once.
        let answered = server.requests.filter { $0.fault == nil }.flatMap(\.inputs)
        #expect(answered.count == 48)
        #expect(Set(answered).count == 48)
    }

    @Test("a document whose texts always fail is reported, the others stored, and the next run embeds only it")
    func oneDocumentFails() async throws {
        let server = try LoopbackEmbeddingServer(.init(dimension: 8))
        defer { server.stop() }
        // Malformed JSON is retried twice with short backoffs, then the request fails.
        server.failInputs(containing: "QUARANTINED", with: .malformedJSON)
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/good-one.txt", Self.paragraphs("alpha", count: 4))
        try dir.write("docs/bad.txt", Self.paragraphs("bravo", count: 3, marker: "QUARANTINED"))
        try dir.write("docs/good-two.txt", Self.paragraphs("charlie", count: 4))
        let db = dir.path + "/index.sqlite"

        // One text per request, so the failing texts share no request with the others.
        let first = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--json", "--concurrency", "2", "--batch-size", "1",
             "--max-inputs-per-request", "1", "--dimensions", "8"] + Self.openai(server) + Self.chunking)
        #expect(first.status == 1, "\(first.stderr)")
        let errors = first.stderr.split(separator: "\n").filter { $0.contains(": error: ") }
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix(dir.url.resolvingSymlinksInPath().path + "/docs/bad.txt: error: ") == true
            || errors.first?.hasPrefix(dir.path + "/docs/bad.txt: error: ") == true, "\(first.stderr)")
        #expect(errors.first?.contains("QUARANTINED") == false, "input text leaked into the message")
        let summary = try EmbedBinary.json(first.stdout)
        #expect(summary["added"] as? Int == 2)
        #expect(summary["failed"] as? Int == 1)
        let stored = try await Self.checkExport(db, dimension: 8)
        #expect(stored.count == 8)
        #expect(!stored.contains { $0.path.hasSuffix("bad.txt") })

        // Healthy again: the re-run embeds the missing document's chunks and nothing else.
        server.failInputs(containing: "QUARANTINED", with: nil)
        let before = server.requests.count
        let second = try await EmbedBinary.run(["reindex", "--db", db, "--json"])
        #expect(second.status == 0, "\(second.stderr)")
        let again = try EmbedBinary.json(second.stdout)
        #expect(again["added"] as? Int == 1)
        #expect(again["unchanged"] as? Int == 2)
        let all = try await Self.checkExport(db, dimension: 8)
        let bad = all.filter { $0.path.hasSuffix("bad.txt") }.map(\.text)
        #expect(bad.count >= 3)
        #expect(all.count == stored.count + bad.count)
        #expect(again["chunks_embedded"] as? Int == bad.count)
        #expect(server.requests[before...].flatMap(\.inputs).sorted() == bad.sorted())
    }

    @Test("401 on a fresh index: one line naming EMBED_API_KEY, never the key, exit status 3, no index made")
    func unauthorized() async throws {
        let key = "sk-test-right-0123456789"
        let wrong = "sk-test-wrong-9876543210"
        let server = try LoopbackEmbeddingServer(.init(dimension: 8, requiredAPIKey: key))
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", Self.paragraphs("alpha", count: 2))
        let db = dir.path + "/index.sqlite"
        let arguments = ["ingest", dir.path + "/docs", "--db", db] + Self.openai(server)

        let refused = try await EmbedBinary.run(arguments, environment: ["EMBED_API_KEY": wrong])
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.stderr.hasPrefix("error: "))
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("401"))
        #expect(refused.stderr.contains("EMBED_API_KEY"))
        #expect(!refused.stderr.contains(wrong) && !refused.stdout.contains(wrong))
        #expect(!FileManager.default.fileExists(atPath: db))
        #expect(server.requests.count == 1, "a 401 is not retried")

        let missing = try await EmbedBinary.run(arguments, environment: ["EMBED_API_KEY": nil, "OPENAI_API_KEY": nil])
        #expect(missing.status == 3)
        #expect(missing.stderr.contains("Set the environment variable EMBED_API_KEY"), "\(missing.stderr)")

        // With --dimensions no probe is sent: the first batch meets the 401, and the run stops there, once.
        let seen = server.requests.count
        let blind = try await EmbedBinary.run(arguments + ["--dimensions", "8"], environment: ["EMBED_API_KEY": wrong])
        #expect(blind.status == 3, "\(blind.stderr)")
        #expect(blind.stderr.split(separator: "\n").count == 1, "\(blind.stderr)")
        #expect(blind.stderr.hasPrefix("error: ") && blind.stderr.contains("EMBED_API_KEY"))
        #expect(!blind.stderr.contains(wrong))
        #expect(server.requests.count - seen <= 2, "one refused request per batch in flight, not one per document")
        if FileManager.default.fileExists(atPath: db) {
            #expect(try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)["documents"] as? Int == 0)
            for suffix in ["", "-wal", "-shm", ".lock", ".vectors"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        }

        let accepted = try await EmbedBinary.run(arguments + ["--json"], environment: ["EMBED_API_KEY": key])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(try EmbedBinary.json(accepted.stdout)["chunks_embedded"] as? Int == 1)
        #expect(server.requests.last?.headers["authorization"] == "Bearer \(key)")
        #expect(!(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout.contains(key)))
    }
}
