import EmbedKit
import Testing

@Suite("ParserRegistry")
struct ParserRegistryTests {
    @Test("chooses the parser by extension, else by content; empty files are empty documents")
    func routing() throws {
        let registry = ParserRegistry()
        #expect(try registry.parse(path: "a.htm", bytes: Array("<p>x</p>".utf8)).format == .html)
        #expect(try registry.parse(path: "README", bytes: Array("# T\n\nbody".utf8)).title == "T")
        #expect(try registry.parse(path: "feed", bytes: Array("<?xml version='1.0'?><r>x</r>".utf8)).format == .xml)
        let empty = try registry.parse(path: "empty.html", bytes: [])
        #expect(empty.blocks.isEmpty)
        #expect(empty.format == .html)
    }

    @Test("binary and oversized files are refused")
    func refusals() {
        let registry = ParserRegistry(configuration: .init(maximumFileSize: 10))
        #expect(throws: ParsingError(.tooLarge, "file is 11 bytes, over the 10-byte limit, skipped")) {
            try registry.parse(path: "a.txt", bytes: Array("01234567890".utf8))
        }
        #expect(throws: ParsingError(.binary, "binary file (gzip archive), skipped")) {
            try registry.parse(path: "a.txt", bytes: [0x1F, 0x8B, 8, 0])
        }
    }
}
