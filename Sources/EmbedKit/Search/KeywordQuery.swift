/// Turns what a user typed into an FTS5 query that cannot be a syntax error.
///
/// Every word (a run of letters, digits and marks, as FTS5's unicode61 tokenizer splits them) becomes a quoted
/// string, and the words are joined by OR, so BM25 ranks chunks by how many of the words they hold and how rare
/// those are. Operators, quotes, parentheses, `*`, `-` and NUL in the input are separators, never syntax.
public enum KeywordQuery {
    /// At most this many words are kept: a 10,000-word query would cost a scan of every posting list for little.
    public static let maximumWords = 64

    /// The FTS5 MATCH expression for `text`, or nil when it has no word at all (punctuation only).
    public static func expression(for text: String) -> String? {
        expression(ofWords: words(in: text))
    }

    /// The distinct words of `text`, lowercased, in the order they first occur, at most ``maximumWords``: the
    /// phrases of its expression, in order.
    public static func words(in text: String) -> [String] {
        var words: [String] = []
        var seen = Set<String>()
        var current = ""
        func finish() {
            defer { current = "" }
            guard !current.isEmpty, words.count < maximumWords else { return }
            let word = current.lowercased()
            if seen.insert(word).inserted { words.append(word) }
        }
        for scalar in text.unicodeScalars {
            let properties = scalar.properties
            if properties.isAlphabetic || properties.numericType != nil || properties.generalCategory.isMark {
                current.unicodeScalars.append(scalar)
            } else {
                finish()
            }
        }
        finish()
        return words
    }

    /// The FTS5 MATCH expression that ORs `words` (from ``words(in:)``), or nil when there are none.
    public static func expression(ofWords words: [String]) -> String? {
        guard !words.isEmpty else { return nil }
        // Inside an FTS5 string a double quote is written twice; the words hold none, but keep the rule.
        return words.map { "\"" + $0.replacingQuote() + "\"" }.joined(separator: " OR ")
    }
}

extension Unicode.GeneralCategory {
    fileprivate var isMark: Bool {
        switch self {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: false
        }
    }
}

extension String {
    fileprivate func replacingQuote() -> String {
        var out = ""
        for c in self { out += c == "\"" ? "\"\"" : String(c) }
        return out
    }
}
