import EmbedKitTestSupport
import Foundation
import Testing

/// What a terminal user meets: input checking, dry runs, messages, help, progress into a log, the JSON report.
@Suite("the command line as a terminal user meets it")
struct TerminalUseCLITests {
    /// Two folders of documents, ingested with the hash embedder; returns the index's path.
    func index(_ dir: TemporaryDirectory) async throws -> String {
        try dir.write("docs/nature/otter.txt", "Otters live in rivers and eat fish.")
        try dir.write("docs/nature/heron.txt", "Herons stand still in shallow water and wait for fish.")
        try dir.write("docs/other/backup.txt", "pg_dump backs up one database every night.")
        let db = dir.path + "/index.sqlite"
        let run = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"])
        #expect(run.status == 0, "\(run.stderr)")
        return db
    }

    /// The files in `dir`, for checking that a refused run made none.
    func files(_ dir: TemporaryDirectory) throws -> Set<String> {
        Set(try FileManager.default.subpathsOfDirectory(atPath: dir.path))
    }

    @Test("an empty query and a -k below 1 are usage errors; - reads queries from stdin; a folder is not a queries file")
    func queryInput() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await index(dir)
        for blank in ["", "   ", "\t"] {
            let run = try await EmbedBinary.run(["query", "--db", db, "otters", blank])
            #expect(run.status == 2)
            #expect(run.stderr.contains("a query is empty"), "\(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
        for k in ["0", "-1"] {
            let run = try await EmbedBinary.run(["query", "--db", db, "-k", k, "otters"])
            #expect(run.status == 2)
            #expect(run.stderr.contains("-k is the number of results per query: 1 or more, not \(k)"), "\(run.stderr)")
        }
        let piped = try await EmbedBinary.run(
            ["query", "--db", db, "--json", "-k", "1", "--queries-file", "-"], stdin: "otters in rivers\n\nherons\n")
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(try piped.lines.map { try EmbedBinary.json($0)["query"] as? String } == ["otters in rivers", "herons"])

        let folder = try await EmbedBinary.run(["query", "--db", db, "--queries-file", dir.path + "/docs"])
        #expect(folder.status == 2)
        #expect(folder.stderr.contains("cannot read the queries file \(dir.path)/docs: it is a folder"), "\(folder.stderr)")
        let missing = try await EmbedBinary.run(["query", "--db", db, "--queries-file", dir.path + "/nope.txt"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.txt: no such file"), "\(missing.stderr)")
        let endless = try await EmbedBinary.run(["query", "--db", db, "--queries-file", "/dev/zero"])
        #expect(endless.status == 2)
        #expect(endless.stderr.contains("is larger than 16 MiB"), "\(endless.stderr)")
    }

    @Test("--path globs match below each root as ingest's --include does; a mistyped --under gets a warning")
    func pathFilters() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await index(dir)
        func paths(_ filter: [String]) async throws -> (status: Int32, paths: Set<String>, stderr: String) {
            let run = try await EmbedBinary.run(["query", "--db", db, "--json", "-k", "10"] + filter + ["fish"])
            let found = Set(try run.lines.map { try #require(EmbedBinary.json($0)["path"] as? String) })
            return (run.status, Set(found.map { String($0.dropFirst(dir.path.count + "/docs/".count)) }), run.stderr)
        }
        #expect(try await paths(["--path", "nature/*"]).paths == ["nature/otter.txt", "nature/heron.txt"])
        #expect(try await paths(["--path", "otter.txt"]).paths == ["nature/otter.txt"])
        #expect(try await paths(["--path", "*/backup.*"]).paths == ["other/backup.txt"])
        // A glob that starts with / still matches the absolute path.
        #expect(try await paths(["--path", dir.path + "/docs/nature/h*"]).paths == ["nature/heron.txt"])

        let mistyped = try await paths(["--under", dir.path + "/docs/natures", "--under", dir.path + "/docs/other"])
        #expect(mistyped.status == 0)
        #expect(mistyped.paths == ["other/backup.txt"])
        #expect(
            mistyped.stderr.contains("warning: no indexed document is under \(dir.path)/docs/natures (--under)"),
            "\(mistyped.stderr)")
        #expect(!mistyped.stderr.contains("docs/other (--under)"))
    }

    @Test("a dry run on a new index counts from the real walk, parse and chunker, and writes nothing anywhere")
    func dryRunOnNewIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "Otters live in rivers and eat fish.")
        try dir.write("docs/b.md", "# Herons\n\nHerons stand still in shallow water.")
        try dir.write("docs/c.txt", bytes: [0x41, 0x00, 0x42])
        let db = dir.path + "/out/index.sqlite"
        let before = try files(dir)
        let scratch = Set(try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()))

