/// What is embedded with a chunk besides its own text.
///
/// A document's later chunks, embedded alone, lose what the document and the section are about, so a chunk
/// that shares a few words with a query can win a top slot on its own. With ``titleHeadings`` the text sent
/// to the embedder for a chunk is a short header naming the document and the section, a blank line, and the
/// chunk's text. Only the embedded text changes: the stored chunk text, its offsets and snippets do not.
///
/// It is part of an index's recipe (``IndexSettings/chunkContext``): an index keeps the vectors it was built
/// with until `--reembed`, and a writer asking for another context is refused.
public enum ChunkContext: String, Sendable, Hashable, Codable, CaseIterable {
    /// The chunk's text alone, as every index made before chunk context existed.
    case none
    /// `Title › Section › Subsection`, a blank line, then the chunk's text (see ``ChunkHeaders``).
    case titleHeadings = "title-headings"

    /// The most tokens a header takes; longer ones are shortened (see ``ChunkHeaders/header(for:title:)``).
    public static let maxHeaderTokens = 32

    /// The tokens this context takes from the embedder's input window: chunks are sized to what is left,
    /// so a chunk with its header still fits.
    public var reservedTokens: Int { self == .none ? 0 : Self.maxHeaderTokens }
}

/// Builds the text embedded for each chunk of a document under a ``ChunkContext``.
///
/// The header is the document's title followed by the chunk's heading path, joined by ` › `, less what the
/// chunk's text already opens with: the first chunk of a section starts with its heading, and the first chunk
/// of a plain text file with the line that serves as its title, and neither is said twice. The title is the
/// parser's (HTML `<title>` or first `h1`, Markdown front matter or first heading, the first title of XML and
/// reStructuredText), else the document's first line; it is left out when the heading path starts with it.
/// A header over ``ChunkContext/maxHeaderTokens`` keeps the title and the innermost heading, and is then cut
/// to that many tokens.
public struct ChunkHeaders: Sendable {
    public let context: ChunkContext
    public let tokenCounter: any TokenCounter

    /// Between the parts of a header.
    public static let separator = " › "
    /// Between the header and the chunk's text.
    public static let headerEnd = "\n\n"

    public init(context: ChunkContext, tokenCounter: any TokenCounter) {
        self.context = context
        self.tokenCounter = tokenCounter
    }

    /// The text to embed for each of `chunks` of `document`, in order: the chunks' own texts under ``ChunkContext/none``.
    public func embeddedTexts(for chunks: [Chunk], of document: ParsedDocument) -> [String] {
        guard context != .none else { return chunks.map(\.text) }
        let title = Self.title(of: document)
        return chunks.map { chunk in
            let header = header(for: chunk, title: title)
            return header.isEmpty ? chunk.text : header + Self.headerEnd + chunk.text
        }
    }

    /// The header of `chunk` in a document titled `title`: empty when there is nothing to add.
    public func header(for chunk: Chunk, title: String?) -> String {
        guard context != .none else { return "" }
        var parts: [String] = []
        if let title { parts.append(title) }
        for heading in chunk.headingPath.map(Self.clipped) where !heading.isEmpty {
            if parts.count == 1, title != nil, heading == title { continue }  // the title is the first heading
            parts.append(heading)
        }
        // Leave out the headings (or title line) the chunk's text opens with: said once is enough.
        let opened = (0...parts.count).first { Self.text(chunk.text, opensWith: parts[$0...]) } ?? parts.count
        parts.removeLast(parts.count - opened)
        return shortened(parts)
    }

    /// The document's title, whitespace collapsed: the parser's, else the first line of its text.
    public static func title(of document: ParsedDocument) -> String? {
        if let title = document.title.map(clipped), !title.isEmpty { return title }
        for block in document.blocks {
            let line = clipped(block.text.drop(while: \.isWhitespace).prefix { !$0.isNewline })
            if !line.isEmpty { return line }
        }
        return nil
    }

    /// `parts` joined, within ``ChunkContext/maxHeaderTokens``: the middle headings go first, then the end.
    private func shortened(_ parts: [String]) -> String {
        let limit = ChunkContext.maxHeaderTokens
        var header = parts.joined(separator: Self.separator)
        guard count(header) > limit else { return header }
        if parts.count > 2 {
            header = [parts[0], parts[parts.count - 1]].joined(separator: Self.separator)
            if count(header) <= limit { return header }
        }
        // The longest prefix within the limit, found by bisection on characters.
        let characters = Array(header)
        var (low, high) = (0, characters.count)
        while low < high {
            let middle = (low + high + 1) / 2
            if count(String(characters[..<middle])) <= limit { low = middle } else { high = middle - 1 }
        }
        var cut = String(characters[..<low])
        while let last = cut.last, last.isWhitespace || last == "›" { cut.removeLast() }
        return cut
    }

    private func count(_ text: String) -> Int { tokenCounter.tokenCount(text[...]) }

    /// True when `text` starts with the words of `parts`, in order, and the last of them ends a line (a heading
    /// block, or a title line): "Glaciers move" does not open with the heading "Glaciers".
    public static func text(_ text: String, opensWith parts: ArraySlice<String>) -> Bool {
        let words = parts.flatMap { $0.split(whereSeparator: \.isWhitespace) }
        guard !words.isEmpty else { return true }
        var rest = text[...]
        for word in words {
            rest = rest.drop(while: \.isWhitespace)
            guard rest.hasPrefix(word) else { return false }
            rest = rest.dropFirst(word.count)
            guard rest.first.map(\.isWhitespace) ?? true else { return false }
        }
        return rest.drop { $0 == " " || $0 == "\t" }.first.map(\.isNewline) ?? true
    }

    /// `text` with each run of whitespace made one space, and none at either end, cut to its first 64 words and
    /// 1,024 characters: far more than a header keeps, and a bound on the work per chunk whatever a file holds
    /// (the first line of a text file can be megabytes long).
    static func clipped(_ text: some StringProtocol) -> String {
        String(text.prefix(4096).split(whereSeparator: \.isWhitespace).prefix(64).joined(separator: " ").prefix(1024))
    }
}
