import EmbedKitTestSupport
import Foundation
import Testing

/// End to end: legacy charsets and gzip documents through the built `embed` binary.
@Suite("embed: charsets and gzip")
struct CharsetGzipCLITests {
    static let fixtures = EmbedBinary.repository.appendingPathComponent("Tests/EmbedKitTests/Fixtures")

    @Test("EUC-KR, KOI8-R and gzip pages are indexed as text; a gzip bomb is skipped with a warning, exit 0")
    func ingest() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let docs = dir.url.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        for (folder, name) in [
            ("charsets", "euc-kr.html"), ("charsets", "koi8-r.html"), ("gzip", "page.html.gz"), ("gzip", "zeros-bomb.txt.gz"),
        ] {
            try FileManager.default.copyItem(
                at: Self.fixtures.appendingPathComponent("\(folder)/\(name)"), to: docs.appendingPathComponent(name))
        }
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(["ingest", docs.path, "--db", db, "--embedder", "hash", "--max-file-mib", "1"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stderr.contains(
            "zeros-bomb.txt.gz: warning: decompresses to more than the 1 MiB size limit (a gzip bomb?), skipped"))
        #expect(!ingest.stderr.contains("euc-kr.html:"), "\(ingest.stderr)")

        let export = try await EmbedBinary.run(["export", "--db", db])
        #expect(export.status == 0)
        let texts = try export.lines.map { try EmbedBinary.json($0)["text"] as? String ?? "" }.joined(separator: "\n")
        #expect(texts.contains("한국어 텍스트입니다. 안녕하세요, 세계! 똠방각하"))
        #expect(texts.contains("Съешь же ещё этих мягких французских булок"))
        #expect(texts.contains("Inside a gzip file."))
        #expect(!texts.contains("\u{FFFD}"))
    }
}
