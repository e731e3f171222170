import EmbedKitTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `embed reindex` as cron runs it: exact counts, nothing embedded twice, kills and overlapping runs survived.
@Suite("embed reindex", .serialized)
struct ReindexTests {
    /// Paragraphs of 16 to 18 estimated tokens: each becomes its own chunk at --chunk-tokens 24.
    static func paragraphs(_ topic: String, count: Int) -> String {
        (0..<count).map { "Paragraph \($0) of the \(topic) notes covers \(topic) detail number \($0) in plain words." }
            .joined(separator: "\n\n")
    }

    func reindex(_ db: String, _ extra: [String] = []) async throws -> [String: Any] {
        let run = try await EmbedBinary.run(["reindex", "--db", db, "--json"] + extra)
        #expect(run.status == 0, "\(run.stderr)")
        return try EmbedBinary.json(run.lines.last ?? "")
    }

    func counts(_ summary: [String: Any]) -> [Int] {
        ["added", "updated", "unchanged", "removed", "failed", "chunks_embedded"].map { summary[$0] as? Int ?? -1 }
    }

    @Test("add, modify, delete, rename, touch and mixed changes give exact counts and embed only what changed")
    func scenarios() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let docs = dir.path + "/docs"
        let db = dir.path + "/index.sqlite"
        for topic in ["alpha", "bravo", "charlie", "delta"] {
            try dir.write("docs/\(topic).txt", Self.paragraphs(topic, count: 4))
        }
        let first = try await EmbedBinary.run(["ingest", docs, "--db", db, "--embedder", "hash", "--chunk-tokens", "24", "--overlap-tokens", "0", "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(counts(try EmbedBinary.json(first.stdout)) == [4, 0, 0, 0, 0, 16])

        // Nothing changed: nothing read, nothing embedded.
        var summary = try await reindex(db)
        #expect(counts(summary) == [0, 0, 4, 0, 0, 0])
        #expect(summary["bytes_read"] as? Int == 0)

        // Touched without change: read once, nothing embedded, and not read again next time.
        let later = Date().addingTimeInterval(60)
        try FileManager.default.setAttributes([.modificationDate: later], ofItemAtPath: docs + "/alpha.txt")
        await #expect(counts(try reindex(db)) == [0, 0, 4, 0, 0, 0])
        await #expect(counts(try reindex(db)) == [0, 0, 4, 0, 0, 0])

        // One paragraph edited: one chunk embedded.
        let edited = Self.paragraphs("bravo", count: 4).replacingOccurrences(of: "detail number 2", with: "a new detail")
        try dir.write("docs/bravo.txt", edited)
        await #expect(counts(try reindex(db)) == [0, 1, 3, 0, 0, 1])

        // Renamed: no embedding at all.
        try FileManager.default.moveItem(atPath: docs + "/charlie.txt", toPath: docs + "/charlie-renamed.txt")
        summary = try await reindex(db)
        #expect(counts(summary) == [1, 0, 3, 1, 0, 0])
        #expect(summary["cache_hits"] as? Int == 4)

        // Deleted.
        try FileManager.default.removeItem(atPath: docs + "/delta.txt")
        await #expect(counts(try reindex(db)) == [0, 0, 3, 1, 0, 0])

        // Mixed: one added, one edited, one deleted, one copied under a new name.
        try dir.write("docs/echo.txt", Self.paragraphs("echo", count: 2))
        try dir.write("docs/alpha.txt", Self.paragraphs("alpha", count: 5))
        try FileManager.default.removeItem(atPath: docs + "/bravo.txt")
        try FileManager.default.copyItem(atPath: docs + "/charlie-renamed.txt", toPath: docs + "/charlie-copy.txt")
        await #expect(counts(try reindex(db, ["--dry-run"])) == [2, 1, 1, 1, 0, 3])
        await #expect(counts(try reindex(db)) == [2, 1, 1, 1, 0, 3])

        let stats = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
        #expect(stats["documents"] as? Int == 4)
        #expect(stats["chunks"] as? Int == 5 + 4 + 4 + 2)
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)
    }

    /// A tree big enough that an ingest takes a while.
    static func writeTree(_ dir: TemporaryDirectory, files: Int) throws {
        for i in 0..<files {
            try dir.write("tree/part\(i % 7)/file\(i).md", "# File \(i)\n\n" + paragraphs("topic\(i)", count: 12))
        }
    }

    @Test("killed with SIGKILL at random moments, the index stays consistent and the next run equals a clean run")
    func kills() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeTree(dir, files: 240)
        let clean = dir.path + "/clean.sqlite"
        let cleanRun = try await EmbedBinary.run(["ingest", dir.path + "/tree", "--db", clean, "--embedder", "hash"])
        #expect(cleanRun.status == 0)
        let duration = cleanRun.seconds

