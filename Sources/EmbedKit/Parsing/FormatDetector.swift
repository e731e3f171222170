/// Decides what a file is: its ``DocumentFormat`` from the extension or, failing that, from its first bytes;
/// and whether it is binary (not text at all).
public enum FormatDetector: Sendable {
    /// How many leading bytes are looked at for NUL bytes.
    public static let binaryProbeLength = 8192

    /// The format for `path` and `bytes`: from the file extension when it is known, else sniffed.
    /// `NAME.EXT.gz` has the format of `NAME.EXT` (its `bytes` are the decompressed ones, see ``Gzip``).
    public static func format(path: String, bytes: [UInt8]) -> DocumentFormat {
        if let ext = fileExtension(of: path), let format = DocumentFormat(fileExtension: ext) {
            return format
        }
        return sniff(bytes)
    }

    /// The extension that names the format of the last path component (`"HTML"` for `docs/a.b/page.HTML`), looking
    /// past `.gz` and Apache's language and charset tags (`index.html.en` gives `"html"`); nil for none or a dot
    /// file such as `.bashrc`. See ``DocumentNames/documentExtension(of:)``.
    static func fileExtension(of path: String) -> String? {
        let name = path.split(separator: "/", omittingEmptySubsequences: true).last ?? ""
        return DocumentNames.documentExtension(of: String(name)).name
    }

    /// The format that the start of `bytes` suggests. Conservative: anything not clearly markup or a
    /// Markdown document is `.text`.
    ///
    /// - `<?xml` is XML, unless an `<html` element or the XHTML namespace follows (then HTML);
    /// - `<!DOCTYPE html`, `<html`, `<head` or `<body` near the start is HTML; another `<!DOCTYPE` is XML;
    /// - a first non-blank line that is an ATX heading (`# Title`), then a blank line, then a line that does not
    ///   start with `#`, is Markdown (configuration files start with `# comment` lines too).
    public static func sniff(_ bytes: [UInt8]) -> DocumentFormat {
        let head = TextDecoder.asciiPrefix(bytes, limit: 1024).map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        guard let first = head.firstIndex(where: { !TextDecoder.isSpace($0) }) else { return .text }
        let body = head[first...]
        func has(_ s: String) -> Bool { contains(Array(s.utf8), in: body) }
        let looksHTML = has("<html") || has("<!doctype html") || has("<head>") || has("<body")
            || has("http://www.w3.org/1999/xhtml")
        if body.starts(with: Array("<?xml".utf8)) { return looksHTML ? .html : .xml }
        if body.first == UInt8(ascii: "<"), looksHTML { return .html }
        if body.starts(with: Array("<!doctype".utf8)) { return .xml }
        // An ATX heading: 1-6 '#' then a space.
        var hashes = 0
        var i = body.startIndex
        while i < body.endIndex, body[i] == UInt8(ascii: "#") {
            hashes += 1
            i += 1
        }
        guard (1...6).contains(hashes), i < body.endIndex, body[i] == 0x20 else { return .text }
        // Configuration files start with "# comment" lines too: also require a blank line after the heading,
        // then text that is not another '#' line.
        let lines = body[i...].split(separator: 0x0A, omittingEmptySubsequences: false).dropFirst()
        guard let blank = lines.first, blank.allSatisfy({ $0 == 0x20 || $0 == 0x09 }),
            let following = lines.dropFirst().first(where: { !$0.allSatisfy { $0 == 0x20 || $0 == 0x09 } }),
            following.first(where: { $0 != 0x20 }) != UInt8(ascii: "#")
        else { return .text }
        return .markdown
    }

    /// Throws ``ParsingError/Code/binary`` when `bytes` start with a known binary signature or have NUL bytes
    /// in the first ``binaryProbeLength`` bytes (UTF-16 and UTF-32 with a byte-order mark are text).
    public static func checkText(_ bytes: [UInt8]) throws(ParsingError) {
        if let kind = binarySignature(bytes) {
            throw ParsingError(.binary, "binary file (\(kind)), skipped")
        }
        switch TextDecoder.byteOrderMark(bytes) {
        case .utf16LE, .utf16BE, .utf32LE, .utf32BE: return
        case .utf8, nil: break
        }
        if bytes.prefix(binaryProbeLength).contains(0) {
            throw ParsingError(.binary, "binary file (NUL bytes in the first \(binaryProbeLength) bytes), skipped")
        }
    }

    private static let signatures: [(magic: [UInt8], kind: String)] = [
        ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG image"),
        ([0xFF, 0xD8, 0xFF], "JPEG image"),
        (Array("GIF87a".utf8), "GIF image"),
        (Array("GIF89a".utf8), "GIF image"),
        (Array("%PDF-".utf8), "PDF document"),
        ([0x50, 0x4B, 0x03, 0x04], "ZIP archive"),
        ([0x50, 0x4B, 0x05, 0x06], "ZIP archive"),
        ([0x7F, 0x45, 0x4C, 0x46], "ELF executable"),
        ([0x1F, 0x8B], "gzip archive"),
    ]

    /// A description of the binary format `bytes` start with, if any.
    static func binarySignature(_ bytes: [UInt8]) -> String? {
        signatures.first { bytes.starts(with: $0.magic) }?.kind
    }

    private static func contains(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return false }
        var i = haystack.startIndex
        let last = haystack.endIndex - needle.count
        while i <= last {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}

extension DocumentFormat {
    /// The format of the file at `path` with contents `bytes`: from the extension when known, else sniffed.
    /// See ``FormatDetector``.
    public static func detect(path: String, bytes: [UInt8]) -> DocumentFormat {
        FormatDetector.format(path: path, bytes: bytes)
    }
}
