/// Finds where a query's words occur in result texts, exactly as the keyword index reads words (its tokenizer,
/// Porter stems, folded accents): the texts go into a throwaway in-memory FTS5 table whose `highlight()` marks
/// them. Independent of the index, so it costs the same at a million chunks as at ten, and works for an index
/// without a keyword index.
enum MatchMarker {
    /// For each of `texts`, the ranges (Unicode scalar offsets) of the words that match the FTS5 `expression`.
    static func matches(of expression: String, in texts: [String]) throws -> [[Range<Int>]] {
        var found = texts.map { _ in [Range<Int>]() }
        guard !texts.isEmpty else { return found }
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
