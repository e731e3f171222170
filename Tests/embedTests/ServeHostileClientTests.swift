@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// `embed serve` against the clients no HTTP library would be: slow, huge, and gone mid-stream.
@Suite("embed serve: hostile clients and streamed jobs", .serialized)
struct ServeHostileClientTests {
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The server's peak resident memory so far (VmHWM), in KiB.
    static func peakKiB(_ server: ServedEmbed) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    @Test("a body trickled a byte at a time gets 408 and is cut off, a trickled head is closed, and everyone else is served meanwhile")
    func slowloris() async throws {
        let server = try await ServedEmbed.start(ServeCLITests.hash + ["--client-timeout", "2"])
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }
        let port = server.port

        // Each sends one byte every 300 ms for at most 20 s, and stops when the server answers or closes.
        func trickle(_ head: String, then byte: UInt8) async throws -> (answer: String, closed: Bool) {
            try await EmbedBinary.onOwnThread {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                connection.send(head)
                var answer: [UInt8] = []
                for _ in 0..<66 {
                    guard connection.send([byte]) else { return (Self.text(answer), true) }
                    let (bytes, closed) = connection.receive(timeout: .milliseconds(300))
                    answer += bytes
                    if closed { return (Self.text(answer), true) }
                }
                return (Self.text(answer), false)
            }
        }
        async let body = trickle(
            "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
            then: UInt8(ascii: " "))
        async let head = trickle("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-Slow: ", then: UInt8(ascii: "a"))
        for n in 0..<8 {
            #expect(try await server.embeddings(["input": "served while others trickle \(n)"]).status == 200)
            try await Task.sleep(for: .milliseconds(250))
        }
        let (bodyAnswer, bodyClosed) = try await body
        let (_, headClosed) = try await head
        #expect(bodyAnswer.hasPrefix("HTTP/1.1 408"), "\(bodyAnswer)")
        #expect(bodyAnswer.contains(#""type":"invalid_request_error""#), "\(bodyAnswer)")
        #expect(bodyClosed, "the trickling client was answered but not disconnected")
        #expect(headClosed, "a head trickled a byte at a time kept its connection")
        #expect(try await server.embeddings(["input": "still serving"]).status == 200)
        #expect(await server.stop() == 0, "\(server.stderr)")
    }

    @Test("a 1 GB body, declared or chunked, is refused with 413 long before it is read, in bounded memory")
    func gigabyteBody() async throws {
        let server = try await ServedEmbed.start(ServeCLITests.hash)
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }
        let port = server.port
        let gigabyte = 1 << 30
        let megabyte = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)

        // Sends the head, then the body a MiB at a time until the server answers; returns the answer and how
        // much of the body went out.
        func send(head: String, chunked: Bool) async throws -> (answer: String, sent: Int) {
            try await EmbedBinary.onOwnThread {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                connection.send(head)
                var sent = 0
                var answer: [UInt8] = []
                while sent < gigabyte {
                    let piece = chunked ? Array("100000\r\n".utf8) + megabyte + Array("\r\n".utf8) : megabyte
                    guard connection.send(piece) else { break }
                    sent += megabyte.count
                    let (bytes, closed) = connection.receive(timeout: .zero)
                    answer += bytes
                    if closed || !answer.isEmpty { break }
                }
                let sofar = answer
                answer += connection.read(for: .seconds(10)) { Self.text(sofar + $0).contains("}}") }.bytes
                return (Self.text(answer), sent)
            }
        }
        let peakBefore = try Self.peakKiB(server)
        let declared = try await send(
            head: "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(gigabyte)\r\n\r\n",
            chunked: false)
        #expect(declared.answer.hasPrefix("HTTP/1.1 413"), "\(declared.answer.prefix(300))")
        #expect(declared.answer.contains("invalid_request_error"))
        #expect(declared.sent < 256 << 20, "\(declared.sent >> 20) MiB went out before the answer")

        let chunked = try await send(
            head: "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            chunked: true)
        #expect(chunked.answer.hasPrefix("HTTP/1.1 413"), "\(chunked.answer.prefix(300))")
        #expect(chunked.sent < 256 << 20, "\(chunked.sent >> 20) MiB went out before the answer")

        // Buffering the gigabyte would add at least 1024 MiB to the peak; a sanitizer's own overhead stays far below.
        let growth = try Self.peakKiB(server) - peakBefore
        #expect(growth < 512 << 10, "the server's peak RSS grew by \(growth >> 10) MiB")
        #expect(try await server.embeddings(["input": "still serving"]).status == 200)
        #expect(await server.stop() == 0, "\(server.stderr)")
    }

    @Test("a job's progress streams (as server-sent events) before it ends, and a client that hangs up does not stop it")
    func streamedJob() async throws {
        // The served model is an OpenAI-compatible server the test holds: the job cannot end until it is released.
        let upstream = try LoopbackEmbeddingServer()
        defer { upstream.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "The first document.")
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/docs", "--db", db, "--embedder", "openai", "--base-url", upstream.baseURL.absoluteString,
             "--model", "held"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        for n in 0..<30 { try dir.write("more/\(n).txt", "Document \(n) is about rivers number \(n).") }
        let more = try #require(FileWalker.canonicalPath(dir.path + "/more"))
        let server = try await ServedEmbed.start(["--db", db, "--allow-root", more, "--job-batch-size", "4"])
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }

        upstream.hold()
        let body = #"{"paths": ["\#(more)"]}"#
        let port = server.port
        // Reads the stream until a progress event; the job is still waiting on the model then. Then hangs up.
        let streamed = try await EmbedBinary.onOwnThread {
            let connection = try RawConnection(port: port)
            defer { connection.close() }
            connection.send(
                "POST /v1/ingest HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
            return Self.text(connection.read(for: .seconds(30)) { Self.text($0).contains(#""event":"progress""#) }.bytes)
        }
        #expect(streamed.contains("text/event-stream"), "\(streamed)")
        #expect(streamed.contains(#"data: {"event":"started""#), "\(streamed)")
        #expect(streamed.contains(#""event":"progress""#), "no progress before the job could end: \(streamed)")
        let id = try #require(streamed.firstMatch(of: /"job":"([0-9a-f-]+)"/)?.1).description
        #expect(try await server.request("GET", "/v1/jobs/\(id)").json["state"] as? String == "running")

        upstream.release()
        var state = "running"
        let deadline = ContinuousClock.now + .seconds(60)
        var last: ServedEmbed.Answer?
        var searches = 0
        while state == "running" && ContinuousClock.now < deadline {
            // Searches while the job writes see a consistent index: every answer whole, every hit a stored file.
            let answer = try await server.request(
                "POST", "/v1/search", body: Data(#"{"query": "rivers", "k": 50, "mode": "vector"}"#.utf8))
            #expect(answer.status == 200, "\(String(decoding: answer.body, as: UTF8.self))")
            for line in String(decoding: answer.body, as: UTF8.self).split(separator: "\n") {
                let path = try #require(try EmbedBinary.json(String(line))["path"] as? String)
                #expect(FileManager.default.fileExists(atPath: path), "\(path)")
            }
            searches += 1
            last = try await server.request("GET", "/v1/jobs/\(id)")
            state = last?.json["state"] as? String ?? "?"
        }
        #expect(searches > 0)
        #expect(state == "succeeded", "\(String(decoding: last?.body ?? Data(), as: UTF8.self))")
        let events = try #require(last?.json["events"] as? [[String: Any]])
        #expect((events.last?["report"] as? [String: Any])?["added"] as? Int == 30, "\(events.last ?? [:])")
        let found = try await server.request(
            "POST", "/v1/search", body: Data(#"{"query": "Document 7 is about rivers number 7.", "k": 1, "mode": "keyword"}"#.utf8))
        #expect(String(decoding: found.body, as: UTF8.self).contains("/7.txt"))
        #expect(await server.stop() == 0, "\(server.stderr)")
    }

    /// An index of one document, 20 more under `more/` to ingest, and a server whose jobs take a batch window
    /// (1 s, the model otherwise idle) per text: a job of 20 texts streams for about 20 s.
    static func slowJobServer(_ dir: TemporaryDirectory, _ extra: [String] = []) async throws -> (ServedEmbed, String) {
        try dir.write("docs/a.txt", "The first document.")
        let db = dir.path + "/index.sqlite"
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"]).status == 0)
        for n in 0..<20 { try dir.write("more/\(n).txt", "Document \(n) is about lamps number \(n).") }
        let more = try #require(FileWalker.canonicalPath(dir.path + "/more"))
        let server = try await ServedEmbed.start(
            ["--db", db, "--allow-root", more, "--job-batch-size", "1", "--job-concurrency", "1", "--batch-window-ms", "1000"]
                + extra)
        return (server, more)
    }

    /// Posts an ingest of `folder` on a raw connection, then `after` on the same one; returns what came back
    /// until the server closed it or `seconds` passed.
    static func follow(port: Int, folder: String, then after: String = "", for seconds: Int) async throws -> String {
        try await EmbedBinary.onOwnThread {
            let connection = try RawConnection(port: port)
            defer { connection.close() }
            let body = #"{"paths": ["\#(folder)"]}"#
            connection.send(
                "POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)" + after)
            return Self.text(connection.read(for: .seconds(seconds)).bytes)
        }
    }

    @Test("SIGTERM while a client follows a job: the job stops after its batch in flight, its stream ends, and the server exits 0")
    func sigtermDuringJob() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (server, more) = try await Self.slowJobServer(dir)
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }
        async let streamed = Self.follow(port: server.port, folder: more, for: 60)
        try await Task.sleep(for: .seconds(2))
        let asked = ContinuousClock.now
        let status = await server.stop()
        let took = ContinuousClock.now - asked
        let text = try await streamed
        #expect(status == 0, "\(server.stderr)")
        // The whole job would take about 20 s more; stopping waits for one batch (at most the 1 s window) and the drain.
        #expect(took < .seconds(12), "SIGTERM took \(took) with a client following a job")
        #expect(text.contains(#""event":"cancelled""#), "\(text.suffix(400))")
    }

    @Test("a request pipelined behind a streaming answer that does not arrive in time closes the connection, never a 408 inside the stream")
    func pipelinedLateRequest() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (server, more) = try await Self.slowJobServer(dir, ["--client-timeout", "2"])
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }
        // The second request declares a body it never sends.
        let text = try await Self.follow(
            port: server.port, folder: more,
            then: "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
            for: 12)
        #expect(text.contains(#""event":"started""#), "\(text)")
        #expect(!text.contains("HTTP/1.1 408"), "a 408 was written inside the job's stream: \(text)")
        #expect(await server.stop() == 0, "\(server.stderr)")
    }
}
