import EmbedKitTestSupport
import Foundation
import Testing

/// End to end: the built `embed` binary with several `--base-url`s (a fleet) against real HTTP servers in this
/// process.
@Suite("embed with a fleet of OpenAI-compatible servers", .serialized)
struct FleetCLITests {
    static let chunking = OpenAIIngestTests.chunking

    @Test("ingest through two endpoints with one stopped halfway, then a reindex through the recorded fleet")
    func ingestThenReindex() async throws {
        let steady = try LoopbackEmbeddingServer(.init(latency: .milliseconds(40), capacity: 1))
        defer { steady.stop() }
        let doomed = try LoopbackEmbeddingServer(.init(latency: .milliseconds(40), capacity: 1))
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for topic in ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"] {
            try dir.write("docs/\(topic).txt", OpenAIIngestTests.paragraphs(topic, count: 10))
        }
        let db = dir.path + "/index.sqlite"
        let fleet = [
            "--embedder", "openai", "--base-url", steady.baseURL.absoluteString, "--base-url",
            doomed.baseURL.absoluteString, "--model", "fake-embed",
        ]
        async let ingesting = EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--concurrency", "2", "--batch-size", "2",
             "--max-inputs-per-request", "2"] + fleet + Self.chunking, timeout: TestTiming.bound(120))
        let deadline = ContinuousClock.now + .seconds(TestTiming.bound(60))
        while doomed.servedCount < 4, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        doomed.stop()
        let ingest = try await ingesting
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(doomed.servedCount >= 4)
        #expect(steady.servedCount > doomed.servedCount, "the stopped endpoint's share did not move")

        let chunks = try await OpenAIIngestTests.checkExport(db, dimension: 8)
        #expect(chunks.count == 60)
        let stats = try await OpenAIIngestTests.stats(db)
        #expect(stats["chunks"] as? Int == 60)
        // Named after the first endpoint, as an index built against it alone would be.
        #expect(stats["model"] as? String == "fake-embed@127.0.0.1:\(steady.port)")
        // The summary says per endpoint what it served and that the stopped one was taken out.
        let line = try #require(ingest.stderr.split(separator: "\n").first { $0.hasPrefix("Endpoints: ") })
        let served = line.matches(of: /(http:\S+) served (\d+) requests?/).map { (String($0.1), Int($0.2)!) }
        #expect(served.map(\.0) == [steady.baseURL.absoluteString, doomed.baseURL.absoluteString], "\(line)")
        // 30 requests of two chunks, and the dimension probe, each answered once.
        #expect(served.map(\.1).reduce(0, +) == 31, "\(line)")
        // An answer cut off by the stop was counted by the server, not by embed.
        #expect((1...doomed.servedCount).contains(served.last?.1 ?? 0), "\(line)")
        #expect(line.hasSuffix("taken out once (still out)"), "\(line)")

        // Started again on its port, and the tree changed: reindex from cron, with no flags, uses both endpoints.
        let restarted = try await LoopbackEmbeddingServer.restarted(
            .init(port: UInt16(doomed.port), latency: .milliseconds(40), capacity: 1), patience: .seconds(TestTiming.bound(20)))
        defer { restarted.stop() }
        let before = steady.servedCount
        for topic in ["golf", "hotel", "india"] {
            try dir.write("docs/\(topic).txt", OpenAIIngestTests.paragraphs(topic, count: 10))
        }
        let reindex = try await EmbedBinary.run(
            ["reindex", "--db", db, "--concurrency", "2", "--batch-size", "2"], timeout: TestTiming.bound(120))
        #expect(reindex.status == 0, "\(reindex.stderr)")
        #expect(steady.servedCount > before)
        #expect(restarted.servedCount > 0, "reindex did not use the recorded second endpoint")
        #expect(steady.servedCount - before + restarted.servedCount == 15)
        let after = try await OpenAIIngestTests.checkExport(db, dimension: 8)
        #expect(after.count == 90)
        #expect(try await OpenAIIngestTests.stats(db)["chunks"] as? Int == 90)
    }

    @Test("--endpoints FILE: a fleet from a file; a bad line is a usage error naming the file and the line")
    func endpointsFile() async throws {
        let first = try LoopbackEmbeddingServer()
        defer { first.stop() }
        let second = try LoopbackEmbeddingServer()
        defer { second.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", OpenAIIngestTests.paragraphs("alpha", count: 6))
        let list = try dir.write(
            "fleet.txt", "# embedding servers\n\(first.baseURL.absoluteString)\n\n\(second.baseURL.absoluteString)\n")
        let db = dir.path + "/index.sqlite"
        let openai = ["--embedder", "openai", "--model", "fake-embed", "--max-inputs-per-request", "1"]
        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--endpoints", list, "--concurrency", "2"] + openai + Self.chunking)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(first.servedCount + second.servedCount >= 6)
        #expect(second.servedCount > 0)
        #expect(try await OpenAIIngestTests.checkExport(db, dimension: 8).count == 6)

        let bad = try dir.write("bad.txt", "\(first.baseURL.absoluteString)\n# fine\nhttp//missing-colon/v1\n")
        let refused = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", dir.path + "/other.sqlite", "--endpoints", bad] + openai)
        #expect(refused.status == 2)
        #expect(
            refused.stderr.contains(
                "\(bad):3: 'http//missing-colon/v1' is not an http(s) URL; write one base URL per line, such as http://10.0.0.2:8080/v1."
            ), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/other.sqlite"))

        let missing = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--endpoints", dir.path + "/none.txt"] + openai)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("\(dir.path)/none.txt: no such file"), "\(missing.stderr)")

        let both = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--endpoints", list, "--base-url", first.baseURL.absoluteString]
                + openai)
        #expect(both.status == 2)
        #expect(both.stderr.contains("--base-url (several times for a fleet) or --endpoints, not both"), "\(both.stderr)")

        let secret = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--base-url", first.baseURL.absoluteString, "--base-url",
             "http://user:pw@127.0.0.1:9/v1"] + openai)
        #expect(secret.status == 2)
        #expect(secret.stderr.contains("must not contain a user name or password"), "\(secret.stderr)")
        #expect(!secret.stderr.contains("pw@"))
    }
}
