/// Parses Markdown with cmark-gfm (CommonMark plus GitHub tables and strikethrough) into heading and paragraph
/// blocks of the text a reader sees.
///
/// - ATX and setext headings become heading blocks; an empty heading gives no block.
/// - Paragraphs give their text without emphasis, link or image syntax (a link gives its text, an image its
///   alt text); entities are decoded; line breaks inside a paragraph stay line breaks.
/// - The paragraphs of consecutive items of a tight list make one block, one line per item.
/// - Code blocks (fenced or indented) give their code verbatim, without the fences.
/// - Tables give one line per row, cells separated by `" | "`.
/// - HTML blocks give their visible text (see ``HTMLDocumentParser``); comments, raw inline tags and link
///   reference definitions give nothing.
/// - Front matter (YAML `---` … `---`/`...`, or TOML `+++` … `+++`, from the first line) is not text; its
///   `title` is the document title. Otherwise the title is the first level-1 heading, else the first heading.
/// - Every block's line is its line in the file (cmark's source positions).
///
/// Inputs that would make cmark-gfm 0.29 slow or huge are caught before it runs (see ``MarkdownInputGuard``).
public struct MarkdownDocumentParser: DocumentParser {
    public init() {}

    /// - Throws: ``ParsingError`` with code `.binary` when the bytes are not text.
    public func parse(_ bytes: [UInt8], path: String) throws -> ParsedDocument {
        if bytes.isEmpty { return ParsedDocument(format: .markdown, blocks: []) }
        try FormatDetector.checkText(bytes)
        let decoded = TextDecoder.decode(bytes, format: .markdown, path: path)
        let frontMatter = MarkdownFrontMatter(decoded.utf8)
        let body = decoded.utf8[frontMatter.bodyStart...]
        var warnings = decoded.warnings
        var blocks: [ParsedDocument.Block]
        switch MarkdownInputGuard.assess(body) {
        case .plainText(let reason):
            warnings.append("\(reason); read as plain text")
            blocks = PlainTextDocumentParser.paragraphs(TextLines(Array(body)))
        case .markdown(let tables):
            blocks = CMarkDocument(body, tables: tables).blocks()
        }
        if frontMatter.lineCount > 0 {
            for i in blocks.indices { blocks[i].line += frontMatter.lineCount }
        }
        let title =
            frontMatter.title
            ?? blocks.first { $0.kind == .heading(level: 1) }?.text
            ?? blocks.first { $0.kind != .paragraph }?.text
        return ParsedDocument(format: .markdown, title: title, blocks: blocks, warnings: warnings)
    }
}

/// Front matter at the very start of a Markdown file: YAML between `---` and `---` (or `...`), or TOML between
/// `+++` and `+++`. Unclosed, it is not front matter (the `---` is then a thematic break, as CommonMark says).
struct MarkdownFrontMatter {
    /// The byte offset where the Markdown after the front matter starts (0 when there is none).
    private(set) var bodyStart = 0
    /// How many lines the front matter takes, closing line included.
    private(set) var lineCount = 0
    /// The top-level `title` value, unquoted.
    private(set) var title: String?

    init(_ utf8: [UInt8]) {
        let lines = TextLines(utf8)
        guard lines.count > 1 else { return }
        let opening = Self.trimmed(lines[0])
        let isTOML = opening == "+++"
        guard opening == "---" || isTOML else { return }
        var close = 1
        while close < lines.count {
            let t = Self.trimmed(lines[close])
            if isTOML ? t == "+++" : t == "---" || t == "..." { break }
            close += 1
        }
        guard close < lines.count else { return }
        lineCount = close + 1
        bodyStart = close + 1 < lines.count ? lines.ranges[close + 1].lowerBound : utf8.count
        for k in 1..<close {
            // Only a top-level key: an indented `title` belongs to some nested map.
            let line = String(decoding: lines[k], as: UTF8.self)
            guard line.hasPrefix("title") else { continue }
            var rest = line.dropFirst("title".count).trimmingSpaces()
            guard let separator = rest.first, separator == (isTOML ? "=" : ":") else { continue }
            rest = rest.dropFirst().trimmingSpaces()
            if rest.count >= 2, let f = rest.first, f == rest.last, f == "\"" || f == "'" {
                rest = String(rest.dropFirst().dropLast())
            }
            if !rest.isEmpty { title = String(rest) }
            break
        }
    }

    private static func trimmed(_ line: ArraySlice<UInt8>) -> String {
        String(decoding: line, as: UTF8.self).trimmingSpaces()
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        var s = self[...]
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
