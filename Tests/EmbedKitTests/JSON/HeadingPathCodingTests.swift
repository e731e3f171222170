@testable import EmbedKit
import Foundation
import Testing

@Suite("Stored heading paths")
struct HeadingPathCodingTests {
    @Test("read back as written, for headings with quotes, commas, backslashes, accents and empty ones")
    func roundTrip() {
        var source = HitLineTests.Source(state: 7)
        let pieces = ["a", "Intro", ",", "\",\"", "\"", "\\", "é", "e\u{301}", "\u{301}", "", " ", "😀", "\n", "[", "]"]
        for trial in 0..<3_000 {
            let path = (0..<source.next(5)).map { _ in (0..<source.next(4)).map { _ in pieces[source.next(pieces.count)] }.joined() }
            let stored = IndexFile.encodeHeadingPath(path)
            #expect(IndexFile.decodeHeadingPath(stored) == path, "trial \(trial): \(stored)")
        }
    }

    @Test("damaged or foreign JSON reads as JSONDecoder reads it, or as no path")
    func foreign() {
        for json in ["[\"a\" , \"b\"]", "[\"a\",\"b\"", "[\"a\"]x", "", "null", "[\"a\\\"b\"]", "[1]", "[\"a\",\"\"]", "[\"]"] {
            let expected = (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
            #expect(IndexFile.decodeHeadingPath(json) == expected, "\(json)")
        }
    }
}
