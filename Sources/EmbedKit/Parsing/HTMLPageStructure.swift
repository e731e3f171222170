/// What an HTML element's attributes say about its place on the page: page chrome to leave out, the container
/// of the page's content, a table of contents (see D39 to D41 in docs/decisions.md).
///
/// Every list here is short and explicit; matching works on libxml2's UTF-8 bytes, allocating nothing.
struct HTMLElementTraits: OptionSet {
    let rawValue: UInt16

    /// `hidden` (not `until-found`), `aria-hidden="true"`, or an inline `display:none` / `visibility:hidden`.
    static let hidden = Self(rawValue: 1 << 0)
    /// A chrome role (`navigation`, `banner`, `contentinfo`, `complementary`, `search`) or a chrome class or id.
    static let chrome = Self(rawValue: 1 << 1)
    /// `role="main"`, a content id or `itemprop="articleBody"`.
    static let content = Self(rawValue: 1 << 2)
    /// A table of contents (`class="toc"`, `id="toc"`, `role="doc-toc"`, …).
    static let toc = Self(rawValue: 1 << 3)
    /// A class that only permalink anchors carry (`headerlink`, `hash-link`, …).
    static let permalinkClass = Self(rawValue: 1 << 4)
    /// An `href` that starts with `#`: a place on this page.
    static let inPageLink = Self(rawValue: 1 << 5)
    /// An `href` that leads elsewhere (another page, maybe with a fragment).
    static let otherPageLink = Self(rawValue: 1 << 6)
    /// `role="button"`: a control, whatever the element.
    static let button = Self(rawValue: 1 << 7)
}

enum HTMLPageStructure {
    /// Landmark roles of page furniture.
    static let chromeRoles: [StaticString] = ["navigation", "banner", "contentinfo", "complementary", "search"]
    /// Ids of the content container of generators that mark it no other way: Node's API docs, Apache's manual.
    static let contentIDs: [StaticString] = ["apicontent", "page-content"]
    /// Chrome that generators mark only by class: DocBook's navigation tables, Sphinx's sidebar (older themes
    /// give it no role), Apache's language lists, Javadoc 8's navigation bars.
    static let chromeClasses: [StaticString] = [
        "navheader", "navfooter", "sphinxsidebar", "toplang", "bottomlang", "topNav", "subNav", "bottomNav",
    ]
    /// Apache's per-page sidebar.
    static let chromeIDs: [StaticString] = ["quickview"]
    /// Tables of contents: DocBook (and its lists of tables, figures, examples), Docusaurus, Node, Sphinx's
    /// toctree; and back-of-book indexes: Sphinx's genindex table and DocBook's index divisions.
    static let tocClasses: [StaticString] = [
        "toc", "table-of-contents", "list-of-tables", "list-of-figures", "list-of-examples", "toctree-wrapper",
        "indextable", "genindextable", "genindex-jumpbox", "indexdiv",
    ]
    /// `toc`, and Apache's index of directives.
    static let tocIDs: [StaticString] = ["toc", "directive-list"]
    /// Permalink anchors: Sphinx and Python-Markdown (MkDocs), Docusaurus, Apache and Jekyll, AnchorJS,
    /// markdown-it-anchor (VitePress).
    static let permalinkClasses: [StaticString] = [
        "headerlink", "hash-link", "permalink", "anchorjs-link", "header-anchor",
    ]

    /// The words of the lists above by a hash of their lowercased bytes, with the traits each gives: one
    /// lookup per class token instead of a comparison with every word.
    static let classTable = table([(chromeClasses, .chrome), (tocClasses, .toc), (permalinkClasses, .permalinkClass)])
    static let idTable = table([(contentIDs, .content), (chromeIDs, .chrome), (tocIDs, .toc)])
    static let roleTable = table([
        (chromeRoles, .chrome), (["main"], .content), (["doc-toc"], .toc),
        (["button"], .button),
    ])

    /// A word and what it says (a struct, not a tuple: tuples cost a metadata lookup per use in debug builds).
    struct Word {
        var bytes: [UInt8]
        var traits: HTMLElementTraits
    }

    struct WordTable {
        var words: [UInt64: Word] = [:]
        /// The words' lengths, and their first and last letters (lowercase, as bits of `c & 63`): most class
        /// tokens (syntax highlighting puts one on every span) fail these before any hashing.
        var lengths: UInt32 = 0
        var firsts: UInt64 = 0
        var lasts: UInt64 = 0

        func mayHold(_ s: UnsafePointer<UInt8>, _ count: Int) -> Bool {
            guard count > 0, count < 32, lengths & (1 << UInt32(count)) != 0 else { return false }
            let first = Bytes.lowercased(s[0])
            let last = Bytes.lowercased(s[count - 1])
            guard first >= 0x40, first < 0x80, last >= 0x40, last < 0x80 else { return false }
            return firsts & (1 << UInt64(first & 63)) != 0 && lasts & (1 << UInt64(last & 63)) != 0
        }
    }

