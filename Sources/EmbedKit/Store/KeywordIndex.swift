import Foundation

/// The state of an index's keyword index (the FTS5 table `chunks_fts` and the triggers that keep it in step
/// with `chunks`), as ``IndexReader/keywordIndexState()`` reads it from the schema.
public enum KeywordIndexState: Sendable, Equatable {
    /// The table, its shadow tables and its three triggers are there.
    case ready
    /// There is no keyword index: an index written by an older embed that no writer has opened since, or one
    /// whose table was dropped. `embed reindex` builds it.
    case missing
    /// Part of it is missing (a trigger, a shadow table); `reason` says which. `embed reindex` rebuilds it.
    case damaged(String)
}

/// A build of the keyword index from the chunks, as a writer reports it: when an older index is upgraded
/// (migration v3) or a missing or damaged keyword index is repaired.
public struct KeywordIndexBuild: Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        /// An index written before the keyword index existed gets it.
        case upgrade
        /// The keyword index was missing or damaged (the reason says how) and is rebuilt.
        case repair(String)
        /// A rebuild was asked for (`reindex --rebuild-keyword-index`), and nothing wrong was found.
        case requested
    }

    public var reason: Reason
    /// Chunks indexed so far, of `chunksTotal`.
    public var chunksDone: Int
    public var chunksTotal: Int
    public var elapsedSeconds: Double
    /// True for the last report, once the build is done (not yet committed: it commits with its transaction).
    public var finished: Bool
}

/// A problem that the thorough check of the keyword index (``IndexReader/keywordIndexProblem()``) found.
public struct KeywordIndexProblem: Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, as a sentence that starts with "the keyword index".
    public var message: String
    /// True when the quick check every writer makes finds it too, so the next `embed reindex` rebuilds the
    /// keyword index; false when only the thorough check finds it: `embed reindex --rebuild-keyword-index`.
    public var foundByWriters: Bool

    public var description: String { message }
}

/// What a writer does about the keyword index when it opens an index.
public enum KeywordIndexUpkeep: Sendable {
    /// Nothing (a dry run): a damaged keyword index is left as it is.
    case none
    /// The quick check; rebuilt when it finds the keyword index missing or damaged.
    case repairIfNeeded
    /// Rebuilt whatever the quick check finds (`reindex --rebuild-keyword-index`).
    case rebuild
}

/// Reports the progress of a keyword index build; called on the thread that builds it.
public typealias KeywordIndexProgress = @Sendable (KeywordIndexBuild) -> Void

/// Checks, builds and repairs the keyword index.
enum KeywordIndex {
    static let table = "chunks_fts"
    /// FTS5's shadow tables of an external-content table with the default options.
    static let shadowTables = ["chunks_fts_data", "chunks_fts_idx", "chunks_fts_docsize", "chunks_fts_config"]
    static let triggers = ["chunks_fts_after_insert", "chunks_fts_after_delete", "chunks_fts_after_update"]
    static let migration = "v3-chunks-fts"
    /// The table's columns, in order, and the weight BM25 gives each: the text twice the heading path, since a
    /// heading names a whole section, so a word there says less about one chunk than the same word in its text.
    static let columns = ["text", "heading_path"]
    static let columnWeights: [Double] = [2.0, 1.0]
    /// FTS5's ranking function with those weights.
    static var bm25: String { "bm25(\(table), \(columnWeights.map { "\($0)" }.joined(separator: ", ")))" }
    /// The tokenizer migration v3 gave the table; a test holds the two equal.
    static let tokenizer = "porter unicode61 remove_diacritics 2"

    /// The one token the keyword index's tokenizer makes of each of `words` (from ``KeywordQuery``), in order;
    /// nil when some word makes none or several (a phrase, which only FTS5 itself matches).
    static func singleTokens(of words: [String], on connection: SQLiteConnection) throws -> [String]? {
        // One call for all the words: a space separates them, and each token says where its word starts.
        var starts: [Int: Int] = [:]
        var offset = 0
        for (w, word) in words.enumerated() {
            starts[offset] = w
            offset += word.utf8.count + 1
        }
        var tokens = [String?](repeating: nil, count: words.count)
        for made in try connection.fts5Tokens(of: words.joined(separator: " "), tokenizer: tokenizer, query: true) {
            // FTS5 cuts a token at 32,768 bytes; such a giant is left to FTS5 rather than mimicked.
            guard let w = starts[made.utf8Range.lowerBound], tokens[w] == nil, made.token.utf8.count < 32_768 else {
                return nil
            }
            tokens[w] = made.token
        }
        return tokens.contains(nil) ? nil : tokens.map { $0! }
    }

