import EmbedKit
import EmbedKitTestSupport
import Testing

/// Which line breaks of plain text only wrap prose (soft), and what the chunker makes of them.
@Suite("hard-wrapped plain text")
struct WrappedLinesTests {
    func softBreaks(_ text: String) throws -> [[Int]] {
        try PlainTextDocumentParser().parse(Array(text.utf8), path: "a.txt").blocks.map(\.softLineBreaks)
    }

    @Test("the lines of a wrapped paragraph are soft; its last line and blank lines are not breaks of it")
    func wrappedProse() throws {
        let text = """
            The present study is a history of the DEWEY Decimal
            Classification.  The first edition of the DDC was published
            in 1876, the eighteenth edition in 1971, and future editions
            will continue to appear as needed.

            A second paragraph that is one line.
            """
        #expect(try softBreaks(text) == [[0, 1, 2], []])
    }

    @Test(
        "lists, indented blocks, tables, rules, short lines and first-line indents keep their breaks",
        arguments: [
            // A list: each item starts a line.
            "Things to take on the walk through the hills today:\n- a map of the area\n- water for the day\n* a coat",
            "Steps to follow when the installation has finished:\n1. open the settings\n2) restart the service",
            // An indented block under a line of prose (code, a quotation).
            "The configuration file holds these lines, in this order:\n    listen 80;\n    root /srv/www;",
            // Tables: a tab, a pipe, aligned columns, a rule.
            "name\tvalue\tcomment about the value of the field here\nalpha\t1\tthe first one",
            "| name | value | comment about the value of the field |\n| alpha | 1 | the first one |",
            "----------------------------------------------\ncolumn one      column two      column three",
            // Lines all shorter than the wrap width: verse.
            "The wind was a torrent of darkness\nAmong the gusty trees",
        ])
    func hardBreaks(_ text: String) throws {
        #expect(try softBreaks(text) == [[]])
    }

    @Test("a short line ends where its author ended it: its break is hard, the wide line before it is soft")
    func shortLine() throws {
        let text = "Use Made of Technical Libraries in the United Kingdom, 1969\nSlater, M.\nThis report is an analysis of 6300 acts of use in 104 technical libraries"
        #expect(try softBreaks(text) == [[0]])
    }

    @Test("a first-line indent starts a new paragraph inside a block (Cranfield's abstracts)")
    func firstLineIndent() throws {
        let text = """
            results were intended in part as an evaluation basis for different
            theoretical treatments of this problem .
              the comparative span loading curves, together with
            supporting evidence, showed that a substantial part of the lift increment
            """
        // Line 1 is short (a paragraph's end) and line 2 is indented: only 0 and 2 are soft.
        #expect(try softBreaks(text) == [[0, 2]])
    }

    @Test("reStructuredText paragraphs get the same soft breaks")
    func restructuredText() throws {
        let text = "Title\n=====\n\nThe present study is a history of the DEWEY Decimal\nClassification and its editions.\n"
        let doc = try RestructuredTextDocumentParser().parse(Array(text.utf8), path: "a.rst")
        #expect(doc.blocks.map(\.softLineBreaks) == [[], [0]])
    }

    /// A hard-wrapped paragraph of 12 sentences of 12 words, wrapped at 60 columns.
    static let wrapped = HardWrappedText.article(title: "Glaciers")

    func chunks(joining: Bool) throws -> [Chunk] {
        let doc = try PlainTextDocumentParser().parse(Array(Self.wrapped.utf8), path: "g.txt")
        // The file has single blank lines, so its text is the document's (less the last newline).
        #expect(doc.text + "\n" == Self.wrapped)
        let chunker = TextChunker(
            configuration: .init(maxTokens: 60, overlapTokens: 16, joinsWrappedLines: joining),
            tokenCounter: EstimatedTokenCounter())
        let chunks = chunker.chunks(for: doc)
        #expect(chunks.count > 3)
        // Each chunk's line is the file's line of its first character.
        let scalars = Array(Self.wrapped.unicodeScalars)
        for chunk in chunks {
            #expect(chunk.line == 1 + scalars[..<chunk.startOffset].filter { $0 == "\n" }.count, "\(chunk.text)")
        }
        return chunks
    }

    static func startsWithSentence(_ chunk: Chunk) -> Bool {
        chunk.text.split(whereSeparator: \.isWhitespace).first == "Sentence"
    }

    @Test("joined, every chunk starts at a sentence, on the source line where that sentence starts")
    func chunksStartAtSentences() throws {
        for chunk in try chunks(joining: true).dropFirst() {
            #expect(Self.startsWithSentence(chunk), "\(chunk.text)")
        }
    }

    @Test("not joined (an older index's recipe), chunks start at wrapped lines, mid-sentence")
    func chunksStartAtLines() throws {
        #expect(try chunks(joining: false).dropFirst().contains { !Self.startsWithSentence($0) })
    }
}
