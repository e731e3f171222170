@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The vector file updated by what changed: appends, dead rows, merges, and what it reads back.
@Suite("VectorFile updates")
struct VectorFileUpdateTests {
    let embedder = HashEmbedder()

    func document(_ name: String, chunks: Int, salt: Int = 0) -> IndexedDocument {
        let texts = (0..<chunks).map { "\(name) part \($0) salt \(salt) about lighthouses and harbour walls" }
        let parts = texts.enumerated().map { i, text in
            Chunk(ordinal: i, text: text, startOffset: 0, endOffset: text.count, line: 1, headingPath: [], tokenCount: 1)
        }
        return IndexedDocument(
            path: "/\(name).txt", size: 1, modificationTimeNanoseconds: 1, contentHash: [UInt8(salt & 255)],
            format: .text, title: nil, chunks: parts, textHashes: texts.map { Array($0.utf8) },
            vectors: texts.map(embedder.vector(for:)))
    }

    /// The store's index, its manifest, and the vectors a reader gets from the file and from SQLite.
    struct State {
        var manifest: VectorFile.Manifest
        var fromFile: VectorMatrix
        var fromSQLite: VectorMatrix
    }

    func state(_ path: String) throws -> State {
        let reader = try IndexReader(path: path)
        let fromSQLite = try reader.loadVectors(dimension: embedder.identity.dimension)
        guard case .found(let manifest) = VectorFile.readManifest(path + ".vectors") else {
            throw StoreError(.corrupt, "no manifest")
        }
        let fromFile = try reader.vectors(dimension: embedder.identity.dimension)
        #expect(fromFile.isFromVectorFile, "the reader did not believe the file")
        return State(manifest: manifest, fromFile: fromFile, fromSQLite: fromSQLite)
    }

    func expectSame(_ state: State, _ label: String) {
        #expect(Array(state.fromFile.ids) == Array(state.fromSQLite.ids), "\(label): ids")
        #expect(Array(state.fromFile.documentIDs) == Array(state.fromSQLite.documentIDs), "\(label): document ids")
        #expect(Array(state.fromFile.values) == Array(state.fromSQLite.values), "\(label): vectors")
    }

    /// A new index of the hash embedder's vectors in `dir`, and its writer.
    func makeStore(in dir: TemporaryDirectory) async throws -> (path: String, store: SQLiteIndexStore) {
        try await VectorFileTests().emptyIndex(in: dir)
    }

