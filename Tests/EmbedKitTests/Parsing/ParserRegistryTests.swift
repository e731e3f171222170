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

extension ParserRegistryTests {
    @Test("HTML and XML parse concurrently from many tasks with the same results")
    func concurrent() async throws {
        let html = Array("<title>T</title><h2>H</h2><p>a<b>b</b>c &eacute;</p>".utf8)
        let xml = Array("<?xml version='1.0'?><doc><title>X</title><p>one <i>two</i></p></doc>".utf8)
        let registry = ParserRegistry()
        let expectedHTML = try registry.parse(path: "a.html", bytes: html)
        let expectedXML = try registry.parse(path: "a.xml", bytes: xml)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<64 {
                group.addTask {
                    i.isMultiple(of: 2)
                        ? try registry.parse(path: "a.html", bytes: html) == expectedHTML
                        : try registry.parse(path: "a.xml", bytes: xml) == expectedXML
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 64 && results.allSatisfy { $0 })
        #expect(expectedHTML.text == "H\n\nabc é")
        #expect(expectedXML.text == "X\n\none two")
    }
}
