@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// Files that change between the walk and the read: each fails alone, with a clear reason, and never blocks.
@Suite("files that vanish or change while being read")
struct VanishingFileTests {
    func pipeline(_ dir: TemporaryDirectory, maxFileSize: Int64 = 64 << 20) throws -> IngestPipeline {
        let embedder = HashEmbedder()
        return IngestPipeline(
            embedder: embedder, parser: ParserRegistry(), chunker: TextChunker(tokenCounter: embedder.tokenCounter),
            store: try SQLiteIndexStore(path: dir.path + "/index.sqlite"),
            configuration: .init(maxFileSize: maxFileSize))
    }

    /// The one file the walker finds under `dir/docs`.
    func walked(_ dir: TemporaryDirectory) throws -> SourceFile {
        let events = Array(FileWalker(roots: [dir.path + "/docs"]))
        guard case .file(let file) = try #require(events.first) else {
            Issue.record("no file walked: \(events)")
            throw CancellationError()
        }
        return file
    }

    func problem(_ prepared: PreparedFile) -> Diagnostic? {
        if case .problem(let diagnostic) = prepared { return diagnostic }
        return nil
    }

    @Test("deleted after the walk: an error naming the file")
    func deleted() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "here and then gone")
        let file = try walked(dir)
        try FileManager.default.removeItem(atPath: file.path)
        let diagnostic = try #require(problem(try pipeline(dir).prepare(file, storedHash: nil)))
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.message == "cannot read: No such file or directory")
    }

    @Test("replaced by a FIFO after the walk: refused at once, not a read that waits for a writer")
    func replacedByFIFO() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "a regular file, for now")
        let file = try walked(dir)
        try FileManager.default.removeItem(atPath: file.path)
        #expect(mkfifo(file.path, 0o644) == 0)
        let started = ContinuousClock.now
        let diagnostic = try #require(problem(try pipeline(dir).prepare(file, storedHash: nil)))
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(diagnostic.message == "cannot read: not a regular file")
    }

    @Test("grown past the size limit after the walk: skipped, not read without bound")
    func grown() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "small")
        let file = try walked(dir)
        try dir.write("docs/a.txt", String(repeating: "grown ", count: 400_000))
        let diagnostic = try #require(problem(try pipeline(dir, maxFileSize: 1 << 20).prepare(file, storedHash: nil)))
        #expect(diagnostic.message == "cannot read: larger than the size limit")
    }

    @Test("a name that is not UTF-8 is reported as such, once")
    func invalidName() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/good.txt", "fine")
        let bad = dir.path + "/docs/bad-\u{1}.txt"
        // Make the name's bytes invalid UTF-8 (0xFF) with the C API; Swift strings can't hold them.
        var raw = Array(bad.utf8)
        raw[raw.firstIndex(of: 1)!] = 0xFF
        raw.append(0)
        let fd = raw.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644) }
        #expect(fd >= 0)
        close(fd)
        defer { raw.withUnsafeBufferPointer { _ = unlink(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self)) } }
        let events = Array(FileWalker(roots: [dir.path + "/docs"]))
        #expect(events.count == 2)
        guard case .problem(let diagnostic) = events.first else {
            Issue.record("expected a problem first: \(events)")
            return
        }
        #expect(diagnostic.message == "name is not valid UTF-8, skipped")
        #expect(diagnostic.path.hasPrefix(dir.path + "/docs/bad-"))
    }
}
