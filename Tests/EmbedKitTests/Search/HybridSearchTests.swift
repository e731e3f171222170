@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

@Suite("Search modes: vector, keyword, hybrid")
struct HybridSearchTests {
    let embedder = HashEmbedder()

    /// 80 chunks that share the word "space" with the query, and one that matches it only by stem.
    func spaceIndex(_ dir: TemporaryDirectory) async throws -> String {
        let fillers = (0..<80).map { "space note \($0) on harbour \($0 % 7) and ship \($0 % 11)" }
        return try await IndexFixture.index(in: dir, [
            IndexFixture.document("/notes.txt", texts: fillers),
            IndexFixture.document("/vacuum.txt", texts: ["Vacuum reclaims disk"]),
        ])
    }

    func search(_ paths: [String], _ query: String, _ options: SearchOptions) async throws -> [SearchHit] {
        let outcome = try await IndexSearch(opening: paths).search([query], embedder: embedder, options: options)
        #expect(outcome.problems.isEmpty && outcome.keywordProblems.isEmpty)
        return outcome.results[0].hits
    }

    @Test("each mode ranks by its own ranking, and every hit says which rankings found it and where")
    func modes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await spaceIndex(dir)
        let query = "reclaiming space"
        let queryVector = embedder.vector(for: query)

        let vector = try await search([path], query, SearchOptions(mode: .vector, k: 10))
        #expect(vector.count == 10)
        for hit in vector {
            let cosine = zip(queryVector, embedder.vector(for: hit.chunk.text)).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(abs(hit.score - cosine) < 1e-5)
            #expect(hit.vector?.rank == hit.rank && hit.keyword == nil)
        }
        #expect(zip(vector, vector.dropFirst()).allSatisfy { $0.score >= $1.score })
        #expect(!vector.contains { $0.chunk.path == "/vacuum.txt" })

        let keyword = try await search([path], query, SearchOptions(mode: .keyword, k: 10))
        let expected = try IndexReader(path: path).keywordSearch(query, limit: 10)
        #expect(keyword.map(\.chunk.id) == expected.map(\.chunkID))
        #expect(keyword.map(\.score) == expected.map { Float($0.score) })
        #expect(keyword.allSatisfy { $0.keyword?.rank == $0.rank && $0.vector == nil })
        // Only the stem matches, but "space" is in 80 of 81 chunks: the rare word wins.
        #expect(keyword.first?.chunk.path == "/vacuum.txt")

