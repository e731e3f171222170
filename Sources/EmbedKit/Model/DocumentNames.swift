/// What a file's name says about whether it is a document: the rule `embed` reads by default.
///
/// Documents are chosen by an allow-list of extensions, because a documentation tree holds many other kinds of
/// file (style sheets, scripts, images, lock files) and a deny-list would miss whichever kind comes next. Files
/// without an extension (README, LICENSE) are documents too when their first bytes are text; the walker looks.
public enum DocumentNames {
    /// Extensions of documents, lower case. reStructuredText, AsciiDoc and Org are read as plain text.
    public static let documentExtensions: Set<String> = [
        "txt", "text", "rst", "rest", "adoc", "asciidoc", "org",
        "md", "markdown", "mdown", "mkd", "mkdn",
        "html", "htm", "xhtml", "xht",
        "xml", "dbk", "docbook",
    ]

    /// Folders never entered by default: dependencies, caches and version-control data, never documentation.
    public static let skippedFolders: Set<String> = [
        "node_modules", "bower_components", "__pycache__", ".git", ".hg", ".svn", ".bzr", ".venv", ".tox",
        ".mypy_cache", ".pytest_cache",
    ]

    /// A folder holding one of these files is a Python virtual environment or a tagged cache folder.
    public static let skippedFolderMarkers: Set<String> = ["pyvenv.cfg", "CACHEDIR.TAG"]

    /// Build files whose names say nothing by extension: source code, not documents.
    public static let sourceFileNames: Set<String> = [
        "Makefile", "makefile", "GNUmakefile", "Dockerfile", "Containerfile", "Jenkinsfile", "Vagrantfile",
        "Gemfile", "Rakefile", "Podfile", "Procfile", "Brewfile", "Justfile", "justfile", "CMakeLists.txt",
    ]

    /// Extensions that Apache's content negotiation appends language and charset tags to.
    static let negotiatedExtensions: Set<String> = ["html", "htm", "xhtml", "xht", "xml"]

    /// The extension that says what a file is, and whether it is gzip-compressed.
    public struct Extension: Equatable, Sendable {
        /// As written in the name (not lower-cased); nil when there is none.
        public var name: String?
        /// The name ended in `.gz`; `name` is then the extension before it.
        public var compressed: Bool
    }

    /// The extension of `fileName` (a name, not a path) that says what the document is: the last one, but looking
    /// past one `.gz` (`notes.md.gz` is Markdown) and past Apache's content-negotiation tags (`index.html.en`,
    /// `index.html.ko.euc-kr`, `index.html.ja.utf8` and `manual.xml.fr` are HTML and XML). Leading dots do not
    /// start an extension (`.bashrc` has none).
    public static func documentExtension(of fileName: String) -> Extension {
        var suffixes = fileName.drop { $0 == "." }.split(separator: ".", omittingEmptySubsequences: false).dropFirst()
        var compressed = false
        if let last = suffixes.last, last.lowercased() == "gz" {
            compressed = true
            suffixes = suffixes.dropLast()
        }
        guard let last = suffixes.last, !last.isEmpty else { return Extension(name: nil, compressed: compressed) }
        if documentExtensions.contains(last.lowercased()) {
            return Extension(name: String(last), compressed: compressed)
        }
        // `tutor.ja.euc`, `tutor.fr.utf-8`, `tutor.ru`: only a language and a charset after the name (vim's tutor
        // files, translated READMEs). Such a name says nothing about the kind of file, so the contents decide.
        if suffixes.count <= 2, suffixes.allSatisfy(isLanguageOrCharsetTag),
            suffixes.count == 2 || !codeBeforeLanguage.contains(last.lowercased())
        {
            return Extension(name: nil, compressed: compressed)
        }
        // `index.html.en`, `index.html.ko.euc-kr`: at most a language and a charset after HTML or XML.
        var tags = 0
        var index = suffixes.endIndex - 1
        while index > suffixes.startIndex, tags < 2, isNegotiationTag(suffixes[index]) {
            tags += 1
            index -= 1
            if negotiatedExtensions.contains(suffixes[index].lowercased()) {
                return Extension(name: String(suffixes[index]), compressed: compressed)
            }
        }
        return Extension(name: String(last), compressed: compressed)
    }

