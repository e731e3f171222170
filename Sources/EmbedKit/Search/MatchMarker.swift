/// Finds where a query's words occur in result texts, exactly as the keyword index reads words (its tokenizer,
/// Porter stems, folded accents). Independent of the index, so it costs the same at a million chunks as at ten,
/// and works for an index without a keyword index.
///
/// Each text is split by FTS5's own tokenizer, and the tokens equal to a query word's token are marked, which is
/// what FTS5's `highlight()` marks for one-token words. A word FTS5 reads as a phrase of several tokens is
/// matched by `highlight()` itself, on the texts put in a throwaway in-memory FTS5 table.
enum MatchMarker {
    /// Connections to in-memory databases, only for reaching FTS5's tokenizer; one per concurrent caller.
    private static let tokenizerConnections = Locked<[Pooled]>([])

    /// A connection in the pool: used by one caller at a time, the one that took it out.
    private final class Pooled: @unchecked Sendable {
        let connection: SQLiteConnection
        init(_ connection: SQLiteConnection) { self.connection = connection }
    }

    /// For each of `texts`, the ranges (Unicode scalar offsets) of the words that match `words` (from
    /// ``KeywordQuery/words(in:)``).
    static func matches(of words: [String], in texts: [String]) throws -> [[Range<Int>]] {
        guard !texts.isEmpty, let expression = KeywordQuery.expression(ofWords: words) else {
            return texts.map { _ in [] }
        }
        let pooled = try tokenizerConnections.withLock { $0.popLast() } ?? Pooled(SQLiteConnection(path: ":memory:"))
        defer { tokenizerConnections.withLock { $0.append(pooled) } }
        let connection = pooled.connection
        guard let tokens = try KeywordIndex.singleTokens(of: words, on: connection) else {
            return try highlighted(expression, in: texts)
        }
        // Compared as bytes, as FTS5 compares tokens (String equality would match two normalizations of a word).
        let wanted = Set(tokens.map { Array($0.utf8) })
        return try texts.map { text in
            let matching = try connection.fts5Tokens(of: text, tokenizer: KeywordIndex.tokenizer, query: false)
                .filter { wanted.contains(Array($0.token.utf8)) }
            return scalarRanges(matching.map(\.utf8Range), in: text)
        }
    }

    /// UTF-8 ranges of `text`, in order, as ranges of Unicode scalar offsets.
    static func scalarRanges(_ utf8Ranges: [Range<Int>], in text: String) -> [Range<Int>] {
        guard !utf8Ranges.isEmpty else { return [] }
        var ranges: [Range<Int>] = []
        var scalar = 0
        var byte = 0
        var bytes = text.utf8.makeIterator()
        // The scalar offset of UTF-8 offset `target` (at or after the last one asked for).
        func scalarOffset(at target: Int) -> Int {
            while byte < target, let next = bytes.next() {
                byte += 1
                // A byte that does not continue a scalar starts one; count a scalar once its last byte is passed.
                if next & 0xC0 != 0x80 { scalar += 1 }
            }
            return scalar
        }
        for range in utf8Ranges {
            // Offsets inside a scalar do not come from FTS5's tokenizers; such a range is skipped, not guessed.
            let start = scalarOffset(at: range.lowerBound)
            let end = scalarOffset(at: range.upperBound)
            if start < end { ranges.append(start..<end) }
        }
        return ranges
    }

    /// For each of `texts`, the ranges that FTS5's `highlight()` marks for the FTS5 `expression`.
    static func highlighted(_ expression: String, in texts: [String]) throws -> [[Range<Int>]] {
        var found = texts.map { _ in [Range<Int>]() }
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE VIRTUAL TABLE marked USING fts5(text, tokenize = '\(KeywordIndex.tokenizer)')")
        let insert = try connection.prepare("INSERT INTO marked (rowid, text) VALUES (?1, ?2)")
        for (i, text) in texts.enumerated() {
            insert.bind([.int(Int64(i)), .text(text)])
            _ = try insert.step()
        }
        let select = try connection.prepare(
            "SELECT rowid, highlight(marked, 0, char(1), char(2)) FROM marked WHERE marked MATCH ?1")
        select.bind([.text(expression)])
        while try select.step() {
            let i = Int(select.int(0))
            found[i] = ranges(marked: select.text(1), original: texts[i]) ?? []
        }
        return found
    }

    /// The marked ranges of `marked` (each between U+0001 and U+0002), or nil when removing the marks does not
    /// give back `original` (the text itself held a mark character, so the marks cannot be trusted).
    static func ranges(marked: String, original: String) -> [Range<Int>]? {
        var ranges: [Range<Int>] = []
        var plain = String.UnicodeScalarView()
        var start: Int?
        var offset = 0
        for scalar in marked.unicodeScalars {
            switch scalar {
            case "\u{1}":
                guard start == nil else { return nil }
                start = offset
            case "\u{2}":
                guard let begin = start else { return nil }
                if begin < offset { ranges.append(begin..<offset) }
                start = nil
            default:
                plain.append(scalar)
                offset += 1
            }
        }
        guard start == nil, plain.elementsEqual(original.unicodeScalars) else { return nil }
        return ranges
    }
}
