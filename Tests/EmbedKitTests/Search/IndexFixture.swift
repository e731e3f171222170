@testable import EmbedKit
import EmbedKitTestSupport

/// Small indexes written through the real store (SQLite file, FTS5 triggers), embedded by the hash embedder.
enum IndexFixture {
    static let settings = IndexSettings(embedder: HashEmbedder().identity, chunking: .init())

    /// A document whose chunks are `texts`, under the heading "Guide".
    static func document(
        _ path: String, texts: [String], format: DocumentFormat = .text, hash: UInt8 = 1
    ) -> IndexedDocument {
        let embedder = HashEmbedder()
        let chunks = texts.enumerated().map { i, text in
            Chunk(
                ordinal: i, text: text, startOffset: 0, endOffset: text.unicodeScalars.count, line: i + 1,
                headingPath: ["Guide"], tokenCount: 1)
        }
        return IndexedDocument(
            path: path, size: 10, modificationTimeNanoseconds: 5, contentHash: [hash], format: format, title: "T",
            chunks: chunks, textHashes: texts.map { Array($0.utf8) }, vectors: texts.map(embedder.vector(for:)))
    }

    /// A new index at `dir/name` holding `documents`; returns its path.
    static func index(
        in dir: TemporaryDirectory, name: String = "index.sqlite", _ documents: [IndexedDocument]
    ) async throws -> String {
        let path = dir.path + "/" + name
        let store = try SQLiteIndexStore(path: path)
        try await store.prepare(settings, roots: [])
        try await store.write(documents)
        return path
    }
}
