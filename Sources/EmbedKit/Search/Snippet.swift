/// The part of a chunk worth showing in a result: a window of about `length` characters that holds as many of
/// the query's matches as fit, starting a little before the first of them, cut at spaces.
public struct Snippet: Sendable, Equatable {
    /// The window, in Unicode scalar offsets into the chunk's text.
    public var range: Range<Int>
    /// The matches inside the window, in offsets into the chunk's text.
    public var matches: [Range<Int>]

    /// Characters shown before the first match, so that it is read in context.
    static let lead = 30

    public init(text: String, matches: [Range<Int>], length: Int = 160) {
        let scalars = Array(text.unicodeScalars)
        let count = scalars.count
        let matches = matches.filter { $0.lowerBound >= 0 && $0.upperBound <= count }.sorted { $0.lowerBound < $1.lowerBound }
        guard count > length else {
            self.range = 0..<count
            self.matches = matches
            return
        }
        // The start that fits the most matches (the earliest of equals).
        var start = 0
        var best = 0
        for match in matches {
            let from = max(0, match.lowerBound - Self.lead)
            let fits = matches.filter { $0.lowerBound >= from && $0.upperBound <= from + length }.count
            if fits > best { (start, best) = (from, fits) }
        }
        func isSpace(_ i: Int) -> Bool { scalars[i].properties.isWhitespace }
        // Start at a word: after the nearest space at or before `start`, unless that passes the first match.
        if start > 0 {
            var s = start
            while s > 0 && !isSpace(s - 1) && start - s < Self.lead { s -= 1 }
            start = s > 0 && isSpace(s - 1) ? s : start
        }
        var end = min(count, start + length)
        if end < count {
            var e = end
            while e > start && !isSpace(e) { e -= 1 }
            if e > start + length / 2 { end = e }
        }
        self.range = start..<end
        self.matches = matches.filter { $0.lowerBound >= start && $0.upperBound <= end }
    }
}
