import EmbedKit
import Testing

@Suite("MarkdownDocumentParser")
struct MarkdownDocumentParserTests {
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
            # indented code
        """

    @Test("ATX and setext headings, fences, front matter and line numbers")
    func structure() throws {
        let doc = try MarkdownDocumentParser().parse(Array(source.utf8), path: "a.md")
        #expect(doc.blocks == [
            .init(kind: .paragraph, text: "---\ntitle: \"Front\"\ntags: [a]\n---", line: 1),
            .init(kind: .paragraph, text: "Intro *text*\nwith two lines.", line: 5),
            .init(kind: .heading(level: 2), text: "Setup", line: 8),
            .init(kind: .paragraph, text: "Body under setup.", line: 9),
            .init(kind: .paragraph, text: "```sh\n# not a heading\n\necho hi\n```", line: 10),
            .init(kind: .heading(level: 1), text: "Main Title", line: 15),
            .init(kind: .heading(level: 2), text: "Sub", line: 18),
            .init(kind: .paragraph, text: "~~~\n### still code\n~~~", line: 20),
            .init(kind: .paragraph, text: "#hashtag is text\n####### seven is text\n    # indented code", line: 23),
        ])
        #expect(doc.title == "Main Title")
        #expect(doc.format == .markdown)
    }

    @Test("title falls back to the first heading, then to front matter")
    func title() throws {
        let parser = MarkdownDocumentParser()
        #expect(try parser.parse(Array("### Deep\n# \n".utf8), path: "a.md").title == "Deep")
        #expect(try parser.parse(Array("---\ntitle: FM\n---\ntext".utf8), path: "a.md").title == "FM")
    }

    @Test("an unclosed fence keeps the rest of the file as one block")
    func unclosedFence() throws {
        let doc = try MarkdownDocumentParser().parse(Array("a\n```\n# x\n\ny".utf8), path: "a.md")
        #expect(doc.blocks == [
            .init(kind: .paragraph, text: "a", line: 1),
            .init(kind: .paragraph, text: "```\n# x\n\ny", line: 2),
        ])
    }

    /// Found by the markdown fuzzer (fuzz/regressions/markdown): the block ended with the file's blank lines.
    @Test("an unclosed fence at the end of a file stops before its trailing blank lines")
    func unclosedFenceTrailingBlankLines() throws {
        let doc = try MarkdownDocumentParser().parse(Array("~~~\ncode\r\n\r\n  \n\r".utf8), path: "a.md")
        #expect(doc.blocks == [.init(kind: .paragraph, text: "~~~\ncode", line: 1)])
    }
}
