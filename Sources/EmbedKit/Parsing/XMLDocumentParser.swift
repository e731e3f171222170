/// Parses XML with libxml2, safely: no network, no DTD loading, no external entities read (not even local
/// files), no entity expansion beyond short plain-text internal entities, and libxml2's limits against
/// entity-expansion bombs. Malformed XML is recovered as far as libxml2 can, with a warning.
///
/// Text grouping, simple and deterministic: an element that directly contains non-whitespace text starts a
/// block holding all the text below it (so inline children such as DocBook `<command>` or `<emphasis>` stay
/// in their sentence); whitespace is collapsed, except inside `programlisting`, `screen`, `literallayout`,
/// `synopsis` and `pre`. `title` elements become heading blocks whose level is the number of enclosing
/// elements that have a `title` child (DocBook book → chapter → section gives 1, 2, 3), at most 6.
/// The first `title` is the document title. Entity references that are not plain internal text are kept as
/// written (`&name;`). Documents whose root is `html` (XHTML) are read like HTML (see ``HTMLDocumentParser``)
/// and keep the `.xml` format. Bytes from which libxml2 recovers no tree at all are indexed as plain text,
/// with a warning.
public struct XMLDocumentParser: DocumentParser {
    public init() {}

    /// - Throws: ``ParsingError`` `.binary` for non-text bytes, `.tooLarge` over 2 GB.
    public func parse(_ bytes: [UInt8], path: String) throws -> ParsedDocument {
        if bytes.isEmpty { return ParsedDocument(format: .xml, blocks: []) }
        try FormatDetector.checkText(bytes)
        let decoded = TextDecoder.decode(bytes, format: .xml, path: path)
        if decoded.utf8.allSatisfy(TextDecoder.isSpace) {
            return ParsedDocument(format: .xml, blocks: [], warnings: decoded.warnings)
        }
        var parsed: LibXML2Document?
        var failure: ParsingError?
        do {
            parsed = try LibXML2Document.xml(decoded.utf8)
        } catch {
            failure = error
        }
        if let failure, failure.code != .malformed { throw failure }
        guard let document = parsed, document.rootElementName != nil else {
            // Not XML at all (no root element): keep the text rather than lose the file.
            var document = try PlainTextDocumentParser().parse(decoded.utf8, path: path)
            document.format = .xml
            let reason = failure?.message ?? parsed?.lastError.map { "XML \($0)" } ?? "XML without a root element"
            document.warnings = decoded.warnings + ["\(reason); indexed as plain text"]
            return document
        }
        var warnings = decoded.warnings
        if let error = document.lastError { warnings.append("XML \(error); kept the text recovered") }
        var result: ParsedDocument
        if document.rootElementName == "html" {
            result = HTMLDocumentParser.extract(document, format: .xml)
        } else {
            var visitor = XMLTextVisitor()
            document.walk(&visitor)
            visitor.builder.flush()
            result = ParsedDocument(format: .xml, title: visitor.title, blocks: visitor.builder.blocks)
        }
        if document.entityBudgetExhausted {
            warnings.append("entity references expand to more text than the file holds; the rest were kept as written")
        }
        result.warnings = warnings
        return result
    }
}

/// Collects XML text into blocks, one per element that directly holds text.
struct XMLTextVisitor: TreeVisitor {
    var builder = MarkupBlockBuilder()
    var title: String?
    /// Depth inside the element that started the current block; 0 outside any.
    private var blockDepth = 0
    private var preDepth = 0

    static let preformatted: Set<String> = ["programlisting", "screen", "literallayout", "synopsis", "pre"]

    mutating func enter(_ element: Node) -> Bool {
        let name = element.name
        let isTitle = name == "title"
        if isTitle, title == nil {
            let text = MarkupBlockBuilder.collapsed(element.forEachDescendantText)
            if !text.isEmpty { title = text }
        }
        if Self.preformatted.contains(name) { preDepth += 1 }
        if blockDepth > 0 {
            blockDepth += 1
        } else if element.hasDirectText {
            builder.flush()
            builder.kind = isTitle ? .heading(level: Self.headingLevel(of: element)) : .paragraph
            blockDepth = 1
        }
        return true
    }

    mutating func leave(_ element: Node) {
        if Self.preformatted.contains(element.name) { preDepth -= 1 }
        guard blockDepth > 0 else { return }
        blockDepth -= 1
        if blockDepth == 0 {
            builder.flush()
            builder.kind = .paragraph
        }
    }

    mutating func text(_ node: Node) {
        guard blockDepth > 0 else { return }
        let line = node.line
        let floor = builder.hasContent ? 1 : node.parentElement?.line ?? 1
        let preformatted = preDepth > 0
        node.withContent { builder.append($0, line: line, floor: floor, preformatted: preformatted) }
    }

    mutating func entityReference(_ node: Node, document: LibXML2Document) {
        guard blockDepth > 0 else { return }
        builder.append(HTMLTextVisitor.entityText(node, document: document), line: node.line)
    }

    /// The number of ancestors that have a `title` child, between 1 and 6.
    static func headingLevel(of title: Node) -> Int {
        var level = 0
        var ancestor = title.parentElement
        while let a = ancestor {
            if a.childElementNames.contains("title") { level += 1 }
            ancestor = a.parentElement
        }
        return min(max(level, 1), 6)
    }
}
