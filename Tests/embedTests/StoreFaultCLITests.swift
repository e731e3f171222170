import EmbedKitTestSupport
import Foundation
import Testing

/// The built `embed` binary on indexes it cannot write or that are damaged.
@Suite("index faults on the command line", .serialized)
struct StoreFaultCLITests {
    static func shell(_ command: String) async -> Int32 { await EmbedBinary.shell(command).status }

    func makeIndex(_ dir: TemporaryDirectory) async throws -> String {
        for i in 0..<40 {
            let words = (0..<150).map { "word\(i)n\($0)" }.joined(separator: " ")
            try dir.write("docs/d\(i).txt", "Document \(i) about lighthouses. \(words)")
        }
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        return db
    }

    /// Root ignores file modes, so the index is made immutable (chattr +i) instead; skipped where that is refused.
    @Test("a read-only index: exit 3 with a clear message, and the index intact")
    func readOnly() async throws {
        let dir = try TemporaryDirectory()
        defer {
            _ = EmbedBinary.shellBlocking("chattr -i '\(dir.path)/index.sqlite'")
            dir.remove()
        }
        let db = try await makeIndex(dir)
        try dir.write("docs/new.txt", "A new file about robins.")
        guard await Self.shell("chattr +i '\(db)'") == 0 else {
            print("skipping the read-only index check: chattr +i is missing or not permitted here")
            return
        }
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"])
        #expect(ingest.status == 3, "\(ingest.stderr)")
        #expect(ingest.stderr.contains("read-only"), "\(ingest.stderr)")
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)
        #expect(try await EmbedBinary.run(["query", "--db", db, "-k", "1", "lighthouses"]).status == 0)
        await #expect(Self.shell("chattr -i '\(db)'") == 0)
        let again = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try EmbedBinary.json(again.stdout)["added"] as? Int == 1)
    }

    @Test("a damaged index: stats --check and query fail cleanly with a clear message")
    func corrupted() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await makeIndex(dir)
        // Fold the WAL into the file, drop the vector file, then overwrite 4 KiB in the middle of the file.
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)
        try? FileManager.default.removeItem(atPath: db + ".vectors")
        let handle = try #require(FileHandle(forUpdatingAtPath: db))
        let size = try handle.seekToEnd()
        #expect(size > 64 << 10)
        try handle.seek(toOffset: size / 2)
        handle.write(Data(repeating: 0xA5, count: 4096))
        try handle.close()

        let check = try await EmbedBinary.run(["stats", "--db", db, "--check"])
        #expect(check.status == 3, "\(check.stdout)\(check.stderr)")
        #expect(check.stderr.contains("damaged") || check.stderr.contains("malformed"), "\(check.stderr)")
        let query = try await EmbedBinary.run(["query", "--db", db, "lighthouses"])
        #expect(query.status == 3, "\(query.stdout)\(query.stderr)")
        #expect(query.stderr.contains("damaged") || query.stderr.contains("malformed"), "\(query.stderr)")
        #expect(!query.stdout.contains("no results"))
    }
}
