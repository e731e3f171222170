import CEmbedCRC32C
@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("VectorFile")
struct VectorFileTests {
    typealias SplitMix = ExactSearchTests.SplitMix

    static let id = [UInt8](0..<16)

    /// A new, empty index of the hash embedder's vectors in `dir`, and its writer.
    func emptyIndex(in dir: TemporaryDirectory) async throws -> (path: String, store: SQLiteIndexStore) {
        let path = dir.path + "/index.sqlite"
        let store = try SQLiteIndexStore(path: path)
        try await store.prepare(IndexSettings(embedder: HashEmbedder().identity, chunking: .init()), roots: [])
        return (path, store)
    }

    func matrix(rows: Int, dimension: Int, seed: UInt64 = 1) -> VectorMatrix {
        var rng = SplitMix(state: seed)
        let values = (0..<(rows * dimension)).map { _ in Float.random(in: -1...1, using: &rng) }
        return VectorMatrix(
            dimension: dimension, ids: (0..<rows).map { Int64($0 * 3 + 7) },
            documentIDs: (0..<rows).map { Int64($0 / 10 + 1) }, values: values)
    }

    @Test("CRC-32C: the check value, and the SSE4.2 path equals the portable table at every length and alignment")
    func crc() {
        let check = Array("123456789".utf8)
        #expect(check.withUnsafeBytes { embed_crc32c(0, $0.baseAddress, $0.count) } == 0xE306_9283)
        #expect(check.withUnsafeBytes { embed_crc32c_portable(0, $0.baseAddress, $0.count) } == 0xE306_9283)
        var rng = SplitMix(state: 9)
        let bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
        bytes.withUnsafeBytes { raw in
            for start in 0..<9 {
                for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4096 - start] {
                    let p = raw.baseAddress! + start
                    #expect(embed_crc32c(0, p, length) == embed_crc32c_portable(0, p, length))
                    // Continuing from a previous value equals checksumming the whole at once.
                    let half = length / 2
                    #expect(embed_crc32c(embed_crc32c(0, p, half), p + half, length - half) == embed_crc32c(0, p, length))
                }
            }
        }
        print("CRC-32C uses the SSE4.2 instruction: \(embed_crc32c_hardware() == 1)")
    }

    @Test("a written file reads back equal, over several 1 MiB blocks and with no rows")
    func roundTrip() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for (rows, dimension) in [(0, 384), (1, 3), (7, 5), (1500, 384)] {
            let path = dir.path + "/i\(rows).vectors"
            let source = matrix(rows: rows, dimension: dimension)
            try VectorFile.write(path: path, matrix: source, generation: 42, indexID: Self.id)
            guard case .current(let read) = VectorFile.load(path: path, dimension: dimension, generation: 42, indexID: Self.id)
            else {
                Issue.record("\(rows) rows: not read back")
                continue
            }
            #expect(read.isFromVectorFile)
            #expect(read.count == rows)
            #expect(Array(read.values) == Array(source.values))
            #expect(Array(read.ids) == Array(source.ids))
            #expect(Array(read.documentIDs) == Array(source.documentIDs))
            #expect(read.maxRowNorm >= source.maxRowNorm * (1 - 1e-6) && read.maxRowNorm <= source.maxRowNorm * 1.00001)
            guard case .success = VectorFile.checkedManifest(path, dimension: dimension, generation: 42, indexID: Self.id)
            else {
                Issue.record("\(rows) rows: the manifest was refused")
                continue
            }
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(!names.contains { $0.contains(".tmp-") })
    }

    @Test("a manifest whose row counts promise more bitmap than it holds is refused before anything is allocated")
    func hostileRowCounts() throws {
        var manifest = VectorFile.Manifest(
            dimension: 8, generation: 1, changeSeq: 0, indexID: Self.id,
            segments: [.init(serial: 7, rows: 100, tableChecksum: 1, maxRowNorm: 1)])
        let good = VectorFile.encodeManifest(manifest)
        #expect(VectorFile.decodeManifest(good) == manifest)
        for rows in [Int64(1) << 36, Int64(Int32.max) * 64, Int64.max, 0, -1, 129] {
            var bytes = good
            bytes.withUnsafeMutableBytes { $0.storeBytes(of: rows, toByteOffset: 64 + 8, as: Int64.self) }
            // The checksum made right, as a hostile file would: only the sizes can refuse it.
            let end = bytes.count - 4
            let checksum = bytes.withUnsafeBytes { VectorFile.crc32c(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
            bytes.withUnsafeMutableBytes { $0.storeBytes(of: checksum, toByteOffset: end, as: UInt32.self) }
            #expect(VectorFile.decodeManifest(bytes) == nil, "row count \(rows) was believed")
        }
        manifest.segments.append(.init(serial: 7, rows: 1, tableChecksum: 1, maxRowNorm: 1))
        #expect(VectorFile.decodeManifest(VectorFile.encodeManifest(manifest)) == nil, "two segments with one serial")
    }

    @Test("another index's, a stale, or a wrong-dimension file is refused")
    func refused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/x.vectors"
        try VectorFile.write(path: path, matrix: matrix(rows: 20, dimension: 8), generation: 5, indexID: Self.id)
        var other = Self.id
        other[15] ^= 1
        guard case .unusable = VectorFile.load(path: path, dimension: 8, generation: 5, indexID: other) else {
            Issue.record("another index's file was accepted")
            return
        }
        guard case .stale = VectorFile.load(path: path, dimension: 8, generation: 6, indexID: Self.id) else {
            Issue.record("a stale file was accepted")
            return
        }
        guard case .unusable = VectorFile.load(path: path, dimension: 16, generation: 5, indexID: Self.id) else {
            Issue.record("a file of another dimension was accepted")
            return
        }
        guard case .missing = VectorFile.load(path: path + "-none", dimension: 8, generation: 5, indexID: Self.id) else {
            Issue.record("a missing file was not reported missing")
            return
        }
    }

    @Test("a file cut short anywhere, or grown by a byte, is refused: never read past its end, never believed")
    func truncated() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/x.vectors"
        try VectorFile.write(path: path, matrix: matrix(rows: 700, dimension: 384), generation: 5, indexID: Self.id)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        guard case .current = VectorFile.load(path: path, dimension: 384, generation: 5, indexID: Self.id) else {
            Issue.record("the whole file was refused")
            return
        }
        var cuts = [0, 1, 63, 64, 65, whole.count / 2, whole.count - 4, whole.count - 1]
        cuts += stride(from: 0, to: whole.count, by: whole.count / 37).map { $0 }
        for length in Set(cuts) {
            try whole.prefix(length).write(to: URL(fileURLWithPath: path))
            if case .current = VectorFile.load(path: path, dimension: 384, generation: 5, indexID: Self.id) {
                Issue.record("a file cut to \(length) of \(whole.count) bytes was believed")
            }
        }
        try (whole + Data([0])).write(to: URL(fileURLWithPath: path))
        if case .current = VectorFile.load(path: path, dimension: 384, generation: 5, indexID: Self.id) {
            Issue.record("a file with a byte too many was believed")
        }
    }

    /// Every bit of the header and of the block table, and bits spread over the data: each flip is caught.
    @Test("every flipped bit is caught: header, rows, ids, document ids, checksums")
    func bitFlips() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/x.vectors"
        let source = matrix(rows: 1500, dimension: 384)
        try VectorFile.write(path: path, matrix: source, generation: 3, indexID: Self.id)
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var offsets = Array(0..<VectorFile.headerSize) + Array((good.count - 8)..<good.count)
        var rng = SplitMix(state: 5)
        offsets += (0..<150).map { _ in Int.random(in: VectorFile.headerSize..<good.count, using: &rng) }
        var tried = 0
        var believed = 0
        for offset in offsets {
            for bit in offset < VectorFile.headerSize ? Array(0..<8) : [Int.random(in: 0..<8, using: &rng)] {
                var bytes = good
                bytes[offset] ^= 1 << bit
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                tried += 1
                if case .current = VectorFile.load(path: path, dimension: 384, generation: 3, indexID: Self.id) {
                    believed += 1
                    Issue.record("a flip of bit \(bit) at \(offset) was not caught")
                }
            }
        }
        print("vector-file bit flips tried: \(tried), believed: \(believed)")
    }

    @Test("NaN rows with their checksums recomputed: scores no row can reach are caught by the plausibility check")
    func implausible() {
        let values: [Float] = [1, 0, 0, 1, .nan, 0]
        let m = VectorMatrix(dimension: 2, ids: [1, 2, 3], values: values)
        #expect(ExactSearch.isPlausible([[ScoredRow(row: 0, score: 1)]], queries: [[1, 0]], in: m))
        #expect(!ExactSearch.isPlausible([[ScoredRow(row: 2, score: .nan)]], queries: [[1, 0]], in: m))
        let lying = VectorMatrix(
            dimension: 2, count: 3, maxRowNorm: 0.5,
            storage: .init(ids: [1, 2, 3], documentIDs: [0, 0, 0], values: [1, 0, 0, 1, 0.5, 0]), isFromVectorFile: true)
        #expect(!ExactSearch.isPlausible([[ScoredRow(row: 0, score: 1)]], queries: [[1, 0]], in: lying))
        #expect(ExactSearch.isPlausible([[ScoredRow(row: 2, score: 0.5)]], queries: [[1, 0]], in: lying))
    }

    @Test("the temporary is made with O_EXCL under an unpredictable name that keeps the pid, and removed on failure")
    func temporary() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/x.vectors"
        struct Stop: Error {}
        var seen: [String] = []
        #expect(throws: Stop.self) {
            try VectorFile.write(path: path, dimension: 4, count: 2, generation: 1, indexID: Self.id) { emit in
                seen = try FileManager.default.contentsOfDirectory(atPath: dir.path)
                throw Stop()
            }
        }
        #expect(seen.count == 1)
        #expect(seen.first?.hasPrefix("x.vectors.tmp-\(getpid())-") == true, "\(seen)")
        #expect(seen.first != "x.vectors.tmp-\(getpid())")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// A file whose checksums are right but whose largest-norm field lies (forged, or a bug): the query notices
    /// the impossible scores and answers from SQLite.
    @Test("a query over a vector file with impossible scores answers from SQLite")
    func forgedNorm() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, store) = try await emptyIndex(in: dir)
        let embedder = HashEmbedder()
        let texts = ["lighthouses on the coast", "robins in the garden", "harbour walls", "keepers of lights"]
        let chunks = texts.enumerated().map { i, text in
            Chunk(ordinal: i, text: text, startOffset: 0, endOffset: text.count, line: 1, headingPath: [], tokenCount: 1)
        }
        try await store.write([
            IndexedDocument(
                path: "/a.txt", size: 1, modificationTimeNanoseconds: 1, contentHash: [1], format: .text, title: nil,
                chunks: chunks, textHashes: texts.map { Array($0.utf8) }, vectors: texts.map(embedder.vector(for:)))
        ])
        _ = try await store.refreshVectorFile()
        let file = path + ".vectors"
        try FileManager.default.removeItem(atPath: file)
        let search = try await IndexSearch(opening: [path])
        let expected = try await search.search(["lighthouse keepers"], embedder: embedder, k: 3)
        #expect(FileManager.default.fileExists(atPath: file))
        // A manifest and a segment that both claim a largest norm far below the rows' (checksums made to match),
        // searched in memory and streamed: both notice, read SQLite or write the file anew, and answer right.
        for scan in [VectorScan.memory, .float32] {
            guard case .found(var manifest) = VectorFile.readManifest(file) else {
                Issue.record("no manifest was written")
                return
            }
            let segment = VectorFile.segmentPath(file, serial: manifest.segments[0].serial)
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: segment)))
            var header = try #require(VectorFile.decodeHeader(Array(bytes[0..<VectorFile.headerSize])))
            header.maxRowNorm = 0.01
            bytes.replaceSubrange(0..<VectorFile.headerSize, with: VectorFile.encodeHeader(header))
            try Data(bytes).write(to: URL(fileURLWithPath: segment))
            manifest.segments[0].maxRowNorm = 0.01
            try VectorFile.writeManifest(manifest, to: file)
            guard case .current = VectorFile.load(
                path: file, dimension: 384, generation: manifest.generation, indexID: manifest.indexID)
            else {
                Issue.record("the forged file should pass its checksums")
                return
            }
            let results = try await search.search(
                ["lighthouse keepers"], embedder: embedder,
                options: SearchOptions(mode: .vector, k: 3, collapseCopies: false, scan: scan)).results
            #expect(results == expected, "\(scan)")
            #expect(!results[0].hits.isEmpty)
        }
    }

    @Test("an index without an id never believes a vector file; a writer gives it one")
    func olderIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let embedder = HashEmbedder()
        let path: String
        do {
            let (created, store) = try await emptyIndex(in: dir)
            path = created
            try await store.write([
                IndexedDocument(
                    path: "/a.txt", size: 1, modificationTimeNanoseconds: 1, contentHash: [1], format: .text,
                    title: nil,
                    chunks: [Chunk(ordinal: 0, text: "x", startOffset: 0, endOffset: 1, line: 1, headingPath: [], tokenCount: 1)],
                    textHashes: [[1]], vectors: [embedder.vector(for: "x")])
            ])
        }
        // Made as an older embed made it: no id.
        let connection = try SQLiteConnection(path: path)
        try connection.execute("DELETE FROM index_meta WHERE key = 'index_id'")
        #expect(try IndexFile.indexID(connection) == nil)
        let matrix = try IndexReader(path: path).vectors(dimension: 384)
        #expect(!matrix.isFromVectorFile)
        #expect(!FileManager.default.fileExists(atPath: path + ".vectors"), "a reader cannot bind a file to no id")
        let store = try SQLiteIndexStore(path: path)
        #expect(try await store.refreshVectorFile() == nil)
        #expect(try IndexFile.indexID(connection)?.count == 16)
        #expect(try IndexReader(path: path).vectors(dimension: 384).isFromVectorFile)
    }

    @Test("buildVectorFile works inside a read transaction the caller opened, and outside one")
    func buildInTransaction() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (path, _) = try await emptyIndex(in: dir)
        let connection = try SQLiteConnection(path: path, readOnly: true)
        #expect(!connection.isInTransaction)
        try IndexFile.buildVectorFile(connection, indexPath: path, dimension: 384)
        #expect(!connection.isInTransaction)
        try connection.execute("BEGIN")
        _ = try IndexFile.generation(connection)
        #expect(connection.isInTransaction)
        try IndexFile.buildVectorFile(connection, indexPath: path, dimension: 384)
        #expect(connection.isInTransaction, "the caller's transaction is left open")
        try connection.execute("COMMIT")
        #expect(FileManager.default.fileExists(atPath: path + ".vectors"))
    }
}
