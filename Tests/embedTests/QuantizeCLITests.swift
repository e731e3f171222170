import EmbedKitTestSupport
import Foundation
import Testing

/// `embed ingest --quantize` and the ways a query reads the vectors: every way gives the same answers.
@Suite("quantized vector files on the command line", .serialized)
struct QuantizeCLITests {
    static let queries = ["lighthouses word3n7 word3n8", "keepers word12n40", "harbour walls word25n3"]

    func writeTree(_ dir: TemporaryDirectory, count: Int, from start: Int = 0) throws {
        for i in start..<(start + count) {
            let words = (0..<120).map { "word\(i)n\($0) word\(($0 * 3 + i) % 40)n\($0 % 9)" }.joined(separator: " ")
            try dir.write("tree/\(i % 3 == 0 ? "a" : "b")/d\(i).txt", "Document \(i) about lighthouses and harbour walls. \(words)")
        }
    }

    func answers(_ db: String, scan: String, extra: [String] = []) async throws -> String {
        let result = try await EmbedBinary.run(
            ["query", "--db", db, "-k", "7", "--json", "--scan", scan] + extra + Self.queries, timeout: 60)
        #expect(result.status == 0, "\(scan): \(result.stderr)")
        #expect(!result.stdout.isEmpty)
        return result.stdout
    }

    func segments(_ dir: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("index.sqlite.vectors.seg-") }
    }

    func expectSameAnswers(_ db: String, _ dir: TemporaryDirectory, _ label: String) async throws {
        for extra in [["--mode", "vector"], ["--mode", "hybrid"], ["--mode", "vector", "--under", dir.path + "/tree/a"]] {
            let reference = try await answers(db, scan: "memory", extra: extra)
            for scan in ["float32", "int8", "auto"] {
                #expect(try await answers(db, scan: scan, extra: extra) == reference, "\(label): --scan \(scan) \(extra)")
            }
        }
    }

    @Test("int8 codes, float32 rows and memory answer alike; --quantize is recorded, and changing it rewrites the file")
    func quantize() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try writeTree(dir, count: 90)
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(
            ["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash", "--quantize", "int8"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let stats = try await EmbedBinary.run(["stats", "--db", db, "--json"])
        let json = try EmbedBinary.json(stats.stdout)
        #expect(json["quantization"] as? String == "int8")
        let files = try #require(json["files"] as? [[String: Any]])
        #expect(files.count == 4, "index, log, manifest and one segment: \(files)")
        let withCodes = try #require(files.last?["bytes"] as? Int)
        try await expectSameAnswers(db, dir, "int8")

        // Appended and deleted documents keep codes in the new segment and answer alike.
        try writeTree(dir, count: 5, from: 90)
        try FileManager.default.removeItem(atPath: dir.path + "/tree/b/d4.txt")
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/tree", "--db", db]).status == 0)
        #expect(try segments(dir).count == 2)
        try await expectSameAnswers(db, dir, "int8 after changes")

        // Without codes: written anew at once, smaller, and still the same answers.
        let none = try await EmbedBinary.run(["ingest", dir.path + "/tree", "--db", db, "--quantize", "none"])
        #expect(none.status == 0, "\(none.stderr)")
        let after = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
        #expect(after["quantization"] as? String == "none")
        let names = try segments(dir)
        #expect(names.count == 1)
        let withoutCodes = try #require(
            try FileManager.default.attributesOfItem(atPath: dir.path + "/" + names[0])[.size] as? Int)
        #expect(withoutCodes < withCodes * 9 / 10, "\(withoutCodes) bytes without codes, \(withCodes) with")
        try await expectSameAnswers(db, dir, "none")
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)
    }

    @Test("--quantize takes auto, int8 or none, and says so otherwise")
    func badValue() async throws {
        let result = try await EmbedBinary.run(["ingest", "/nonexistent", "--db", "/tmp/x.sqlite", "--quantize", "int4"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("auto") && result.stderr.contains("int8") && result.stderr.contains("none"), "\(result.stderr)")
    }
}
