import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// Stopping a run: SIGTERM ends it within seconds whatever it waits for, and SIGKILL loses at most the last
/// few seconds of work.
@Suite("stopping a run", .serialized)
struct StopTests {
    static func openai(_ server: LoopbackEmbeddingServer) -> [String] {
        ["--embedder", "openai", "--base-url", server.baseURL.absoluteString, "--model", "fake-embed"]
    }

    /// Starts `embed` with output captured to files (a pipe nobody reads could block it).
    static func start(_ arguments: [String], in dir: TemporaryDirectory) throws -> Process {
        let process = Process()
        guard let binary = EmbedBinary.executable else { throw CocoaError(.fileNoSuchFile) }
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        #expect(FileManager.default.createFile(atPath: dir.path + "/stderr.txt", contents: nil))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.path + "/stderr.txt"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Sends SIGTERM to `process` once `ready` holds (the run is under way: a loaded machine can take seconds to
    /// start it, and a signal before its handler is installed just kills it), then `delay` seconds later, and
    /// returns how long it took to exit after the signal.
    static func terminate(
        _ process: Process, when ready: @Sendable () -> Bool, after delay: Double
    ) async throws -> Double {
        let start = Date()
        while !ready() && process.isRunning && Date().timeIntervalSince(start) < TestTiming.bound(60) {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(ready(), "the run never got under way")
        try await Task.sleep(for: .seconds(delay))
        let sent = Date()
        kill(process.processIdentifier, SIGTERM)
        // Watched from a thread of its own: under a loaded suite the cooperative threads can be busy for
        // seconds, and a watch that needs one would add that to the time measured.
        let exited = try await EmbedBinary.onOwnThread { () -> Date in
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { usleep(2_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            return Date()
        }
        return exited.timeIntervalSince(sent)
    }

    /// Runs `embed`, sends SIGTERM `delay` seconds after `ready` holds, and expects exit status 130 within 5 s.
    static func expectPromptStop(
        _ arguments: [String], in dir: TemporaryDirectory, when ready: @Sendable () -> Bool, after delay: Double,
        during what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let process = try start(arguments, in: dir)
        let seconds = try await terminate(process, when: ready, after: delay)
        print("SIGTERM to exit during \(what): \(String(format: "%.2f", seconds)) s")
        #expect(process.terminationStatus == 130, sourceLocation: sourceLocation)
        #expect(seconds < TestTiming.bound(5), sourceLocation: sourceLocation)
    }

    @Test("SIGTERM while the server hangs on the dimension probe: exit 130 within 5 s")
    func stopDuringProbe() async throws {
        let server = try LoopbackEmbeddingServer(.init(dimension: 8))
        defer { server.stop() }
        server.script([.slow(.seconds(120))])
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "Cormorants dry their wings in the sun.")
        try await Self.expectPromptStop(
            ["ingest", dir.path + "/docs", "--db", dir.path + "/index.sqlite"] + Self.openai(server), in: dir,
            when: { true }, after: 1, during: "the dimension probe")
    }

    @Test("SIGTERM while every request hangs: exit 130 within 5 s, finished documents kept, index sound")
    func stopWhileRequestsHang() async throws {
        let server = try LoopbackEmbeddingServer(.init(dimension: 8))
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path + "/index.sqlite"
        try dir.write("docs/first.txt", "Puffins nest in burrows on cliff tops.")
        let first = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db] + Self.openai(server))
        #expect(first.status == 0, "\(first.stderr)")
        for i in 0..<20 { try dir.write("docs/more\(i).txt", "Note \(i): gannets dive from thirty metres.") }
        server.script(Array(repeating: .slow(.seconds(120)), count: 100))
        try await Self.expectPromptStop(
            ["ingest", dir.path + "/docs", "--db", db, "--batch-size", "1", "--concurrency", "4"] + Self.openai(server),
            in: dir, when: { server.inFlight >= 4 }, after: 0.5, during: "requests that hang")
        let check = try await EmbedBinary.run(["stats", "--db", db, "--check", "--json"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(try EmbedBinary.json(check.stdout)["documents"] as? Int == 1)
    }

    @Test("SIGTERM while a 40 MB file is parsed and chunked: exit 130 within 5 s")
    func stopDuringLargeFile() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let paragraph = (0..<60).map { "word\($0) of a very long manual about lighthouse optics" }.joined(separator: " ")
        let text = (0..<13_500).map { "## Section \($0)\n\n\(paragraph)\n\n" }.joined()
        #expect(text.utf8.count > 40 << 20)
        try dir.write("docs/huge.md", text)
        try await Self.expectPromptStop(
            ["ingest", dir.path + "/docs", "--db", dir.path + "/index.sqlite", "--embedder", "hash"], in: dir,
            when: { FileManager.default.fileExists(atPath: dir.path + "/index.sqlite") }, after: 0.5,
            during: "the chunking of a 40 MB file")
    }

    @Test("SIGKILL in the middle of a slow ingest keeps the documents finished more than 2 s before")
    func killKeepsWork() async throws {
        // 150 ms per request, one chunk per request, two at a time: about 13 documents a second.
        let server = try LoopbackEmbeddingServer(.init(dimension: 8, latency: .milliseconds(150)))
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for i in 0..<200 { try dir.write("docs/n\(i).txt", "Note \(i) on terns and their long migrations.") }
        let db = dir.path + "/index.sqlite"
        let status = try await EmbedBinary.runAndKill(
            ["ingest", dir.path + "/docs", "--db", db, "--batch-size", "1", "--concurrency", "2"]
                + Self.openai(server), after: 5)
        #expect(status == nil, "the ingest finished before it could be killed")
        let check = try await EmbedBinary.run(["stats", "--db", db, "--check", "--json"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let kept = try #require(try EmbedBinary.json(check.stdout)["documents"] as? Int)
        print("documents kept after SIGKILL at 5 s: \(kept) of about \(server.requests.count) embedded")
        // Before commits by time, nothing was committed until 2,048 chunks or the end: 0 documents.
        #expect(kept >= 3)
        // The next run finishes the rest.
        let resumed = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--json"] + Self.openai(server))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try EmbedBinary.json(resumed.stdout)["unchanged"] as? Int == kept)
    }
}
