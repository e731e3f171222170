import EmbedKit
import Foundation
import Testing

/// Pages written for these tests in the structure of common documentation generators
/// (Fixtures/parsing/chrome/): exactly the content blocks come out, and the headings a chunk's path is made of.
@Suite("HTML generator fixtures")
struct HTMLGeneratorFixtureTests {
    typealias Block = ParsedDocument.Block

    func parse(_ name: String) throws -> ParsedDocument {
        try HTMLDocumentParser().parse(Fixtures.bytes("chrome/\(name)"), path: name)
    }

    static func h(_ level: Int, _ text: String, _ line: Int) -> Block {
        .init(kind: .heading(level: level), text: text, line: line)
    }

    static func p(_ text: String, _ line: Int) -> Block { .init(kind: .paragraph, text: text, line: line) }

    @Test("Sphinx: div.body role=main; sidebar, related bars, search and footer out; no ¶; footnotes kept")
    func sphinx() throws {
        let doc = try parse("sphinx.html")
        #expect(doc.title == "codecs — Codec registry — Sample 1.0 documentation")
        #expect(doc.blocks == [
            Self.h(1, "codecs — Codec registry", 31),
            Self.p("This module defines base classes for codecs.1", 32),
            Self.h(2, "Functions", 34),
            Self.p("codecs.encode(obj)", 37),
            Self.p("Encodes obj using the codec registered for encoding.", 38),
            Self.p("encode('abc')", 39),
            Self.p("[1]", 46),
            Self.p("Codecs are also used for compression.", 47),
        ])
        // The sidebar's h3/h4 ("Previous topic") no longer nest under the page's last heading.
        let chunks = TextChunker(tokenCounter: EstimatedTokenCounter()).chunks(for: doc)
        let paths = Set(chunks.map(\.headingPath))
        #expect(paths == [["codecs — Codec registry"], ["codecs — Codec registry", "Functions"]])
    }

    @Test("Node: #apicontent only; no sidebar, site header or page ToC; no '#' marks or copy button")
    func node() throws {
        let doc = try parse("node.html")
        #expect(doc.blocks == [
            Self.h(2, "File system", 48),
            Self.p("The node:fs module enables interacting with the file system.", 49),
            Self.p("import * as fs from 'node:fs/promises';\nconst fs = require('node:fs/promises');", 50),
            Self.h(3, "Promise example", 51),
            Self.p("Promise-based operations return a promise.", 52),
        ])
        let chunks = TextChunker(
            configuration: .init(maxTokens: 20, overlapTokens: 0), tokenCounter: EstimatedTokenCounter()
        ).chunks(for: doc)
        #expect(chunks.first?.headingPath == ["File system"])
        #expect(chunks.last?.headingPath == ["File system", "Promise example"])
    }

    @Test("Docusaurus-style: main > article; sidebar, navbar, breadcrumbs, pagination, right-hand ToC out")
    func docusaurus() throws {
        let doc = try parse("docusaurus.html")
        #expect(doc.title == "Installation | Widget Docs")
        #expect(doc.blocks == [
            Self.h(1, "Installation", 35),
            Self.p("Install the widget with npm.", 36),
            Self.h(2, "Requirements", 37),
            Self.p("You need Node.js 18 or newer.", 38),
            Self.p("npm install widget", 39),
            // The article's own footer is inside the content container, so it stays.
            Self.p("Edit this page", 41),
        ])
    }

    @Test("DocBook chapter: navheader/navfooter and the leading ToC and list of tables out")
    func docbookChapter() throws {
        let expected = [
            Self.h(2, "Chapter 5. Data Definition", 2),
            Self.p("This chapter covers how one creates the database structures that will hold one's data.", 3),
            Self.h(2, "5.0. Overview", 5),
            Self.p("A table holds rows.", 5),
            Self.p("CREATE TABLE t (a int);", 5),
        ]
        #expect(try parse("docbook-chapter.html").blocks == expected)
        // The same page as XHTML through the XML parser goes through the same visitor.
        let xml = try XMLDocumentParser().parse(Fixtures.bytes("chrome/docbook-chapter.html"), path: "c.xhtml")
        #expect(xml.blocks == expected)
    }

    @Test("DocBook book front page: the title page stays, the book's table of contents goes")
    func docbookBook() throws {
        #expect(try parse("docbook-book.html").blocks == [
            Self.h(1, "Sample Database Manual", 2),
            Self.h(3, "The Sample Group", 2),
            Self.p("Copyright © 2024 The Sample Group", 2),
        ])
    }

    @Test("MkDocs Material: main; both sidebars, header, footer, skip link out; no ¶")
    func mkdocs() throws {
        #expect(try parse("mkdocs.html").blocks == [
            Self.h(1, "Configuration", 44),
            Self.p("Gadget reads gadget.yml at start.", 45),
            Self.h(2, "Options", 46),
            Self.p("Note", 48),
            Self.p("Unknown options are ignored.", 49),
        ])
    }

    @Test("Javadoc: main role=main; banner, navigation, search form and legal footer out")
    func javadoc() throws {
        #expect(try parse("javadoc.html").blocks == [
            Self.p("Package\u{00A0}org.sample", 33),
            Self.h(1, "Class Widget", 34),
            Self.p("public class Widget", 37),
            Self.p("A widget that draws itself.", 38),
            Self.h(2, "Method Summary", 41),
            Self.p("Modifier and Type", 43),
            Self.p("Method", 44),
            Self.p("void", 45),
            Self.p("draw()", 46),
        ])
    }

    @Test("a hand-written page without landmarks loses no word")
    func handwritten() throws {
        let bytes = try Fixtures.bytes("chrome/handwritten.html")
        let doc = try HTMLDocumentParser().parse(bytes, path: "handwritten.html")
        // The body's words, markup stripped (the fixture has no entities, scripts or comments).
        var body = String(decoding: bytes, as: UTF8.self)
        body = String(body[body.range(of: "<body")!.lowerBound...])
        let stripped = body.replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
        // Every character, in order (block breaks only change whitespace).
        let visible = { (s: String) in s.filter { !$0.isWhitespace } }
        #expect(visible(doc.text) == visible(stripped))
        #expect(doc.blocks.filter { $0.kind != .paragraph } == [
            Self.h(1, "Garden notes", 7), Self.h(2, "Beans", 13), Self.h(3, "Rule 2", 20), Self.h(2, "Tomatoes", 24),
            Self.h(2, "Questions", 30),
        ])
        #expect(doc.blocks.contains(Self.p("Sow beans in May, see rule #1 and #2 below.", 14)))
        #expect(doc.blocks.last == Self.p("Last changed in March by the secretary.", 37))
    }
}
