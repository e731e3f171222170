import EmbedKit
import Foundation
import Testing

/// Runs the built `embed` executable, as a user would.
struct EmbedBinary {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        /// How long the child ran (not counting the wait for a turn to run it).
        var seconds: Double = 0
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    /// The repository root, found from this file's path.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The `embed` binary next to the test bundle (`swift build` puts both in the same folder).
    static let executable: URL? = {
        var candidates: [URL] = []
        if let bundle = Bundle.main.executableURL?.deletingLastPathComponent() {
            candidates.append(bundle.appendingPathComponent("embed"))
        }
        for configuration in ["debug", "release"] {
            candidates.append(repository.appendingPathComponent(".build/\(configuration)/embed"))
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs the binary to its end and returns its status and output.
    ///
    /// The child is waited for on a thread of its own: Swift Testing runs every test on Swift concurrency's
    /// cooperative threads, only as many as there are cores (two here), and a test blocked on a child holds
    /// one. Two such tests stalled every other test in the process, their timers and network callbacks too,
    /// for minutes under a sanitizer.
    /// - Parameter environment: variables set (or, with nil, removed) in the child's environment.
    /// - Parameter timeout: seconds after which the child is killed with SIGKILL (its status is then 128 + 9).
    static func run(
        _ arguments: [String], stdin: String? = nil, in directory: URL? = nil, environment: [String: String?] = [:],
        timeout: Double? = nil
    ) async throws -> Output {
        _ = try #require(executable, "build the embed executable first: swift build")
        let permit = try await children.acquire()
        defer { children.release(permit, outcome: .neutral) }
        return try await onOwnThread {
            try runBlocking(arguments, stdin: stdin, in: directory, environment: environment, timeout: timeout)
        }
    }

    /// ``run(_:stdin:in:environment:timeout:)`` at once, without waiting for a turn: for a child that must run
    /// while another is still going (the second run refused by the first one's lock).
    static func runNow(_ arguments: [String]) async throws -> Output {
        _ = try #require(executable, "build the embed executable first: swift build")
        return try await onOwnThread { try runBlocking(arguments) }
    }

    /// At most one child per core at a time: tests that wait on a child no longer hold a thread, so without a
    /// bound every suite would start its children at once and the load would break the tests' time limits.
    static let children = AdaptiveConcurrencyLimit(maxLimit: max(2, ProcessInfo.processInfo.activeProcessorCount))

    /// ``run(_:stdin:in:environment:timeout:)`` for a thread of the test's own (never on the cooperative pool).
    static func runBlocking(
        _ arguments: [String], stdin: String? = nil, in directory: URL? = nil, environment: [String: String?] = [:],
        timeout: Double? = nil
    ) throws -> Output {
        guard let binary = executable else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "embed"]) }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (name, value) in environment { merged[name] = value }
            process.environment = merged
        }
        process.currentDirectoryURL = directory ?? repository
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let started = Date()
        try process.run()
        if let timeout {
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                if process.isRunning { kill(pid, SIGKILL) }
            }
        }
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a full pipe cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self), seconds: Date().timeIntervalSince(started))
    }

    /// Starts the binary without waiting for it; its output is discarded.
    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let binary = try #require(executable, "build the embed executable first: swift build")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.currentDirectoryURL = repository
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs the binary and kills it with SIGKILL after `seconds`; returns its exit status if it finished first.
    static func runAndKill(_ arguments: [String], after seconds: Double) async throws -> Int32? {
        let process = try start(arguments)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(5)) }
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGKILL)
        await waitForExit(process)
        return nil
    }

    /// Every chunk of the index at `db` with its vector (`embed export --vectors`), without the chunk ids that
    /// differ between two indexes of the same documents, sorted: what two such indexes must share.
    static func comparableContents(_ db: String, environment: [String: String?] = [:]) async throws -> [String] {
        let export = try await run(["export", "--db", db, "--vectors"], environment: environment)
        #expect(export.status == 0, "\(export.stderr)")
        return export.lines.map { $0.replacing(/"chunk_id":\d+,?/, with: "") }.sorted()
    }

    /// Waits for a started child to end, off the cooperative threads (see ``run(_:stdin:in:environment:timeout:)``).
    static func waitForExit(_ process: Process) async {
        _ = try? await onOwnThread { process.waitUntilExit() }
    }

    /// Runs blocking work on a new thread and awaits its result, leaving the cooperative threads free.
    static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// Runs a bash command line; returns its status and its standard output and error together.
    static func shell(_ command: String) async -> (status: Int32, output: String) {
        (try? await onOwnThread { shellBlocking(command) }) ?? (-1, "cannot run bash")
    }

    static func shellBlocking(_ command: String) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        guard (try? process.run()) != nil else { return (-1, "cannot run bash") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func json(_ line: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}
