import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real PostgreSQL 16 server with pgvector on a loopback port, for the PostgreSQL store's tests.
///
/// `EMBED_TEST_POSTGRES_URL` (with its password in `PGPASSWORD`) names a server to use. Otherwise the first call
/// starts one with `scripts/pg-server.sh` (PyPI's pgserver wheel, run as the user nobody when the tests run as
/// root), which stops when this process ends. Each test takes a schema of its own (``freshIndex(_:)``), so tests
/// run side by side on one server.
public enum PostgresTestServer {
    public struct Server: Sendable {
        /// `postgres://embed@127.0.0.1:PORT/embed`, a superuser without its password.
        public var url: String
        /// The superuser's password: give it to children as `PGPASSWORD`.
        public var password: String
        public var port: Int
        /// The cluster's folder when the tests started the server (nil for `EMBED_TEST_POSTGRES_URL`'s).
        public var directory: String?
    }

    private static let started: Result<Server, PostgresTestServerError> = {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["EMBED_TEST_POSTGRES_URL"], !url.isEmpty {
            let port = URLComponents(string: url)?.port ?? 5432
            return .success(Server(url: url, password: environment["PGPASSWORD"] ?? "", port: port, directory: nil))
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("embed-test-pg-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let script = repository.appendingPathComponent("scripts/pg-server.sh").path
        let run = runCommand(["/bin/bash", script, "start", directory, "--watch", String(getpid())])
        guard run.status == 0 else {
            return .failure(PostgresTestServerError("scripts/pg-server.sh could not start PostgreSQL: \(run.stderr)"))
        }
        let url = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let password = try? String(contentsOfFile: directory + "/password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        else { return .failure(PostgresTestServerError("scripts/pg-server.sh wrote no password in \(directory)")) }
        let port = URLComponents(string: url)?.port ?? 0
        // libpq in this process (the store's library tests) reads it from here, as the children do.
        setenv("PGPASSWORD", password, 1)
        return .success(Server(url: url, password: password, port: port, directory: directory))
    }()

    /// The server, started on first use.
    /// - Throws: ``PostgresTestServerError`` saying why it could not start: the tests that need it fail with that
    ///   message rather than skip.
    public static func shared() async throws -> Server {
        // The first call starts the server, which blocks: never on one of the few cooperative threads.
        try await onOwnThread { try started.get() }
    }

    /// A URL naming a new, empty index: a schema of its own on the shared server.
    public static func freshIndex(_ label: String = "t") async throws -> String {
        let server = try await shared()
        let name = "\(label)_\(UUID().uuidString.prefix(8).lowercased())".replacing("-", with: "_")
        return server.url + (server.url.contains("?") ? "&" : "?") + "schema=\(name)"
    }

    /// Stops the server at once, as a crash or a failover would, and starts it again on its port after `pause`.
    public static func restart(after pause: Duration) async throws {
        let server = try await shared()
        guard let directory = server.directory else {
            throw PostgresTestServerError("the server was given by EMBED_TEST_POSTGRES_URL: the tests cannot restart it")
        }
        let script = repository.appendingPathComponent("scripts/pg-server.sh").path
        let seconds = String(Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18)
        let run = try await onOwnThread { runCommand(["/bin/bash", script, "restart", directory, seconds]) }
        guard run.status == 0 else { throw PostgresTestServerError("cannot restart PostgreSQL: \(run.stderr)") }
    }

    /// The environment a child needs to reach the server.
    public static func environment() async throws -> [String: String?] {
        ["PGPASSWORD": try await shared().password]
    }

    /// Runs `sql` on the server as its superuser with `psql` from the server's own installation, and returns
    /// what it printed (unaligned, tuples only).
    @discardableResult
    public static func psql(_ sql: String, database: String = "embed") async throws -> String {
        let server = try await shared()
        // The server's own psql, from the folder scripts/pg-server.sh named (psql on PATH may be another version).
        let bin = server.directory.flatMap {
            try? String(contentsOfFile: $0 + "/bin", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let psql = bin.map { $0 + "/psql" } ?? "psql"
        let run = try await onOwnThread {
            runCommand(
            [
                psql, "-h", "127.0.0.1", "-p", String(server.port), "-U", "embed", "-d", database, "-X", "-q", "-A", "-t",
                "-v", "ON_ERROR_STOP=1", "-c", sql,
            ], environment: ["PGPASSWORD": server.password])
        }
        guard run.status == 0 else { throw PostgresTestServerError("psql failed on \(sql): \(run.stderr)") }
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs blocking work on a thread of its own, so a test waiting for a child never holds one of Swift
    /// concurrency's few cooperative threads (two here), which every other test running meanwhile needs.
    static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// Runs a command to its end with `posix_spawn` and `waitpid`, its output in files: Foundation's
    /// `Process.waitUntilExit` can wait forever for a child whose own children outlive it (the server). The child
    /// inherits this process's other descriptors for its lifetime; scripts/pg-server.sh closes them first thing, so
    /// the server it leaves running holds none of this process's sockets.
    static func runCommand(
        _ arguments: [String], environment: [String: String] = [:]
    ) -> (status: Int32, stdout: String, stderr: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("embed-cmd-\(UUID().uuidString)").path
        defer {
            unlink(base + ".out")
            unlink(base + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var variables = ProcessInfo.processInfo.environment
        for (key, value) in environment { variables[key] = value }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0)=\($1)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        guard posix_spawnp(&pid, arguments[0], &actions, nil, argv, envp) == 0 else {
            return (127, "", "cannot run \(arguments[0])")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), out, err)
    }

    /// The repository root, found from this file's path.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}

public struct PostgresTestServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
