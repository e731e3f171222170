/// An encoding of the WHATWG Encoding Standard, found from any of its labels, with how this system decodes it.
///
/// Every label of every encoding the standard names is here. Legacy encodings are decoded by glibc's iconv under
/// the name in ``Decoder``; where glibc's table differs from the standard's index, the standard wins (see
/// ``Decoder/overrides`` and `docs/decisions.md`).
struct Charset: Sendable, Equatable {
    /// How the bytes are turned into text.
    enum Decoder: Sendable, Equatable {
        case utf8
        /// UTF-16 without a byte-order mark (HTML reads these declarations as UTF-8, see ``TextDecoder``).
        case utf16(bigEndian: Bool)
        /// ISO-2022-KR, ISO-2022-CN(-EXT) and HZ: the standard decodes any non-empty input to one U+FFFD, since
        /// their escape sequences can hide markup from ASCII-based checks.
        case replacement
        /// Bytes 0x80-0xFF become U+F780-U+F7FF (private use).
        case userDefined
        /// One byte, one character: a 128-entry table built from iconv, then `overrides` applied.
        /// `controlsForUndefined`: Windows code pages read their undefined 0x80-0x9F bytes as the C1 control with
        /// that number (the standard's indexes do, glibc rejects them).
        case singleByte(iconv: String, overrides: [UInt8: UInt32], controlsForUndefined: Bool)
        /// Multi-byte, streamed through iconv. `extraBytes`: single bytes the standard decodes that glibc rejects.
        case multiByte(iconv: String, extraBytes: [UInt8: UInt32])
    }

    /// The standard's name, e.g. `"EUC-KR"`, `"windows-1251"`.
    var name: String
    var decoder: Decoder

    /// The encoding for `label` (case and surrounding ASCII whitespace ignored), or nil when no encoding has it.
    init?(label: String) {
        var trimmed = Substring(label)
        while let c = trimmed.first, Self.isLabelSpace(c) { trimmed = trimmed.dropFirst() }
        while let c = trimmed.last, Self.isLabelSpace(c) { trimmed = trimmed.dropLast() }
        guard let found = Self.byLabel[trimmed.lowercased()] else { return nil }
        self = found
    }

    init(name: String, decoder: Decoder) {
        self.name = name
        self.decoder = decoder
    }