    /// True when `fileName`'s name alone makes it a document: a document extension, possibly before `.gz`.
    /// Nil when the name has no extension: then the contents decide (text is a document).
    public static func isDocument(_ fileName: String) -> Bool? {
        if sourceFileNames.contains(fileName) { return false }
        let ext = documentExtension(of: fileName)
        guard let name = ext.name else {
            // `README.gz` cannot be looked at without inflating it: only documents by extension are let through.
            return ext.compressed ? false : nil
        }
        return documentExtensions.contains(name.lowercased())
    }

    /// Two-letter suffixes that are file extensions in practice, not languages (`foo.xml.in` is a template).
    private static let notLanguages: Set<String> = ["in", "js", "ts", "py", "rb", "sh", "rs", "go", "cc", "xz", "db"]

    private static let charsets: Set<String> = [
        "utf8", "utf-8", "euc-kr", "euc-jp", "iso-2022-jp", "shift_jis", "sjis", "big5", "gb2312", "gbk", "koi8-r",
        "koi8-u",
    ]

    /// Two-letter extensions of source code that are also language codes (Perl and Polish, Emacs Lisp and Greek,
    /// C# and Czech): alone after a name they are taken as code, so `tutor.pl` is skipped but `tutor.pl.utf-8` read.
    private static let codeBeforeLanguage: Set<String> = ["pl", "pm", "el", "cs", "hs", "ml", "mk", "ps", "so", "md"]

    /// A tag that may follow a bare name: a charset (the negotiation ones, plus vim's `euc`, `sjis`, `iso9`), or a
    /// language, also with an underscore region (`zh_tw`), but not a two-letter extension of source code.
    static func isLanguageOrCharsetTag(_ suffix: Substring) -> Bool {
        let tag = suffix.lowercased()
        if ["euc", "sjis", "latin1"].contains(tag) { return true }
        if tag.hasPrefix("iso"), tag.count > 3, tag.dropFirst(3).allSatisfy(\.isASCIIDigit) { return true }
        return isNegotiationTag(Substring(String(tag.map { $0 == "_" ? "-" : $0 })))
    }

    /// The charset a file's name carries after its language, as an Encoding Standard label: `tutor.ja.euc`
    /// (EUC-JP), `tutor.ru.cp1251`, `tutor.tr.iso9` (ISO-8859-9), `index.html.ko.euc-kr`. Nil when the name has
    /// none. Only a hint: a byte-order mark or a declaration inside the file wins (see ``TextDecoder``).
    public static func charsetLabel(inNameOf path: String) -> String? {
        let name = path.split(separator: "/").last ?? ""
        var suffixes = name.drop { $0 == "." }.split(separator: ".").dropFirst().map { $0.lowercased() }
        if suffixes.last == "gz" { suffixes.removeLast() }
        guard let last = suffixes.last else { return nil }
        let language = suffixes.count >= 2 ? String(suffixes[suffixes.count - 2].prefix(2)) : ""
        switch last {
        case "euc": return ["ja": "euc-jp", "ko": "euc-kr", "zh": "gb2312"][language]
        case "sjis": return "shift_jis"
        default:
            if last.hasPrefix("iso"), last.count > 3, last.dropFirst(3).allSatisfy(\.isASCIIDigit) {
                return "iso-8859-" + last.dropFirst(3)
            }
            return isCharsetTag(Substring(last)) ? last : nil
        }
    }

    /// A charset as content-negotiated names carry it (`utf8`, `euc-kr`, `iso-8859-1`, `windows-1251`, `cp1251`).
    static func isCharsetTag(_ tag: Substring) -> Bool {
        if charsets.contains(String(tag)) { return true }
        for prefix in ["iso-8859-", "windows-", "cp"] where tag.hasPrefix(prefix) {
            let number = tag.dropFirst(prefix.count)
            if !number.isEmpty && number.allSatisfy(\.isASCIIDigit) { return true }
        }
        return false
    }

    /// A language tag (`en`, `pt-br`, `zh-cn`) or a charset (`utf8`, `euc-kr`, `iso-8859-1`, `cp1251`), as
    /// Apache's content-negotiated file names carry.
    static func isNegotiationTag(_ suffix: Substring) -> Bool {
        let tag = suffix.lowercased()
        if isCharsetTag(Substring(tag)) { return true }
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts[0].count == 2, parts[0].allSatisfy(\.isASCIILetter),
            !notLanguages.contains(String(parts[0]))
        else { return false }
        return parts.count == 1 || ((2...4).contains(parts[1].count) && parts[1].allSatisfy(\.isASCIILetter))
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
    fileprivate var isASCIILetter: Bool { isASCII && isLetter }
}
