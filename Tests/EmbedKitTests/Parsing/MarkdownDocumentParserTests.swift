import EmbedKit
import Foundation
import Testing

@Suite("MarkdownDocumentParser")
struct MarkdownDocumentParserTests {
    func parse(_ markdown: String) throws -> ParsedDocument {
        try MarkdownDocumentParser().parse(Array(markdown.utf8), path: "a.md")
    }

    let source = """
        ---
        title: "Front"
        tags: [a]
        ---
        Intro *text*
        with two lines.

        ## Setup ##
        Body under setup.
        ```sh
        # not a heading

        echo hi
        ```
        Main Title
        ==========

        Sub
        ---
        ~~~
        ### still code
        ~~~
        #hashtag is text
        ####### seven is text
            # not code: a paragraph continues
        """

    @Test("ATX and setext headings, fences, front matter and line numbers")
    func structure() throws {
        let doc = try parse(source)
        #expect(doc.blocks == [
            .init(kind: .paragraph, text: "Intro text\nwith two lines.", line: 5),
            .init(kind: .heading(level: 2), text: "Setup", line: 8),
            .init(kind: .paragraph, text: "Body under setup.", line: 9),
            .init(kind: .paragraph, text: "# not a heading\n\necho hi", line: 11),
            .init(kind: .heading(level: 1), text: "Main Title", line: 15),
            .init(kind: .heading(level: 2), text: "Sub", line: 18),
            .init(kind: .paragraph, text: "### still code", line: 21),
            .init(kind: .paragraph, text: "#hashtag is text\n####### seven is text\n# not code: a paragraph continues",
                  line: 23),
        ])
        #expect(doc.title == "Front")
        #expect(doc.format == .markdown)
    }

    @Test("the title is front matter's title, else the first level-1 heading, else the first heading")
    func title() throws {
        #expect(try parse("### Deep\n# \n").title == "Deep")
        #expect(try parse("## Two\n\n# One\n").title == "One")
        #expect(try parse("---\ntitle: FM\n---\n# Heading\ntext").title == "FM")
        #expect(try parse("+++\ntitle = 'Toml'\n+++\ntext").title == "Toml")
        #expect(try parse("---\nmeta:\n  title: nested\n---\ntext").title == nil)
    }

    @Test("front matter is not text and the lines after it stay right; unclosed, it is Markdown")
    func frontMatter() throws {
        #expect(try parse("---\ntitle: A\nlayout: post\n...\n\n# H\ntext").blocks == [
            .init(kind: .heading(level: 1), text: "H", line: 6),
            .init(kind: .paragraph, text: "text", line: 7),
        ])
        // Not at the very top, or never closed: a thematic break, then a setext heading or text.
        #expect(try parse("---\ntitle: A\n").blocks == [.init(kind: .paragraph, text: "title: A", line: 2)])
        #expect(try parse("\n---\ntitle: A\n---\n").blocks == [
            .init(kind: .heading(level: 2), text: "title: A", line: 3)
        ])
    }

    @Test("emphasis, links, images, code spans and entities give their text only")
    func inlines() throws {
        let doc = try parse(
            "A *b* __c__ ~~d~~ [link](http://x \"t\") ![alt *x*](i.png) `co*de*` &amp; &copy; <span>in</span>\\\nnext")
        #expect(doc.blocks == [.init(kind: .paragraph, text: "A b c d link alt x co*de* & © in\nnext", line: 1)])
    }

    @Test("link reference definitions and HTML comments give nothing; HTML blocks give their visible text")
    func htmlAndReferences() throws {
        let doc = try parse("""
            # API
            <!-- YAML
            added: v1.0.0
            -->

            Use [foo][] and [bar].

            [foo]: https://example.com/foo
            [bar]: <https://example.com/bar> "Bar"

            <div class="note">
              <p>Visible <b>note</b></p>
              <script>hidden()</script>
            </div>

            <h2 align="center">Centred</h2>

            text <!-- inline comment --> end
            """)
        #expect(doc.blocks == [
            .init(kind: .heading(level: 1), text: "API", line: 1),
            .init(kind: .paragraph, text: "Use foo and bar.", line: 6),
            .init(kind: .paragraph, text: "Visible note", line: 12),
            .init(kind: .heading(level: 2), text: "Centred", line: 16),
            .init(kind: .paragraph, text: "text  end", line: 18),
        ])
    }

    @Test("lists and block quotes follow the spec; a tight list is one block, one line per item")
    func listsAndQuotes() throws {
        let doc = try parse("""
            - one
            - two
              - nested
            3. three

            > quoted
            continued lazily
            > > deeper

            * loose a

            * loose b
            """)
        #expect(doc.blocks == [
            .init(kind: .paragraph, text: "one\ntwo\nnested\nthree", line: 1),
            .init(kind: .paragraph, text: "quoted\ncontinued lazily", line: 6),
            .init(kind: .paragraph, text: "deeper", line: 8),
            .init(kind: .paragraph, text: "loose a", line: 10),
            .init(kind: .paragraph, text: "loose b", line: 12),
        ])
    }

    @Test("a table gives one line per row, the header a blank line above the body (lines stay right)")
    func table() throws {
        let doc = try parse("""
            Before

            | Name | Value |
            |------|------:|
            | *a*  | 1     |
            | b \\| c |

            After
            """)
        #expect(doc.blocks == [
            .init(kind: .paragraph, text: "Before", line: 1),
            .init(kind: .paragraph, text: "Name | Value\n\na | 1\nb | c", line: 3),
            .init(kind: .paragraph, text: "After", line: 8),
        ])
    }

    @Test("code blocks keep their code verbatim, indentation included, on their own lines")
    func codeBlocks() throws {
        let doc = try parse("Text\n\n    indented\n      more\n\n```\n\n  spaced\n```\n\n~~~ unclosed\n# x\n\ny")
        #expect(doc.blocks == [
            .init(kind: .paragraph, text: "Text", line: 1),
            .init(kind: .paragraph, text: "indented\n  more", line: 3),
            .init(kind: .paragraph, text: "  spaced", line: 8),
            .init(kind: .paragraph, text: "# x\n\ny", line: 12),
        ])
    }

    /// Found by the markdown fuzzer (fuzz/regressions/markdown): the block ended with the file's blank lines.
    @Test("an unclosed fence at the end of a file stops before its trailing blank lines")
    func unclosedFenceTrailingBlankLines() throws {
        let doc = try MarkdownDocumentParser().parse(Array("~~~\ncode\r\n\r\n  \n\r".utf8), path: "a.md")
        #expect(doc.blocks == [.init(kind: .paragraph, text: "code", line: 2)])
    }

    /// cmark-gfm 0.29 toggles the table extension's characters in a process-wide table; parses are serialized.
    @Test("parses running at once read tables and strikethrough the same")
    func concurrentParses() async throws {
        let text = "| a | b |\n|---|---|\n| x \\| y | ~~z~~ |\n"
        let expected = try parse(text).blocks
        #expect(expected == [.init(kind: .paragraph, text: "a | b\n\nx | y | z", line: 1)])
        try await withThrowingTaskGroup(of: [ParsedDocument.Block].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var last: [ParsedDocument.Block] = []
                    for _ in 0..<200 {
                        last = try MarkdownDocumentParser().parse(Array(text.utf8), path: "a.md").blocks
                    }
                    return last
                }
            }
            for try await blocks in group { #expect(blocks == expected) }
        }
    }

    @Test("the chunker's lines and heading paths come out right")
    func chunks() throws {
        let doc = try parse("---\ntitle: T\n---\n# A\n\nalpha\n\n## B\n\n<!-- c -->\n[r]: /u\n\nbeta\n")
        let chunks = TextChunker(configuration: .init(maxTokens: 4, overlapTokens: 0),
                                 tokenCounter: EstimatedTokenCounter()).chunks(for: doc)
        #expect(chunks.map(\.text) == ["A\n\nalpha", "B\n\nbeta"])
        #expect(chunks.map(\.line) == [4, 8])
        #expect(chunks.map(\.headingPath) == [["A"], ["A", "B"]])
    }
}

