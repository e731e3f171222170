/// Parses plain text: paragraphs are runs of lines separated by blank lines, kept verbatim.
///
/// The line breaks that only wrap prose are marked soft (``ParsedDocument/Block/softLineBreaks``, rules in
/// `TextLines+Wrapping.swift`), so that the chunker reads a hard-wrapped paragraph as the one line it stands
/// for.
///
/// Each block starts at its first line (1-based). CRLF and CR line ends become LF; see ``TextDecoder`` for
/// the encodings read.
public struct PlainTextDocumentParser: DocumentParser {
    public init() {}

    /// - Throws: ``ParsingError`` with code `.binary` when the bytes are not text.
    public func parse(_ bytes: [UInt8], path: String) throws -> ParsedDocument {
        if bytes.isEmpty { return ParsedDocument(format: .text, blocks: []) }
        try FormatDetector.checkText(bytes)
        let decoded = TextDecoder.decode(bytes, format: .text, path: path)
        let blocks = Self.paragraphs(TextLines(decoded.utf8))
        return ParsedDocument(format: .text, blocks: blocks, warnings: decoded.warnings)
    }

    /// The runs of non-blank lines of `lines`, verbatim, each with its 1-based first line and its soft breaks.
    static func paragraphs(_ lines: TextLines) -> [ParsedDocument.Block] {
        var blocks: [ParsedDocument.Block] = []
        var start: Int?
        for index in 0..<lines.count {
            if lines.isBlank(index) {
                if let first = start {
                    blocks.append(lines.paragraph(first, index - 1))
                    start = nil
                }
            } else if start == nil {
                start = index
            }
        }
        if let first = start {
            blocks.append(lines.paragraph(first, lines.count - 1))
        }
        return blocks
    }
}
