/// Splits a parsed document into chunks that fit an embedder, following the document's structure.
///
/// Headings and paragraphs come first: a chunk never spans a heading (unless everything before the heading
/// is headings), and paragraphs are packed whole while they fit. A paragraph that does not fit is split into
/// sentences (and lines), a sentence that does not fit into words, and a word that does not fit into pieces.
/// Consecutive chunks of one section overlap by up to ``Configuration/overlapTokens`` tokens, carried over as
/// whole sentences or words. The result depends only on the input: the same document gives the same chunks.
public struct TextChunker: Sendable {
    /// The chunking recipe: chunk sizes, in the embedder's tokens, and how text is read. Recorded in the index;
    /// a run with another recipe is refused, as one with another embedder is.
    public struct Configuration: Sendable, Hashable, Codable {
        /// The most tokens a chunk may hold (special tokens such as `[CLS]` excluded).
        public var maxTokens: Int
        /// How many tokens of the previous chunk to repeat at the start of the next one, at most.
        public var overlapTokens: Int
        /// Whether a paragraph's soft line breaks (hard-wrapped prose, ``ParsedDocument/Block/softLineBreaks``)
        /// are read as spaces, so that chunks and their overlaps start at sentences rather than at wrapped lines.
        /// False in an index written before this setting existed.
        public var joinsWrappedLines: Bool
        /// Whether chunks without words (``WordlessText``) are embedded. When false they are stored and found by
        /// keyword search but have no vector. True in an index written before this setting existed.
        public var embedsWordlessChunks: Bool

        /// 200 tokens with 32 of overlap: about 150 words of English, well inside all-MiniLM-L6-v2's 256.
        public init(
            maxTokens: Int = 200, overlapTokens: Int = 32, joinsWrappedLines: Bool = Self.defaultJoinsWrappedLines,
            embedsWordlessChunks: Bool = Self.defaultEmbedsWordlessChunks
        ) {
            self.maxTokens = maxTokens
            self.overlapTokens = overlapTokens
            self.joinsWrappedLines = joinsWrappedLines
            self.embedsWordlessChunks = embedsWordlessChunks
        }

        /// What a new index gets (docs/decisions.md says why).
        public static let defaultJoinsWrappedLines = false
        public static let defaultEmbedsWordlessChunks = false

        private enum CodingKeys: String, CodingKey {
            case maxTokens, overlapTokens, joinsWrappedLines, embedsWordlessChunks
        }

        /// A setting with the value that embed had before it existed is not written, so an index with that recipe
        /// keeps its settings byte for byte and older embeds read them unchanged.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(maxTokens, forKey: .maxTokens)
            try container.encode(overlapTokens, forKey: .overlapTokens)
            if joinsWrappedLines { try container.encode(true, forKey: .joinsWrappedLines) }
            if !embedsWordlessChunks { try container.encode(false, forKey: .embedsWordlessChunks) }
        }

        /// A setting missing from the index reads as what the embed that wrote it did.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            maxTokens = try container.decode(Int.self, forKey: .maxTokens)
            overlapTokens = try container.decode(Int.self, forKey: .overlapTokens)
            joinsWrappedLines = try container.decodeIfPresent(Bool.self, forKey: .joinsWrappedLines) ?? false
            embedsWordlessChunks = try container.decodeIfPresent(Bool.self, forKey: .embedsWordlessChunks) ?? true
        }
    }

    public let configuration: Configuration
    public let tokenCounter: any TokenCounter

    public init(configuration: Configuration = .init(), tokenCounter: any TokenCounter) {
        precondition(configuration.maxTokens > 0, "maxTokens must be positive")
        precondition(configuration.overlapTokens >= 0, "overlapTokens must not be negative")
        self.configuration = configuration
        self.tokenCounter = tokenCounter
    }

    /// The chunks of `document`, in order; empty when the document has no text.
    public func chunks(for document: ParsedDocument) -> [Chunk] {
        var segmenter = Segmenter(
            document: document, counter: tokenCounter, maxTokens: configuration.maxTokens,
            joinsWrappedLines: configuration.joinsWrappedLines)
        let units = segmenter.units()
        return pack(units, segmenter: segmenter)
    }

    // MARK: - Packing

    private func pack(_ units: [Unit], segmenter: Segmenter) -> [Chunk] {
        var chunks: [Chunk] = []
        var start = 0
        while start < units.count {
            if chunks.count % 256 == 255 && Task.isCancelled { return [] }  // a stopping run drops them anyway
            var end = start
            var tokens = units[start].tokens
            var hasContent = units[start].headingLevel == nil
            // Grow the chunk while the next unit fits and does not open a new section after content.
            while end + 1 < units.count {
                let next = units[end + 1]
                if next.headingLevel != nil && hasContent { break }
                var grown = tokens + next.tokens
                // Units that touch are pieces of one word (or sentences with no space between), and a tokenizer
                // need not count a word as the sum of its pieces ("[UNK]" for a whole word, say): count again.
                if next.start == units[end].end {
                    grown = segmenter.count(units[start].start..<next.end)
                }
                if grown > configuration.maxTokens { break }
                end += 1
                tokens = grown
                if next.headingLevel == nil { hasContent = true }
            }
            chunks.append(makeChunk(units[start...end], ordinal: chunks.count, tokens: tokens, segmenter: segmenter))
            guard end + 1 < units.count else { break }
            // Overlap: restart at the earliest trailing units that fit the overlap budget, within the section,
            // always moving forward, and never across a heading that starts the next chunk.
            var nextStart = end + 1
            if units[end + 1].headingLevel == nil {
                var carried = 0
                while nextStart - 1 > start, units[nextStart - 1].headingLevel == nil,
                    carried + units[nextStart - 1].tokens <= configuration.overlapTokens
                {
                    carried += units[nextStart - 1].tokens
                    nextStart -= 1
                }
                // A carried unit must leave room for at least the next new unit.
                while nextStart < end + 1, carried + units[end + 1].tokens > configuration.maxTokens {
                    carried -= units[nextStart].tokens
                    nextStart += 1
                }
            }
            start = nextStart
        }
        return chunks
    }

    private func makeChunk(_ units: ArraySlice<Unit>, ordinal: Int, tokens: Int, segmenter: Segmenter) -> Chunk {
        let first = units[units.startIndex]
        let last = units[units.index(before: units.endIndex)]
        // The heading path is the one in force at the chunk's first content unit.
        let pathUnit = units.first(where: { $0.headingLevel == nil }) ?? last
        let text = segmenter.text(first.start..<last.end)
        return Chunk(
            ordinal: ordinal, text: text, startOffset: first.start, endOffset: last.end, line: first.line,
            headingPath: pathUnit.headingPath, tokenCount: tokens,
            isEmbedded: configuration.embedsWordlessChunks || !WordlessText.isWordless(text))
    }
}

/// The smallest piece the packer places: a block, a sentence, a word or a piece of a word.
struct Unit {
    var start: Int
    var end: Int
    var tokens: Int
    var line: Int
    /// Set for a heading block: a new section starts here.
    var headingLevel: Int?
    var headingPath: [String]
}
