@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("EmbeddingIndex")
struct EmbeddingIndexTests {
    static let settings = IndexSettings(embedder: HashEmbedder(dimension: 8).identity, chunking: .init())

    /// A written index of two documents at `dir/index.sqlite`.
    static func makeIndex(in dir: TemporaryDirectory, texts: [String] = ["alpha lamp", "bravo river"]) async throws -> String {
        let path = dir.path + "/index.sqlite"
        let store = try SQLiteIndexStore(path: path)
        try await store.prepare(settings, roots: [IngestRoot(path: dir.path + "/docs")])
        try await store.write(try await documents(texts, under: dir.path + "/docs"))
        _ = try await store.refreshVectorFile()
        return path
    }

    static func documents(_ texts: [String], under root: String) async throws -> [IndexedDocument] {
        let embedder = HashEmbedder(dimension: 8)
        var documents: [IndexedDocument] = []
        for (n, text) in texts.enumerated() {
            let chunk = Chunk(ordinal: 0, text: text, startOffset: 0, endOffset: text.count, line: 1, headingPath: [], tokenCount: 2)
            documents.append(IndexedDocument(
                path: "\(root)/\(n).txt", size: Int64(text.utf8.count), modificationTimeNanoseconds: 1,
                contentHash: Array(repeating: UInt8(n), count: 32), format: .text, title: nil, chunks: [chunk],
                textHashes: [Array(repeating: UInt8(n + 100), count: 32)], vectors: try await embedder.embed([text])))
        }
        return documents
    }

