import EmbedKit
import Testing

@Suite("PlainTextDocumentParser")
struct PlainTextDocumentParserTests {
    @Test("paragraphs split at blank lines with 1-based start lines; CRLF normalized")
    func paragraphs() throws {
        let bytes = Array("\r\nfirst line\r\nsecond line\r\n \r\n\r\nthird\r\n".utf8)
        let doc = try PlainTextDocumentParser().parse(bytes, path: "a.txt")
        #expect(doc.blocks == [
            .init(kind: .paragraph, text: "first line\nsecond line", line: 2),
            .init(kind: .paragraph, text: "third", line: 6),
        ])
        #expect(doc.format == .text)
        #expect(doc.title == nil)
    }

    @Test("an empty file gives an empty document")
    func empty() throws {
        let doc = try PlainTextDocumentParser().parse([], path: "e.txt")
        #expect(doc.blocks.isEmpty)
        #expect(doc.isEmpty)
    }

    @Test("NUL bytes make the file binary")
    func binary() {
        #expect(throws: ParsingError.self) { try PlainTextDocumentParser().parse([0x61, 0, 0x62], path: "b.txt") }
    }
}
