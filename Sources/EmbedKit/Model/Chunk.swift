/// A piece of a document's text that is embedded as one vector.
///
/// A chunk is always a contiguous slice of the document's extracted text (``ParsedDocument/text``):
/// `text == document.text[startOffset..<endOffset]`, with offsets counted in Unicode scalars.
public struct Chunk: Sendable, Equatable, Hashable {
    /// 0-based position of the chunk within its document.
    public var ordinal: Int
    public var text: String
    /// Unicode-scalar offset of the chunk's first character in the document's extracted text.
    public var startOffset: Int
    /// Unicode-scalar offset just past the chunk's last character.
    public var endOffset: Int
    /// 1-based source line where the chunk starts.
    public var line: Int
    /// Titles of the enclosing headings, outermost first; empty when the format has none.
    public var headingPath: [String]
    /// Size of the text in the embedder's tokens (as counted by the chunker's ``TokenCounter``).
    public var tokenCount: Int
    /// False for a chunk the recipe leaves without a vector (a chunk without words, ``WordlessText``): it is
    /// stored and found by keyword search, but not embedded.
    public var isEmbedded: Bool

    public init(
        ordinal: Int, text: String, startOffset: Int, endOffset: Int, line: Int, headingPath: [String],
        tokenCount: Int, isEmbedded: Bool = true
    ) {
        self.isEmbedded = isEmbedded
        self.ordinal = ordinal
        self.text = text
        self.startOffset = startOffset
        self.endOffset = endOffset
        self.line = line
        self.headingPath = headingPath
        self.tokenCount = tokenCount
    }
}
