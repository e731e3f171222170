@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

/// The in-memory keyword ranking (``KeywordPostings``) against FTS5's own `bm25()`: the same rows, in the same
/// order, with the same scores to the bit.
@Suite("Keyword postings in memory (BM25 as FTS5 computes it)")
struct KeywordPostingsTests {
    /// The Cranfield collection (../shared/data/ir): 1,400 abstracts of aeronautics papers, and 225 questions.
    static let cranfield = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../../shared/data/ir/cranfield").standardizedFileURL.path

    /// The records of a Cranfield file: `.I` starts one, `.T`/`.W` (and others) start its fields.
    static func records(_ file: String) throws -> [[String: String]] {
        // The files end their lines with CR LF.
        let text = try String(contentsOfFile: cranfield + "/" + file, encoding: .utf8)
            .replacingOccurrences(of: "\r\n", with: "\n")
        var records: [[String: String]] = []
        var field = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(".I ") {
                records.append([:])
            } else if line.count == 2, line.hasPrefix(".") {
                field = String(line)
            } else if !records.isEmpty {
                records[records.count - 1][field, default: ""] += line + "\n"
            }
        }
        return records
    }

    /// Cranfield's first 400 abstracts as an index (the whole collection would make the suite slow under the
    /// sanitizers): each abstract's paragraphs are its chunks, under its title as heading.
    static func cranfieldIndex(in dir: TemporaryDirectory) async throws -> String {
        #expect(
            FileManager.default.fileExists(atPath: cranfield + "/cran.all.1400"),
            "the Cranfield collection is not at \(cranfield): ../shared must lie beside the repository")
        let embedder = HashEmbedder()
        let documents = try records("cran.all.1400").prefix(400).enumerated().map { n, record in
            let title = record[".T", default: ""].trimmingCharacters(in: .whitespacesAndNewlines)
            let texts = record[".W", default: ""].components(separatedBy: "\n  ").map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
            }.filter { !$0.isEmpty }
            let chunks = texts.enumerated().map { i, text in
                Chunk(
                    ordinal: i, text: text, startOffset: 0, endOffset: text.unicodeScalars.count, line: i + 1,
                    headingPath: [title], tokenCount: 1)
            }
            return IndexedDocument(
                path: "/cranfield/\(n + 1)", size: 10, modificationTimeNanoseconds: 5, contentHash: [1],
                format: .text, title: title, chunks: chunks, textHashes: texts.map { Array($0.utf8) },
                vectors: texts.map(embedder.vector(for:)))
        }
        return try await IndexFixture.index(in: dir, documents)
    }

    static func questions() throws -> [String] {
        try records("cran.qry").map { $0[".W", default: ""] }
    }

    /// The same ranking, from FTS5 and from the postings, compared row by row and bit by bit.
    static func expectSame(
        _ words: [String], fts: IndexReader, postings: IndexReader, limit: Int, wanted: Set<Int64> = [],
        accept: ((Int64) -> Bool)? = nil
    ) throws {
        let expected = try fts.keywordRanking(words, limit: limit, acceptDocument: accept, alsoScoring: wanted)
        let got = try postings.keywordRanking(words, limit: limit, acceptDocument: accept, alsoScoring: wanted)
        #expect(got.rows.map(\.chunkID) == expected.rows.map(\.chunkID), "\(words)")
        #expect(got.rows.map(\.documentID) == expected.rows.map(\.documentID), "\(words)")
        #expect(got.rows.map(\.score.bitPattern) == expected.rows.map(\.score.bitPattern), "\(words)")
        #expect(got.scores.mapValues(\.bitPattern) == expected.scores.mapValues(\.bitPattern), "\(words)")
    }

    @Test("on 113 of Cranfield's questions the postings rank exactly as FTS5: rows, order, scores to the bit")
    func sameAsFTS5OnCranfield() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await Self.cranfieldIndex(in: dir)
        let fts = try IndexReader(path: path)
        let postings = try IndexReader(path: path)
        postings.keywordCache = KeywordPostingsCache()
        let all = try Self.questions()
        #expect(all.count == 225)
        let questions = all.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        for (n, question) in questions.enumerated() {
            let words = KeywordQuery.words(in: question)
            // Scores asked for chunks found and not found, as hybrid search asks for the vector ranking's finds.
            let wanted = Set((0..<20).map { Int64($0 * 97 + n) })
            try Self.expectSame(words, fts: fts, postings: postings, limit: 50, wanted: wanted)
            // A filter that takes every third document reads further down the ranking.
            try Self.expectSame(words, fts: fts, postings: postings, limit: 20, accept: { $0 % 3 == 0 })
            // The whole ranking, every chunk that holds a word, for some.
            if n % 25 == 0 { try Self.expectSame(words, fts: fts, postings: postings, limit: 100_000) }
        }
        #expect(postings.keywordRankingsFromPostings == 2 * 113 + 5, "the postings answered every question")
        #expect(fts.keywordRankingsFromPostings == 0)
    }

    @Test("a word that FTS5 reads as a phrase of tokens, or none, is ranked by FTS5 itself, with the same result")
    func phrasesGoToFTS5() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await IndexFixture.index(in: dir, [
            IndexFixture.document("/a", texts: ["a b", "ab", "b a", "क and more"]),
        ])
        let fts = try IndexReader(path: path)
        let postings = try IndexReader(path: path)
        postings.keywordCache = KeywordPostingsCache()
        // U+0345 is a letter to Swift but a separator to FTS5's unicode61: "aͅb" is the phrase "a b" there.
        try Self.expectSame(KeywordQuery.words(in: "a\u{345}b"), fts: fts, postings: postings, limit: 10)
        #expect(postings.keywordRankingsFromPostings == 0)
        #expect(try postings.keywordRanking(["a\u{345}b"], limit: 10, acceptDocument: nil).rows.count == 1)
        // A spacing mark FTS5 drops: "कि" is the one token "क" to FTS5, which the postings rank.
        try Self.expectSame(KeywordQuery.words(in: "कि ab"), fts: fts, postings: postings, limit: 10)
        #expect(postings.keywordRankingsFromPostings == 1)
    }

    @Test("a served index's postings follow every write: new, changed and removed chunks rank as FTS5 ranks them")
    func followsWrites() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await IndexFixture.index(in: dir, [
            IndexFixture.document("/a", texts: ["vacuum reclaims storage", "analyze gathers statistics"]),
            IndexFixture.document("/b", texts: ["autovacuum runs vacuum and analyze"]),
        ])
        let index = try await EmbeddingIndex.open(path, for: .read, keepsKeywordPostings: true)
        func ranked(_ query: String) async throws -> [String] {
            try await index.withReader { reader in
                try reader.snapshot {
                    let rows = try reader.keywordRanking(KeywordQuery.words(in: query), limit: 10, acceptDocument: nil).rows
                    #expect(reader.keywordRankingsFromPostings > 0, "the served reader ranked from its postings")
                    let chunks = try reader.chunks(ids: rows.map(\.chunkID))
                    let fts = try IndexReader(path: path).keywordRanking(
                        KeywordQuery.words(in: query), limit: 10, acceptDocument: nil)
                    #expect(rows.map(\.chunkID) == fts.rows.map(\.chunkID))
                    #expect(rows.map(\.score.bitPattern) == fts.rows.map(\.score.bitPattern))
                    return rows.map { chunks[$0.chunkID]?.text ?? "?" }
                }
            }
        }
        #expect(try await ranked("vacuum") == ["vacuum reclaims storage", "autovacuum runs vacuum and analyze"])
        let store = try SQLiteIndexStore(path: path)
        try await store.write([
            IndexFixture.document("/a", texts: ["nothing about it"], hash: 2),
            IndexFixture.document("/c", texts: ["vacuum vacuum vacuum"]),
        ])
        #expect(try await ranked("vacuum") == ["vacuum vacuum vacuum", "autovacuum runs vacuum and analyze"])
        try await store.remove(paths: ["/b", "/c"])
        #expect(try await ranked("vacuum").isEmpty)
        #expect(try await ranked("nothing") == ["nothing about it"])
    }

    @Test("varints decode as SQLite writes them, and a cut-off one is refused")
    func varints() {
        func decode(_ bytes: [UInt8]) -> [Int64]? { bytes.withUnsafeBytes { Varint.decodeAll($0) } }
        #expect(decode([0x05, 0x81, 0x00, 0x7F]) == [5, 128, 127])
        #expect(decode([0x82, 0x80, 0x01]) == [32769])
        #expect(decode([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == [-1])
        #expect(decode([0x81]) == nil)
        #expect(decode([]) == [])
    }
}