        let killed = dir.path + "/killed.sqlite"
        var generator = SystemRandomNumberGenerator()
        var interrupted = 0
        for _ in 0..<10 {
            let delay = Double.random(in: 0.05...max(0.1, duration), using: &generator)
            let status = try await EmbedBinary.runAndKill(["ingest", dir.path + "/tree", "--db", killed, "--embedder", "hash"], after: delay)
            if status == nil { interrupted += 1 }
            if FileManager.default.fileExists(atPath: killed) {
                let check = try await EmbedBinary.run(["stats", "--db", killed, "--check"])
                #expect(check.status == 0, "after a kill at \(delay) s: \(check.stderr)")
            }
        }
        #expect(interrupted > 0, "no run was killed mid-way; the tree is too small for this machine")
        let finish = try await EmbedBinary.run(["reindex", "--db", killed])
        #expect(finish.status == 0, "\(finish.stderr)")
        // Same documents, chunks, offsets, texts and vectors; only the internal chunk ids may differ.
        let withoutIDs = { (export: String) in export.replacing(/"chunk_id":\d+,/, with: "") }
        let expected = withoutIDs(try await EmbedBinary.run(["export", "--vectors", "--db", clean]).stdout)
        let actual = withoutIDs(try await EmbedBinary.run(["export", "--vectors", "--db", killed]).stdout)
        #expect(expected.count > 100_000)
        #expect(actual == expected)
    }

    @Test("a second run on the same index exits with status 4, or waits with --wait; SIGTERM stops cleanly")
    func overlapping() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeTree(dir, files: 600)
        let db = dir.path + "/index.sqlite"
        let first = try EmbedBinary.start(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash"])
        try #require(try await Self.waitForLock(db, while: first), "the first run finished before it could be overlapped")
        let second = try await EmbedBinary.runNow(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash"])
        #expect(second.status == 4)
        #expect(second.stderr.contains("is writing \(db); let it finish, or pass --wait to wait for it"))
        let waited = try await EmbedBinary.run(["reindex", "--db", db, "--wait", "--json"])
        #expect(waited.status == 0)
        await EmbedBinary.waitForExit(first)
        #expect(first.terminationStatus == 0)
        #expect(try EmbedBinary.json(waited.stdout)["added"] as? Int == 0)

        // SIGTERM: stops after the batches in flight, keeps whole documents, exits 130. The embedding server
        // holds every request, so the run cannot finish before it is stopped, however fast the machine (with
        // the hash embedder it sometimes did, under a loaded suite, before the test saw its index).
        let upstream = try LoopbackEmbeddingServer()
        defer { upstream.stop() }
        upstream.hold()
        let other = dir.path + "/other.sqlite"
        let terminated = try EmbedBinary.start(
            ["ingest", dir.path + "/tree", "--db", other, "--embedder", "openai", "--base-url",
             upstream.baseURL.absoluteString, "--model", "held", "--dimensions", "8"])
        // Holding the lock is not enough: a stop before the index file is made leaves no index (and says so).
        try #require(
            try await Self.waitForIndex(other, while: terminated), "the run finished before it could be stopped")
        terminated.terminate()
        await EmbedBinary.waitForExit(terminated)
        #expect([0, 130].contains(terminated.terminationStatus))
        let check = try await EmbedBinary.run(["stats", "--db", other, "--check"])
        #expect(check.status == 0, "\(check.stderr)")
    }

    @Test("--reembed rebuilds the index with another chunking or embedder, replacing the old one in one step")
    func reembed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for topic in ["alpha", "bravo"] { try dir.write("docs/\(topic).txt", Self.paragraphs(topic, count: 6)) }
        let db = dir.path + "/index.sqlite"
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"]).status == 0)
        let before = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)

        let rechunked = try await EmbedBinary.run(["reindex", "--db", db, "--reembed", "--embedder", "hash", "--chunk-tokens", "24", "--json"])
        #expect(rechunked.status == 0, "\(rechunked.stderr)")
        let after = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
        #expect(after["chunk_tokens"] as? Int == 24)
        #expect(after["documents"] as? Int == 2)
        #expect(try #require(after["chunks"] as? Int) > (try #require(before["chunks"] as? Int)))
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)
        // The new settings stick: a plain reindex now finds nothing to do.
        await #expect(try reindex(db)["unchanged"] as? Int == 2)

        let model = try await EmbedBinary.run(["reindex", "--db", db, "--reembed", "--embedder", "minilm"])
        #expect(model.status == 0, "\(model.stderr)")
        let minilm = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
        #expect(minilm["embedder"] as? String == "minilm")
        #expect(minilm["chunk_tokens"] as? Int == 200)
        let hits = try await EmbedBinary.run(["query", "--db", db, "--json", "-k", "1", "alpha notes"])
        #expect((try EmbedBinary.json(hits.stdout)["path"] as? String)?.hasSuffix("alpha.txt") == true)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("reembed") }
        #expect(leftovers.isEmpty)
    }

    /// Waits until a running `embed` holds the index's lock; false if the process ends first.
    /// Waits until `process` holds the index's lock and has made the index file.
    static func waitForIndex(_ db: String, while process: Process) async throws -> Bool {
        guard try await waitForLock(db, while: process) else { return false }
        while process.isRunning {
            if FileManager.default.fileExists(atPath: db) { return true }
            try await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    static func waitForLock(_ db: String, while process: Process) async throws -> Bool {
        while process.isRunning {
            let fd = open(db + ".lock", O_RDONLY)
            if fd >= 0 {
                defer { close(fd) }
                if flock(fd, LOCK_SH | LOCK_NB) != 0 { return true }
                flock(fd, LOCK_UN)
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    @Test("a run with other chunking is refused with a clear message, and the index is untouched")
    func mismatch() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", Self.paragraphs("alpha", count: 3))
        let db = dir.path + "/index.sqlite"
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"]).status == 0)
        let refused = try await EmbedBinary.run(["reindex", "--db", db, "--chunk-tokens", "64"])
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("was built with chunks of 200 tokens overlapping by 32, not 64 and 32"))
        #expect(try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)["documents"] as? Int == 1)
    }
}
