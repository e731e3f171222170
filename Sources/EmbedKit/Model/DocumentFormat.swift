/// The kinds of document `embed` understands.
///
/// The format comes from the file extension; files with an unknown or missing extension are sniffed
/// (see ``DocumentFormat/detect(path:bytes:)``).
public enum DocumentFormat: String, Sendable, Codable, CaseIterable, Hashable {
    case text
    case markdown
    case html
    case xml
    /// reStructuredText: plain text with section titles as headings.
    case restructuredText = "rst"

    /// The format that a file extension names, or nil when the extension is unknown.
    public init?(fileExtension: String) {
        switch fileExtension.lowercased() {
        case "txt", "text", "log", "adoc", "asciidoc", "org", "csv", "tsv": self = .text
        case "md", "markdown", "mdown", "mkd", "mkdn": self = .markdown
        case "rst", "rest": self = .restructuredText
        case "html", "htm", "xhtml", "xht", "shtml": self = .html
        case "xml", "xsd", "xsl", "xslt", "rss", "atom", "svg", "dbk", "docbook", "opf", "plist": self = .xml
        default: return nil
        }
    }
}
