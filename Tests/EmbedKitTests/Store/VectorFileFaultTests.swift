import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Things other processes do to `<index>.vectors` and its temporary while a query reads it.
@Suite("vector file faults", .serialized)
struct VectorFileFaultTests {
    /// An index of `documents` documents of 10 chunks each (dimension 384, so 1,000 rows make about 1.5 MiB).
    func makeIndex(_ dir: TemporaryDirectory, documents: Int) async throws -> String {
        let path = dir.path + "/index.sqlite"
        let store = try SQLiteIndexStore(path: path)
        let embedder = HashEmbedder()
        try await store.prepare(IndexSettings(embedder: embedder.identity, chunking: .init()), roots: [])
        var batch: [IndexedDocument] = []
        for d in 0..<documents {
            let texts = (0..<10).map { "document \(d) chunk \($0) about lighthouses number \(d * 10 + $0)" }
            let chunks = texts.enumerated().map { i, text in
                Chunk(ordinal: i, text: text, startOffset: 0, endOffset: text.count, line: 1, headingPath: [], tokenCount: 1)
            }
            batch.append(
                IndexedDocument(
                    path: "/docs/d\(d).txt", size: 10, modificationTimeNanoseconds: 5, contentHash: [UInt8(d & 0xFF)],
                    format: .text, title: nil, chunks: chunks, textHashes: texts.map { Array($0.utf8) },
                    vectors: texts.map(embedder.vector(for:))))
        }
        try await store.write(batch)
        _ = try await store.refreshVectorFile()
        return path
    }

    /// A symbolic link planted where a query would put its temporary (the name a pid predicts) is never
    /// written through.
    @Test("a query never writes through a link planted at the vector file's temporary name")
    func plantedTemporary() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await makeIndex(dir, documents: 3)
        let victim = try dir.write("victim.txt", "precious")
        try FileManager.default.removeItem(atPath: path + ".vectors")
        let planted = path + ".vectors.tmp-\(getpid())"
        try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: victim)
        let matrix = try IndexReader(path: path).vectors(dimension: 384)
        #expect(matrix.count == 30)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: planted)) == victim)
        var info = stat()
        #expect(lstat(path + ".vectors", &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG, "the file was written")
    }

    /// Another process truncating and rewriting the file in place (not by rename) while queries read it: a
    /// mapped file faults (SIGBUS) when it shrinks under the reader; a file read into memory cannot.
    @Test("rewriting the vector file in place while queries read it crashes nothing and changes no answer")
    func rewrittenInPlace() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await makeIndex(dir, documents: 200)
        let file = path + ".vectors"
        let reference = try IndexReader(path: path).loadVectors(dimension: 384)
        let expected = (0..<reference.values.count).reduce(Float(0)) { $0 + reference.values[$1] }
        let good = try Data(contentsOf: URL(fileURLWithPath: file))
        let stop = Flag()
        let vandal = Thread {
            var round = 0
            while !stop.isSet {
                // Opened again each round: a query that rebuilds the file renames a new one into place.
                let fd = open(file, O_WRONLY)
                guard fd >= 0 else { continue }
                _ = ftruncate(fd, off_t(round % 3 == 0 ? 0 : good.count / (round % 3 + 1)))
                usleep(200)
                _ = good.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
                close(fd)
                round += 1
            }
        }
        vandal.start()
        defer { stop.set() }
        for _ in 0..<30 {
            let matrix = try IndexReader(path: path).vectors(dimension: 384)
            var sum: Float = 0
            for i in 0..<matrix.values.count { sum += matrix.values[i] }
            #expect(matrix.count == reference.count)
            #expect(sum == expected)
        }
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }
}
