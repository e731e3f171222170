import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

@Suite("XMLDocumentParser")
struct XMLDocumentParserTests {
    func parse(_ xml: String) throws -> ParsedDocument {
        try XMLDocumentParser().parse(Array(xml.utf8), path: "t.xml")
    }

    @Test("DocBook-like XML: a block per element with text, inline runs merged, titles as headings")
    func docbook() throws {
        let doc = try XMLDocumentParser().parse(Fixtures.bytes("book.xml"), path: "book.xml")
        #expect(doc.title == "The Book")
        #expect(doc.blocks == [
            .init(kind: .heading(level: 1), text: "The Book", line: 3),
            .init(kind: .heading(level: 2), text: "Getting Started", line: 5),
            .init(kind: .paragraph, text: "Use SELECT to read rows.", line: 6),
            .init(kind: .paragraph, text: "SELECT *\n  FROM t;", line: 8),
            .init(kind: .heading(level: 3), text: "Details", line: 11),
            .init(kind: .paragraph, text: "Deeper & deeper.", line: 12),
        ])
        #expect(doc.warnings.isEmpty)
    }

    @Test("billion laughs: no expansion, bounded time")
    func billionLaughs() throws {
        var xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n"
        xml += "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        for i in 2...9 {
            let ref = "&lol\(i - 1);"
            xml += "<!ENTITY lol\(i) \"\(String(repeating: ref, count: 10))\">\n"
        }
        xml += "]>\n<lolz>start &lol9; end</lolz>\n"
        let clock = ContinuousClock()
        var doc: ParsedDocument?
        let elapsed = try clock.measure { doc = try parse(xml) }
        #expect(elapsed < .seconds(2))
        let text = try #require(doc).text
        #expect(text.count < 1000)
        #expect(!text.contains("lollol"))
    }

    @Test("quadratic blowup: entity expansion stops at a budget linear in the input, with a warning")
    func quadraticBlowup() throws {
        let entity = String(repeating: "aaaaaaaaa ", count: 100)  // 1,000 bytes: short enough to expand
        let references = String(repeating: "&a;", count: 20_000)  // 60 KB that would expand to 20 MB
        let doc = try parse("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"\(entity)\">]><r>\(references)</r>")
        let text = doc.blocks.map(\.text).joined()
        #expect(text.utf8.count < 2 << 20)
        #expect(text.hasPrefix("aaaaaaaaa aaaaaaaaa"))
        #expect(text.hasSuffix("&a;&a;"))
        #expect(doc.warnings == ["entity references expand to more text than the file holds; the rest were kept as written"])
    }

    @Test("an external entity naming a local file is never read")
    func externalEntity() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let secretURL = URL(fileURLWithPath: try directory.write("secret.txt", "TOP-SECRET-MARKER-7731"))
        let xml = """
            <?xml version="1.0"?>
            <!DOCTYPE r [<!ENTITY xxe SYSTEM "\(secretURL.absoluteString)"><!ENTITY pw SYSTEM "file:///etc/passwd">
            <!ENTITY % p SYSTEM "\(secretURL.absoluteString)"> %p;]>
            <r><a>before &xxe; after</a><b>&pw;</b></r>
            """
        let doc = try parse(xml)
        #expect(!doc.text.contains("TOP-SECRET-MARKER"))
        #expect(!doc.text.contains("root:"))
        #expect(doc.text.contains("before"))
        #expect(doc.text.contains("after"))
    }

    @Test("plain internal entities are expanded once; a declared ISO-8859-1 encoding decodes é")
    func entitiesAndEncoding() throws {
        let doc = try parse("<!DOCTYPE r [<!ENTITY co \"Acme\">]><r>by &co; &#233;&#x263A;</r>")
        #expect(doc.text == "by Acme é☺")
        let latin = Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>caf".utf8) + [0xE9] + Array("</r>".utf8)
        #expect(try XMLDocumentParser().parse(latin, path: "l.xml").text == "café")
        // A lying declaration: says UTF-16, bytes are UTF-8.
        let lying = Array("<?xml version=\"1.0\" encoding=\"UTF-16\"?><r>café</r>".utf8)
        #expect(try XMLDocumentParser().parse(lying, path: "l.xml").text == "café")
    }

    @Test("malformed XML keeps what was recovered, with a warning")
    func malformed() throws {
        let doc = try parse("<r><p>one</p><p>two & three</p><p>four</r>")
        #expect(doc.text.contains("one"))
        #expect(doc.warnings.count == 1)
        #expect(doc.warnings.first?.hasPrefix("XML not well-formed (line 1)") == true)
    }

    @Test("XHTML in an .xml file is read like HTML")
    func xhtml() throws {
        let doc = try parse("""
            <?xml version="1.0"?>
            <html xmlns="http://www.w3.org/1999/xhtml"><head><title>X</title><style>p{}</style></head>
            <body><h2>Head</h2><p>a<b>b</b>c</p></body></html>
            """)
        #expect(doc.title == "X")
        #expect(doc.blocks == [
            .init(kind: .heading(level: 2), text: "Head", line: 3),
            .init(kind: .paragraph, text: "abc", line: 3),
        ])
    }
}

extension XMLDocumentParserTests {
    @Test("bytes that are not XML at all are kept as plain text, with a warning")
    func notXML() throws {
        let doc = try parse("just words\n\nand more")
        #expect(doc.blocks.map(\.text) == ["just words", "and more"])
        #expect(doc.format == .xml)
        #expect(doc.warnings == ["XML not well-formed (line 1): Start tag expected, '<' not found; indexed as plain text"])
    }
}
