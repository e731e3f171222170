/// Cuts a document's text into ``Unit``s no larger than the chunk size: blocks first, then sentences and
/// lines, then words, then pieces of words.
struct Segmenter {
    private let scalars: [Unicode.Scalar]
    private let document: ParsedDocument
    private let counter: any TokenCounter
    private let maxTokens: Int
    /// Whether the blocks' soft line breaks are read as spaces (see ``TextChunker/Configuration/joinsWrappedLines``).
    private let joinsWrappedLines: Bool
    /// Offsets of the `\n`s that only wrap prose: no sentence ends there.
    private var softNewlines: Set<Int> = []

    init(document: ParsedDocument, counter: any TokenCounter, maxTokens: Int, joinsWrappedLines: Bool = false) {
        self.document = document
        self.counter = counter
        self.maxTokens = maxTokens
        self.joinsWrappedLines = joinsWrappedLines
        scalars = Array(document.text.unicodeScalars)
    }

    mutating func units() -> [Unit] {
        var units: [Unit] = []
        var headings: [(level: Int, title: String)] = []
        var offset = 0
        let separatorLength = ParsedDocument.blockSeparator.unicodeScalars.count
        for (index, block) in document.blocks.enumerated() {
            // A stopping run drops this document anyway: give the thread back instead of finishing a huge file.
            if index % 64 == 0 && Task.isCancelled { return [] }
            if index > 0 { offset += separatorLength }
            let length = block.text.unicodeScalars.count
            defer { offset += length }
            var headingLevel: Int? = nil
            if case .heading(let level) = block.kind {
                headings.removeAll { $0.level >= level }
                headings.append((level, block.text.trimmingSpaces()))
                headingLevel = level
            }
            let path = headings.map(\.title)
            let range = trimmed(offset..<(offset + length))
            guard !range.isEmpty else { continue }
            if joinsWrappedLines && !block.softLineBreaks.isEmpty { markSoftNewlines(of: block, at: offset) }
            var pieces: [(range: Range<Int>, tokens: Int)] = []
            split(range, level: 0, into: &pieces)
            var cursor = offset
            var line = block.line
            for (pieceIndex, (piece, tokens)) in pieces.enumerated() {
                line += newlines(in: cursor..<piece.lowerBound)
                cursor = piece.lowerBound
                units.append(
                    Unit(
                        start: piece.lowerBound, end: piece.upperBound, tokens: tokens, line: line,
                        headingLevel: pieceIndex == 0 ? headingLevel : nil, headingPath: path))
            }
        }
        return units
    }

    /// Splits `range` until every piece fits: level 0 tries sentences and lines, 1 words, 2 fixed pieces.
    private func split(_ range: Range<Int>, level: Int, into pieces: inout [(range: Range<Int>, tokens: Int)]) {
        let tokens = count(range)
        if tokens <= maxTokens {
            pieces.append((range, tokens))
            return
        }
        let parts: [Range<Int>]
        switch level {
        case 0: parts = sentences(in: range)
        case 1: parts = words(in: range)
        default:
            hardSplit(range, into: &pieces)
            return
        }
        if parts.count <= 1 {
            split(range, level: level + 1, into: &pieces)
            return
        }
        for part in parts { split(part, level: level + 1, into: &pieces) }
    }

    /// Records where the soft breaks of `block`, whose text starts at `offset`, are.
    private mutating func markSoftNewlines(of block: ParsedDocument.Block, at offset: Int) {
        var soft = block.softLineBreaks.makeIterator()
        var next = soft.next()
        var line = 0
        var i = offset
        for scalar in block.text.unicodeScalars {
            guard let wanted = next else { break }
            if scalar == "\n" {
                if line == wanted {
                    softNewlines.insert(i)
                    next = soft.next()
                }
                line += 1
            }
            i += 1
        }
    }

    /// Sentence ends (`.`, `!`, `?`, `;`, `…` and CJK stops, followed by space) and line breaks (but not soft ones,
    /// which only wrap a line of prose).
    private func sentences(in range: Range<Int>) -> [Range<Int>] {
        var parts: [Range<Int>] = []
        var start = range.lowerBound
        var i = range.lowerBound
        while i < range.upperBound {
            let s = scalars[i]
            var cut: Int? = nil
            if s == "\n" {
                if !softNewlines.contains(i) { cut = i }
            } else if Self.sentenceEnds.contains(s) {
                var j = i + 1
                while j < range.upperBound, Self.closers.contains(scalars[j]) { j += 1 }
                if j == range.upperBound || scalars[j].isSpace || Self.wideStops.contains(s) { cut = j }
            }
            if let cut, cut > start {
                let part = trimmed(start..<cut)
                if !part.isEmpty { parts.append(part) }
                start = cut
            }
            i += 1
        }
        let rest = trimmed(start..<range.upperBound)
        if !rest.isEmpty { parts.append(rest) }
        return parts
    }

    private func words(in range: Range<Int>) -> [Range<Int>] {
        var parts: [Range<Int>] = []
        var start: Int? = nil
        for i in range {
            if scalars[i].isSpace {
                if let s = start { parts.append(s..<i) }
                start = nil
            } else if start == nil {
                start = i
            }
        }
        if let s = start { parts.append(s..<range.upperBound) }
        return parts
    }

    /// Cuts a run with no spaces into the longest pieces that fit, found by binary search.
    private func hardSplit(_ range: Range<Int>, into pieces: inout [(range: Range<Int>, tokens: Int)]) {
        var start = range.lowerBound
        while start < range.upperBound {
            var low = start + 1
            // No tokenizer packs more than 32 characters into one token, which bounds the search.
            var high = min(range.upperBound, start + maxTokens * 32)
            while low < high {
                let mid = (low + high + 1) / 2
                if count(start..<mid) <= maxTokens { low = mid } else { high = mid - 1 }
            }
            pieces.append((start..<low, count(start..<low)))
            start = low
        }
    }

    private func trimmed(_ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, scalars[lower].isSpace { lower += 1 }
        while upper > lower, scalars[upper - 1].isSpace { upper -= 1 }
        return lower..<upper
    }

    /// The document's text at `range` (offsets in scalars).
    func text(_ range: Range<Int>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[range])
        return String(view)
    }

    /// The tokens of the document's text at `range`.
    func count(_ range: Range<Int>) -> Int {
        counter.tokenCount(Substring(text(range)))
    }

    private func newlines(in range: Range<Int>) -> Int {
        var n = 0
        for i in range where scalars[i] == "\n" { n += 1 }
        return n
    }

    private static let sentenceEnds: Set<Unicode.Scalar> = [".", "!", "?", ";", "…", "。", "！", "？"]
    private static let wideStops: Set<Unicode.Scalar> = ["。", "！", "？"]
    private static let closers: Set<Unicode.Scalar> = ["\"", "'", ")", "]", "»", "”", "’"]
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
