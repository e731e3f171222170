/// Parses Markdown into heading and paragraph blocks, keeping the text verbatim (emphasis, links and code
/// stay as written: simple and lossless).
///
/// - ATX (`#` … `######`, closing `#`s removed) and setext (`===` / `---` underlined) headings become heading
///   blocks; an empty ATX heading (`#` alone) gives no block.
/// - Fenced code blocks (```` ``` ```` and `~~~`, fences included) are single paragraph blocks, blank lines and
///   `#` lines inside them included; an unclosed fence runs to the end of the file.
/// - Other text is split into paragraphs at blank lines, as ``PlainTextDocumentParser`` does.
/// - YAML front matter (a first line `---`, closed by `---` or `...`) is kept as the first paragraph block,
///   so its values are searchable; its `title:` is the document title when there is no heading.
/// - The title is the first level-1 heading, else the first heading, else the front matter's `title:`.
public struct MarkdownDocumentParser: DocumentParser {
    public init() {}

    /// - Throws: ``ParsingError`` with code `.binary` when the bytes are not text.
    public func parse(_ bytes: [UInt8], path: String) throws -> ParsedDocument {
        if bytes.isEmpty { return ParsedDocument(format: .markdown, blocks: []) }
        try FormatDetector.checkText(bytes)
        let decoded = TextDecoder.decode(bytes, format: .markdown)
        var builder = Builder(lines: TextLines(decoded.utf8))
        builder.run()
        let title =
            builder.blocks.first { $0.kind == .heading(level: 1) }?.text
            ?? builder.blocks.first { $0.kind != .paragraph }?.text
            ?? builder.frontMatterTitle
        return ParsedDocument(format: .markdown, title: title, blocks: builder.blocks, warnings: decoded.warnings)
    }

    private struct Fence {
        var character: UInt8
        var count: Int
    }

    private struct Builder {
        let lines: TextLines
        var blocks: [ParsedDocument.Block] = []
        var frontMatterTitle: String?
        /// The first line (0-based) of the paragraph being collected.
        var paragraphStart: Int?

        init(lines: TextLines) { self.lines = lines }

        mutating func run() {
            var i = skipFrontMatter()
            let n = lines.count
            while i < n {
                let line = lines[i]
                if let fence = Self.openingFence(line) {
                    flushParagraph(through: i - 1)
                    var j = i + 1
                    while j < n, !Self.isClosingFence(lines[j], of: fence) { j += 1 }
                    var last = min(j, n - 1)
                    // An unclosed fence runs to the end of the file, but not through its trailing blank lines.
                    while last > i, lines.isBlank(last) { last -= 1 }
                    blocks.append(.init(kind: .paragraph, text: lines.text(i, last), line: i + 1))
                    i = last + 1
                    continue
                }
                if lines.isBlank(i) {
                    flushParagraph(through: i - 1)
                } else if let (level, text) = Self.atxHeading(line) {
                    flushParagraph(through: i - 1)
                    if !text.isEmpty { blocks.append(.init(kind: .heading(level: level), text: text, line: i + 1)) }
                } else if let start = paragraphStart, let level = Self.setextLevel(line) {
                    let text = Self.trimmed(lines.utf8[lines.ranges[start].lowerBound..<lines.ranges[i - 1].upperBound])
                    blocks.append(.init(kind: .heading(level: level), text: text, line: start + 1))
                    paragraphStart = nil
                } else if paragraphStart == nil {
                    paragraphStart = i
                }
                i += 1
            }
            flushParagraph(through: n - 1)
        }

        mutating func flushParagraph(through last: Int) {
            guard let start = paragraphStart else { return }
            paragraphStart = nil
            if last >= start { blocks.append(.init(kind: .paragraph, text: lines.text(start, last), line: start + 1)) }
        }

        /// Keeps front matter as a paragraph block and returns the index of the line after it.
        mutating func skipFrontMatter() -> Int {
            guard lines.count > 1, Self.trimmed(lines[0]) == "---" else { return 0 }
            var j = 1
            while j < lines.count {
                let t = Self.trimmed(lines[j])
                if t == "---" || t == "..." { break }
                j += 1
            }
            guard j < lines.count else { return 0 }
            blocks.append(.init(kind: .paragraph, text: lines.text(0, j), line: 1))
            for k in 1..<j {
                let t = Self.trimmed(lines[k])
                if t.hasPrefix("title:") {
                    var value = t.dropFirst("title:".count).trimmingSpaces()
                    if value.count >= 2, let f = value.first, f == value.last, f == "\"" || f == "'" {
                        value = value.dropFirst().dropLast()
                    }
                    if !value.isEmpty { frontMatterTitle = String(value) }
                    break
                }
            }
            return j + 1
        }

        static func indent(_ line: ArraySlice<UInt8>) -> Int {
            var n = 0
            for c in line {
                guard c == 0x20 else { break }
                n += 1
            }
            return n
        }

        static func openingFence(_ line: ArraySlice<UInt8>) -> Fence? {
            let spaces = indent(line)
            guard spaces <= 3 else { return nil }
            let rest = line.dropFirst(spaces)
            guard let c = rest.first, c == UInt8(ascii: "`") || c == UInt8(ascii: "~") else { return nil }
            let count = rest.prefix { $0 == c }.count
            guard count >= 3 else { return nil }
            if c == UInt8(ascii: "`"), rest.dropFirst(count).contains(c) { return nil }
            return Fence(character: c, count: count)
        }

        static func isClosingFence(_ line: ArraySlice<UInt8>, of fence: Fence) -> Bool {
            let spaces = indent(line)
            guard spaces <= 3 else { return false }
            let rest = line.dropFirst(spaces)
            let count = rest.prefix { $0 == fence.character }.count
            return count >= fence.count && rest.dropFirst(count).allSatisfy { $0 == 0x20 || $0 == 0x09 }
        }

        static func atxHeading(_ line: ArraySlice<UInt8>) -> (Int, String)? {
            let spaces = indent(line)
            guard spaces <= 3 else { return nil }
            let rest = line.dropFirst(spaces)
            let level = rest.prefix { $0 == UInt8(ascii: "#") }.count
            guard (1...6).contains(level) else { return nil }
            var content = rest.dropFirst(level)
            if let c = content.first, c != 0x20, c != 0x09 { return nil }
            // Remove an optional closing sequence of #s (preceded by a space or alone).
            while let c = content.last, c == 0x20 || c == 0x09 { content = content.dropLast() }
            let closing = content.reversed().prefix { $0 == UInt8(ascii: "#") }.count
            if closing > 0 {
                let before = content.dropLast(closing)
                if before.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) || before.last == 0x20 || before.last == 0x09 {
                    content = before
                }
            }
            return (level, trimmed(content))
        }

        /// 1 for a `===` underline, 2 for `---`, nil otherwise.
        static func setextLevel(_ line: ArraySlice<UInt8>) -> Int? {
            let spaces = indent(line)
            guard spaces <= 3 else { return nil }
            var rest = line.dropFirst(spaces)
            while let c = rest.last, c == 0x20 || c == 0x09 { rest = rest.dropLast() }
            guard let c = rest.first, c == UInt8(ascii: "=") || c == UInt8(ascii: "-"), rest.allSatisfy({ $0 == c })
            else { return nil }
            return c == UInt8(ascii: "=") ? 1 : 2
        }

        static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
            var s = bytes
            while let c = s.first, TextDecoder.isSpace(c) || c == 0x0B { s = s.dropFirst() }
            while let c = s.last, TextDecoder.isSpace(c) || c == 0x0B { s = s.dropLast() }
            return String(decoding: s, as: UTF8.self)
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
