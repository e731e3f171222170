import EmbedKit
import Foundation
import Testing

@Suite("WordlessText")
struct WordlessTextTests {
    @Test(
        "tables of numbers, rules, hex dumps and addresses have no words",
        arguments: [
            "1\t5\t1\n92\t1\t1\n262\t1\t1\n556\t1\t1\n1004\t1\t1",  // CISI's citation blocks
            "------------+-----------+---------\n 1 | (1,65535) | 40 | f | (p)=(\"(185,185),(1,1)\")",
            "\\x00000400ffff28000000000000c0844000000000 00c084400000000000307f40",
            "192.168.100.128/25 192.168.100.128/25\n\n192.168/24 192.168.0.0/24 192.168.0/24",
            "1 | L1 | 1 | 2 | 3 | C1\n2 | L2 | 11 | 22 | 33 | C1\n(2 rows)",
            "=== * * * ===",
        ])
    func wordless(_ text: String) {
        #expect(WordlessText.isWordless(text), "share \(WordlessText.wordShare(text))")
    }

    @Test(
        "prose, identifiers, column names and other scripts have words",
        arguments: [
            "The present study is a history of the Dewey Decimal Classification.",
            "keyid | parent_keyid | level | pos\n-------+--------------+-------+-----\n row2 | | 0 | 1",
            "to_char(485, 'FM999MI') '485'",
            "wrd3n1 wrd3n2 wrd3n3 utf8 int4 float8",
            "東京は日本の首都です。",
            "Ελληνικά κείμενα",
        ])
    func withWords(_ text: String) {
        #expect(!WordlessText.isWordless(text), "share \(WordlessText.wordShare(text))")
    }

    @Test("the share counts letters of words over characters that are not white space")
    func share() {
        #expect(WordlessText.wordShare("ab 12") == 0.5)
        #expect(WordlessText.wordShare("ab12 cd") == 4.0 / 6)  // an identifier with digits is named by its letters
        #expect(WordlessText.wordShare("a1 b2") == 0)  // one letter is not a word
        #expect(WordlessText.wordShare("   ") == 1)
        #expect(!WordlessText.isWordless(""))
    }

    @Test("the chunker marks chunks without words unembedded only when the recipe says so")
    func chunkerMarks() {
        let doc = ParsedDocument(format: .text, blocks: [
            .init(kind: .heading(level: 1), text: "Citations", line: 1),
            .init(kind: .paragraph, text: "1 5 1\n92 1 1\n262 1 1", line: 2),
            .init(kind: .heading(level: 1), text: "Abstract", line: 5),
            .init(kind: .paragraph, text: "The study of the classification.", line: 6),
        ])
        func marks(embedding: Bool) -> [Bool] {
            TextChunker(
                configuration: .init(maxTokens: 50, overlapTokens: 0, embedsWordlessChunks: embedding),
                tokenCounter: EstimatedTokenCounter()
            ).chunks(for: doc).map(\.isEmbedded)
        }
        // "Citations" is a word of 9 letters among 9 + 12 characters: 43%, so the first chunk has words.
        #expect(marks(embedding: false) == [true, true])
        let numbers = ParsedDocument(format: .text, blocks: [.init(kind: .paragraph, text: "1 5 1\n92 1 1", line: 1)])
        let chunker = TextChunker(
            configuration: .init(maxTokens: 50, overlapTokens: 0, embedsWordlessChunks: false),
            tokenCounter: EstimatedTokenCounter())
        #expect(chunker.chunks(for: numbers).map(\.isEmbedded) == [false])
        let old = TextChunker(
            configuration: .init(maxTokens: 50, overlapTokens: 0, embedsWordlessChunks: true),
            tokenCounter: EstimatedTokenCounter())
        #expect(old.chunks(for: numbers).map(\.isEmbedded) == [true])
        #expect(marks(embedding: true) == [true, true])
    }

    @Test("a recipe recorded before these settings existed reads as the old behaviour")
    func olderRecipe() throws {
        let json = #"{"maxTokens":200,"overlapTokens":32}"#
        let configuration = try JSONDecoder().decode(TextChunker.Configuration.self, from: Data(json.utf8))
        #expect(!configuration.joinsWrappedLines)
        #expect(configuration.embedsWordlessChunks)
        #expect(configuration != TextChunker.Configuration())
    }
}
