@testable import EmbedKit
import Foundation
import Testing

/// The committed fixtures in Fixtures/charsets/ were encoded by Python's codecs (scripts/generate-charset-fixtures.py),
/// not by iconv, so these round trips check iconv's tables and our corrections against an independent encoder.
@Suite("charsets")
struct CharsetTests {
    struct Case: Decodable, CustomTestStringConvertible, Sendable {
        var file: String
        var format: String
        var encoding: String
        var text: String

        var testDescription: String { file }
    }

    static let cases: [Case] = {
        guard let url = Bundle.module.resourceURL?.appendingPathComponent("Fixtures/charsets/manifest.json"),
            let data = try? Data(contentsOf: url),
            let cases = try? JSONDecoder().decode([Case].self, from: data)
        else { return [] }
        return cases
    }()

    static func bytes(_ file: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/charsets/\(file)")
        return try [UInt8](Data(contentsOf: url))
    }

    @Test("the fixture manifest covers every legacy encoding")
    func manifestCoversTheTable() {
        let covered = Set(Self.cases.map(\.encoding))
        let legacy = Charset.table.map(\.0).filter {
            switch $0.decoder {
            case .singleByte, .multiByte: true
            default: false
            }
        }
        #expect(!legacy.isEmpty)
        for charset in legacy {
            #expect(covered.contains(charset.name), "no fixture for \(charset.name)")
        }
    }

    @Test("each fixture decodes to exactly the text it was written from", arguments: cases)
    func roundTrip(_ fixture: Case) throws {
        let format = try #require(DocumentFormat(rawValue: fixture.format))
        let decoded = TextDecoder.decode(try Self.bytes(fixture.file), format: format)
        #expect(decoded.text == fixture.text)
        #expect(decoded.encoding == fixture.encoding)
        #expect(decoded.warnings.isEmpty)
    }

    @Test("HTML and XML fixtures parse to the text in their own script")
    func htmlParses() throws {
        let document = try HTMLDocumentParser().parse(try Self.bytes("euc-kr.html"), path: "euc-kr.html")
        #expect(document.blocks.map(\.text) == ["한국어 텍스트입니다. 안녕하세요, 세계! 똠방각하"])
        let koi8 = try HTMLDocumentParser().parse(try Self.bytes("koi8-r.html"), path: "koi8-r.html")
        #expect(koi8.blocks.first?.text.hasPrefix("Съешь же ещё") == true)
        #expect(koi8.title == "koi8-r")
        // libxml2 gets UTF-8 and ignores the declaration, which still names Shift_JIS.
        let xml = try XMLDocumentParser().parse(try Self.bytes("shift_jis.xml"), path: "shift_jis.xml")
        #expect(xml.blocks.map(\.text).joined().contains("日本語のテキストです。"))
        #expect(xml.warnings.isEmpty)
    }

    @Test("this system's iconv decodes every legacy encoding of the table")
    func iconvHasEveryConverter() {
        for (charset, _) in Charset.table {
            switch charset.decoder {
            case .singleByte, .multiByte:
                #expect(TextDecoder.decodeLegacy(Array("ok".utf8)[...], charset) != nil, "\(charset.name)")
            default:
                break
            }
        }
    }

