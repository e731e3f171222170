import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Every command on a PostgreSQL + pgvector index (`--db postgres://...`), against a real server the tests start
/// (see `PostgresTestServer`), held to what the SQLite index does: the same contents, the same answers, sync,
/// deletions, the recipe guard, one writer, killed runs, readers during writes, shards writing at once, and bad
/// URLs and servers.
@Suite("the PostgreSQL store", .serialized)
struct PostgresStoreCLITests {
    static func document(_ i: Int) -> String {
        "Document \(i) on lighthouses, keepers and harbour walls. "
            + (0..<50).map { "word\(i)n\($0) term\(($0 * 3 + i) % 29)" }.joined(separator: " ")
    }

    static func tree(in dir: TemporaryDirectory, count: Int = 24) throws {
        for i in 0..<count { try dir.write("tree/folder\(i % 3)/d\(i).txt", document(i)) }
    }

    /// Runs embed with the server's password in the environment.
    static func embed(_ arguments: [String], environment: [String: String?] = [:]) async throws -> EmbedBinary.Output {
        try await EmbedBinary.run(
            arguments, environment: try await PostgresTestServer.environment().merging(environment) { $1 }, timeout: 120)
    }

    static func contents(_ db: String) async throws -> [String] {
        try await EmbedBinary.comparableContents(db, environment: try await PostgresTestServer.environment())
    }

    static func answers(_ db: String, _ queries: [String] = ["keepers term7", "harbour walls word3n4"]) async throws -> String {
        let run = try await embed(["query", "--db", db, "--mode", "vector", "-k", "5", "--json"] + queries)
        #expect(run.status == 0, "\(run.stderr)")
        return run.stdout.replacing(/"chunk_id":\d+,/, with: "").replacing(/"index":"[^"]*",/, with: "")
    }

    /// A slow ingest of `dir`'s tree into `db`: one text per request to `server`, one request at a time, so that a
    /// tree of 150 documents takes seconds and is committed in several batches (every 2 s).
    static func slowIngest(_ dir: TemporaryDirectory, into db: String, through server: LoopbackEmbeddingServer) -> [String] {
        ingest(dir, into: db, through: server) + ["--batch-size", "1", "--concurrency", "1"]
    }

    /// The same ingest, fast: a text's vector does not depend on its batch, so this index holds the same vectors.
    static func fastIngest(_ dir: TemporaryDirectory, into db: String, through server: LoopbackEmbeddingServer) -> [String] {
        ingest(dir, into: db, through: server) + ["--batch-size", "32", "--concurrency", "4"]
    }

    private static func ingest(_ dir: TemporaryDirectory, into db: String, through server: LoopbackEmbeddingServer) -> [String] {
        [
            "ingest", dir.path + "/tree", "--db", db, "--embedder", "openai", "--base-url", server.baseURL.absoluteString,
            "--model", "m",
        ]
    }

    /// The documents of the index in `schema`, read with psql; nil until a run has made its tables.
    static func documentCount(_ schema: String) async throws -> Int? {
        guard try await PostgresTestServer.psql("SELECT to_regclass('\(schema).documents') IS NOT NULL") == "t" else {
            return nil
        }
        return Int(try await PostgresTestServer.psql("SELECT count(*) FROM \(schema).documents"))
    }

