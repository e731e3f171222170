private import CEmbedXML2

/// A libxml2 document tree, freed when this object goes away. All libxml2 pointer handling in `embed` lives
/// here and in the tree visitors of ``HTMLDocumentParser`` and ``XMLDocumentParser``.
///
/// Not `Sendable`: a tree belongs to the one parse call that made it.
final class LibXML2Document {
    fileprivate let pointer: xmlDocPtr
    /// Set when libxml2 reported the input as not well-formed: the last error's line and message.
    let lastError: String?
    /// Bytes that entity references may still expand to. libxml2 limits expansion only when it substitutes
    /// entities itself; we expand short ones while walking, so without a budget 300 KB of `&a;` referencing a
    /// 1 KB entity would become 100 MB of text (a quadratic blowup).
    private var entityBudget: Int
    /// Set once an entity reference was kept as written because the budget ran out.
    private(set) var entityBudgetExhausted = false

    private init(pointer: xmlDocPtr, lastError: String?, inputLength: Int) {
        self.pointer = pointer
        self.lastError = lastError
        // Expansion may at most double the text (with 1 MiB for small files): linear in the input.
        entityBudget = max(1 << 20, inputLength)
    }

    deinit { xmlFreeDoc(pointer) }

    /// Runs `xmlInitParser()` and the process-wide settings in `CEmbedXML2_initialize` exactly once.
    private static let initialized: Bool = {
        CEmbedXML2_initialize()
        return true
    }()

    private static func prepare(_ utf8: [UInt8]) throws(ParsingError) {
        guard utf8.count < Int(Int32.max) else {
            throw ParsingError(.tooLarge, "file too large for libxml2 (\(utf8.count) bytes), skipped")
        }
        _ = initialized
        CEmbedXML2_silenceErrorsOnThisThread()
    }

    /// Parses UTF-8 HTML with recovery; no network, no stderr output. Nil when libxml2 gives no tree at all.
    static func html(_ utf8: [UInt8]) throws(ParsingError) -> LibXML2Document? {
        try prepare(utf8)
        guard let context = htmlNewParserCtxt() else { return nil }
        defer { htmlFreeParserCtxt(context) }
        CEmbedXML2_markContext(context)
        // No HTML_PARSE_NOBLANKS: it drops the whitespace-only text between inline elements ("<b>a</b> <i>b</i>").
        let options =
            HTML_PARSE_RECOVER.rawValue | HTML_PARSE_NONET.rawValue | HTML_PARSE_NOERROR.rawValue
            | HTML_PARSE_NOWARNING.rawValue | HTML_PARSE_COMPACT.rawValue | HTML_PARSE_IGNORE_ENC.rawValue
        let doc = utf8.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                htmlCtxtReadMemory(context, chars.baseAddress, Int32(chars.count), nil, "UTF-8", Int32(options))
            }
        }
        return doc.map { LibXML2Document(pointer: $0, lastError: nil, inputLength: utf8.count) }
    }

    /// Parses UTF-8 XML with recovery. Never loads a DTD or an external entity (no `XML_PARSE_NOENT`,
    /// `DTDLOAD`, `DTDATTR`; and the process-wide entity loader refuses every load for our contexts); no network.
    /// libxml2's own limits (no `XML_PARSE_HUGE`) stop entity-expansion bombs.
    static func xml(_ utf8: [UInt8]) throws(ParsingError) -> LibXML2Document? {
        try prepare(utf8)
        guard let context = xmlNewParserCtxt() else { return nil }
        defer { xmlFreeParserCtxt(context) }
        CEmbedXML2_markContext(context)
        let options =
            XML_PARSE_RECOVER.rawValue | XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue
            | XML_PARSE_NOWARNING.rawValue | XML_PARSE_COMPACT.rawValue | XML_PARSE_IGNORE_ENC.rawValue
            | XML_PARSE_BIG_LINES.rawValue
        let doc = utf8.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                xmlCtxtReadMemory(context, chars.baseAddress, Int32(chars.count), nil, "UTF-8", Int32(options))
            }
        }
        var lastError: String?
        if context.pointee.wellFormed == 0 {
            lastError = "not well-formed"
            if let error = xmlCtxtGetLastError(context), let message = error.pointee.message {
                let text = String(cString: message).trimmingTrailingWhitespace()
                lastError = "not well-formed (line \(max(1, Int(error.pointee.line)))): \(text)"
            }
        }
        guard let doc else {
            throw ParsingError(.malformed, "XML \(lastError ?? "not well-formed"), nothing recovered")
        }
        return LibXML2Document(pointer: doc, lastError: lastError, inputLength: utf8.count)
    }

    /// The root element's name, lowercased.
    var rootElementName: String? {
        guard let root = xmlDocGetRootElement(pointer), let name = root.pointee.name else { return nil }
        return String(cString: name).lowercased()
    }

    /// Walks the tree in document order without recursion (deep, broken markup can't overflow the stack).
    func walk<Visitor: TreeVisitor>(_ visitor: inout Visitor) {
        var current = pointer.pointee.children
        while let node = current {
            var descend = false
            switch node.pointee.type {
            case XML_ELEMENT_NODE: descend = visitor.enter(Node(node))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE: visitor.text(Node(node))
            case XML_ENTITY_REF_NODE: visitor.entityReference(Node(node), document: self)
            default: break
            }
            if descend {
                if let child = node.pointee.children {
                    current = child
                    continue
                }
                visitor.leave(Node(node))
            }
            var up = node
            current = nil
            while true {
                if let next = up.pointee.next {
                    current = next
                    break
                }
                guard let parent = up.pointee.parent, parent.pointee.type == XML_ELEMENT_NODE else { break }
                visitor.leave(Node(parent))
                up = parent
            }
        }
    }

    /// The replacement text of an internal entity when it is plain text (no markup, no references) and short,
    /// and the document's expansion budget allows it; nil otherwise. Never expands anything recursively, never
    /// reads an external entity.
    func plainInternalEntityText(named name: UnsafePointer<UInt8>) -> [UInt8]? {
        guard entityBudget > 0 else {
            entityBudgetExhausted = true
            return nil
        }
        guard let entity = xmlGetDocEntity(pointer, name),
            entity.pointee.etype == XML_INTERNAL_GENERAL_ENTITY,
            let content = entity.pointee.content
        else { return nil }
        var bytes: [UInt8] = []
        var i = 0
        while content[i] != 0 {
            let c = content[i]
            if c == UInt8(ascii: "&") || c == UInt8(ascii: "<") || i >= 1024 { return nil }
            bytes.append(c)
            i += 1
        }
        guard bytes.count <= entityBudget else {
            entityBudget = 0
            entityBudgetExhausted = true
            return nil
        }
        entityBudget -= bytes.count
        return bytes
    }
}

