/// Parses reStructuredText as plain text whose section titles are headings.
///
/// A section title is a line of text at the start of a paragraph, underlined (and optionally overlined) by a run
/// of one punctuation character at least as long as the title; with an overline, the overline and underline
/// must match. Heading levels follow the rST rule: each adornment style (character, with or without overline)
/// gets the next level the first time it appears. Everything else is plain text: paragraphs are runs of
/// non-blank lines, kept verbatim (directives, literal blocks and markup included), with the breaks of
/// hard-wrapped prose marked soft as in plain text.
public struct RestructuredTextDocumentParser: DocumentParser {
    public init() {}

    /// - Throws: ``ParsingError`` with code `.binary` when the bytes are not text.
    public func parse(_ bytes: [UInt8], path: String) throws -> ParsedDocument {
        if bytes.isEmpty { return ParsedDocument(format: .restructuredText, blocks: []) }
        try FormatDetector.checkText(bytes)
        let decoded = TextDecoder.decode(bytes, format: .restructuredText, path: path)
        let lines = TextLines(decoded.utf8)
        var blocks: [ParsedDocument.Block] = []
        var styles: [Style] = []
        var paragraphStart: Int?
        func flush(through last: Int) {
            if let first = paragraphStart, last >= first {
                blocks.append(lines.paragraph(first, last))
            }
            paragraphStart = nil
        }
        func level(of style: Style) -> Int {
            if let index = styles.firstIndex(of: style) { return index + 1 }
            styles.append(style)
            return styles.count
        }
        var i = 0
        while i < lines.count {
            if lines.isBlank(i) {
                flush(through: i - 1)
                i += 1
                continue
            }
            if paragraphStart == nil, let (title, style, used) = Self.sectionTitle(lines, at: i) {
                let titleLine = i + used.titleOffset + 1
                blocks.append(.init(kind: .heading(level: level(of: style)), text: title, line: titleLine))
                i += used.lines
                continue
            }
            if paragraphStart == nil { paragraphStart = i }
            i += 1
        }
        flush(through: lines.count - 1)
        let title = blocks.first { $0.kind != .paragraph }?.text
        return ParsedDocument(format: .restructuredText, title: title, blocks: blocks, warnings: decoded.warnings)
    }

    struct Style: Equatable {
        var character: UInt8
        var overlined: Bool
    }

    /// The section title starting at line `index`: its text, style, and how many lines it takes (and which of
    /// them is the text).
    static func sectionTitle(
        _ lines: TextLines, at index: Int
    ) -> (String, Style, (lines: Int, titleOffset: Int))? {
        if let over = adornment(lines[index]), index + 2 < lines.count, !lines.isBlank(index + 1),
            let under = adornment(lines[index + 2]), under == over
        {
            let title = trimmed(lines[index + 1])
            guard !title.isEmpty, over.length >= title.unicodeScalars.count else { return nil }
            return (title, Style(character: over.character, overlined: true), (3, 1))
        }
        // An underlined title starts in column 1 and is not itself an adornment line.
        guard let first = lines[index].first, first != 0x20, first != 0x09, adornment(lines[index]) == nil,
            index + 1 < lines.count, let under = adornment(lines[index + 1])
        else { return nil }
        let title = trimmed(lines[index])
        guard under.length >= title.unicodeScalars.count else { return nil }
        return (title, Style(character: under.character, overlined: false), (2, 0))
    }

    /// A line of one repeated punctuation character from column 1 (trailing spaces allowed), at least 2 long.
    static func adornment(_ line: ArraySlice<UInt8>) -> (character: UInt8, length: Int)? {
        var end = line.endIndex
        while end > line.startIndex, line[end - 1] == 0x20 || line[end - 1] == 0x09 { end -= 1 }
        let body = line[line.startIndex..<end]
        guard let c = body.first, body.count >= 2, isPunctuation(c), body.allSatisfy({ $0 == c }) else { return nil }
        return (c, body.count)
    }

    /// The printable ASCII characters that are neither letters, digits nor space: rST's adornment characters.
    static func isPunctuation(_ c: UInt8) -> Bool {
        (0x21...0x2F).contains(c) || (0x3A...0x40).contains(c) || (0x5B...0x60).contains(c) || (0x7B...0x7E).contains(c)
    }

    static func trimmed(_ line: ArraySlice<UInt8>) -> String {
        var s = line
        while let c = s.first, c == 0x20 || c == 0x09 { s = s.dropFirst() }
        while let c = s.last, c == 0x20 || c == 0x09 { s = s.dropLast() }
        return String(decoding: s, as: UTF8.self)
    }
}
