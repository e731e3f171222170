/// The text of one document after parsing, as a sequence of blocks.
///
/// A parser turns bytes into blocks (headings and paragraphs); the chunker packs blocks into chunks.
/// ``text`` is the document's extracted text: the blocks joined in order. Character offsets everywhere in
/// `embed` count Unicode scalars (code points) of this text, which is what Python's `str` indexes.
public struct ParsedDocument: Sendable, Equatable {
    /// One heading or paragraph of extracted text.
    public struct Block: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// A heading at `level` (1 is the outermost).
            case heading(level: Int)
            case paragraph
        }

        public var kind: Kind
        /// The block's text, with no leading or trailing blank lines.
        public var text: String
        /// The 1-based line of the source file where the block starts.
        public var line: Int
        /// The 0-based lines of ``text`` whose line break is soft: hard-wrapped prose that goes on in the next
        /// line. The chunker reads such a break as a space (it does not end a sentence there); the text keeps it,
        /// so offsets and source lines stay those of the file. Ascending; empty for most blocks.
        public var softLineBreaks: [Int]

        public init(kind: Kind, text: String, line: Int, softLineBreaks: [Int] = []) {
            self.kind = kind
            self.text = text
            self.line = line
            self.softLineBreaks = softLineBreaks
        }
    }

    public var format: DocumentFormat
    /// The document title (HTML `<title>`, Markdown front matter's `title` or first heading), if any.
    public var title: String?
    public var blocks: [Block]
    /// Problems the parser recovered from; they are reported as warnings, the document is still indexed.
    public var warnings: [String]

    public init(format: DocumentFormat, title: String? = nil, blocks: [Block], warnings: [String] = []) {
        self.format = format
        self.title = title
        self.blocks = blocks
        self.warnings = warnings
    }

    /// The separator placed between blocks in ``text``.
    public static let blockSeparator = "\n\n"

    /// The extracted text: the blocks joined by a blank line.
    public var text: String { blocks.map(\.text).joined(separator: Self.blockSeparator) }

    /// True when no block has any text.
    public var isEmpty: Bool { blocks.allSatisfy { $0.text.isEmpty } }
}
