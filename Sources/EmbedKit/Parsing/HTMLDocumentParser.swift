/// Parses HTML with libxml2's HTML parser (with recovery, so broken markup still gives its text) and keeps the
/// text a reader reads: the page's content, without navigation and other page furniture (D39 in
/// docs/decisions.md).
///
/// - Skipped: `script`, `style`, `template`, `noscript`, `svg`, `iframe`, `object`, `embed`, `canvas`, the
///   `head` (except `title`), elements with a `hidden` attribute (not `until-found`), `aria-hidden="true"` or an
///   inline `display:none` style, buttons (`role="button"` too) and form controls.
/// - Chrome, left out: `nav`; `aside` outside an `article`, `section` or `aside`; roles `navigation`, `banner`,
///   `contentinfo`, `complementary`, `search`; a few generators' classes and ids
///   (``HTMLPageStructure/chromeClasses``); permalink anchors (`¶`, `#`, class `headerlink` …) and "Skip to
///   content" links. If that leaves nothing, the page is read again with chrome kept.
/// - Content container: `main`, `article`, `role="main"`, `itemprop="articleBody"`, Node's `#apicontent`,
///   Apache's `#page-content`. When exactly one (outermost) container holds text, only its text is kept (and
///   the title); otherwise the whole page minus chrome.
/// - Tables of contents (`class="toc"`, Sphinx's toctree …) and back-of-book indexes are left out, also on a
///   page that is nothing else: the text they point to is indexed where it is.
/// - Block elements (`p`, `div`, `li`, `tr`, `pre`, `blockquote`, `section`, `dt`, `dd`, …) end a paragraph;
///   inline elements don't split words (`<p>a<b>b</b>c</p>` is "abc"); table cells in a row are separated by a
///   space; `<br>` is a line break.
/// - `h1` … `h6` become heading blocks with their level.
/// - Whitespace is collapsed, except inside `pre` (and `listing`, `xmp`); entities are decoded.
/// - The title is the `<title>`, else the first `h1` kept.
/// - Each block's line is libxml2's line for the text node that starts it.
///
/// The bytes are decoded by ``TextDecoder`` (which honours `<meta charset>`) and handed to libxml2 as UTF-8,
/// so a charset declaration that lies can't garble the parse.
public struct HTMLDocumentParser: DocumentParser {
    public init() {}

    /// - Throws: ``ParsingError`` `.binary` for non-text bytes, `.malformed` if libxml2 returns no tree.
    public func parse(_ bytes: [UInt8], path: String) throws -> ParsedDocument {
        if bytes.isEmpty { return ParsedDocument(format: .html, blocks: []) }
        try FormatDetector.checkText(bytes)
        let decoded = TextDecoder.decode(bytes, format: .html, path: path)
        if decoded.utf8.allSatisfy(TextDecoder.isSpace) {
            return ParsedDocument(format: .html, blocks: [], warnings: decoded.warnings)
        }
        guard let document = try LibXML2Document.html(decoded.utf8) else {
            throw ParsingError(.malformed, "HTML could not be parsed, skipped")
        }
        var document0 = Self.extract(document, format: .html)
        document0.warnings = decoded.warnings + document0.warnings
        if document.entityBudgetExhausted {
            document0.warnings.append("entity references expand to more text than the file holds; the rest were kept as written")
        }
        if document0.isEmpty && Self.hasTextOutsideTags(decoded.utf8) {
            // libxml2 gives up below 256 levels of nesting (and on some broken markup); never lose text silently.
            document0.warnings.append(
                "no visible text could be extracted (markup nested too deeply or too broken); nothing indexed from it")
        }
        return document0
    }

