internal import Foundation

/// Decodes the bytes of a file into UTF-8 text.
///
/// The encoding is chosen in this order:
/// 1. a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) — it always wins;
/// 2. for HTML and XML, the charset the document declares (`<meta charset>`, `http-equiv` content type,
///    or the XML declaration's `encoding`), looked for in the first 4 KB. Any label of the WHATWG Encoding
///    Standard is understood (see ``Charset``), with HTML's readings: ISO-8859-1 and US-ASCII are Windows-1252,
///    a declared UTF-16 is UTF-8, ISO-2022-KR/CN and HZ give no text. Legacy charsets go through iconv;
/// 3. UTF-8 when the bytes are valid UTF-8;
/// 4. Windows-1252, which decodes every byte (the five bytes it leaves undefined become their C1 code points).
///
/// A declaration that lies is overridden, with a warning: it declares UTF-8 but the bytes are not; it declares
/// a legacy charset but the non-ASCII bytes are valid UTF-8; or more than a tenth of the non-ASCII sequences
/// are invalid in it (then Windows-1252). A few invalid sequences become U+FFFD, with one warning.
/// The result has `\n` line ends (CRLF and CR are normalized) and no U+0000 (libxml2 stops at NUL).
public enum TextDecoder: Sendable {
    /// Decoded text as UTF-8 bytes, with the encoding used and any problems met.
    public struct Decoded: Sendable, Equatable {
        /// Valid UTF-8, `\n` line ends, no NUL.
        public var utf8: [UInt8]
        /// The name of the encoding the bytes were decoded with, e.g. `"UTF-8"`, `"windows-1252"`.
        public var encoding: String
        /// Recoverable problems, e.g. a charset declaration that did not match the bytes.
        public var warnings: [String]

        /// The decoded text.
        public var text: String { String(decoding: utf8, as: UTF8.self) }
    }

    /// Decodes `bytes`, honouring charset declarations when `format` is `.html` or `.xml`, and else the charset
    /// that `path`'s name carries (`tutor.ja.euc`) when the bytes are not UTF-8.
    public static func decode(_ bytes: [UInt8], format: DocumentFormat, path: String? = nil) -> Decoded {
        var warnings: [String] = []
        var (utf8, encoding) = decodeToUTF8(bytes, format: format, path: path, warnings: &warnings)
        normalize(&utf8, warnings: &warnings)
        return Decoded(utf8: utf8, encoding: encoding, warnings: warnings)
    }

    // MARK: - Byte-order marks

    enum ByteOrderMark: Equatable {
        case utf8, utf16LE, utf16BE, utf32LE, utf32BE

        var length: Int {
            switch self {
            case .utf8: 3
            case .utf16LE, .utf16BE: 2
            case .utf32LE, .utf32BE: 4
            }
        }
    }

    static func byteOrderMark(_ b: [UInt8]) -> ByteOrderMark? {
        if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { return .utf8 }
        if b.count >= 4, b[0] == 0xFF, b[1] == 0xFE, b[2] == 0, b[3] == 0 { return .utf32LE }
        if b.count >= 4, b[0] == 0, b[1] == 0, b[2] == 0xFE, b[3] == 0xFF { return .utf32BE }
        if b.count >= 2, b[0] == 0xFF, b[1] == 0xFE { return .utf16LE }
        if b.count >= 2, b[0] == 0xFE, b[1] == 0xFF { return .utf16BE }
        return nil
    }

    /// Up to `limit` characters from the start of `bytes` as ASCII bytes (non-ASCII becomes `0x80`),
    /// reading UTF-16/32 when a byte-order mark says so. Used for sniffing and charset declarations.
    static func asciiPrefix(_ bytes: [UInt8], limit: Int) -> [UInt8] {
        let bom = byteOrderMark(bytes)
        let start = bom?.length ?? 0
        let width: Int
        let bigEndian: Bool
        switch bom {
        case .utf16LE: (width, bigEndian) = (2, false)
        case .utf16BE: (width, bigEndian) = (2, true)
        case .utf32LE: (width, bigEndian) = (4, false)
        case .utf32BE: (width, bigEndian) = (4, true)
        case .utf8, nil: (width, bigEndian) = (1, false)
        }
        var out: [UInt8] = []
        out.reserveCapacity(min(limit, bytes.count))
        var i = start
        while i + width <= bytes.count, out.count < limit {
            var value: UInt32 = 0
            for k in 0..<width {
                let byte = UInt32(bytes[bigEndian ? i + k : i + width - 1 - k])
                value = value << 8 | byte
            }
            out.append(value < 0x80 ? UInt8(value) : 0x80)
            i += width
        }
        return out
    }

