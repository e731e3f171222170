private import CEmbedCMark
private import Foundation

/// A cmark-gfm tree of one Markdown text, freed when this object goes away. All cmark pointer handling in
/// `embed` lives here.
///
/// Not `Sendable`: a tree belongs to the one parse call that made it.
final class CMarkDocument {
    private let root: OpaquePointer

    /// cmark-gfm 0.29 switches an extension's special characters on and off in a process-wide table around every
    /// inline parse (`cmark_manage_extensions_special_characters`): two parses at once race, and one may read
    /// a table cell with `|` switched off by the other. Parses with extensions are therefore one at a time; the
    /// tree walk, where the work of `embed` is, runs in parallel.
    /// A pthread mutex (NSLock), which ThreadSanitizer sees (see ``Locked``).
    private static let parseLock = NSLock()

    /// Registers the GFM extensions exactly once (cmark's own registration is not thread-safe). The extension
    /// objects are never changed after registration, so sharing their pointers is safe.
    nonisolated(unsafe) private static let extensions: (table: OpaquePointer?, strikethrough: OpaquePointer?) = {
        cmark_gfm_core_extensions_ensure_registered()
        return (cmark_find_syntax_extension("table"), cmark_find_syntax_extension("strikethrough"))
    }()

    /// Parses `utf8` (valid UTF-8, `\n` line ends), with GFM tables when `tables` is set.
    init(_ utf8: ArraySlice<UInt8>, tables: Bool) {
        let extensions = Self.extensions
        Self.parseLock.lock()
        defer { Self.parseLock.unlock() }
        root = {
            // cmark aborts the process on allocation failure (its default allocator), so a parser always exists.
            let parser = cmark_parser_new(CEmbedCMark_parseOptions())!
            defer { cmark_parser_free(parser) }
            if tables, let table = extensions.table { cmark_parser_attach_syntax_extension(parser, table) }
            if let strikethrough = extensions.strikethrough {
                cmark_parser_attach_syntax_extension(parser, strikethrough)
            }
            utf8.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    if let base = chars.baseAddress { cmark_parser_feed(parser, base, chars.count) }
                }
            }
            return cmark_parser_finish(parser)!
        }()
    }

    deinit { cmark_node_free(root) }

    /// The blocks of the tree in document order, lines as in the text parsed.
    func blocks() -> [ParsedDocument.Block] {
        var collector = MarkdownBlockCollector()
        // cmark's iterator walks without recursion: 100,000 nested containers can't overflow the stack.
        let iterator = cmark_iter_new(root)
        defer { cmark_iter_free(iterator) }
        while true {
            let event = cmark_iter_next(iterator)
            if event == CMARK_EVENT_DONE { break }
            guard let node = cmark_iter_get_node(iterator) else { continue }
            if event == CMARK_EVENT_ENTER {
                collector.enter(node)
            } else if event == CMARK_EVENT_EXIT {
                collector.exit(node)
            }
        }
        collector.flush()
        return collector.blocks
    }
}

/// Turns cmark's events into blocks: leaf blocks (paragraphs, headings, code, HTML, table rows) start blocks,
/// inline text is appended to the block being collected.
private struct MarkdownBlockCollector {
    private(set) var blocks: [ParsedDocument.Block] = []
    private var kind: ParsedDocument.Block.Kind = .paragraph
    private var buffer: [UInt8] = []
    private var line = 1
    /// The last source line of what the buffer holds.
    private var endLine = 0
    /// What may join the block being collected on a following line: a tight list's paragraphs, a table's rows.
    private var joinable: Join = .none
    /// Cells with text in the current row, and where the current cell (and the separator before it) start.
    private var cellsInRow = 0
    private var cellSeparatorStart = 0
    private var cellStart = 0

    private enum Join: Equatable {
        case none
        case tightList
        case table(OpaquePointer)
    }