    static func table(_ lists: [([StaticString], HTMLElementTraits)]) -> WordTable {
        var table = WordTable()
        for (words, traits) in lists {
            for word in words {
                let bytes = word.withUTF8Buffer { Array($0) }
                let key = bytes.withUnsafeBufferPointer { Bytes.hash($0.baseAddress!, $0.count) }
                precondition(
                    table.words[key] == nil || table.words[key]!.bytes == bytes, "hash collision in the word lists")
                table.words[key, default: Word(bytes: bytes, traits: [])].traits.formUnion(traits)
                let first = Bytes.lowercased(bytes[0])
                let last = Bytes.lowercased(bytes[bytes.count - 1])
                precondition(bytes.count < 32 && first >= 0x40 && first < 0x80 && last >= 0x40 && last < 0x80)
                table.lengths |= 1 << UInt32(bytes.count)
                table.firsts |= 1 << UInt64(first & 63)
                table.lasts |= 1 << UInt64(last & 63)
            }
        }
        return table
    }

    /// The traits `table` gives the `count` bytes at `s` (ASCII case ignored).
    static func lookUp(_ s: UnsafePointer<UInt8>, _ count: Int, in table: WordTable) -> HTMLElementTraits {
        guard table.mayHold(s, count), let entry = table.words[Bytes.hash(s, count)], entry.bytes.count == count
        else {
            return []
        }
        return entry.bytes.withUnsafeBufferPointer { word in
            var i = 0
            while i < count {
                if Bytes.lowercased(s[i]) != Bytes.lowercased(word[i]) { return [] }
                i += 1
            }
            return entry.traits
        }
    }

    /// The traits given by `element`'s attributes. `scratch` is reused memory for the `style` value.
    static func traits(of element: Node, scratch: inout [UInt8]) -> HTMLElementTraits {
        var traits: HTMLElementTraits = []
        element.forEachAttribute { name, value in
            switch name[0] | 0x20 {
            case UInt8(ascii: "a"):
                if Bytes.equals(name, "aria-hidden"), let value, Bytes.equals(value, "true") { traits.insert(.hidden) }
            case UInt8(ascii: "c"):
                guard Bytes.equals(name, "class"), let value else { return }
                Bytes.forEachToken(value) { token, count in traits.formUnion(lookUp(token, count, in: classTable)) }
            case UInt8(ascii: "h"):
                if Bytes.equals(name, "href"), let value {
                    traits.insert(value[0] == UInt8(ascii: "#") ? .inPageLink : .otherPageLink)
                } else if Bytes.equals(name, "hidden") {
                    // `until-found` content is found by the browser's page search: a reader can get to it.
                    if value.map({ !Bytes.equals($0, "until-found") }) ?? true { traits.insert(.hidden) }
                }
            case UInt8(ascii: "i"):
                guard let value else { return }
                if Bytes.equals(name, "id") {
                    traits.formUnion(lookUp(value, Bytes.length(value), in: idTable))
                } else if Bytes.equals(name, "itemprop") {
                    Bytes.forEachToken(value) { token, count in
                        if Bytes.equals(token, count, "articleBody") { traits.insert(.content) }
                    }
                }
            case UInt8(ascii: "r"):
                // The first token is the role (later ones are fallbacks for older readers).
                guard Bytes.equals(name, "role"), let value, let first = Bytes.firstToken(value) else { return }
                traits.formUnion(lookUp(first.0, first.1, in: roleTable))
            case UInt8(ascii: "s"):
                if Bytes.equals(name, "style"), let value, hidesElement(style: value, scratch: &scratch) {
                    traits.insert(.hidden)
                }
            default: break
            }
        }
        return traits
    }

    /// True when an inline style says `display:none` or `visibility:hidden` (spaces and case ignored).
    static func hidesElement(style: UnsafePointer<UInt8>, scratch: inout [UInt8]) -> Bool {
        scratch.removeAll(keepingCapacity: true)
        var i = 0
        while style[i] != 0 {
            let c = style[i]
            if !TextDecoder.isSpace(c) { scratch.append(Bytes.lowercased(c)) }
            i += 1
        }
        return scratch.withUnsafeBufferPointer { buffer in
            Bytes.contains(buffer, "display:none") || Bytes.contains(buffer, "visibility:hidden")
        }
    }