        // Equal weights: the keyword ranking's best (BM25 rescaled to 1, similarity 0) ties the vector ranking's.
        let hybrid = try await search([path], query, SearchOptions(mode: .hybrid, k: 10, fusion: .linear(vectorWeight: 0.5)))
        #expect(hybrid.count == 10)
        let found = try #require(hybrid.first { $0.chunk.path == "/vacuum.txt" })
        #expect(found.keyword?.rank == 1)
        #expect(found.vector == nil, "81st by vector, beyond the depth searched")
        #expect(hybrid.allSatisfy { $0.vector != nil || $0.keyword != nil })
        #expect(zip(hybrid, hybrid.dropFirst()).allSatisfy { $0.score >= $1.score })
        #expect(found.matches == [7..<15], "\"reclaims\" is the stem's match")
    }

    func candidate(_ id: Int64, similarity: Float, keyword: Float?, byVector: Bool, byKeyword: Bool) -> Candidate {
        Candidate(
            index: "i", indexPosition: 0,
            chunk: StoredChunk(
                id: id, path: "/\(id)", format: .text, title: nil,
                chunk: Chunk(
                    ordinal: 0, text: "text \(id)", startOffset: 0, endOffset: 6, line: 1, headingPath: [],
                    tokenCount: 2)),
            similarity: similarity, keywordScore: keyword, foundByVector: byVector, foundByKeyword: byKeyword)
    }

    @Test("reciprocal rank fusion and linear fusion score as documented")
    func fusion() {
        let candidates = [
            candidate(1, similarity: 0.9, keyword: nil, byVector: true, byKeyword: false),
            candidate(2, similarity: 0.1, keyword: 8, byVector: false, byKeyword: true),
            candidate(3, similarity: 0.5, keyword: 4, byVector: true, byKeyword: true),
        ]
        let rrf = HybridRanking.results(
            candidates, options: SearchOptions(mode: .hybrid, fusion: .reciprocalRank(constant: 60, vectorWeight: 0.5)))
        // 3 is second in both rankings: 0.5/62 + 0.5/62 beats 0.5/61 alone.
        #expect(rrf.map(\.chunk.id) == [3, 1, 2])
        #expect(abs(rrf[0].score - Float(1.0 / 62)) < 1e-7)
        #expect(abs(rrf[1].score - Float(0.5 / 61)) < 1e-7)

        let linear = HybridRanking.results(candidates, options: SearchOptions(mode: .hybrid, fusion: .linear(vectorWeight: 0.7)))
        // Similarities 0.9, 0.1, 0.5 rescale to 1, 0, 0.5; BM25 0, 8, 4 to 0, 1, 0.5.
        #expect(linear.map(\.chunk.id) == [1, 3, 2])
        #expect(linear.map(\.score) == [0.7, 0.5, 0.3].map { Float($0) })
        #expect(linear[1].vector == RankingPlace(rank: 2, score: 0.5))
        #expect(linear[1].keyword == RankingPlace(rank: 2, score: 4))
    }

    @Test("filters apply in every mode", arguments: SearchMode.allCases)
    func filters(mode: SearchMode) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await IndexFixture.index(in: dir, [
            IndexFixture.document("/x/a.md", texts: ["vacuum guide for markdown"], format: .markdown),
            IndexFixture.document("/y/b.txt", texts: ["vacuum notes in text"]),
        ])
        func paths(_ filter: SearchFilter) async throws -> [String] {
            try await search([path], "vacuum", SearchOptions(mode: mode, k: 10, filter: filter)).map(\.chunk.path)
        }
        #expect(try await paths(SearchFilter()).sorted() == ["/x/a.md", "/y/b.txt"])
        #expect(try await paths(SearchFilter(formats: [.markdown])) == ["/x/a.md"])
        #expect(try await paths(SearchFilter(pathPrefixes: ["/y"])) == ["/y/b.txt"])
        #expect(try await paths(SearchFilter(pathGlobs: ["*/a.md"])) == ["/x/a.md"])
        #expect(try await paths(SearchFilter(minScore: 1000)).isEmpty)
    }

    @Test("several indexes are merged into one ranking, in every mode", arguments: SearchMode.allCases)
    func indexes(mode: SearchMode) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = try await IndexFixture.index(in: dir, name: "one.sqlite", [
            IndexFixture.document("/one.txt", texts: ["vacuum reclaims storage", "unrelated harbour"]),
        ])
        let second = try await IndexFixture.index(in: dir, name: "two.sqlite", [
            IndexFixture.document("/two.txt", texts: ["vacuum storage", "ships at sea"]),
        ])
        let hits = try await search([first, second], "vacuum storage", SearchOptions(mode: mode, k: 2))
        #expect(hits.map(\.rank) == [1, 2])
        #expect(Set(hits.map(\.index)) == [first, second])
        #expect(hits[0].chunk.text == "vacuum storage", "the closer match, from the second index, is first")
    }

    @Test("identical texts are one result listing its copies, unless asked for each; --group document")
    func shaping() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await IndexFixture.index(in: dir, [
            IndexFixture.document("/a.txt", texts: ["vacuum reclaims storage"]),
            IndexFixture.document("/b.txt", texts: ["vacuum reclaims storage"]),
            IndexFixture.document("/c.txt", texts: ["vacuum reclaims storage", "vacuum and more", "vacuum again"]),
            IndexFixture.document("/d.txt", texts: ["vacuum once"]),
        ])
        let collapsed = try await search([path], "vacuum reclaims storage", SearchOptions(mode: .hybrid, k: 3))
        #expect(collapsed[0].chunk.path == "/a.txt")
        #expect(collapsed[0].copies.map(\.chunk.path) == ["/b.txt", "/c.txt"])
        #expect(Set(collapsed.map(\.chunk.text)).count == 3)

        let each = try await search([path], "vacuum reclaims storage", SearchOptions(mode: .hybrid, k: 3, collapseCopies: false))
        #expect(each.map(\.chunk.path) == ["/a.txt", "/b.txt", "/c.txt"])
        #expect(each.allSatisfy { $0.copies.isEmpty })

        let documents = try await search(
            [path], "vacuum", SearchOptions(mode: .keyword, k: 10, grouping: .document, collapseCopies: false))
        #expect(documents.map(\.chunk.path).sorted() == ["/a.txt", "/b.txt", "/c.txt", "/d.txt"])
    }

    @Test("grouping searches deeper when the best chunks all come from one document")
    func deeper() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await IndexFixture.index(in: dir, [
            IndexFixture.document("/big.txt", texts: (0..<200).map { "vacuum vacuum vacuum part \($0)" }),
            IndexFixture.document("/small1.txt", texts: ["vacuum once in a long sentence about other things"]),
            IndexFixture.document("/small2.txt", texts: ["a vacuum in a long sentence about other things too"]),
        ])
        for mode in SearchMode.allCases {
            let hits = try await search([path], "vacuum", SearchOptions(mode: mode, k: 3, grouping: .document))
            #expect(hits.map(\.chunk.path).sorted() == ["/big.txt", "/small1.txt", "/small2.txt"], "\(mode)")
        }
    }

    @Test("a query with no word, or only FTS5 syntax, is answered in every mode", arguments: SearchMode.allCases)
    func noWords(mode: SearchMode) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await spaceIndex(dir)
        for query in ["?!", "\"", "AND OR NOT", "*", "\u{0}", String(repeating: "vacuum ", count: 10_000)] {
            let hits = try await search([path], query, SearchOptions(mode: mode, k: 3))
            #expect(hits.count <= 3)
        }
    }

    @Test("match marks are trusted only when removing them gives back the chunk's text")
    func marks() {
        #expect(MatchMarker.ranges(marked: "a \u{1}bc\u{2} d", original: "a bc d") == [2..<4])
        #expect(MatchMarker.ranges(marked: "é \u{1}ü\u{2}", original: "é ü") == [2..<3])
        #expect(MatchMarker.ranges(marked: "a \u{1}b\u{1}c\u{2}\u{2}", original: "a \u{1}bc\u{2}") == nil)
        #expect(MatchMarker.ranges(marked: "\u{1}new\u{2}", original: "old") == nil)
    }

    @Test("matches are marked with the keyword index's own tokenizer")
    func tokenizer() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await spaceIndex(dir)
        let connection = try SQLiteConnection(path: path)
        let statement = try connection.prepare("SELECT sql FROM sqlite_master WHERE name = 'chunks_fts'")
        #expect(try statement.step())
        let schema = statement.text(0)
        #expect(schema.contains("tokenize = '\(KeywordIndex.tokenizer)'"), "\(schema)")
        let found = try MatchMarker.matches(
            of: KeywordQuery.words(in: "Café reclaiming"), in: ["a cafe reclaims", "nothing", ""])
        #expect(found == [[2..<6, 7..<15], [], []])
        // A word FTS5 reads as a phrase ("aͅb" is "a b" to unicode61) is marked by highlight() itself.
        #expect(try MatchMarker.matches(of: ["a\u{345}b"], in: ["x a b", "b a"]) == [[2..<5], []])
    }

    @Test("a snippet is the window around the most matches, cut at spaces")
    func snippet() {
        let words = (0..<200).map { "w\($0)" }.joined(separator: " ")
        let text = Array(words.unicodeScalars)
        let start = words.range(of: "w150")!.lowerBound
        let at = words.unicodeScalars.distance(from: words.unicodeScalars.startIndex, to: start)
        // Two matches near w150 beat one at the start.
        let snippet = Snippet(text: words, matches: [at..<(at + 4), (at + 10)..<(at + 14), 2..<4])
        #expect(snippet.range.contains(at) && snippet.range.count <= 160)
        #expect(snippet.matches == [at..<(at + 4), (at + 10)..<(at + 14)])
        #expect(Snippet(text: words, matches: [at..<(at + 4), 2..<4]).range.lowerBound == 0, "equals: the earliest")
        #expect(text[snippet.range.lowerBound - 1] == " " && at - snippet.range.lowerBound <= 30)
        #expect(Snippet(text: words, matches: []).range.lowerBound == 0)
        #expect(Snippet(text: "short", matches: [0..<5]).range == 0..<5)
    }
}