@Suite("Match marks from FTS5's tokenizer")
struct MatchMarkerTokenizerTests {
    @Test("on Cranfield, the tokens marked are exactly what FTS5's highlight() marks, for a fifth of the questions")
    func sameAsHighlight() throws {
        let abstracts = try KeywordPostingsTests.records("cran.all.1400").prefix(60).map { $0[".W", default: ""] }
        // Accents, other scripts and symbols too, so that UTF-8 and scalar offsets differ.
        let texts = abstracts + ["Café crème brûlée — naïve façade", "Ünïcödé wörds 𝔘𝔫𝔦 ✓ the flow", "日本語 flow"]
        var marked = 0
        let questions = try KeywordPostingsTests.questions().enumerated().filter { $0.offset % 5 == 0 }.map(\.element)
        for question in questions + ["naive cafe facade", "unicode words flow"] {
            let words = KeywordQuery.words(in: question)
            let expected = try MatchMarker.highlighted(try #require(KeywordQuery.expression(ofWords: words)), in: texts)
            let found = try MatchMarker.matches(of: words, in: texts)
            #expect(found == expected, "\(question)")
            marked += found.joined().count
        }
        #expect(marked > 500)
    }

    @Test("UTF-8 offsets become Unicode scalar offsets")
    func scalarOffsets() {
        let text = "é 𝔘x ü"
        // "é" is 2 bytes, " " 1, "𝔘" 4, "x" 1, " " 1, "ü" 2.
        #expect(MatchMarker.scalarRanges([0..<2, 3..<8, 9..<11], in: text) == [0..<1, 2..<4, 5..<6])
        #expect(MatchMarker.scalarRanges([], in: text) == [])
    }
}

@Suite("Keyword postings: what could make them differ from FTS5")
struct KeywordPostingsEdgeTests {
    @Test("two normalizations of a word are two tokens, as FTS5 compares bytes, whichever is asked first")
    func normalizations() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let nfc = "\u{D55C}\u{AD6D}"  // 한국, precomposed
        let nfd = "\u{1112}\u{1161}\u{11AB}\u{1100}\u{116E}\u{11A8}"  // the same, decomposed
        #expect(nfc == nfd, "Swift compares them equal; FTS5 does not")
        let path = try await IndexFixture.index(in: dir, [
            IndexFixture.document("/a", texts: ["\(nfc) word"]), IndexFixture.document("/b", texts: ["\(nfd) word"]),
        ])
        let fts = try IndexReader(path: path)
        let postings = try IndexReader(path: path)
        postings.keywordCache = KeywordPostingsCache()
        for word in [nfc, nfd, nfc] {
            try KeywordPostingsTests.expectSame([word], fts: fts, postings: postings, limit: 10)
            #expect(try postings.keywordRanking([word], limit: 10, acceptDocument: nil).rows.count == 1)
        }
        #expect(postings.keywordRankingsFromPostings == 6)
        // Match marks too.
        #expect(try MatchMarker.matches(of: [nfd], in: ["\(nfc) x", "\(nfd) x"]) == [[], [0..<6]])
    }