    /// True when some non-space character stands outside `<...>`: the file has text, even if no tree held it.
    static func hasTextOutsideTags(_ utf8: [UInt8]) -> Bool {
        var inTag = false
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "<"): inTag = true
            case UInt8(ascii: ">"): inTag = false
            default: if !inTag && !TextDecoder.isSpace(byte) { return true }
            }
        }
        return false
    }

    /// The visible text of an HTML (or XHTML) tree.
    static func extract(_ document: LibXML2Document, format: DocumentFormat) -> ParsedDocument {
        var visitor = HTMLTextVisitor()
        document.walk(&visitor)
        var blocks = visitor.finish()
        if blocks.isEmpty && visitor.leftOutChrome {
            // A page of nothing but navigation (a frame's menu, a site map): its links are all it has to say.
            var again = HTMLTextVisitor(keepChrome: true)
            document.walk(&again)
            blocks = again.finish()
        }
        let title =
            visitor.title ?? (blocks.first { $0.kind == .heading(level: 1) }
                ?? visitor.builder.blocks.first { $0.kind == .heading(level: 1) })?.text
        return ParsedDocument(format: format, title: title, blocks: blocks)
    }
}

/// Collects the HTML text a reader reads into blocks: visible text, without page chrome (D39 in
/// docs/decisions.md).
struct HTMLTextVisitor: TreeVisitor {
    enum Role {
        case skip, head, title, block, cell, heading(Int), preformatted, lineBreak, inline
        /// `nav`: always chrome.
        case navigation
        /// `aside`: chrome unless inside an `article`, `section` or `aside` (then it belongs to that text, as
        /// footnotes and sidebars of Sphinx pages do).
        case aside
        /// `article`: a content container that also scopes `aside`.
        case article
        /// `main`: a content container.
        case main
        /// `section`: a block that scopes `aside`.
        case section
        /// Buttons and form controls: labels and values, not text to read (Node's "copy" button).
        case control
        /// `a`: inline, unless it is a permalink or a "skip to content" link.
        case anchor
        /// `code`: inline; in a `pre` right after another `code`, it starts a line (Node shows one of its two
        /// flavours of an example, ES module or CommonJS, and both are kept).
        case code
    }

    /// Bits of ``MarkupBlockBuilder/region``.
    static let inContent: UInt8 = 1 << 0
    static let inToc: UInt8 = 1 << 1
    /// Bits of an open element: what its `leave` undoes.
    private static let opensContent: UInt8 = 1 << 0
    private static let opensToc: UInt8 = 1 << 1
    private static let opensSection: UInt8 = 1 << 2

    var builder = MarkupBlockBuilder()
    var title: String?
    /// Keep chrome: for the second walk over a page whose text was all chrome.
    let keepChrome: Bool
    /// Set when some chrome was left out.
    private(set) var leftOutChrome = false
    private var headDepth = 0
    private var preDepth = 0
    private var sectionDepth = 0
    private var contentDepth = 0
    private var tocDepth = 0
    /// Outermost content containers that held text, and where the open one's blocks start.
    private var containersWithText = 0
    private var containerStart = 0
    /// Each outermost table of contents: its blocks, and whether its links all stay on this page.
    private var tocs: [Range<Int>] = []
    private var tocStart = 0
    /// For each element entered and not yet left: its role and what it opened.
    private var open: [OpenElement] = []

    struct OpenElement {
        var role: Role
        var opens: UInt8
    }
    private var scratch: [UInt8] = []

    init(keepChrome: Bool = false) {
        self.keepChrome = keepChrome
        open.reserveCapacity(64)
        scratch.reserveCapacity(64)
    }

    static let roles: [String: Role] = {
        var roles: [String: Role] = [:]
        for name in ["script", "style", "template", "noscript", "svg", "iframe", "object", "embed", "canvas"] {
            roles[name] = .skip
        }
        let blocks = [
            "address", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "dir", "div", "dl",
            "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr", "html", "legend",
            "li", "menu", "ol", "option", "p", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul", "frameset",
            "noframes",
        ]
        for name in blocks { roles[name] = .block }
        for level in 1...6 { roles["h\(level)"] = .heading(level) }
        for name in ["pre", "listing", "xmp", "plaintext"] { roles[name] = .preformatted }
        for name in ["button", "select", "textarea", "input", "datalist"] { roles[name] = .control }
        roles["td"] = .cell
        roles["th"] = .cell
        roles["br"] = .lineBreak
        roles["head"] = .head
        roles["title"] = .title
        roles["nav"] = .navigation
        roles["aside"] = .aside
        roles["article"] = .article
        roles["main"] = .main
        roles["section"] = .section
        roles["a"] = .anchor
        roles["code"] = .code
        return roles
    }()

