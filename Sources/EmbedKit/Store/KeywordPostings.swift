import Foundation

/// The keyword index's posting lists held in memory, and FTS5's `bm25()` computed from them: what a process
/// that answers many queries (`embed serve`) ranks by instead of asking FTS5 each time.
///
/// FTS5 scores every chunk that holds any of a query's words, each with a B-tree seek for its length, so a
/// question full of common words costs tens of milliseconds on ten thousand chunks. Summing the postings of the
/// same words from memory costs well under one.
///
/// The scores are FTS5's to the bit: the same formula and constants, column weights, statistics (read from
/// FTS5's own records) and order of floating-point operations as `fts5Bm25Function` in SQLite's `fts5_aux.c`.
/// A test holds the two rankings equal on real documents.
///
/// One value holds one generation of one index. A word's postings are read (through `fts5vocab`) the first time
/// a query needs them, in a snapshot of that same generation, and kept.
final class KeywordPostings: Sendable {
    /// Every indexed chunk's id, ascending, and its length in tokens over all columns (FTS5's `docsize`).
    private let chunkIDs: [Int64]
    private let lengths: [Int32]
    /// FTS5's row count and mean row length in tokens, from its averages record, as `bm25()` reads them.
    private let rowCount: Int64
    private let averageLength: Double
    /// The schema version these were read at: rebuilding the keyword index (a repair) changes it, and not the
    /// index's generation.
    let schemaVersion: Int64
    private let terms = Locked(Terms())
    /// Whether FTS5's `bm25()` gives exactly these scores here: checked once (see ``agreesWithFTS5(_:expression:connection:)``).
    private let agreement = Locked<Bool?>(nil)

    /// Tokens are compared as bytes, as FTS5 compares them: Swift's `String` equality would take two
    /// normalizations of one word (NFC, NFD) for the same token.
    private struct Terms {
        var postings: [[UInt8]: TermPostings] = [:]
        /// Postings held, plus one and an eighth of the token's bytes per word, so that words without
        /// postings count too.
        var held = 0
    }

    /// The chunks that hold one token: positions in `chunkIDs`, ascending, and for each the token's count in
    /// every column times the column's weight, summed (FTS5's per-phrase frequency).
    private struct TermPostings {
        var positions: [Int32]
        var frequencies: [Double]
    }

    /// At most this many postings (see `Terms.held`) are held over all words; past it the held words are dropped
    /// and read again.
    static let maximumHeldPostings = 8_000_000

    private static let instancesTable = "temp.embed_chunks_fts_instances"

    private init(chunkIDs: [Int64], lengths: [Int32], rowCount: Int64, averageLength: Double, schemaVersion: Int64) {
        self.chunkIDs = chunkIDs
        self.lengths = lengths
        self.rowCount = rowCount
        self.averageLength = averageLength
        self.schemaVersion = schemaVersion
    }

    /// The schema version of the caller's snapshot.
    static func schemaVersion(_ connection: SQLiteConnection) throws -> Int64 {
        let statement = try connection.prepare("PRAGMA schema_version")
        return try statement.step() ? statement.int(0) : 0
    }

    /// Reads the statistics and chunk lengths of the keyword index, in the caller's snapshot; nil when FTS5's
    /// records do not read as expected (the caller then ranks with FTS5).
    static func load(_ connection: SQLiteConnection) throws -> KeywordPostings? {
        let averages = try connection.prepare("SELECT block FROM \(KeywordIndex.table)_data WHERE id = 1")
        var rowCount: Int64 = 0
        var tokenCount: Int64 = 0
        if try averages.step() {
            guard
                let values = averages.withBlob(0, { Varint.decodeAll($0) }),
                values.count == 1 + KeywordIndex.columns.count
            else { return nil }
            rowCount = values[0]
            tokenCount = values.dropFirst().reduce(0, &+)
        }
        // Not reserved from the averages record: a damaged one could ask for any size.
        var chunkIDs: [Int64] = []
        var lengths: [Int32] = []
        let sizes = try connection.prepare("SELECT id, sz FROM \(KeywordIndex.table)_docsize ORDER BY id")
        while try sizes.step() {
            guard let values = sizes.withBlob(1, { Varint.decodeAll($0) }),
                values.count == KeywordIndex.columns.count
            else { return nil }
            chunkIDs.append(sizes.int(0))
            lengths.append(Int32(truncatingIfNeeded: values.reduce(0, &+)))
        }
        guard chunkIDs.count == rowCount else { return nil }
        return KeywordPostings(
            chunkIDs: chunkIDs, lengths: lengths, rowCount: rowCount,
            averageLength: rowCount > 0 ? Double(tokenCount) / Double(rowCount) : 0,
            schemaVersion: try schemaVersion(connection))
    }

    /// Every chunk that holds any of `tokens` (one per phrase, in the query's order), best first by BM25, ties
    /// by chunk id, and a lookup of any chunk's score; nil when a word's postings do not read consistently.
    func rank(tokens: [String], connection: SQLiteConnection) throws -> KeywordScores? {
        var postings: [TermPostings] = []
        for token in tokens {
            guard let list = try self.postings(of: token, connection: connection) else { return nil }
            postings.append(list)
        }
        let k1 = 1.2
        let b = 0.75
        var scores = [Double](repeating: 0, count: chunkIDs.count)
        var matched: [Int32] = []
        // Phrase by phrase, in the query's order, as fts5Bm25Function sums them; a phrase a chunk lacks adds 0
        // there, which changes no sum.
        for list in postings {
            let hits = Int64(list.positions.count)
            var idf = log((Double(rowCount - hits) + 0.5) / (Double(hits) + 0.5))
            if idf <= 0 { idf = 1e-6 }
            for (position, frequency) in zip(list.positions, list.frequencies) {
                let p = Int(position)
                let length = Double(lengths[p])
                let term = idf * ((frequency * (k1 + 1.0)) / (frequency + k1 * (1 - b + b * length / averageLength)))
                if scores[p] == 0 { matched.append(position) }
                scores[p] += term
            }
        }
        matched.sort { a, b in
            let (x, y) = (scores[Int(a)], scores[Int(b)])
            return x != y ? x > y : a < b
        }
        return KeywordScores(chunkIDs: chunkIDs, scores: scores, ranked: matched)
    }