    // MARK: - Decoding

    private static func decodeToUTF8(
        _ bytes: [UInt8], format: DocumentFormat, path: String?, warnings: inout [String]
    ) -> ([UInt8], String) {
        if let bom = byteOrderMark(bytes) {
            let body = bytes[bom.length...]
            switch bom {
            case .utf8: return (decodeUTF8OrFallback(body, declared: nil, warnings: &warnings))
            case .utf16LE: return (decodeUTF16(body, bigEndian: false, warnings: &warnings), "UTF-16LE")
            case .utf16BE: return (decodeUTF16(body, bigEndian: true, warnings: &warnings), "UTF-16BE")
            case .utf32LE: return (decodeUTF32(body, bigEndian: false, warnings: &warnings), "UTF-32LE")
            case .utf32BE: return (decodeUTF32(body, bigEndian: true, warnings: &warnings), "UTF-32BE")
            }
        }
        let all = bytes[...]
        guard format == .html || format == .xml, let declared = declaredCharset(bytes, format: format) else {
            // vim's tutor files and translated READMEs say their charset only in their name.
            if let label = path.flatMap(DocumentNames.charsetLabel(inNameOf:)), Charset(label: label) != nil,
                String(validating: all, as: UTF8.self) == nil
            {
                return decode(all, declaredCharset: label, format: format, warnings: &warnings)
            }
            return decodeUTF8OrFallback(all, declared: nil, warnings: &warnings)
        }
        return decode(all, declaredCharset: declared, format: format, warnings: &warnings)
    }

    /// Decodes `bytes` as the document declares, following HTML's rules for the label (see ``Charset``).
    private static func decode(
        _ bytes: ArraySlice<UInt8>, declaredCharset declared: String, format: DocumentFormat,
        warnings: inout [String]
    ) -> ([UInt8], String) {
        guard var charset = Charset(label: declared) else {
            warnings.append("unknown charset \"\(declared)\" declared; decoded as UTF-8 or Windows-1252 instead")
            return decodeUTF8OrFallback(bytes, declared: nil, warnings: &warnings)
        }
        switch charset.decoder {
        case .utf8:
            return decodeUTF8OrFallback(bytes, declared: declared, warnings: &warnings)
        case .utf16:
            // No byte-order mark. HTML says to read such documents as UTF-8 (a declaration in ASCII can't be
            // UTF-16); in XML, guess the byte order from where the NUL bytes are.
            if format == .xml, bytes.count >= 2, bytes.first == 0 || bytes.dropFirst().first == 0 {
                let bigEndian = bytes.first == 0
                return (decodeUTF16(bytes, bigEndian: bigEndian, warnings: &warnings), bigEndian ? "UTF-16BE" : "UTF-16LE")
            }
            return decodeUTF8OrFallback(bytes, declared: nil, warnings: &warnings)
        case .replacement:
            // The Encoding Standard's answer for ISO-2022-KR/CN and HZ: no text at all, as a browser shows it.
            warnings.append(
                "charset \"\(declared)\" is one the Encoding Standard does not decode (it can hide markup); "
                    + "the text was replaced by one U+FFFD")
            return (bytes.isEmpty ? [] : [0xEF, 0xBF, 0xBD], "replacement")
        case .userDefined where format == .html:
            // HTML's prescan turns a declared x-user-defined into windows-1252.
            charset = .windows1252
        case .singleByte where format == .xml && latin1Labels.contains(declared.lowercased()):
            // In XML, ISO-8859-1 means ISO-8859-1; only HTML reads it as Windows-1252.
            if !isASCII(bytes), String(validating: bytes, as: UTF8.self) != nil {
                warnings.append("charset \"\(declared)\" declared but the bytes are UTF-8; decoded as UTF-8")
                return (Array(bytes), "UTF-8")
            }
            return (decodeLatin1(bytes), "ISO-8859-1")
        default:
            break
        }
        if !isASCII(bytes), String(validating: bytes, as: UTF8.self) != nil {
            warnings.append("charset \"\(declared)\" declared but the bytes are UTF-8; decoded as UTF-8")
            return (Array(bytes), "UTF-8")
        }
        guard let result = decodeLegacy(bytes, charset) else {
            warnings.append(
                "charset \"\(declared)\" declared but this system's iconv cannot decode \(charset.name); "
                    + "decoded as Windows-1252 instead")
            return (decodeSingleByte(bytes, high: windows1252High), "windows-1252")
        }
        if result.replaced > 0 {
            // A declaration that most non-ASCII bytes contradict is wrong: Windows-1252 at least keeps every byte.
            let sequences = result.replaced + result.nonASCII
            if result.replaced >= 4 && result.replaced * 10 > sequences {
                warnings.append(
                    "charset \"\(declared)\" declared but \(result.replaced) of \(sequences) non-ASCII sequences "
                        + "are not valid \(charset.name); decoded as Windows-1252 instead")
                return (decodeSingleByte(bytes, high: windows1252High), "windows-1252")
            }
            warnings.append(
                "\(result.replaced) byte sequence\(result.replaced == 1 ? " is" : "s are") not valid \(charset.name) "
                    + "(declared \"\(declared)\"); replaced with U+FFFD")
        }
        return (result.utf8, charset.name)
    }