    /// ``roles`` by a hash of the name's bytes, so that no `String` is made per element.
    static let rolesByHash: [UInt64: NamedRole] = {
        var table: [UInt64: NamedRole] = [:]
        for (name, role) in roles {
            let bytes = Array(name.utf8)
            let key = bytes.withUnsafeBufferPointer { Bytes.hash($0.baseAddress!, $0.count) }
            precondition(table[key] == nil, "hash collision among element names")
            table[key] = NamedRole(name: bytes, role: role)
        }
        return table
    }()

    struct NamedRole {
        var name: [UInt8]
        var role: Role
    }

    static func role(of element: Node) -> Role {
        // libxml2's HTML parser lowercases names; XHTML names are lowercase.
        guard let name = element.namePointer else { return .inline }
        var count = 0
        while name[count] != 0 {
            count += 1
            if count > 10 { return .inline }  // longer than any name in the table
        }
        guard let entry = rolesByHash[Bytes.hash(name, count)], entry.name.count == count else { return .inline }
        return entry.name.withUnsafeBufferPointer { expected in
            var i = 0
            while i < count {
                if name[i] != expected[i] { return .inline }
                i += 1
            }
            return entry.role
        }
    }

    mutating func enter(_ element: Node) -> Bool {
        let role = Self.role(of: element)
        switch role {
        case .title:
            if title == nil {
                let text = MarkupBlockBuilder.collapsed(element.forEachDescendantText)
                if !text.isEmpty { title = text }
            }
            return false
        case .skip, .control:
            return false
        case .navigation where !keepChrome, .aside where !keepChrome && sectionDepth == 0:
            leftOutChrome = true
            return false
        default:
            break
        }
        var traits: HTMLElementTraits = []
        if element.hasAttributes {
            traits = HTMLPageStructure.traits(of: element, scratch: &scratch)
            if traits.contains(.hidden) || traits.contains(.button) { return false }
            if traits.contains(.chrome) && !keepChrome {
                leftOutChrome = true
                return false
            }
            if case .anchor = role {
                if traits.contains(.permalinkClass) { return false }
                if traits.contains(.inPageLink) && isPermalinkOrSkipLink(element) { return false }
            }
        }
        var opens: UInt8 = 0
        switch role {
        case .main: opens |= Self.opensContent
        case .article: opens |= Self.opensContent | Self.opensSection
        case .section, .aside: opens |= Self.opensSection
        default: break
        }
        if traits.contains(.content) { opens |= Self.opensContent }
        if traits.contains(.toc) { opens |= Self.opensToc }
        if opens & Self.opensSection != 0 { sectionDepth += 1 }
        if opens & (Self.opensContent | Self.opensToc) != 0 {
            // Always a block boundary, so that each block lies wholly inside or outside.
            builder.flush()
            if opens & Self.opensContent != 0 {
                if contentDepth == 0 { containerStart = builder.blocks.count }
                contentDepth += 1
            }
            if opens & Self.opensToc != 0 {
                if tocDepth == 0 {
                    tocStart = builder.blocks.count
                }
                tocDepth += 1
            }
            updateRegion()
        }
        open.append(OpenElement(role: role, opens: opens))
        switch role {
        case .head: headDepth += 1
        case .block, .navigation, .aside, .article, .main, .section: builder.flush()
        case .cell: builder.softBreak()
        case .heading(let level):
            builder.flush()
            builder.kind = .heading(level: level)
        case .preformatted:
            builder.flush()
            preDepth += 1
        case .lineBreak:
            if preDepth > 0 {
                builder.preformattedNewline()
            } else {
                builder.lineBreak()
            }
        case .code:
            if preDepth > 0, element.parentElement?.isNamed("pre") == true,
                element.previousElementSibling?.isNamed("code") == true
            {
                builder.preformattedLineStart()
            }
        case .inline, .anchor, .skip, .title, .control: break
        }
        return true
    }

