import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// Who may read an index, who may write it, and what lies beside it: read-only users and mounts, killed
/// writers' leftovers, planted symlinks, aliases of the index path and indexes from a newer embed.
@Suite("index access on the command line", .serialized)
struct IndexAccessCLITests {
    static func shell(_ command: String) async -> (status: Int32, output: String) { await EmbedBinary.shell(command) }

    /// Runs SQL on the index with Python's sqlite3 module (another SQLite client, as a user might use).
    static func sql(_ db: String, _ statements: String) async throws {
        let script = "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], isolation_level=None); c.executescript(sys.argv[2]); c.close()"
        let result = await shell("python3 -c '\(script)' '\(db)' \"\(statements)\"")
        #expect(result.status == 0, "\(result.output)")
    }

    /// A folder of 12 small documents and an index of them built with the hash embedder.
    func makeIndex(_ dir: TemporaryDirectory) async throws -> String {
        for i in 0..<12 {
            try dir.write("docs/d\(i).txt", "Document \(i) about lighthouses and keepers number \(i).")
        }
        let db = dir.path + "/index/index.sqlite"
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        return db
    }

    /// The `embed` binary run as the user nobody (who may not write the index's folder).
    func runAsNobody(_ arguments: [String]) async throws -> EmbedBinary.Output {
        let binary = try #require(EmbedBinary.executable).path
        let quoted = ([binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let result = await Self.shell("cd / && setpriv --reuid=nobody --regid=nogroup --clear-groups \(quoted)")
        return EmbedBinary.Output(status: result.status, stdout: result.output, stderr: result.output)
    }

    /// Whether this process can switch to another user; prints why not when it cannot.
    func canRunAsNobody(_ dir: TemporaryDirectory) async -> Bool {
        let probe = await Self.shell("setpriv --reuid=nobody --regid=nogroup --clear-groups true")
        if probe.status != 0 { print("skipping the second-user checks: setpriv to nobody failed: \(probe.output)") }
        return probe.status == 0
    }

    @Test("another user reads an index at rest, in WAL mode, and after a killed writer's hot journal")
    func anotherUser() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await makeIndex(dir)
        guard await canRunAsNobody(dir) else { return }
        // nobody may traverse and read, never write.
        _ = await Self.shell("chmod 755 '\(dir.path)' '\(dir.path)/index' && chmod 644 '\(db)'*")

        var query = try await runAsNobody(["query", "--db", db, "-k", "3", "lighthouses"])
        #expect(query.status == 0, "\(query.stdout)")
        #expect(query.stdout.contains("  1. "), "\(query.stdout)")

        // An index left in WAL mode (a writer that did not close cleanly): nobody cannot create index.sqlite-shm.
        try await Self.sql(db, "PRAGMA journal_mode = WAL;")
        #expect(!FileManager.default.fileExists(atPath: db + "-wal"))
        query = try await runAsNobody(["query", "--db", db, "-k", "3", "lighthouses"])
        #expect(query.status == 0, "\(query.stdout)")
        #expect(query.stdout.contains("  3. "), "\(query.stdout)")
        let stats = try await runAsNobody(["stats", "--db", db])
        #expect(stats.status == 0, "\(stats.stdout)")

        // A writer killed mid-transaction (with enough changes that pages reached the file) leaves a hot journal that only its owner can roll back: nobody gets
        // a message that says so, and the owner's next query repairs it.
        try await Self.sql(db, "PRAGMA journal_mode = DELETE;")
        let kill = await Self.shell(
            """
            python3 -c "import sqlite3,os; c=sqlite3.connect('\(db)', isolation_level=None); \
            c.execute('PRAGMA cache_size=1'); c.execute('BEGIN IMMEDIATE'); \
            c.execute(\\"UPDATE chunks SET text = text || ' changed'\\"); \\
            c.execute(\\"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<300) \\
            INSERT INTO index_meta SELECT 'junk'||i, hex(randomblob(3000)) FROM n\\"); os._exit(0)"
            """)
        #expect(kill.status == 0, "\(kill.output)")
        #expect(FileManager.default.fileExists(atPath: db + "-journal"), "no hot journal was left")
        _ = await Self.shell("chmod 644 '\(db)-journal'")
        query = try await runAsNobody(["query", "--db", db, "-k", "3", "lighthouses"])
        #expect(query.status == 3, "\(query.stdout)")
        #expect(query.stdout.contains("unfinished write"), "\(query.stdout)")
        let owner = try await EmbedBinary.run(["query", "--db", db, "-k", "3", "lighthouses"])
        #expect(owner.status == 0, "\(owner.stderr)")
        #expect(!owner.stdout.contains("changed"), "the killed write was not rolled back")
        #expect(!FileManager.default.fileExists(atPath: db + "-journal"))
        await #expect(try runAsNobody(["query", "--db", db, "-k", "3", "lighthouses"]).status == 0)
    }

    @Test("a read-only mount of an index in WAL mode answers queries")
    func readOnlyMount() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await makeIndex(dir)
        try await Self.sql(db, "PRAGMA journal_mode = WAL;")
        let mount = dir.path + "/mounted"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let bind = await Self.shell("mount --bind '\(dir.path)/index' '\(mount)' && mount -o remount,ro,bind '\(mount)'")
        defer { _ = EmbedBinary.shellBlocking("umount '\(mount)'") }
        guard bind.status == 0 else {
            print("skipping the read-only mount check: cannot bind-mount here: \(bind.output)")
            return
        }
        let query = try await EmbedBinary.run(["query", "--db", mount + "/index.sqlite", "-k", "2", "lighthouses"])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.stdout.contains("  2. "), "\(query.stdout)")
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", mount + "/index.sqlite", "--embedder", "hash"])
        #expect(ingest.status == 3, "\(ingest.stderr)")