        let text = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--dry-run"])
        #expect(text.status == 0, "\(text.stderr)")
        // The file list is the result (stdout); the summary and the problems go to stderr.
        #expect(text.lines.sorted() == ["add \(dir.path)/docs/a.txt", "add \(dir.path)/docs/b.md"].sorted(), "\(text.stdout)")
        #expect(text.stderr.contains("Would add 2 files, update 0 and remove 0 (0 unchanged); would embed 2 chunks of "))
        #expect(text.stderr.contains("c.txt: warning: binary file"))

        let json = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--dry-run", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.lines.count == 1)
        let report = try EmbedBinary.json(json.stdout)
        #expect(report["dry_run"] as? Bool == true)
        #expect(report["added"] as? Int == 2)
        #expect(report["chunks_embedded"] as? Int == 2)
        #expect(try #require(report["tokens_embedded"] as? Int) > 10)
        let actions = try #require(report["files"] as? [[String: Any]])
        #expect(Set(actions.map { "\($0["action"]!) \($0["path"]!)" }) == ["add \(dir.path)/docs/a.txt", "add \(dir.path)/docs/b.md"])
        let diagnostics = try #require(report["diagnostics"] as? [[String: Any]])
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?["path"] as? String == dir.path + "/docs/c.txt")
        #expect(diagnostics.first?["severity"] as? String == "warning")

        // Nothing was made: no index, no lock, no folder, no scratch index left in the temporary folder.
        #expect(try files(dir) == before)
        let leftovers = Set(try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())).subtracting(scratch)
        #expect(!leftovers.contains { $0.hasPrefix("embed-dry-run-") }, "\(leftovers)")

        // The real run then does what the dry run said.
        let real = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--json"])
        let done = try EmbedBinary.json(real.stdout)
        #expect(done["added"] as? Int == 2)
        #expect(done["tokens_embedded"] as? Int == report["tokens_embedded"] as? Int)
        #expect(done["files"] == nil)
        #expect((done["diagnostics"] as? [[String: Any]])?.count == 1)
    }

    @Test("a dry run refuses what the real run refuses, with the same message and status")
    func dryRunRefusals() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await index(dir)
        for flags in [["--chunk-tokens", "50"], ["--embedder", "minilm"], ["--chunk-tokens", "9999"]] {
            let real = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db] + flags)
            let dry = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--dry-run"] + flags)
            #expect(real.status != 0, "\(flags)")
            #expect(dry.status == real.status, "\(flags): \(dry.stderr)")
            #expect(dry.stderr == real.stderr, "\(flags)")
        }
    }

    @Test("refused runs make no file; a folder, a non-SQLite file and a foreign SQLite file each get their own message")
    func messages() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "Otters live in rivers and eat fish.")
        let before = try files(dir)
        for flags in [["--chunk-tokens", "9999"], ["--embedder", "openai", "--base-url", "ftp://127.0.0.1/v1", "--model", "m"]] {
            let run = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", dir.path + "/out/new.sqlite"] + flags)
            #expect(run.status == 2 || run.status == 3, "\(flags): \(run.stderr)")
            #expect(try files(dir) == before, "\(flags): \(run.stderr)")
        }

        try FileManager.default.createDirectory(atPath: dir.path + "/folder.sqlite", withIntermediateDirectories: true)
        let text = try dir.write("text.sqlite", "hello, not a database\n")
        let foreign = dir.path + "/foreign.sqlite"
        #expect(await EmbedBinary.shell("sqlite3 '\(foreign)' 'CREATE TABLE notes(x); INSERT INTO notes VALUES (1);'").status == 0)
        let foreignBytes = try Data(contentsOf: URL(fileURLWithPath: foreign))
        let expected = [
            dir.path + "/folder.sqlite": "is a folder, not an index file",
            text: "is not an embed index (not a SQLite database)",
            foreign: "is a SQLite database, but not an embed index (it has no index_meta table)",
        ]
        for (db, message) in expected {
            for arguments in [["query", "--db", db, "otters"], ["stats", "--db", db], ["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"]] {
                let run = try await EmbedBinary.run(arguments)
                #expect(run.status == 3, "\(arguments): \(run.stderr)")
                #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
                #expect(!run.stderr.contains("damaged") && !run.stderr.contains("I/O error"), "\(run.stderr)")
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: foreign)) == foreignBytes)
        #expect(try String(contentsOfFile: text, encoding: .utf8) == "hello, not a database\n")

        let one = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", dir.path + "/one.sqlite", "--embedder", "hash"])
        #expect(one.stderr.hasPrefix("Indexed 1 file: 1 added, 0 updated, 0 unchanged, 0 removed; 1 chunk stored (1 embedded"), "\(one.stderr)")
    }

    @Test("each command's help lists only its options and its own exit statuses")
    func help() async throws {
        let reindex = try await EmbedBinary.run(["reindex", "--help"])
        for option in ["--include <", "--exclude <", "--only <", "--hidden ", "--follow-symlinks", "--no-ignore"] {
            #expect(!reindex.stdout.contains(option), "\(option)")
        }
        #expect(reindex.stdout.contains("--rebuild-keyword-index"))
        let ingest = try await EmbedBinary.run(["ingest", "--help"])
        #expect(ingest.stdout.contains("--include <include>") && ingest.stdout.contains("--follow-symlinks"))

        let query = try await EmbedBinary.run(["query", "--help"])
        #expect(query.stdout.contains("EXIT STATUS:"))
        #expect(!query.stdout.contains("  4    ") && !query.stdout.contains("  130  "), "\(query.stdout)")
        #expect(ingest.stdout.contains("  4    ") && ingest.stdout.contains("  130  "))
        for command in ["stats", "export", "encode", "remove"] {
            let run = try await EmbedBinary.run([command, "--help"])
            #expect(run.stdout.contains("EXIT STATUS:"), "\(command)")
            #expect(!run.stdout.contains("  130  "), "\(command)")
        }
        let encode = try await EmbedBinary.run(["encode", "--help"])
        #expect(!encode.stdout.contains("the index was built with"), "\(encode.stdout)")
    }
}