@Suite("MarkdownDocumentParser on hostile input")
struct MarkdownHostileInputTests {
    func parse(_ markdown: String) throws -> ParsedDocument {
        try MarkdownDocumentParser().parse(Array(markdown.utf8), path: "a.md")
    }

    func seconds(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let elapsed = try clock.measure(body)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    @Test("100,000 nested block quotes or list items on one line are read as plain text, quickly")
    func deepNestingOnOneLine() throws {
        for marker in ["> ", "- ", "1. "] {
            let text = String(repeating: marker, count: 100_000) + "x"
            var doc: ParsedDocument?
            let elapsed = try seconds { doc = try parse(text) }
            #expect(doc?.blocks == [.init(kind: .paragraph, text: text, line: 1)])
            #expect(doc?.warnings.contains { $0.contains("read as plain text") } == true)
            #expect(elapsed < 5)
        }
    }

    @Test("nesting that cmark is given (1,000 levels, 2,000 lines of quotes) parses with no recursion")
    func deepNestingGivenToCMark() throws {
        let quotes = String(repeating: ">", count: 1000) + " deep"
        #expect(try parse(quotes).blocks == [.init(kind: .paragraph, text: "deep", line: 1)])
        let lines = (1...2_000).map { String(repeating: "> ", count: $0 % 300 + 1) + "q\($0)" }
        let doc = try parse(lines.joined(separator: "\n"))
        #expect(doc.blocks.count >= 1 && doc.blocks.first?.text.hasPrefix("q1") == true)
    }

    @Test("many lines that each repeat a deep list nesting are read as plain text (bounded memory)")
    func repeatedDeepLists() throws {
        let line = String(repeating: "- ", count: 999) + "x"
        let doc = try parse(Array(repeating: line, count: 2_000).joined(separator: "\n"))
        #expect(doc.blocks.count == 1 && doc.blocks.first?.text.hasPrefix(line) == true)
        #expect(doc.warnings.contains { $0.contains("read as plain text") })
        // A few hundred such lines are still Markdown.
        let small = try parse(Array(repeating: "- - - x", count: 300).joined(separator: "\n"))
        #expect(small.warnings.isEmpty && small.blocks.first?.text.hasPrefix("x\nx") == true)
    }

    @Test("deep inline nesting: emphasis, links and brackets")
    func deepInlines() throws {
        let n = 50_000
        let emphasis = String(repeating: "*", count: n) + "a" + String(repeating: "*", count: n)
        #expect(try parse(emphasis).blocks == [.init(kind: .paragraph, text: "a", line: 1)])
        let links = String(repeating: "[a", count: n) + String(repeating: "](u)", count: n)
        // The innermost pair is the link; once it is made, the openers before it are only text.
        #expect(try parse(links).blocks.first?.text
            == String(repeating: "[a", count: n - 1) + "a" + String(repeating: "](u)", count: n - 1))
        let brackets = String(repeating: "[", count: n) + "x" + String(repeating: "]", count: n)
        #expect(try parse(brackets).blocks == [.init(kind: .paragraph, text: brackets, line: 1)])
    }