        // The mount is read without locks (immutable): a write through the real path is noticed afterwards.
        let reader = try IndexReader(path: mount + "/index.sqlite")
        #expect(try reader.statistics().documents == 12)
        #expect(!reader.changedSinceOpened)
        try dir.write("docs/late.txt", "A late document about fog horns.")
        let write = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"])
        #expect(write.status == 0, "\(write.stderr)")
        #expect(reader.changedSinceOpened)
    }

    @Test("an index written by a newer embed is refused by readers too")
    func newerMigration() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await makeIndex(dir)
        try await Self.sql(db, "INSERT INTO schema_migrations(identifier) VALUES ('v99-from-the-future');")
        for command in [["query", "--db", db, "lighthouses"], ["stats", "--db", db], ["export", "--db", db]] {
            let run = try await EmbedBinary.run(command)
            #expect(run.status == 3, "\(command[0]): \(run.stderr)")
            #expect(run.stderr.contains("newer version of embed"), "\(command[0]): \(run.stderr)")
        }
    }

    @Test("a symlinked alias of the index takes the same lock")
    func aliasSharesLock() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await makeIndex(dir)
        let alias = dir.path + "/alias.sqlite"
        try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: db)
        let lock = try IndexLock(indexPath: db, wait: false)
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", alias, "--embedder", "hash"])
        #expect(ingest.status == 4, "\(ingest.stderr)")
        withExtendedLifetime(lock) {}
    }

    @Test("symlinks planted at the lock and leftover names are never written through")
    func plantedSymlinks() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await makeIndex(dir)
        let victim = try dir.write("victim.txt", "precious")
        try FileManager.default.removeItem(atPath: db + ".lock")
        try FileManager.default.createSymbolicLink(atPath: db + ".lock", withDestinationPath: victim)
        try dir.write("docs/new.txt", "A new document about robins.")
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"])
        #expect(ingest.status == 3, "\(ingest.stderr)")
        #expect(ingest.stderr.contains("symbolic link"), "\(ingest.stderr)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")

        // A dead run's leftovers that are symlinks are removed as links; their targets stay.
        try FileManager.default.removeItem(atPath: db + ".lock")
        let dead = try deadPID()
        try FileManager.default.createSymbolicLink(atPath: db + ".vectors.tmp-\(dead)-1f", withDestinationPath: victim)
        let again = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
        #expect(!FileManager.default.fileExists(atPath: db + ".vectors.tmp-\(dead)-1f"))
    }

    @Test("any writer removes what killed runs left beside the index, and only theirs")
    func leftovers() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await makeIndex(dir)
        let dead = try deadPID()
        let names = [
            ".vectors.tmp-\(dead)", ".vectors.tmp-\(dead)-ab12", ".reembed-\(dead)-cd34", ".reembed-\(dead)-cd34-wal",
            ".creating-\(dead)", ".creating-\(dead)-ef56-journal",
        ]
        for name in names { try dir.write("index/index.sqlite" + name, "leftover") }
        // A live process's work in progress is not touched.
        let live = db + ".reembed-\(getpid())-77"
        try dir.write("index/index.sqlite.reembed-\(getpid())-77", "in progress")
        let reindex = try await EmbedBinary.run(["reindex", "--db", db])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        for name in names { #expect(!FileManager.default.fileExists(atPath: db + name), "\(name) is still there") }
        #expect(FileManager.default.fileExists(atPath: live))
    }

    @Test("a document leaves the index once its path is no longer an ingestible file under the current rules")
    func staleDocuments() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = dir.path + "/docs"
        try dir.write("docs/plain.txt", "Ordinary notes about gardening and tomatoes.")
        try dir.write("docs/keys.secret.txt", "zanzibar quokka passphrase material")
        try dir.write("docs/becomes-folder.txt", "marmalade recipe with oranges")
        try dir.write("docs/becomes-fifo.txt", "xylophone lessons for beginners")
        try dir.write("docs/becomes-link.txt", "saxophone reeds and their care")
        try dir.write("outside/elsewhere.txt", "saxophone reeds and their care, outside")
        let db = dir.path + "/index.sqlite"
        var run = try await EmbedBinary.run(["ingest", root, "--db", db, "--embedder", "hash", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try EmbedBinary.json(run.stdout)["added"] as? Int == 5)

        try FileManager.default.removeItem(atPath: root + "/becomes-folder.txt")
        try dir.write("docs/becomes-folder.txt/inside.txt", "a file inside the new folder")
        try FileManager.default.removeItem(atPath: root + "/becomes-fifo.txt")
        #expect(mkfifo(root + "/becomes-fifo.txt", 0o644) == 0)
        try FileManager.default.removeItem(atPath: root + "/becomes-link.txt")
        try FileManager.default.createSymbolicLink(
            atPath: root + "/becomes-link.txt", withDestinationPath: dir.path + "/outside/elsewhere.txt")
        run = try await EmbedBinary.run(
            ["ingest", root, "--db", db, "--embedder", "hash", "--json", "--exclude", "*.secret.txt"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try EmbedBinary.json(run.stdout)["removed"] as? Int == 4, "\(run.stdout)")
        let export = try await EmbedBinary.run(["export", "--db", db])
        let paths = Set(try export.lines.map { try #require(EmbedBinary.json($0)["path"] as? String) })
        #expect(paths == [root + "/plain.txt", root + "/becomes-folder.txt/inside.txt"], "\(paths)")
        for word in ["zanzibar", "marmalade", "xylophone", "saxophone"] {
            #expect(!export.stdout.contains(word), "\(word) is still searchable")
        }
    }

    @Test("a folder that cannot be listed keeps its documents (and is reported)")
    func unreadableFolderKeepsDocuments() async throws {
        let dir = try TemporaryDirectory()
        defer {
            _ = EmbedBinary.shellBlocking("chmod -R 755 '\(dir.path)'")
            dir.remove()
        }
        try dir.write("docs/open/a.txt", "Notes about sailing boats.")
        try dir.write("docs/closed/b.txt", "Notes about mountain huts.")
        let db = dir.path + "/index.sqlite"
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"]).status == 0)
        _ = await Self.shell("chmod 755 '\(dir.path)' '\(dir.path)/docs' && chmod 000 '\(dir.path)/docs/closed' && chmod 666 '\(db)'*")
        _ = await Self.shell("chmod 777 '\(dir.path)'")
        guard await canRunAsNobody(dir) else { return }
        let run = try await runAsNobody(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--json"])
        #expect(run.stdout.contains("cannot list folder"), "\(run.stdout)")
        #expect(run.stdout.contains("\"removed\":0"), "\(run.stdout)")
    }

    @Test("file names with newlines and escape sequences are escaped in text output")
    func hostileNames() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let fake = "evil\n  1. 0.999  /etc/passwd:1\n.txt"
        let clear = "clear\u{1B}[2J\u{1B}[H.txt"
        try dir.write("docs/" + fake, "Pelicans fly over the harbour at dawn.")
        try dir.write("docs/" + clear, "Pelicans nest on the harbour wall.")
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        try dir.write("docs/" + fake, "Pelicans fly over the harbour at dusk.")
        let dryRun = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--dry-run"])
        #expect(dryRun.stdout.contains("update docs/evil\\n  1. 0.999  /etc/passwd:1\\n.txt") || dryRun.stdout.contains("evil\\n"), "\(dryRun.stdout)")
        #expect(!dryRun.stdout.contains("\n  1. 0.999"), "\(dryRun.stdout)")
        let query = try await EmbedBinary.run(["query", "--db", db, "-k", "2", "pelicans harbour"])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(!query.stdout.contains("\u{1B}"), "an escape sequence reached the terminal")
        #expect(!query.stdout.contains("/etc/passwd:1\n"), "a name faked a result line")
        #expect(query.stdout.contains("evil\\n  1. 0.999  /etc/passwd:1\\n.txt"), "\(query.stdout)")
        #expect(query.stdout.contains("clear\\e[2J\\e[H.txt"), "\(query.stdout)")
        // JSON output keeps the exact name (JSON escapes it).
        let json = try await EmbedBinary.run(["query", "--db", db, "-k", "2", "--json", "pelicans harbour"])
        let names = try json.lines.map { try #require(EmbedBinary.json($0)["path"] as? String) }
        #expect(Set(names) == [dir.path + "/docs/" + fake, dir.path + "/docs/" + clear])
    }

    @Test("--db that is a folder, a text file or a file: name gets an accurate message or just works")
    func dbMessages() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "Otters hold hands while they sleep.")
        try FileManager.default.createDirectory(atPath: dir.path + "/folder", withIntermediateDirectories: true)
        let text = try dir.write("notes.txt", "just some text, not an index")
        var run = try await EmbedBinary.run(["query", "--db", dir.path + "/folder", "otters"])
        #expect(run.status == 3)
        #expect(run.stderr.contains("is a folder, not an index file"), "\(run.stderr)")
        run = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", dir.path + "/folder", "--embedder", "hash"])
        #expect(run.status == 3)
        #expect(run.stderr.contains("is a folder, not an index file"), "\(run.stderr)")
        run = try await EmbedBinary.run(["query", "--db", text, "otters"])
        #expect(run.status == 3)
        #expect(run.stderr.contains("not a SQLite database"), "\(run.stderr)")
        #expect(!run.stderr.contains("damaged"), "\(run.stderr)")
        #expect(try String(contentsOfFile: text, encoding: .utf8) == "just some text, not an index")

        // A relative name that starts with file: is a file name, not a SQLite URI.
        run = try await EmbedBinary.run(["ingest", "docs", "--db", "file:odd.sqlite", "--embedder", "hash"], in: dir.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.path + "/file:odd.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/odd.sqlite"))
        run = try await EmbedBinary.run(["query", "--db", "file:odd.sqlite", "otters"], in: dir.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("a.txt"), "\(run.stdout)")
    }

    /// The pid of a process that has ended.
    func deadPID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }
}