/// Progress into a log: plain lines, never a carriage return or an escape code.
@Suite("progress into a log")
struct ProgressLogCLITests {
    @Test("--progress into a file writes a plain line every 5 seconds")
    func plainProgress() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for i in 0..<40 { try dir.write("docs/note\(i).txt", "Note \(i) about harbours, tides and ships.") }
        // A slow server: 40 chunks, one per request, 250 ms each, about 10 s.
        let server = try LoopbackEmbeddingServer(.init(latency: .milliseconds(250)))
        defer { server.stop() }
        let run = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", dir.path + "/index.sqlite", "--embedder", "openai", "--base-url",
             server.baseURL.absoluteString, "--model", "m", "--batch-size", "1", "--concurrency", "1", "--progress"],
            environment: ["EMBED_API_KEY": "sk-test"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stderr.contains("\r") && !run.stderr.contains("\u{1B}"), "\(run.stderr.debugDescription)")
        let lines = run.stderr.split(separator: "\n")
        let progress = lines.filter { $0.hasPrefix("files ") }
        #expect(progress.count >= 1, "\(run.stderr)")
        #expect(progress.allSatisfy { $0.contains("chunks/s") })
        #expect(lines.last?.hasPrefix("Indexed 40 files: 40 added") == true, "\(run.stderr)")
    }
}
