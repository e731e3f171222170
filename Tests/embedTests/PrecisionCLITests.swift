import EmbedKitTestSupport
import Foundation
import Testing

/// `--precision`: bf16 where the CPU has AVX512_BF16, refused where it does not; the same index either way.
@Suite("--precision on the command line")
struct PrecisionCLITests {
    /// AVX512_BF16 with the AVX-512 oneDNN needs, as /proc/cpuinfo lists them.
    static let cpuHasBF16: Bool = {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? [])
        return ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16"].allSatisfy { flags.contains(Substring($0)) }
    }()

    @Test(
        "an index built in bf16 is searched and updated in fp32 (same identity, same top hits); without AVX512_BF16 bf16 is refused with status 3",
        .enabled(if: InstallTests.modelSource != nil, "model not fetched: run scripts/fetch-model.sh")
    )
    func bf16AndFP32ShareAnIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/vacuum.txt", "The VACUUM command reclaims storage occupied by dead tuples in PostgreSQL tables.")
        try dir.write("docs/backup.md", "# Backups\n\nRun pg_dump every night and keep the dumps for a week.")
        try dir.write("docs/harbour.txt", "Ships wait in the harbour until the tide turns and the pilot comes aboard.")
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--precision", "bf16"])
        guard Self.cpuHasBF16 else {
            #expect(ingest.status == 3, "\(ingest.stderr)")
            #expect(ingest.stderr.contains("AVX512_BF16") && ingest.stderr.contains("--precision"), "\(ingest.stderr)")
            print("bf16 ingest not run: this CPU has no AVX512_BF16; checked that it is refused with status 3")
            return
        }
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let questions = ["how do I reclaim space from dead rows", "nightly database dumps", "when do ships leave port"]
        let expected = ["vacuum.txt", "backup.md", "harbour.txt"]
        for precision in ["fp32", "bf16"] {
            let query = try await EmbedBinary.run(
                ["query", "--db", db, "--mode", "vector", "--json", "-k", "1", "--precision", precision] + questions)
            #expect(query.status == 0, "\(precision): \(query.stderr)")
            let tops = try query.lines.map { try EmbedBinary.json($0) }
            #expect(tops.count == questions.count, "\(precision): \(query.stdout)")
            for (top, file) in zip(tops, expected) {
                #expect((top["path"] as? String ?? "").hasSuffix(file), "\(precision): \(top)")
            }
        }
        // The index recorded no precision: fp32 updates it without a guard refusing, and nothing is re-embedded.
        try dir.write("docs/harbour.txt", "Ships wait in the harbour until the tide turns; the pilot boards at dawn.")
        let reindex = try await EmbedBinary.run(["reindex", "--db", db])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        let summary = reindex.stdout + reindex.stderr
        #expect(summary.contains("1 updated, 2 unchanged"), "\(summary)")
    }

    @Test("--precision bf16 with the hash embedder is a usage error (status 2) and writes nothing")
    func precisionWithAnotherEmbedder() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "Some text to index.")
        let db = dir.path + "/index.sqlite"
        let run = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash", "--precision", "bf16"])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("--precision bf16 is for the minilm embedder"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db))
    }
}
