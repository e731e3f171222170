import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// `embed ingest` against servers that redirect, flood, bomb or hang: it fails fast, stops the run, stays small
/// in memory, and never leaks the key or a password.
@Suite("embed against hostile servers", .serialized)
struct HostileServerCLITests {
    struct Measured {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The child's peak resident set (VmHWM), in MiB, as last read before it exited.
        var peakMiB: Double
        var seconds: Double
    }

    /// Runs the binary, reading its peak RSS from /proc every 10 ms while it runs.
    static func runMeasured(_ arguments: [String], environment: [String: String?] = [:]) async throws -> Measured {
        let binary = try #require(EmbedBinary.executable, "build the embed executable first: swift build")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (name, value) in environment { merged[name] = value }
        process.environment = merged
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            outData = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        var peakKB = 0.0
        let status = "/proc/\(process.processIdentifier)/status"
        while process.isRunning {
            if let text = try? String(contentsOfFile: status, encoding: .utf8),
                let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let kb = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
            {
                peakKB = max(peakKB, kb)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        _ = try await EmbedBinary.onOwnThread { group.wait() }
        await EmbedBinary.waitForExit(process)
        return Measured(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self), peakMiB: peakKB / 1024,
            seconds: Date().timeIntervalSince(start))
    }

    static let key = "sk-cli-hostile-0123456789"

    static func ingest(_ db: String, docs: String, baseURL: String, _ extra: [String] = []) -> [String] {
        ["ingest", docs, "--db", db, "--json", "--embedder", "openai", "--base-url", baseURL, "--model", "m",
         "--dimensions", "8", "--batch-size", "1", "--max-inputs-per-request", "1"] + extra
    }

    static func documents(_ dir: TemporaryDirectory, count: Int = 8) throws -> String {
        for i in 0..<count { try dir.write("docs/doc\(i).txt", "Document number \(i) has one short paragraph.") }
        return dir.path + "/docs"
    }

    @Test(
        "a flood, a huge declared body or a 1 GiB gzip bomb: each request fails at once, the run stops (after 5), under 300 MB",
        arguments: [
            HostileHTTPServer.Behaviour.endlessChunked, .declaredLength(1 << 30), .gzipBomb(decompressedBytes: 1 << 30),
        ])
    func oversized(behaviour: HostileHTTPServer.Behaviour) async throws {
        let server = try HostileHTTPServer(behaviour)
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let docs = try Self.documents(dir)
        let run = try await Self.runMeasured(
            Self.ingest(dir.path + "/index.sqlite", docs: docs, baseURL: server.baseURL.absoluteString, ["--concurrency", "2"]),
            environment: ["EMBED_API_KEY": Self.key])
        print("hostile \(behaviour): status \(run.status), peak \(Int(run.peakMiB)) MiB, \(run.seconds) s")
        #expect(run.status == 3, "\(run.stderr)")
        if case .gzipBomb = behaviour {
            // Refused at its headers (embed asks for identity), and the run stops at the first: the server will
            // answer every request so.
            #expect(run.stderr.contains("Content-Encoding: gzip"), "\(run.stderr)")
            #expect(server.requests.count <= 2, "a compressed answer stops the run")
        } else {
            #expect(run.stderr.contains("error: the embedding server failed 5 batches in a row: "), "\(run.stderr)")
            #expect(run.stderr.contains("16 MiB"), "\(run.stderr)")
        }
        if let sanitizer = TestTiming.sanitizer {
            // The sanitizer's shadow memory and quarantine are part of the child's RSS.
            print("not checking the 300 MB bound under the \(sanitizer) sanitizer")
        } else {
            #expect(run.peakMiB > 0 && run.peakMiB < 300, "peak RSS \(run.peakMiB) MiB")
        }
        #expect(run.seconds < TestTiming.bound(60))
        #expect(server.requests.count <= 8, "too-large responses are not retried")
        #expect(!run.stderr.contains(Self.key))
    }

    @Test("a server that accepts and never answers: the run stops after 5 batches time out, each after its retries")
    func hung() async throws {
        let server = try HostileHTTPServer(.silent)
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let docs = try Self.documents(dir)
        let run = try await Self.runMeasured(
            Self.ingest(
                dir.path + "/index.sqlite", docs: docs, baseURL: server.baseURL.absoluteString,
                ["--concurrency", "5", "--request-timeout", "1"]))
        print("hung server: status \(run.status), peak \(Int(run.peakMiB)) MiB, \(run.seconds) s")
        #expect(run.status == 3, "\(run.stderr)")
        #expect(run.stderr.contains("error: the embedding server failed 5 batches in a row: "), "\(run.stderr)")
        #expect(run.stderr.contains("no complete response within 1.0 seconds"), "\(run.stderr)")
        // 6 attempts of 1 s and at most 15.5 s of backoff per batch, five batches at once.
        #expect(run.seconds < TestTiming.bound(40))
    }

    @Test("a redirect to another port: the key never reaches it, one error line names the target, exit status 3")
    func redirect() async throws {
        let elsewhere = try LoopbackEmbeddingServer()
        defer { elsewhere.stop() }
        let target = elsewhere.baseURL.appendingPathComponent("embeddings").absoluteString
        let server = try HostileHTTPServer(.redirect(status: 307, location: target))
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let docs = try Self.documents(dir, count: 3)
        let run = try await Self.runMeasured(
            Self.ingest(dir.path + "/index.sqlite", docs: docs, baseURL: server.baseURL.absoluteString),
            environment: ["EMBED_API_KEY": Self.key])
        #expect(run.status == 3, "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.contains("a redirect to \(target), another origin"), "\(run.stderr)")
        #expect(run.stderr.contains("set the base URL (--base-url) to the final URL, \(elsewhere.baseURL.absoluteString)."))
        #expect(elsewhere.requests.isEmpty, "a request (and the key) reached the other origin")
        #expect(!run.stderr.contains(Self.key))
    }

    @Test("--base-url with a password is refused without echoing it; an old index's stored password is dropped")
    func userInfo() async throws {
        let server = try LoopbackEmbeddingServer()
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let docs = try Self.documents(dir, count: 2)
        let db = dir.path + "/index.sqlite"
        let secret = "hunter2-secret"
        let withPassword = "http://alice:\(secret)@127.0.0.1:\(server.port)/v1"

        let refused = try await Self.runMeasured(Self.ingest(db, docs: docs, baseURL: withPassword))
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("must not contain a user name or password"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(secret) && !refused.stdout.contains(secret))
        #expect(!FileManager.default.fileExists(atPath: db))
        #expect(server.requests.isEmpty)

        // An index written before the password was refused: its recorded URL still holds it.
        let first = try await Self.runMeasured(Self.ingest(db, docs: docs, baseURL: server.baseURL.absoluteString))
        #expect(first.status == 0, "\(first.stderr)")
        var recorded = try #require(try IndexReader(path: db).recipe()?.openai)
        recorded.baseURL = withPassword
        try await SQLiteIndexStore(path: db).recordEmbedder(recorded)
        try dir.write("docs/new.txt", "A new document for the reindex.")
        let again = try await Self.runMeasured(["reindex", "--db", db, "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(!again.stderr.contains(secret) && !again.stdout.contains(secret))
        let stored = try IndexReader(path: db).recipe()?.openai
        #expect(stored?.baseURL == server.baseURL.absoluteString)
        #expect(stored?.baseURL?.contains(secret) == false)
        #expect(server.requests.allSatisfy { $0.headers["authorization"] == nil })
        let stats = try await Self.runMeasured(["stats", "--db", db, "--json"])
        #expect(!stats.stdout.contains(secret))
    }
}
