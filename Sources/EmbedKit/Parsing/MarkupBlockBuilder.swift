/// Collects the text of HTML and XML trees into blocks: whitespace collapsed (except in preformatted text),
/// one `String` made per block from accumulated UTF-8 bytes.
struct MarkupBlockBuilder {
    private(set) var blocks: [ParsedDocument.Block] = []
    /// The ``region`` each block of ``blocks`` was collected in.
    private(set) var regions: [UInt8] = []
    private var buffer: [UInt8] = []
    private(set) var hasContent = false
    private var pendingSpace = false
    private var line = 1
    /// The kind of the block being collected.
    var kind: ParsedDocument.Block.Kind = .paragraph
    /// Where on the page the block being collected is, as the HTML visitor's bits; recorded with each block.
    /// Change it only after a ``flush()``.
    var region: UInt8 = 0

    init() { buffer.reserveCapacity(4096) }

    /// Appends text. Outside preformatted text, runs of whitespace become one space and leading whitespace of a
    /// block is dropped.
    ///
    /// libxml2 gives a text node the line where (the first chunk of) its text ends, so the block's line is
    /// `nodeLine` minus the newlines after the first non-whitespace character, but no less than `floor` (the
    /// line of the parent element's start tag).
    mutating func append(_ text: UnsafePointer<UInt8>, line nodeLine: Int, floor: Int = 1, preformatted: Bool) {
        var newlines = 0
        var newlinesBeforeContent = -1
        var i = 0
        while true {
            let c = text[i]
            if c == 0 { break }
            i += 1
            if TextDecoder.isSpace(c) {
                if c == 0x0A { newlines += 1 }
                if preformatted {
                    buffer.append(c == 0x0C ? 0x20 : c)
                } else if hasContent, buffer.last != 0x0A {
                    pendingSpace = true
                }
                continue
            }
            if !hasContent {
                hasContent = true
                newlinesBeforeContent = newlines
            } else if pendingSpace {
                buffer.append(0x20)
            }
            pendingSpace = false
            buffer.append(c)
        }
        if newlinesBeforeContent >= 0 {
            line = max(floor, nodeLine - (newlines - newlinesBeforeContent), 1)
        }
    }

    /// Appends bytes that are not whitespace (an entity's text).
    mutating func append(_ bytes: [UInt8], line nodeLine: Int) {
        guard !bytes.isEmpty else { return }
        if !hasContent {
            hasContent = true
            line = nodeLine
        } else if pendingSpace {
            buffer.append(0x20)
        }
        pendingSpace = false
        buffer.append(contentsOf: bytes)
    }

    /// A word boundary (between table cells): a space unless the block is empty.
    mutating func softBreak() {
        if hasContent { pendingSpace = true }
    }

    /// A line break (`<br>`) inside the block; consecutive breaks give one.
    mutating func lineBreak() {
        pendingSpace = false
        if hasContent, buffer.last != 0x0A { buffer.append(0x0A) }
    }

    /// A `<br>` inside preformatted text.
    mutating func preformattedNewline() {
        buffer.append(0x0A)
    }

    /// Starts a new line in preformatted text, unless the text is empty or already at the start of a line.
    mutating func preformattedLineStart() {
        if hasContent, buffer.last != 0x0A { buffer.append(0x0A) }
    }

    /// Ends the current block; an empty one is dropped.
    mutating func flush() {
        defer {
            buffer.removeAll(keepingCapacity: true)
            hasContent = false
            pendingSpace = false
        }
        guard hasContent else { return }
        // Drop leading whitespace-only lines (preformatted text) and all trailing whitespace.
        var start = 0
        var scan = 0
        while scan < buffer.count, TextDecoder.isSpace(buffer[scan]) {
            if buffer[scan] == 0x0A { start = scan + 1 }
            scan += 1
        }
        var end = buffer.count
        while end > start, TextDecoder.isSpace(buffer[end - 1]) { end -= 1 }
        guard end > start else { return }
        blocks.append(.init(kind: kind, text: String(decoding: buffer[start..<end], as: UTF8.self), line: line))
        regions.append(region)
    }

    /// Whitespace-collapsed text of `pieces`, e.g. for a title.
    static func collapsed(_ forEach: ((UnsafePointer<UInt8>) -> Void) -> Void) -> String {
        var builder = MarkupBlockBuilder()
        forEach { builder.append($0, line: 1, preformatted: false) }
        builder.flush()
        return builder.blocks.first?.text ?? ""
    }
}