    private static func isLabelSpace(_ c: Character) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0C}"
    }

    var isUTF8: Bool { decoder == .utf8 }

    static let utf8 = Charset(name: "UTF-8", decoder: .utf8)
    static let windows1252 = Charset(
        name: "windows-1252", decoder: .singleByte(iconv: "CP1252", overrides: [:], controlsForUndefined: true))

    private static func single(
        _ name: String, _ iconv: String, overrides: [UInt8: UInt32] = [:], windows: Bool = false
    ) -> Charset {
        Charset(name: name, decoder: .singleByte(iconv: iconv, overrides: overrides, controlsForUndefined: windows))
    }

    private static func windows(_ number: Int) -> Charset {
        single("windows-\(number)", "CP\(number)", windows: true)
    }

    /// Every encoding with all its labels, in the standard's order.
    static let table: [(Charset, [String])] = [
        (utf8, ["unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"]),
        (single("IBM866", "IBM866"), ["866", "cp866", "csibm866", "ibm866"]),
        (single("ISO-8859-2", "ISO-8859-2"), [
            "csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592", "iso_8859-2", "iso_8859-2:1987",
            "l2", "latin2",
        ]),
        (single("ISO-8859-3", "ISO-8859-3"), [
            "csisolatin3", "iso-8859-3", "iso-ir-109", "iso8859-3", "iso88593", "iso_8859-3", "iso_8859-3:1988",
            "l3", "latin3",
        ]),
        (single("ISO-8859-4", "ISO-8859-4"), [
            "csisolatin4", "iso-8859-4", "iso-ir-110", "iso8859-4", "iso88594", "iso_8859-4", "iso_8859-4:1988",
            "l4", "latin4",
        ]),
        (single("ISO-8859-5", "ISO-8859-5"), [
            "csisolatincyrillic", "cyrillic", "iso-8859-5", "iso-ir-144", "iso8859-5", "iso88595", "iso_8859-5",
            "iso_8859-5:1988",
        ]),
        (single("ISO-8859-6", "ISO-8859-6"), [
            "arabic", "asmo-708", "csiso88596e", "csiso88596i", "csisolatinarabic", "ecma-114", "iso-8859-6",
            "iso-8859-6-e", "iso-8859-6-i", "iso-ir-127", "iso8859-6", "iso88596", "iso_8859-6", "iso_8859-6:1987",
        ]),
        (single("ISO-8859-7", "ISO-8859-7"), [
            "csisolatingreek", "ecma-118", "elot_928", "greek", "greek8", "iso-8859-7", "iso-ir-126", "iso8859-7",
            "iso88597", "iso_8859-7", "iso_8859-7:1987", "sun_eu_greek",
        ]),
        (single("ISO-8859-8", "ISO-8859-8"), [
            "csiso88598e", "csisolatinhebrew", "hebrew", "iso-8859-8", "iso-8859-8-e", "iso-ir-138", "iso8859-8",
            "iso88598", "iso_8859-8", "iso_8859-8:1988", "visual",
        ]),
        // Logical order: the same bytes and characters as ISO-8859-8 (only the display direction differs).
        (single("ISO-8859-8-I", "ISO-8859-8"), ["csiso88598i", "iso-8859-8-i", "logical"]),
        (single("ISO-8859-10", "ISO-8859-10"), [
            "csisolatin6", "iso-8859-10", "iso-ir-157", "iso8859-10", "iso885910", "l6", "latin6",
        ]),
        (single("ISO-8859-13", "ISO-8859-13"), ["iso-8859-13", "iso8859-13", "iso885913"]),
        (single("ISO-8859-14", "ISO-8859-14"), ["iso-8859-14", "iso8859-14", "iso885914"]),
        (single("ISO-8859-15", "ISO-8859-15"), [
            "csisolatin9", "iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15", "l9",
        ]),
        (single("ISO-8859-16", "ISO-8859-16"), ["iso-8859-16"]),
        (single("KOI8-R", "KOI8-R"), ["cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"]),
        // The standard's KOI8-U has the Belarusian ў/Ў at 0xAE/0xBE, where glibc's (RFC 2319) has box drawings.
        (single("KOI8-U", "KOI8-U", overrides: [0xAE: 0x045E, 0xBE: 0x040E]), ["koi8-ru", "koi8-u"]),
        // glibc has Δ (U+0394) and a private code point at 0xC6 and 0xF0; the standard has ∆ and Apple's logo.
        (single("macintosh", "MACINTOSH", overrides: [0xC6: 0x2206, 0xF0: 0xF8FF]), [
            "csmacintosh", "mac", "macintosh", "x-mac-roman",
        ]),
        (windows(874), ["dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874"]),
        (windows(1250), ["cp1250", "windows-1250", "x-cp1250"]),
        (windows(1251), ["cp1251", "windows-1251", "x-cp1251"]),
        (windows1252, [
            "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100",
            "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252",
            "x-cp1252",
        ]),
        (windows(1253), ["cp1253", "windows-1253", "x-cp1253"]),
        (windows(1254), [
            "cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "iso88599", "iso_8859-9",
            "iso_8859-9:1989", "l5", "latin5", "windows-1254", "x-cp1254",
        ]),
        (windows(1255), ["cp1255", "windows-1255", "x-cp1255"]),
        (windows(1256), ["cp1256", "windows-1256", "x-cp1256"]),
        (windows(1257), ["cp1257", "windows-1257", "x-cp1257"]),
        (windows(1258), ["cp1258", "windows-1258", "x-cp1258"]),
        // The current Mac OS Cyrillic (Ukrainian letters at 0xA2/0xB6, € at 0xFF); glibc still has ¤ at 0xFF.
        (single("x-mac-cyrillic", "MAC-CYRILLIC", overrides: [0xFF: 0x20AC]), ["x-mac-cyrillic", "x-mac-ukrainian"]),
        // GBK is decoded by the GB18030 decoder in the standard, and both read a lone 0x80 as €.
        (Charset(name: "GBK", decoder: .multiByte(iconv: "GB18030", extraBytes: [0x80: 0x20AC])), [
            "chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk", "iso-ir-58", "x-gbk",
        ]),
        (Charset(name: "gb18030", decoder: .multiByte(iconv: "GB18030", extraBytes: [0x80: 0x20AC])), ["gb18030"]),
        // The standard's Big5 is Big5 with the Hong Kong supplement, as glibc's BIG5-HKSCS.
        (Charset(name: "Big5", decoder: .multiByte(iconv: "BIG5-HKSCS", extraBytes: [:])), [
            "big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5",
        ]),
        // EUC-JP-MS: JIS X 0208 with the NEC and IBM rows the standard's index has (circled numbers…).
        (Charset(name: "EUC-JP", decoder: .multiByte(iconv: "EUC-JP-MS", extraBytes: [:])), [
            "cseucpkdfmtjapanese", "euc-jp", "x-euc-jp",
        ]),
        // ISO-2022-JP-2 because glibc's ISO-2022-JP refuses the half-width katakana escape (ESC ( I) the standard
        // allows; the extra escapes it accepts only decode more.
        (Charset(name: "ISO-2022-JP", decoder: .multiByte(iconv: "ISO-2022-JP-2", extraBytes: [:])), [
            "csiso2022jp", "iso-2022-jp",
        ]),
        // CP932 (Windows-31J) keeps 0x5C and 0x7E as ASCII, as the standard does; glibc's SJIS makes them ¥ and ‾.
        (Charset(name: "Shift_JIS", decoder: .multiByte(iconv: "CP932", extraBytes: [0x80: 0x80])), [
            "csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j", "x-sjis",
        ]),
        // The standard's EUC-KR is Microsoft's superset (UHC, code page 949), which has all 11,172 hangul.
        (Charset(name: "EUC-KR", decoder: .multiByte(iconv: "UHC", extraBytes: [:])), [
            "cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987", "ks_c_5601-1989",
            "ksc5601", "ksc_5601", "windows-949",
        ]),
        (Charset(name: "replacement", decoder: .replacement), [
            "csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr", "replacement",
        ]),
        (Charset(name: "UTF-16BE", decoder: .utf16(bigEndian: true)), ["unicodefffe", "utf-16be"]),
        (Charset(name: "UTF-16LE", decoder: .utf16(bigEndian: false)), [
            "csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le",
        ]),
        (Charset(name: "x-user-defined", decoder: .userDefined), ["x-user-defined"]),
    ]

    private static let byLabel: [String: Charset] = {
        var map: [String: Charset] = [:]
        for (charset, labels) in table {
            for label in labels {
                precondition(map.updateValue(charset, forKey: label) == nil, "label \(label) listed twice")
            }
        }
        return map
    }()
}
