/// Parses HTML with libxml2's HTML parser (with recovery, so broken markup still gives its text) and keeps the
/// visible text.
///
/// - Skipped: `script`, `style`, `template`, `noscript`, `svg`, `iframe`, `object`, `embed`, `canvas`, the
///   `head` (except `title`), and elements with a `hidden` attribute or an inline `display:none` style.
/// - Block elements (`p`, `div`, `li`, `tr`, `pre`, `blockquote`, `section`, `dt`, `dd`, …) end a paragraph;
///   inline elements don't split words (`<p>a<b>b</b>c</p>` is "abc"); table cells in a row are separated by a
///   space; `<br>` is a line break.
/// - `h1` … `h6` become heading blocks with their level.
/// - Whitespace is collapsed, except inside `pre` (and `textarea`, `listing`, `xmp`); entities are decoded.
/// - The title is the `<title>`, else the first `h1`.
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
        let decoded = TextDecoder.decode(bytes, format: .html)
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
        visitor.builder.flush()
        let blocks = visitor.builder.blocks
        let title = visitor.title ?? blocks.first { $0.kind == .heading(level: 1) }?.text
        return ParsedDocument(format: format, title: title, blocks: blocks)
    }
}

/// Collects visible HTML text into blocks.
struct HTMLTextVisitor: TreeVisitor {
    enum Role {
        case skip, head, title, block, cell, heading(Int), preformatted, lineBreak, inline
    }

    var builder = MarkupBlockBuilder()
    var title: String?
    private var headDepth = 0
    private var preDepth = 0

    static let roles: [String: Role] = {
        var roles: [String: Role] = [:]
        for name in ["script", "style", "template", "noscript", "svg", "iframe", "object", "embed", "canvas"] {
            roles[name] = .skip
        }
        let blocks = [
            "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog",
            "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup",
            "hr", "html", "legend", "li", "main", "menu", "nav", "ol", "option", "p", "section", "summary",
            "table", "tbody", "tfoot", "thead", "tr", "ul", "frameset", "noframes",
        ]
        for name in blocks { roles[name] = .block }
        for level in 1...6 { roles["h\(level)"] = .heading(level) }
        for name in ["pre", "listing", "xmp", "plaintext", "textarea"] { roles[name] = .preformatted }
        roles["td"] = .cell
        roles["th"] = .cell
        roles["br"] = .lineBreak
        roles["head"] = .head
        roles["title"] = .title
        return roles
    }()

    static func role(of element: Node) -> Role {
        // libxml2's HTML parser lowercases names; XHTML names are lowercase.
        roles[element.name] ?? .inline
    }

    static func isHidden(_ element: Node) -> Bool {
        guard element.hasAttributes else { return false }
        if element.attribute("hidden").present { return true }
        if let style = element.attribute("style").value?.lowercased().filter({ !$0.isWhitespace }),
            style.contains("display:none") || style.contains("visibility:hidden")
        {
            return true
        }
        return false
    }

    mutating func enter(_ element: Node) -> Bool {
        let role = Self.role(of: element)
        if case .title = role {
            if title == nil {
                let text = MarkupBlockBuilder.collapsed(element.forEachDescendantText)
                if !text.isEmpty { title = text }
            }
            return false
        }
        if case .skip = role { return false }
        if Self.isHidden(element) { return false }
        switch role {
        case .head: headDepth += 1
        case .block: builder.flush()
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
        case .inline, .skip, .title: break
        }
        return true
    }

    mutating func leave(_ element: Node) {
        switch Self.role(of: element) {
        case .head: headDepth -= 1
        case .block: builder.flush()
        case .cell: builder.softBreak()
        case .heading:
            builder.flush()
            builder.kind = .paragraph
        case .preformatted:
            builder.flush()
            preDepth -= 1
        case .inline, .skip, .title, .lineBreak: break
        }
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