    mutating func enter(_ node: OpaquePointer) {
        // Integer cases: matching the imported enum struct goes through a generic `==` per case.
        switch cmark_node_get_type(node).rawValue {
        case CMARK_NODE_PARAGRAPH.rawValue:
            let join: Join = Self.isInTightList(node) ? .tightList : .none
            start(.paragraph, node: node, join: join, maximumGap: 1)
        case CMARK_NODE_HEADING.rawValue:
            start(.heading(level: Int(cmark_node_get_heading_level(node))), node: node, join: .none, maximumGap: 0)
        case CMARK_NODE_TEXT.rawValue, CMARK_NODE_CODE.rawValue:
            if let literal = cmark_node_get_literal(node) { append(literal) }
        case CMARK_NODE_SOFTBREAK.rawValue, CMARK_NODE_LINEBREAK.rawValue:
            buffer.append(0x0A)
        case CMARK_NODE_CODE_BLOCK.rawValue:
            flush()
            codeBlock(node)
        case CMARK_NODE_HTML_BLOCK.rawValue:
            flush()
            htmlBlock(node)
        case CMARK_NODE_THEMATIC_BREAK.rawValue, CMARK_NODE_BLOCK_QUOTE.rawValue:
            flush()
        default:
            // Emphasis, links and images are containers: their text arrives as children. Inline HTML, footnote
            // references and link reference definitions (which cmark never makes nodes of) give nothing.
            if cmark_node_get_syntax_extension(node) != nil { enterTablePart(node) }
        }
    }

    mutating func exit(_ node: OpaquePointer) {
        switch cmark_node_get_type(node).rawValue {
        case CMARK_NODE_HEADING.rawValue:
            flush()
        case CMARK_NODE_PARAGRAPH.rawValue:
            endLine = max(endLine, Int(cmark_node_get_end_line(node)))
        case CMARK_NODE_BLOCK_QUOTE.rawValue:
            flush()
        default:
            guard cmark_node_get_syntax_extension(node) != nil else { return }
            switch CEmbedCMark_tablePartOf(node) {
            case CEmbedCMark_table:
                flush()
            case CEmbedCMark_tableCell:
                // An empty cell (GFM pads short rows) gives no separator.
                if buffer.count == cellStart {
                    buffer.removeSubrange(cellSeparatorStart...)
                } else {
                    cellsInRow += 1
                }
            default:
                break
            }
        }
    }

    private mutating func enterTablePart(_ node: OpaquePointer) {
        switch CEmbedCMark_tablePartOf(node) {
        case CEmbedCMark_table:
            flush()
        case CEmbedCMark_tableRow:
            // Rows are one line each; the header's delimiter row between it and the body is a blank line here,
            // so every row stays on its own line.
            guard let table = cmark_node_parent(node) else { return }
            start(.paragraph, node: node, join: .table(table), maximumGap: 2)
            cellsInRow = 0
        case CEmbedCMark_tableCell:
            cellSeparatorStart = buffer.count
            if cellsInRow > 0 { buffer.append(contentsOf: Self.cellSeparator) }
            cellStart = buffer.count
        default:
            break
        }
    }

    private static let cellSeparator = Array(" | ".utf8)

    /// Starts a block at `node`, or continues the current one when both may join and `node` starts at most
    /// `maximumGap` lines after it ends (the gap is kept as newlines, so lines inside the block stay right).
    private mutating func start(_ kind: ParsedDocument.Block.Kind, node: OpaquePointer, join: Join, maximumGap: Int) {
        start(kind, line: Int(cmark_node_get_start_line(node)), join: join, maximumGap: maximumGap)
    }

    private mutating func start(_ kind: ParsedDocument.Block.Kind, line startLine: Int, join: Join, maximumGap: Int) {
        let gap = startLine - endLine
        if join != .none, join == joinable, !buffer.isEmpty, gap >= 1, gap <= maximumGap {
            buffer.append(contentsOf: repeatElement(0x0A, count: gap))
            endLine = startLine
            return
        }
        flush()
        self.kind = kind
        line = max(1, startLine)
        endLine = line
        joinable = join
    }

