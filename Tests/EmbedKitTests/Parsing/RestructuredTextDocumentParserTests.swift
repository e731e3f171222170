import EmbedKit
import Testing

@Suite("RestructuredTextDocumentParser")
struct RestructuredTextDocumentParserTests {
    func parse(_ text: String) throws -> ParsedDocument {
        try RestructuredTextDocumentParser().parse(Array(text.utf8), path: "a.rst")
    }

    @Test("section titles become headings, levels in order of first appearance of each adornment style")
    func sections() throws {
        let doc = try parse("""
            =========
             Overview
            =========

            Intro text
            over two lines.

            Install
            -------
            Run ``pip``.

            Details
            ~~~~~~~~~~
            .. note:: kept as text

            Usage
            -----

            a
            ==
            """)
        #expect(doc.blocks == [
            .init(kind: .heading(level: 1), text: "Overview", line: 2),
            .init(kind: .paragraph, text: "Intro text\nover two lines.", line: 5),
            .init(kind: .heading(level: 2), text: "Install", line: 8),
            .init(kind: .paragraph, text: "Run ``pip``.", line: 10),
            .init(kind: .heading(level: 3), text: "Details", line: 12),
            .init(kind: .paragraph, text: ".. note:: kept as text", line: 14),
            .init(kind: .heading(level: 2), text: "Usage", line: 16),
            .init(kind: .heading(level: 4), text: "a", line: 19),
        ])
        #expect(doc.title == "Overview")
        #expect(doc.format == .restructuredText)
    }

    @Test("not titles: a short underline, an indented line, a line inside a paragraph, a transition")
    func notTitles() throws {
        let doc = try parse("Too long\n---\n\n  indented\n  ========\n\npara\nline\n-----\n\n----------\n")
        #expect(doc.blocks.allSatisfy { $0.kind == .paragraph })
        #expect(doc.blocks.map(\.line) == [1, 4, 7, 11])
        #expect(doc.title == nil)
    }

    @Test(".rst and .rest files use it", arguments: ["a.rst", "b.REST"])
    func registry(path: String) throws {
        let doc = try ParserRegistry().parse(path: path, bytes: Array("Title\n=====\ntext".utf8))
        #expect(doc.format == .restructuredText)
        #expect(doc.blocks == [
            .init(kind: .heading(level: 1), text: "Title", line: 1), .init(kind: .paragraph, text: "text", line: 3),
        ])
    }
}
