@testable import EmbedKit
import Foundation
import Testing

@Suite("HitLine's JSON")
struct HitLineTests {
    /// A fixed pseudo-random source, so a failure repeats.
    struct Source {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    /// Text with what JSON must escape or pass through: every control character, quotes, backslashes,
    /// slashes, DEL, accents, combining marks, emoji, U+2028, CR LF.
    static let pieces: [String] = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) } + [
        "\"", "\\", "/", "\u{7F}", "é", "e\u{301}", "😀", "\u{2028}", "\r\n", "plain words ", "中文", "'", "<a>",
        "\u{FEFF}", "\\u0041",
    ]

    static func text(_ source: inout Source, length: Int) -> String {
        (0..<source.next(length + 1)).map { _ in pieces[source.next(pieces.count)] }.joined()
    }

    static let floats: [Float] = [
        0, -0.0, 1, -1, 0.5, 0.1, 1e-7, 1.5e20, 123_456_792, 16_777_216, 3.4028235e38, .leastNonzeroMagnitude,
        .nan, .infinity, -.infinity, 0.8123456, -0.033, 2.5e-5,
    ]

    static func hit(_ source: inout Source) -> HitLine {
        func chunk() -> StoredChunk {
            let text = Self.text(&source, length: 40)
            let count = text.unicodeScalars.count
            return StoredChunk(
                id: Int64(source.next(1_000_000)), path: "/docs/" + Self.text(&source, length: 5) + ".md",
                format: DocumentFormat.allCases[source.next(DocumentFormat.allCases.count)],
                title: source.next(2) == 0 ? nil : Self.text(&source, length: 6),
                chunk: Chunk(
                    ordinal: source.next(50), text: text, startOffset: source.next(9_999), endOffset: 10_000 + count,
                    line: source.next(500) + 1, headingPath: (0..<source.next(4)).map { _ in Self.text(&source, length: 4) },
                    tokenCount: count))
        }
        let main = chunk()
        let count = main.text.unicodeScalars.count
        var matches: [Range<Int>] = []
        if count > 2 {
            for _ in 0..<source.next(4) {
                let start = source.next(count - 1)
                matches.append(start..<(start + 1 + source.next(count - start)))
            }
        }
        func place() -> RankingPlace? {
            source.next(3) == 0 ? nil : RankingPlace(rank: source.next(100) + 1, score: floats[source.next(floats.count)])
        }
        let hit = SearchHit(
            rank: source.next(10) + 1, score: floats[source.next(floats.count)], index: "/idx/" + text(&source, length: 3),
            chunk: main, vector: place(), keyword: place(), matches: matches.sorted { $0.lowerBound < $1.lowerBound },
            copies: (0..<source.next(3)).map { _ in HitCopy(index: "/i", chunk: chunk()) })
        return HitLine(query: text(&source, length: 8), hit: hit)
    }

    @Test("is byte for byte what JSONEncoder writes, for 2,000 hits full of characters JSON must escape")
    func sameAsEncoder() {
        var source = Source(state: 42)
        for trial in 0..<2_000 {
            let line = Self.hit(&source)
            let expected = JSONLines.encode(line)
            #expect(line.jsonLine == expected, "hit \(trial)")
            if line.jsonLine != expected { return }
        }
    }

    @Test("floats print as JSONEncoder prints them: shortest form, no trailing .0, non-finite as strings")
    func floats() {
        var json = JSONWriter()
        json.array(Self.floats) { $0.float($1) }
        #expect(json.text == JSONLines.encode(Self.floats))
        #expect(json.text.hasPrefix("[0,-0,1,-1,0.5,0.1,1e-07,"))
    }
}
