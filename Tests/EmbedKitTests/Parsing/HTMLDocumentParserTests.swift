import EmbedKit
import Foundation
import Testing

@Suite("HTMLDocumentParser")
struct HTMLDocumentParserTests {
    func parse(_ html: String) throws -> ParsedDocument {
        try HTMLDocumentParser().parse(Array(html.utf8), path: "t.html")
    }

    @Test("malformed HTML keeps visible text, headings with levels, title; hidden text never appears")
    func malformedFixture() throws {
        let doc = try HTMLDocumentParser().parse(Fixtures.bytes("malformed.html"), path: "malformed.html")
        #expect(doc.title == "Malformed page")
        for leak in ["styleleak", "scriptleak", "noscriptleak", "templateleak", "hiddenleak", "displayleak", "svgleak"] {
            #expect(!doc.text.contains(leak), "\(leak)")
        }
        #expect(doc.blocks == [
            .init(kind: .heading(level: 1), text: "Main & heading", line: 13),
            .init(kind: .paragraph, text: "First boldword and café ☺", line: 14),
            .init(kind: .paragraph, text: "Second paragraph", line: 15),
            .init(kind: .paragraph, text: "Unclosed italic", line: 17),
            .init(kind: .paragraph, text: "one", line: 18),
            .init(kind: .paragraph, text: "two", line: 18),
            .init(kind: .heading(level: 3), text: "Third level", line: 19),
            .init(kind: .paragraph, text: "  line 1\n    line 2", line: 20),
            .init(kind: .paragraph, text: "a b", line: 22),
            .init(kind: .paragraph, text: "c d", line: 22),
            .init(kind: .paragraph, text: "x\ny", line: 24),
        ])
        #expect(doc.warnings.isEmpty)
    }

    @Test("markup nested too deeply for libxml2 is reported, never dropped in silence")
    func tooDeep() throws {
        let deep = String(repeating: "<div>", count: 20_000) + "buried words" + String(repeating: "</div>", count: 20_000)
        let doc = try parse("<html><body>" + deep + "</body></html>")
        if doc.isEmpty {
            #expect(doc.warnings.contains { $0.hasPrefix("no visible text could be extracted") })
        } else {
            #expect(doc.text.contains("buried words"))
        }
        // A page that really has no text gets no such warning.
        #expect(try parse("<html><body><div></div></body></html>").warnings.isEmpty)
    }

    @Test("inline elements don't split words; spaces between inline elements are kept")
    func inline() throws {
        #expect(try parse("<p>a<b>b</b>c</p>").text == "abc")
        #expect(try parse("<p><b>a</b> <i>b</i></p>").text == "a b")
        #expect(try parse("<div>one</div><div>two</div>").blocks.map(\.text) == ["one", "two"])
    }

    @Test("a declared legacy charset decodes é; a lying utf-8 declaration falls back to Windows-1252")
    func charsets() throws {
        let latin = Array("<meta charset=iso-8859-1><p>caf".utf8) + [0xE9] + Array("</p>".utf8)
        #expect(try HTMLDocumentParser().parse(latin, path: "l.html").text == "café")
        let lying = Array("<meta charset=utf-8><p>".utf8) + [0x93, 0x68, 0x69, 0x94] + Array("</p>".utf8)
        let doc = try HTMLDocumentParser().parse(lying, path: "l.html")
        #expect(doc.text == "\u{201C}hi\u{201D}")
        #expect(doc.warnings.count == 1)
    }

    @Test("UTF-16 with a byte-order mark")
    func utf16() throws {
        let html = "<title>T</title><p>Grüße</p>"
        let bytes: [UInt8] = [0xFE, 0xFF] + html.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        let doc = try HTMLDocumentParser().parse(bytes, path: "u.html")
        #expect(doc.title == "T")
        #expect(doc.text == "Grüße")
    }

    @Test("empty and whitespace-only files give empty documents; a PNG is binary")
    func emptyAndBinary() throws {
        #expect(try parse("").blocks.isEmpty)
        #expect(try parse(" \n ").blocks.isEmpty)
        #expect(try parse("<html><body></body></html>").blocks.isEmpty)
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]
        #expect(throws: ParsingError(.binary, "binary file (PNG image), skipped")) {
            try HTMLDocumentParser().parse(png, path: "x.html")
        }
    }

    static let realFile = "/usr/share/doc/postgresql-doc-15/html/sql-select.html"

    @Test("a real PostgreSQL documentation page", .enabled(if: FileManager.default.fileExists(atPath: realFile)))
    func realPage() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.realFile)))
        let doc = try HTMLDocumentParser().parse(bytes, path: Self.realFile)
        #expect(doc.title?.contains("SELECT") == true)
        #expect(doc.blocks.count > 100)
        #expect(doc.text.contains("SELECT"))
        #expect(doc.blocks.contains { if case .heading = $0.kind { true } else { false } })
        #expect(doc.blocks.allSatisfy { $0.line >= 1 && !$0.text.isEmpty })
    }
}

extension HTMLDocumentParserTests {
    @Test("without a <title>, the first h1 is the title; block lines follow the source")
    func titleFallbackAndLines() throws {
        let doc = try parse("<body>\n<h2>Intro</h2>\n\n<h1>Real\n title</h1>\n<p>\n\n  text\n  more</p>\n</body>")
        #expect(doc.title == "Real title")
        #expect(doc.blocks == [
            .init(kind: .heading(level: 2), text: "Intro", line: 2),
            .init(kind: .heading(level: 1), text: "Real title", line: 4),
            .init(kind: .paragraph, text: "text more", line: 8),
        ])
    }
}