/// A libxml2 node as seen by a ``TreeVisitor``.
struct Node {
    fileprivate let pointer: xmlNodePtr

    fileprivate init(_ pointer: xmlNodePtr) { self.pointer = pointer }

    /// The element or entity name, e.g. `p` (local name, no namespace prefix).
    var name: String { pointer.pointee.name.map { String(cString: $0) } ?? "" }

    var namePointer: UnsafePointer<UInt8>? { pointer.pointee.name }

    /// The 1-based source line, clamped to at least 1.
    var line: Int { max(1, Int(xmlGetLineNo(pointer))) }

    /// Calls `body` with the node's text content (NUL-terminated UTF-8), if any.
    func withContent(_ body: (UnsafePointer<UInt8>) -> Void) {
        if let content = pointer.pointee.content { body(content) }
    }

    /// Whether the element has an attribute `name`, and its text value when it is plain text.
    func attribute(_ name: StaticString) -> (present: Bool, value: String?) {
        var attr = pointer.pointee.properties
        while let a = attr {
            if let attrName = a.pointee.name, strcmpUTF8(attrName, name) {
                let value = a.pointee.children?.pointee.content.map { String(cString: $0) }
                return (true, value)
            }
            attr = a.pointee.next
        }
        return (false, nil)
    }

    /// True when the node has any attributes (a cheap test before looking for particular ones).
    var hasAttributes: Bool { pointer.pointee.properties != nil }

    /// Calls `body` with each attribute's name and value (its first text), both NUL-terminated UTF-8; the value
    /// is nil for an attribute written without one (`<p hidden>`).
    func forEachAttribute(_ body: (UnsafePointer<UInt8>, UnsafePointer<UInt8>?) -> Void) {
        var attr = pointer.pointee.properties
        while let a = attr {
            if let name = a.pointee.name { body(name, a.pointee.children?.pointee.content) }
            attr = a.pointee.next
        }
    }