    mutating func leave(_ element: Node) {
        guard let last = open.popLast() else { return }
        let (role, opens) = (last.role, last.opens)
        switch role {
        case .head: headDepth -= 1
        case .block, .navigation, .aside, .article, .main, .section: builder.flush()
        case .cell: builder.softBreak()
        case .heading:
            builder.flush()
            builder.kind = .paragraph
        case .preformatted:
            builder.flush()
            preDepth -= 1
        case .inline, .anchor, .code, .skip, .title, .lineBreak, .control: break
        }
        if opens & Self.opensSection != 0 { sectionDepth -= 1 }
        if opens & (Self.opensContent | Self.opensToc) != 0 {
            builder.flush()
            let count = builder.blocks.count
            if opens & Self.opensContent != 0 {
                contentDepth -= 1
                if contentDepth == 0 && count > containerStart { containersWithText += 1 }
            }
            if opens & Self.opensToc != 0 {
                tocDepth -= 1
                if tocDepth == 0 && count > tocStart { tocs.append(tocStart..<count) }
            }
            updateRegion()
        }
    }

    private mutating func updateRegion() {
        builder.region = (contentDepth > 0 ? Self.inContent : 0) | (tocDepth > 0 ? Self.inToc : 0)
    }

    /// A link to a place on this page whose text is only a permalink glyph, or "Skip to content".
    private mutating func isPermalinkOrSkipLink(_ element: Node) -> Bool {
        scratch.removeAll(keepingCapacity: true)
        guard element.appendShortText(to: &scratch, limit: 48) else { return false }
        return HTMLPageStructure.isPermalinkOrSkipLink(text: scratch)
    }

    /// The blocks to index. When exactly one content container held text, only its blocks (two or more, or
    /// none with text: the whole page minus chrome, so that nothing is lost to a guess). Tables of contents
    /// and indexes are left out.
    mutating func finish() -> [ParsedDocument.Block] {
        builder.flush()
        let blocks = builder.blocks
        let regions = builder.regions
        var keep = [Bool](repeating: true, count: blocks.count)
        if containersWithText == 1 {
            for i in blocks.indices where regions[i] & Self.inContent == 0 { keep[i] = false }
        }
        // Tables of contents and back-of-book indexes point to text found elsewhere: as chunks they only crowd
        // the sections they name out of the results, even on a page that is nothing else.
        for toc in tocs {
            for i in toc { keep[i] = false }
        }
        if !keep.contains(false) { return blocks }
        return blocks.indices.filter { keep[$0] }.map { blocks[$0] }
    }

    mutating func text(_ node: Node) {
        guard headDepth == 0 else { return }
        let line = node.line
        let floor = builder.hasContent ? 1 : node.parentElement?.line ?? 1
        let preformatted = preDepth > 0
        node.withContent { builder.append($0, line: line, floor: floor, preformatted: preformatted) }
    }

    mutating func entityReference(_ node: Node, document: LibXML2Document) {
        guard headDepth == 0 else { return }
        builder.append(Self.entityText(node, document: document), line: node.line)
    }

    /// A plain internal entity's text, else the reference itself (`&name;`): nothing expanded, nothing dropped.
    static func entityText(_ node: Node, document: LibXML2Document) -> [UInt8] {
        if let name = node.namePointer, let text = document.plainInternalEntityText(named: name) { return text }
        return Array("&\(node.name);".utf8)
    }
}
