import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// Queries while other processes write: every answer must be the answer of one state of the index.
@Suite("queries during writes", .serialized)
struct ConcurrentReadTests {
    /// Documents whose paragraphs change with `version`, so every rewrite replaces chunks and vectors.
    static func writeCorpus(_ dir: TemporaryDirectory, version: Int, files: Range<Int>) throws {
        let topics = ["harbours", "orchards", "glaciers", "libraries", "railways", "beekeeping"]
        for i in files {
            let topic = topics[i % topics.count]
            let text = (0..<6).map { p in
                "Paragraph \(p) of note \(i) on \(topic), revision \(version): \(topic) detail \(p * 7 + version) "
                    + "and more about \(topics[(i + p) % topics.count]) in plain words."
            }.joined(separator: "\n\n")
            try dir.write("docs/note\(i).txt", text)
        }
    }

    @Test("2,000 queries during reindexes and --reembed swaps: all complete, every score matches its text")
    func queriesDuringWrites() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeCorpus(dir, version: 0, files: 0..<24)
        let db = dir.path + "/index.sqlite"
        let first = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--chunk-tokens", "24", "--overlap-tokens", "0",
             "--chunk-context", "none"])
        #expect(first.status == 0, "\(first.stderr)")

        // The writer: reindexes of changed files, and --reembed swaps with another chunking, in a loop.
        let done = Locked(false)
        let writes = Locked(0)
        let writerFailures = Locked<[String]>([])
        let writer = Thread {
            var round = 0
            while !done.withLock({ $0 }) {
                round += 1
                do {
                    let run: EmbedBinary.Output
                    if round % 3 == 0 {
                        let tokens = round % 2 == 0 ? "24" : "40"
                        run = try EmbedBinary.runBlocking(
                            ["ingest", "--reembed", dir.path + "/docs", "--db", db, "--embedder", "hash", "--chunk-context", "none",
                             "--chunk-tokens", tokens, "--overlap-tokens", "0"])
                    } else {
                        try Self.writeCorpus(dir, version: round, files: (round % 4 * 6)..<(round % 4 * 6 + 6))
                        run = try EmbedBinary.runBlocking(["reindex", "--db", db])
                    }
                    if run.status != 0 {
                        writerFailures.withLock { $0.append("round \(round), status \(run.status): \(run.stderr)") }
                    }
                    writes.withLock { $0 += 1 }
                } catch {
                    writerFailures.withLock { $0.append("\(error)") }
                }
            }
        }
        writer.start()

        let embedder = HashEmbedder(dimension: 384)
        let queries = (0..<20).map { "notes on \(["harbours", "glaciers", "railways", "orchards"][$0 % 4]) detail \($0)" }
        let queryVectors = try await embedder.embed(queries)
        // 2,000 queries, fewer under a sanitizer (several times slower); the time limit only stops a hang.
        let goal = TestTiming.rounds(2000)
        var asked = 0
        var wrong: [String] = []
        let start = Date()
        while (asked < goal || writes.withLock({ $0 }) < 6) && Date().timeIntervalSince(start) < TestTiming.bound(600) {
            let results = try await IndexSearch(opening: [db]).search(queries, embedder: embedder, k: 10)
            for (q, result) in results.enumerated() {
                asked += 1
                if result.hits.count != 10 { wrong.append("\(result.query): \(result.hits.count) hits instead of 10") }
                for hit in result.hits {
                    let expected = zip(queryVectors[q], embedder.vector(for: hit.chunk.text)).reduce(Float(0)) {
                        $0 + $1.0 * $1.1
                    }
                    if abs(expected - hit.score) > 1e-4 {
                        wrong.append("\(result.query): a hit scored \(hit.score), its text \(expected)")
                    }
                }
            }
        }
        done.withLock { $0 = true }
        while !writer.isFinished { try await Task.sleep(for: .milliseconds(20)) }
        print("queries during writes: \(asked) asked, \(wrong.count) wrong, \(writes.withLock { $0 }) writes")
        #expect(asked >= goal)
        #expect(writes.withLock { $0 } >= 6)
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(writerFailures.withLock { $0 }.isEmpty, "\(writerFailures.withLock { $0 }.prefix(3))")
    }
}
