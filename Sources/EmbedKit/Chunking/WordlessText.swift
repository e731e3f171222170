/// Text without words: digits, punctuation, table rules, hex dumps, citation tables. Such a chunk says nothing
/// a sentence could ask for, so an index may leave it without a vector (``TextChunker/Configuration/embedsWordlessChunks``):
/// it stays stored and is still found by keyword search.
///
/// A *word* here is a run of at least two letters (marks included): `L1`, `0x0F` and `3.5e-05` have none, `ctid`,
/// `utf8` and `int4` have one (an identifier with digits is still named by its letters). A text is wordless when
/// the letters of its words are fewer than ``minimumWordShare`` of its characters that are not white space.
/// docs/decisions.md gives the measurements behind the figure.
public enum WordlessText {
    /// 15%: in the PostgreSQL manual every chunk below it is a table of numbers, a hex dump or an address list;
    /// just above it come tables with column names and lists of identifiers, which a query can name.
    public static let minimumWordShare = 0.15

    /// True when `text` has some character that is not white space and its words are less than
    /// ``minimumWordShare`` of those characters.
    public static func isWordless(_ text: some StringProtocol) -> Bool {
        let (words, visible) = counts(text)
        return visible > 0 && Double(words) < minimumWordShare * Double(visible)
    }

    /// The share of `text`'s characters that are not white space that are in words (1 for a text of white space).
    public static func wordShare(_ text: some StringProtocol) -> Double {
        let (words, visible) = counts(text)
        return visible == 0 ? 1 : Double(words) / Double(visible)
    }

    /// (characters in words, characters that are not white space), in Unicode scalars.
    static func counts(_ text: some StringProtocol) -> (words: Int, visible: Int) {
        var words = 0
        var visible = 0
        var run = 0  // letters in the current run
        for scalar in text.unicodeScalars {
            let properties = scalar.properties
            let category = properties.generalCategory
            if properties.isAlphabetic || category == .nonspacingMark || category == .spacingMark
                || category == .enclosingMark
            {
                run += 1
                visible += 1
                continue
            }
            if run >= 2 { words += run }
            run = 0
            if !properties.isWhitespace { visible += 1 }
        }
        if run >= 2 { words += run }
        return (words, visible)
    }
}