    /// The postings of `token`: held, or read now in the caller's snapshot.
    private func postings(of token: String, connection: SQLiteConnection) throws -> TermPostings? {
        let key = Array(token.utf8)
        if let held = terms.withLock({ $0.postings[key] }) { return held }
        // Each reader's connection needs the table once (it lives in the connection's temporary schema).
        try connection.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS \(Self.instancesTable) USING fts5vocab(main, \(KeywordIndex.table), instance)")
        let statement = try connection.prepare("SELECT doc, col FROM \(Self.instancesTable) WHERE term = ?1")
        statement.bind([.text(token)])
        var positions: [Int32] = []
        var frequencies: [Double] = []
        var searchFrom = 0
        var lastDocument: Int64 = .min
        while try statement.step() {
            let document = statement.int(0)
            guard let column = KeywordIndex.columns.firstIndex(of: statement.text(1)) else { return nil }
            let weight = KeywordIndex.columnWeights[column]
            if document == lastDocument {
                frequencies[frequencies.count - 1] += weight
                continue
            }
            // Instances come in chunk order; a chunk FTS5 has no length for means its records disagree.
            guard document > lastDocument, let position = position(of: document, from: searchFrom) else { return nil }
            positions.append(Int32(position))
            frequencies.append(weight)
            searchFrom = position + 1
            lastDocument = document
        }
        let list = TermPostings(positions: positions, frequencies: frequencies)
        let cost = positions.count + 1 + key.count / 8
        terms.withLock { terms in
            if terms.held + cost > Self.maximumHeldPostings { terms = Terms() }
            if terms.postings.updateValue(list, forKey: key) == nil { terms.held += cost }
        }
        return list
    }

    /// True when FTS5's own `bm25()` gives the best chunks of `scores` exactly the scores the postings gave:
    /// checked once, on the first ranking that finds anything, then remembered. The sums are FTS5's order of
    /// operations, but an SQLite compiled to fuse multiply-adds (some compilers do by default, on some CPUs)
    /// rounds differently; then FTS5 ranks every query, so that a served search never ranks otherwise than
    /// `embed query`.
    func agreesWithFTS5(_ scores: KeywordScores, expression: String, connection: SQLiteConnection) throws -> Bool {
        if let known = agreement.withLock({ $0 }) { return known }
        let best = Array(scores.rows.prefix(3))
        guard !best.isEmpty else { return true }
        let statement = try connection.prepare(
            "SELECT \(KeywordIndex.bm25) FROM \(KeywordIndex.table) WHERE \(KeywordIndex.table) MATCH ?1 AND rowid = ?2")
        var agrees = true
        for row in best {
            statement.bind([.text(expression), .int(row.chunkID)])
            agrees = try statement.step() && (-statement.double(0)).bitPattern == row.score.bitPattern
            statement.reset()
            if !agrees { break }
        }
        agreement.withLock { $0 = agrees }
        return agrees
    }

    /// Where `chunkID` is in `chunkIDs`, looking from `start` on.
    private func position(of chunkID: Int64, from start: Int) -> Int? {
        var low = start
        var high = chunkIDs.count
        while low < high {
            let middle = (low + high) / 2
            if chunkIDs[middle] < chunkID { low = middle + 1 } else { high = middle }
        }
        return low < chunkIDs.count && chunkIDs[low] == chunkID ? low : nil
    }
}

/// One query's BM25 over the chunks (see ``KeywordPostings``).
struct KeywordScores {
    fileprivate let chunkIDs: [Int64]
    fileprivate let scores: [Double]
    /// Positions of every chunk that holds a word, best first.
    fileprivate let ranked: [Int32]

    /// The matching chunks, best first: id and score.
    var rows: some Sequence<(chunkID: Int64, score: Double)> {
        ranked.lazy.map { (chunkIDs[Int($0)], scores[Int($0)]) }
    }

    /// The score of `chunkID`, or nil when it holds none of the words.
    func score(of chunkID: Int64) -> Double? {
        var low = 0
        var high = chunkIDs.count
        while low < high {
            let middle = (low + high) / 2
            if chunkIDs[middle] < chunkID { low = middle + 1 } else { high = middle }
        }
        guard low < chunkIDs.count, chunkIDs[low] == chunkID, scores[low] > 0 else { return nil }
        return scores[low]
    }
}

/// SQLite's variable-length integers, as FTS5 writes them in its records: big-endian groups of 7 bits, the top
/// bit of each byte saying another follows, and a ninth byte of 8 bits.
enum Varint {
    /// Every integer in `bytes`, or nil when the last one is cut off.
    static func decodeAll(_ bytes: UnsafeRawBufferPointer) -> [Int64]? {
        var values: [Int64] = []
        var i = 0
        while i < bytes.count {
            var value: UInt64 = 0
            var done = false
            for n in 0..<9 {
                guard i < bytes.count else { return nil }
                let byte = bytes[i]
                i += 1
                if n == 8 {
                    value = value << 8 | UInt64(byte)
                    done = true
                    break
                }
                value = value << 7 | UInt64(byte & 0x7F)
                if byte & 0x80 == 0 {
                    done = true
                    break
                }
            }
            guard done else { return nil }
            values.append(Int64(bitPattern: value))
        }
        return values
    }
}
