import EmbedKit
import Foundation
import Testing

@Suite("ChunkHeaders")
struct ChunkHeadersTests {
    let counter = EstimatedTokenCounter()

    func headers(_ context: ChunkContext = .titleHeadings) -> ChunkHeaders {
        ChunkHeaders(context: context, tokenCounter: counter)
    }

    func chunks(_ doc: ParsedDocument, max: Int = 100) -> [Chunk] {
        TextChunker(configuration: .init(maxTokens: max, overlapTokens: 0), tokenCounter: counter).chunks(for: doc)
    }

    static let guide = ParsedDocument(
        format: .markdown, title: "Guide",
        blocks: [
            .init(kind: .heading(level: 1), text: "Guide", line: 1),
            .init(kind: .paragraph, text: "Alpha beta gamma.", line: 3),
            .init(kind: .heading(level: 2), text: "Install", line: 5),
            .init(kind: .paragraph, text: "Run the installer.", line: 7),
            .init(kind: .heading(level: 2), text: "Use", line: 9),
            .init(kind: .heading(level: 3), text: "Query", line: 11),
            .init(kind: .paragraph, text: "Ask a question. " + String(repeating: "Then ask another one. ", count: 8), line: 13),
        ])

    @Test("the header is the title and the headings the chunk does not open with; the text follows a blank line")
    func headerLeavesOutWhatTheChunkSays() {
        let chunks = chunks(Self.guide, max: 30)
        let texts = headers().embeddedTexts(for: chunks, of: Self.guide)
        #expect(chunks.map(\.headingPath).last == ["Guide", "Use", "Query"])
        #expect(texts.count == chunks.count && chunks.count >= 4, "\(chunks.map(\.text))")
        // The first chunk opens with the title, a section's first chunk with its headings: not repeated.
        #expect(texts[0] == chunks[0].text)
        #expect(texts[1] == "Guide\n\n" + chunks[1].text)
        #expect(chunks[2].text.hasPrefix("Use\n\nQuery\n\n"))
        #expect(texts[2] == "Guide\n\n" + chunks[2].text)
        // A later chunk of a section says nothing of where it is: it gets the whole path, the title once.
        #expect(!chunks[3].text.hasPrefix("Use"))
        #expect(texts[3] == "Guide › Use › Query\n\n" + chunks[3].text)
    }

    @Test("none embeds each chunk's text alone")
    func noneIsTheText() {
        let chunks = chunks(Self.guide, max: 30)
        #expect(headers(.none).embeddedTexts(for: chunks, of: Self.guide) == chunks.map(\.text))
        #expect(ChunkContext.none.reservedTokens == 0)
        #expect(ChunkContext.titleHeadings.reservedTokens == ChunkContext.maxHeaderTokens)
    }

    @Test("plain text: the first line is the title, so the first chunk gets no header and later ones get that line")
    func plainTextTitleIsTheFirstLine() throws {
        let text = "GLACIERS: RIVERS OF ICE\n\n" + (1...12).map { "Glaciers flow downhill under their weight, part \($0)." }
            .joined(separator: "\n\n")
        let doc = try PlainTextDocumentParser().parse(Array(text.utf8), path: "/x/glaciers.txt")
        #expect(doc.title == nil)
        #expect(ChunkHeaders.title(of: doc) == "GLACIERS: RIVERS OF ICE")
        let chunks = chunks(doc, max: 40)
        #expect(chunks.count > 2)
        let texts = headers().embeddedTexts(for: chunks, of: doc)
        #expect(texts[0] == chunks[0].text)
        for (chunk, embedded) in zip(chunks, texts).dropFirst() {
            #expect(embedded == "GLACIERS: RIVERS OF ICE\n\n" + chunk.text)
        }
    }

