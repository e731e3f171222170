/// Decides, in one linear pass before cmark-gfm runs, whether a Markdown input is safe to give it.
///
/// cmark-gfm 0.29.0.gfm.6 (Debian's) is linear on most input, but measured (docs/decisions.md, "A linear
/// pre-scan guards cmark-gfm 0.29"):
/// - images holding links (`![[]()` repeated) are quadratic in one paragraph: 48 KB took 3.4 s;
/// - a table costs the square of its columns per row (2,000 columns × 50 rows: 5 s), and every short row is
///   padded to the header's width (a 1,000-column header over 5,000 one-cell rows made 10 million nodes);
/// - nesting costs ~120 bytes of tree per container: 100,000 nested quotes on one line are 25 MB of tree for
///   100 KB of input, and nothing real nests that deep; lines that each repeat a deep list nesting make two
///   nodes per marker (4 MB: 940 MB of tree).
/// Those inputs are read as plain text (or with tables off), with a warning: bounded time and memory first.
enum MarkdownInputGuard {
    enum Verdict: Equatable {
        /// Give it to cmark-gfm, with or without the table extension.
        case markdown(tables: Bool)
        /// Don't: read it as plain text, for this reason.
        case plainText(String)
    }

    /// More containers than this opened by one line's prefix (`>`, list markers) is not a document.
    static let maximumLineNesting = 1000
    /// Container markers at line starts, over the whole file, beyond the file's bytes / 16: each opens two nodes
    /// of ~120 bytes when a line repeats a deep nesting (2,000 lines of 999 `- ` made 8 M nodes, 940 MB, 12 s).
    static let maximumContainerMarkers = 1 << 20
    /// Σ over paragraphs of (image openers × closing brackets): ~16 M is a fraction of a second.
    static let maximumImageBracketWork = 1 << 24
    /// A table wider than this turns the table extension off (real tables have tens of columns).
    static let maximumTableColumns = 256

    static func assess(_ utf8: ArraySlice<UInt8>) -> Verdict {
        // A raw buffer keeps this pass cheap in debug builds too (slices cost a call per byte there).
        utf8.withUnsafeBufferPointer { assess($0) }
    }

    static func assess(_ bytes: UnsafeBufferPointer<UInt8>) -> Verdict {
        var tables = true
        var imageWork = 0
        // Per blank-line-separated region (a superset of one paragraph, where cmark's bracket stack lives).
        var regionImages = 0
        var regionCloseBrackets = 0
        // Table cells cmark may make: header width times the lines that may follow as rows.
        var tableColumns = 0
        var tableCells = 0
        let cellBudget = bytes.count + (1 << 16)
        var containerMarkers = 0
        let containerBudget = maximumContainerMarkers + bytes.count / 16

        var i = 0
        while i < bytes.count {
            let lineStart = i
            var previous: UInt8 = 0
            var pipes = 0
            var delimiterRow = true
            var dashes = false
            var blank = true
            while i < bytes.count {
                let c = bytes[i]
                if c == 0x0A { break }
                switch c {
                case UInt8(ascii: "["): if previous == UInt8(ascii: "!") { regionImages += 1 }
                case UInt8(ascii: "]"): regionCloseBrackets += 1
                case UInt8(ascii: "|"): pipes += 1
                case UInt8(ascii: "-"): dashes = true
                case UInt8(ascii: ":"), UInt8(ascii: ">"): break
                case 0x20, 0x09, 0x0D: previous = c; i += 1; continue
                default: delimiterRow = false
                }
                blank = false
                previous = c
                i += 1
            }
            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<i])
            i += 1
            if blank {
                imageWork += regionImages * regionCloseBrackets
                regionImages = 0
                regionCloseBrackets = 0
                tableColumns = 0
                continue
            }
            let depth = nesting(of: line)
            if depth > maximumLineNesting {
                return .plainText("Markdown nested more than \(maximumLineNesting) levels deep on one line")
            }
            containerMarkers += depth
            if containerMarkers > containerBudget {
                return .plainText(
                    "Markdown with more nested list and quote markers than cmark-gfm can hold in bounded memory")
            }
            if tables {
                if delimiterRow && dashes && pipes > 0 {
                    // A table's delimiter row (or something like one): its width is at most its pipes plus one.
                    tableColumns = max(tableColumns, pipes + 1)
                    if tableColumns > maximumTableColumns { tables = false }
                } else {
                    tableCells += tableColumns
                }
                if tableCells > cellBudget { tables = false }
            }
        }
        imageWork += regionImages * regionCloseBrackets
        if imageWork > maximumImageBracketWork {
            return .plainText("Markdown with too many links inside images for cmark-gfm to parse in linear time")
        }
        return .markdown(tables: tables)
    }

    /// How many containers the start of `line` may open: `>` and list markers (`-`, `*`, `+`, `1.`, `1)`).
    static func nesting(of line: UnsafeBufferPointer<UInt8>) -> Int {
        var depth = 0
        var i = line.startIndex
        while i < line.endIndex {
            let c = line[i]
            if c == 0x20 || c == 0x09 {
                i += 1
            } else if c == UInt8(ascii: ">") {
                depth += 1
                i += 1
            } else if c == UInt8(ascii: "-") || c == UInt8(ascii: "*") || c == UInt8(ascii: "+") {
                // A bullet opens a list item only when a space (or the line end) follows it.
                guard i + 1 == line.endIndex || line[i + 1] == 0x20 || line[i + 1] == 0x09 else { break }
                depth += 1
                i += 1
            } else if c >= 0x30 && c <= 0x39 {
                var j = i
                while j < line.endIndex, line[j] >= 0x30, line[j] <= 0x39, j - i < 9 { j += 1 }
                guard j < line.endIndex, line[j] == UInt8(ascii: ".") || line[j] == UInt8(ascii: ")") else { break }
                depth += 1
                i = j + 1
            } else {
                break
            }
        }
        return depth
    }
}