    static func files(in dir: TemporaryDirectory) -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
    }

    @Test("a read opens one connection for the recipe, statistics and any number of searches")
    func readOpensOnce() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await Self.makeIndex(in: dir)
        let before = SQLiteOpenCounter.count(of: path)
        let search = try await IndexSearch(opening: [path])
        #expect(search.indexes[0].recipe?.settings == Self.settings)
        for query in ["lamp", "river", "alpha bravo"] {
            let found = try await search.search([query], embedder: HashEmbedder(dimension: 8), k: 2)
            #expect(found[0].hits.count == 2)
        }
        _ = try await search.indexes[0].withReader { try $0.statistics() }
        #expect(SQLiteOpenCounter.count(of: path) - before == 1)
    }

    @Test("concurrent searches of one opened index each read with a reader of their own, and get the same answer")
    func concurrentSearches() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await Self.makeIndex(in: dir, texts: (0..<50).map { "document \($0) about lamps and rivers" })
        let search = try await IndexSearch(opening: [path])
        let embedder = HashEmbedder(dimension: 8)
        let expected = try await search.search(["lamps"], embedder: embedder, k: 10)[0].hits.map(\.chunk.id)
        #expect(expected.count == 10)
        let before = SQLiteOpenCounter.count(of: path)
        try await withThrowingTaskGroup(of: [Int64].self) { group in
            for _ in 0..<64 {
                group.addTask { try await search.search(["lamps"], embedder: embedder, k: 10)[0].hits.map(\.chunk.id) }
            }
            for try await found in group { #expect(found == expected) }
        }
        // Readers are opened as the load needs them, at most the limiter's bound, and pooled after.
        let opened = SQLiteOpenCounter.count(of: path) - before
        #expect(opened >= 1 && opened <= max(4, 2 * ProcessInfo.processInfo.activeProcessorCount), "\(opened) readers")
        _ = try await search.search(["lamps"], embedder: embedder, k: 10)
        #expect(SQLiteOpenCounter.count(of: path) - before == opened, "a pooled reader was not reused")
    }

    @Test("an opened index's shared vectors follow every write: a search after a write sees it")
    func sharedVectorsFollowWrites() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await Self.makeIndex(in: dir)
        let search = try await IndexSearch(opening: [path])
        let embedder = HashEmbedder(dimension: 8)
        #expect(try await search.search(["lamp"], embedder: embedder, k: 10)[0].hits.count == 2)
        #expect(try await search.search(["lamp"], embedder: embedder, k: 10)[0].hits.count == 2)
        // Another process's writer (here, another connection) adds a document, with and without a vector file.
        let store = try SQLiteIndexStore(existingAt: path)
        try await store.write(try await Self.documents(["alpha lamp", "bravo river", "charlie lamp"], under: dir.path + "/docs"))
        #expect(try await search.search(["lamp"], embedder: embedder, k: 10)[0].hits.count == 3)
        _ = try await store.refreshVectorFile()
        try await store.write(try await Self.documents(["alpha lamp", "bravo river", "charlie lamp", "delta lamp"], under: dir.path + "/docs"))
        _ = try await store.refreshVectorFile()
        let found = try await search.search(["delta lamp"], embedder: embedder, k: 10)[0].hits
        #expect(found.count == 4)
        #expect(found.first?.chunk.path.hasSuffix("/3.txt") == true)
    }

    @Test("a writer holds the lock from open to close, and a second writer is refused meanwhile")
    func lockHeldAndReleased() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await Self.makeIndex(in: dir)
        var index: EmbeddingIndex? = try await EmbeddingIndex.open(path, for: .write(wait: false))
        #expect(IndexLock.isHeld(indexPath: path))
        let error = await #expect(throws: StoreError.self) { try await EmbeddingIndex.open(path, for: .write(wait: false)) }
        #expect(error?.code == .locked)
        // Readers are never locked out.
        #expect(try await EmbeddingIndex.open(path, for: .read).recipe != nil)
        index?.close()
        #expect(!IndexLock.isHeld(indexPath: path))

        // Released when the index is let go without close(), on the path where a command throws.
        index = try await EmbeddingIndex.open(path, for: .write(wait: false))
        #expect(IndexLock.isHeld(indexPath: path))
        index = nil
        #expect(!IndexLock.isHeld(indexPath: path))
        // And by a run that throws after taking it.
        func failingRun() async throws {
            let index = try await EmbeddingIndex.open(path, for: .write(wait: false))
            _ = try await index.writableStore()
            throw CancellationError()
        }
        await #expect(throws: CancellationError.self) { try await failingRun() }
        #expect(!IndexLock.isHeld(indexPath: path))
    }

    @Test("a run refused before a new index is created leaves no file; a missing index is not created by a writer that needs one")
    func refusedRunCreatesNothing() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/new.sqlite"
        do {
            let index = try await EmbeddingIndex.open(path, for: .writeOrCreate(wait: false))
            #expect(index.isNew && index.recipe == nil)
            // The run is refused here (a bad option, a missing model): it never asks for the store.
        }
        #expect(Self.files(in: dir).isEmpty)
        for access in [EmbeddingIndex.Access.write(wait: false), .read] {
            let error = await #expect(throws: StoreError.self) { try await EmbeddingIndex.open(path, for: access) }
            #expect(error?.code == .cannotOpen)
            #expect(error?.message.contains("no index here") == true)
        }
        do {
            let index = try await EmbeddingIndex.open(path, for: .dryRun)
            _ = try await index.writableStore()
        }
        #expect(Self.files(in: dir).isEmpty)
        // Asked for, the store creates the index, locked.
        let index = try await EmbeddingIndex.open(path, for: .writeOrCreate(wait: false))
        _ = try await index.writableStore()
        #expect(IndexLock.isHeld(indexPath: path))
        #expect(Self.files(in: dir).isSuperset(of: ["new.sqlite", "new.sqlite.lock"]))
    }

    @Test("not an index: a folder, another file, another application's SQLite database; none is changed")
    func notAnIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path + "/folder.sqlite", withIntermediateDirectories: true)
        try dir.write("text.sqlite", "just text, not a database")
        let foreign = dir.path + "/foreign.sqlite"
        do {
            let connection = try SQLiteConnection(path: foreign)
            try connection.execute("CREATE TABLE notes(x)")
        }
        let foreignBytes = try Data(contentsOf: URL(fileURLWithPath: foreign))
        for name in ["folder.sqlite", "text.sqlite", "foreign.sqlite"] {
            for access in [EmbeddingIndex.Access.write(wait: false), .writeOrCreate(wait: false), .dryRun, .read] {
                let error = await #expect(throws: StoreError.self, "\(name) \(access)") {
                    try await EmbeddingIndex.open(dir.path + "/" + name, for: access)
                }
                #expect(error?.code == .notAnIndex, "\(name) \(access): \(String(describing: error))")
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: foreign)) == foreignBytes)
        #expect(!FileManager.default.fileExists(atPath: foreign + "-wal"))
    }

    @Test("--reembed swap: the rebuild replaces the contents in one step, and no rebuild outlives its run")
    func swap() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await Self.makeIndex(in: dir)
        // Killed before the swap: a dead run's rebuild is left beside the index; the next writer deletes it,
        // and the index is as it was.
        let deadRebuild = path + IndexCompanions.rebuildMarker + "999999999-abc"
        try dir.write("index.sqlite" + IndexCompanions.rebuildMarker + "999999999-abc", "half-built")
        var index = try await EmbeddingIndex.open(path, for: .write(wait: false))
        #expect(!FileManager.default.fileExists(atPath: deadRebuild))
        #expect(try await index.writableStore().documentStates().count == 2)

        // The swap.
        let rebuild = try index.makeRebuild()
        #expect(index.ownFiles.contains(rebuild.path))
        try await rebuild.prepare(Self.settings, roots: [IngestRoot(path: dir.path + "/docs")])
        try await rebuild.write(try await Self.documents(["charlie lamp oil"], under: dir.path + "/docs"))
        // Until the swap commits, readers see the old contents.
        let reader = try await EmbeddingIndex.open(path, for: .read)
        #expect(try await reader.withReader { try $0.statistics().documents } == 2)
        #expect(try await index.swapIn(rebuild) == nil)
        #expect(try await reader.withReader { try $0.statistics().documents } == 1)
        index.close()
        #expect(!FileManager.default.fileExists(atPath: rebuild.path))
        #expect(!IndexLock.isHeld(indexPath: path))
        let found = try await IndexSearch(opening: [path]).search(["lamp"], embedder: HashEmbedder(dimension: 8), k: 5)
        #expect(found[0].hits.map(\.chunk.text) == ["charlie lamp oil"])

        // Stopped after the rebuild but before the swap (an interrupted run): the index keeps its contents.
        index = try await EmbeddingIndex.open(path, for: .write(wait: false))
        let abandoned = try index.makeRebuild()
        try await abandoned.prepare(Self.settings, roots: [])
        index.close()
        #expect(!FileManager.default.fileExists(atPath: abandoned.path))
        #expect(try await EmbeddingIndex.open(path, for: .read).withReader { try $0.statistics().documents } == 1)
    }

    @Test("a swap that fails half-way (as one killed in its transaction) leaves the index as it was")
    func swapFailsHalfWay() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await Self.makeIndex(in: dir)
        let before = try await EmbeddingIndex.open(path, for: .read).withReader { reader in
            var texts: [String] = []
            try reader.forEachChunk(withVectors: true) { chunk, _ in texts.append(chunk.text) }
            return texts
        }
        let index = try await EmbeddingIndex.open(path, for: .write(wait: false))
        let rebuild = try index.makeRebuild()
        try await rebuild.prepare(Self.settings, roots: [IngestRoot(path: dir.path + "/docs")])
        try await rebuild.write(try await Self.documents(["charlie lamp oil", "delta"], under: dir.path + "/docs"))
        // Chunks whose vectors are gone: the swap's transaction deletes the old contents, then fails on the
        // first chunk it copies, after the deletes, as a kill at that moment would stop it.
        do {
            let connection = try SQLiteConnection(path: rebuild.path, create: false)
            try connection.execute("PRAGMA foreign_keys = OFF")
            try connection.execute("DELETE FROM vectors")
        }
        await #expect(throws: (any Error).self) { _ = try await index.swapIn(rebuild) }
        index.close()
        let after = try await EmbeddingIndex.open(path, for: .read).withReader { reader in
            var texts: [String] = []
            try reader.forEachChunk(withVectors: true) { chunk, _ in texts.append(chunk.text) }
            return texts
        }
        #expect(after == before)
        #expect(try await IndexSearch(opening: [path]).search(["lamp"], embedder: HashEmbedder(dimension: 8), k: 1)[0].hits.count == 1)
    }

    @Test("a dry run of a new index compares with an empty index in the temporary folder, deleted at close")
    func dryRunScratch() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let index = try await EmbeddingIndex.open(dir.path + "/new.sqlite", for: .dryRun)
        let store = try await index.writableStore()
        #expect(store.path.hasPrefix(FileManager.default.temporaryDirectory.path))
        #expect(FileManager.default.fileExists(atPath: store.path))
        #expect(try await store.documentStates().isEmpty)
        index.close()
        #expect(!FileManager.default.fileExists(atPath: store.path))
        #expect(Self.files(in: dir).isEmpty)
    }
}