    @Test("labels are matched without case and surrounding whitespace; every label names one encoding")
    func labels() {
        #expect(Charset(label: " Shift_JIS\t")?.name == "Shift_JIS")
        #expect(Charset(label: "KS_C_5601-1987")?.name == "EUC-KR")
        #expect(Charset(label: "x-x-big5")?.name == "Big5")
        #expect(Charset(label: "latin1")?.name == "windows-1252")
        #expect(Charset(label: "iso-8859-9")?.name == "windows-1254")
        #expect(Charset(label: "tis-620")?.name == "windows-874")
        #expect(Charset(label: "hz-gb-2312")?.name == "replacement")
        #expect(Charset(label: "utf-16")?.name == "UTF-16LE")
        #expect(Charset(label: "utf-7") == nil)
        #expect(Charset(label: "shift_jis ;") == nil)
        let labels = Charset.table.flatMap(\.1)
        #expect(Set(labels).count == labels.count)
        #expect(labels.allSatisfy { $0 == $0.lowercased() })
        for label in labels { #expect(Charset(label: label.uppercased()) != nil, "\(label)") }
    }

    @Test("where glibc's tables differ from the standard's, the standard wins")
    func corrections() throws {
        func decode(_ label: String, _ bytes: [UInt8]) -> TextDecoder.Decoded {
            TextDecoder.decode(Array("<meta charset=\(label)>".utf8) + bytes, format: .html)
        }
        // KOI8-U's Belarusian ў/Ў; Mac OS Roman's ∆ and Apple logo; Mac Cyrillic's €.
        #expect(decode("koi8-u", [0xAE, 0xBE]).text.hasSuffix("ўЎ"))
        #expect(decode("macintosh", [0xC6, 0xF0, 0xDB]).text.hasSuffix("\u{2206}\u{F8FF}€"))
        #expect(decode("x-mac-cyrillic", [0xFF]).text.hasSuffix("€"))
        // Undefined bytes 0x80-0x9F of Windows code pages are C1 controls; undefined bytes above are U+FFFD.
        let greek = decode("windows-1253", [0x81, 0xE1, 0xAA])
        #expect(greek.text.hasSuffix("\u{81}α\u{FFFD}"))
        #expect(greek.warnings == [#"1 byte sequence is not valid windows-1253 (declared "windows-1253"); replaced with U+FFFD"#])
        // A lone 0x80 is € in GBK and GB18030, U+0080 in Shift_JIS.
        #expect(decode("gbk", [0x80, 0xC4, 0xE3]).text.hasSuffix("€你"))
        #expect(decode("shift_jis", [0x80]).text.hasSuffix("\u{80}"))
        // Half-width katakana after ESC ( I, which glibc's plain ISO-2022-JP refuses.
        #expect(decode("iso-2022-jp", [0x1B, 0x28, 0x49, 0x31, 0x1B, 0x28, 0x42]).text.hasSuffix("ｱ"))
        // Big5's Hong Kong supplement, including a pointer that is two code points.
        #expect(decode("big5", [0x88, 0x62]).text.hasSuffix("\u{CA}\u{304}"))
        // Windows-1258 keeps a letter and its tone mark apart (glibc's converter would compose them).
        #expect(decode("windows-1258", [0x61, 0xEC]).text.hasSuffix("a\u{301}"))
    }

    @Test("HTML's readings of UTF-16 and x-user-defined declarations; XML's own")
    func declarationsHTMLReadsDifferently() {
        let utf8 = Array("<meta charset=utf-16le><p>日本</p>".utf8)
        let html = TextDecoder.decode(utf8, format: .html)
        #expect(html.text.hasSuffix("<p>日本</p>"))
        #expect(html.encoding == "UTF-8")
        let userDefined = Array("<meta charset=x-user-defined>".utf8) + [0x80, 0xE9]
        #expect(TextDecoder.decode(userDefined, format: .html).text.hasSuffix("€é"))
        let xml = Array("<?xml version='1.0' encoding='x-user-defined'?><a>".utf8) + [0x80, 0xE9]
        let decoded = TextDecoder.decode(xml, format: .xml)
        #expect(decoded.text.hasSuffix("<a>\u{F780}\u{F7E9}"))
        #expect(decoded.encoding == "x-user-defined")
    }

    @Test("the replacement encoding gives one U+FFFD and a warning")
    func replacement() {
        let bytes = Array("<meta charset=iso-2022-kr><p>".utf8) + [0x1B, 0x24, 0x29, 0x43, 0x0E, 0x30, 0x21, 0x0F]
        let decoded = TextDecoder.decode(bytes, format: .html)
        #expect(decoded.text == "\u{FFFD}")
        #expect(decoded.encoding == "replacement")
        #expect(decoded.warnings.count == 1)
    }

    @Test("invalid sequences become U+FFFD with one warning; a declaration most bytes contradict is dropped")
    func invalidSequences() throws {
        var few = try Self.bytes("euc-kr.html")
        let paragraph = try #require(few.lastIndex(of: UInt8(ascii: "!")))  // after 세계
        few.insert(contentsOf: [0xFF, 0xC7], at: paragraph)  // an invalid byte, and a lead byte cut short by "!"
        let decoded = TextDecoder.decode(few, format: .html)
        #expect(decoded.text.contains("세계\u{FFFD}\u{FFFD}! 똠방각하"))
        #expect(decoded.encoding == "EUC-KR")
        #expect(decoded.warnings == [#"2 byte sequences are not valid EUC-KR (declared "euc-kr"); replaced with U+FFFD"#])

        // Windows-1252 text declared as Shift_JIS: most of its accented letters are not valid lead bytes there.
        let latin = Array("<meta charset=shift_jis><p>".utf8) + Array(repeating: [0xE9, 0x20, 0xFD, 0x20], count: 8).flatMap { $0 }
        let fallback = TextDecoder.decode(latin, format: .html)
        #expect(fallback.encoding == "windows-1252")
        #expect(fallback.text.hasSuffix("é ý "))
        #expect(fallback.warnings.count == 1)
        #expect(fallback.warnings.first?.contains("decoded as Windows-1252 instead") == true)

        // Truncated in the middle of a character: one U+FFFD at the end, never a crash.
        let cut = Array("<meta charset=gb18030>".utf8) + [0xC4, 0xE3, 0x81, 0x30]
        #expect(TextDecoder.decode(cut, format: .html).text.hasSuffix("你\u{FFFD}"))
    }

    @Test("a declared legacy charset whose bytes are UTF-8 is read as UTF-8, with a warning")
    func utf8UnderLegacyLabel() {
        let bytes = Array("<meta charset=euc-jp><p>日本語</p>".utf8)
        let decoded = TextDecoder.decode(bytes, format: .html)
        #expect(decoded.text.hasSuffix("<p>日本語</p>"))
        #expect(decoded.encoding == "UTF-8")
        #expect(decoded.warnings == [#"charset "euc-jp" declared but the bytes are UTF-8; decoded as UTF-8"#])
    }
}

@Suite("Charsets named in file names")
struct FileNameCharsetTests {
    @Test(
        "the charset after a file's language is read from its name",
        arguments: [
            ("tutor.ja.euc", "euc-jp"), ("tutor.ko.euc", "euc-kr"), ("tutor.zh.euc", "gb2312"), ("tutor.ja.sjis", "shift_jis"),
            ("tutor.ru.cp1251", "cp1251"), ("tutor.tr.iso9", "iso-8859-9"), ("tutor.zh.big5", "big5"),
            ("index.html.ko.euc-kr", "euc-kr"), ("notes.txt.koi8-r.gz", "koi8-r"), ("docs/tutor.fr.utf-8", "utf-8"),
        ])
    func labels(name: String, label: String) {
        #expect(DocumentNames.charsetLabel(inNameOf: name) == label)
    }