    @Test("a keyword index rebuilt without a new generation (a repair) is read again")
    func repairedIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await IndexFixture.index(in: dir, [
            IndexFixture.document("/a", texts: ["alpha beta", "beta gamma"]),
        ])
        // A keyword index that lost a chunk behind the index's back (its generation unchanged), read by a served
        // reader...
        let writer = try SQLiteConnection(path: path)
        try writer.execute("""
            INSERT INTO chunks_fts(chunks_fts) VALUES('delete-all');
            INSERT INTO chunks_fts(rowid, text, heading_path)
                SELECT id, text, heading_path FROM chunks ORDER BY id LIMIT 1;
            """)
        let reader = try IndexReader(path: path)
        reader.keywordCache = KeywordPostingsCache()
        #expect(try reader.keywordRanking(["beta"], limit: 10, acceptDocument: nil).rows.count == 1)
        #expect(reader.keywordRankingsFromPostings == 1)
        // ...then rebuilt as a repair does, still at the same generation.
        try KeywordIndex.repairIfNeeded(writer, always: true, progress: nil)
        let before = reader.keywordRankingsFromPostings
        let rows = try reader.keywordRanking(["beta"], limit: 10, acceptDocument: nil).rows
        let expected = try IndexReader(path: path).keywordRanking(["beta"], limit: 10, acceptDocument: nil).rows
        #expect(rows == expected && rows.count == 2)
        #expect(reader.keywordRankingsFromPostings == before + 1, "the postings of the rebuilt index ranked it")
    }

    @Test("a damaged averages record sends the query to FTS5 instead of failing")
    func damagedAverages() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try await IndexFixture.index(in: dir, [IndexFixture.document("/a", texts: ["alpha beta"])])
        // A row count of 2^56 - 1: reserving room for it would end the process.
        let writer = try SQLiteConnection(path: path)
        try writer.execute("UPDATE chunks_fts_data SET block = x'FFFFFFFFFFFFFF7F0202' WHERE id = 1")
        let reader = try IndexReader(path: path)
        reader.keywordCache = KeywordPostingsCache()
        _ = try? reader.keywordRanking(["beta"], limit: 10, acceptDocument: nil)
        #expect(reader.keywordRankingsFromPostings == 0)
    }
}