    @Test("ingest, query, stats and export: the same contents and answers as a SQLite index of the same tree")
    func sameAsSQLite() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir)
        let sqlite = dir.path + "/index.sqlite"
        let postgres = try await PostgresTestServer.freshIndex()
        for db in [sqlite, postgres] {
            let run = try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("Indexed 24 files: 24 added"), "\(run.stderr)")
        }
        #expect(try await Self.contents(postgres) == (try await Self.contents(sqlite)))
        #expect(try await Self.answers(postgres) == (try await Self.answers(sqlite)))
        let stats = try await Self.embed(["stats", "--db", postgres, "--check"])
        #expect(stats.status == 0, "\(stats.stderr)")
        #expect(stats.stdout.contains("documents:  24") && stats.stdout.contains("embedder:   hash"), "\(stats.stdout)")
        // Keyword and hybrid search answer from PostgreSQL's full-text search; filters go into the SQL.
        let keyword = try await Self.embed(["query", "--db", postgres, "--mode", "keyword", "-k", "3", "word5n7"])
        #expect(keyword.status == 0 && keyword.stdout.contains("d5.txt"), "\(keyword.stdout)\(keyword.stderr)")
        let filtered = try await Self.embed(
            ["query", "--db", postgres, "-k", "30", "--json", "--under", dir.path + "/tree/folder1", "keepers"])
        #expect(filtered.status == 0 && !filtered.lines.isEmpty, "\(filtered.stderr)")
        #expect(filtered.lines.allSatisfy { $0.contains("/tree/folder1/") }, "\(filtered.stdout)")
        let globbed = try await Self.embed(["query", "--db", postgres, "-k", "30", "--json", "--path", "*/d1?.txt", "keepers"])
        #expect(globbed.lines.count > 0 && globbed.lines.allSatisfy { $0.contains(#"/d1"#) }, "\(globbed.stdout)")
    }

    @Test("reindex adds, re-embeds and removes what changed, and nothing when nothing did")
    func sync() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir)
        let db = try await PostgresTestServer.freshIndex()
        try #require((try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash"])).status == 0)
        let quiet = try await Self.embed(["reindex", "--db", db])
        #expect(quiet.stderr.contains("0 added, 0 updated, 24 unchanged, 0 removed"), "\(quiet.stderr)")
        try dir.write("tree/folder0/d0.txt", Self.document(100))
        try FileManager.default.removeItem(atPath: dir.path + "/tree/folder1/d1.txt")
        try dir.write("tree/new.txt", Self.document(200))
        let run = try await Self.embed(["reindex", "--db", db])
        #expect(run.stderr.contains("1 added, 1 updated, 22 unchanged, 1 removed"), "\(run.stderr)")
        // What a fresh SQLite index of the changed tree holds.
        let reference = dir.path + "/reference.sqlite"
        try #require((try await Self.embed(["ingest", dir.path + "/tree", "--db", reference, "--embedder", "hash"])).status == 0)
        #expect(try await Self.contents(db) == (try await Self.contents(reference)))
    }

    @Test("another recipe is refused, --reembed rebuilds beside the index and swaps it in")
    func recipeGuard() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir, count: 6)
        let db = try await PostgresTestServer.freshIndex()
        try #require((try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash"])).status == 0)
        let refused = try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash", "--chunk-tokens", "64"])
        #expect(refused.status == 3 && refused.stderr.contains("chunks of 200 tokens"), "\(refused.stderr)")
        let rebuilt = try await Self.embed(
            ["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash", "--chunk-tokens", "64", "--reembed"])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        let stats = try await Self.embed(["stats", "--db", db])
        #expect(stats.stdout.contains("chunking:   64 tokens"), "\(stats.stdout)")
        let schemas = try await PostgresTestServer.psql("SELECT count(*) FROM pg_namespace WHERE nspname LIKE '%\\_\\_rebuild' OR nspname LIKE '%\\_\\_old'")
        #expect(schemas == "0", "a rebuild or old schema was left behind")
        let reference = dir.path + "/reference.sqlite"
        try #require((try await Self.embed(
            ["ingest", dir.path + "/tree", "--db", reference, "--embedder", "hash", "--chunk-tokens", "64"])).status == 0)
        #expect(try await Self.contents(db) == (try await Self.contents(reference)))
    }

    @Test("a second writer is refused while one holds the index (exit 4), or waits for it with --wait")
    func oneWriter() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir, count: 4)
        let db = try await PostgresTestServer.freshIndex()
        var holder: PostgresIndexStore? = try PostgresIndexStore(try PostgresLocation(db), wait: false)
        let refused = try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash"])
        #expect(refused.status == 4 && refused.stderr.contains("another ingest"), "\(refused.stderr)")
        let shard = try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash", "--shard", "1/2"])
        #expect(shard.status == 4 && shard.stderr.contains("another ingest"), "\(shard.stderr)")
        let waiting = try EmbedBinary.start(
            ["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash", "--wait"],
            environment: ["PGPASSWORD": try await PostgresTestServer.shared().password])
        try await Task.sleep(for: .milliseconds(500))
        #expect(waiting.isRunning, "the waiting writer did not wait")
        withExtendedLifetime(holder) {}
        holder = nil  // its connection closes, and the lock goes with it
        await EmbedBinary.waitForExit(waiting)
        #expect(waiting.terminationStatus == 0)
        let stats = try await Self.embed(["stats", "--db", db])
        #expect(stats.stdout.contains("documents:  4"), "\(stats.stdout)")
    }

    @Test("shards ingest into one index at once (a writer of another shard is let in, of the same shard refused) and give the whole tree")
    func shardsAtOnce() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir, count: 30)
        let db = try await PostgresTestServer.freshIndex()
        let password = try await PostgresTestServer.shared().password
        // A writer of shard 2/3 holds its locks: shard 1/3 goes ahead without waiting, shard 2/3 is refused.
        do {
            let holder = try PostgresIndexStore(
                try PostgresLocation(db), wait: false, writer: .shard(IngestShard(number: 2, count: 3)!))
            let other = try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash", "--shard", "1/3"])
            #expect(other.status == 0, "\(other.stderr)")
            let same = try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash", "--shard", "2/3"])
            #expect(same.status == 4, "\(same.stderr)")
            withExtendedLifetime(holder) {}
        }
        let processes = try (1...3).map { i in
            try EmbedBinary.start(
                ["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash", "--shard", "\(i)/3", "--wait"],
                environment: ["PGPASSWORD": password])
        }
        for process in processes {
            await EmbedBinary.waitForExit(process)
            #expect(process.terminationStatus == 0)
        }
        let reference = dir.path + "/reference.sqlite"
        try #require((try await Self.embed(["ingest", dir.path + "/tree", "--db", reference, "--embedder", "hash"])).status == 0)
        #expect(try await Self.contents(db) == (try await Self.contents(reference)))
        // A shard's reindex removes only its own deleted files.
        for i in 0..<30 { try FileManager.default.removeItem(atPath: dir.path + "/tree/folder\(i % 3)/d\(i).txt") }
        let reindex = try await Self.embed(["reindex", "--db", db, "--shard", "1/3"])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        let left = try await Self.embed(["stats", "--db", db])
        let removed = reindex.stderr.firstMatch(of: /(\d+) removed/).map { Int($0.1)! } ?? -1
        #expect(removed > 0 && removed < 30 && left.stdout.contains("documents:  \(30 - removed)"), "\(reindex.stderr) \(left.stdout)")
    }

    @Test("killed during ingest: complete documents only; readers during writes always see whole batches")
    func killedAndReadDuringWrites() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // About 5 s of embedding, committed every 2 s.
        try Self.tree(in: dir, count: 150)
        let server = try LoopbackEmbeddingServer(.init(dimension: 16, latency: .milliseconds(30)))
        defer { server.stop() }
        let db = try await PostgresTestServer.freshIndex()
        let ingest = Self.slowIngest(dir, into: db, through: server)
        let writer = try EmbedBinary.start(ingest, environment: ["PGPASSWORD": try await PostgresTestServer.shared().password])
        // Readers while it writes: every snapshot holds whole documents only (each with all its chunks), the
        // count only grows, and embed's own reader checks each new state. Polled with psql, which costs little:
        // an `embed stats` ten times a second would load the machine and slow every other test.
        let schema = String(db.split(separator: "schema=").last!)
        var seen = -1
        var states = Set<Int>()
        let deadline = Date().addingTimeInterval(60)
        while writer.isRunning && states.count < 2 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
            guard try await Self.documentCount(schema) != nil else { continue }
            let row = try await PostgresTestServer.psql(
                "SELECT (SELECT count(*) FROM \(schema).documents) || ' ' || (SELECT count(*) FROM \(schema).documents d "
                    + "WHERE d.chunk_count != (SELECT count(*) FROM \(schema).chunks c WHERE c.document_id = d.id))")
            let numbers = row.split(separator: " ").compactMap { Int($0) }
            try #require(numbers.count == 2, "\(row)")
            #expect(numbers[1] == 0, "a reader saw \(numbers[1]) documents without all their chunks")
            #expect(numbers[0] >= seen, "documents went from \(seen) to \(numbers[0])")
            if numbers[0] > seen, numbers[0] > 0 {
                states.insert(numbers[0])
                let check = try await Self.embed(["stats", "--db", db, "--check"])
                #expect(check.status == 0, "\(check.stderr)")
            }
            seen = numbers[0]
        }
        #expect(states.count == 2, "the readers saw \(states.sorted()) documents: not two committed batches")
        kill(writer.processIdentifier, SIGKILL)
        await EmbedBinary.waitForExit(writer)
        let after = try await Self.embed(["stats", "--db", db, "--check"])
        #expect(after.status == 0, "\(after.stderr)")
        // The next run finishes the job, and the index is what one clean run makes.
        let again = try await Self.embed(Array(ingest))
        #expect(again.status == 0, "\(again.stderr)")
        let reference = try await PostgresTestServer.freshIndex("ref")
        let clean = try await Self.embed(
            Self.fastIngest(dir, into: reference, through: server))
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(try await Self.contents(db) == (try await Self.contents(reference)))
    }

    @Test("a connection lost mid-run is opened again and the batch run again: nothing lost, nothing twice")
    func connectionLost() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // About 6 s of embedding: the run commits every 2 s, so it writes several batches.
        try Self.tree(in: dir, count: 150)
        let server = try LoopbackEmbeddingServer(.init(dimension: 16, latency: .milliseconds(40)))
        defer { server.stop() }
        let db = try await PostgresTestServer.freshIndex()
        let schema = String(db.split(separator: "schema=").last!)
        let ingest = Self.slowIngest(dir, into: db, through: server)
        let writer = try EmbedBinary.start(ingest, environment: ["PGPASSWORD": try await PostgresTestServer.shared().password])
        // Once it has written something, cut its connection from the server's side, twice.
        var cut = 0
        var counted: [Int] = []
        let deadline = Date().addingTimeInterval(60)
        while writer.isRunning && cut < 2 && Date() < deadline {
            let documents = try await Self.documentCount(schema) ?? 0
            counted.append(documents)
            if documents >= 4 * (cut + 1) {
                try await PostgresTestServer.psql(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted")
                cut += 1
            }
            try await Task.sleep(for: .milliseconds(150))
        }
        await EmbedBinary.waitForExit(writer)
        #expect(cut == 2, "the writer finished before its connection could be cut: \(counted.suffix(20))")
        #expect(writer.terminationStatus == 0)
        let reference = dir.path + "/reference.sqlite"
        let clean = try await Self.embed(
            Self.fastIngest(dir, into: reference, through: server))
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(try await Self.contents(db) == (try await Self.contents(reference)))
    }

    @Test("a server restarted in the middle of an ingest: the run waits for it, goes on, and the index is whole")
    func serverRestarted() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // About 6 s of embedding, committed every 2 s.
        try Self.tree(in: dir, count: 150)
        let server = try LoopbackEmbeddingServer(.init(dimension: 16, latency: .milliseconds(40)))
        defer { server.stop() }
        let db = try await PostgresTestServer.freshIndex()
        let schema = String(db.split(separator: "schema=").last!)
        let ingest = Self.slowIngest(dir, into: db, through: server)
        let writer = try EmbedBinary.start(ingest, environment: ["PGPASSWORD": try await PostgresTestServer.shared().password])
        // Once it has committed something, the server goes away for a second and comes back.
        var restarted = false
        let deadline = Date().addingTimeInterval(60)
        while writer.isRunning && !restarted && Date() < deadline {
            try await Task.sleep(for: .milliseconds(150))
            if try await Self.documentCount(schema) ?? 0 > 0 {
                try await PostgresTestServer.restart(after: .milliseconds(800))
                restarted = true
            }
        }
        await EmbedBinary.waitForExit(writer)
        #expect(restarted, "the writer finished before the server could be restarted")
        #expect(writer.terminationStatus == 0)
        let check = try await Self.embed(["stats", "--db", db, "--check"])
        #expect(check.status == 0 && check.stdout.contains("documents:  150"), "\(check.stdout)\(check.stderr)")
    }

    @Test("bad URLs and servers: a clear message, nothing half-written, the password never shown")
    func badInput() async throws {
        let server = try await PostgresTestServer.shared()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir, count: 2)
        // A password in the URL: refused before anything connects, and not echoed.
        let secret = "hunter2-\(UUID().uuidString.prefix(6))"
        let withPassword = server.url.replacing("embed@", with: "embed:\(secret)@")
        let refused = try await Self.embed(["ingest", dir.path + "/tree", "--db", withPassword, "--embedder", "hash"])
        #expect(refused.status == 2 && refused.stderr.contains("PGPASSWORD"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(secret) && !refused.stdout.contains(secret))
        let asParameter = try await Self.embed(["stats", "--db", server.url + "?password=\(secret)"])
        #expect(asParameter.status != 0 && !asParameter.stderr.contains(secret), "\(asParameter.stderr)")
        // Nobody listening.
        let port = try unusedLoopbackPort()
        let unreachable = try await Self.embed(
            ["query", "--db", "postgres://embed@127.0.0.1:\(port)/embed", "hello"], environment: ["PGPASSWORD": "x"])
        #expect(unreachable.status == 3 && unreachable.stderr.contains("cannot connect to"), "\(unreachable.stderr)")
        // A wrong password: said so, and where the password comes from.
        let wrong = try await Self.embed(["stats", "--db", server.url], environment: ["PGPASSWORD": "not-it"])
        #expect(wrong.status == 3 && wrong.stderr.contains("PGPASSWORD"), "\(wrong.stderr)")
        // A schema written by a newer embed.
        let db = try await PostgresTestServer.freshIndex()
        try #require((try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash"])).status == 0)
        let schema = String(db.split(separator: "schema=").last!)
        try await PostgresTestServer.psql("INSERT INTO \(schema).schema_migrations VALUES ('pg99-from-the-future')")
        let newer = try await Self.embed(["reindex", "--db", db])
        #expect(newer.status == 3 && newer.stderr.contains("newer version of embed"), "\(newer.stderr)")
        // A schema of another application.
        try await PostgresTestServer.psql("CREATE SCHEMA app_tables; CREATE TABLE app_tables.users (id int)")
        let foreign = try await Self.embed(
            ["ingest", dir.path + "/tree", "--db", server.url + "?schema=app_tables", "--embedder", "hash"])
        #expect(foreign.status == 3 && foreign.stderr.contains("not an embed index"), "\(foreign.stderr)")
        #expect(try await PostgresTestServer.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'app_tables'") == "1")
        // A database without the vector extension, and a user who may not create it.
        let database = "plain_\(UUID().uuidString.prefix(6).lowercased())"
        try await PostgresTestServer.psql("CREATE DATABASE \(database)")
        try await PostgresTestServer.psql("CREATE ROLE \(database) LOGIN PASSWORD 'pw'; GRANT CREATE ON DATABASE \(database) TO \(database)")
        let plain = "postgres://\(database)@127.0.0.1:\(server.port)/\(database)"
        let noVector = try await Self.embed(
            ["ingest", dir.path + "/tree", "--db", plain, "--embedder", "hash"], environment: ["PGPASSWORD": "pw"])
        #expect(noVector.status == 3 && noVector.stderr.contains("CREATE EXTENSION vector"), "\(noVector.stderr)")
        #expect(try await PostgresTestServer.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'embed'", database: database) == "0")
    }

    @Test("--ann hnsw: recorded, used for unfiltered queries, and answers like the exact scan on a small index; --ann none drops it")
    func approximateIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir, count: 30)
        let db = try await PostgresTestServer.freshIndex()
        let made = try await Self.embed(
            ["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash", "--ann", "hnsw", "--hnsw-m", "8",
             "--hnsw-ef-construction", "40"])
        #expect(made.status == 0, "\(made.stderr)")
        let stats = try await Self.embed(["stats", "--db", db, "--json"])
        #expect(stats.stdout.contains(#""ann":"hnsw""#) && stats.stdout.contains(#""hnsw_m":8"#), "\(stats.stdout)")
        let schema = String(db.split(separator: "schema=").last!)
        #expect(try await PostgresTestServer.psql(
            "SELECT indexdef LIKE '%USING hnsw%m=''8''%' FROM pg_indexes WHERE schemaname = '\(schema)' "
                + "AND indexname = 'chunks_embedding_hnsw'") == "t")
        // 30 short documents: the graph finds every neighbour, so the answers equal the exact scan's.
        let approximate = try await Self.answers(db)
        let exact = try await Self.embed(
            ["query", "--db", db, "--mode", "vector", "-k", "5", "--json", "--scan", "memory", "keepers term7",
             "harbour walls word3n4"])
        #expect(approximate == exact.stdout.replacing(/"chunk_id":\d+,/, with: "").replacing(/"index":"[^"]*",/, with: ""))
        // A new ef_search is recorded without building the graph again.
        let oid = "SELECT oid FROM pg_class WHERE relname = 'chunks_embedding_hnsw' AND relnamespace = '\(schema)'::regnamespace"
        let before = try await PostgresTestServer.psql(oid)
        let tuned = try await Self.embed(
            ["reindex", "--db", db, "--ann", "hnsw", "--hnsw-m", "8", "--hnsw-ef-construction", "40", "--hnsw-ef-search", "300"])
        #expect(tuned.status == 0, "\(tuned.stderr)")
        #expect((try await Self.embed(["stats", "--db", db])).stdout.contains("hnsw (m 8, ef_construction 40, ef_search 300)"))
        #expect(try await PostgresTestServer.psql(oid) == before, "the graph was built again for a search setting")
        // A reindex keeps it; --ann none drops it; a SQLite index refuses it.
        #expect((try await Self.embed(["reindex", "--db", db])).status == 0)
        #expect(try await PostgresTestServer.psql(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = '\(schema)' AND indexname = 'chunks_embedding_hnsw'") == "1")
        #expect((try await Self.embed(["reindex", "--db", db, "--ann", "none"])).status == 0)
        #expect(try await PostgresTestServer.psql(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = '\(schema)' AND indexname = 'chunks_embedding_hnsw'") == "0")
        let sqlite = try await Self.embed(
            ["ingest", dir.path + "/tree", "--db", dir.path + "/index.sqlite", "--embedder", "hash", "--ann", "hnsw"])
        #expect(sqlite.status == 2 && sqlite.stderr.contains("PostgreSQL"), "\(sqlite.stderr)")
        let badM = try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--ann", "hnsw", "--hnsw-m", "1"])
        #expect(badM.status == 2, "\(badM.stderr)")
    }

    @Test("embed serve on a PostgreSQL index: /v1/search answers as embed query does, /v1/ingest writes into it")
    func serve() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir, count: 12)
        for n in 0..<5 { try dir.write("more/m\(n).txt", "Extra \(n) about rivers, lamps and bees, number \(n).") }
        let db = try await PostgresTestServer.freshIndex()
        #expect((try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash"])).status == 0)
        let server = try await ServedEmbed.start(
            ["--db", db, "--allow-root", dir.path + "/more", "--batch-window-ms", "0"],
            environment: ["PGPASSWORD": try await PostgresTestServer.shared().password])
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }
        let found = try await server.request(
            "POST", "/v1/search", body: try JSONSerialization.data(withJSONObject: ["query": "keepers term7", "k": 3]))
        #expect(found.status == 200, "\(String(decoding: found.body, as: UTF8.self))")
        let query = try await Self.embed(["query", "--db", db, "-k", "3", "--json", "keepers term7"])
        let servedPaths = String(decoding: found.body, as: UTF8.self).matches(of: /"path":"([^"]+)"/).map { String($0.1) }
        let queriedPaths = query.stdout.matches(of: /"path":"([^"]+)"/).map { String($0.1) }
        #expect(!servedPaths.isEmpty && servedPaths == queriedPaths, "\(servedPaths) against \(queriedPaths)")
        let more = try #require(FileWalker.canonicalPath(dir.path + "/more"))
        let ingest = try await server.request(
            "POST", "/v1/ingest", body: try JSONSerialization.data(withJSONObject: ["paths": [more]]))
        #expect(ingest.status == 200 && String(decoding: ingest.body, as: UTF8.self).contains(#""added":5"#),
            "\(String(decoding: ingest.body, as: UTF8.self))")
        let after = try await server.request(
            "POST", "/v1/search", body: try JSONSerialization.data(withJSONObject: ["query": "Extra 3 rivers lamps", "k": 1]))
        #expect(String(decoding: after.body, as: UTF8.self).contains("/m3.txt"), "\(String(decoding: after.body, as: UTF8.self))")
        #expect(await server.stop() == 0, "\(server.stderr)")
    }

    @Test("remove and --dry-run work on a PostgreSQL index; reindex and remove of a missing one create nothing; merge says what to do")
    func removeAndDryRun() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir, count: 9)
        let db = try await PostgresTestServer.freshIndex()
        // A dry run of a new index: what would be added, and nothing made.
        let dry = try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash", "--dry-run"])
        #expect(dry.status == 0 && dry.stderr.contains("Would add 9 files"), "\(dry.stderr)")
        let schema = String(db.split(separator: "schema=").last!)
        #expect(try await PostgresTestServer.psql("SELECT count(*) FROM pg_namespace WHERE nspname = '\(schema)'") == "0")
        for command in [["reindex", "--db", db], ["remove", dir.path + "/tree/folder0", "--db", db]] {
            let missing = try await Self.embed(command)
            #expect(missing.status == 3 && missing.stderr.contains("no index here"), "\(command[0]): \(missing.stderr)")
        }
        #expect(try await PostgresTestServer.psql("SELECT count(*) FROM pg_namespace WHERE nspname = '\(schema)'") == "0")
        try #require((try await Self.embed(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash"])).status == 0)
        try dir.write("tree/new.txt", Self.document(50))
        let dryAgain = try await Self.embed(["reindex", "--db", db, "--dry-run"])
        #expect(dryAgain.stderr.contains("Would add 1 file, update 0 and remove 0"), "\(dryAgain.stderr)")
        let removed = try await Self.embed(["remove", dir.path + "/tree/folder0", "--db", db])
        #expect(removed.status == 0 && removed.lines.count == 3, "\(removed.stdout)\(removed.stderr)")
        let stats = try await Self.embed(["stats", "--db", db])
        #expect(stats.stdout.contains("documents:  6"), "\(stats.stdout)")
        let merge = try await Self.embed(["merge", db, dir.path + "/x.sqlite"])
        #expect(merge.status == 2 && merge.stderr.contains("--shard"), "\(merge.stderr)")
    }
}
