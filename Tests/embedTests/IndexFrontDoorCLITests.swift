import EmbedKitTestSupport
import Foundation
import Testing

/// Each command opens each index once, through one front door (`EmbeddingIndex`).
@Suite("One front door for an index")
struct IndexFrontDoorCLITests {
    /// The SQLite connections a run opened to each file, from `EMBED_COUNT_OPENS=1`.
    static func opens(_ output: EmbedBinary.Output) -> [String: Int] {
        var opens: [String: Int] = [:]
        for line in output.stderr.split(separator: "\n") where line.hasPrefix("sqlite-opens: ") {
            let fields = line.dropFirst("sqlite-opens: ".count).split(separator: " ", maxSplits: 1)
            if fields.count == 2, let count = Int(fields[0]) { opens[String(fields[1])] = count }
        }
        return opens
    }

    static func run(_ arguments: [String]) async throws -> EmbedBinary.Output {
        try await EmbedBinary.run(arguments, environment: ["EMBED_COUNT_OPENS": "1"])
    }

    @Test("every command opens each index it uses exactly once")
    func eachCommandOpensOnce() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "The lamp is bright and needs oil.")
        try dir.write("docs/b.md", "# Rivers\n\nRivers flow to the sea.")
        let db = dir.path + "/index.sqlite"
        let other = dir.path + "/other.sqlite"
        let hash = ["--embedder", "hash"]
        let commands: [(name: String, arguments: [String], indexes: [String])] = [
            ("ingest (new)", ["ingest", dir.path + "/docs", "--db", db] + hash, [db]),
            ("ingest (existing)", ["ingest", dir.path + "/docs", "--db", db], [db]),
            ("ingest (other)", ["ingest", dir.path + "/docs", "--db", other] + hash, [other]),
            ("ingest --dry-run", ["ingest", dir.path + "/docs", "--db", db, "--dry-run"], [db]),
            ("reindex", ["reindex", "--db", db], [db]),
            ("reindex --reembed", ["reindex", "--db", db, "--reembed"] + hash, [db]),
            ("query, two indexes", ["query", "lamp", "river", "--db", db, "--db", other], [db, other]),
            ("query --mode keyword", ["query", "lamp", "--db", db, "--mode", "keyword"], [db]),
            ("query --mode vector", ["query", "lamp", "--db", db, "--mode", "vector", "-k", "1"], [db]),
            ("stats --check", ["stats", "--db", db, "--check"], [db]),
            ("export", ["export", "--db", db, "--vectors"], [db]),
            ("remove", ["remove", dir.path + "/docs/a.txt", "--db", db], [db]),
        ]
        for command in commands {
            let output = try await Self.run(command.arguments)
            #expect(output.status == 0, "\(command.name): \(output.stderr)")
            let opens = Self.opens(output)
            for index in command.indexes {
                #expect(opens[index] == 1, "\(command.name) opened \(index) \(opens[index] ?? 0) times: \(opens)")
            }
        }
    }

    @Test("query --db MISSING --db OPENAI answers in either order, with the options of the index that has them")
    func missingIndexInEitherOrder() async throws {
        let server = try LoopbackEmbeddingServer(.init(dimension: 8))
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "The lamp is bright and needs oil.")
        let db = dir.path + "/openai.sqlite"
        let missing = dir.path + "/missing.sqlite"
        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--embedder", "openai", "--base-url", server.baseURL.absoluteString,
             "--model", "fake-embed"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        for order in [[missing, db], [db, missing]] {
            let query = try await EmbedBinary.run(["query", "lamp", "--json"] + order.flatMap { ["--db", $0] })
            // One index could not be read (status 1); the other answered.
            #expect(query.status == 1, "\(order): \(query.stderr)")
            #expect(query.stdout.contains("The lamp is bright"), "\(order): \(query.stdout)")
            #expect(query.stderr.contains("\(missing): no index here"), "\(order): \(query.stderr)")
            // The path is said once, not twice.
            #expect(!query.stderr.contains("\(missing): error: \(missing)"), "\(query.stderr)")
            #expect(!FileManager.default.fileExists(atPath: missing))
        }
    }

    @Test("a run refused before its new index exists leaves no file behind, not even a lock")
    func refusedRunLeavesNothing() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "The lamp is bright and needs oil.")
        let db = dir.path + "/out/new.sqlite"
        let refusals: [[String]] = [
            ["--embedder", "openai"],  // no --base-url
            // Refused after the model loads: the chunks asked for cannot fit its window.
            ["--embedder", "minilm", "--chunk-tokens", "300"],
            ["--embedder", "minilm", "--model-dir", dir.path + "/no-model"],
        ]
        for flags in refusals {
            let run = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db] + flags)
            #expect(run.status != 0, "\(flags)")
            #expect(!FileManager.default.fileExists(atPath: db), "\(flags)")
            #expect(!FileManager.default.fileExists(atPath: db + ".lock"), "\(flags): \(run.stderr)")
        }
        for command in [["reindex"], ["remove", dir.path + "/docs"]] {
            let run = try await EmbedBinary.run(command + ["--db", db])
            #expect(run.status == 3, "\(command): \(run.stderr)")
            #expect(run.stderr.contains("no index here"), "\(command): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: db + ".lock"), "\(command)")
        }
    }

    @Test("ingest --reembed --dry-run changes nothing (it used to swap an empty rebuild in: the index lost everything)")
    func reembedDryRunKeepsIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "The lamp is bright and needs oil.")
        let db = dir.path + "/index.sqlite"
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"]).status == 0)
        let before = try await EmbedBinary.run(["export", "--db", db, "--vectors"]).stdout
        let dry = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--reembed", "--dry-run", "--embedder", "hash", "--chunk-tokens", "50"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("add "), "a rebuild would add every file again: \(dry.stdout)")
        #expect(try await EmbedBinary.run(["export", "--db", db, "--vectors"]).stdout == before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".reembed-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