    /// A paragraph that is the content of an item of a tight list.
    private static func isInTightList(_ node: OpaquePointer) -> Bool {
        guard let item = cmark_node_parent(node), cmark_node_get_type(item) == CMARK_NODE_ITEM,
            let list = cmark_node_parent(item)
        else { return false }
        return cmark_node_get_list_tight(list) != 0
    }

    private mutating func append(_ literal: UnsafePointer<CChar>) {
        let count = strlen(literal)
        literal.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
            buffer.append(contentsOf: UnsafeBufferPointer(start: bytes, count: count))
        }
    }

    /// A code block's literal, verbatim: it starts on the line after an opening fence.
    private mutating func codeBlock(_ node: OpaquePointer) {
        guard let literal = cmark_node_get_literal(node) else { return }
        var length: Int32 = 0
        var offset: Int32 = 0
        var character: CChar = 0
        let fenced = cmark_node_get_fenced(node, &length, &offset, &character) != 0
        kind = .paragraph
        line = Int(cmark_node_get_start_line(node)) + (fenced ? 1 : 0)
        append(literal)
        joinable = .none
        flush()
    }

    /// An HTML block's visible text, with libxml2's lines inside the fragment moved to the file's. Most HTML
    /// blocks are comments or bare tags: those give nothing without asking libxml2.
    private mutating func htmlBlock(_ node: OpaquePointer) {
        guard let literal = cmark_node_get_literal(node) else { return }
        let count = strlen(literal)
        let bytes = literal.withMemoryRebound(to: UInt8.self, capacity: count) {
            Array(UnsafeBufferPointer(start: $0, count: count))
        }
        guard Self.hasTextOutsideTagsAndComments(bytes),
            let document = try? LibXML2Document.html(bytes)
        else { return }
        let firstLine = Int(cmark_node_get_start_line(node))
        for var block in HTMLDocumentParser.extract(document, format: .markdown).blocks {
            block.line += firstLine - 1
            blocks.append(block)
        }
    }

    /// True when some non-space character of `html` stands outside tags and `<!-- … -->` comments (an
    /// unclosed comment runs to the end): only then can the block have visible text.
    static func hasTextOutsideTagsAndComments(_ html: [UInt8]) -> Bool {
        html.withUnsafeBufferPointer { p in
            var i = 0
            var inTag = false
            while i < p.count {
                let c = p[i]
                let dash = UInt8(ascii: "-")
                if c == UInt8(ascii: "<"), i + 3 < p.count, p[i + 1] == UInt8(ascii: "!"), p[i + 2] == dash,
                    p[i + 3] == dash
                {
                    i += 4
                    while i < p.count, !(p[i] == UInt8(ascii: ">") && p[i - 1] == dash && p[i - 2] == dash) {
                        i += 1
                    }
                    i += 1
                    continue
                }
                switch c {
                case UInt8(ascii: "<"): inTag = true
                case UInt8(ascii: ">"): inTag = false
                default: if !inTag && !TextDecoder.isSpace(c) { return true }
                }
                i += 1
            }
            return false
        }
    }

    /// Ends the block being collected: surrounding white space trimmed (leading lines move its line), an
    /// empty one dropped.
    mutating func flush() {
        defer {
            buffer.removeAll(keepingCapacity: true)
            kind = .paragraph
            joinable = .none
        }
        // Leading blank lines go (each moves the block's line); the first line keeps its indentation (code).
        var start = 0
        var firstLine = line
        var scan = 0
        while scan < buffer.count, TextDecoder.isSpace(buffer[scan]) || buffer[scan] == 0x0B {
            if buffer[scan] == 0x0A {
                firstLine += 1
                start = scan + 1
            }
            scan += 1
        }
        var end = buffer.count
        while end > start, TextDecoder.isSpace(buffer[end - 1]) || buffer[end - 1] == 0x0B { end -= 1 }
        guard end > scan else { return }
        blocks.append(.init(kind: kind, text: String(decoding: buffer[start..<end], as: UTF8.self), line: firstLine))
    }
}
