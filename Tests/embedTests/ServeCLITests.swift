@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `embed serve` started as a child, on a free loopback port, driven with URLSession.
final class ServedEmbed: Sendable {
    let process: Process
    let port: Int
    private let log: Locked<String>

    var stderr: String { log.withLock { $0 } }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(process: Process, port: Int, log: Locked<String>) {
        self.process = process
        self.port = port
        self.log = log
    }

    /// Starts `embed serve --port 0 ARGUMENTS` and waits until it listens.
    static func start(_ arguments: [String], environment: [String: String] = [:]) async throws -> ServedEmbed {
        let binary = try #require(EmbedBinary.executable, "build the embed executable first: swift build")
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--port", "0"] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let log = Locked("")
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            log.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline && process.isRunning {
            let text = log.withLock { $0 }
            if let match = text.firstMatch(of: /listening on http:\/\/[^:]+:(\d+)/), let port = Int(match.1) {
                return ServedEmbed(process: process, port: port, log: log)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        Issue.record("embed serve did not start: \(log.withLock { $0 })")
        throw CancellationError()
    }

    /// Sends `signal` and waits for the exit status.
    func stop(_ signal: Int32 = SIGTERM) async -> Int32 {
        kill(process.processIdentifier, signal)
        await EmbedBinary.waitForExit(process)
        return process.terminationStatus
    }

    struct Answer: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var errorType: String? { (json["error"] as? [String: Any])?["type"] as? String }
    }

    func request(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> Answer {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
        return Answer(status: http.statusCode, headers: fields, body: data)
    }

    func embeddings(_ object: [String: Any], headers: [String: String] = [:]) async throws -> Answer {
        try await request("POST", "/v1/embeddings", body: try JSONSerialization.data(withJSONObject: object), headers: headers)
    }
}

@Suite("embed serve", .serialized)
struct ServeCLITests {
    static let hash = ["--embedder", "hash"]

    static func vectors(_ answer: ServedEmbed.Answer) throws -> [[Float]] {
        let data = try #require(answer.json["data"] as? [[String: Any]])
        return try data.map { item in
            if let text = item["embedding"] as? String {
                let bytes = try #require(Data(base64Encoded: text))
                return bytes.withUnsafeBytes { raw in
                    (0..<(bytes.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
                }
            }
            return try #require(item["embedding"] as? [NSNumber]).map(\.floatValue)
        }
    }

    @Test("/v1/embeddings answers as OpenAI does, floats and base64, each of 32 concurrent callers its own vectors")
    func embeddings() async throws {
        let server = try await ServedEmbed.start(Self.hash)
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }
        let reference = HashEmbedder()
        let one = try await server.embeddings(["input": "The lamp is bright.", "model": "anything"])
        #expect(one.status == 200, "\(String(decoding: one.body, as: UTF8.self))")
        #expect(one.json["object"] as? String == "list")
        #expect(try Self.vectors(one) == (try await reference.embed(["The lamp is bright."])))
        #expect(((one.json["usage"] as? [String: Any])?["prompt_tokens"] as? Int ?? 0) > 0)
        let texts = ["alpha river", "bravo lamp", "charlie oil"]
        let encoded = try await server.embeddings(["input": texts, "encoding_format": "base64"])
        #expect(try Self.vectors(encoded) == (try await reference.embed(texts)))

        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<32 {
                group.addTask {
                    let mine = (0..<(caller % 4 + 1)).map { "caller \(caller) sentence \($0)" }
                    let answer = try await server.embeddings(["input": mine])
                    #expect(answer.status == 200)
                    #expect(try Self.vectors(answer) == (try await reference.embed(mine)), "caller \(caller)")
                }
            }
            try await group.waitForAll()
        }
        #expect(await server.stop() == 0, "\(server.stderr)")
    }

    @Test("bad requests get the right 4xx with OpenAI's error body, and the server keeps serving")
    func badRequests() async throws {
        let server = try await ServedEmbed.start(Self.hash + ["--max-body-mib", "1"])
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }
        let cases: [(String, Data, Int)] = [
            ("malformed JSON", Data("{\"input\": [".utf8), 400),
            ("wrong type", Data(#"{"input": 5}"#.utf8), 400),
            ("token arrays", Data(#"{"input": [[1, 2, 3]]}"#.utf8), 400),
            ("no input", Data(#"{"model": "x"}"#.utf8), 400),
            ("empty input", Data(#"{"input": []}"#.utf8), 400),
            ("an empty text", Data(#"{"input": ["a", ""]}"#.utf8), 400),
            ("wrong encoding", Data(#"{"input": "a", "encoding_format": "hex"}"#.utf8), 400),
            ("other dimensions", Data(#"{"input": "a", "dimensions": 12}"#.utf8), 400),
            ("100,000 inputs", try JSONSerialization.data(withJSONObject: ["input": Array(repeating: "a", count: 100_000)]), 413),
            ("a 2 MiB body", Data(("{\"input\": \"" + String(repeating: "a", count: 2 << 20) + "\"}").utf8), 413),
        ]
        for (name, body, status) in cases {
            let answer = try await server.request("POST", "/v1/embeddings", body: body)
            #expect(answer.status == status, "\(name): \(String(decoding: answer.body.prefix(300), as: UTF8.self))")
            #expect(answer.errorType != nil, "\(name): not OpenAI's error shape")
        }
        #expect(try await server.request("GET", "/nowhere").status == 404)
        #expect(try await server.request("GET", "/healthz").status == 200)
        #expect(try await server.embeddings(["input": "still serving"]).status == 200)
        #expect(await server.stop() == 0, "\(server.stderr)")
    }

    @Test("with --client-key-env, requests need the bearer key; /healthz does not")
    func apiKey() async throws {
        let server = try await ServedEmbed.start(Self.hash + ["--client-key-env", "SERVE_KEY"], environment: ["SERVE_KEY": "s3cret"])
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }
        #expect(try await server.embeddings(["input": "a"]).status == 401)
        #expect(try await server.embeddings(["input": "a"], headers: ["Authorization": "Bearer wrong!"]).status == 401)
        #expect(try await server.embeddings(["input": "a"], headers: ["Authorization": "Bearer s3cret"]).status == 200)
        #expect(try await server.request("GET", "/healthz").status == 200)
        #expect(!server.stderr.contains("s3cret"))
        #expect(await server.stop() == 0)
    }

    @Test("embed's own openai embedder ingests through the server: the vectors are the served model's")
    func ingestThrough() async throws {
        let server = try await ServedEmbed.start(Self.hash)
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for n in 0..<6 { try dir.write("docs/\(n).txt", "Document \(n) is about topic \(n) and nothing else.") }
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--embedder", "openai", "--base-url", server.baseURL + "/v1",
             "--model", "served", "--json"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let export = try await EmbedBinary.run(["export", "--db", db, "--vectors"])
        let reference = HashEmbedder()
        var checked = 0
        for line in export.lines {
            let object = try EmbedBinary.json(line)
            let text = try #require(object["text"] as? String)
            let vector = try #require(object["vector"] as? [NSNumber]).map(\.floatValue)
            #expect(vector == (try await reference.embed([text]))[0])
            checked += 1
        }
        #expect(checked == 6)
        #expect(await server.stop() == 0)
    }

    @Test("SIGTERM: requests in flight finish, then the server exits 0")
    func drains() async throws {
        // A long batch window holds the requests in the queue, where /metrics sees them.
        let server = try await ServedEmbed.start(Self.hash + ["--batch-window-ms", "800"])
        async let answers: [Int] = withThrowingTaskGroup(of: Int.self) { group in
            for caller in 0..<16 {
                group.addTask { (try? await server.embeddings(["input": "caller \(caller)"]).status) ?? -1 }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let metrics = String(decoding: try await server.request("GET", "/metrics").body, as: UTF8.self)
            // The gauge prints as a float ("embed_queue_texts 0.0").
            let queued = metrics.split(separator: "\n").first { $0.hasPrefix("embed_queue_texts ") }
                .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            if queued > 0 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let status = await server.stop()
        let statuses = try await answers
        #expect(status == 0, "\(server.stderr)")
        // Each request either finished (200) or never got in (no connection): none was cut off half-answered.
        #expect(statuses.allSatisfy { $0 == 200 || $0 == -1 }, "\(statuses)")
        #expect(statuses.contains(200))
    }
}

@Suite("embed serve: search and metrics", .serialized)
struct ServeSearchCLITests {
    @Test("/v1/search answers what embed query --json prints, and /metrics counts requests and batches")
    func searchAndMetrics() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/lamps.txt", "The lamp is bright and needs oil every week.")
        try dir.write("docs/rivers.md", "# Rivers\n\nRivers flow to the sea through deltas.")
        try dir.write("docs/bees.txt", "Queen bees lay eggs in the hive.")
        let db = dir.path + "/index.sqlite"
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"]).status == 0)
        let server = try await ServedEmbed.start(["--db", db])
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }

        for mode in ["hybrid", "vector", "keyword"] {
            let cli = try await EmbedBinary.run(["query", "lamp oil", "bees", "--db", db, "--json", "-k", "2", "--mode", mode])
            let answer = try await server.request(
                "POST", "/v1/search",
                body: try JSONSerialization.data(withJSONObject: ["queries": ["lamp oil", "bees"], "k": 2, "mode": mode]))
            #expect(answer.status == 200, "\(mode): \(String(decoding: answer.body, as: UTF8.self))")
            #expect(String(decoding: answer.body, as: UTF8.self) == cli.stdout, "\(mode): the server's lines differ from embed query --json")
        }
        // 32 callers at once get the same lines, each search with a reader of its own.
        let expected = try await server.request("POST", "/v1/search", body: Data(#"{"query": "lamp oil", "k": 3}"#.utf8))
        try await withThrowingTaskGroup(of: ServedEmbed.Answer.self) { group in
            for _ in 0..<32 {
                group.addTask { try await server.request("POST", "/v1/search", body: Data(#"{"query": "lamp oil", "k": 3}"#.utf8)) }
            }
            for try await answer in group {
                #expect(answer.status == 200)
                #expect(answer.body == expected.body)
            }
        }
        #expect(server.process.isRunning)

        let filtered = try await server.request(
            "POST", "/v1/search",
            body: try JSONSerialization.data(withJSONObject: ["query": "water", "format": ["markdown"], "k": 5]))
        let paths = String(decoding: filtered.body, as: UTF8.self).split(separator: "\n").compactMap {
            (try? EmbedBinary.json(String($0)))?["path"] as? String
        }
        #expect(!paths.isEmpty && paths.allSatisfy { $0.hasSuffix(".md") }, "\(paths)")
        for (name, body, status) in [
            ("no query", #"{"k": 3}"#, 400), ("k 0", #"{"query": "a", "k": 0}"#, 400),
            ("bad mode", #"{"query": "a", "mode": "fuzzy"}"#, 400), ("bad format", #"{"query": "a", "format": ["pdf"]}"#, 400),
            ("not JSON", "query=a", 400),
            ("too many results", #"{"queries": [\#((0..<20).map { "\"q\($0)\"" }.joined(separator: ","))], "k": 1000}"#, 413),
        ] {
            let answer = try await server.request("POST", "/v1/search", body: Data(body.utf8))
            #expect(answer.status == status, "\(name)")
            #expect(answer.errorType != nil, "\(name)")
        }

        _ = try await server.embeddings(["input": ["one", "two"]])
        let metrics = String(decoding: try await server.request("GET", "/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"embed_http_requests_total{route="/v1/search",status="200"}"#), "\(metrics)")
        #expect(metrics.contains(#"embed_http_requests_total{route="/v1/search",status="400"} 5"#), "\(metrics)")
        #expect(metrics.contains(#"embed_http_requests_total{route="/v1/search",status="413"} 1"#), "\(metrics)")
        #expect(metrics.contains("embed_batch_texts_count"), "\(metrics)")
        #expect(metrics.contains("embed_texts_embedded_total"), "\(metrics)")
        #expect(metrics.contains("embed_queue_texts 0"), "\(metrics)")
        #expect(server.stderr.contains("path=/v1/search"), "no access log line: \(server.stderr.suffix(500))")
        #expect(await server.stop() == 0)
    }
}

@Suite("embed serve: ingest jobs", .serialized)
struct ServeJobsCLITests {
    @Test("POST /v1/ingest streams a job's progress and summary; 409 for a second writer, 403 outside the roots, GET and DELETE")
    func jobs() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "The lamp is bright and needs oil.")
        let db = dir.path + "/index.sqlite"
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"]).status == 0)
        for n in 0..<40 { try dir.write("more/\(n).txt", "Document \(n) about rivers, lamps and bees, number \(n).") }
        try dir.write("outside/secret.txt", "not to be read")
        let docs = try #require(FileWalker.canonicalPath(dir.path + "/more"))
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/more/escape", withDestinationPath: dir.path + "/outside")
        let server = try await ServedEmbed.start(["--db", db, "--allow-root", dir.path + "/more", "--batch-window-ms", "0"])
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }

        // Outside the allowed root, by path, by `..` and by a symlink: 403; missing: 400.
        for (path, status) in [
            (dir.path + "/outside", 403), (dir.path + "/more/../outside", 403), (dir.path + "/more/escape", 403),
            (dir.path + "/more/none", 400), ("relative/path", 400),
        ] {
            let answer = try await server.request(
                "POST", "/v1/ingest", body: try JSONSerialization.data(withJSONObject: ["paths": [path]]))
            #expect(answer.status == status, "\(path): \(String(decoding: answer.body, as: UTF8.self))")
        }
        let other = try await server.request(
            "POST", "/v1/ingest", body: try JSONSerialization.data(withJSONObject: ["paths": [docs], "db": dir.path + "/other.sqlite"]))
        #expect(other.status == 403)

        let answer = try await server.request(
            "POST", "/v1/ingest", body: try JSONSerialization.data(withJSONObject: ["paths": [docs]]))
        #expect(answer.status == 200)
        let lines = String(decoding: answer.body, as: UTF8.self).split(separator: "\n").map { try? EmbedBinary.json(String($0)) }
        let events = lines.compactMap { $0?["event"] as? String }
        #expect(events.first == "started" && events.last == "done", "\(events)")
        let id = try #require(lines.first??["job"] as? String)
        let report = try #require(lines.last??["report"] as? [String: Any])
        #expect(report["added"] as? Int == 40, "\(report)")

        let status = try await server.request("GET", "/v1/jobs/\(id)")
        #expect(status.json["state"] as? String == "succeeded")
        // The job's record keeps the stream's events, with each run of progress events kept as its last.
        let kept = try #require(status.json["events"] as? [[String: Any]]).compactMap { $0["event"] as? String }
        var collapsed: [String] = []
        for event in events.dropFirst() where !(event == "progress" && collapsed.last == "progress") { collapsed.append(event) }
        #expect(kept == collapsed, "\(kept) against the stream's \(events)")
        let late = try await server.request("DELETE", "/v1/jobs/\(id)")
        #expect(late.status == 409 && late.errorType == "conflict_error", "cancelling a finished job")
        #expect(try await server.request("GET", "/v1/jobs/nope").status == 404)
        #expect(try await server.request("DELETE", "/v1/jobs/nope").status == 404)

        // The new documents are searchable at once.
        let found = try await server.request(
            "POST", "/v1/search", body: try JSONSerialization.data(withJSONObject: ["query": "Document 7 rivers", "k": 1]))
        #expect(String(decoding: found.body, as: UTF8.self).contains("/7.txt"))

        #expect(await server.stop() == 0, "\(server.stderr)")

        // A second writer while one runs: 409 naming the running job. A long batch window keeps the first
        // job's one new chunk waiting, so the two requests always overlap.
        try dir.write("more/new.txt", "A new document for the reindex.")
        let slow = try await ServedEmbed.start(["--db", db, "--allow-root", dir.path + "/more", "--batch-window-ms", "1500"])
        defer { _ = slow.process.isRunning ? kill(slow.process.processIdentifier, SIGKILL) : 0 }
        async let one = slow.request("POST", "/v1/reindex", body: Data("{}".utf8))
        async let two = slow.request("POST", "/v1/reindex", body: Data("{}".utf8))
        let answers = try await [one, two]
        #expect(answers.map(\.status).sorted() == [200, 409], "\(answers.map(\.status))")
        let conflict = try #require(answers.first { $0.status == 409 })
        #expect(conflict.errorType == "conflict_error")
        #expect(String(decoding: conflict.body, as: UTF8.self).contains("/v1/jobs/"))
        #expect(await slow.stop() == 0, "\(slow.stderr)")
    }
}
