import EmbedKit
import Testing

@Suite("TextDecoder")
struct TextDecoderTests {
    @Test("UTF-8 with and without a byte-order mark decodes unchanged")
    func utf8() {
        let plain = TextDecoder.decode(Array("héllo ☺".utf8), format: .text)
        #expect(plain.text == "héllo ☺")
        #expect(plain.encoding == "UTF-8")
        #expect(plain.warnings.isEmpty)
        let bom = TextDecoder.decode([0xEF, 0xBB, 0xBF] + Array("héllo".utf8), format: .text)
        #expect(bom.text == "héllo")
    }

    @Test("invalid UTF-8 falls back to Windows-1252 with a warning, undefined bytes kept as C1")
    func windows1252Fallback() {
        let decoded = TextDecoder.decode([0x93, 0x61, 0x94, 0x20, 0x80, 0x81, 0xE9], format: .text)
        #expect(decoded.text == "\u{201C}a\u{201D} €\u{81}é")
        #expect(decoded.encoding == "windows-1252")
        #expect(decoded.warnings == ["not valid UTF-8; decoded as Windows-1252"])
    }

    @Test("UTF-16 LE and BE and UTF-32 with a byte-order mark")
    func utf16() {
        let text = "Grüße ☺ 𝄞\nline"
        let le: [UInt8] = [0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let be: [UInt8] = [0xFE, 0xFF] + text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        let le32: [UInt8] = [0xFF, 0xFE, 0, 0] + text.unicodeScalars.flatMap { s in
            (0..<4).map { UInt8((s.value >> (8 * $0)) & 0xFF) }
        }
        #expect(TextDecoder.decode(le, format: .text).text == text)
        #expect(TextDecoder.decode(be, format: .text).text == text)
        #expect(TextDecoder.decode(le32, format: .text).text == text)
        #expect(TextDecoder.decode(be, format: .text).encoding == "UTF-16BE")
    }

    @Test("declared legacy charsets decode é, for HTML meta and XML declarations")
    func declaredCharsets() {
        let html = Array("<html><head><meta charset=\"ISO-8859-1\"></head><body>caf".utf8) + [0xE9] + Array("</body>".utf8)
        #expect(TextDecoder.decode(html, format: .html).text.contains("café"))
        let equiv = Array("<meta http-equiv='Content-Type' content='text/html; charset=iso-8859-15'>".utf8) + [0xA4]
        #expect(TextDecoder.decode(equiv, format: .html).text.hasSuffix("€"))
        let xml = Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf".utf8) + [0xE9, 0x85] + Array("</a>".utf8)
        let decoded = TextDecoder.decode(xml, format: .xml)
        #expect(decoded.text.contains("café\u{85}"))
        #expect(decoded.encoding == "ISO-8859-1")
        #expect(decoded.warnings.isEmpty)
    }

    @Test("a charset declaration that lies falls back with a warning and drops nothing")
    func lyingCharset() {
        let bytes = Array("<meta charset=\"utf-8\"><p>".utf8) + [0x93, 0x71, 0x94]
        let decoded = TextDecoder.decode(bytes, format: .html)
        #expect(decoded.text.hasSuffix("<p>\u{201C}q\u{201D}"))
        #expect(decoded.warnings == ["charset \"utf-8\" declared but the bytes are not valid UTF-8; decoded as Windows-1252"])
        let latin = Array("<?xml version='1.0' encoding='latin1'?><a>é</a>".utf8)
        let utf8 = TextDecoder.decode(latin, format: .xml)
        #expect(utf8.text.contains("<a>é</a>"))
        #expect(utf8.encoding == "UTF-8")
    }

    @Test("another declared charset goes through iconv; an unknown one falls back with warnings")
    func foundationCharset() {
        // "Привет" in Windows-1251.
        let cp1251 = Array("<meta charset=windows-1251>".utf8) + [0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2]
        let decoded = TextDecoder.decode(cp1251, format: .html)
        #expect(decoded.text.hasSuffix("Привет"))
        #expect(decoded.warnings.isEmpty)
        let unknown = TextDecoder.decode(Array("<?xml version='1.0' encoding='x-nope'?><a>".utf8) + [0xE9], format: .xml)
        #expect(unknown.text.hasSuffix("<a>é"))
        #expect(unknown.warnings == [
            "unknown charset \"x-nope\" declared; decoded as UTF-8 or Windows-1252 instead",
            "not valid UTF-8; decoded as Windows-1252",
        ])
    }

    @Test("line ends are normalized and NUL characters removed with a warning")
    func normalization() {
        let decoded = TextDecoder.decode(Array("a\r\nb\rc\n\0d".utf8), format: .text)
        #expect(decoded.text == "a\nb\nc\nd")
        #expect(decoded.warnings == ["NUL characters (U+0000) removed"])
    }
}
