import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// An embedder with a fixed input window that records the texts it is given.
private final class WindowedEmbedder: Embedder {
    let base = HashEmbedder(dimension: 16)
    let received = Locked<[String]>([])
    var identity: EmbedderIdentity { base.identity }
    var maxBatchSize: Int { 8 }
    var tokenCounter: any TokenCounter { base.tokenCounter }
    var maxInputTokens: Int? { 40 }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        received.withLock { $0 += texts }
        return try await base.embed(texts)
    }
}

@Suite("PrefixedEmbedder and prefixes in the embedder identity")
struct PrefixedEmbedderTests {
    @Test("the prefix of its kind goes before every text; both prefixes are in the identity")
    func prefixes() async throws {
        let base = WindowedEmbedder()
        let documents = PrefixedEmbedder(base, queryPrefix: "query: ", documentPrefix: "passage: ", embedding: .document)
        let queries = PrefixedEmbedder(base, queryPrefix: "query: ", documentPrefix: "passage: ", embedding: .query)
        let vectors = try await documents.embed(["a lamp", "a wall"])
        #expect(try await queries.embed(["a lamp"]) == [try await base.base.embed(["query: a lamp"])[0]])
        #expect(base.received.withLock { $0 } == ["passage: a lamp", "passage: a wall", "query: a lamp"])
        #expect(vectors == (try await base.base.embed(["passage: a lamp", "passage: a wall"])))
        #expect(documents.identity == queries.identity)
        #expect(documents.identity != base.identity)
        #expect(documents.identity.queryPrefix == "query: " && documents.identity.documentPrefix == "passage: ")
        #expect(documents.identity.withPrefixes(query: "", document: "") == base.identity)
        #expect("\(documents.identity)".hasSuffix(", query prefix 'query: ', document prefix 'passage: ')"))
        #expect("\(base.identity)" == "hash (model fnv1a-words-bigrams-v1, 16 dimensions, normalized)")
    }

    @Test("the prefix's tokens come off the input window; a prefix not ending in a space costs one more")
    func window() {
        let base = WindowedEmbedder()
        let spaced = PrefixedEmbedder(base, queryPrefix: "", documentPrefix: "search_document: ", embedding: .document)
        // EstimatedTokenCounter: "search" 1, "_" 1, "document" 2, ":" 1.
        let count = base.tokenCounter.tokenCount("search_document: "[...])
        #expect(count == 5)
        #expect(spaced.prefixTokens == count)
        #expect(spaced.maxInputTokens == 40 - count)
        let joined = PrefixedEmbedder(base, queryPrefix: "", documentPrefix: "doc:", embedding: .document)
        #expect(joined.prefixTokens == base.tokenCounter.tokenCount("doc:"[...]) + 1)
        // The query prefix does not narrow an embedder of documents.
        let other = PrefixedEmbedder(base, queryPrefix: "a long query prefix: ", documentPrefix: "", embedding: .document)
        #expect(other.maxInputTokens == 40)
        #expect(other.prefix.isEmpty)
    }

    @Test("no prefixes: the embedder itself, with today's identity")
    func noPrefixes() {
        let base = HashEmbedder()
        let same = base.prefixing(query: "", document: "", embedding: .document)
        #expect(!(same is PrefixedEmbedder))
        #expect(same.identity == base.identity)
        #expect(base.prefixing(query: "q: ", document: "", embedding: .document) is PrefixedEmbedder)
    }

    @Test("an identity without prefixes encodes exactly as before prefixes existed, and old JSON decodes to it")
    func coding() throws {
        let old = #"{"dimension":384,"isNormalized":true,"model":"fnv1a-words-bigrams-v1","name":"hash"}"#
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(String(decoding: try encoder.encode(HashEmbedder().identity), as: UTF8.self) == old)
        let decoded = try JSONDecoder().decode(EmbedderIdentity.self, from: Data(old.utf8))
        #expect(decoded == HashEmbedder().identity)
        #expect(decoded.queryPrefix.isEmpty && decoded.documentPrefix.isEmpty)

        let prefixed = HashEmbedder().identity.withPrefixes(query: "query: ", document: "")
        let json = String(decoding: try encoder.encode(prefixed), as: UTF8.self)
        #expect(json == #"{"dimension":384,"isNormalized":true,"model":"fnv1a-words-bigrams-v1","name":"hash","queryPrefix":"query: "}"#)
        #expect(try JSONDecoder().decode(EmbedderIdentity.self, from: Data(json.utf8)) == prefixed)
    }

    @Test("an index refuses other prefixes with a message that names both pairs")
    func storeMismatch() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/index.sqlite"
        let e5 = HashEmbedder().identity.withPrefixes(query: "query: ", document: "passage: ")
        try await SQLiteIndexStore(path: path).prepare(IndexSettings(embedder: e5, chunking: .init()), roots: [])
        #expect(try IndexReader(path: path).settings()?.embedder == e5)
        for other in [HashEmbedder().identity, e5.withPrefixes(query: "query: ", document: "search_document: ")] {
            let error = await #expect(throws: StoreError.self) {
                try await SQLiteIndexStore(path: path).prepare(IndexSettings(embedder: other, chunking: .init()), roots: [])
            }
            #expect(error?.code == .mismatch)
            #expect(error?.message.contains("query prefix 'query: ' and document prefix 'passage: ', not query prefix "
                + "'\(other.queryPrefix)' and document prefix '\(other.documentPrefix)'") == true, "\(String(describing: error))")
        }
        // Another embedder is still reported as such, prefixes or not.
        let error = await #expect(throws: StoreError.self) {
            try await SQLiteIndexStore(path: path).prepare(
                IndexSettings(embedder: HashEmbedder(dimension: 8).identity, chunking: .init()), roots: [])
        }
        #expect(error?.message.contains("use --embedder hash with the same model") == true)
    }

    @Test("a query embedded with other prefixes than the index's is refused")
    func searchMismatch() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/index.sqlite"
        let e5 = HashEmbedder().identity.withPrefixes(query: "query: ", document: "passage: ")
        try await SQLiteIndexStore(path: path).prepare(IndexSettings(embedder: e5, chunking: .init()), roots: [])
        let search = try await IndexSearch(opening: [path])
        let plain = HashEmbedder()
        let error = await #expect(throws: StoreError.self) { try await search.search(["lamp"], embedder: plain, k: 1) }
        #expect(error?.code == .mismatch)
        #expect(error?.message.contains("not comparable") == true)
        let matching = plain.prefixing(query: "query: ", document: "passage: ", embedding: .query)
        #expect(try await search.search(["lamp"], embedder: matching, k: 1).first?.hits == [])
    }
}
