import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// Real gzip files made by gzip(1) (scripts/generate-gzip-fixtures.sh), whole and damaged.
@Suite("gzip documents")
struct GzipTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/gzip/\(name)")
        return try [UInt8](Data(contentsOf: url))
    }

    static func text(_ outcome: Gzip.Outcome) -> (String, [String])? {
        guard case .decompressed(let bytes, let warnings) = outcome else { return nil }
        return (String(decoding: bytes, as: UTF8.self), warnings)
    }

    @Test("whole files decompress; every member of a multi-member file is read, as gzip -d does")
    func whole() throws {
        let (page, pageWarnings) = try #require(Self.text(Gzip.decompress(try Self.fixture("page.html.gz"), limit: 1 << 20)))
        #expect(page.contains("<p>Inside a gzip file.</p>"))
        #expect(pageWarnings.isEmpty)
        let (two, twoWarnings) = try #require(Self.text(Gzip.decompress(try Self.fixture("two-members.txt.gz"), limit: 1 << 20)))
        #expect(two == "First member.\nSecond member.\n")
        #expect(twoWarnings.isEmpty)
        #expect(Gzip.decompress(try Self.fixture("not-gzip.txt.gz"), limit: 1 << 20) == .notGzip)
        #expect(Gzip.decompress([], limit: 1 << 20) == .notGzip)
    }

    @Test("damaged files keep the text decompressed before the damage, with a warning")
    func damaged() throws {
        let (truncated, truncatedWarnings) = try #require(
            Self.text(Gzip.decompress(try Self.fixture("truncated.txt.gz"), limit: 1 << 20)))
        #expect(truncated.hasPrefix("line 1\nline 2\n"))
        #expect(truncated.utf8.count > 20_000)
        #expect(truncatedWarnings.count == 1)
        #expect(truncatedWarnings.first?.hasPrefix("the gzip data ends early (truncated); kept the") == true)

        let (crc, crcWarnings) = try #require(Self.text(Gzip.decompress(try Self.fixture("crc-mismatch.txt.gz"), limit: 1 << 20)))
        #expect(crc == "The checksum of this text is wrong.\n")
        #expect(crcWarnings == ["the gzip data is damaged (incorrect data check); kept the 36 bytes decompressed before"])

        let (trailing, trailingWarnings) = try #require(
            Self.text(Gzip.decompress(try Self.fixture("trailing-garbage.txt.gz"), limit: 1 << 20)))
        #expect(trailing == "Text before the garbage.\n")
        #expect(trailingWarnings == ["data after the end of the gzip stream ignored"])

        // Only the header, then random bytes: never a crash.
        let (_, noiseWarnings) = try #require(Self.text(Gzip.decompress([0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0x13], limit: 100)))
        #expect(noiseWarnings.count == 1)
    }

    @Test("a gzip bomb is refused at the limit, with memory bounded by the limit and not the output size")
    func bomb() throws {
        let bomb = try Self.fixture("zeros-bomb.txt.gz")  // 64 MiB of zeros
        #expect(Gzip.decompress(bomb, limit: 1 << 20) == .tooLarge(limit: 1 << 20))
        let exact = 64 << 20
        guard case .decompressed(let all, let warnings) = Gzip.decompress(bomb, limit: exact) else {
            Issue.record("64 MiB did not fit a 64 MiB limit")
            return
        }
        #expect(all.count == exact)
        #expect(all.capacity <= exact + (1 << 16))  // the allocator's rounding, not a doubling
        #expect(warnings.isEmpty)
        #expect(Gzip.decompress(bomb, limit: exact - 1) == .tooLarge(limit: exact - 1))
    }

    @Test("the format of NAME.EXT.gz is EXT's; with no inner extension the decompressed bytes are sniffed")
    func formats() {
        #expect(FormatDetector.format(path: "docs/x.md.gz", bytes: []) == .markdown)
        #expect(FormatDetector.format(path: "docs/x.HTML.GZ", bytes: []) == .html)
        #expect(FormatDetector.format(path: "docs/x.gz", bytes: Array("<html><body>".utf8)) == .html)
        #expect(FormatDetector.format(path: "docs/.gz", bytes: Array("plain".utf8)) == .text)
    }

    @Test("ingesting .gz documents: parsed by inner format, damage and bombs reported by file, re-runs unchanged")
    func ingest() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let names = [
            "page.html.gz", "notes.md.gz", "sniffed.gz", "two-members.txt.gz", "truncated.txt.gz",
            "trailing-garbage.txt.gz", "crc-mismatch.txt.gz", "not-gzip.txt.gz", "zeros-bomb.txt.gz",
        ]
        // With no inner extension a .gz is not a document by name (D34), so it is read when named as a root.
        for name in names { try dir.write(name == "sniffed.gz" ? name : "docs/\(name)", bytes: try Self.fixture(name)) }
        let roots = [dir.path + "/docs", dir.path + "/sniffed.gz"]
        let db = dir.path + "/index.sqlite"
        func pipeline() throws -> IngestPipeline {
            let embedder = CountingEmbedder()
            return IngestPipeline(
                embedder: embedder, parser: ParserRegistry(configuration: .init(maximumFileSize: 1 << 20)),
                chunker: TextChunker(configuration: .init(maxTokens: 64, overlapTokens: 8), tokenCounter: embedder.tokenCounter),
                store: try SQLiteIndexStore(path: db),
                configuration: .init(embeddingConcurrency: 2, batchSize: 8, parseConcurrency: 2, maxFileSize: 1 << 20))
        }
        let collected = Collected()
        let report = try await pipeline().run(
            paths: roots, observer: .init(diagnostic: { collected.append($0) }))
        #expect(report.added == 8)
        #expect(report.failed == 0)
        let messages = Dictionary(
            collected.items.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.description) },
            uniquingKeysWith: { $0 + " | " + $1 })
        #expect(messages["zeros-bomb.txt.gz"]?.contains("warning: decompresses to more than the 1 MiB size limit") == true)
        #expect(messages["truncated.txt.gz"]?.contains("warning: the gzip data ends early (truncated)") == true)
        #expect(messages["crc-mismatch.txt.gz"]?.contains("warning: the gzip data is damaged (incorrect data check)") == true)
        #expect(messages["trailing-garbage.txt.gz"]?.contains("warning: data after the end of the gzip stream ignored") == true)
        #expect(messages["not-gzip.txt.gz"]?.contains("warning: named .gz but not gzip-compressed; read as it is") == true)
        for whole in ["page.html.gz", "notes.md.gz", "sniffed.gz", "two-members.txt.gz"] {
            #expect(messages[whole] == nil, "\(whole): \(messages[whole] ?? "")")
        }

        let reader = try IndexReader(path: db)
        let documents = try reader.documents()
        let formats = Dictionary(uniqueKeysWithValues: documents.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.format) })
        #expect(formats["page.html.gz"] == .html)
        #expect(formats["notes.md.gz"] == .markdown)
        #expect(formats["sniffed.gz"] == .html)
        #expect(formats["two-members.txt.gz"] == .text)
        var texts: [String: String] = [:]
        try reader.forEachChunk(withVectors: false) { chunk, _ in
            texts[URL(fileURLWithPath: chunk.path).lastPathComponent, default: ""] += chunk.text + "\n"
        }
        #expect(texts["page.html.gz"]?.contains("Inside a gzip file.") == true)
        #expect(texts["sniffed.gz"]?.contains("Sniffed after decompression.") == true)
        #expect(texts["two-members.txt.gz"]?.contains("Second member.") == true)
        #expect(texts["zeros-bomb.txt.gz"] == nil)

        // Unchanged files are recognized by the size and time of the .gz itself; a rewritten one is updated.
        let again = try await pipeline().run(paths: roots)
        #expect((again.added, again.updated, again.unchanged) == (0, 0, 8))
        try dir.write("docs/notes.md.gz", bytes: try Self.fixture("page.html.gz"))
        let changed = try await pipeline().run(paths: roots)
        #expect((changed.added, changed.updated, changed.unchanged) == (0, 1, 7))
    }
}
