import EmbedKit
@testable import EmbedKitBERT
import Foundation
import Testing

@Suite("WordPiece tokenizer")
struct WordPieceTokenizerTests {
    /// A tiny vocabulary: ids are line numbers.
    static let vocabulary: [Substring] = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "hello", "world", "!", ",", "cafe",
        "我", "爱", "$", "a", "##a", "+",
    ]

    func tokenizer() throws -> WordPieceTokenizer {
        try WordPieceTokenizer(vocabularyLines: Self.vocabulary)
    }

    func tokens(_ text: String) throws -> [String] {
        let tokenizer = try tokenizer()
        return tokenizer.tokenIDs(text).map { tokenizer.token(for: $0) ?? "?" }
    }

    @Test("splits words into the longest vocabulary pieces with ## continuations")
    func continuations() throws {
        #expect(try tokens("unaffable") == ["un", "##aff", "##able"])
        #expect(try tokens("aaa") == ["a", "##a", "##a"])
    }

    @Test("a word that cannot be covered becomes one [UNK]")
    func unknownWord() throws {
        #expect(try tokens("hello unxyz world") == ["hello", "[UNK]", "world"])
    }

    @Test("a word longer than 100 characters becomes [UNK], 100 characters do not")
    func longWord() throws {
        #expect(try tokens(String(repeating: "a", count: 101)) == ["[UNK]"])
        #expect(try tokens(String(repeating: "a", count: 100)).count == 100)
    }

    @Test("lower-cases, strips accents and splits off punctuation including ASCII symbols")
    func normalization() throws {
        #expect(try tokens("HELLO, Café!") == ["hello", ",", "cafe", "!"])
        #expect(try tokens("a+$a") == ["a", "+", "$", "a"])
        #expect(WordPieceTokenizer.words("Ça^va`") == ["ca", "^", "va", "`"])
    }

    @Test("removes control and format characters and treats other whitespace as spaces")
    func cleanUp() throws {
        #expect(WordPieceTokenizer.words("he\u{0}l\u{200B}l\u{AD}o\u{FFFD}\u{200D}!") == ["hello", "!"])
        #expect(WordPieceTokenizer.words("a\tb\nc\u{3000}d\u{A0}e\r\nf") == ["a", "b", "c", "d", "e", "f"])
        #expect(try tokens("").isEmpty)
        #expect(try tokens(" \t\n").isEmpty)
    }

    @Test("splits CJK ideographs one per word")
    func cjk() throws {
        #expect(try tokens("我爱hello") == ["我", "爱", "hello"])
        // A compatibility ideograph becomes its canonical equivalent (U+F900 → U+8C48).
        #expect(WordPieceTokenizer.words("\u{F900}") == ["\u{8C48}"])
    }

    @Test("encode adds [CLS] and [SEP] and truncates to the maximum length")
    func encode() throws {
        let tokenizer = try tokenizer()
        #expect(tokenizer.encode("hello world", maxLength: 256) == [2, 7, 8, 3])
        #expect(tokenizer.encode("", maxLength: 256) == [2, 3])
        #expect(tokenizer.encode("hello world hello", maxLength: 4) == [2, 7, 8, 3])
    }

    @Test("token counts exclude special tokens and add up across whitespace")
    func counts() throws {
        let tokenizer = try tokenizer()
        let parts = ["unaffable", "hello,", "我爱", "xyz", "Café!"]
        let sum = parts.reduce(0) { $0 + tokenizer.tokenCount(Substring($1)) }
        #expect(tokenizer.tokenCount(Substring(parts.joined(separator: " \n"))) == sum)
        #expect(tokenizer.tokenCount("unaffable") == 3)
    }

    /// Found by the tokenizer fuzzer (fuzz/regressions/tokenizer): BERT deletes the controls VT, FF and NEL,
    /// joining the words around them, while the chunker split there, so a chunk could hold one token more than
    /// it counted.
    @Test("chunks sized with the tokenizer fit it when counted again, across form feeds and NEL")
    func chunksFitAcrossDeletedControls() throws {
        let tokenizer = try tokenizer()
        let text = "un\u{0C}affable hello un\u{0B}aff\u{85}able world"
        let document = ParsedDocument(format: .text, blocks: [.init(kind: .paragraph, text: text, line: 1)])
        let chunker = TextChunker(configuration: .init(maxTokens: 2, overlapTokens: 0), tokenCounter: tokenizer)
        let chunks = chunker.chunks(for: document)
        #expect(!chunks.isEmpty)
        for chunk in chunks {
            #expect(tokenizer.tokenCount(chunk.text[...]) <= 2, "\(chunk.text.debugDescription)")
        }
    }

    @Test("a vocabulary without special tokens is rejected")
    func missingSpecialToken() {
        #expect(throws: BertError.self) { try WordPieceTokenizer(vocabularyLines: ["[PAD]", "hello"]) }
    }

    // MARK: - Parity with the Hugging Face tokenizer (needs the model's vocab.txt)

    @Test(
        "token ids equal the Hugging Face tokenizer's for every reference text",
        .enabled(if: ReferenceFixture.isModelAvailable, "model not fetched: run scripts/fetch-model.sh")
    )
    func parity() throws {
        let directory = try #require(ReferenceFixture.modelDirectory)
        let tokenizer = try WordPieceTokenizer(vocabularyFile: directory.appendingPathComponent("vocab.txt"))
        let cases = try ReferenceFixture.cases()
        #expect(cases.count >= 30)
        for (file, index, reference) in cases {
            #expect(
                tokenizer.encode(reference.text, maxLength: 256) == reference.ids, "\(file) case \(index)")
            #expect(tokenizer.tokenCount(Substring(reference.text)) == reference.tokenCount, "\(file) case \(index)")
        }
    }

    /// Compares the words of every Unicode code point with the Python library's, from the file
    /// `scripts/make-reference-embeddings.py --codepoints FILE` writes (20 MB, so not committed).
    @Test(
        "every code point normalizes and splits as in the Hugging Face tokenizer",
        .enabled(
            if: ProcessInfo.processInfo.environment["EMBED_BERT_CODEPOINTS"] != nil,
            "set EMBED_BERT_CODEPOINTS to a file made by make-reference-embeddings.py --codepoints")
    )
    func everyCodePoint() throws {
        let path = try #require(ProcessInfo.processInfo.environment["EMBED_BERT_CODEPOINTS"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var mismatches: [String] = []
        var lines = 0
        for line in text.split(separator: "\n") {
            lines += 1
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            let scalar = try #require(UInt32(fields[0], radix: 16).flatMap(Unicode.Scalar.init))
            let words = WordPieceTokenizer.words(String(Character(scalar))).map { word in
                word.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: ".")
            }
            if words.joined(separator: " ") != fields[1] { mismatches.append(String(fields[0])) }
        }
        #expect(lines == 0x110000 - 0x800)
        #expect(mismatches.isEmpty, "code points that differ: \(mismatches.prefix(20))")
    }
}
