@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// The streamed scan of the vector file's segments, of float32 rows and of int8 codes, against the in-memory
/// exact search over the same vectors.
@Suite("SegmentSearch")
struct SegmentSearchTests {
    typealias SplitMix = ExactSearchTests.SplitMix
    static let id = [UInt8](0..<16)

    /// A vector file of `segments` segments (rows dealt out round-robin, so ids interleave) with every `deadEvery`-th
    /// row marked dead, and the live rows as one matrix in chunk-id order.
    func makeFile(
        in dir: TemporaryDirectory, rows: Int, dimension: Int, segments: Int, deadEvery: Int?, codes: Bool,
        seed: UInt64, coarse: Bool = false
    ) throws -> (file: VectorSegments, live: VectorMatrix) {
        var rng = SplitMix(state: seed)
        let values = (0..<(rows * dimension)).map { _ in
            coarse ? Float(Int.random(in: -2...2, using: &rng)) * 0.125 : Float.random(in: -1...1, using: &rng)
        }
        let path = dir.path + "/x.vectors"
        var entries: [VectorFile.SegmentEntry] = []
        for s in 0..<segments {
            let mine = Array(stride(from: s, to: rows, by: segments))
            var entry = try VectorFile.writeSegment(
                manifestPath: path, dimension: dimension, count: mine.count, indexID: Self.id, codes: codes
            ) { emit in
                for row in mine {
                    try values[(row * dimension)..<((row + 1) * dimension)].withUnsafeBytes {
                        try emit(Int64(row * 2 + 5), Int64(row / 7), $0)
                    }
                }
            }
            if let deadEvery {
                for (local, row) in mine.enumerated() where row % deadEvery == 0 { entry.markDead(local) }
            }
            entries.append(entry)
        }
        try VectorFile.writeManifest(
            .init(dimension: dimension, generation: 3, changeSeq: 0, indexID: Self.id, segments: entries), to: path)
        let file = try VectorSegments.open(path: path, dimension: dimension, generation: 3, indexID: Self.id).get()
        let live = (0..<rows).filter { row in deadEvery.map { row % $0 != 0 } ?? true }
        let matrix = VectorMatrix(
            dimension: dimension, ids: live.map { Int64($0 * 2 + 5) }, documentIDs: live.map { Int64($0 / 7) },
            values: live.flatMap { values[($0 * dimension)..<(($0 + 1) * dimension)] })
        return (file, matrix)
    }

    func expected(_ queries: [[Float]], _ matrix: VectorMatrix, k: Int, accept: (@Sendable (Int) -> Bool)? = nil) async -> [[SegmentHit]] {
        await ExactSearch.search(queries, in: matrix, k: k, accept: accept).map { rows in
            rows.map { SegmentHit(id: matrix.ids[$0.row], document: matrix.documentIDs[$0.row], score: $0.score) }
        }
    }

    @Test("float32 rows and int8 codes both give exactly the in-memory search's answer",
          arguments: [(1, 1, 10), (700, 3, 5), (9000, 2, 10), (30_000, 4, 50)])
    func equalsExactSearch(rows: Int, segments: Int, k: Int) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let dimension = 384
        let (file, live) = try makeFile(
            in: dir, rows: rows, dimension: dimension, segments: segments, deadEvery: rows > 1 ? 3 : nil,
            codes: true, seed: UInt64(rows))
        var rng = SplitMix(state: 11)
        let queries = (0..<4).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) } }
        let reference = await expected(queries, live, k: k)
        for useCodes in [false, true] {
            let found = try await SegmentSearch.search(queries, in: file, k: k, useCodes: useCodes)
            #expect(found == reference, "codes: \(useCodes)")
            let single = try await SegmentSearch.search([queries[0]], in: file, k: k, useCodes: useCodes)
            #expect(single[0] == reference[0], "codes: \(useCodes), one query")
        }
    }

    @Test("coarse values full of exact ties, a score floor and a document filter: still the exact answer")
    func tiesFloorsAndFilters() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (file, live) = try makeFile(
            in: dir, rows: 6000, dimension: 16, segments: 3, deadEvery: 5, codes: true, seed: 4, coarse: true)
        let queries: [[Float]] = [[Float](repeating: 0.25, count: 16), (0..<16).map { Float($0 % 3) - 1 }]
        let accepted: @Sendable (Int64) -> Bool = { $0 % 3 != 1 }
        let documents = Array(live.documentIDs)
        let reference = await expected(queries, live, k: 40, accept: { accepted(documents[$0]) })
        for useCodes in [false, true] {
            #expect(try await SegmentSearch.search(queries, in: file, k: 40, useCodes: useCodes, acceptDocument: accepted)
                == reference, "codes: \(useCodes)")
            let floor = try await SegmentSearch.search(queries, in: file, k: 10_000, useCodes: useCodes, minScore: 0.5)
            let floored = await ExactSearch.search(queries, in: live, k: 10_000, minScore: 0.5)
            #expect(floor.map { $0.map(\.id) } == floored.map { $0.map { live.ids[$0.row] } }, "codes: \(useCodes)")
        }
    }

    @Test("a damaged block or row is an error, never an answer")
    func damage() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (file, _) = try makeFile(in: dir, rows: 3000, dimension: 384, segments: 1, deadEvery: nil, codes: true, seed: 9)
        let segment = VectorFile.segmentPath(dir.path + "/x.vectors", serial: file.manifest.segments[0].serial)
        let query = [Float](repeating: 0.01, count: 384)
        let best = try await SegmentSearch.search([query], in: file, k: 1, useCodes: false)[0][0]
        let handle = try #require(FileHandle(forUpdatingAtPath: segment))
        defer { try? handle.close() }
        // A byte of the codes in a block without float rows: the block checksum fails during the scan of codes.
        let layout = file.segments[0].layout
        try handle.seek(toOffset: UInt64(VectorFile.headerSize + layout.codesOffset + 1_000_000))
        let original = try #require(try handle.read(upToCount: 1))
        try handle.seek(toOffset: UInt64(VectorFile.headerSize + layout.codesOffset + 1_000_000))
        try handle.write(contentsOf: Data([original[0] ^ 0x40]))
        await #expect(throws: StoreError.self) { try await SegmentSearch.search([query], in: file, k: 5, useCodes: true) }
        // The float rows are untouched: their scan still answers.
        #expect(try await SegmentSearch.search([query], in: file, k: 1, useCodes: false)[0] == [best])
        // A byte of the best row's floats (chunk id = 2·row + 5): read on its own to be re-scored, it fails its
        // row checksum.
        try handle.seek(toOffset: UInt64(VectorFile.headerSize + layout.codesOffset + 1_000_000))
        try handle.write(contentsOf: Data([original[0]]))
        try handle.seek(toOffset: UInt64(VectorFile.headerSize + Int(best.id - 5) / 2 * 384 * 4 + 10))
        try handle.write(contentsOf: Data([0x7F]))
        await #expect(throws: StoreError.self) { try await SegmentSearch.search([query], in: file, k: 1, useCodes: true) }
    }
}