    /// Whether a link to a place on this page is a permalink (its text only `#`, `¶`, `§`, `🔗` or `⚓`, or
    /// nothing visible) or a "skip to content" link. `text` is the link's text, at most a few dozen bytes.
    static func isPermalinkOrSkipLink(text: [UInt8]) -> Bool {
        var i = 0
        var onlyGlyphs = true
        while i < text.count, onlyGlyphs {
            let rest = text.count - i
            let c = text[i]
            if TextDecoder.isSpace(c) || c == UInt8(ascii: "#") {
                i += 1
            } else if rest >= 2, c == 0xC2, text[i + 1] == 0xA0 || text[i + 1] == 0xA7 || text[i + 1] == 0xB6 {
                i += 2  // no-break space, §, ¶
            } else if rest >= 3,
                (c == 0xE2 && text[i + 1] == 0x80 && (0x8B...0x8D).contains(text[i + 2]))  // zero-width spaces
                    || (c == 0xEF && text[i + 1] == 0xBB && text[i + 2] == 0xBF)  // zero-width no-break space
                    // variation selectors (text or emoji presentation)
                    || (c == 0xEF && text[i + 1] == 0xB8 && (text[i + 2] == 0x8E || text[i + 2] == 0x8F))
                    || (c == 0xE2 && text[i + 1] == 0x9A && text[i + 2] == 0x93)  // ⚓
            {
                i += 3
            } else if rest >= 4, c == 0xF0, text[i + 1] == 0x9F, text[i + 2] == 0x94, text[i + 3] == 0x97 {
                i += 4  // 🔗
            } else {
                onlyGlyphs = false
            }
        }
        if onlyGlyphs { return true }
        // "Skip to content", "Skip navigation links", "Jump to main content"…: lowercased, spaces collapsed.
        var words: [UInt8] = []
        for c in text where words.count < 24 {
            if TextDecoder.isSpace(c) {
                if let last = words.last, last != 0x20 { words.append(0x20) }
            } else if words.isEmpty, Bytes.lowercased(c) != UInt8(ascii: "s"),
                Bytes.lowercased(c) != UInt8(ascii: "j")
            {
                return false  // the common case (a reference to a section), decided before any allocation
            } else {
                words.append(Bytes.lowercased(c))
            }
        }
        return skipLinkPrefixes.contains { words.starts(with: $0) }
    }

    static let skipLinkPrefixes: [[UInt8]] = [
        "skip to ", "skip navigation", "skip nav", "skip main navigation", "jump to content", "jump to main",
        "jump to navigation",
    ].map { Array($0.utf8) }
}

/// Comparisons of NUL-terminated UTF-8 (libxml2's strings) with ASCII words, ignoring ASCII case.
enum Bytes {
    static func lowercased(_ c: UInt8) -> UInt8 {
        c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") ? c | 0x20 : c
    }

    /// FNV-1a of the lowercased bytes.
    static func hash(_ s: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var i = 0
        while i < count {
            hash = (hash ^ UInt64(lowercased(s[i]))) &* 0x100_0000_01b3
            i += 1
        }
        return hash
    }

    static func length(_ s: UnsafePointer<UInt8>) -> Int {
        var n = 0
        while s[n] != 0 { n += 1 }
        return n
    }

    /// The NUL-terminated `s` is `word` (plain loops: this runs for every attribute).
    static func equals(_ s: UnsafePointer<UInt8>, _ word: StaticString) -> Bool {
        let expected = word.utf8Start
        let count = word.utf8CodeUnitCount
        var i = 0
        while i < count {
            if lowercased(s[i]) != lowercased(expected[i]) { return false }  // also stops at s's NUL
            i += 1
        }
        return s[count] == 0
    }

    /// The `count` bytes at `s` are `word`.
    static func equals(_ s: UnsafePointer<UInt8>, _ count: Int, _ word: StaticString) -> Bool {
        guard count == word.utf8CodeUnitCount else { return false }
        let expected = word.utf8Start
        var i = 0
        while i < count {
            if lowercased(s[i]) != lowercased(expected[i]) { return false }
            i += 1
        }
        return true
    }

    /// Calls `body` with each whitespace-separated token of the NUL-terminated `s`.
    static func forEachToken(_ s: UnsafePointer<UInt8>, _ body: (UnsafePointer<UInt8>, Int) -> Void) {
        var i = 0
        while true {
            while s[i] != 0, TextDecoder.isSpace(s[i]) { i += 1 }
            if s[i] == 0 { return }
            let start = i
            while s[i] != 0, !TextDecoder.isSpace(s[i]) { i += 1 }
            body(s + start, i - start)
        }
    }

    /// The first whitespace-separated token of the NUL-terminated `s`.
    static func firstToken(_ s: UnsafePointer<UInt8>) -> (UnsafePointer<UInt8>, Int)? {
        var i = 0
        while s[i] != 0, TextDecoder.isSpace(s[i]) { i += 1 }
        if s[i] == 0 { return nil }
        let start = i
        while s[i] != 0, !TextDecoder.isSpace(s[i]) { i += 1 }
        return (s + start, i - start)
    }

    /// `haystack` contains the lowercase ASCII `needle`.
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        needle.withUTF8Buffer { needle in
            guard haystack.count >= needle.count else { return false }
            for start in 0...(haystack.count - needle.count) {
                var i = 0
                while i < needle.count, haystack[start + i] == needle[i] { i += 1 }
                if i == needle.count { return true }
            }
            return false
        }
    }
}
