@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

@Suite("SQLiteIndexStore")
struct SQLiteIndexStoreTests {
    let settings = IndexSettings(embedder: HashEmbedder().identity, chunking: .init())

    func document(_ path: String, texts: [String], hash: UInt8 = 1) -> IndexedDocument {
        let embedder = HashEmbedder()
        let chunks = texts.enumerated().map { i, text in
            Chunk(ordinal: i, text: text, startOffset: 0, endOffset: text.unicodeScalars.count, line: 1, headingPath: ["H"], tokenCount: 1)
        }
        return IndexedDocument(
            path: path, size: 10, modificationTimeNanoseconds: 5, contentHash: [hash], format: .text, title: "T",
            chunks: chunks, textHashes: texts.map { Array($0.utf8) }, vectors: texts.map(embedder.vector(for:)))
    }

    @Test("writing a document twice replaces it: nothing is duplicated, unused vectors are deleted")
    func replace() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/index.sqlite"
        let store = try SQLiteIndexStore(path: path)
        try await store.prepare(settings, roots: [IngestRoot(path: dir.path)])
        try await store.write([document("/a", texts: ["one", "two"]), document("/b", texts: ["two", "three"])])
        var stats = try IndexReader(path: path).statistics()
        #expect((stats.documents, stats.chunks, stats.vectors) == (2, 4, 3))
        try await store.write([document("/a", texts: ["four"], hash: 2)])
        stats = try IndexReader(path: path).statistics()
        #expect((stats.documents, stats.chunks, stats.vectors) == (2, 3, 3))  // "one" is gone, "two" is still used by /b
        try await store.remove(paths: ["/b"])
        stats = try IndexReader(path: path).statistics()
        #expect((stats.documents, stats.chunks, stats.vectors) == (1, 1, 1))
        let states = try await store.documentStates()
        #expect(states["/a"]?.contentHash == [2])
        #expect(states["/a"]?.chunkCount == 1)
    }

    @Test("vectors round-trip as little-endian float32 and serve as the embedding cache")
    func vectors() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/index.sqlite"
        let store = try SQLiteIndexStore(path: path)
        try await store.prepare(settings, roots: [])
        let doc = document("/a", texts: ["alpha", "beta"])
        try await store.write([doc])
        let matrix = try IndexReader(path: path).loadVectors(dimension: 384)
        #expect(matrix.count == 2)
        #expect(Array(matrix.values[0..<384]) == doc.vectors[0])
        let cached = try await store.cachedVectors(for: [Array("beta".utf8), Array("gamma".utf8)])
        #expect(cached.count == 1)
        #expect(cached[Array("beta".utf8)] == doc.vectors[1])
        var exported: [String] = []
        try IndexReader(path: path).forEachChunk(withVectors: true) { chunk, vector in
            exported.append(chunk.text)
            #expect(vector?.count == 384)
            #expect(chunk.headingPath == ["H"])
        }
        #expect(exported == ["alpha", "beta"])
    }

    @Test("an index refuses another embedder or chunking, with a message that says what to do")
    func mismatch() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/index.sqlite"
        try await SQLiteIndexStore(path: path).prepare(settings, roots: [])
        let other = IndexSettings(embedder: HashEmbedder(dimension: 64).identity, chunking: .init())
        let error = await #expect(throws: StoreError.self) {
            try await SQLiteIndexStore(path: path).prepare(other, roots: [])
        }
        #expect(error?.code == .mismatch)
        #expect(error?.message.contains("use --embedder hash with the same model, or another --db") == true)
        let chunking = IndexSettings(embedder: settings.embedder, chunking: .init(maxTokens: 100, overlapTokens: 10))
        await #expect(throws: StoreError.self) { try await SQLiteIndexStore(path: path).prepare(chunking, roots: []) }
        // Reopening with the same settings works and keeps the roots.
        try await SQLiteIndexStore(path: path).prepare(settings, roots: [IngestRoot(path: "/x")])
        #expect(try IndexReader(path: path).roots().map(\.path) == ["/x"])
    }

    @Test("leftovers of killed processes are removed; those of running ones are kept")
    func leftovers() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let index = dir.path + "/index.sqlite"
        // A process that has exited: its pid is free (reuse within the test is vanishingly unlikely).
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier
        let alive = ProcessInfo.processInfo.processIdentifier
        try dir.write("index.sqlite.creating-\(dead)", "x")
        try dir.write("index.sqlite.creating-\(dead)-wal", "x")
        try dir.write("index.sqlite.creating-\(alive)", "x")
        try dir.write("other.sqlite.creating-\(dead)", "x")
        IndexCompanions.removeLeftovers(of: index, marker: IndexCompanions.creatingMarker)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        #expect(names == ["index.sqlite.creating-\(alive)", "other.sqlite.creating-\(dead)"])
    }

    @Test("a missing index, or a file that is not an index, is a clear error")
    func notAnIndex() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        #expect(throws: StoreError.self) { try IndexReader(path: dir.path + "/missing.sqlite") }
        let junk = try dir.write("junk.sqlite", String(repeating: "not a database ", count: 100))
        let error = #expect(throws: StoreError.self) { try IndexReader(path: junk) }
        // Not "damaged; rebuild it": it never was an index.
        #expect(error?.code == .notAnIndex)
        #expect(error?.message.contains("not a SQLite database") == true)
    }

    func skip(_ path: String, _ reason: SkippedFile.Reason = .binary) -> SkippedFile {
        SkippedFile(path: path, size: 10, modificationTimeNanoseconds: 5, reason: reason, maxFileSize: 100, rules: "r1")
    }

    @Test("skipped files are remembered with the writes, forgotten when stored, removed, or removed with a root")
    func skippedFiles() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/index.sqlite"
        let store = try SQLiteIndexStore(path: path)
        try await store.prepare(settings, roots: [IngestRoot(path: "/r"), IngestRoot(path: "/s"), IngestRoot(path: "/t.txt")])
        try await store.write([document("/r/a", texts: ["one"])], skipped: [skip("/r/b"), skip("/r/c", .tooLarge), skip("/s/d")])
        #expect(Set(try await store.skippedFiles().keys) == ["/r/b", "/r/c", "/s/d"])
        #expect(try await store.skippedFiles()["/r/c"] == skip("/r/c", .tooLarge))

        try await store.write([document("/r/b", texts: ["two"])])  // the file became text
        try await store.remove(paths: ["/r/c"])  // the file was deleted
        #expect(Set(try await store.skippedFiles().keys) == ["/s/d"])

        let removal = try await store.remove(under: ["/s", "/t.txt", "/r/a", "/nowhere"])
        #expect(removal.map(\.isEmpty) == [false, false, false, true])
        #expect(removal[0] == IndexRemoval(target: "/s", documents: [], skipped: ["/s/d"], roots: ["/s"], keptRoot: nil))
        #expect(removal[2].keptRoot == "/r")
        #expect(try await store.skippedFiles().isEmpty)
        #expect(try await store.roots().map(\.path) == ["/r"])
        #expect(try await store.documentStates().keys.sorted() == ["/r/b"])
        #expect(try IndexReader(path: path).check().isEmpty)
    }

    @Test("a remembered skip holds while the file, the rules and (for a file too large) the limit stay the same")
    func skipStillApplies() {
        let file = SourceFile(path: "/r/b", size: 10, modificationTimeNanoseconds: 5)
        #expect(skip("/r/b").stillApplies(to: file, maxFileSize: 1000, rules: "r1"))
        #expect(!skip("/r/b").stillApplies(to: file, maxFileSize: 1000, rules: "r2"))
        var touched = file
        touched.modificationTimeNanoseconds = 6
        #expect(!skip("/r/b").stillApplies(to: touched, maxFileSize: 1000, rules: "r1"))
        #expect(skip("/r/b", .tooLarge).stillApplies(to: file, maxFileSize: 100, rules: "r1"))
        #expect(skip("/r/b", .tooLarge).stillApplies(to: file, maxFileSize: 50, rules: "r1"))
        #expect(!skip("/r/b", .tooLarge).stillApplies(to: file, maxFileSize: 101, rules: "r1"))
    }

    @Test("paths to remove are made absolute like ingest's, also when they no longer exist")
    func removalPaths() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "a")
        let base = try #require(FileWalker.canonicalPath(dir.path))
        #expect(IndexRemoval.absolutePath(dir.path + "/docs/./a.txt") == base + "/docs/a.txt")
        #expect(IndexRemoval.absolutePath(dir.path + "/docs/gone/../b.txt") == base + "/docs/b.txt")
        #expect(IndexRemoval.absolutePath(dir.path + "/docs/gone/") == base + "/docs/gone")
        #expect(IndexRemoval.absolutePath("/no-such-folder-here/x") == "/no-such-folder-here/x")
        let cwd = FileManager.default.currentDirectoryPath
        #expect(IndexRemoval.absolutePath("no-such-file-here.txt") == (FileWalker.canonicalPath(cwd) ?? cwd) + "/no-such-file-here.txt")
    }
}