    @Test("names without a charset give none", arguments: ["tutor", "tutor.ja", "notes.txt", "tutor.xx.euc", "a.cp"])
    func none(name: String) {
        #expect(DocumentNames.charsetLabel(inNameOf: name) == nil)
    }

    @Test("plain text in the charset its name gives decodes exactly; a declaration or UTF-8 bytes win")
    func decoding() throws {
        let eucJP: [UInt8] = [0xC6, 0xFC, 0xCB, 0xDC, 0xB8, 0xEC, 0xA4, 0xCE, 0xA5, 0xC6, 0xA5, 0xAD, 0xA5, 0xB9, 0xA5, 0xC8]
        let text = try PlainTextDocumentParser().parse(eucJP, path: "/docs/tutor.ja.euc")
        #expect(text.text == "日本語のテキスト")
        #expect(text.warnings.isEmpty)
        let cp1251: [UInt8] = [0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2, 0x2C, 0x20, 0xEC, 0xE8, 0xF0]
        #expect(try PlainTextDocumentParser().parse(cp1251, path: "tutor.ru.cp1251").text == "Привет, мир")
        let iso9: [UInt8] = [0x54, 0xFC, 0x72, 0x6B, 0xE7, 0x65, 0x20, 0xF0, 0xFD, 0xFE]
        #expect(try PlainTextDocumentParser().parse(iso9, path: "tutor.tr.iso9").text == "Türkçe ğış")
        // Bytes that are UTF-8 stay UTF-8 whatever the name says.
        #expect(try PlainTextDocumentParser().parse(Array("Grüße".utf8), path: "tutor.de.cp1252").text == "Grüße")
        // A charset the Encoding Standard does not name (vim's Greek cp737) is not guessed at.
        #expect(try PlainTextDocumentParser().parse([0x41, 0xE9], path: "tutor.el.cp737").text == "Aé")
        // Inside HTML, the page's own declaration wins over its name.
        let page = Array("<meta charset=windows-1251><p>".utf8) + cp1251
        #expect(try HTMLDocumentParser().parse(page, path: "index.html.ja.euc-jp").text == "Привет, мир")
    }
}