    /// Appends the text of the text and CDATA nodes below this one to `buffer`, in order; false (the text is
    /// not all there) once more than `limit` bytes or `limit` nodes were seen, so a link that wraps a whole page
    /// costs no more than a short one.
    func appendShortText(to buffer: inout [UInt8], limit: Int) -> Bool {
        var nodes = 0
        var current = pointer.pointee.children
        while let node = current {
            nodes += 1
            if nodes > limit { return false }
            let type = node.pointee.type
            if type == XML_TEXT_NODE || type == XML_CDATA_SECTION_NODE, let content = node.pointee.content {
                var i = 0
                while content[i] != 0 {
                    if buffer.count >= limit { return false }
                    buffer.append(content[i])
                    i += 1
                }
            } else if type == XML_ENTITY_REF_NODE {
                return false
            }
            current = nextBelow(after: node, entering: type == XML_ELEMENT_NODE)
        }
        return true
    }

    /// The direct children that are text or CDATA nodes, and whether any of them has non-whitespace text.
    var hasDirectText: Bool {
        var child = pointer.pointee.children
        while let c = child {
            let type = c.pointee.type
            if type == XML_TEXT_NODE || type == XML_CDATA_SECTION_NODE, let content = c.pointee.content {
                var i = 0
                while content[i] != 0 {
                    if !TextDecoder.isSpace(content[i]) { return true }
                    i += 1
                }
            } else if type == XML_ENTITY_REF_NODE {
                return true
            }
            child = c.pointee.next
        }
        return false
    }

    /// The element children's names.
    var childElementNames: [String] {
        var names: [String] = []
        var child = pointer.pointee.children
        while let c = child {
            if c.pointee.type == XML_ELEMENT_NODE, let name = c.pointee.name { names.append(String(cString: name)) }
            child = c.pointee.next
        }
        return names
    }

    /// True when the element's name is `name` (ASCII case ignored).
    func isNamed(_ name: StaticString) -> Bool {
        guard let own = pointer.pointee.name else { return false }
        return Bytes.equals(own, name)
    }

    /// The nearest element before this one among its siblings, if any (text between them is skipped).
    var previousElementSibling: Node? {
        var sibling = pointer.pointee.prev
        while let s = sibling {
            if s.pointee.type == XML_ELEMENT_NODE { return Node(s) }
            sibling = s.pointee.prev
        }
        return nil
    }

    /// The parent element, if any.
    var parentElement: Node? {
        guard let parent = pointer.pointee.parent, parent.pointee.type == XML_ELEMENT_NODE else { return nil }
        return Node(parent)
    }

    /// The node after `node` in document order among this node's descendants: its first child when `entering`
    /// and it has one, else the next sibling of it or of its nearest ancestor below this node; nil at the end.
    /// Iterative, so depth costs no stack.
    private func nextBelow(after node: xmlNodePtr, entering: Bool) -> xmlNodePtr? {
        if entering, let child = node.pointee.children { return child }
        var up = node
        while up != pointer {
            if let next = up.pointee.next { return next }
            guard let parent = up.pointee.parent else { return nil }
            up = parent
        }
        return nil
    }

    /// Calls `body` with the content of every text and CDATA node below this one, in order.
    func forEachDescendantText(_ body: (UnsafePointer<UInt8>) -> Void) {
        var current = pointer.pointee.children
        while let node = current {
            let type = node.pointee.type
            if type == XML_TEXT_NODE || type == XML_CDATA_SECTION_NODE, let content = node.pointee.content {
                body(content)
            }
            current = nextBelow(after: node, entering: type == XML_ELEMENT_NODE)
        }
    }
}

private func strcmpUTF8(_ a: UnsafePointer<UInt8>, _ b: StaticString) -> Bool {
    b.withUTF8Buffer { expected in
        for (i, byte) in expected.enumerated() where a[i] != byte { return false }
        return a[expected.count] == 0
    }
}

/// Receives a libxml2 tree walk.
protocol TreeVisitor {
    /// An element starts; return true to visit its children (then ``leave(_:)`` follows).
    mutating func enter(_ element: Node) -> Bool
    mutating func leave(_ element: Node)
    mutating func text(_ node: Node)
    mutating func entityReference(_ node: Node, document: LibXML2Document)
}

extension String {
    fileprivate func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
