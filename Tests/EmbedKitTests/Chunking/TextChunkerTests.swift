import EmbedKit
import Foundation
import Testing

@Suite("TextChunker")
struct TextChunkerTests {
    let counter = EstimatedTokenCounter()

    func chunker(max: Int, overlap: Int = 0) -> TextChunker {
        TextChunker(configuration: .init(maxTokens: max, overlapTokens: overlap), tokenCounter: counter)
    }

    func document(_ blocks: [ParsedDocument.Block]) -> ParsedDocument {
        ParsedDocument(format: .markdown, blocks: blocks)
    }

    /// Every chunk is the slice of the document text its offsets name.
    func expectSlices(_ chunks: [Chunk], of doc: ParsedDocument) {
        let scalars = Array(doc.text.unicodeScalars)
        for chunk in chunks {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[chunk.startOffset..<chunk.endOffset])
            #expect(String(view) == chunk.text)
        }
    }

    @Test("an empty document gives no chunks")
    func empty() {
        #expect(chunker(max: 50).chunks(for: document([])).isEmpty)
        #expect(chunker(max: 50).chunks(for: document([.init(kind: .paragraph, text: "", line: 1)])).isEmpty)
    }

    @Test("small paragraphs are packed together; a heading starts a new chunk with its path")
    func headings() {
        let doc = document([
            .init(kind: .heading(level: 1), text: "Guide", line: 1),
            .init(kind: .paragraph, text: "Alpha beta gamma.", line: 3),
            .init(kind: .paragraph, text: "Delta epsilon.", line: 5),
            .init(kind: .heading(level: 2), text: "Install", line: 7),
            .init(kind: .paragraph, text: "Run the installer.", line: 9),
            .init(kind: .heading(level: 2), text: "Use", line: 11),
            .init(kind: .heading(level: 3), text: "Query", line: 13),
            .init(kind: .paragraph, text: "Ask a question.", line: 15),
        ])
        let chunks = chunker(max: 100).chunks(for: doc)
        #expect(chunks.map(\.text) == [
            "Guide\n\nAlpha beta gamma.\n\nDelta epsilon.",
            "Install\n\nRun the installer.",
            "Use\n\nQuery\n\nAsk a question.",
        ])
        #expect(chunks.map(\.headingPath) == [["Guide"], ["Guide", "Install"], ["Guide", "Use", "Query"]])
        #expect(chunks.map(\.line) == [1, 7, 11])
        #expect(chunks.map(\.ordinal) == [0, 1, 2])
        expectSlices(chunks, of: doc)
    }

    @Test("a long paragraph is split at sentences, with overlap, never over the limit")
    func sentences() {
        let sentences = (1...30).map { "Sentence number \($0) talks about topic \($0)." }
        let doc = document([.init(kind: .paragraph, text: sentences.joined(separator: " "), line: 4)])
        let chunks = chunker(max: 40, overlap: 10).chunks(for: doc)
        #expect(chunks.count > 3)
        for chunk in chunks {
            #expect(chunk.tokenCount <= 40)
            #expect(counter.tokenCount(Substring(chunk.text)) == chunk.tokenCount)
            #expect(chunk.text.hasPrefix("Sentence number"))
            #expect(chunk.text.hasSuffix("."))
        }
        // Consecutive chunks overlap: each starts before the previous one ends.
        for (a, b) in zip(chunks, chunks.dropFirst()) {
            #expect(b.startOffset < a.endOffset)
            #expect(b.startOffset > a.startOffset)
        }
        // Nothing is lost: the chunks cover the whole text.
        #expect(chunks.first?.startOffset == 0)
        #expect(chunks.last?.endOffset == doc.text.unicodeScalars.count)
        expectSlices(chunks, of: doc)
    }

    @Test("line numbers follow newlines inside a block")
    func lines() {
        let text = (1...12).map { "line \($0) has several words in it" }.joined(separator: "\n")
        let doc = document([.init(kind: .paragraph, text: text, line: 10)])
        let chunks = chunker(max: 20).chunks(for: doc)
        #expect(chunks.count > 1)
        for chunk in chunks {
            let number = Int(chunk.text.split(separator: " ")[1])!
            #expect(chunk.line == 9 + number)
        }
    }

    @Test("a word longer than the limit is cut into pieces that fit")
    func longWord() {
        let word = String(repeating: "abcdefghij", count: 200)
        let doc = document([.init(kind: .paragraph, text: "start " + word + " end", line: 1)])
        let chunks = chunker(max: 16).chunks(for: doc)
        #expect(chunks.allSatisfy { $0.tokenCount <= 16 })
        #expect(chunks.map(\.text).joined().replacingOccurrences(of: " ", with: "") == "start" + word + "end")
        expectSlices(chunks, of: doc)
    }

    @Test("offsets count Unicode scalars, so non-ASCII text slices correctly")
    func unicode() {
        let doc = document([
            .init(kind: .heading(level: 1), text: "Café ☕ 茶の湯", line: 1),
            .init(kind: .paragraph, text: (1...20).map { "Émile drank 抹茶 number \($0)." }.joined(separator: " "), line: 3),
        ])
        let chunks = chunker(max: 30, overlap: 8).chunks(for: doc)
        #expect(chunks.count > 2)
        expectSlices(chunks, of: doc)
    }

    @Test("the same input always gives the same chunks")
    func deterministic() {
        let doc = document((0..<50).map { .init(kind: $0 % 7 == 0 ? .heading(level: 1 + $0 % 3) : .paragraph,
                                                 text: "Block \($0). " + String(repeating: "word\($0) ", count: $0), line: $0 + 1) })
        let a = chunker(max: 64, overlap: 16).chunks(for: doc)
        let b = chunker(max: 64, overlap: 16).chunks(for: doc)
        #expect(a == b)
        #expect(a.allSatisfy { $0.tokenCount <= 64 })
        expectSlices(a, of: doc)
    }

    @Test("the estimated counter is additive across whitespace")
    func additive() {
        let a = "The quick-brown fox, jumping over 12 lazy dogs!"
        let b = "Ünïcödé wörds and 漢字 too."
        #expect(counter.tokenCount(Substring(a + " " + b)) == counter.tokenCount(Substring(a)) + counter.tokenCount(Substring(b)))
        #expect(counter.tokenCount("") == 0)
        #expect(counter.tokenCount("   ") == 0)
    }
}