    @Test("links inside images (quadratic in cmark-gfm 0.29) are read as plain text past a budget")
    func imagesHoldingLinks() throws {
        let text = String(repeating: "![[]()", count: 20_000)
        var doc: ParsedDocument?
        let elapsed = try seconds { doc = try parse(text) }
        #expect(doc?.blocks == [.init(kind: .paragraph, text: text, line: 1)])
        #expect(elapsed < 5)
        // A few are still Markdown.
        #expect(try parse("![a [b](c) d](e.png)").blocks == [.init(kind: .paragraph, text: "a b d", line: 1)])
    }

    @Test("very wide tables, or short rows padded to a wide header, are read without the table extension")
    func wideTables() throws {
        let wide = "|" + String(repeating: "a|", count: 2000) + "\n|" + String(repeating: "-|", count: 2000) + "\n"
        var doc: ParsedDocument?
        let elapsed = try seconds { doc = try parse(wide + String(repeating: "|b|\n", count: 50)) }
        #expect(doc?.blocks.count == 1 && doc?.blocks.first?.text.hasPrefix("|a|a|") == true)
        let padded = "|" + String(repeating: "a|", count: 200) + "\n|" + String(repeating: "-|", count: 200) + "\n"
            + String(repeating: "|b\n", count: 5000)
        let elapsedPadded = try seconds { doc = try parse(padded) }
        #expect(doc?.blocks.first?.text.hasPrefix("|a|a|") == true)
        #expect(elapsed < 5 && elapsedPadded < 5)
    }
}
