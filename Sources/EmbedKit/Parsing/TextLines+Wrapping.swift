/// Finding hard-wrapped prose in plain text: which line breaks of a paragraph only wrap a long line.
///
/// A break after line `i` is soft when both lines are prose that one paragraph wraps:
/// - the paragraph has lines at least ``minimumWrapWidth`` characters wide (a block of short lines is verse,
///   an address or a list of names, broken where the author meant);
/// - line `i` is at least half as wide as the paragraph's widest line (a short line ends where the author ended
///   it: a title, a signature, the last line of a sub-paragraph);
/// - line `i + 1` is not indented more than line `i` (a first-line indent starts a new paragraph, a deeper
///   indent nests) nor by 4 columns or more (an indented block: code, a quotation);
/// - line `i + 1` does not start a list item (`- `, `* `, `+ `, `• `, `1. `, `a) `, `(2) `...);
/// - neither line looks like a table: a tab, a `|`, a run of three spaces between words, or a rule of
///   punctuation alone (`-----`, `=====`).
///
/// Everything else stays a hard break, as before: the chunker may end a chunk there.
extension TextLines {
    /// Lines narrower than this everywhere in a paragraph are never joined.
    static let minimumWrapWidth = 40

    /// Lines `first...last` as a paragraph block, with its soft breaks.
    func paragraph(_ first: Int, _ last: Int) -> ParsedDocument.Block {
        .init(kind: .paragraph, text: text(first, last), line: first + 1, softLineBreaks: softBreaks(first, last))
    }

    /// The soft breaks of lines `first...last`: 0-based offsets from `first` of the lines whose break is soft.
    func softBreaks(_ first: Int, _ last: Int) -> [Int] {
        guard last > first else { return [] }
        let shapes = (first...last).map { LineShape(self[$0]) }
        let widest = shapes.map(\.width).max() ?? 0
        guard widest >= Self.minimumWrapWidth else { return [] }
        var soft: [Int] = []
        for k in 0..<(shapes.count - 1) {
            let line = shapes[k]
            let next = shapes[k + 1]
            guard line.width * 2 >= widest, !line.isTableLike, !next.isTableLike, !next.startsListItem,
                next.indent <= line.indent, next.indent < 4
            else { continue }
            soft.append(k)
        }
        return soft
    }
}

/// What the wrapping rules need to know about one line.
private struct LineShape {
    /// Characters (Unicode scalars) up to the last one that is not a space.
    var width = 0
    /// Leading columns of spaces (a tab counts as a table sign instead).
    var indent = 0
    var isTableLike = false
    var startsListItem = false

    init(_ bytes: ArraySlice<UInt8>) {
        var end = bytes.endIndex
        while end > bytes.startIndex, bytes[end - 1] == 0x20 { end -= 1 }
        let line = bytes[bytes.startIndex..<end]
        // UTF-8 continuation bytes are 10xxxxxx: count the others.
        width = line.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
        var index = line.startIndex
        while index < line.endIndex, line[index] == 0x20 { index += 1 }
        indent = index - line.startIndex
        let body = line[index...]
        guard !body.isEmpty else { return }
        var spaces = 0
        var hasWordCharacter = false
        for byte in body {
            if byte == 0x09 || byte == 0x7C { isTableLike = true }  // tab, |
            spaces = byte == 0x20 ? spaces + 1 : 0
            if spaces == 3 { isTableLike = true }
            if byte >= 0x80 || (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A) {
                hasWordCharacter = true
            }
        }
        if !hasWordCharacter && body.count >= 3 { isTableLike = true }  // a rule: -----, =====, * * *
        startsListItem = Self.startsListItem(Array(body))
    }

    /// `- `, `* `, `+ `, `> `, `• `, `· `, `– `, `— `; `1. `, `12) `, `a. `, `(3) `, `(b) `.
    private static func startsListItem(_ body: [UInt8]) -> Bool {
        func spaceAt(_ i: Int) -> Bool { i == body.count || (i < body.count && body[i] == 0x20) }
        if let first = body.first, [0x2D, 0x2A, 0x2B, 0x3E].contains(first) { return spaceAt(1) }  // - * + >
        for bullet in ["•", "·", "–", "—"] {
            let bytes = Array(bullet.utf8)
            if body.starts(with: bytes) { return spaceAt(bytes.count) }
        }
        var i = body.first == 0x28 ? 1 : 0  // (
        let start = i
        while i < body.count, i - start < 3, body[i] >= 0x30 && body[i] <= 0x39 { i += 1 }
        if i == start, i < body.count, (body[i] | 0x20) >= 0x61 && (body[i] | 0x20) <= 0x7A { i += 1 }
        guard i > start, i < body.count else { return false }
        let closer = body[i]
        if start == 1 { return closer == 0x29 && spaceAt(i + 1) }
        return (closer == 0x2E || closer == 0x29) && spaceAt(i + 1)
    }
}