    /// Labels that mean ISO-8859-1 outside HTML.
    private static let latin1Labels: Set<String> = [
        "iso-8859-1", "iso8859-1", "iso88591", "latin1", "l1", "iso_8859-1", "iso_8859-1:1987", "cp819", "ibm819",
        "iso-ir-100", "csisolatin1",
    ]

    /// Decodes with a single-byte table or iconv; nil when iconv lacks the converter.
    static func decodeLegacy(_ bytes: ArraySlice<UInt8>, _ charset: Charset) -> IconvConversion.Result? {
        switch charset.decoder {
        case .singleByte:
            guard let table = singleByteTable(charset) else { return nil }
            return IconvConversion.decodeSingleByte(bytes, table: table)
        case .multiByte(let name, let extraBytes):
            return IconvConversion.decodeMultiByte(bytes, iconvName: name, extraBytes: extraBytes)
        case .userDefined:
            return IconvConversion.decodeSingleByte(bytes, table: (0xF780...0xF7FF).map { UInt32($0) })
        case .utf8, .utf16, .replacement:
            return nil
        }
    }

    /// The table for bytes 0x80-0xFF of a single-byte charset: iconv's, then the Encoding Standard's corrections.
    static func singleByteTable(_ charset: Charset) -> [UInt32]? {
        guard case .singleByte(let name, let overrides, let controlsForUndefined) = charset.decoder else { return nil }
        if charset == .windows1252 { return windows1252High }
        guard var table = IconvConversion.singleByteTable(name) else { return nil }
        if controlsForUndefined {
            for byte in 0x80...0x9F where table[byte - 0x80] == IconvConversion.undefined {
                table[byte - 0x80] = UInt32(byte)
            }
        }
        for (byte, scalar) in overrides { table[Int(byte) - 0x80] = scalar }
        return table
    }

    private static func decodeUTF8OrFallback(
        _ bytes: ArraySlice<UInt8>, declared: String?, warnings: inout [String]
    ) -> ([UInt8], String) {
        if String(validating: bytes, as: UTF8.self) != nil {
            return (Array(bytes), "UTF-8")
        }
        if let declared {
            warnings.append("charset \"\(declared)\" declared but the bytes are not valid UTF-8; decoded as Windows-1252")
        } else {
            warnings.append("not valid UTF-8; decoded as Windows-1252")
        }
        return (decodeSingleByte(bytes, high: windows1252High), "windows-1252")
    }

