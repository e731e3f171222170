import EmbedKitTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The vector file's update killed with SIGKILL at each of its steps, while appending, deleting and compacting:
/// the next query must answer what a clean index of the same documents answers, and the next writer must
/// leave a checked file and no leftovers.
///
/// Each kill lands exactly at its step: the binary stops there when `EMBED_FAILPOINT` names it (see
/// `Failpoint`), and is killed once it says so.
@Suite("the vector file killed anywhere", .serialized)
struct VectorFileKillTests {
    static let queries = ["lighthouses word3", "keepers of the light word17", "harbour word25 word26"]

    /// A change to the tree of 40 documents, and the command that applies it.
    struct Scenario: Sendable {
        var name: String
        var change: @Sendable (TemporaryDirectory) throws -> Void
        var command: [String]
        var steps: [String]
    }

    static let allSteps = ["segment-without-header", "segment-renamed", "manifest-unrenamed", "manifest-renamed"]

    static let scenarios: [Scenario] = [
        Scenario(
            name: "append", change: { dir in
                for i in 40..<44 { try dir.write("tree/d\(i).txt", document(i)) }
            }, command: ["ingest", "TREE", "--db", "DB", "--embedder", "hash"], steps: allSteps),
        Scenario(
            name: "delete", change: { dir in
                for i in [3, 9] { try FileManager.default.removeItem(atPath: dir.path + "/tree/d\(i).txt") }
            }, command: ["reindex", "--db", "DB"], steps: ["manifest-unrenamed", "manifest-renamed"]),
        // A third of the rows dead: the update rewrites every live row into one segment.
        Scenario(
            name: "compaction", change: { dir in
                for i in 0..<14 { try FileManager.default.removeItem(atPath: dir.path + "/tree/d\(i).txt") }
            }, command: ["reindex", "--db", "DB"], steps: allSteps),
    ]

    static func document(_ i: Int) -> String {
        "Document \(i) about lighthouses, keepers of the light and harbour walls. "
            + (0..<60).map { "word\(i)n\($0) word\(($0 * 7 + i) % 30)" }.joined(separator: " ")
    }

    /// The query's answers without what differs between two indexes of the same documents.
    func answers(_ db: String, in dir: TemporaryDirectory) async throws -> String {
        let result = try await EmbedBinary.run(
            ["query", "--db", db, "-k", "6", "--mode", "vector", "--json"] + Self.queries, timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.replacing(/"chunk_id":\d+,/, with: "").replacing(dir.path, with: "DIR")
    }

    @Test("SIGKILL at every step of appending, deleting and compacting: queries equal a clean index's")
    func killedAnywhere() async throws {
        for scenario in Self.scenarios {
            // What a clean index of the changed tree answers.
            let reference = try TemporaryDirectory()
            defer { reference.remove() }
            for i in 0..<40 { try reference.write("tree/d\(i).txt", Self.document(i)) }
            try scenario.change(reference)
            let clean = reference.path + "/index.sqlite"
            let made = try await EmbedBinary.run(["ingest", reference.path + "/tree", "--db", clean, "--embedder", "hash"])
            try #require(made.status == 0, "\(made.stderr)")
            let expected = try await answers(clean, in: reference)

            for step in scenario.steps {
                let label = "\(scenario.name) killed at \(step)"
                let dir = try TemporaryDirectory()
                defer { dir.remove() }
                for i in 0..<40 { try dir.write("tree/d\(i).txt", Self.document(i)) }
                let db = dir.path + "/index.sqlite"
                let first = try await EmbedBinary.run(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash"])
                try #require(first.status == 0, "\(first.stderr)")
                try scenario.change(dir)
                let ready = dir.path + "/ready"
                let arguments = scenario.command.map { $0 == "DB" ? db : $0 == "TREE" ? dir.path + "/tree" : $0 }
                let process = try EmbedBinary.start(
                    arguments, environment: ["EMBED_FAILPOINT": step, "EMBED_FAILPOINT_READY": ready])
                let deadline = Date().addingTimeInterval(60)
                while process.isRunning && !FileManager.default.fileExists(atPath: ready) && Date() < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                let stopped = FileManager.default.fileExists(atPath: ready)
                kill(process.processIdentifier, SIGKILL)
                await EmbedBinary.waitForExit(process)
                #expect(stopped, "\(label): the step was never reached")

                // The next query answers exactly, and leaves the file current.
                #expect(try await answers(db, in: dir) == expected, "\(label): the query's answers differ from a clean index's")
                let check = try await EmbedBinary.run(["stats", "--db", db, "--check"])
                #expect(check.status == 0, "\(label): \(check.stderr)")
                // The next writer leaves no temporary and no segment the manifest does not name.
                let again = try await EmbedBinary.run(["reindex", "--db", db])
                #expect(again.status == 0, "\(label): \(again.stderr)")
                #expect(try await answers(db, in: dir) == expected, "\(label): after the next reindex")
                let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
                #expect(!names.contains { $0.contains(".tmp-") }, "\(label): \(names)")
                let named = try Self.namedSegments(db)
                let present = Set(names.filter { $0.hasPrefix("index.sqlite.vectors.seg-") })
                #expect(present == named, "\(label): segments \(present.sorted()) but the manifest names \(named.sorted())")
            }
        }
    }

    /// The file names of the segments the manifest names (serials at bytes 64 + 32·i, as the manifest's layout says).
    static func namedSegments(_ db: String) throws -> Set<String> {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: db + ".vectors")))
        let count = bytes.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 32, as: UInt32.self)) }
        return Set((0..<count).map { i in
            let serial = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 64 + 32 * i, as: UInt64.self) }
            let hex = String(serial, radix: 16)
            return "index.sqlite.vectors.seg-" + String(repeating: "0", count: 16 - hex.count) + hex
        })
    }
}