    @Test("a chunk opens with a heading only when the heading's words end a line")
    func opensWithWholeLines() {
        #expect(ChunkHeaders.text("Glaciers\n\nIce moves.", opensWith: ["Glaciers"]))
        #expect(ChunkHeaders.text("Glaciers  \nIce moves.", opensWith: ["Glaciers"]))
        #expect(!ChunkHeaders.text("Glaciers move slowly.", opensWith: ["Glaciers"]))
        #expect(!ChunkHeaders.text("Glaciersmove\n", opensWith: ["Glaciers"]))
        #expect(ChunkHeaders.text("Use\n\nQuery\n\nAsk.", opensWith: ["Use", "Query"]))
        #expect(!ChunkHeaders.text("Query\n\nAsk.", opensWith: ["Use", "Query"]))
        #expect(ChunkHeaders.text("anything", opensWith: []))
    }

    @Test("a long heading path keeps the title and the innermost heading, and no header passes the token cap")
    func longPathsAreShortened() {
        let path = ["Operating the Northern Lighthouse Service", "Volume Two: Maintenance and Repair of Lamps",
                    "Chapter Seven: Lenses, Prisms and Their Cleaning", "Section 7.4: Removing Salt Deposits"]
        let chunk = Chunk(ordinal: 3, text: "Wipe the prism.", startOffset: 0, endOffset: 15, line: 40, headingPath: path, tokenCount: 4)
        let header = headers().header(for: chunk, title: "Lighthouse Handbook")
        #expect(header == "Lighthouse Handbook › Section 7.4: Removing Salt Deposits")
        #expect(counter.tokenCount(header[...]) <= ChunkContext.maxHeaderTokens)

        // One heading longer than the cap is cut to it.
        let long = (1...60).map { "word\($0)" }.joined(separator: " ")
        let longChunk = Chunk(ordinal: 1, text: "Text.", startOffset: 0, endOffset: 5, line: 9, headingPath: [long], tokenCount: 2)
        let cut = headers().header(for: longChunk, title: "Short Title")
        #expect(cut.hasPrefix("Short Title › word1 word2"))
        #expect(counter.tokenCount(cut[...]) <= ChunkContext.maxHeaderTokens)
        #expect(counter.tokenCount(cut[...]) >= ChunkContext.maxHeaderTokens - 2)
        #expect(!cut.hasSuffix(" ") && !cut.hasSuffix("›"))
    }

    @Test("the title is the parser's, whitespace collapsed; else the first line; none for an empty document")
    func titles() {
        #expect(ChunkHeaders.title(of: ParsedDocument(format: .html, title: "  Page \n Title ", blocks: [])) == "Page Title")
        let untitled = ParsedDocument(
            format: .markdown, blocks: [.init(kind: .paragraph, text: "first  line\nsecond line", line: 2)])
        #expect(ChunkHeaders.title(of: untitled) == "first line")
        #expect(ChunkHeaders.title(of: ParsedDocument(format: .text, blocks: [])) == nil)
        let blank = ParsedDocument(
            format: .text, blocks: [.init(kind: .paragraph, text: " \n", line: 1), .init(kind: .paragraph, text: "\n  Second\nx", line: 3)])
        #expect(ChunkHeaders.title(of: blank) == "Second")
    }

    @Test("a first line of megabytes gives a title of at most 64 words and a header within the cap")
    func hugeFirstLine() throws {
        let line = (0..<300_000).map { "w\($0 % 1000)" }.joined(separator: " ")
        let doc = try PlainTextDocumentParser().parse(Array(line.utf8), path: "/x/one-line.txt")
        let title = try #require(ChunkHeaders.title(of: doc))
        #expect(title.split(separator: " ").count == 64)
        let chunk = Chunk(ordinal: 5, text: "w7 w8", startOffset: 0, endOffset: 5, line: 1, headingPath: [], tokenCount: 2)
        let header = headers().header(for: chunk, title: title)
        #expect(title.hasPrefix(header) && !header.isEmpty)
        #expect(counter.tokenCount(header[...]) <= ChunkContext.maxHeaderTokens)
    }
}