    private static func isASCII(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            var combined: UInt8 = 0
            for byte in buffer { combined |= byte }
            return combined < 0x80
        }
    }

    private static func decodeUTF16(_ bytes: ArraySlice<UInt8>, bigEndian: Bool, warnings: inout [String]) -> [UInt8] {
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var i = bytes.startIndex
        while i + 1 < bytes.endIndex {
            let a = UInt16(bytes[i]), b = UInt16(bytes[i + 1])
            units.append(bigEndian ? a << 8 | b : b << 8 | a)
            i += 2
        }
        if bytes.count % 2 != 0 {
            warnings.append("UTF-16 text has an odd number of bytes; the last byte was ignored")
        }
        if let string = String(validating: units, as: UTF16.self) { return Array(string.utf8) }
        warnings.append("invalid UTF-16 (unpaired surrogates) replaced with U+FFFD")
        return Array(String(decoding: units, as: UTF16.self).utf8)
    }

    private static func decodeUTF32(_ bytes: ArraySlice<UInt8>, bigEndian: Bool, warnings: inout [String]) -> [UInt8] {
        var units: [UInt32] = []
        units.reserveCapacity(bytes.count / 4)
        var i = bytes.startIndex
        while i + 3 < bytes.endIndex {
            var value: UInt32 = 0
            for k in 0..<4 { value = value << 8 | UInt32(bytes[bigEndian ? i + k : i + 3 - k]) }
            units.append(value)
            i += 4
        }
        if bytes.count % 4 != 0 {
            warnings.append("UTF-32 text has a byte count that is not a multiple of 4; the last bytes were ignored")
        }
        if let string = String(validating: units, as: UTF32.self) { return Array(string.utf8) }
        warnings.append("invalid UTF-32 code points replaced with U+FFFD")
        return Array(String(decoding: units, as: UTF32.self).utf8)
    }

    /// Appends the UTF-8 encoding of `scalar` (which must be below U+10000) to `out`.
    @inline(__always)
    private static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        if scalar < 0x80 {
            out.append(UInt8(scalar))
        } else if scalar < 0x800 {
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        } else {
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Decodes a single-byte charset: ASCII below 0x80, `high[byte - 0x80]` above.
    private static func decodeSingleByte(_ bytes: ArraySlice<UInt8>, high: [UInt32]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 8)
        for byte in bytes {
            if byte < 0x80 { out.append(byte) } else { appendUTF8(high[Int(byte) - 0x80], to: &out) }
        }
        return out
    }

    private static func decodeLatin1(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 8)
        for byte in bytes { appendUTF8(UInt32(byte), to: &out) }
        return out
    }

    /// Windows-1252 for 0x80...0xFF. The undefined 0x81, 0x8D, 0x8F, 0x90, 0x9D map to the C1 controls.
    static let windows1252High: [UInt32] = {
        let c1: [UInt32] = [
            0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
            0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
            0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
            0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
        ]
        return c1 + (0xA0...0xFF).map { UInt32($0) }
    }()

    // MARK: - Declarations

    /// The charset declared in the first 4 KB: the XML declaration's `encoding`, or for HTML a `<meta charset>`
    /// or `<meta http-equiv="content-type" content="…; charset=…">`.
    static func declaredCharset(_ bytes: [UInt8], format: DocumentFormat) -> String? {
        let head = asciiPrefix(bytes, limit: 4096).map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        var index = 0
        while index < head.count, isSpace(head[index]) { index += 1 }
        if head[index...].starts(with: Array("<?xml".utf8)) {
            let end = head[index...].firstIndex(of: UInt8(ascii: ">")) ?? head.count
            if let value = attributeValue(named: "encoding", in: head[index..<end]) {
                return value
            }
        }
        guard format == .html else { return nil }
        var search = 0
        let meta = Array("<meta".utf8)
        while let start = find(meta, in: head, from: search) {
            let end = head[start...].firstIndex(of: UInt8(ascii: ">")) ?? head.count
            let tag = head[start..<end]
            if let value = attributeValue(named: "charset", in: tag) { return value }
            search = end
        }
        return nil
    }

    /// The value after `name=` in `tag` (quoted or not), stopping at a quote, space, `;` or `>`.
    private static func attributeValue(named name: String, in tag: ArraySlice<UInt8>) -> String? {
        guard var i = find(Array((name + "=").utf8), in: Array(tag), from: 0).map({ tag.startIndex + $0 }) else {
            return nil
        }
        // Accept `charset=` both as an attribute and inside a content="text/html; charset=…" value.
        i += name.utf8.count + 1
        while i < tag.endIndex, tag[i] == UInt8(ascii: "\"") || tag[i] == UInt8(ascii: "'") || isSpace(tag[i]) {
            i += 1
        }
        var value: [UInt8] = []
        while i < tag.endIndex {
            let c = tag[i]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") || c == UInt8(ascii: ";") || c == UInt8(ascii: "/")
                || isSpace(c) || c >= 0x80
            {
                break
            }
            value.append(c)
            i += 1
        }
        return value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0], haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C
    }

    // MARK: - Normalization

    /// Turns CRLF and CR into LF and removes NUL bytes (with a warning), in place.
    private static func normalize(_ utf8: inout [UInt8], warnings: inout [String]) {
        let needsWork = utf8.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return false }
            return memchr(base, 0x0D, raw.count) != nil || memchr(base, 0, raw.count) != nil
        }
        guard needsWork else { return }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var sawNUL = false
        var i = 0
        let n = utf8.count
        while i < n {
            let c = utf8[i]
            if c == 0x0D {
                out.append(0x0A)
                if i + 1 < n, utf8[i + 1] == 0x0A { i += 1 }
            } else if c == 0 {
                sawNUL = true
            } else {
                out.append(c)
            }
            i += 1
        }
        if sawNUL { warnings.append("NUL characters (U+0000) removed") }
        utf8 = out
    }
}