    func segmentBytes(_ path: String, _ entry: VectorFile.SegmentEntry) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: VectorFile.segmentPath(path + ".vectors", serial: entry.serial))[.size] as? Int) ?? 0
    }

    @Test("appends and deletions cost what changed, and read back equal to SQLite")
    func appendsAndDeletions() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, store) = try await makeStore(in: dir)
        try await store.write((0..<50).map { document("d\($0)", chunks: 20) }, skipped: [])
        _ = try await store.refreshVectorFile()
        #expect(await store.lastVectorFileUpdate?.kind == .rebuilt)
        var current = try state(path)
        #expect(current.manifest.segments.count == 1)
        expectSame(current, "first")
        let base = segmentBytes(path, current.manifest.segments[0])

        // One new document: one small segment, nothing dead.
        try await store.write([document("new", chunks: 10)], skipped: [])
        _ = try await store.refreshVectorFile()
        #expect(await store.lastVectorFileUpdate == .init(kind: .updated, reflects: store.lastVectorFileUpdate?.reflects, appended: 10))
        current = try state(path)
        #expect(current.manifest.segments.count == 2)
        expectSame(current, "appended")
        #expect(segmentBytes(path, current.manifest.segments[1]) * 50 < base, "the append wrote more than it added")

        // A changed document: its old rows die, its new ones are appended.
        try await store.write([document("d7", chunks: 20, salt: 1)], skipped: [])
        _ = try await store.refreshVectorFile()
        let changed = try #require(await store.lastVectorFileUpdate)
        #expect((changed.kind, changed.appended, changed.deleted, changed.merged) == (.updated, 20, 20, 0))
        current = try state(path)
        expectSame(current, "changed")
        #expect(current.manifest.segments.map(\.deadRows) == [20, 0, 0])

        // A deleted document: dead rows only, no segment.
        try await store.remove(documents: ["/d8.txt"], skips: [], roots: [])
        _ = try await store.refreshVectorFile()
        let deleted = try #require(await store.lastVectorFileUpdate)
        #expect((deleted.kind, deleted.appended, deleted.deleted) == (.updated, 0, 20))
        current = try state(path)
        expectSame(current, "deleted")
        #expect(current.manifest.segments.count == 3)

        // Nothing changed: nothing written.
        _ = try await store.refreshVectorFile()
        #expect(await store.lastVectorFileUpdate?.kind == .current)
        // The log holds nothing the file already reflects.
        let reader = try IndexReader(path: path)
        let log = try reader.connection.prepare("SELECT count(*) FROM vector_changes")
        #expect(try log.step() && log.int(0) == 0)
    }

    @Test("more than 8 segments are merged; more than a quarter dead rewrites every live row into one segment")
    func merges() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, store) = try await makeStore(in: dir)
        try await store.write((0..<40).map { document("d\($0)", chunks: 10) }, skipped: [])
        _ = try await store.refreshVectorFile()
        var merged = 0
        for i in 0..<12 {
            try await store.write([document("n\(i)", chunks: 3)], skipped: [])
            _ = try await store.refreshVectorFile()
            merged += await store.lastVectorFileUpdate?.merged ?? 0
            let current = try state(path)
            #expect(current.manifest.segments.count <= VectorFile.Policy.segments)
            expectSame(current, "append \(i)")
        }
        #expect(merged > 0, "no merge happened")
        // The base segment was never rewritten by the merges: they took the small segments.
        #expect(merged < 400)

        // 15 of 52 documents deleted: about 31 % of the rows dead.
        try await store.remove(documents: (0..<15).map { "/d\($0).txt" }, skips: [], roots: [])
        _ = try await store.refreshVectorFile()
        let compacted = try #require(await store.lastVectorFileUpdate)
        #expect(compacted.kind == .updated && compacted.deleted == 150 && compacted.merged == 25 * 10 + 12 * 3)
        let current = try state(path)
        #expect(current.manifest.segments.count == 1)
        #expect(current.manifest.segments[0].deadRows == 0)
        expectSame(current, "compacted")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".seg-") }
        #expect(names.count == 1, "superseded segments were left: \(names)")
    }

    @Test("a query finding the file stale updates it by what changed; one whose log was pruned rewrites it")
    func readerUpdates() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, store) = try await makeStore(in: dir)
        try await store.write((0..<10).map { document("d\($0)", chunks: 5) }, skipped: [])
        _ = try await store.refreshVectorFile()
        // A writer that stored documents but was killed before it updated the file.
        try await store.write([document("late", chunks: 4)], skipped: [])
        var current = try state(path)
        expectSame(current, "read by a query")
        #expect(current.manifest.segments.count == 1, "the manifest was read before the query updated it")
        current = try state(path)
        #expect(current.manifest.segments.count == 2, "the query did not append the change")
        #expect(current.manifest.segments[1].rows == 4)

        // A manifest older than what the log still holds is rewritten whole.
        guard case .found(let old) = VectorFile.readManifest(path + ".vectors") else { return }
        try await store.write([document("later", chunks: 4)], skipped: [])
        _ = try await store.refreshVectorFile()
        try VectorFile.writeManifest(old, to: path + ".vectors")
        try await store.write([document("latest", chunks: 4)], skipped: [])
        _ = try await store.refreshVectorFile()
        #expect(await store.lastVectorFileUpdate?.kind == .rebuilt)
        current = try state(path)
        #expect(current.manifest.segments.count == 1)
        expectSame(current, "rewritten")
    }

    @Test("a change log missing a trigger is never trusted: the file is written anew, and the writer puts the trigger back")
    func droppedTrigger() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, store) = try await makeStore(in: dir)
        try await store.write((0..<10).map { document("d\($0)", chunks: 5) }, skipped: [])
        _ = try await store.refreshVectorFile()
        let other = try SQLiteConnection(path: path)
        try other.execute("DROP TRIGGER vector_changes_after_delete")
        // A deletion the log does not see.
        try await store.remove(documents: ["/d3.txt"], skips: [], roots: [])
        _ = try await store.refreshVectorFile()
        #expect(await store.lastVectorFileUpdate?.kind == .rebuilt)
        expectSame(try state(path), "after the unlogged deletion")
        let triggers = try other.prepare(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'vector_changes%'")
        #expect(try triggers.step() && triggers.int(0) == 3, "the trigger was not put back")
        // Logged again from here on: the next change is an update.
        try await store.remove(documents: ["/d4.txt"], skips: [], roots: [])
        _ = try await store.refreshVectorFile()
        _ = try await store.refreshVectorFile()
        try await store.remove(documents: ["/d5.txt"], skips: [], roots: [])
        _ = try await store.refreshVectorFile()
        #expect(await store.lastVectorFileUpdate?.kind == .updated)
        expectSame(try state(path), "after logged deletions")
    }

    @Test("while a writer holds the index, a query searches the stale file with the changes laid over it, exactly")
    func overlayWhileWriting() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, store) = try await makeStore(in: dir)
        try await store.write((0..<30).map { document("d\($0)", chunks: 8) }, skipped: [])
        try await store.setQuantization(.int8)
        _ = try await store.refreshVectorFile()
        // A writer that has stored changes and not yet updated the file.
        let writer = try IndexLock(indexPath: path, wait: false)
        try await store.write([document("d4", chunks: 8, salt: 3), document("fresh", chunks: 5)], skipped: [])
        try await store.remove(documents: ["/d9.txt"], skips: [], roots: [])
        let reader = try IndexReader(path: path)
        let segments = try #require(try reader.vectorSegments(dimension: embedder.identity.dimension))
        let overlay = try #require(segments.overlay, "the stale file was not overlaid")
        #expect(overlay.count == 13)
        #expect(segments.liveRows == 30 * 8 - 8 + 5)
        let matrix = try reader.loadVectors(dimension: embedder.identity.dimension)
        let queries = ["lighthouses d4 part 3 salt 3", "fresh part 1", "d9 part 2", "harbour walls d17"].map(embedder.vector(for:))
        let expected = await ExactSearch.search(queries, in: matrix, k: 12).map { $0.map { matrix.ids[$0.row] } }
        for useCodes in [false, true] {
            let found = try await SegmentSearch.search(queries, in: segments, k: 12, useCodes: useCodes)
            #expect(found.map { $0.map(\.id) } == expected, "codes: \(useCodes)")
        }
        // The file itself was left as it was, for the writer to update.
        guard case .found(let manifest) = VectorFile.readManifest(path + ".vectors") else { return }
        #expect(manifest.segments.count == 1 && manifest.segments[0].deadRows == 0)
        withExtendedLifetime(writer) {}
    }
}