    /// The table and its triggers, exactly as migration v3 created them (without the build from the chunks).
    static var schemaSQL: String {
        Migrations.all.first { $0.identifier == migration }!.sql
    }

    /// Chunks indexed per statement during a build, between two progress reports.
    static let batchSize = 2_000

    /// What the schema says: cheap (one read of `sqlite_master`), so queries can call it every time.
    static func state(_ connection: SQLiteConnection) throws -> KeywordIndexState {
        let statement = try connection.prepare(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE name LIKE 'chunks\\_fts%' ESCAPE '\\'")
        var tables = Set<String>()
        var triggersFound = Set<String>()
        while try statement.step() {
            let (type, name, table) = (statement.text(0), statement.text(1), statement.text(2))
            if type == "table" { tables.insert(name) }
            if type == "trigger" && table == "chunks" { triggersFound.insert(name) }
        }
        guard tables.contains(table) else { return .missing }
        if let shadow = shadowTables.first(where: { !tables.contains($0) }) {
            return .damaged("its table \(shadow) is missing")
        }
        if let trigger = triggers.first(where: { !triggersFound.contains($0) }) {
            return .damaged("the trigger \(trigger), which keeps it in step with the chunks, is missing")
        }
        return .ready
    }

    /// What is wrong with the keyword index, or nil when nothing is found. Assumes ``state(_:)`` is `.ready`.
    ///
    /// The quick check, which every writer makes when it opens an index: the numbers of rows, and 8 chunks
    /// spread over the ids (their token counts, and a look-up by their words). With `thorough` (`stats
    /// --check`), then: every chunk id, 256 chunks, and the whole FTS5 index read back (a damaged page shows as
    /// an error). FTS5's own `integrity-check` is a write statement, refused on a read-only connection, and
    /// too slow for every run (see docs/decisions.md).
    static func contentProblem(_ connection: SQLiteConnection, thorough: Bool) throws -> ContentProblem? {
        func count(_ sql: String) throws -> Int {
            let statement = try connection.prepare(sql)
            defer { statement.reset() }
            return try statement.step() ? Int(statement.int(0)) : 0
        }
        var quick = true
        do {
            let chunks = try count("SELECT count(*) FROM chunks")
            let indexed = try count("SELECT count(*) FROM chunks_fts_docsize")
            if chunks != indexed {
                return ContentProblem(reason: "it holds \(indexed) chunks, the index \(chunks)", writersFindIt: true)
            }
            if let problem = try sampleProblem(connection, samples: 8) {
                return ContentProblem(reason: problem, writersFindIt: true)
            }
            guard thorough else { return nil }
            quick = false
            let unindexed = try count(
                "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunks_fts_docsize d WHERE d.id = c.id)")
            if unindexed > 0 {
                let chunks = unindexed == 1 ? "1 chunk is" : "\(unindexed) chunks are"
                return ContentProblem(reason: "\(chunks) not in it", writersFindIt: false)
            }
            if let problem = try sampleProblem(connection, samples: 256) {
                return ContentProblem(reason: problem, writersFindIt: false)
            }
            try readEveryTerm(connection)
        } catch let error as StoreError where error.code != .busy && error.code != .diskFull {
            let why = error.code == .corrupt ? "FTS5 finds it malformed" : error.message
            return ContentProblem(reason: "it cannot be read (\(why))", writersFindIt: quick)
        }
        return nil
    }

    struct ContentProblem {
        var reason: String
        /// False when only the thorough check finds it.
        var writersFindIt: Bool
    }

    /// Indexes up to `samples` chunks, spread over the ids, in a temporary FTS5 table with the same tokenizer,
    /// and compares the numbers of tokens per column that both tables record for them: a chunk left out, or
    /// whose text changed without the triggers, shows.
    private static func sampleProblem(_ connection: SQLiteConnection, samples: Int) throws -> String? {
        // Every statement is reset after use: a running one would keep the temporary tables from being dropped.
        let bounds = try connection.prepare("SELECT min(id), max(id) FROM chunks")
        defer { bounds.reset() }
        guard try bounds.step(), !bounds.isNull(0) else { return nil }
        let (low, high) = (bounds.int(0), bounds.int(1))
        bounds.reset()
        let next = try connection.prepare("SELECT id FROM chunks WHERE id >= ?1 ORDER BY id LIMIT 1")
        defer { next.reset() }
        var ids = Set<Int64>()
        for i in 0..<samples {
            let target = low + Int64(Double(high - low) * Double(i) / Double(max(samples - 1, 1)))
            if try next.bind([.int(target)]).step() { ids.insert(next.int(0)) }
        }
        next.reset()
        try connection.execute(
            """
            DROP TABLE IF EXISTS temp.chunks_fts_sample;
            CREATE VIRTUAL TABLE temp.chunks_fts_sample USING fts5(
                text, heading_path, tokenize = '\(tokenizer)');
            """)
        defer { try? connection.execute("DROP TABLE IF EXISTS temp.chunks_fts_sample") }
        let copy = try connection.prepare(
            "INSERT INTO temp.chunks_fts_sample(rowid, text, heading_path) SELECT id, text, heading_path FROM chunks WHERE id = ?1")
        for id in ids { try copy.bind([.int(id)]).run() }
        let compare = try connection.prepare(
            """
            SELECT s.id FROM temp.chunks_fts_sample_docsize s LEFT JOIN main.chunks_fts_docsize d ON d.id = s.id
            WHERE d.sz IS NOT s.sz ORDER BY s.id LIMIT 1
            """)
        defer { compare.reset() }
        if try compare.step() {
            return "chunk \(compare.int(0)) is not indexed as its text reads"
        }
        return try wordsProblem(connection, ids: ids)
    }

    /// Looks each sampled chunk up in the keyword index by 2 of its own words (the longest, which tend to
    /// be rare): a keyword index whose terms were lost or garbled, though its row counts are right, shows.
    ///
    /// The words come unstemmed from a temporary table with the tokenizer under the porter stemmer, so the
    /// keyword index stems each one as it stemmed the text: a sound index always finds the chunk.
    private static func wordsProblem(_ connection: SQLiteConnection, ids: Set<Int64>) throws -> String? {
        try connection.execute(
            """
            DROP TABLE IF EXISTS temp.chunks_fts_words_list;
            DROP TABLE IF EXISTS temp.chunks_fts_words;
            CREATE VIRTUAL TABLE temp.chunks_fts_words USING fts5(
                text, heading_path, tokenize = 'unicode61 remove_diacritics 2');
            CREATE VIRTUAL TABLE temp.chunks_fts_words_list USING fts5vocab(temp, chunks_fts_words, instance);
            """)
        defer {
            try? connection.execute(
                "DROP TABLE IF EXISTS temp.chunks_fts_words_list; DROP TABLE IF EXISTS temp.chunks_fts_words")
        }
        let copy = try connection.prepare(
            "INSERT INTO temp.chunks_fts_words(rowid, text, heading_path) SELECT id, text, heading_path FROM chunks WHERE id = ?1")
        for id in ids { try copy.bind([.int(id)]).run() }
        let words = try connection.prepare(
            """
            SELECT DISTINCT doc, col, term FROM temp.chunks_fts_words_list
            ORDER BY doc, col = 'text' DESC, length(term) DESC, term
            """)
        defer { words.reset() }
        var chosen: [Int64: [(column: String, word: String)]] = [:]
        while try words.step() {
            let id = words.int(0)
            if chosen[id, default: []].count < 2 { chosen[id, default: []].append((words.text(1), words.text(2))) }
        }
        words.reset()
        let find = try connection.prepare("SELECT 1 FROM main.chunks_fts WHERE chunks_fts MATCH ?1 AND rowid = ?2")
        defer { find.reset() }
        for (id, words) in chosen.sorted(by: { $0.key < $1.key }) {
            let expression = words.map { "{\($0.column)} : \"\($0.word.replacingOccurrences(of: "\"", with: "\"\""))\"" }
                .joined(separator: " AND ")
            if !(try find.bind([.text(expression), .int(id)]).step()) {
                return "chunk \(id) is not found by its words"
            }
        }
        return nil
    }

    /// Reads every term and its document list: FTS5 reports a damaged index as an error.
    private static func readEveryTerm(_ connection: SQLiteConnection) throws {
        try connection.execute(
            """
            DROP TABLE IF EXISTS temp.chunks_fts_terms;
            CREATE VIRTUAL TABLE temp.chunks_fts_terms USING fts5vocab(main, chunks_fts, row);
            """)
        defer { try? connection.execute("DROP TABLE IF EXISTS temp.chunks_fts_terms") }
        let read = try connection.prepare("SELECT count(*), sum(cnt) FROM temp.chunks_fts_terms")
        defer { read.reset() }
        _ = try read.step()
    }

    /// Fills the (empty or stale) keyword index from every chunk, `batchSize` chunks per statement, reporting
    /// progress after each. Call inside the transaction that needs it.
    static func build(
        _ connection: SQLiteConnection, reason: KeywordIndexBuild.Reason, progress: KeywordIndexProgress?,
        batchSize: Int = batchSize
    ) throws {
        let start = Date()
        let total = try connection.prepare("SELECT count(*) FROM chunks")
        let chunksTotal = try total.step() ? Int(total.int(0)) : 0
        total.reset()
        var report = KeywordIndexBuild(
            reason: reason, chunksDone: 0, chunksTotal: chunksTotal, elapsedSeconds: 0, finished: false)
        // A new or empty index is not worth a word; a repair always is.
        let progress = chunksTotal > 0 || reason != .upgrade ? progress : nil
        progress?(report)
        // FTS5's 'rebuild' does the same in one statement, which cannot report progress (docs/decisions.md).
        try connection.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('delete-all')")
        let bound = try connection.prepare("SELECT id FROM chunks WHERE id > ?1 ORDER BY id LIMIT 1 OFFSET ?2")
        let insert = try connection.prepare(
            """
            INSERT INTO chunks_fts(rowid, text, heading_path)
            SELECT id, text, heading_path FROM chunks WHERE id > ?1 AND id <= ?2 ORDER BY id
            """)
        var last = Int64.min
        while true {
            let upper = try bound.bind([.int(last), .int(Int64(batchSize - 1))]).step() ? bound.int(0) : Int64.max
            try insert.bind([.int(last), .int(upper)]).run()
            report.chunksDone = upper == .max ? chunksTotal : min(report.chunksDone + batchSize, chunksTotal)
            report.elapsedSeconds = Date().timeIntervalSince(start)
            if upper == .max { break }
            progress?(report)
            last = upper
        }
        report.finished = true
        progress?(report)
    }

    /// Checks the keyword index as a writer opens the index, and when it is missing or damaged, drops what is
    /// left of it and builds it again from the chunks, in one transaction: chunks and vectors are not touched.
    /// - Returns: what was wrong, or nil when nothing was.
    /// - Parameter always: rebuild it even when the quick check finds nothing (`reindex --rebuild-keyword-index`).
    @discardableResult
    static func repairIfNeeded(_ connection: SQLiteConnection, always: Bool = false, progress: KeywordIndexProgress?)
        throws -> String?
    {
        let found = try IndexFile.inReadTransaction(connection) { () throws -> String? in
            switch try state(connection) {
            case .ready: return try contentProblem(connection, thorough: false)?.reason
            case .missing: return "it is missing"
            case .damaged(let reason): return reason
            }
        }
        guard let problem = found ?? (always ? "" : nil) else { return nil }
        let reason: KeywordIndexBuild.Reason = found == nil ? .requested : .repair(problem)
        try connection.transaction {
            var sql = triggers.map { "DROP TRIGGER IF EXISTS \($0);" }
            sql.append("DROP TABLE IF EXISTS \(table);")
            // Shadow tables left behind (by a damaged table whose own DROP could not remove them).
            sql += shadowTables.map { "DROP TABLE IF EXISTS \($0);" }
            do {
                try connection.execute(sql.joined(separator: "\n"))
            } catch let error as StoreError {
                throw StoreError(
                    error.code,
                    "\(connection.path): the keyword index is damaged (\(problem)) and cannot be dropped to rebuild it "
                        + "(\(error.message)); build a new index with `embed ingest PATH... --db NEW`",
                    path: connection.path, sqliteCode: error.sqliteCode)
            }
            try connection.execute(schemaSQL)
            try build(connection, reason: reason, progress: progress)
        }
        return found
    }
}
